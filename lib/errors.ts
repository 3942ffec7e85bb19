// EvloopError and its codes, and the argument checks every public function uses.

export type EvloopErrorCode =
  | 'ERR_LOOP_RUNNING'
  | 'ERR_LOOP_CLOSED'
  | 'ERR_LOOP_STOPPED'
  | 'ERR_LOOP_STALLED'
  | 'ERR_MICROTASK_CONTEXT'
  | 'ERR_INTERRUPTED'
  | 'ERR_HOST_LOOP'
  | 'ERR_FOREIGN_FUTURE'
  | 'ERR_EXECUTOR_SHUTDOWN'
  | 'ERR_QUEUE_FULL'
  | 'ERR_TASK_NOT_TRANSFERABLE'
  | 'ERR_UNCATCHABLE_SIGNAL'
  | 'ERR_INVALID_STATE'
  | 'ERR_CANCELLED'
  | 'ERR_TIMEOUT'
  | 'ERR_TASK_ABORTED';

/** The error of every state problem evloop reports; `code` says which. */
export class EvloopError extends Error {
  readonly code: string;
  constructor(code: EvloopErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** An operation not allowed in the Future's state (result of a pending Future, setting twice). */
export class InvalidStateError extends EvloopError {
  constructor(message: string) {
    super('ERR_INVALID_STATE', message);
  }
}

/** The Future or Task was cancelled. */
export class CancelledError extends EvloopError {
  constructor(message = 'the operation was cancelled') {
    super('ERR_CANCELLED', message);
  }
}

/** waitFor ran out of time. */
export class TimeoutError extends EvloopError {
  constructor(message = 'the operation timed out') {
    super('ERR_TIMEOUT', message);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `an instance of ${name}` : 'an object';
  }
  if (typeof value === 'string') return `type string ('${value.length > 28 ? value.slice(0, 25) + '...' : value}')`;
  return `type ${typeof value} (${String(value)})`;
}

function withCode<E extends Error>(error: E, code: string): E {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error;
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  return withCode(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

export function outOfRange(name: string, range: string, actual: unknown): RangeError {
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(actual)}`),
    'ERR_OUT_OF_RANGE',
  );
}

export function invalidArgValue(name: string, reason: string): TypeError {
  return withCode(new TypeError(`The argument '${name}' ${reason}`), 'ERR_INVALID_ARG_VALUE');
}

export function validateFunction(value: unknown, name: string): asserts value is (...args: any[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

/** A finite number, or any number (negative allowed) that is not NaN. */
export function validateNumber(value: unknown, name: string, { finite = true } = {}): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (Number.isNaN(value) || (finite && !Number.isFinite(value))) {
    throw outOfRange(name, finite ? 'a finite number' : 'a number', value);
  }
}

export function validateInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  }
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
}

export function validateObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw invalidArgType(name, 'of type object', value);
}

/** An optional options bag: undefined, or an object. */
export function validateOptions(value: unknown, name = 'options'): Record<string, unknown> {
  if (value === undefined) return {};
  validateObject(value, name);
  return value;
}
