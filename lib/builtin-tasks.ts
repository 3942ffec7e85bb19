// The built-in native tasks: `executor.submit(tasks.sleep, 1000)` runs on a pool thread with no
// JavaScript at all. Called directly, each does the same work at once on the calling thread.
import { fileURLToPath } from 'node:url';
import { invalidArgType, invalidArgValue, outOfRange, validateInteger, validateNumber, validateOptions, validateString } from './errors';
import { addon } from './native';

export const NATIVE_TASK: unique symbol = Symbol('evloop.nativeTask');

/** A built-in task: its native name, and how its arguments are checked and normalized. */
export interface NativeTask {
  readonly [NATIVE_TASK]: { name: string; normalize(args: unknown[]): unknown[] };
}

/** Data for a built-in task: a string (UTF-8) or bytes. */
export type TaskData = string | ArrayBufferView;

function toPath(value: unknown, name: string): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:') throw invalidArgValue(name, `must be a file: URL. Received ${value.href}`);
    return fileURLToPath(value);
  }
  validateString(value, name);
  if (value.includes('\u0000')) throw invalidArgValue(name, 'must be a string without null bytes');
  return value;
}

function toData(value: unknown, name: string, allowString = true): TaskData {
  // The native side reads bytes: any view (DataView included) becomes a Uint8Array over them.
  if (ArrayBuffer.isView(value)) {
    return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (allowString && typeof value === 'string') return value;
  throw invalidArgType(name, allowString ? 'of type string or an instance of ArrayBufferView' : 'an instance of ArrayBufferView', value);
}

function define<F extends (...args: any[]) => unknown>(name: string, normalize: (args: unknown[]) => unknown[]): F & NativeTask {
  const fn = {
    [name]: (...args: unknown[]) => addon.runTask(name, ...normalize(args)),
  }[name] as unknown as F & NativeTask;
  Object.defineProperty(fn, NATIVE_TASK, { value: Object.freeze({ name, normalize }) });
  return fn;
}

export const tasks = Object.freeze({
  /** Blocks the thread for `ms` milliseconds. */
  sleep: define<(ms: number) => void>('sleep', ([ms]) => {
    validateNumber(ms, 'ms');
    if (ms < 0) throw outOfRange('ms', '>= 0', ms);
    return [ms];
  }),
  /** fs.readFileSync(path): the file's bytes. */
  readFile: define<(path: string | URL) => Buffer>('readFile', ([path]) => [toPath(path, 'path')]),
  /** fs.writeFileSync(path, data): creates or truncates. */
  writeFile: define<(path: string | URL, data: TaskData) => void>('writeFile', ([path, data]) => [
    toPath(path, 'path'),
    toData(data, 'data'),
  ]),
  /** crypto.createHash(algorithm).update(data).digest() */
  digest: define<(algorithm: string, data: TaskData) => Buffer>('digest', ([algorithm, data]) => {
    validateString(algorithm, 'algorithm');
    if (!addon.digestSupported(algorithm)) throw invalidArgValue('algorithm', `is not a supported digest. Received '${algorithm}'`);
    return [algorithm, toData(data, 'data')];
  }),
  /** zlib.gzipSync(data, { level }) */
  gzip: define<(data: TaskData, options?: { level?: number }) => Buffer>('gzip', ([data, options]) => {
    const { level = -1 } = validateOptions(options);
    validateInteger(level, 'options.level', -1, 9);
    return [toData(data, 'data'), level];
  }),
  /** zlib.gunzipSync(data) */
  gunzip: define<(data: ArrayBufferView) => Buffer>('gunzip', ([data]) => [toData(data, 'data', false)]),
  /** dns.lookup(hostname, { all: true, family }) */
  lookup: define<(hostname: string, options?: { family?: 0 | 4 | 6 }) => { address: string; family: 4 | 6 }[]>(
    'lookup',
    ([hostname, options]) => {
      validateString(hostname, 'hostname');
      const { family = 0 } = validateOptions(options);
      if (family !== 0 && family !== 4 && family !== 6) {
        if (typeof family !== 'number') throw invalidArgType('options.family', 'one of 0, 4 or 6', family);
        throw outOfRange('options.family', 'one of 0, 4 or 6', family);
      }
      return [hostname, family];
    },
  ),
});

export function nativeTaskOf(fn: unknown): NativeTask[typeof NATIVE_TASK] | undefined {
  return typeof fn === 'function' ? (fn as Partial<NativeTask>)[NATIVE_TASK] : undefined;
}
