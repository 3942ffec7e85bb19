// ThreadPoolExecutor and runInExecutor: work handed to the native pool, its result set on the
// submitting loop's Future on that loop's next turn, whichever thread the loop lives on.
import { AsyncResource } from 'node:async_hooks';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker, threadId } from 'node:worker_threads';
import type { EventLoop } from './base-loop';
import { nativeTaskOf } from './builtin-tasks';
import {
  EvloopError,
  invalidArgType,
  outOfRange,
  validateBoolean,
  validateInteger,
  validateNumber,
  validateOptions,
  validateString,
} from './errors';
import { getEventLoop, hostLoop } from './events';
import { Future, isThenable } from './futures';
import { gather } from './helpers';
import { SubmitCode, Tag, addon, type NativePool } from './native';
import { thread } from './running';
import { JOB_FUNCTION, JOB_MODULE, deserializeError, functionSource, isTaskRef, serializeArgs } from './transfer';
import { deserialize } from './wire';

/** Anything that runs functions and returns Futures (or promises) of their results. */
export interface Executor {
  submit<T>(fn: unknown, ...args: unknown[]): Future<T> | PromiseLike<T>;
  shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void>;
}

/** A pool reference another thread can turn back into a ThreadPoolExecutor (fromShared). */
export interface SharedExecutor {
  readonly evloop: 'executor';
  readonly id: number;
  readonly idleTimeout: number;
}

export interface ThreadPoolExecutorOptions {
  /** default min(32, availableParallelism() + 4) */
  maxWorkers?: number;
  /** names the threads `<name>-<n>`; default 'evloop' */
  name?: string;
  /** how much work may wait for a thread; default Infinity */
  maxQueue?: number;
  /** ms an idle thread waits for work before it exits; default 60000 */
  idleTimeout?: number;
}

export interface ExecutorStats {
  /** the limit on work running at once */
  maxWorkers: number;
  /** pool threads alive (native and JavaScript) */
  threads: number;
  /** of those, waiting for work */
  idle: number;
  /** waiting for a thread; queued + running is what is in flight */
  queued: number;
  running: number;
  /** work that returned */
  completed: number;
  /** work that threw */
  failed: number;
  /** work cancelled before it started */
  cancelled: number;
}

const RUNNER_SCRIPT = path.join(__dirname, 'pool-thread', 'runner.js');
const MAX_WORKERS_LIMIT = 1024;
const RUNNER_YOUNG_GENERATION_MB = 16;

function defaultMaxWorkers(): number {
  return Math.min(32, availableParallelism() + 4);
}

function abortedError(): EvloopError {
  return new EvloopError(
    'ERR_TASK_ABORTED',
    'the JavaScript pool thread running this task ended before the task finished: its heap ran out of ' +
      'memory (ERR_WORKER_OUT_OF_MEMORY) or the thread was terminated; work queued behind it runs on a new pool thread',
  );
}

/** A Future for pool work: cancelling it takes the work off the queue when it has not started. */
export class PoolFuture<T> extends Future<T> {
  /** @internal */ _executor: ThreadPoolExecutor;
  /** @internal */ _id: number;
  /** @internal the result comes structured-cloned from a JavaScript pool thread */ _js: boolean;

  /** @internal */
  constructor(loop: EventLoop, executor: ThreadPoolExecutor, id: number, js: boolean) {
    super(loop);
    this._executor = executor;
    this._id = id;
    this._js = js;
  }

  override cancel(message?: string): boolean {
    if (!super.cancel(message)) return false;
    const loop = this._loop;
    // Queued work leaves the queue; running work finishes and its result is dropped (the loop
    // no longer waits for it, so it does not keep the host loop alive either).
    if (!loop._closed) this._executor._native.cancel(loop._native, this._id);
    loop._pending.delete(this._id);
    loop._pendingChanged();
    return true;
  }

  /** @internal the pool's outcome, on the loop's thread */
  _settle(tag: Tag, value: unknown): void {
    if (this.done()) return;
    if (tag === Tag.WorkCancelled) Future.prototype.cancel.call(this, 'cancelled by executor shutdown');
    else if (tag === Tag.WorkDone) this.setResult((this._js ? deserialize(value as Uint8Array) : value) as T);
    else if (!this._js) this.setException(value);
    else this.setException(value === undefined ? abortedError() : deserializeError(value as Uint8Array));
  }
}

export class ThreadPoolExecutor implements Executor {
  /** @internal */ _native: NativePool;
  /** @internal */ _idleTimeout: number;

  constructor(options?: ThreadPoolExecutorOptions) {
    const o = validateOptions(options);
    const maxWorkers = o.maxWorkers ?? defaultMaxWorkers();
    validateInteger(maxWorkers, 'options.maxWorkers', 1, MAX_WORKERS_LIMIT);
    const name = o.name ?? 'evloop';
    validateString(name, 'options.name');
    const maxQueue = o.maxQueue ?? Infinity;
    if (typeof maxQueue !== 'number') throw invalidArgType('options.maxQueue', 'of type number', maxQueue);
    if (maxQueue !== Infinity && (!Number.isInteger(maxQueue) || maxQueue < 1)) {
      throw outOfRange('options.maxQueue', 'an integer >= 1 or Infinity', maxQueue);
    }
    const idleTimeout = o.idleTimeout ?? 60000;
    validateNumber(idleTimeout, 'options.idleTimeout');
    if (idleTimeout < 0) throw outOfRange('options.idleTimeout', '>= 0', idleTimeout);
    this._idleTimeout = idleTimeout;
    this._native = new addon.NativePool({
      maxWorkers,
      name,
      maxQueue: maxQueue === Infinity ? 0 : maxQueue,
      idleTimeout,
      default: (o as { _default?: boolean })._default === true,
    });
  }

  /** Runs `fn(...args)` on the pool; the Future belongs to getEventLoop(). */
  submit<T>(fn: unknown, ...args: unknown[]): Future<T> {
    return this._submit<T>(getEventLoop(), fn, args);
  }

  /** Runs `fn(item)` for each item; one Future of all results, in order. */
  map<T, R>(fn: unknown, items: Iterable<T>): Future<R[]> {
    if (items === null || typeof (items as Iterable<T>)?.[Symbol.iterator] !== 'function') {
      throw invalidArgType('items', 'an iterable', items);
    }
    const futures = Array.from(items, (item) => this.submit<R>(fn, item));
    return gather(futures) as Future<R[]>;
  }

  /** No more submits; with wait, resolves once nothing is in flight; cancelFutures drops queued work. */
  shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void> {
    const { wait = true, cancelFutures = false } = validateOptions(options);
    validateBoolean(wait, 'options.wait');
    validateBoolean(cancelFutures, 'options.cancelFutures');
    this._native.shutdown(cancelFutures);
    if (!wait) return Promise.resolve();
    return Promise.resolve(this._drained(thread.running ?? hostLoop()));
  }

  /** Changes maxWorkers at once: more threads start for queued work, extra ones leave when done. */
  resize(maxWorkers: number): void {
    validateInteger(maxWorkers, 'maxWorkers', 1, MAX_WORKERS_LIMIT);
    this._native.resize(maxWorkers);
  }

  stats(): ExecutorStats {
    const { maxWorkers, threads, idle, queued, running, completed, failed, cancelled } = this._native.stats();
    return { maxWorkers, threads, idle, queued, running, completed, failed, cancelled };
  }

  /** A structured-cloneable reference: send it to a worker and call fromShared there. */
  share(): SharedExecutor {
    return { evloop: 'executor', id: this._native.id(), idleTimeout: this._idleTimeout };
  }

  static fromShared(ref: SharedExecutor): ThreadPoolExecutor {
    if (ref === null || typeof ref !== 'object' || ref.evloop !== 'executor' || !Number.isSafeInteger(ref.id) || ref.id <= 0) {
      throw invalidArgType('ref', 'a SharedExecutor (from executor.share())', ref);
    }
    const executor = Object.create(ThreadPoolExecutor.prototype) as ThreadPoolExecutor;
    executor._native = new addon.NativePool(ref.id);
    executor._idleTimeout = typeof ref.idleTimeout === 'number' ? ref.idleTimeout : 60000;
    return executor;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  /** @internal */
  _submit<T>(loop: EventLoop, fn: unknown, args: unknown[]): PoolFuture<T> {
    loop._checkClosed();
    const id = loop._nextWorkId++;
    const nativeTask = nativeTaskOf(fn);
    let code: number;
    let js = true;
    if (nativeTask !== undefined) {
      js = false;
      code = this._native.submitTask(loop._native, id, nativeTask.name, ...nativeTask.normalize(args));
    } else if (isTaskRef(fn)) {
      code = this._native.submitJs(loop._native, id, JOB_MODULE, fn.specifier, fn.exportName, serializeArgs(args), threadId);
    } else if (typeof fn === 'function') {
      code = this._native.submitJs(loop._native, id, JOB_FUNCTION, functionSource(fn), '', serializeArgs(args), threadId);
    } else {
      throw invalidArgType('fn', 'a function, a built-in task (tasks.*) or a moduleTask() reference', fn);
    }
    if (code === SubmitCode.Shutdown) {
      throw new EvloopError('ERR_EXECUTOR_SHUTDOWN', 'cannot submit to an executor that was shut down');
    }
    if (code === SubmitCode.QueueFull) {
      throw new EvloopError('ERR_QUEUE_FULL', 'the executor queue is full (maxQueue reached)');
    }
    const future = new PoolFuture<T>(loop, this, id, js);
    // The async context of submit() is the one its done callbacks run in (AsyncLocalStorage).
    future._asyncResource = new AsyncResource('evloop.PoolWork');
    loop._pending.set(id, future as PoolFuture<unknown>);
    if (loop._pending.size === 1) loop._pendingChanged();
    if (code === SubmitCode.OkStartRunner) startRunner(this._native.id(), this._idleTimeout);
    return future;
  }

  /** @internal a Future of `loop` done once the (shut down) pool has nothing in flight */
  _drained(loop: EventLoop): Future<void> {
    const future = loop.createFuture<void>();
    const token = loop._nextWorkId++;
    loop._drainWaiters.set(token, future);
    this._native.whenDrained(loop._native, token);
    loop._pendingChanged();
    return future;
  }
}

/**
 * @internal Starts a JavaScript-capable pool thread, fed by the native queue, for the pool's work
 * submitted from this thread (its group). It is a Worker of this thread, so it lives and dies
 * with it. Asked for by submit, or by a loop of this thread when a pool thread died (RunnerWanted).
 */
export function startRunner(poolId: number, idleTimeout: number): void {
  const attached = new Int32Array(new SharedArrayBuffer(4)); // set by the runner once attached
  let worker: Worker;
  try {
    worker = new Worker(RUNNER_SCRIPT, {
      workerData: { poolId, group: threadId, idleTimeout, attached },
      name: 'evloop pool runner',
      // V8 grows a busy thread's young generation to 32 MB by default: four pool threads then
      // hold 150 MB of heap they rarely need (bench/soak.js). 16 MB costs no measured throughput.
      resourceLimits: { maxYoungGenerationSizeMb: RUNNER_YOUNG_GENERATION_MB },
    });
  } catch (error) {
    // No JavaScript thread could start (this thread is exiting, or out of resources): the
    // work that waited for it fails through its Future.
    addon.runnerFailed(poolId, threadId);
    process.emitWarning(`evloop: could not start a JavaScript pool thread: ${(error as Error)?.message ?? error}`);
    return;
  }
  // An idle pool never keeps the process alive; pending work does, through its loop.
  worker.unref();
  worker.on('error', (error) => {
    process.emitWarning(`evloop: a JavaScript pool thread failed: ${(error as Error)?.stack ?? error}`);
  });
  // Ended before it attached (its thread could not set up): the pool stops counting on it.
  worker.on('exit', () => {
    if (Atomics.load(attached, 0) === 0) addon.runnerFailed(poolId, threadId);
  });
}

// ---- the default executor ---------------------------------------------------------------------

let sharedDefault: ThreadPoolExecutor | null = null;

/** This thread's handle on the one process-wide default pool. */
export function defaultExecutor(): ThreadPoolExecutor {
  sharedDefault ??= new ThreadPoolExecutor({ _default: true } as ThreadPoolExecutorOptions);
  return sharedDefault;
}

export function validateExecutor(executor: unknown): asserts executor is Executor {
  if (
    executor === null ||
    typeof executor !== 'object' ||
    typeof (executor as Executor).submit !== 'function' ||
    typeof (executor as Executor).shutdown !== 'function'
  ) {
    throw invalidArgType('executor', 'an Executor (with submit and shutdown)', executor);
  }
}

export function runInExecutor<T>(loop: EventLoop, executor: Executor | null, fn: unknown, args: unknown[]): Future<T> {
  if (executor === null || executor === undefined) executor = loop._defaultExecutor ?? defaultExecutor();
  if (executor instanceof ThreadPoolExecutor) return executor._submit<T>(loop, fn, args);
  validateExecutor(executor);
  // Another Executor: follow its Future or promise on this loop.
  const submitted = executor.submit<T>(fn, ...args);
  if (submitted instanceof Future && submitted._loop === loop) return submitted;
  const future = loop.createFuture<T>();
  if (!isThenable(submitted)) {
    future.setResult(submitted as T);
    return future;
  }
  submitted.then(
    (value) => !future.done() && future.setResult(value),
    (error) => !future.done() && future.setException(error),
  );
  return future;
}

export function shutdownDefaultExecutor(loop: EventLoop): Future<void> {
  const executor = loop._defaultExecutor;
  if (executor === null || executor === sharedDefault) {
    // The shared pool stays for others: wait for this loop's work on it only.
    const mine = [...loop._pending.values()].filter((f) => f._executor === sharedDefault);
    const done = loop.createFuture<void>();
    let left = mine.length;
    if (left === 0) done.setResult(undefined);
    for (const future of mine) {
      future.addDoneCallback(() => {
        if (--left === 0 && !done.done()) done.setResult(undefined);
      });
    }
    return done;
  }
  if (executor instanceof ThreadPoolExecutor) {
    executor._native.shutdown(false);
    return executor._drained(loop);
  }
  const done = loop.createFuture<void>();
  executor.shutdown({ wait: true }).then(
    () => !done.done() && done.setResult(undefined),
    (error) => !done.done() && done.setException(error),
  );
  return done;
}
