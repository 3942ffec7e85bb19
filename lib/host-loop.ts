// The host loop: Node.js's own loop of this thread behind the EventLoop interface. It never
// blocks: Node's loop watches the native loop's backend descriptor and hands each batch over;
// ready callbacks run from setImmediate and timers from one Node timer, the earliest.
import { EvloopError } from './errors';
import { EventLoop } from './base-loop';
import { CANCELLED } from './handles';

// A turn with more callbacks ready runs again at once, for up to this long, before yielding
// to Node's loop (so I/O waits at most this long).
const TURN_BUDGET_MS = 1;
const MAX_NODE_DELAY_MS = 0x7fffffff;

function hostLoopError(what: string): EvloopError {
  return new EvloopError('ERR_HOST_LOOP', `${what}: the host loop is Node's own loop; it is always running`);
}

export class HostLoop extends EventLoop {
  /** @internal */ _immediate: NodeJS.Immediate | null = null;
  /** @internal */ _nodeTimer: NodeJS.Timeout | null = null;
  /** @internal the `when` the Node timer is armed for */ _nodeTimerAt = 0;
  /** @internal */ _referenced = false;

  /** @internal use hostLoop() */
  constructor() {
    super();
    this._native.drive((batch) => {
      this._processBatch(batch);
      this._turns(true);
    });
  }

  override runUntilComplete(): never {
    throw hostLoopError('runUntilComplete');
  }

  override runForever(): never {
    throw hostLoopError('runForever');
  }

  override stop(): never {
    throw hostLoopError('stop');
  }

  override close(): never {
    throw hostLoopError('close');
  }

  override isRunning(): boolean {
    return true;
  }

  /** @internal */
  override _readyChanged(): void {
    if (this._immediate === null) this._immediate = setImmediate(this._onImmediate);
  }

  /** @internal */
  override _timersChanged(): void {
    const timers = this._timers;
    while (timers.length > 0 && timers.peek()!._flags & CANCELLED) this._dropTimer();
    if (timers.length === 0) {
      if (this._nodeTimer !== null) clearTimeout(this._nodeTimer);
      this._nodeTimer = null;
      return;
    }
    const when = timers.peek()!._when;
    if (this._nodeTimer !== null) {
      if (this._nodeTimerAt === when) return;
      clearTimeout(this._nodeTimer);
    }
    this._nodeTimerAt = when;
    // Node's timers count whole milliseconds: round up so ours never run early. Past Node's
    // limit (2^31-1 ms) it would fire at once: arm the limit, and re-arm when it fires.
    this._nodeTimer = setTimeout(this._onTimer, Math.min(MAX_NODE_DELAY_MS, Math.max(0, Math.ceil(when - this.time()))));
  }

  /** @internal pending pool work keeps Node's loop alive, as pending I/O does */
  override _pendingChanged(): void {
    const wanted = this._pending.size > 0 || this._drainWaiters.size > 0;
    if (wanted !== this._referenced) {
      this._referenced = wanted;
      this._native.setRef(wanted);
    }
  }

  /** @internal */
  _onImmediate = (): void => {
    this._immediate = null;
    this._turns(false);
  };

  /** @internal */
  _onTimer = (): void => {
    this._nodeTimer = null;
    this._turns(false);
  };

  /**
   * @internal Runs turns for up to TURN_BUDGET_MS while callbacks are ready. `polled`: the native
   * loop was just looked at (a batch came). Descriptors are level-triggered: while any is
   * watched, every turn looks at the native loop first, and only one turn runs per call.
   */
  _turns(polled: boolean): void {
    const deadline = this.time() + TURN_BUDGET_MS;
    if (!polled && this._watchesDescriptors()) {
      const batch = this._native.wait(0);
      if (batch !== undefined) this._processBatch(batch);
    }
    do {
      this._collectDueTimers();
      this._runReady();
    } while (!this._ready.isEmpty() && !this._watchesDescriptors() && this.time() < deadline);
    if (!this._ready.isEmpty()) this._readyChanged();
    this._timersChanged();
  }
}
