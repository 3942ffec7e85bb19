// The waiting helpers: sleep, gather, waitFor, shield, as asyncio's. Each returns a Future of
// the running loop (else getEventLoop()), so generators can yield it and async code await it.
import type { EventLoop } from './base-loop';
import { EvloopError, TimeoutError, invalidArgType, validateNumber, validateOptions } from './errors';
import { getEventLoop } from './events';
import { Future, isThenable } from './futures';
import { thread } from './running';
import { isCoroutine, type Awaitable } from './tasks';

function currentLoop(): EventLoop {
  return thread.running ?? getEventLoop();
}

/** As asyncio: the loop of the first Future among `xs`, else the current one. */
function loopOf(xs: readonly unknown[]): EventLoop {
  for (const x of xs) if (x instanceof Future) return x._loop;
  return currentLoop();
}

/** The Future for `x` on `loop`: a Future as it is, anything else wrapped in a Task. */
export function ensureFuture<T>(x: Awaitable<T>, loop: EventLoop, name = 'x'): Future<T> {
  if (x instanceof Future) {
    if (x._loop !== loop) throw new EvloopError('ERR_FOREIGN_FUTURE', `${name} is a Future of another loop`);
    return x;
  }
  if (isThenable(x) || isCoroutine(x)) return loop.createTask(x as PromiseLike<T>);
  throw invalidArgType(name, 'a Future, a promise or a generator coroutine', x);
}

/** Copies a done Future's outcome into another. */
function copyOutcome<T>(source: Future<T>, target: Future<T>): void {
  if (target.done()) return;
  if (source.cancelled()) {
    target.cancel(source._cancelMessage);
    return;
  }
  const exception = source.exception();
  if (exception !== null) target.setException(exception);
  else target.setResult(source.result());
}

export function sleep<T = void>(ms: number, value?: T): Future<T> {
  validateNumber(ms, 'ms', { finite: false });
  const loop = currentLoop();
  const future = loop.createFuture<T>();
  const timer = loop.callLater(ms, () => {
    if (!future.done()) future.setResult(value as T);
  });
  // Cancelling the sleep frees its timer at once.
  future.addDoneCallback(() => timer.cancel());
  return future;
}

/** A tuple of awaitables, one per result of gather(). */
export type Awaitables<T extends unknown[]> = { [K in keyof T]: Awaitable<T[K]> };

class GatheringFuture<T> extends Future<T> {
  /** @internal */ _children: Future<unknown>[];
  /** @internal */ _cancelRequested = false;

  constructor(loop: EventLoop, children: Future<unknown>[]) {
    super(loop);
    this._children = children;
  }

  override cancel(message?: string): boolean {
    if (this.done()) return false;
    let any = false;
    for (const child of this._children) if (child.cancel(message)) any = true;
    if (any) {
      this._cancelRequested = true;
      this._cancelMessage = message;
    }
    return any;
  }
}

export function gather<T extends unknown[]>(
  xs: [...Awaitables<T>],
  options?: { returnExceptions?: boolean },
): Future<T> {
  if (xs === null || typeof xs !== 'object' || typeof (xs as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw invalidArgType('xs', 'an iterable of awaitables', xs);
  }
  const { returnExceptions = false } = validateOptions(options);
  if (typeof returnExceptions !== 'boolean') {
    throw invalidArgType('options.returnExceptions', 'of type boolean', returnExceptions);
  }
  const items = Array.from(xs as Iterable<Awaitable<unknown>>);
  const loop = loopOf(items);
  const children = items.map((x, i) => ensureFuture(x, loop, `xs[${i}]`));
  const outer = new GatheringFuture<T>(loop, children);
  if (children.length === 0) {
    outer.setResult([] as unknown as T);
    return outer;
  }
  let finished = 0;
  const onChildDone = (child: Future<unknown>) => {
    finished++;
    if (outer.done()) {
      if (!child.cancelled()) child.exception(); // mark retrieved: the outer already reported
      return;
    }
    if (!returnExceptions) {
      if (child.cancelled()) {
        if (outer._cancelRequested) Future.prototype.cancel.call(outer, outer._cancelMessage);
        else outer.setException(child._makeCancelledError());
        return;
      }
      const exception = child.exception();
      if (exception !== null) {
        outer.setException(exception);
        return;
      }
    }
    if (finished < children.length) return;
    if (outer._cancelRequested) {
      Future.prototype.cancel.call(outer, outer._cancelMessage);
      return;
    }
    outer.setResult(
      children.map((c) => (c.cancelled() ? c._makeCancelledError() : (c.exception() ?? c.result()))) as T,
    );
  };
  for (const child of children) child.addDoneCallback(onChildDone);
  return outer;
}

/** Waits for `x` at most `timeoutMs` (null: no limit); on timeout cancels it and fails with TimeoutError. */
export function waitFor<T>(x: Awaitable<T>, timeoutMs: number | null): Future<T> {
  if (timeoutMs !== null) validateNumber(timeoutMs, 'timeoutMs', { finite: false });
  const loop = loopOf([x]);
  const inner = ensureFuture(x, loop);
  const outer = loop.createFuture<T>();
  let timedOut = false;
  const timer =
    timeoutMs === null
      ? null
      : loop.callLater(timeoutMs, () => {
          if (inner.done()) return;
          timedOut = true;
          inner.cancel();
        });
  inner.addDoneCallback(() => {
    timer?.cancel();
    if (outer.done()) return;
    if (timedOut && inner.cancelled()) outer.setException(new TimeoutError(`timed out after ${timeoutMs} ms`));
    else copyOutcome(inner, outer);
  });
  // Cancelling the wait cancels what it waits for.
  outer.addDoneCallback(() => {
    if (outer.cancelled()) {
      timer?.cancel();
      inner.cancel();
    }
  });
  return outer;
}

/** A Future that follows `x` but whose cancellation does not reach `x`. */
export function shield<T>(x: Awaitable<T>): Future<T> {
  const loop = loopOf([x]);
  const inner = ensureFuture(x, loop);
  if (inner.done()) return inner;
  const outer = loop.createFuture<T>();
  inner.addDoneCallback(() => {
    if (outer.cancelled()) {
      if (!inner.cancelled()) inner.exception(); // retrieved: nobody else will
      return;
    }
    copyOutcome(inner, outer);
  });
  return outer;
}

