// Which loop: newEventLoop, getEventLoop, setEventLoop, getRunningLoop, hostLoop, and run(),
// asyncio.run's synchronous bridge. Also post(), reaching a loop of another thread.
import { EventLoop, type LoopRef } from './base-loop';
import { EvloopError, invalidArgType } from './errors';
import { Future, isThenable } from './futures';
import { HostLoop } from './host-loop';
import { addon } from './native';
import { thread } from './running';
import { isCoroutine, type Coroutine, type Task } from './tasks';
import { serialize } from './wire';

/** A private loop, not running. */
export function newEventLoop(options?: { debug?: boolean }): EventLoop {
  return new EventLoop(options);
}

/** This thread's host loop: Node.js's own loop seen through the EventLoop interface. */
export function hostLoop(): EventLoop {
  if (thread.host === null) thread.host = new HostLoop();
  return thread.host;
}

/** The running private loop, else the one set for this thread, else the host loop. */
export function getEventLoop(): EventLoop {
  return thread.running ?? thread.current ?? hostLoop();
}

export function setEventLoop(loop: EventLoop | null): void {
  if (loop !== null && !(loop instanceof EventLoop)) throw invalidArgType('loop', 'an EventLoop or null', loop);
  thread.current = loop;
}

/** The running private loop, else this thread's host loop (which always runs). */
export function getRunningLoop(): EventLoop {
  return thread.running ?? hostLoop();
}

/**
 * asyncio.run: runs `main` on a fresh private loop, then cancels what is left, waits for the
 * loop's default-executor work, closes the loop and returns main's value (or throws its error).
 */
export function run<T>(
  main: PromiseLike<T> | Coroutine<T> | ((signal: AbortSignal) => T | PromiseLike<T> | Coroutine<T>),
  options?: { debug?: boolean },
): T {
  if (typeof main !== 'function' && !isThenable(main) && !isCoroutine(main)) {
    throw invalidArgType('main', 'a promise, a generator coroutine or a function', main);
  }
  if (main instanceof Future) throw invalidArgType('main', 'a promise, a generator coroutine or a function', main);
  if (thread.running !== null) {
    throw new EvloopError('ERR_LOOP_RUNNING', 'run() cannot be called while another loop is running on this thread');
  }
  const loop = newEventLoop(options);
  const previous = thread.current;
  thread.current = loop;
  try {
    return loop.runUntilComplete(main as Parameters<EventLoop['runUntilComplete']>[0]) as T;
  } finally {
    try {
      cancelAllTasks(loop);
      finish(loop, loop.shutdownDefaultExecutor());
    } finally {
      thread.current = previous;
      loop.close();
    }
  }
}

// Runs the loop until `future` is done, without the microtask check: what is left to finish
// (cancelled tasks, pool results) needs no promise continuations.
function finish(loop: EventLoop, future: Future<unknown>): void {
  if (future.done()) return;
  const stop = () => loop.stop();
  future.addDoneCallback(stop);
  try {
    loop._run(loop._canDriveMicrotasks(), future);
  } finally {
    future.removeDoneCallback(stop);
  }
}

function cancelAllTasks(loop: EventLoop): void {
  const tasks = [...loop._tasks].filter((task) => !task.done());
  if (tasks.length === 0) return;
  for (const task of tasks) task.cancel();
  const all = loop.createFuture<void>();
  let left = tasks.length;
  for (const task of tasks) {
    task.addDoneCallback(() => {
      if (--left === 0) all.setResult(undefined);
    });
  }
  try {
    finish(loop, all);
  } catch {
    // A loop that cannot finish its cancelled tasks (stalled) leaves them: run() is closing it.
  }
  for (const task of tasks) {
    if (!task.done() || task.cancelled()) continue;
    const exception = task.exception();
    if (exception !== null) {
      loop.callExceptionHandler({
        message: 'unhandled exception during run() shutdown',
        exception,
        task: task as Task<unknown>,
      });
    }
  }
}

function isLoopRef(ref: unknown): ref is LoopRef {
  return (
    ref !== null &&
    typeof ref === 'object' &&
    (ref as LoopRef).evloop === 'loop' &&
    Number.isSafeInteger((ref as LoopRef).id) &&
    (ref as LoopRef).id > 0
  );
}

/** Delivers a structured-cloneable value to the loop `ref` names, from any thread. */
export function post(ref: LoopRef, value: unknown): void {
  if (!isLoopRef(ref)) throw invalidArgType('ref', 'a LoopRef (from loop.share())', ref);
  let bytes: Uint8Array;
  try {
    bytes = serialize(value); // copied by addon.post at once
  } catch (error) {
    // Throw what postMessage throws (a DataCloneError DOMException), naming what failed. What
    // structuredClone shares rather than copies (SharedArrayBuffer) cannot cross as bytes.
    structuredClone(value);
    throw new DOMException(
      `${(error as Error).message} (post() copies values as bytes: shared memory cannot be posted)`,
      'DataCloneError',
    );
  }
  if (!addon.post(ref.id, bytes)) throw new EvloopError('ERR_LOOP_CLOSED', 'post: the loop is closed');
}
