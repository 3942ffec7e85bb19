// This thread's loop bookkeeping (each worker thread has its own copy of this module).
import type { EventLoop } from './base-loop';

export const thread: {
  /** the private loop running on this thread, if any */
  running: EventLoop | null;
  /** set by setEventLoop */
  current: EventLoop | null;
  host: EventLoop | null;
} = { running: null, current: null, host: null };
