// Handle and TimerHandle: a scheduled callback, as asyncio's events.Handle / TimerHandle.
// Kept small: a million queued callbacks are a million of these for the garbage collector.
import type { EventLoop } from './base-loop';

/** A callback scheduled on a loop, with the arguments it was scheduled with. */
export type Callback = (...args: any[]) => unknown;

export const CANCELLED = 1;
export const QUEUED = 2;

// Where each handle was created, in debug mode only (reports name it).
const sourceStacks = new WeakMap<Handle, string>();

/** A callback scheduled on a loop; `cancel()` keeps it from running. */
export class Handle {
  /** @internal */ _callback: Callback | null;
  /** @internal */ _args: unknown[] | undefined;
  /** @internal the next handle in the ready queue */ _next: Handle | null = null;
  /** @internal CANCELLED | QUEUED (waits in the ready queue) */ _flags = 0;

  /** @internal */
  constructor(callback: Callback, args: unknown[] | undefined, loop: EventLoop) {
    this._callback = callback;
    this._args = args;
    if (loop._debug) {
      const stack = captureStack();
      if (stack !== undefined) sourceStacks.set(this, stack);
    }
  }

  /** Keeps the callback from running; harmless when it already ran or was cancelled. */
  cancel(): void {
    if (this._flags & CANCELLED) return;
    this._flags |= CANCELLED;
    // Drop the references at once: a cancelled handle must not keep its callback alive.
    this._callback = null;
    this._args = undefined;
  }

  cancelled(): boolean {
    return (this._flags & CANCELLED) !== 0;
  }

  /** @internal */
  _run(): void {
    const callback = this._callback!;
    const args = this._args;
    if (args === undefined) callback();
    else callback(...args);
  }

  /** @internal a name for reports: the callback's name */
  _describe(): string {
    let name: string;
    try {
      name = String(this._callback?.name || '<anonymous>');
    } catch {
      name = '<unreadable name>'; // a revoked Proxy, a throwing `name` getter: still reported
    }
    return `${this.constructor.name}(${name}${this.cancelled() ? ', cancelled' : ''})`;
  }

  toString(): string {
    return `<${this._describe()}>`;
  }
}

/** A callback scheduled for a time of the loop's clock (`loop.time()`, ms). */
export class TimerHandle extends Handle {
  /** @internal */ readonly _loop: EventLoop;
  /** @internal */ readonly _when: number;
  /** @internal tie-break: timers due at the same time run in scheduling order */ readonly _seq: number;
  /** @internal whether it is still in the loop's heap */ _scheduled = true;

  /** @internal */
  constructor(when: number, seq: number, callback: Callback, args: unknown[] | undefined, loop: EventLoop) {
    super(callback, args, loop);
    this._loop = loop;
    this._when = when;
    this._seq = seq;
  }

  /** When it is due, in the loop's clock (ms). */
  when(): number {
    return this._when;
  }

  override cancel(): void {
    if (this._flags & CANCELLED) return;
    super.cancel();
    if (this._scheduled) this._loop._timerHandleCancelled();
  }
}

/** Where `handle` was created (debug mode), for reports. */
export function sourceStackOf(handle: Handle): string | undefined {
  return sourceStacks.get(handle);
}

export function captureStack(): string | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, captureStack);
  return holder.stack?.split('\n').slice(2).join('\n');
}
