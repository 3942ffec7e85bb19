// Timers, as asyncio's test_base_events checks call_later/call_at and TimerHandle: order by
// `when`, ties in scheduling order, never early, negative delays, cancellation, memory release
// and the heap compaction that drops many cancelled timers.
import { describe, expect, it } from 'vitest';
import { LOOP_KINDS, evloop, runChild, type LoopKind } from './harness';
import type { EventLoop, TimerHandle } from '../dist/cjs/index.js';

/** Schedules `n` callbacks of `record`, then waits until `n` ran (or the bound). */
function counter(loop: EventLoop, n: number) {
  const done = loop.createFuture<void>();
  const order: unknown[] = [];
  const record = (tag: unknown) => {
    order.push(tag);
    if (order.length === n && !done.done()) done.setResult();
  };
  return { done, order, record };
}

describe.each(LOOP_KINDS)('$name loop: timers', (kind: LoopKind) => {
  it('runs timers in order of when, not in the order they were scheduled', async () => {
    const loop = kind.make();
    const { done, order, record } = counter(loop, 10);
    const base = loop.time();
    for (const offset of [25, 5, 15, 0, 10]) loop.callAt(base + offset, record, `at+${offset}`);
    // callLater computes when = time() + delay at each call: the order is that of those whens.
    const later = [12, 3, 20, 1, 7].map((delay) => ({ delay, h: loop.callLater(delay, record, `later${delay}`) }));
    await kind.drive(loop, done);
    const atOrder = order.filter((x) => String(x).startsWith('at+'));
    expect(atOrder).toEqual(['at+0', 'at+5', 'at+10', 'at+15', 'at+25']);
    const laterOrder = order.filter((x) => String(x).startsWith('later'));
    const byWhen = [...later].sort((a, b) => a.h.when() - b.h.when()).map(({ delay }) => `later${delay}`);
    expect(laterOrder).toEqual(byWhen);
    kind.dispose(loop);
  });

  it('runs timers due at the same time in the order they were scheduled', async () => {
    const loop = kind.make();
    const when = loop.time() + 5;
    const { done, order, record } = counter(loop, 12);
    for (let i = 0; i < 4; i++) loop.callAt(when + 1, record, `late${i}`);
    for (let i = 0; i < 8; i++) loop.callAt(when, record, `tie${i}`);
    await kind.drive(loop, done);
    expect(order).toEqual([...Array.from({ length: 8 }, (_, i) => `tie${i}`), ...Array.from({ length: 4 }, (_, i) => `late${i}`)]);
    kind.dispose(loop);
  });

  it('never runs a timer before its when, by loop.time() (1 ms of granularity allowed)', async () => {
    const loop = kind.make();
    const delays = [0, 1, 2, 3, 5, 8, 13, 21];
    const { done, record } = counter(loop, delays.length);
    const early: unknown[] = [];
    for (const delay of delays) {
      const handle: TimerHandle = loop.callLater(delay, () => {
        const now = loop.time();
        if (now < handle.when() - 1) early.push({ delay, now, when: handle.when() });
        record(delay);
      });
    }
    const at = loop.time() + 4;
    const h = loop.callAt(at, () => {
      if (loop.time() < at - 1) early.push({ callAt: at, now: loop.time() });
    });
    expect(h.when()).toBe(at);
    await kind.drive(loop, done);
    expect(early).toEqual([]);
    kind.dispose(loop);
  });

  it('when() is time() + delay at scheduling, and exactly the argument of callAt', () => {
    const loop = kind.make();
    const before = loop.time();
    const h = loop.callLater(250, () => {});
    const after = loop.time();
    expect(h.when()).toBeGreaterThanOrEqual(before + 250);
    expect(h.when()).toBeLessThanOrEqual(after + 250);
    const at = loop.time() + 123.456;
    const g = loop.callAt(at, () => {});
    expect(g.when()).toBe(at);
    h.cancel();
    g.cancel();
    kind.dispose(loop);
  });

  it('returns a TimerHandle (a Handle) and passes the extra arguments to the callback', async () => {
    const loop = kind.make();
    const done = loop.createFuture<unknown[]>();
    const h = loop.callLater(1, (...args: unknown[]) => done.setResult(args), 'a', 2, null);
    expect(h).toBeInstanceOf(evloop.TimerHandle);
    expect(h).toBeInstanceOf(evloop.Handle);
    const g = loop.callAt(loop.time(), () => {}, 1);
    expect(g).toBeInstanceOf(evloop.TimerHandle);
    expect(await kind.drive(loop, done)).toEqual(['a', 2, null]);
    kind.dispose(loop);
  });

  it('a negative delay is already due and orders before timers scheduled earlier for later', async () => {
    const loop = kind.make();
    const { done, order, record } = counter(loop, 4);
    const entries: [string, TimerHandle][] = [];
    entries.push(['plus1', loop.callLater(1, record, 'plus1')]);
    entries.push(['zero', loop.callLater(0, record, 'zero')]);
    const before = loop.time();
    entries.push(['minus1000', loop.callLater(-1000, record, 'minus1000')]);
    entries.push(['minus500', loop.callLater(-500, record, 'minus500')]);
    // Already due: when = time() + delay, in the past.
    expect(entries[2][1].when()).toBeLessThan(before);
    expect(entries[3][1].when()).toBeLessThan(before);
    await kind.drive(loop, done);
    expect(order.slice(0, 2)).toEqual(['minus1000', 'minus500']);
    const byWhen = entries
      .map(([name, h], i) => ({ name, when: h.when(), i }))
      .sort((a, b) => a.when - b.when || a.i - b.i)
      .map(({ name }) => name);
    expect(order).toEqual(byWhen);
    kind.dispose(loop);
  });

  it('callAt with a time in the past runs on the next turn', async () => {
    const loop = kind.make();
    const done = loop.createFuture<string>();
    loop.callAt(loop.time() - 10_000, () => done.setResult('past ran'));
    expect(await kind.drive(loop, done)).toBe('past ran');
    kind.dispose(loop);
  });

  it('a due timer joins the ready callbacks of the turn, after the callbacks already ready', async () => {
    const loop = kind.make();
    const { done, order, record } = counter(loop, 4);
    loop.callAt(loop.time() - 1, record, 'timer');
    loop.callSoon(record, 'soon1');
    loop.callSoon(() => {
      record('soon2');
      loop.callSoon(record, 'next turn');
    });
    await kind.drive(loop, done);
    expect(order).toEqual(['soon1', 'soon2', 'timer', 'next turn']);
    kind.dispose(loop);
  });

  it('a timer scheduled by a callback joins a later turn even when it is due at once', async () => {
    const loop = kind.make();
    const { done, order, record } = counter(loop, 3);
    const past = loop.time() - 100;
    loop.callAt(past, () => {
      record('first');
      // Due earlier than 'second', but scheduled during the turn: it runs on a later one.
      loop.callLater(-1000, record, 'scheduled by first');
    });
    loop.callAt(past, record, 'second');
    await kind.drive(loop, done);
    expect(order).toEqual(['first', 'second', 'scheduled by first']);
    kind.dispose(loop);
  });

  it('a cancelled timer does not run; cancelled() reports it and when() still answers', async () => {
    const loop = kind.make();
    const ran: string[] = [];
    const done = loop.createFuture<void>();
    const h = loop.callLater(1, () => ran.push('cancelled'));
    const when = h.when();
    expect(h.cancelled()).toBe(false);
    h.cancel();
    expect(h.cancelled()).toBe(true);
    expect(h.when()).toBe(when);
    loop.callLater(5, () => done.setResult());
    await kind.drive(loop, done);
    expect(ran).toEqual([]);
    kind.dispose(loop);
  });

  it('cancelling twice, after it ran, or from inside its own callback is harmless', async () => {
    const loop = kind.make();
    const done = loop.createFuture<void>();
    let self: TimerHandle | undefined;
    let ranSelf = 0;
    const twice = loop.callLater(1, () => {
      throw new Error('must not run');
    });
    twice.cancel();
    expect(() => twice.cancel()).not.toThrow();
    self = loop.callLater(1, () => {
      ranSelf++;
      self!.cancel();
      self!.cancel();
    });
    const ranAlready = loop.callLater(1, () => {});
    loop.callAt(Math.max(self.when(), ranAlready.when()) + 1, () => done.setResult());
    await kind.drive(loop, done);
    expect(ranSelf).toBe(1);
    expect(() => ranAlready.cancel()).not.toThrow();
    expect(() => ranAlready.cancel()).not.toThrow();
    kind.dispose(loop);
  });

  it('a timer cancelled by an earlier callback of the same turn does not run', async () => {
    const loop = kind.make();
    const ran: string[] = [];
    const done = loop.createFuture<void>();
    const past = loop.time() - 5;
    let victim: TimerHandle | undefined;
    loop.callAt(past, () => {
      ran.push('canceller');
      victim!.cancel();
    });
    victim = loop.callAt(past, () => ran.push('victim'));
    loop.callAt(past, () => done.setResult());
    await kind.drive(loop, done);
    expect(ran).toEqual(['canceller']);
    kind.dispose(loop);
  });

  it('cancelling the earliest timer lets the next one run', async () => {
    const loop = kind.make();
    const ran: string[] = [];
    const done = loop.createFuture<void>();
    const first = loop.callLater(0, () => ran.push('first'));
    loop.callLater(2, () => {
      ran.push('second');
      done.setResult();
    });
    first.cancel();
    await kind.drive(loop, done);
    expect(ran).toEqual(['second']);
    kind.dispose(loop);
  });

  it('keeps order and ties correct when most timers are cancelled (heap compaction)', async () => {
    const loop = kind.make();
    const base = loop.time() - 1000; // all due at once: the whole heap is drained in one turn
    const handles: { h: TimerHandle; offset: number; i: number }[] = [];
    const order: number[] = [];
    for (let i = 0; i < 900; i++) {
      const offset = (i * 7919) % 37; // many ties, scheduled out of order
      handles.push({ h: loop.callAt(base + offset, () => order.push(i)), offset, i });
    }
    // Cancel two thirds, spread across the heap.
    const live = handles.filter(({ h, i }) => {
      if (i % 3 !== 0) {
        h.cancel();
        return false;
      }
      return true;
    });
    // Cancelled ones, cancelled again after a compaction, stay harmless.
    for (const { h, i } of handles) if (i % 3 !== 0 && i % 5 === 0) h.cancel();
    const expected = [...live].sort((a, b) => a.offset - b.offset || a.i - b.i).map(({ i }) => i);
    const done = loop.createFuture<void>();
    loop.callAt(base + 40, () => done.setResult());
    await kind.drive(loop, done);
    expect(order).toEqual(expected);
    kind.dispose(loop);
  });

  it('keeps order correct when callbacks cancel many pending timers while the loop runs', async () => {
    const loop = kind.make();
    // A margin, so that the pending timers are still in the heap when the first turn cancels them.
    const start = loop.time() + 200;
    const order: number[] = [];
    const pending: { h: TimerHandle; offset: number; i: number }[] = [];
    for (let i = 0; i < 600; i++) {
      const offset = 2 + ((i * 31) % 15);
      pending.push({ h: loop.callAt(start + offset, () => order.push(i)), offset, i });
    }
    loop.callAt(start - 1000, () => {
      // Cancel five sixths of the pending timers from inside a callback, then add a few more.
      for (const { h, i } of pending) if (i % 6 !== 0) h.cancel();
      for (let j = 0; j < 10; j++) {
        const i = 1000 + j;
        const offset = 20 + ((j * 7) % 5); // ties among themselves, after all the originals
        pending.push({ h: loop.callAt(start + offset, () => order.push(i)), offset, i });
      }
    });
    const added = Array.from({ length: 10 }, (_, j) => ({ offset: 20 + ((j * 7) % 5), i: 1000 + j }));
    const expected = [...pending.filter(({ i }) => i % 6 === 0), ...added]
      .sort((a, b) => a.offset - b.offset || a.i - b.i)
      .map(({ i }) => i);
    const done = loop.createFuture<void>();
    loop.callAt(start + 40, () => done.setResult());
    await kind.drive(loop, done);
    expect(order).toEqual(expected);
    kind.dispose(loop);
  });

  it('after thousands of cancelled timers, new timers still run in order', async () => {
    const loop = kind.make();
    for (let round = 0; round < 3; round++) {
      const hs = Array.from({ length: 1000 }, (_, i) => loop.callLater(10_000 + i, () => {}));
      for (const h of hs) h.cancel();
    }
    const { done, order, record } = counter(loop, 3);
    const base = loop.time();
    loop.callAt(base + 3, record, 'c');
    loop.callAt(base + 1, record, 'b');
    loop.callAt(base - 1, record, 'a');
    await kind.drive(loop, done);
    expect(order).toEqual(['a', 'b', 'c']);
    kind.dispose(loop);
  });
});

describe('timer memory (child process with --expose-gc)', () => {
  it.each(['private', 'host'])('a cancelled %s-loop timer no longer holds its callback', (which) => {
    const r = runChild(
      `
      const loop = ${which === 'host' ? 'evloop.hostLoop()' : 'evloop.newEventLoop()'};
      const refs = [];
      // One function call per timer, so no closure shares a context with another's payload.
      function scheduleOne(delay, cancel) {
        const payload = { big: new Array(1000).fill(delay) };
        refs.push(new WeakRef(payload));
        const h = loop.callLater(delay, () => payload.big.length);
        if (cancel) h.cancel();
      }
      for (let i = 0; i < 200; i++) scheduleOne(3600e3 + i, i % 2 === 0 || i < 150);
      // One more cancelled far timer, last, after any compaction.
      scheduleOne(7200e3, true);
      let tries = 0;
      function check() {
        global.gc();
        const collected = refs.map((r) => r.deref() === undefined);
        const cancelled = collected.filter((c, i) => i === 200 || i % 2 === 0 || i < 150);
        const live = collected.filter((c, i) => !(i === 200 || i % 2 === 0 || i < 150));
        if (cancelled.every(Boolean) || ++tries > 20) {
          console.log(JSON.stringify({ cancelledCollected: cancelled.filter(Boolean).length, cancelled: cancelled.length, liveCollected: live.filter(Boolean).length }));
          process.exit(0);
        }
        setImmediate(check);
      }
      setImmediate(check);
    `,
      { args: ['--expose-gc'] },
    );
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout.trim());
    expect(result.cancelled).toBe(176);
    expect(result.cancelledCollected).toBe(176);
    // The live timers still hold theirs (the check can fail).
    expect(result.liveCollected).toBe(0);
  });

  it('a cancelled host-loop timer does not keep the process alive until its due time', () => {
    const r = runChild(`
      const h = evloop.hostLoop().callLater(3600e3, () => console.log('must not run'));
      h.cancel();
      process.on('exit', () => console.log('exited'));
    `);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('exited');
  });

  it('a pending host-loop timer runs before the process exits', () => {
    const r = runChild(`
      evloop.hostLoop().callLater(30, () => console.log('timer ran'));
    `);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('timer ran');
  });
});
