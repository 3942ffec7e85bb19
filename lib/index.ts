// evloop: Python asyncio's event-loop model for Node.js on a native libuv core.
// events first: it loads base-loop (and what that needs) before host-loop extends it.
import './events';
export { EventLoop } from './base-loop';
export type { ExceptionContext, ExceptionHandler, LoopRef } from './base-loop';
export { Handle, TimerHandle } from './handles';
export type { Callback } from './handles';
export { Future } from './futures';
export type { DoneCallback } from './futures';
export { Task } from './tasks';
export type { Awaitable, Coroutine, TaskSource } from './tasks';
export { EvloopError, InvalidStateError, CancelledError, TimeoutError } from './errors';
export { newEventLoop, getEventLoop, setEventLoop, getRunningLoop, hostLoop, run, post } from './events';
export { sleep, gather, waitFor, shield } from './helpers';
export type { Awaitables } from './helpers';
export { ThreadPoolExecutor } from './executor';
export type { Executor, SharedExecutor, ThreadPoolExecutorOptions, ExecutorStats } from './executor';
export { tasks } from './builtin-tasks';
export type { NativeTask, TaskData } from './builtin-tasks';
export { moduleTask } from './transfer';
export type { TaskRef } from './transfer';
export { include, nativeApi } from './native-api';
