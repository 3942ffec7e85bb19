// EventLoop: asyncio's BaseEventLoop. The ready queue and the timer heap live here, in
// JavaScript; the native loop does the blocking wait and hands back each turn's events as one
// batch. This file is the private loop; host-loop.ts drives the same machinery from Node's loop.
import * as os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import {
  EvloopError,
  invalidArgType,
  outOfRange,
  validateBoolean,
  validateFunction,
  validateNumber,
  validateOptions,
} from './errors';
import { Future, isThenable } from './futures';
import { CANCELLED, Handle, QUEUED, TimerHandle, sourceStackOf, type Callback } from './handles';
import { ReadyQueue } from './ready-queue';
import { TimerHeap } from './timer-heap';
import { READABLE, Tag, WRITABLE, addon, type NativeLoop } from './native';
import { thread } from './running';
import { Task, isCoroutine, needsMicrotasks, type TaskSource } from './tasks';
import type { Executor, PoolFuture } from './executor';
import * as executors from './executor';
import { deserialize } from './wire';


export interface ExceptionContext {
  message: string;
  exception?: unknown;
  handle?: Handle;
  future?: Future<unknown>;
  task?: Task<unknown>;
  [key: string]: unknown;
}

export type ExceptionHandler = (loop: EventLoop, context: ExceptionContext) => void;

/** A reference to a loop that another thread can hold: send it with postMessage or workerData. */
export interface LoopRef {
  readonly evloop: 'loop';
  readonly id: number;
}

// Node drains microtasks with process._tickCallback (undocumented, DEP0134 doc-only): feature-detect.
const tickCallback: (() => void) | undefined =
  typeof (process as unknown as { _tickCallback?: unknown })._tickCallback === 'function'
    ? (process as unknown as { _tickCallback: () => void })._tickCallback
    : undefined;

/** True when a blocking run entered now can drain promise continuations (outside a microtask). */
function canDrainMicrotasks(): boolean {
  if (tickCallback === undefined) return false;
  let ran = false;
  queueMicrotask(() => {
    ran = true;
  });
  tickCallback();
  return ran;
}

// In a worker, the wait returns to JavaScript at least this often, so that worker.terminate()
// and process.exit() are not kept waiting by a thread blocked in native code.
const WORKER_PROBE_MS = 100;
// The longest single native wait (a timer due later, or at Infinity, is waited for in steps).
const MAX_WAIT_MS = 0x7fffffff;
// With callbacks ready, the loop skips the system call unless this long has passed since the last.
const POLL_INTERVAL_MS = 1;
// asyncio's heap compaction: when most timers are cancelled, rebuild without them.
const MIN_CANCELLED_TO_COMPACT = 100;

const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP']);

/** String(value), for values whose toString throws or that have none (Object.create(null)). */
function describeValue(value: unknown): string {
  try {
    return value instanceof Handle || value instanceof Future ? value.toString() : String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return '<unprintable value>';
    }
  }
}

function describeError(error: unknown): string {
  try {
    if (error instanceof Error && typeof error.stack === 'string') return error.stack;
  } catch {
    // a stack getter that throws: fall through
  }
  return `exception: ${describeValue(error)}`;
}

export function signalNumber(signal: unknown, name = 'signal'): number {
  if (typeof signal !== 'string') throw invalidArgType(name, 'of type string', signal);
  const signum = (os.constants.signals as Record<string, number>)[signal];
  if (signum === undefined) {
    const error = new TypeError(`Unknown signal: ${signal}`) as TypeError & { code: string };
    error.code = 'ERR_UNKNOWN_SIGNAL';
    throw error;
  }
  return signum;
}

function validateFd(fd: unknown): asserts fd is number {
  if (typeof fd !== 'number') throw invalidArgType('fd', 'of type number', fd);
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw outOfRange('fd', 'an integer >= 0', fd);
}

export class EventLoop {
  /** Callbacks slower than this (ms) are reported in debug mode. */
  slowCallbackDuration = 100;

  /** @internal */ _ready = new ReadyQueue();
  /** @internal */ _timers = new TimerHeap();
  /** @internal */ _timerSeq = 0;
  /** @internal */ _timerCancelledCount = 0;
  /** @internal */ _debug: boolean;
  /** @internal */ _closed = false;
  /** @internal */ _stopping = false;
  /** @internal a blocking run is in progress */ _running = false;
  /** @internal the run may drain microtasks */ _drain = false;
  /** @internal */ _interrupted = false;
  /** @internal */ _lastPoll = 0;
  /** @internal */ _native: NativeLoop;
  /** @internal pool work awaiting its result, by id */ _pending = new Map<number, PoolFuture<unknown>>();
  /** @internal */ _nextWorkId = 1;
  /** @internal drained notifications awaited, by token */ _drainWaiters = new Map<number, Future<void>>();
  /** @internal */ _readers = new Map<number, Handle>();
  /** @internal */ _writers = new Map<number, Handle>();
  /** @internal */ _signalHandlers = new Map<number, Handle>();
  /** @internal */ _messageHandler: ((value: unknown) => void) | null = null;
  /** @internal messages posted before a handler was set */ _messageBacklog: unknown[] = [];
  /** @internal share() was called: another thread may wake it */ _shared = false;
  /** @internal */ _exceptionHandler: ExceptionHandler | null = null;
  /** @internal */ _defaultExecutor: Executor | null = null;
  /** @internal pending tasks (run() cancels what is left) */ _tasks = new Set<Task<any>>();
  /** @internal pending tasks driven by promises */ _promiseTasks = 0;

  constructor(options?: { debug?: boolean }) {
    const { debug } = validateOptions(options);
    if (debug !== undefined) validateBoolean(debug, 'options.debug');
    this._debug = debug ?? process.env.EVLOOP_DEBUG === '1';
    this._native = new addon.NativeLoop();
  }

  // ---- running and stopping ------------------------------------------------------------

  /** Runs until `x` is done and returns its result (or throws its error). */
  runUntilComplete<T>(x: Future<T> | TaskSource<T>): T {
    this._checkRunnable();
    // Probing for a microtask context drains the queue: a rejected promise must not be reported
    // unhandled before the task subscribes to it.
    if (x instanceof Promise) x.catch(() => {});
    const drain = canDrainMicrotasks();
    if (!drain && (needsMicrotasks(x) || this._promiseTasks > 0)) throw this._microtaskError();
    let future: Future<T>;
    if (x instanceof Future) {
      if (x._loop !== this) {
        throw new EvloopError('ERR_FOREIGN_FUTURE', 'runUntilComplete: the future belongs to another loop');
      }
      future = x;
    } else if (typeof x === 'function' || isThenable(x) || isCoroutine(x)) {
      future = this.createTask(x as TaskSource<T>);
    } else {
      throw invalidArgType('x', 'a Future, a promise, a generator coroutine or a function', x);
    }
    const stop = () => this.stop();
    future.addDoneCallback(stop);
    try {
      this._run(drain, future);
    } finally {
      future.removeDoneCallback(stop);
    }
    if (!future.done()) {
      throw new EvloopError('ERR_LOOP_STOPPED', 'runUntilComplete: the loop stopped before the future was done');
    }
    return future.result();
  }

  /** Runs until stop(); with nothing scheduled it waits (another thread may wake it). */
  runForever(): void {
    this._checkRunnable();
    const drain = canDrainMicrotasks();
    if (!drain && this._promiseTasks > 0) throw this._microtaskError();
    this._run(drain, null);
  }

  /** Stops after the current turn; before a run, makes the next run do one turn. */
  stop(): void {
    this._stopping = true;
  }

  isRunning(): boolean {
    return this._running;
  }

  isClosed(): boolean {
    return this._closed;
  }

  /** Frees the native loop. Pending callbacks are dropped; a running loop cannot close. */
  close(): void {
    if (this._running) throw new EvloopError('ERR_LOOP_RUNNING', 'cannot close a running loop');
    if (this._closed) return;
    this._closed = true;
    this._ready = new ReadyQueue();
    this._timers = new TimerHeap();
    this._timerCancelledCount = 0;
    this._readers.clear();
    this._writers.clear();
    this._signalHandlers.clear();
    this._messageBacklog = [];
    this._pending.clear();
    this._native.close();
    const executor = this._defaultExecutor;
    this._defaultExecutor = null;
    if (executor !== null) void executor.shutdown({ wait: false }).catch(() => {});
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ---- scheduling ---------------------------------------------------------------------------

  /** The loop's monotonic clock, in milliseconds (sub-millisecond precision). */
  time(): number {
    return performance.now();
  }

  callSoon(callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    validateFunction(callback, 'callback');
    return this._schedule(callback, args.length > 0 ? args : undefined);
  }

  /** callSoon that may be called while the loop waits; from JavaScript it runs on the loop's thread. */
  callSoonThreadsafe(callback: Callback, ...args: unknown[]): Handle {
    const handle = this.callSoon(callback, ...args);
    this._native.wake();
    return handle;
  }

  callLater(delay: number, callback: Callback, ...args: unknown[]): TimerHandle {
    this._checkClosed();
    validateNumber(delay, 'delay', { finite: false });
    validateFunction(callback, 'callback');
    return this._callAt(this.time() + delay, callback, args);
  }

  callAt(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    this._checkClosed();
    validateNumber(when, 'when', { finite: false });
    validateFunction(callback, 'callback');
    return this._callAt(when, callback, args);
  }

  // ---- futures and tasks --------------------------------------------------------------------

  createFuture<T = unknown>(): Future<T> {
    this._checkClosed();
    return new Future<T>(this);
  }

  createTask<T>(x: TaskSource<T>, options?: { name?: string }): Task<T> {
    this._checkClosed();
    const { name } = validateOptions(options);
    if (name !== undefined && typeof name !== 'string') throw invalidArgType('options.name', 'of type string', name);
    if (typeof x !== 'function' && !isThenable(x) && !isCoroutine(x)) {
      throw invalidArgType('x', 'a promise, a generator coroutine or a function', x);
    }
    if (x instanceof Future) throw invalidArgType('x', 'a promise, a generator coroutine or a function', x);
    if (needsMicrotasks(x) && !this._canDriveMicrotasks()) throw this._microtaskError();
    return new Task<T>(this, x, name as string | undefined);
  }

  // ---- executors ----------------------------------------------------------------------------

  /** Runs `fn(...args)` on `executor` (null: the default one); the result comes back on this loop. */
  runInExecutor<T>(executor: Executor | null, fn: unknown, ...args: unknown[]): Future<T> {
    this._checkClosed();
    return executors.runInExecutor<T>(this, executor, fn, args);
  }

  setDefaultExecutor(executor: Executor): void {
    this._checkClosed();
    executors.validateExecutor(executor);
    this._defaultExecutor = executor;
  }

  /** Waits for this loop's work on its default executor; shuts it down unless it is the shared one. */
  shutdownDefaultExecutor(): Future<void> {
    this._checkClosed();
    return executors.shutdownDefaultExecutor(this);
  }

  // ---- file descriptors and signals ---------------------------------------------------------

  addReader(fd: number, callback: Callback, ...args: unknown[]): void {
    this._addWatcher(this._readers, fd, callback, args);
  }

  removeReader(fd: number): boolean {
    return this._removeWatcher(this._readers, fd);
  }

  addWriter(fd: number, callback: Callback, ...args: unknown[]): void {
    this._addWatcher(this._writers, fd, callback, args);
  }

  removeWriter(fd: number): boolean {
    return this._removeWatcher(this._writers, fd);
  }

  addSignalHandler(signal: NodeJS.Signals, callback: Callback, ...args: unknown[]): void {
    this._checkClosed();
    const signum = signalNumber(signal);
    if (UNCATCHABLE.has(signal)) {
      throw new EvloopError('ERR_UNCATCHABLE_SIGNAL', `${signal} cannot be caught`);
    }
    validateFunction(callback, 'callback');
    const handle = new Handle(callback, args.length > 0 ? args : undefined, this);
    if (!this._signalHandlers.has(signum)) this._native.watchSignal(signum, true);
    this._signalHandlers.set(signum, handle);
  }

  removeSignalHandler(signal: NodeJS.Signals): boolean {
    const signum = signalNumber(signal);
    if (!this._signalHandlers.delete(signum)) return false;
    if (!this._closed) this._native.watchSignal(signum, false);
    return true;
  }

  // ---- across threads -----------------------------------------------------------------------

  /** A reference another thread can post() to. */
  share(): LoopRef {
    this._checkClosed();
    this._shared = true;
    return { evloop: 'loop', id: this._native.id() };
  }

  /** Sets the handler of posted values; those that arrived before run on the next turn, in order. */
  onMessage(handler: ((value: unknown) => void) | null): void {
    if (handler !== null) validateFunction(handler, 'handler');
    this._messageHandler = handler;
    if (handler !== null && this._messageBacklog.length > 0 && !this._closed) {
      const backlog = this._messageBacklog;
      this._messageBacklog = [];
      for (const value of backlog) this._schedule(handler, [value]);
    }
  }

  // ---- errors and debugging -----------------------------------------------------------------

  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null) validateFunction(handler, 'handler');
    this._exceptionHandler = handler;
  }

  getExceptionHandler(): ExceptionHandler | null {
    return this._exceptionHandler;
  }

  /** One clear report on stderr: the message, what it is about, and the error's stack. */
  defaultExceptionHandler(context: ExceptionContext): void {
    if (context === null || typeof context !== 'object') throw invalidArgType('context', 'of type object', context);
    const lines = [describeValue(context.message ?? 'Unhandled error in event loop')];
    for (const [key, value] of Object.entries(context)) {
      if (key === 'message' || key === 'exception') continue;
      lines.push(`${key}: ${describeValue(value)}`);
      const stack = value instanceof Handle ? sourceStackOf(value) : undefined;
      if (stack !== undefined) lines.push(`${key} created at:\n${stack}`);
    }
    if ('exception' in context) lines.push(describeError(context.exception));
    process.stderr.write(`evloop: ${lines.join('\n')}\n`);
  }

  /** Calls the exception handler (or the default one); never throws: reports are best effort. */
  callExceptionHandler(context: ExceptionContext): void {
    if (context === null || typeof context !== 'object') throw invalidArgType('context', 'of type object', context);
    const handler = this._exceptionHandler;
    try {
      if (handler === null) {
        this.defaultExceptionHandler(context);
        return;
      }
      try {
        handler(this, context);
      } catch (error) {
        this.defaultExceptionHandler({ message: 'Unhandled error in exception handler', exception: error, context });
      }
    } catch {
      // Even the report failed (stderr closed, a value that throws when read): drop it rather
      // than let it stop the loop.
    }
  }

  setDebug(enabled: boolean): void {
    validateBoolean(enabled, 'enabled');
    this._debug = enabled;
  }

  getDebug(): boolean {
    return this._debug;
  }

  toString(): string {
    return `<${this.constructor.name} running=${this.isRunning()} closed=${this._closed} debug=${this._debug}>`;
  }

  // ---- internals: the turn ------------------------------------------------------------------

  /** @internal */
  _schedule(callback: Callback, args: unknown[] | undefined): Handle {
    const handle = new Handle(callback, args, this);
    if (this._ready.isEmpty()) this._readyChanged();
    this._ready.push(handle);
    return handle;
  }

  /** @internal the host loop schedules a turn here; a private loop needs nothing */
  _readyChanged(): void {}

  /** @internal the host loop re-arms its Node timer here */
  _timersChanged(): void {}

  /** @internal */
  _callAt(when: number, callback: Callback, args: unknown[]): TimerHandle {
    const timer = new TimerHandle(when, this._timerSeq++, callback, args.length > 0 ? args : undefined, this);
    this._timers.push(timer);
    if (this._timers.peek() === timer) this._timersChanged();
    return timer;
  }

  /** @internal */
  _timerHandleCancelled(): void {
    this._timerCancelledCount++;
    const timers = this._timers;
    if (this._timerCancelledCount > MIN_CANCELLED_TO_COMPACT && this._timerCancelledCount * 2 > timers.length) {
      timers.retain((t) => {
        if (t._flags & CANCELLED) t._scheduled = false;
        return !(t._flags & CANCELLED);
      });
      this._timerCancelledCount = 0;
    }
    this._timersChanged();
  }

  /** @internal live (not cancelled) timers */
  _liveTimers(): number {
    return this._timers.length - this._timerCancelledCount;
  }

  /** @internal how long the native wait may block: 0 with work ready, -1 with nothing scheduled */
  _timeout(): number {
    if (!this._ready.isEmpty() || this._stopping) return 0;
    const timers = this._timers;
    while (timers.length > 0 && timers.peek()!._flags & CANCELLED) this._dropTimer();
    if (timers.length === 0) return -1;
    return Math.max(0, timers.peek()!._when - this.time());
  }

  /** @internal */
  _dropTimer(): TimerHandle {
    const timer = this._timers.pop()!;
    timer._scheduled = false;
    if (timer._flags & CANCELLED) this._timerCancelledCount--;
    return timer;
  }

  /** @internal moves due timers to the ready queue */
  _collectDueTimers(): void {
    const timers = this._timers;
    if (timers.length === 0) return;
    const now = this.time();
    while (timers.length > 0 && timers.peek()!._when <= now) {
      const timer = this._dropTimer();
      if (!(timer._flags & CANCELLED)) this._ready.push(timer);
    }
  }

  /** @internal runs the callbacks that were ready when the turn began */
  _runReady(): void {
    let next = this._ready.takeAll();
    const drain = this._drain;
    const debug = this._debug;
    while (next !== null) {
      const handle = next;
      next = handle._next;
      handle._next = null;
      const flags = handle._flags;
      handle._flags = flags & ~QUEUED;
      if (flags & CANCELLED) continue;
      const start = debug ? this.time() : 0;
      try {
        handle._run();
      } catch (error) {
        this.callExceptionHandler({ message: `Exception in callback ${handle._describe()}`, exception: error, handle });
      }
      if (drain) this._drainMicrotasks();
      if (debug) {
        const took = this.time() - start;
        if (took >= this.slowCallbackDuration) {
          process.stderr.write(`evloop: Executing ${handle.toString()} took ${took.toFixed(3)} ms\n`);
        }
      }
    }
  }

  /** @internal */
  _drainMicrotasks(): void {
    try {
      tickCallback!();
    } catch (error) {
      this.callExceptionHandler({ message: 'Exception in a promise continuation', exception: error });
    }
  }

  /** @internal one turn of a blocking run: wait, collect events and due timers, run what is ready */
  _runOnce(stallCheck: boolean): void {
    let timeout = this._timeout();
    const now = this.time();
    // Descriptors are level-triggered: while any is watched, every turn polls.
    if (this._ready.isEmpty() || now - this._lastPoll >= POLL_INTERVAL_MS || this._watchesDescriptors()) {
      if (timeout < 0 && stallCheck) {
        // Promise continuations may still complete it: run them before judging.
        if (this._drain) {
          this._drainMicrotasks();
          timeout = this._timeout();
        }
        if (timeout < 0 && this._cannotWake()) throw this._stalledError();
      }
      if (timeout > MAX_WAIT_MS) timeout = MAX_WAIT_MS;
      if (!isMainThread && (timeout < 0 || timeout > WORKER_PROBE_MS)) timeout = WORKER_PROBE_MS;
      const batch = this._native.wait(timeout);
      this._lastPoll = timeout === 0 ? now : this.time();
      if (batch !== undefined) this._processBatch(batch);
    }
    this._collectDueTimers();
    this._runReady();
  }

  /** @internal the blocking run shared by runForever and runUntilComplete */
  _run(drain: boolean, until: Future<any> | null): void {
    if (thread.running !== null) throw new EvloopError('ERR_LOOP_RUNNING', 'another loop is running on this thread');
    thread.running = this;
    this._running = true;
    this._drain = drain;
    const interruptible = isMainThread && process.listenerCount('SIGINT') > 0;
    if (interruptible) this._native.watchInterrupt(true);
    try {
      for (;;) {
        this._runOnce(until !== null);
        if (this._interrupted) {
          this._interrupted = false;
          throw new EvloopError('ERR_INTERRUPTED', 'interrupted by SIGINT (Ctrl-C)');
        }
        if (this._stopping) break;
      }
    } finally {
      this._stopping = false;
      this._running = false;
      this._drain = false;
      thread.running = null;
      if (interruptible && !this._closed) this._native.watchInterrupt(false);
    }
  }

  /** @internal the events of one turn, as [tag, id, value] triples */
  _processBatch(batch: unknown[]): void {
    for (let i = 0; i < batch.length; i += 3) {
      const tag = batch[i] as Tag;
      const id = batch[i + 1] as number;
      const value = batch[i + 2];
      switch (tag) {
        case Tag.WorkDone:
        case Tag.WorkFailed:
        case Tag.WorkCancelled: {
          const future = this._pending.get(id);
          if (future === undefined) break;
          this._pending.delete(id);
          future._settle(tag, value);
          break;
        }
        case Tag.Message:
          this._deliver(deserialize(value as Uint8Array));
          break;
        case Tag.Bytes: // C API post(): a Buffer
          this._deliver(value);
          break;
        case Tag.Call: // C API call(): runs as a callback of this turn
          this._ready.push(new Handle(value as Callback, undefined, this));
          break;
        case Tag.Ready: {
          const reader = (value as number) & READABLE ? this._readers.get(id) : undefined;
          const writer = (value as number) & WRITABLE ? this._writers.get(id) : undefined;
          if (reader !== undefined) this._ready.push(reader);
          if (writer !== undefined) this._ready.push(writer);
          break;
        }
        case Tag.Signal: {
          const handler = this._signalHandlers.get(id);
          if (handler !== undefined) this._ready.push(handler);
          break;
        }
        case Tag.Interrupted:
          this._interrupted = true;
          break;
        case Tag.RunnerWanted: // a pool thread of this thread's died while its work waits
          executors.startRunner(id, value as number);
          break;
        case Tag.Drained: {
          const future = this._drainWaiters.get(id);
          this._drainWaiters.delete(id);
          if (future !== undefined && !future.done()) future.setResult(undefined);
          break;
        }
      }
    }
    this._pendingChanged();
  }

  /** @internal the host loop keeps Node alive while pool work is pending */
  _pendingChanged(): void {}

  /** @internal */
  _deliver(value: unknown): void {
    if (this._messageHandler !== null) this._ready.push(new Handle(this._messageHandler, [value], this));
    else this._messageBacklog.push(value);
  }

  /** @internal nothing scheduled, armed or shared could ever wake this loop */
  _cannotWake(): boolean {
    return (
      this._ready.isEmpty() &&
      this._liveTimers() === 0 &&
      this._pending.size === 0 &&
      this._drainWaiters.size === 0 &&
      this._readers.size === 0 &&
      this._writers.size === 0 &&
      this._signalHandlers.size === 0 &&
      !this._shared
    );
  }

  /** @internal */
  _stalledError(): EvloopError {
    return new EvloopError(
      'ERR_LOOP_STALLED',
      'runUntilComplete: nothing can ever complete the awaited future: no callback, timer, descriptor, ' +
        'signal, pool work or other thread can wake this loop. If it awaits a Node.js API (fs.promises, ' +
        "timers, sockets, fetch), that API needs Node's own loop, which does not turn while a private loop " +
        'blocks the thread: await it on the host loop from async code, or run the work on the pool ' +
        '(runInExecutor, tasks.*).',
    );
  }

  // ---- internals: checks ----------------------------------------------------------------------

  /** @internal */
  _checkClosed(): void {
    if (this._closed) throw new EvloopError('ERR_LOOP_CLOSED', 'the event loop is closed');
  }

  /** @internal */
  _checkRunnable(): void {
    this._checkClosed();
    if (this._running) throw new EvloopError('ERR_LOOP_RUNNING', 'this event loop is already running');
    if (thread.running !== null) {
      throw new EvloopError('ERR_LOOP_RUNNING', 'cannot run a loop while another loop is running on this thread');
    }
  }

  /** @internal promise continuations can run where this loop's callbacks run */
  _canDriveMicrotasks(): boolean {
    return !this._running || this._drain;
  }

  /** @internal */
  _microtaskError(): EvloopError {
    return new EvloopError(
      'ERR_MICROTASK_CONTEXT',
      'a blocking run cannot drive promise-based work (an async function or a promise) here: it was entered ' +
        'from inside a microtask (after an await, in a .then callback, at an ES module top level), where ' +
        'promise continuations cannot run. Use a generator coroutine (function*, yielding Futures), a ' +
        'callback-driven Future, or enter the run from a macrotask (setImmediate, CommonJS top level).',
    );
  }

  /** @internal */
  _taskCreated(task: Task<any>): void {
    this._tasks.add(task);
    if (task._promiseKind) this._promiseTasks++;
  }

  /** @internal */
  _taskDone(task: Task<any>): void {
    if (this._tasks.delete(task) && task._promiseKind) this._promiseTasks--;
  }

  /** @internal */
  _addWatcher(map: Map<number, Handle>, fd: number, callback: Callback, args: unknown[]): void {
    this._checkClosed();
    validateFd(fd);
    validateFunction(callback, 'callback');
    const handle = new Handle(callback, args.length > 0 ? args : undefined, this);
    const had = map.get(fd);
    map.set(fd, handle);
    try {
      this._native.watch(fd, this._mask(fd));
    } catch (error) {
      if (had === undefined) map.delete(fd);
      else map.set(fd, had);
      throw error;
    }
    if (had !== undefined) had.cancel();
  }

  /** @internal */
  _removeWatcher(map: Map<number, Handle>, fd: number): boolean {
    validateFd(fd);
    const handle = map.get(fd);
    if (handle === undefined) return false;
    map.delete(fd);
    handle.cancel();
    if (this._closed) return true;
    try {
      this._native.watch(fd, this._mask(fd));
    } catch {
      // The descriptor was closed behind our back: its other watcher cannot stay armed either.
      this._readers.get(fd)?.cancel();
      this._writers.get(fd)?.cancel();
      this._readers.delete(fd);
      this._writers.delete(fd);
    }
    return true;
  }

  /** @internal */
  _watchesDescriptors(): boolean {
    return this._readers.size > 0 || this._writers.size > 0;
  }

  /** @internal */
  _mask(fd: number): number {
    return (this._readers.has(fd) ? READABLE : 0) | (this._writers.has(fd) ? WRITABLE : 0);
  }
}
