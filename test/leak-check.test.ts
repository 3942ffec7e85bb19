// Leak invariants across many operations (issue 7), as uvloop checks after each test: once this
// file's loops are closed and its executors shut down, no descriptor, thread or native handle of
// evloop's is left in THIS process (a vitest worker that runs only this file), counted in
// /proc/self/fd and /proc/self/task against a baseline taken after a warm-up, and the host loop's
// bookkeeping is empty again. test/leaks.test.ts checks single scenarios in fresh children; here
// each test repeats its operations thousands of times in one long-lived process, so that a leak
// of one descriptor, thread, handle or map entry per operation cannot hide in noise, and the
// check after every test (afterEach) catches what one test leaves for the next.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { entry, evloop } from './harness';
import type { EventLoop, Future, ThreadPoolExecutor } from '../dist/cjs/index.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const { newEventLoop, hostLoop, tasks, post, sleep, gather } = evloop;

// ---- what this process holds ---------------------------------------------------------------------

const { fds, threads, threadNames, pipeFd } = createRequire(__filename)('./fixtures/safety-probe.cjs') as {
  fds(): number;
  threads(): number;
  threadNames(): string[];
  /** a descriptor epoll accepts: a FIFO opened read-write, non-blocking (always writable) */
  pipeFd(): number;
};

/**
 * Node's own active handles and requests, by kind. Timeout and Immediate are left out: vitest's
 * own hook timers come and go; the host loop's (its only ones) are checked in hostState().
 */
function nodeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind !== 'Timeout' && kind !== 'Immediate') counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

async function until(predicate: () => boolean, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

/** Drives `future` on a private loop, bounded: the loop stops if it is not done in time. */
function drive<T>(loop: EventLoop, future: Future<T>, ms = 60_000): T {
  const guard = loop.callLater(ms, () => loop.stop());
  try {
    return loop.runUntilComplete(future);
  } finally {
    guard.cancel();
  }
}

// ---- the baseline and the check after each test ---------------------------------------------

let base: { fds: number; threads: number; resources: Record<string, number> };
const openFds: number[] = [];

/** The host loop's bookkeeping (internal fields): nothing pending, armed or referenced. */
function hostState(): Record<string, unknown> {
  const host = hostLoop() as any;
  return {
    pending: host._pending.size,
    drainWaiters: host._drainWaiters.size,
    readers: host._readers.size,
    writers: host._writers.size,
    signalHandlers: host._signalHandlers.size,
    liveTimers: host._liveTimers(),
    heldTimers: host._timers.length, // cancelled ones must not be held either
    ready: host._ready.isEmpty() ? 0 : 1,
    nodeTimer: host._nodeTimer === null ? 0 : 1,
    immediate: host._immediate === null ? 0 : 1,
    referenced: host._referenced,
  };
}
const HOST_IDLE = {
  pending: 0,
  drainWaiters: 0,
  readers: 0,
  writers: 0,
  signalHandlers: 0,
  liveTimers: 0,
  heldTimers: 0,
  ready: 0,
  nodeTimer: 0,
  immediate: 0,
  referenced: false,
};

beforeAll(async () => {
  // What the first use creates once per process: the addon, the host loop (its native loop's
  // descriptors stay for the life of the thread), libuv's own pool (fs.promises), a worker.
  await fs.promises.readFile(__filename);
  const warm = newEventLoop();
  warm.callLater(1, () => warm.stop());
  warm.runForever();
  warm.close();
  const host = hostLoop();
  await new Promise<void>((resolve) => host.callSoon(resolve));
  const before = threads();
  const executor = new evloop.ThreadPoolExecutor({ name: 'lcwarm', maxWorkers: 1, idleTimeout: 10 });
  await executor.submit(tasks.sleep, 1);
  await executor.submit((x: number) => x, 1);
  await executor.shutdown();
  await until(() => threads() <= before);
  await new Promise((resolve) => setTimeout(resolve, 50));
  base = { fds: fds(), threads: threads(), resources: nodeResources() };
});

afterEach(async () => {
  for (const fd of openFds.splice(0)) fs.closeSync(fd);
  evloop.setEventLoop(null);
  // Pool threads (native and JavaScript) leave asynchronously once their pool is shut down.
  // The host loop may still have one turn to run (an immediate armed before its last batch).
  const idle = JSON.stringify(HOST_IDLE);
  const settled = await until(
    () => fds() === base.fds && threads() <= base.threads && !threadNames().some((n) => n.startsWith('lc')) && JSON.stringify(hostState()) === idle,
  );
  const now = { fds: fds(), threads: Math.max(base.threads, threads()), evloopThreads: threadNames().filter((n) => n.startsWith('lc')) };
  expect({ settled, ...now }).toEqual({ settled: true, fds: base.fds, threads: base.threads, evloopThreads: [] });
  expect(hostState()).toEqual(HOST_IDLE);
  expect(nodeResources()).toEqual(base.resources);
});

afterAll(() => {
  // Printed for the record: what the whole file did without a trace.
  console.log(`leak-check: baseline ${base.fds} fds, ${base.threads} threads; held after every test`);
});

function fifo(): number {
  const fd = pipeFd();
  openFds.push(fd);
  return fd;
}

// ---- private loops ---------------------------------------------------------------------------------

describe('private loops', () => {
  it('3,000 loops armed with everything (timers, callbacks, reader and writer, signal handlers, a share and a post) and closed: nothing stays, nothing accumulates', () => {
    const fd = fifo();
    const samples: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const loop = newEventLoop();
      loop.callSoon(() => {});
      loop.callLater(600_000, () => {});
      loop.callLater(-1, () => {}).cancel();
      loop.addReader(fd, () => {});
      loop.addWriter(fd, () => {});
      loop.addSignalHandler('SIGWINCH', () => {});
      if (i % 2 === 0) loop.addSignalHandler('SIGUSR2', () => {});
      loop.createFuture();
      const ref = loop.share();
      post(ref, { i });
      loop.onMessage(() => {});
      if (i % 3 === 0) {
        loop.stop();
        loop.runForever(); // one turn: the watchers are registered, the post delivered
      }
      loop.close();
      if (i % 250 === 0) samples.push(fds() - base.fds);
    }
    // Only the FIFO of this test is held, at every sample.
    expect(new Set(samples)).toEqual(new Set([1]));
  });

  it('2,000 loops dropped without close() (armed) are reclaimed by the collector', async () => {
    // The collector, without --expose-gc on vitest's command line: a context made after the flag
    // is set has gc().
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const fd = fifo();
    // Made in a plain function: a suspended async function keeps its registers, and with them
    // the last loop it made, alive until it resumes (V8's doing, not a leak).
    const drop = (count: number): void => {
      for (let i = 0; i < count; i++) {
        const loop = newEventLoop();
        loop.callLater(600_000, () => {});
        loop.addReader(fd, () => {});
        loop.addSignalHandler('SIGWINCH', () => {});
        post(loop.share(), i);
      }
    };
    let peak = 0;
    for (let round = 0; round < 20; round++) {
      drop(100);
      peak = Math.max(peak, fds() - base.fds);
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    const freed = await until(() => {
      gc();
      return fds() === base.fds + 1;
    });
    expect({ freed, left: fds() - base.fds - 1 }).toEqual({ freed: true, left: 0 });
    expect(peak).toBeGreaterThan(100); // they did hold descriptors until collected
  });

  it('1,000 blocking runs with timers, a ready descriptor, a signal, posted messages and pool work, each loop closed', () => {
    const fd = fifo();
    fs.writeSync(fd, 'x'); // readable from now on
    const executor = new evloop.ThreadPoolExecutor({ name: 'lcruns', maxWorkers: 2 });
    let reads = 0;
    let signals = 0;
    let messages = 0;
    let pooled = 0;
    for (let i = 0; i < 1000; i++) {
      const loop = newEventLoop();
      evloop.setEventLoop(loop);
      loop.addReader(fd, () => {
        reads++;
        loop.removeReader(fd);
      });
      if (i % 10 === 0) {
        loop.addSignalHandler('SIGWINCH', () => {
          signals++;
          loop.removeSignalHandler('SIGWINCH');
        });
        loop.callSoon(() => process.kill(process.pid, 'SIGWINCH'));
      }
      loop.onMessage(() => messages++);
      post(loop.share(), i);
      const work = loop.runInExecutor(executor, tasks.sleep, 0);
      work.addDoneCallback(() => pooled++);
      const cancelled = loop.runInExecutor(executor, tasks.sleep, 0);
      cancelled.cancel();
      drive(
        loop,
        loop.createTask(
          (function* () {
            yield sleep(0);
            yield work;
            while (reads <= i || (i % 10 === 0 && signals <= i / 10)) yield sleep(1);
          })(),
        ),
      );
      loop.close();
    }
    void executor.shutdown({ wait: false });
    expect({ reads, signals, messages, pooled }).toEqual({ reads: 1000, signals: 100, messages: 1000, pooled: 1000 });
    const stats = executor.stats();
    expect(stats.completed + stats.failed + stats.cancelled).toBeGreaterThanOrEqual(1000);
  });

  it('2,000 run() calls, each leaving tasks, timers and its own default executor behind for run() to clean up', () => {
    let ran = 0;
    for (let i = 0; i < 2000; i++) {
      const value = evloop.run(
        (function* () {
          const loop = evloop.getRunningLoop();
          if (i % 100 === 0) loop.setDefaultExecutor(new evloop.ThreadPoolExecutor({ name: 'lcrun', maxWorkers: 1 }));
          loop.callLater(600_000, () => {});
          loop.createTask((function* () { yield sleep(600_000); })());
          if (i % 100 === 0) yield loop.runInExecutor(null, tasks.sleep, 0);
          return yield sleep(0, i);
        })(),
      );
      if (value === i) ran++;
    }
    expect(ran).toBe(2000);
  });
});

// ---- executors -----------------------------------------------------------------------------------

describe('executors', () => {
  it('300 executors used for native work and shut down: every thread named after them leaves', async () => {
    const loop = newEventLoop();
    let results = 0;
    const shutdowns: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      const executor = new evloop.ThreadPoolExecutor({ name: `lcnat${i % 10}`, maxWorkers: 1 + (i % 4) });
      const futures = [];
      for (let j = 0; j < 8; j++) futures.push(loop.runInExecutor(executor, j % 2 ? tasks.sleep : tasks.digest, ...(j % 2 ? [0] : ['sha1', 'x'])));
      futures.push(loop.runInExecutor(executor, tasks.sleep, 50)); // still queued or running at shutdown
      results += (drive(loop, gather(futures.slice(0, 8))) as unknown[]).length;
      shutdowns.push(executor.shutdown({ wait: i % 2 === 0, cancelFutures: i % 3 === 0 }));
      if (i % 3 === 0) drive(loop, gather([futures[8]], { returnExceptions: true }));
    }
    loop.close();
    await Promise.all(shutdowns);
    expect(results).toBe(2400);
  });

  it('30 executors running JavaScript work, shut down: their JavaScript pool threads leave too', async () => {
    let sum = 0;
    for (let i = 0; i < 30; i++) {
      const executor = new evloop.ThreadPoolExecutor({ name: `lcjs${i}`, maxWorkers: 1 + (i % 2) });
      const host = hostLoop();
      const values = await Promise.all([1, 2, 3].map((x) => host.runInExecutor(executor, (y: number) => y * 2, x)));
      sum += values.reduce((a: number, b) => a + (b as number), 0);
      await executor.shutdown();
    }
    expect(sum).toBe(30 * 12);
  });

  it('idle threads leave after idleTimeout without a shutdown, again and again', async () => {
    const executor: ThreadPoolExecutor = new evloop.ThreadPoolExecutor({ name: 'lcidle', maxWorkers: 3, idleTimeout: 20 });
    const host = hostLoop();
    for (let round = 0; round < 10; round++) {
      await Promise.all([0, 1, 2].map(() => host.runInExecutor(executor, tasks.sleep, 1)));
      if (round % 3 === 0) await host.runInExecutor(executor, (x: number) => x, round);
      expect(await until(() => !threadNames().some((n) => n.startsWith('lcidle')))).toBe(true);
      expect(executor.stats().threads).toBe(0);
    }
    await executor.shutdown();
  });
});

// ---- the host loop -------------------------------------------------------------------------------

describe('the host loop', () => {
  it('5,000 rounds of watchers, signal handlers, timers and callbacks leave its bookkeeping empty and Node as it was', async () => {
    const host = hostLoop();
    const fd = fifo();
    let callbacks = 0;
    for (let i = 0; i < 5000; i++) {
      host.addReader(fd, () => {});
      host.addWriter(fd, () => {});
      expect(host.removeReader(fd)).toBe(true);
      expect(host.removeWriter(fd)).toBe(true);
      if (i % 10 === 0) {
        host.addSignalHandler('SIGWINCH', () => {});
        host.removeSignalHandler('SIGWINCH');
      }
      host.callLater(600_000 + i, () => {}).cancel();
      host.callSoon(() => callbacks++);
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => callbacks === 5000);
    expect(callbacks).toBe(5000);
  });

  it('10,000 pool futures awaited and cancelled on the host loop: none stays pending, nothing keeps Node alive', async () => {
    const host = hostLoop();
    const executor = new evloop.ThreadPoolExecutor({ name: 'lchost', maxWorkers: 4 });
    let done = 0;
    let cancelled = 0;
    for (let round = 0; round < 10; round++) {
      const futures: Future<unknown>[] = [];
      for (let i = 0; i < 1000; i++) {
        const future = host.runInExecutor(executor, tasks.sleep, 0);
        if (i % 4 === 0 && future.cancel()) cancelled++;
        futures.push(future);
      }
      const outcomes = await Promise.allSettled(futures);
      done += outcomes.filter((o) => o.status === 'fulfilled').length;
    }
    await executor.shutdown();
    const stats = executor.stats();
    expect(done + cancelled).toBe(10_000);
    // Every submit accounted for by the pool: run, failed, or taken off its queue by cancel().
    expect(stats.completed + stats.failed + stats.cancelled).toBe(10_000);
    expect(stats.completed).toBe(done + (cancelled - stats.cancelled));
  });

  it('1,000 sleeps, waitFor timeouts and shields on the host loop leave no timer behind', async () => {
    const host = hostLoop();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) => {
        if (i % 3 === 0) return evloop.waitFor(sleep(60_000), 1);
        if (i % 3 === 1) return evloop.shield(sleep(1, i));
        const s = sleep(60_000);
        host.callSoon(() => s.cancel());
        return s;
      }),
    );
    expect(outcomes.filter((o) => o.status === 'rejected').length).toBe(667);
  });
});

// ---- worker threads -------------------------------------------------------------------------------

describe('worker threads', () => {
  const workerSource = `
    const { parentPort, workerData } = require('node:worker_threads');
    const evloop = require(${JSON.stringify(entry)});
    const loops = [];
    for (let i = 0; i < 50; i++) {
      const loop = evloop.newEventLoop();
      loop.callLater(600000, () => {});
      loop.addReader(workerData.fd, () => {});
      loop.addSignalHandler('SIGWINCH', () => {});
      loops.push(loop);
    }
    for (const loop of loops.slice(0, 25)) loop.close(); // the rest: freed when the worker ends
    const loop = loops[25];
    loop.onMessage((m) => { if (m === 'stop') loop.stop(); });
    evloop.post(workerData.ref, loop.share());
    if (workerData.block) loop.runForever();
  `;

  it('40 workers, each with 50 armed loops, ending by themselves or terminated while blocked: all freed', async () => {
    const fd = fifo();
    const main = newEventLoop();
    const refs: unknown[] = [];
    main.onMessage((ref) => refs.push(ref));
    for (let i = 0; i < 40; i++) {
      const block = i % 2 === 1;
      const worker = new Worker(workerSource, { eval: true, workerData: { fd, ref: main.share(), block } });
      const exited = new Promise<number>((resolve) => worker.on('exit', resolve));
      // The worker's ref arrives through the main loop (a blocking wait on the main thread).
      const before = refs.length;
      const guard = main.callLater(30_000, () => main.stop());
      const poll = (): void => {
        if (refs.length > before) main.stop();
        else main.callLater(2, poll);
      };
      main.callSoon(poll);
      main.runForever();
      guard.cancel();
      expect(refs.length).toBe(before + 1);
      if (block && i % 4 === 1) post(refs[before] as any, 'stop');
      else if (block) await worker.terminate();
      await exited;
    }
    main.close();
  });
});
