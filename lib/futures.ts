// Future: a result that will be set later, as asyncio.Future, and thenable for `await`.
import type { AsyncResource } from 'node:async_hooks';
import type { EventLoop } from './base-loop';
import { CancelledError, InvalidStateError, validateFunction } from './errors';

const PENDING = 0;
const FINISHED = 1;
const CANCELLED = 2;

/** A Future's done callback: called with the Future, through the loop's callSoon. */
export type DoneCallback<T> = (future: Future<T>) => void;

// "Future exception was never retrieved": reported when a failed Future is collected unread.
interface Unretrieved {
  loop: EventLoop;
  exception: unknown;
  message: string;
}
const unretrieved = new FinalizationRegistry<Unretrieved>(({ loop, exception, message }) => {
  loop.callExceptionHandler({ message, exception });
});

export class Future<T = unknown> implements PromiseLike<T> {
  /** @internal */ _loop: EventLoop;
  /** @internal */ _state = PENDING;
  /** @internal */ _result: T | undefined = undefined;
  /** @internal */ _exception: unknown = undefined;
  /** @internal */ _cancelMessage: string | undefined = undefined;
  /** @internal */ _callbacks: DoneCallback<any>[] | null = null;
  /** @internal the async context done callbacks run in (pool futures) */ _asyncResource: AsyncResource | undefined;
  /** @internal the token of a pending never-retrieved report */ _unretrieved: object | undefined;

  /** @internal use loop.createFuture() */
  constructor(loop: EventLoop) {
    this._loop = loop;
  }

  done(): boolean {
    return this._state !== PENDING;
  }

  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  getLoop(): EventLoop {
    return this._loop;
  }

  /** The result; throws the Future's error, CancelledError if cancelled, InvalidStateError if pending. */
  result(): T {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state === PENDING) throw new InvalidStateError('Result is not ready.');
    this._retrieved();
    if (this._exception !== undefined) throw this._exception;
    return this._result as T;
  }

  /** The error (null when it succeeded); CancelledError if cancelled, InvalidStateError if pending. */
  exception(): unknown {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state === PENDING) throw new InvalidStateError('Exception is not set.');
    this._retrieved();
    return this._exception === undefined ? null : this._exception;
  }

  setResult(value: T): void {
    if (this._state !== PENDING) throw new InvalidStateError(`invalid state: ${this._stateName()}`);
    this._result = value;
    this._state = FINISHED;
    this._scheduleCallbacks();
  }

  setException(error: unknown): void {
    if (this._state !== PENDING) throw new InvalidStateError(`invalid state: ${this._stateName()}`);
    // undefined stands for "no error" inside: keep a thrown undefined distinguishable.
    this._exception = error === undefined ? new Error('undefined was thrown') : error;
    this._state = FINISHED;
    const token = {};
    this._unretrieved = token;
    unretrieved.register(
      this,
      { loop: this._loop, exception: this._exception, message: `${this.constructor.name} exception was never retrieved` },
      token,
    );
    this._scheduleCallbacks();
  }

  /** Cancels a pending Future: its callbacks are scheduled; false when it was already done. */
  cancel(message?: string): boolean {
    if (this._state !== PENDING) return false;
    this._state = CANCELLED;
    this._cancelMessage = message;
    this._scheduleCallbacks();
    return true;
  }

  /** Calls `callback(future)` with the loop's callSoon once done (at once scheduled when done). */
  addDoneCallback(callback: DoneCallback<T>): void {
    validateFunction(callback, 'callback');
    if (this._state !== PENDING) {
      this._callSoon(callback);
    } else if (this._callbacks === null) {
      this._callbacks = [callback];
    } else {
      this._callbacks.push(callback);
    }
  }

  /** Removes every registration of `callback`; returns how many there were. */
  removeDoneCallback(callback: DoneCallback<T>): number {
    const callbacks = this._callbacks;
    if (callbacks === null) return 0;
    const kept = callbacks.filter((cb) => cb !== callback);
    this._callbacks = kept;
    return callbacks.length - kept.length;
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        if (this._state === CANCELLED) reject(this._makeCancelledError());
        else if (this._exception !== undefined) {
          this._retrieved();
          reject(this._exception);
        } else resolve(this._result as T);
      };
      // A done Future settles the promise at once: no loop turn is needed to read it.
      if (this._state !== PENDING) settle();
      else this.addDoneCallback(settle);
    }).then(onFulfilled, onRejected);
  }

  get [Symbol.toStringTag](): string {
    return this.constructor.name;
  }

  toString(): string {
    return `<${this.constructor.name} ${this._stateName()}>`;
  }

  /** @internal */
  _makeCancelledError(): CancelledError {
    return new CancelledError(this._cancelMessage ?? 'the operation was cancelled');
  }

  /** @internal */
  _stateName(): string {
    return this._state === PENDING ? 'pending' : this._state === CANCELLED ? 'cancelled' : 'finished';
  }

  /** @internal */
  _retrieved(): void {
    if (this._unretrieved !== undefined) {
      unretrieved.unregister(this._unretrieved);
      this._unretrieved = undefined;
    }
  }

  /** @internal */
  _callSoon(callback: DoneCallback<T>): void {
    const resource = this._asyncResource;
    if (resource === undefined) this._loop._schedule(callback, [this]);
    else this._loop._schedule(() => resource.runInAsyncScope(callback, null, this), undefined);
  }

  /** @internal */
  _scheduleCallbacks(): void {
    const callbacks = this._callbacks;
    if (callbacks === null) return;
    this._callbacks = null;
    for (const callback of callbacks) this._callSoon(callback);
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
