// What crosses to a pool thread and back: a function's source, a module reference, arguments
// and results (structured clone: wire.ts), and errors (name, message, stack, code).
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as v8 from 'node:v8';
import { EvloopError, invalidArgType, invalidArgValue } from './errors';
import { serialize } from './wire';

/** A reference to an exported function of a module, imported on the pool thread. */
export interface TaskRef {
  readonly evloop: 'module';
  readonly specifier: string;
  readonly exportName: string;
}

export const JOB_FUNCTION = 0;
export const JOB_MODULE = 1;

export function notTransferable(message: string): EvloopError {
  return new EvloopError('ERR_TASK_NOT_TRANSFERABLE', message);
}

const sources = new WeakMap<Function, string>();

/** The expression a pool thread compiles `fn` from; throws for functions that have none usable. */
export function functionSource(fn: Function): string {
  let source = sources.get(fn);
  if (source !== undefined) return source;
  source = Function.prototype.toString.call(fn);
  const what = fn.name ? `function ${fn.name}` : 'the function';
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw notTransferable(
      `${what} cannot be sent to a pool thread: it has no JavaScript source (a native or bound function); ` +
        'pass a plain function, or use moduleTask()',
    );
  }
  if (/^class\b/.test(source)) throw notTransferable(`${what} is a class, not a function`);
  // Compiled once here (then cached) so that a source that is no expression fails at submit.
  if (compiles(`(${source})`)) {
    source = `(${source})`;
  } else {
    // Method shorthand (`name() {}`, `async *name() {}`) becomes an expression inside an object.
    const method = `(Object.values({ ${source} })[0])`;
    if (!compiles(method)) throw notTransferable(`${what} has a source that cannot be compiled on its own`);
    source = method;
  }
  sources.set(fn, source);
  return source;
}

function compiles(expression: string): boolean {
  try {
    new Function(`return ${expression}`);
    return true;
  } catch {
    return false;
  }
}

/** Structured-clones `args`; names the first argument that cannot be sent. */
export function serializeArgs(args: unknown[]): Uint8Array {
  try {
    return serialize(args); // scratch bytes: the caller hands them to the addon at once
  } catch {
    for (let i = 0; i < args.length; i++) {
      try {
        v8.serialize(args[i]);
      } catch (error) {
        throw notTransferable(
          `argument ${i} cannot be sent to a pool thread: ${(error as Error).message} ` +
            '(arguments are structured-cloned: no functions, symbols or class instances with private state)',
        );
      }
    }
    throw notTransferable('the arguments cannot be sent to a pool thread');
  }
}

export function moduleTask(specifier: string | URL, exportName = 'default'): TaskRef {
  let resolved: string;
  if (specifier instanceof URL) {
    resolved = specifier.href;
  } else if (typeof specifier === 'string') {
    if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..') {
      throw invalidArgValue(
        'specifier',
        `must be an absolute path, a file: URL, a node: built-in or a package name. Received '${specifier}' ` +
          '(relative to what? resolve it first, e.g. with path.resolve or new URL(..., import.meta.url))',
      );
    }
    resolved = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
  } else {
    throw invalidArgType('specifier', 'of type string or an instance of URL', specifier);
  }
  if (typeof exportName !== 'string') throw invalidArgType('exportName', 'of type string', exportName);
  if (resolved.startsWith('file:')) fileURLToPath(resolved); // throws for a file: URL that names no path
  return Object.freeze({ evloop: 'module', specifier: resolved, exportName });
}

export function isTaskRef(value: unknown): value is TaskRef {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as TaskRef).evloop === 'module' &&
    typeof (value as TaskRef).specifier === 'string' &&
    typeof (value as TaskRef).exportName === 'string'
  );
}

// ---- errors across threads ----------------------------------------------------------------

interface ErrorRecord {
  error: true;
  name: string;
  message: string;
  stack?: string;
  props: Record<string, unknown>;
}

/** Bytes describing `error` so that the loop's thread can rebuild it. */
export function serializeError(error: unknown): Uint8Array {
  if (!(error instanceof Error)) {
    try {
      return v8.serialize({ error: false, value: error });
    } catch {
      return v8.serialize({ error: false, value: String(error) });
    }
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    try {
      const value = (error as unknown as Record<string, unknown>)[key];
      v8.serialize(value);
      props[key] = value;
    } catch {
      // a property that cannot cross threads is left behind
    }
  }
  const record: ErrorRecord = { error: true, name: error.name, message: error.message, stack: error.stack, props };
  return v8.serialize(record);
}

const ERROR_TYPES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

export function deserializeError(bytes: Uint8Array): unknown {
  const record = v8.deserialize(bytes) as ErrorRecord | { error: false; value: unknown };
  if (!record.error) return record.value;
  const { name, message, stack, props } = record as ErrorRecord;
  let error: Error;
  if (name === 'EvloopError') error = new EvloopError(String(props.code ?? 'ERR_UNKNOWN'), message);
  else {
    error = new (ERROR_TYPES[name] ?? Error)(message);
    if (!(name in ERROR_TYPES)) Object.defineProperty(error, 'name', { value: name, configurable: true, writable: true });
  }
  if (stack !== undefined) error.stack = stack;
  Object.assign(error, props);
  return error;
}
