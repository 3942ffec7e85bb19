// The timer heap: a binary min-heap on (when, seq), as asyncio's. The keys sit in a Float64Array
// beside the handles, so sifting compares contiguous numbers rather than chasing each handle
// (the handles are read only on ties, to keep scheduling order).
import type { TimerHandle } from './handles';

export class TimerHeap {
  private items: TimerHandle[] = [];
  private keys = new Float64Array(64);

  get length(): number {
    return this.items.length;
  }

  peek(): TimerHandle | undefined {
    return this.items[0];
  }

  push(timer: TimerHandle): void {
    const items = this.items;
    let i = items.length;
    if (i === this.keys.length) {
      const grown = new Float64Array(i * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    const keys = this.keys;
    const key = timer._when;
    items.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = keys[parent];
      if (pk < key || (pk === key && items[parent]._seq < timer._seq)) break;
      items[i] = items[parent];
      keys[i] = pk;
      i = parent;
    }
    items[i] = timer;
    keys[i] = key;
  }

  pop(): TimerHandle | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) this.siftDown(0, last, last._when);
    return top;
  }

  /** Keeps only the timers `keep` accepts (compaction of cancelled ones). */
  retain(keep: (timer: TimerHandle) => boolean): void {
    const kept = this.items.filter(keep);
    const keys = new Float64Array(Math.max(64, kept.length * 2));
    for (let i = 0; i < kept.length; i++) keys[i] = kept[i]._when;
    this.items = kept;
    this.keys = keys;
    // Bottom-up heap construction: O(n).
    for (let i = (kept.length >> 1) - 1; i >= 0; i--) this.siftDown(i, kept[i], keys[i]);
  }

  private siftDown(i: number, item: TimerHandle, key: number): void {
    const items = this.items;
    const keys = this.keys;
    const n = items.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n) {
        const rk = keys[right];
        const lk = keys[child];
        if (rk < lk || (rk === lk && items[right]._seq < items[child]._seq)) child = right;
      }
      const ck = keys[child];
      if (ck > key || (ck === key && items[child]._seq > item._seq)) break;
      items[i] = items[child];
      keys[i] = ck;
      i = child;
    }
    items[i] = item;
    keys[i] = key;
  }
}
