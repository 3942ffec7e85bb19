// Task: a Future that drives a coroutine, as asyncio.Task. Two kinds of coroutine:
// a generator (stepped by the loop itself, no microtasks needed) or a promise / async function
// (settled by promise continuations, with an AbortSignal that cancel() aborts).
import type { EventLoop } from './base-loop';
import { CancelledError, EvloopError } from './errors';
import { Future, isThenable } from './futures';

export type Coroutine<T = unknown> = Generator<Future<unknown> | PromiseLike<unknown> | undefined, T, unknown>;
export type Awaitable<T = unknown> = Future<T> | PromiseLike<T> | Coroutine<T>;
export type TaskSource<T> =
  | PromiseLike<T>
  | Coroutine<T>
  | ((signal: AbortSignal) => PromiseLike<T> | Coroutine<T> | T);

let taskCounter = 0;

export function isCoroutine(value: unknown): value is Coroutine<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Generator).next === 'function' &&
    typeof (value as Generator).throw === 'function' &&
    typeof (value as Generator)[Symbol.iterator] === 'function'
  );
}

export function isAsyncFunction(value: unknown): boolean {
  return typeof value === 'function' && value.constructor?.name === 'AsyncFunction';
}

/** Whether driving `source` needs promise continuations (the microtask rule). */
export function needsMicrotasks(source: unknown): boolean {
  return isAsyncFunction(source) || (isThenable(source) && !(source instanceof Future));
}

export class Task<T = unknown> extends Future<T> {
  /** @internal */ _name: string;
  /** @internal the generator, once known */ _coro: Coroutine<T> | null = null;
  /** @internal the function still to call on the first step */ _start: ((signal: AbortSignal) => unknown) | null = null;
  /** @internal promise kind: settled by the promise, aborted by cancel() */ _promiseKind = false;
  /** @internal */ _abort: AbortController | null = null;
  /** @internal the Future the generator waits on */ _waiter: Future<unknown> | null = null;
  /** @internal */ _mustCancel = false;

  /** @internal use loop.createTask() */
  constructor(loop: EventLoop, source: TaskSource<T>, name?: string) {
    super(loop);
    this._name = name ?? `Task-${++taskCounter}`;
    if (typeof source === 'function') {
      this._start = source;
      this._promiseKind = isAsyncFunction(source);
    } else if (isCoroutine(source)) {
      this._coro = source as Coroutine<T>;
    } else {
      this._promiseKind = true;
    }
    loop._taskCreated(this);
    if (this._promiseKind && typeof source !== 'function') this._follow(source as PromiseLike<T>);
    else loop._schedule(() => this._step(undefined, undefined, false), undefined);
  }

  getName(): string {
    return this._name;
  }

  setName(name: string): void {
    this._name = String(name);
  }

  /** Asks the task to stop: see api.md for the generator and promise kinds. */
  override cancel(message?: string): boolean {
    if (this.done()) return false;
    this._cancelMessage = message;
    if (this._promiseKind) {
      this._mustCancel = true;
      this._abort?.abort(new CancelledError(message));
      // Ends cancelled on the next turn, without waiting for the promise; its late value is dropped.
      this._loop._schedule(() => this._finishCancel(), undefined);
      return true;
    }
    if (this._waiter !== null && this._waiter.cancel(message)) return true;
    this._mustCancel = true;
    return true;
  }

  override toString(): string {
    return `<Task ${this._name} ${this._stateName()}>`;
  }

  /** @internal */
  override _scheduleCallbacks(): void {
    this._loop._taskDone(this);
    super._scheduleCallbacks();
  }

  /** @internal */
  _finishCancel(): void {
    if (!this.done()) Future.prototype.cancel.call(this, this._cancelMessage);
  }

  /** @internal promise kind: settle from the promise */
  _follow(promise: PromiseLike<T>): void {
    promise.then(
      (value) => {
        if (!this.done()) this.setResult(value);
      },
      (error) => {
        if (this.done()) return;
        if (error instanceof CancelledError) Future.prototype.cancel.call(this, error.message);
        else this.setException(error);
      },
    );
  }

  /** @internal the function returned a Future of this loop: end as it ends */
  _followFuture(future: Future<T>): void {
    this._waiter = future;
    future.addDoneCallback(() => {
      this._waiter = null;
      if (this.done()) return;
      if (future.cancelled()) Future.prototype.cancel.call(this, future._cancelMessage);
      else if (future.exception() !== null) this.setException(future.exception());
      else this.setResult(future.result());
    });
    if (this._mustCancel) future.cancel(this._cancelMessage);
  }

  /** @internal one step of the generator: send a value or throw an error in */
  _step(value: unknown, error: unknown, isError: boolean): void {
    if (this.done()) return;
    if (this._start !== null) {
      if (this._mustCancel && this._promiseKind) return; // cancelled before it began: never started
      const start = this._start;
      this._start = null;
      let produced: unknown;
      this._abort = new AbortController();
      try {
        produced = start(this._abort.signal);
      } catch (e) {
        this._fail(e);
        return;
      }
      if (isCoroutine(produced)) {
        this._coro = produced as Coroutine<T>;
      } else if (produced instanceof Future && produced._loop === this._loop) {
        // A Future of this loop: followed through its callbacks, no microtasks needed.
        this._followFuture(produced as Future<T>);
        return;
      } else if (isThenable(produced)) {
        if (!this._promiseKind) {
          this._promiseKind = true;
          this._loop._promiseTasks++;
        }
        if (!this._loop._canDriveMicrotasks()) {
          this.setException(this._loop._microtaskError());
          return;
        }
        if (this._mustCancel) this._abort.abort(new CancelledError(this._cancelMessage));
        this._follow(produced as PromiseLike<T>);
        return;
      } else {
        this.setResult(produced as T);
        return;
      }
    }
    if (this._mustCancel) {
      this._mustCancel = false;
      error = this._makeCancelledError();
      isError = true;
    }
    this._waiter = null;
    const coro = this._coro!;
    let step: IteratorResult<unknown, T>;
    try {
      step = isError ? coro.throw(error) : coro.next(value);
    } catch (e) {
      this._fail(e);
      return;
    }
    if (step.done) {
      if (this._mustCancel) Future.prototype.cancel.call(this, this._cancelMessage);
      else this.setResult(step.value);
      return;
    }
    this._await(step.value);
  }

  /** @internal what the generator yielded: wait for it */
  _await(yielded: unknown): void {
    const loop = this._loop;
    let waiter: Future<unknown>;
    if (yielded instanceof Future) {
      if (yielded._loop !== loop) {
        this._throwInSoon(new EvloopError('ERR_FOREIGN_FUTURE', `Task ${this._name} yielded a Future of another loop`));
        return;
      }
      if (yielded === this) {
        this._throwInSoon(new EvloopError('ERR_INVALID_STATE', 'a Task cannot wait on itself'));
        return;
      }
      waiter = yielded;
    } else if (yielded === undefined || yielded === null) {
      // A bare `yield` gives the loop one turn, as asyncio.sleep(0).
      loop._schedule(() => this._step(undefined, undefined, false), undefined);
      return;
    } else if (isCoroutine(yielded)) {
      waiter = new Task(loop, yielded);
    } else if (isThenable(yielded)) {
      if (!loop._canDriveMicrotasks()) {
        this._throwInSoon(loop._microtaskError());
        return;
      }
      waiter = loop.createFuture();
      const future = waiter;
      yielded.then(
        (v) => !future.done() && future.setResult(v),
        (e) => !future.done() && future.setException(e),
      );
    } else {
      this._throwInSoon(new TypeError(`Task ${this._name} got bad yield: ${String(yielded)}`));
      return;
    }
    this._waiter = waiter;
    waiter.addDoneCallback(this._wakeup);
    if (this._mustCancel && waiter.cancel(this._cancelMessage)) this._mustCancel = false;
  }

  /** @internal */
  _wakeup = (future: Future<unknown>): void => {
    let value: unknown;
    try {
      value = future.result();
    } catch (e) {
      this._step(undefined, e, true);
      return;
    }
    this._step(value, undefined, false);
  };

  /** @internal */
  _throwInSoon(error: unknown): void {
    this._loop._schedule(() => this._step(undefined, error, true), undefined);
  }

  /** @internal */
  _fail(error: unknown): void {
    if (error instanceof CancelledError) Future.prototype.cancel.call(this, error.message);
    else this.setException(error);
  }
}
