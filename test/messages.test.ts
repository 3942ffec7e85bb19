// Across threads: share() -> LoopRef, post(ref, value), onMessage(handler), callSoonThreadsafe,
// on the private and the host loop, from the same thread and from worker threads.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BOUND_MS, LOOP_KINDS, entry, evloop, runChild, type LoopKind } from './harness';
import type { EventLoop, LoopRef } from '../dist/cjs/index.js';

/** Starts a worker running `body` with `evloop`, `workerData` and `parentPort` in scope. */
function startWorker(body: string, workerData: Record<string, unknown>): Worker {
  return new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const evloop = require(${JSON.stringify(entry)});
     ${body}`,
    { eval: true, workerData },
  );
}

/** Waits (bounded) for a worker to exit; returns its exit code. */
function exited(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not exit')), BOUND_MS);
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Collects `n` values posted to `loop`, driving it the way `kind` does. */
async function collect(kind: LoopKind, loop: EventLoop, n: number, start?: () => void): Promise<unknown[]> {
  const values: unknown[] = [];
  const done = loop.createFuture<unknown[]>();
  loop.onMessage((v) => {
    values.push(v);
    if (values.length === n) done.setResult(values);
  });
  start?.();
  return kind.drive(loop, done);
}

function cloneError(value: unknown): unknown {
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(value);
  } catch (e) {
    return e;
  } finally {
    port1.close();
    port2.close();
  }
  return undefined;
}

describe.each(LOOP_KINDS)('$name loop: messages', (kind) => {
  it('share() returns a structured-cloneable LoopRef naming the loop', () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      expect(ref.evloop).toBe('loop');
      expect(typeof ref.id).toBe('number');
      expect(structuredClone(ref)).toEqual(ref);
      expect(loop.share()).toEqual(ref);
      if (kind.name === 'private') {
        const other = evloop.newEventLoop();
        expect(other.share().id).not.toBe(ref.id);
        other.close();
      }
    } finally {
      kind.dispose(loop);
    }
  });

  it('delivers a posted value on a later turn, not during post()', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const seen: unknown[] = [];
      let duringPost = false;
      const done = loop.createFuture<void>();
      loop.onMessage((v) => {
        seen.push(v);
        done.setResult();
      });
      loop.callSoon(() => {
        duringPost = true;
        evloop.post(ref, 'hello');
        duringPost = seen.length > 0;
      });
      await kind.drive(loop, done);
      expect(duringPost).toBe(false);
      expect(seen).toEqual(['hello']);
    } finally {
      loop.onMessage(null);
      kind.dispose(loop);
    }
  });

  it('delivers structured clones of rich values', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const value = {
        n: 1.5,
        s: 'text',
        big: 12345678901234567890n,
        date: new Date(1700000000000),
        map: new Map<unknown, unknown>([['k', [1, 2]]]),
        set: new Set(['a']),
        bytes: new Uint8Array([1, 2, 3]),
        f64: new Float64Array([0.25]),
        nested: { deep: [null, undefined, true] },
        error: new RangeError('bad range'),
      };
      const [got] = (await collect(kind, loop, 1, () => evloop.post(ref, value))) as [typeof value];
      expect(got).not.toBe(value);
      expect(got.n).toBe(1.5);
      expect(got.s).toBe('text');
      expect(got.big).toBe(12345678901234567890n);
      expect(got.date).toBeInstanceOf(Date);
      expect(got.date.getTime()).toBe(1700000000000);
      expect(got.map).toBeInstanceOf(Map);
      expect(got.map.get('k')).toEqual([1, 2]);
      expect(got.set.has('a')).toBe(true);
      expect(Array.from(got.bytes)).toEqual([1, 2, 3]);
      expect(got.f64).toBeInstanceOf(Float64Array);
      expect(got.f64[0]).toBe(0.25);
      expect(got.nested).toEqual({ deep: [null, undefined, true] });
      expect(got.error).toBeInstanceOf(RangeError);
      expect(got.error.message).toBe('bad range');
    } finally {
      loop.onMessage(null);
      kind.dispose(loop);
    }
  });

  // post() copies values as bytes (README, Limits): shared memory cannot go that way, and it
  // says so with the DataCloneError postMessage uses, delivering nothing.
  it('a SharedArrayBuffer is refused with a DataCloneError and nothing is delivered', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const seen: unknown[] = [];
      loop.onMessage((value) => seen.push(value));
      let error: unknown;
      try {
        evloop.post(ref, new SharedArrayBuffer(8));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DOMException);
      expect((error as DOMException).name).toBe('DataCloneError');
      expect((error as DOMException).message).toMatch(/shared memory/);
      const [got] = await collect(kind, loop, 1, () => evloop.post(ref, 'after'));
      expect(got).toBe('after');
      expect(seen).toEqual([]);
    } finally {
      loop.onMessage(null);
      kind.dispose(loop);
    }
  });

  it('values posted before a handler is set wait for one, then arrive in order', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      for (let i = 0; i < 5; i++) evloop.post(ref, i);
      // A few turns with no handler: nothing is lost.
      const idle = loop.createFuture<void>();
      loop.callLater(5, () => idle.setResult());
      await kind.drive(loop, idle);
      const values = await collect(kind, loop, 7, () => {
        evloop.post(ref, 5);
        evloop.post(ref, 6);
      });
      expect(values).toEqual([0, 1, 2, 3, 4, 5, 6]);
    } finally {
      loop.onMessage(null);
      kind.dispose(loop);
    }
  });

  it('onMessage(null) makes later values wait again; the next handler gets them', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const first = await collect(kind, loop, 1, () => evloop.post(ref, 'a'));
      expect(first).toEqual(['a']);
      loop.onMessage(null);
      evloop.post(ref, 'b');
      const idle = loop.createFuture<void>();
      loop.callLater(5, () => idle.setResult());
      await kind.drive(loop, idle);
      expect(await collect(kind, loop, 1)).toEqual(['b']);
    } finally {
      loop.onMessage(null);
      kind.dispose(loop);
    }
  });

  it('post of a non-cloneable value throws the DataCloneError postMessage throws, and delivers nothing', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const bad: unknown[] = [function notCloneable() {}, Symbol('s'), { method() {} }, new WeakMap(), Promise.resolve()];
      for (const value of bad) {
        const expected = cloneError(value) as DOMException;
        expect(expected).toBeDefined();
        let actual: unknown;
        try {
          evloop.post(ref, value);
        } catch (e) {
          actual = e;
        }
        expect(actual).toBeDefined();
        expect((actual as object).constructor.name).toBe(expected.constructor.name);
        expect((actual as DOMException).name).toBe(expected.name);
        expect((actual as DOMException).name).toBe('DataCloneError');
        expect((actual as DOMException).message).toBe(expected.message);
        expect((actual as DOMException).code).toBe(expected.code);
      }
      // Only what came after arrives.
      const values = await collect(kind, loop, 1, () => evloop.post(ref, 'after'));
      expect(values).toEqual(['after']);
      const extra = loop.createFuture<void>();
      loop.callLater(5, () => extra.setResult());
      await kind.drive(loop, extra);
      expect(values).toEqual(['after']);
    } finally {
      loop.onMessage(null);
      kind.dispose(loop);
    }
  });

  it('validates its arguments', () => {
    const loop = kind.make();
    try {
      for (const ref of [null, 5, {}, { evloop: 'pool', id: 1 }, { evloop: 'loop', id: 'x' }]) {
        expect(() => evloop.post(ref as unknown as LoopRef, 1)).toThrow(
          expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
        );
      }
      expect(() => loop.onMessage('nope' as unknown as () => void)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
      );
    } finally {
      kind.dispose(loop);
    }
  });

  it('an error thrown by the message handler goes to the exception handler and the loop goes on', async () => {
    const loop = kind.make();
    const previous = loop.getExceptionHandler();
    try {
      const ref = loop.share();
      const errors: string[] = [];
      loop.setExceptionHandler((_l, context) => errors.push((context.exception as Error).message));
      const values: unknown[] = [];
      const done = loop.createFuture<void>();
      loop.onMessage((v) => {
        values.push(v);
        if (v === 'boom') throw new Error('handler boom');
        if (v === 'last') done.setResult();
      });
      evloop.post(ref, 'boom');
      evloop.post(ref, 'last');
      await kind.drive(loop, done);
      expect(values).toEqual(['boom', 'last']);
      expect(errors).toEqual(['handler boom']);
    } finally {
      loop.setExceptionHandler(previous);
      loop.onMessage(null);
      kind.dispose(loop);
    }
  });

  it('a worker posts through a LoopRef sent by workerData: each value once, in posting order', async () => {
    const loop = kind.make();
    const ref = loop.share();
    const N = 2000;
    const worker = startWorker(
      `for (let i = 0; i < workerData.n; i++) evloop.post(workerData.ref, { i, from: 'w' });`,
      { ref, n: N },
    );
    try {
      const values = (await collect(kind, loop, N)) as { i: number }[];
      expect(values.map((v) => v.i)).toEqual(Array.from({ length: N }, (_, i) => i));
      // Nothing more comes: delivered once each.
      expect(await exited(worker)).toBe(0);
      const extra = loop.createFuture<void>();
      loop.callLater(5, () => extra.setResult());
      await kind.drive(loop, extra);
      expect(values).toHaveLength(N);
    } finally {
      loop.onMessage(null);
      await worker.terminate();
      kind.dispose(loop);
    }
  });

  it('a LoopRef sent by postMessage works; two senders each arrive in their own order', async () => {
    const loop = kind.make();
    const N = 500;
    const workers = [0, 1].map((w) =>
      startWorker(
        `parentPort.once('message', (ref) => {
           for (let i = 0; i < workerData.n; i++) evloop.post(ref, [workerData.w, i]);
         });`,
        { n: N, w },
      ),
    );
    try {
      const values = (await collect(kind, loop, 2 * N, () => {
        for (const worker of workers) worker.postMessage(loop.share());
      })) as [number, number][];
      for (const w of [0, 1]) {
        expect(values.filter((v) => v[0] === w).map((v) => v[1])).toEqual(Array.from({ length: N }, (_, i) => i));
      }
    } finally {
      loop.onMessage(null);
      await Promise.all(workers.map((w) => w.terminate()));
      kind.dispose(loop);
    }
  });

  it('a worker can post to its own loop and to a loop of another worker', async () => {
    const loop = kind.make();
    const ref = loop.share();
    // Worker A runs a private loop; it starts worker B with its own LoopRef; B posts to A's loop;
    // A forwards what it saw to this loop.
    const a = startWorker(
      `const { Worker } = require('node:worker_threads');
       const mine = evloop.newEventLoop();
       const got = mine.createFuture();
       const seen = [];
       mine.onMessage((v) => { seen.push(v); if (seen.length === 3) got.setResult(); });
       evloop.post(mine.share(), 'self');
       const b = new Worker(
         "const { workerData } = require('node:worker_threads');" +
         "const evloop = require(workerData.entry);" +
         "evloop.post(workerData.refA, 'b1'); evloop.post(workerData.refA, 'b2');",
         { eval: true, workerData: { entry: ${JSON.stringify(entry)}, refA: mine.share() } });
       mine.callLater(${BOUND_MS}, () => mine.stop());
       mine.runUntilComplete(got);
       evloop.post(workerData.ref, seen);
       mine.close();`,
      { ref },
    );
    try {
      const values = await collect(kind, loop, 1);
      expect(values).toEqual([['self', 'b1', 'b2']]);
    } finally {
      loop.onMessage(null);
      await a.terminate();
      kind.dispose(loop);
    }
  });

  it('callSoonThreadsafe schedules like callSoon (FIFO with it) and returns a cancellable Handle', async () => {
    const loop = kind.make();
    try {
      const order: string[] = [];
      const done = loop.createFuture<void>();
      loop.callSoon(() => order.push('soon 1'));
      const h = loop.callSoonThreadsafe((x: string) => order.push(x), 'threadsafe');
      expect(h).toBeInstanceOf(evloop.Handle);
      loop.callSoonThreadsafe(() => order.push('cancelled')).cancel();
      loop.callSoon(() => order.push('soon 2'));
      loop.callSoon(() => done.setResult());
      await kind.drive(loop, done);
      expect(order).toEqual(['soon 1', 'threadsafe', 'soon 2']);
    } finally {
      kind.dispose(loop);
    }
  });
});

describe('host loop: messages', () => {
  it('callSoonThreadsafe from a Node.js callback runs on the host loop', async () => {
    const loop = evloop.hostLoop();
    const done = loop.createFuture<string>();
    setTimeout(() => loop.callSoonThreadsafe((v: string) => done.setResult(v), 'from a timer'), 1);
    expect(await evloop.waitFor(done, BOUND_MS)).toBe('from a timer');
  });
});

describe('host loop: messages at exit', () => {
  // The host loop does not keep Node's loop alive for messages: a process (or a worker) may end
  // with one still in the host loop's inbox. Whether it is delivered is not this test's point;
  // ending must not crash.
  it('a process that ends with a message pending for its host loop exits cleanly', () => {
    const r = runChild(`
      const loop = evloop.hostLoop();
      loop.onMessage(() => {});
      evloop.post(loop.share(), 'pending at exit');
    `);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a worker that ends with a message pending for its host loop exits cleanly', () => {
    const r = runChild(`
      const { Worker } = require('node:worker_threads');
      const w = new Worker(\`
        const evloop = require(${JSON.stringify(entry)});
        const loop = evloop.hostLoop();
        loop.onMessage(() => {});
        evloop.post(loop.share(), 'pending at exit');
      \`, { eval: true });
      w.on('exit', (code) => console.log('worker exit', code));
    `);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('worker exit 0');
    expect(r.status).toBe(0);
  });
});

describe('private loop: messages', () => {
  it('a post from a worker wakes the loop blocked in its wait (nothing else scheduled)', () => {
    const loop = evloop.newEventLoop();
    const ref = loop.share();
    let worker: Worker | undefined;
    try {
      const got = loop.createFuture<unknown>();
      loop.onMessage((v) => got.setResult(v));
      // The worker starts posting only once the loop is blocked: it waits on a shared flag that
      // the loop's last callback before blocking sets.
      const flag = new Int32Array(new SharedArrayBuffer(4));
      worker = startWorker(
        `const flag = new Int32Array(workerData.sab);
         Atomics.wait(flag, 0, 0, ${BOUND_MS});
         evloop.post(workerData.ref, 'woken');`,
        { ref, sab: flag.buffer },
      );
      loop.callSoon(() => {
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      });
      // No timer: only the other thread can complete it (share() keeps it from ERR_LOOP_STALLED).
      expect(loop.runUntilComplete(got)).toBe('woken');
    } finally {
      loop.close();
      void worker?.terminate();
    }
  });

  it('ERR_LOOP_CLOSED from post once the loop is closed, from this thread and from a worker', async () => {
    const loop = evloop.newEventLoop();
    const ref = loop.share();
    loop.close();
    let error: unknown;
    try {
      evloop.post(ref, 1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(evloop.EvloopError);
    expect((error as { code: string }).code).toBe('ERR_LOOP_CLOSED');
    expect(() => loop.share()).toThrow(expect.objectContaining({ code: 'ERR_LOOP_CLOSED' }));
    expect(() => loop.callSoonThreadsafe(() => {})).toThrow(expect.objectContaining({ code: 'ERR_LOOP_CLOSED' }));

    const worker = startWorker(
      `let code = 'none';
       try { evloop.post(workerData.ref, 1); } catch (e) { code = e.code + ':' + (e instanceof evloop.EvloopError); }
       parentPort.postMessage(code);`,
      { ref },
    );
    const code = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer')), BOUND_MS);
      worker.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(code).toBe('ERR_LOOP_CLOSED:true');
  });

  it('a loop in a worker: the main thread posts to it while it is blocked', async () => {
    const worker = startWorker(
      `const loop = evloop.newEventLoop();
       const got = loop.createFuture();
       const seen = [];
       loop.onMessage((v) => { seen.push(v); if (v === 'end') got.setResult(seen); });
       parentPort.postMessage(loop.share());
       loop.callLater(${BOUND_MS}, () => loop.stop());
       parentPort.postMessage(loop.runUntilComplete(got));
       loop.close();`,
      {},
    );
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer')), BOUND_MS);
        worker.on('error', reject);
        worker.on('message', (m: unknown) => {
          if (m !== null && typeof m === 'object' && (m as LoopRef).evloop === 'loop') {
            for (let i = 0; i < 100; i++) evloop.post(m as LoopRef, i);
            evloop.post(m as LoopRef, 'end');
          } else {
            clearTimeout(timer);
            resolve(m);
          }
        });
      });
      expect(result).toEqual([...Array.from({ length: 100 }, (_, i) => i), 'end']);
    } finally {
      await worker.terminate();
    }
  });

  it('no crash and no leak when the loop thread exits with messages pending', () => {
    // Each round: a worker shares a loop and exits (closing it, or not, or terminated while
    // blocked); 48 MiB posted to it stay pending. The allocator keeps some freed memory (it
    // levels off within a few rounds), so growth is measured after 3 warm-up rounds (one of each
    // kind): leaked, the 4 rounds after them would hold 192 MiB more.
    const r = runChild(
      `
      const { Worker } = require('node:worker_threads');
      const entry = ${JSON.stringify(entry)};
      const big = new Uint8Array(1 << 20);
      const sab = new SharedArrayBuffer(4);
      const flag = new Int32Array(sab);
      let closedAfter = 0;
      setTimeout(() => { console.error('not done in time'); process.exit(2); }, 50000).unref();
      const { MessageChannel } = require('node:worker_threads');
      const { once } = require('node:events');
      async function main() {
        let before = 0;
        const t0 = Date.now();
        for (let i = 0; i < 7; i++) {
          if (i === 3) before = process.memoryUsage().rss;
          const mode = ['close', 'exit', 'terminate'][i % 3];
          Atomics.store(flag, 0, 0);
          const { port1, port2 } = new MessageChannel();
          const w = new Worker(\`
            const { workerData } = require('node:worker_threads');
            const evloop = require(workerData.entry);
            const loop = evloop.newEventLoop();
            const flag = new Int32Array(workerData.sab);
            workerData.port.postMessage(loop.share());
            Atomics.wait(flag, 0, 0, 10000);
            if (workerData.mode === 'close') loop.close();
            if (workerData.mode === 'terminate') loop.runForever();
          \`, { eval: true, workerData: { entry, sab, mode, port: port2 }, transferList: [port2] });
          const [ref] = await once(port1, 'message');
          for (let k = 0; k < 48; k++) evloop.post(ref, big);
          Atomics.store(flag, 0, 1);
          Atomics.notify(flag, 0);
          if (mode === 'terminate') {
            // Blocked in runForever with the messages delivered to no handler: terminate it.
            await w.terminate();
          } else {
            await new Promise((resolve) => w.once('exit', resolve));
          }
          port1.close();
          try { evloop.post(ref, 1); } catch (e) { if (e.code === 'ERR_LOOP_CLOSED') closedAfter++; }
        }
        if (global.gc) global.gc();
        const grown = (process.memoryUsage().rss - before) / (1 << 20);
        console.log(JSON.stringify({ grownMiB: Math.round(grown), closedAfter, ms: Date.now() - t0 }));
      }
      main().catch((e) => { console.error(e); process.exit(1); });
      `,
      { timeoutMs: 60_000, args: ['--expose-gc'] },
    );
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    console.log('pending-messages leak check:', out);
    expect(out.closedAfter).toBe(7);
    expect(out.grownMiB).toBeLessThan(96);
  });
});
