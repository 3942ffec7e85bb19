// A JavaScript pool thread: a worker_threads Worker attached to a native pool as a runner.
// The pool wakes it when JavaScript work is queued; it takes work straight from the native
// queue (no MessagePort round trip per task), runs it, and hands the outcome back natively.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { EvloopError } from '../errors';
import { addon } from '../native';
import { JOB_FUNCTION, serializeError } from '../transfer';
import { deserialize, serialize } from '../wire';

const { poolId, group, idleTimeout, attached } = workerData as {
  poolId: number;
  group: number;
  idleTimeout: number;
  attached: Int32Array;
};

// console.log in a task appears at once: written straight to the process's descriptors rather
// than through the parent thread, whose loop may be blocked in a private loop.
for (const [stream, fd] of [
  [process.stdout, 1],
  [process.stderr, 2],
] as const) {
  stream.write = ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
    const done = typeof encoding === 'function' ? encoding : callback;
    try {
      fs.writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : chunk);
    } catch {
      // a closed descriptor: the output is lost, as it would be for the process
    }
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }) as typeof stream.write;
}

// Code compiled here resolves `require` from the process's working directory.
// A real import(): TypeScript's CommonJS output would turn `import()` into require().
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
const cwdRequire = createRequire(path.join(process.cwd(), 'evloop-pool-task.js'));
const compiled = new Map<string, (...args: unknown[]) => unknown>();
const imported = new Map<string, (...args: unknown[]) => unknown>();

function compile(source: string): (...args: unknown[]) => unknown {
  let fn = compiled.get(source);
  if (fn === undefined) {
    fn = new Function('require', `return ${source};`)(cwdRequire) as (...args: unknown[]) => unknown;
    compiled.set(source, fn);
  }
  return fn;
}

async function load(specifier: string, exportName: string): Promise<(...args: unknown[]) => unknown> {
  const key = `${exportName}\u0000${specifier}`;
  let fn = imported.get(key);
  if (fn !== undefined) return fn;
  let url = specifier;
  if (!/^(file|node|data):/.test(specifier)) {
    // A package name, resolved from the working directory (ESM-only packages: from here).
    try {
      url = pathToFileURL(cwdRequire.resolve(specifier)).href;
    } catch {
      url = specifier;
    }
  }
  const namespace = (await dynamicImport(url)) as Record<string, unknown>;
  let value = namespace[exportName];
  const fallback = namespace.default as Record<string, unknown> | undefined;
  if (value === undefined && fallback !== null && typeof fallback === 'object' && exportName in fallback) {
    value = fallback[exportName];
  }
  if (typeof value !== 'function') {
    throw new TypeError(
      value === undefined
        ? `moduleTask: ${specifier} has no export named '${exportName}'`
        : `moduleTask: the export '${exportName}' of ${specifier} is not a function (it is ${typeof value})`,
    );
  }
  fn = value as (...args: unknown[]) => unknown;
  imported.set(key, fn);
  return fn;
}

/** A captured outer variable shows up as a ReferenceError for a name no global has. */
function explain(error: unknown, kind: number): unknown {
  if (kind !== JOB_FUNCTION || !(error instanceof ReferenceError)) return error;
  const match = /^(\S+) is not defined$/.exec(error.message);
  if (match === null || match[1] in globalThis) return error;
  const wrapped = new EvloopError(
    'ERR_TASK_NOT_TRANSFERABLE',
    `the function refers to '${match[1]}', a variable of its outer scope, which does not exist on the pool ` +
      'thread: a function run on a pool thread must be self-contained (pass values as arguments, ' +
      'require() or import() inside it, or use moduleTask())',
  );
  wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${error.stack?.split('\n').slice(1).join('\n') ?? ''}`;
  return wrapped;
}

const runner = new addon.NativeRunner(poolId, group, wake);
Atomics.store(attached, 0, 1);
let busy = false;
let idleTimer: NodeJS.Timeout | null = null;

// A task that ends this thread fails with what ended it (finish() ignores the call when no task
// runs); the thread that started this one starts another for the work that waits.
process.on('uncaughtExceptionMonitor', (error) => runner.finish(false, serializeError(error)));
process.on('exit', (code) => {
  const error = new EvloopError('ERR_TASK_ABORTED', `the task called process.exit(${code}), which ended its pool thread`);
  runner.finish(false, serializeError(error));
});

function wake(): void {
  if (!busy) void drain();
}

async function drain(): Promise<void> {
  busy = true;
  if (idleTimer !== null) clearTimeout(idleTimer);
  idleTimer = null;
  for (let job = runner.take(); job !== undefined; job = runner.take()) {
    const [kind, source, exportName, argsBytes] = job;
    let ok = false;
    let bytes: Uint8Array;
    try {
      const args = deserialize(argsBytes) as unknown[];
      const fn = kind === JOB_FUNCTION ? compile(source) : await load(source, exportName);
      let result = fn(...args);
      if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
        result = await result;
      }
      bytes = serialize(result); // copied by finish()
      ok = true;
    } catch (error) {
      bytes = serializeError(explain(error, kind));
    }
    runner.finish(ok, bytes);
  }
  busy = false;
  // A pool shut down (or shrunk below its runners) has nothing more for us: leave now.
  if (runner.shouldLeave() && runner.leaveIfIdle()) return;
  // Idle: leave after idleTimeout (the native handle is all that keeps this thread alive),
  // unless work arrived that waits for a free slot.
  idleTimer = setTimeout(() => {
    idleTimer = null;
    if (!runner.leaveIfIdle()) void drain();
  }, idleTimeout);
}

void drain();
