// The ready queue: callbacks to run on the next turn, FIFO. An intrusive linked list through the
// handles, as Node's own immediate queue: no large array for the garbage collector to rescan
// while a million callbacks wait, and O(1) at both ends.
import { QUEUED, type Handle } from './handles';

export class ReadyQueue {
  head: Handle | null = null;
  tail: Handle | null = null;

  isEmpty(): boolean {
    return this.head === null;
  }

  /** Queues `handle` unless it already waits (a reader or signal handler due twice in one turn runs once). */
  push(handle: Handle): void {
    if (handle._flags & QUEUED) return;
    handle._flags |= QUEUED;
    if (this.tail === null) this.head = handle;
    else this.tail._next = handle;
    this.tail = handle;
  }

  /** Takes everything queued, leaving the queue empty: the list of one turn. */
  takeAll(): Handle | null {
    const head = this.head;
    this.head = null;
    this.tail = null;
    return head;
  }
}
