// ThreadPoolExecutor (api.md, Executors): options and their validation, on-demand threads and
// idle exit, resize, maxQueue, thread names, stats(), submit/map/runInExecutor, the default
// executor, shutdown, cancellation, Symbol.asyncDispose, AsyncLocalStorage and keep-alive rules.
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BOUND_MS, LOOP_KINDS, evloop, runChild, type LoopKind } from './harness';
import type { EventLoop, Future } from '../dist/cjs/index.js';
import { FifoGate, Gate, gated, pollUntil, pool, releaseLoop, settle, settleAll, shutdownAll, threadNames, useLoop } from './fixtures/pool-helpers';

const { ThreadPoolExecutor, tasks, EvloopError, CancelledError } = evloop;

const STATS_KEYS = ['maxWorkers', 'threads', 'idle', 'queued', 'running', 'completed', 'failed', 'cancelled'];

function expectCode(fn: () => unknown, type: Function, code: string): void {
  let thrown: any;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected ${type.name} ${code}`).toBeInstanceOf(type);
  expect(thrown.code).toBe(code);
}

afterEach(() => {
  shutdownAll();
});

// ---- options, validation, stats shape: no loop involved ---------------------------------------

describe('ThreadPoolExecutor options', () => {
  it('maxWorkers defaults to min(32, availableParallelism() + 4)', () => {
    const ex = pool();
    expect(ex.stats().maxWorkers).toBe(Math.min(32, availableParallelism() + 4));
  });

  it('takes maxWorkers as given', () => {
    expect(pool({ maxWorkers: 1 }).stats().maxWorkers).toBe(1);
    expect(pool({ maxWorkers: 7 }).stats().maxWorkers).toBe(7);
    expect(pool({ maxWorkers: 100 }).stats().maxWorkers).toBe(100);
  });

  it('a new pool has no threads and nothing counted; stats() has exactly the documented fields', () => {
    const stats = pool({ maxWorkers: 3 }).stats();
    expect(Object.keys(stats).sort()).toEqual([...STATS_KEYS].sort());
    expect(stats).toEqual({ maxWorkers: 3, threads: 0, idle: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
  });

  it('accepts every documented option together, and maxQueue Infinity, idleTimeout 0', () => {
    expect(() => pool({ maxWorkers: 2, name: 'opts', maxQueue: 10, idleTimeout: 500 })).not.toThrow();
    expect(() => pool({ maxQueue: Infinity })).not.toThrow();
    expect(() => pool({ idleTimeout: 0 })).not.toThrow();
    expect(() => pool({})).not.toThrow();
    expect(() => pool(undefined)).not.toThrow();
  });

  it.each([
    ['maxWorkers 0', { maxWorkers: 0 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['maxWorkers -1', { maxWorkers: -1 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['maxWorkers 1.5', { maxWorkers: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['maxWorkers NaN', { maxWorkers: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['maxWorkers Infinity', { maxWorkers: Infinity }, RangeError, 'ERR_OUT_OF_RANGE'],
    ["maxWorkers '2'", { maxWorkers: '2' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['name 5', { name: 5 }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['maxQueue 0', { maxQueue: 0 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['maxQueue -3', { maxQueue: -3 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['maxQueue 2.5', { maxQueue: 2.5 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['maxQueue NaN', { maxQueue: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    ["maxQueue '1'", { maxQueue: '1' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['idleTimeout -1', { idleTimeout: -1 }, RangeError, 'ERR_OUT_OF_RANGE'],
    ['idleTimeout NaN', { idleTimeout: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    ["idleTimeout '5'", { idleTimeout: '5' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
  ])('rejects %s', (_label, options, type, code) => {
    expectCode(() => new ThreadPoolExecutor(options as any), type, code);
  });

  it.each([[5], ['x'], [null], [true]])('rejects options %s that is not an object', (options) => {
    expectCode(() => new ThreadPoolExecutor(options as any), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('resize validates its argument like maxWorkers', () => {
    const ex = pool({ maxWorkers: 2 });
    expectCode(() => ex.resize(0), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => ex.resize(-2), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => ex.resize(2.5), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => ex.resize(NaN), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => ex.resize('3' as any), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => (ex.resize as any)(), TypeError, 'ERR_INVALID_ARG_TYPE');
    expect(ex.stats().maxWorkers).toBe(2);
    ex.resize(5);
    expect(ex.stats().maxWorkers).toBe(5);
  });

  it('submit of something that is no function, task or moduleTask is a TypeError, and counts nothing', () => {
    const ex = pool({ maxWorkers: 1 });
    for (const fn of [42, 'fn', null, undefined, {}, [1]]) {
      expectCode(() => ex.submit(fn as any), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
    expect(ex.stats()).toMatchObject({ threads: 0, queued: 0, running: 0 });
  });

  it('map of a non-iterable is a TypeError', () => {
    const ex = pool({ maxWorkers: 1 });
    for (const items of [5, null, undefined, {}]) {
      expectCode(() => ex.map((x: unknown) => x, items as any), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
  });

  it('shutdown validates its options', () => {
    const ex = pool({ maxWorkers: 1 });
    expect(() => ex.shutdown({ wait: 'yes' } as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => ex.shutdown({ cancelFutures: 1 } as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => ex.shutdown(7 as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('fromShared rejects what is not a SharedExecutor', () => {
    for (const ref of [null, 5, {}, { evloop: 'loop', id: 1 }, { evloop: 'executor' }]) {
      expectCode(() => ThreadPoolExecutor.fromShared(ref as any), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
  });

  it('share() is structured-cloneable and fromShared() in the same thread reaches the same pool', async () => {
    const ex = pool({ maxWorkers: 2 });
    const ref = structuredClone(ex.share());
    const again = ThreadPoolExecutor.fromShared(ref);
    expect(again).toBeInstanceOf(ThreadPoolExecutor);
    expect(await again.submit(tasks.digest, 'md5', 'x')).toBeInstanceOf(Buffer);
    expect(ex.stats().completed).toBe(1);
  });

  it('an Executor that is not a ThreadPoolExecutor is accepted by runInExecutor (host loop)', async () => {
    const calls: unknown[][] = [];
    const custom = {
      submit: <T>(fn: unknown, ...args: unknown[]): Promise<T> => {
        calls.push(args);
        return Promise.resolve((fn as (...a: unknown[]) => T)(...args));
      },
      shutdown: async () => {},
    };
    const f = evloop.hostLoop().runInExecutor(custom, (a: number, b: number) => a * b, 6, 7);
    expect(f).toBeInstanceOf(evloop.Future);
    expect(await f).toBe(42);
    expect(calls).toEqual([[6, 7]]);
  });

  it('runInExecutor with something that is no Executor is a TypeError', () => {
    const host = evloop.hostLoop();
    expectCode(() => host.runInExecutor({} as any, () => 1), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => host.runInExecutor(5 as any, () => 1), TypeError, 'ERR_INVALID_ARG_TYPE');
  });
});

// ---- run() and the default executor (before the host loop's default is changed below) ---------

describe('run() and the default executor', () => {
  it("run() shuts down the loop's own default executor, after its work", () => {
    const ex = pool({ maxWorkers: 1 });
    const value = evloop.run(function* () {
      const loop = evloop.getRunningLoop();
      loop.setDefaultExecutor(ex);
      const digest = (yield loop.runInExecutor(null, tasks.digest, 'md5', 'run')) as Buffer;
      return digest.toString('hex');
    });
    expect(value).toBe(tasks.digest('md5', 'run').toString('hex'));
    expect(ex.stats().completed).toBe(1);
    expectCode(() => ex.submit(tasks.sleep, 1), EvloopError, 'ERR_EXECUTOR_SHUTDOWN');
  });

  it('run() on the shared default pool waits for its own work only and leaves the pool to others', () => {
    const fifo = new FifoGate(1);
    const other = evloop.newEventLoop();
    try {
      const theirs = other.runInExecutor<Buffer>(null, tasks.readFile, fifo.path(0));
      let mine: Future<unknown> | undefined;
      const value = evloop.run(function* () {
        mine = evloop.getRunningLoop().runInExecutor(null, tasks.sleep, 20);
        // Not waited for here: run() itself waits for this loop's default-executor work.
        return 'main done';
      });
      expect(value).toBe('main done');
      expect(mine!.done()).toBe(true);
      expect(theirs.done()).toBe(false);
      fifo.open(0, 'theirs');
      expect(other.runUntilComplete(theirs).toString()).toBe('theirs');
      expect(other.runUntilComplete(other.runInExecutor(null, (x: number) => x * 2, 4))).toBe(8);
    } finally {
      fifo.dispose();
      other.close();
    }
  });
});

// ---- everything that needs a loop, on the private loop and on the host loop --------------------

describe.each(LOOP_KINDS)('ThreadPoolExecutor on the $name loop', (kind: LoopKind) => {
  let loop: EventLoop | undefined;
  const gates: Gate[] = [];
  const fifos: FifoGate[] = [];
  const newGate = () => {
    const g = new Gate();
    gates.push(g);
    return g;
  };
  /** Native work held until the test says so: tasks.readFile on a named pipe. */
  const newFifo = (n = 4) => {
    const g = new FifoGate(n);
    fifos.push(g);
    return g;
  };
  const make = () => (loop = useLoop(kind));
  afterEach(() => {
    for (const g of gates.splice(0)) {
      for (let i = 0; i < 16; i++) g.open(i);
      g.dispose();
    }
    for (const g of fifos.splice(0)) g.dispose();
    shutdownAll();
    releaseLoop(kind, loop);
    loop = undefined;
  });

  // -- submit / runInExecutor / map --

  it('submit runs a native task and a JS function; the Future belongs to getEventLoop()', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2 });
    const a = ex.submit<Buffer>(tasks.digest, 'sha1', 'abc');
    const b = ex.submit<number>((x: number, y: number) => x * y, 6, 7);
    expect(a.getLoop()).toBe(loop);
    expect(b.getLoop()).toBe(loop);
    expect(evloop.getEventLoop()).toBe(loop);
    expect((await kind.drive(loop, a)).toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(await kind.drive(loop, b)).toBe(42);
  });

  it('runInExecutor(executor, fn, ...args) returns a Future of that loop', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2 });
    const f = loop.runInExecutor<string>(ex, (s: string, n: number) => s.repeat(n), 'ab', 3);
    expect(f).toBeInstanceOf(evloop.Future);
    expect(f.getLoop()).toBe(loop);
    expect(f.done()).toBe(false);
    expect(await kind.drive(loop, f)).toBe('ababab');
  });

  it('submit inside a running loop binds to that loop (generator coroutine)', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2 });
    const task = loop.createTask(
      (function* () {
        const f = ex.submit<number>((x: number) => x + 1, 1);
        const g = ex.submit<Buffer>(tasks.gzip, 'zz');
        const r1 = (yield f) as number;
        const r2 = (yield g) as Buffer;
        return [f.getLoop() === loop, r1, r2.length > 0];
      })(),
    );
    expect(await kind.drive(loop, task)).toEqual([true, 2, true]);
  });

  it('a thrown error fails the Future (result() throws it, exception() returns it)', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const f = loop.runInExecutor(ex, () => {
      throw new RangeError('bad thing');
    });
    const out = await settle(kind, loop, f);
    expect(out.ok).toBe(false);
    expect(f.done()).toBe(true);
    expect(f.exception()).toBeInstanceOf(RangeError);
    expect(() => f.result()).toThrow('bad thing');
  });

  it('map runs fn over the items and keeps their order', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 3 });
    const items = [5, 1, 4, 2, 3, 0];
    const f = ex.map((x: number) => x * 10, items);
    expect(f.getLoop()).toBe(loop);
    expect(await kind.drive(loop, f)).toEqual([50, 10, 40, 20, 30, 0]);
    expect(ex.stats().completed).toBe(items.length);
  });

  it('map takes any iterable (Set, generator) and a native task', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2 });
    const f = ex.map<string, Buffer>(tasks.gzip, new Set(['a', 'bb']));
    const gen = (function* () {
      yield 1;
      yield 2;
    })();
    const g = ex.map((x: number) => -x, gen);
    const zs = await kind.drive(loop, f);
    expect(zs.map((z) => tasks.gunzip(z).toString())).toEqual(['a', 'bb']);
    expect(await kind.drive(loop, g)).toEqual([-1, -2]);
  });

  it('map of nothing is an empty array', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    expect(await kind.drive(loop, ex.map((x: unknown) => x, []))).toEqual([]);
  });

  it('map fails with the first error', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2 });
    const f = ex.map((x: number) => {
      if (x === 2) throw new Error(`no ${x}`);
      return x;
    }, [1, 2, 3]);
    const out = await settle(kind, loop, f);
    expect(out.ok).toBe(false);
    expect((out as any).error.message).toBe('no 2');
  });

  it('runInExecutor on a closed loop throws ERR_LOOP_CLOSED (private loop)', () => {
    if (kind.name !== 'private') return;
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    loop.close();
    expectCode(() => loop.runInExecutor(ex, tasks.sleep, 1), EvloopError, 'ERR_LOOP_CLOSED');
    expectCode(() => loop.runInExecutor(null, tasks.sleep, 1), EvloopError, 'ERR_LOOP_CLOSED');
    expect(ex.stats().completed + ex.stats().running + ex.stats().queued).toBe(0);
  });

  it('a private loop closed with work in flight drops it; the pool goes on (private loop)', async () => {
    if (kind.name !== 'private') return;
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const fifo = newFifo();
    const f = loop.runInExecutor(ex, tasks.readFile, fifo.path(0));
    loop.close();
    fifo.open(0);
    await pollUntil(() => ex.stats().completed === 1, 'the running work to complete');
    expect(f.done()).toBe(false);
    const again = evloop.newEventLoop();
    try {
      expect(again.runUntilComplete(again.runInExecutor(ex, (x: number) => x + 1, 1))).toBe(2);
    } finally {
      again.close();
    }
  });

  // -- default executor --

  it('runInExecutor(null) uses the shared default pool (threads named evloop-<n>)', async () => {
    const loop = make();
    const f = loop.runInExecutor<Buffer>(null, tasks.digest, 'sha256', 'default');
    const g = loop.runInExecutor<number>(null, (x: number) => x * 3, 5);
    expect((await kind.drive(loop, f)).equals(tasks.digest('sha256', 'default'))).toBe(true);
    expect(await kind.drive(loop, g)).toBe(15);
    expect(threadNames().some((n) => /^evloop-\d+$/.test(n))).toBe(true);
  });

  it('shutdownDefaultExecutor on the shared default pool waits for this loop only and leaves the pool usable', async () => {
    const loop = make();
    // Another loop's work on the shared pool, held until the end.
    const fifo = newFifo();
    const other = evloop.newEventLoop();
    const theirs = other.runInExecutor<Buffer>(null, tasks.readFile, fifo.path(0));
    const f = loop.runInExecutor(null, tasks.sleep, 20);
    const done = loop.shutdownDefaultExecutor();
    await kind.drive(loop, done);
    expect(f.done()).toBe(true);
    expect(theirs.done()).toBe(false);
    fifo.open(0, 'theirs');
    try {
      expect(other.runUntilComplete(theirs).toString()).toBe('theirs');
    } finally {
      other.close();
    }
    // The shared pool is still there for everyone.
    expect(await kind.drive(loop, loop.runInExecutor(null, (x: number) => x, 'still'))).toBe('still');
    const third = evloop.newEventLoop();
    try {
      expect(third.runUntilComplete(third.runInExecutor(null, (x: number) => x + 1, 1))).toBe(2);
    } finally {
      third.close();
    }
  });

  // The host loop is one per thread: the tests that set its default executor come last here.
  it('setDefaultExecutor makes runInExecutor(null) use that executor', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    loop.setDefaultExecutor(ex);
    expect(await kind.drive(loop, loop.runInExecutor(null, (x: number) => x * 2, 21))).toBe(42);
    await kind.drive(loop, loop.runInExecutor(null, tasks.sleep, 1));
    expect(ex.stats().completed).toBe(2);
  });

  it('setDefaultExecutor rejects what is no Executor', () => {
    const loop = make();
    expectCode(() => loop.setDefaultExecutor({} as any), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => loop.setDefaultExecutor(null as any), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('shutdownDefaultExecutor waits for the work in flight, then the executor is shut down', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    loop.setDefaultExecutor(ex);
    const fifo = newFifo();
    const work = loop.runInExecutor<Buffer>(null, tasks.readFile, fifo.path(0));
    const done = loop.shutdownDefaultExecutor();
    expect(done).toBeInstanceOf(evloop.Future);
    expect(done.getLoop()).toBe(loop);
    expectCode(() => ex.submit(tasks.sleep, 1), EvloopError, 'ERR_EXECUTOR_SHUTDOWN');
    expect(done.done()).toBe(false);
    fifo.open(0, 'finished');
    await kind.drive(loop, done);
    expect(ex.stats()).toMatchObject({ completed: 1, running: 0, queued: 0 });
    expect((await kind.drive(loop, work)).toString()).toBe('finished');
  });

  // -- threads on demand, idle exit, resize --

  it('starts threads on demand, never more than maxWorkers', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2 });
    expect(ex.stats().threads).toBe(0);
    const first = newFifo(1);
    const one = ex.submit(tasks.readFile, first.path(0));
    expect(ex.stats()).toMatchObject({ threads: 1, running: 1, queued: 0 });
    first.open(0);
    await kind.drive(loop, one);
    expect(ex.stats()).toMatchObject({ threads: 1, idle: 1, running: 0 });
    const fifo = newFifo(6);
    const many = Array.from({ length: 6 }, (_, i) => ex.submit(tasks.readFile, fifo.path(i)));
    const s = ex.stats();
    expect(s.threads).toBe(2);
    expect(s.running).toBe(2);
    expect(s.queued).toBe(4);
    let maxThreads = 0;
    let maxRunning = 0;
    for (const f of many) {
      f.addDoneCallback(() => {
        const now = ex.stats();
        maxThreads = Math.max(maxThreads, now.threads);
        maxRunning = Math.max(maxRunning, now.running);
      });
    }
    for (let i = 0; i < 6; i++) fifo.open(i);
    const out = await settleAll(kind, loop, many);
    expect(out.map((o) => (o.ok ? String(o.value) : o.error))).toEqual([0, 1, 2, 3, 4, 5].map((i) => `gate ${i}`));
    expect(maxThreads).toBeLessThanOrEqual(2);
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(ex.stats().completed).toBe(7);
  });

  it('reuses an idle thread instead of starting another', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 4 });
    for (let i = 0; i < 5; i++) await kind.drive(loop, ex.submit(tasks.sleep, 0));
    expect(ex.stats().threads).toBe(1);
  });

  it('idle threads exit after idleTimeout, and new work starts a thread again', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 3, idleTimeout: 30 });
    await settleAll(kind, loop, [ex.submit(tasks.sleep, 20), ex.submit(tasks.sleep, 20), ex.submit(tasks.sleep, 20)]);
    await pollUntil(() => ex.stats().threads === 0, 'idle threads to exit');
    expect(ex.stats()).toMatchObject({ threads: 0, idle: 0, completed: 3 });
    expect(await kind.drive(loop, ex.submit((x: number) => x, 9))).toBe(9);
    await kind.drive(loop, ex.submit(tasks.sleep, 1));
    expect(ex.stats().completed).toBe(5);
  });

  it('idle JS pool threads exit after idleTimeout too', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2, idleTimeout: 30 });
    expect(await kind.drive(loop, ex.submit(() => 'js'))).toBe('js');
    await pollUntil(() => ex.stats().threads === 0, 'the idle JS thread to exit');
    expect(await kind.drive(loop, ex.submit(() => 'again'))).toBe('again');
  });

  it('threads stay while they are idle for less than idleTimeout', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2, idleTimeout: 60_000 });
    await kind.drive(loop, ex.submit(tasks.sleep, 1));
    expect(ex.stats()).toMatchObject({ threads: 1, idle: 1 });
  });

  it('resize up starts queued work at once', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const fifo = newFifo(3);
    const fs3 = [0, 1, 2].map((i) => ex.submit(tasks.readFile, fifo.path(i)));
    expect(ex.stats()).toMatchObject({ running: 1, queued: 2 });
    ex.resize(3);
    expect(ex.stats()).toMatchObject({ maxWorkers: 3, running: 3, queued: 0, threads: 3 });
    // All three run at once: each can be released in any order.
    for (const i of [2, 1, 0]) fifo.open(i);
    await settleAll(kind, loop, fs3);
    expect(ex.stats().completed).toBe(3);
  });

  it('resize down: idle threads beyond maxWorkers exit, and no more than the new maxWorkers run', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 3 });
    const fifo = newFifo();
    const first = [0, 1, 2].map((i) => ex.submit(tasks.readFile, fifo.path(i)));
    const later = [3, 4, 5].map((i) => ex.submit(tasks.sleep, 5 + i));
    expect(ex.stats()).toMatchObject({ running: 3, queued: 3 });
    ex.resize(1);
    expect(ex.stats().maxWorkers).toBe(1);
    // Running work goes on; what starts from now on respects the new bound.
    const seen: number[] = [];
    for (const f of later) f.addDoneCallback(() => seen.push(ex.stats().running));
    fifo.open(0);
    fifo.open(1);
    fifo.open(2);
    const outcomes = await settleAll(kind, loop, [...first, ...later]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, true, true, true]);
    expect(outcomes.slice(0, 3).map((o) => String((o as any).value))).toEqual(['gate 0', 'gate 1', 'gate 2']);
    expect(Math.max(...seen)).toBeLessThanOrEqual(1);
  });

  it('resize down lets extra idle JS threads leave too, without waiting for idleTimeout', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2, idleTimeout: 600_000 });
    const gate = newGate();
    const two = [0, 1].map((i) => ex.submit(gated, gate.dir, i, i, BOUND_MS));
    gate.waitStarted(0);
    gate.waitStarted(1);
    expect(ex.stats()).toMatchObject({ threads: 2, running: 2 });
    gate.open(0);
    gate.open(1);
    await settleAll(kind, loop, two);
    ex.resize(1);
    await pollUntil(() => ex.stats().threads <= 1, 'JS threads beyond the new maxWorkers to leave', 2000);
  });

  it('resize down lets extra idle native threads exit without waiting for idleTimeout', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 3, idleTimeout: 600_000 });
    const fifo = newFifo(3);
    const three = [0, 1, 2].map((i) => ex.submit(tasks.readFile, fifo.path(i)));
    for (const i of [0, 1, 2]) fifo.open(i);
    await settleAll(kind, loop, three);
    expect(ex.stats().threads).toBe(3);
    ex.resize(1);
    await pollUntil(() => ex.stats().threads === 1, 'idle threads to exit after resize(1)');
    expect(ex.stats().idle).toBe(1);
  });

  // -- maxQueue --

  it('maxQueue bounds the waiting work: ERR_QUEUE_FULL, then room again once work leaves the queue', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1, maxQueue: 2 });
    const fifo = newFifo();
    const running = ex.submit(tasks.readFile, fifo.path(0));
    const q1 = ex.submit(tasks.sleep, 1);
    const q2 = ex.submit(tasks.sleep, 1);
    let thrown: any;
    try {
      ex.submit(tasks.sleep, 1);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EvloopError);
    expect(thrown.code).toBe('ERR_QUEUE_FULL');
    expectCode(() => loop.runInExecutor(ex, () => 1), EvloopError, 'ERR_QUEUE_FULL');
    expect(ex.stats()).toMatchObject({ queued: 2, running: 1 });
    // Cancelling queued work frees a place.
    expect(q2.cancel()).toBe(true);
    const q3 = ex.submit(tasks.sleep, 1);
    expectCode(() => ex.submit(tasks.sleep, 1), EvloopError, 'ERR_QUEUE_FULL');
    fifo.open(0);
    const out = await settleAll(kind, loop, [running, q1, q3]);
    expect(out.every((o) => o.ok)).toBe(true);
    // Empty again: submits work.
    expect(await kind.drive(loop, ex.submit((x: number) => x, 'ok'))).toBe('ok');
  });

  it('work that starts at once does not count against maxQueue', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2, maxQueue: 1 });
    const fifo = newFifo(2);
    const a = ex.submit(tasks.readFile, fifo.path(0));
    const b = ex.submit(tasks.readFile, fifo.path(1));
    const c = ex.submit(tasks.sleep, 1);
    expect(ex.stats()).toMatchObject({ running: 2, queued: 1 });
    expectCode(() => ex.submit(tasks.sleep, 1), EvloopError, 'ERR_QUEUE_FULL');
    fifo.open(0, 'a');
    fifo.open(1);
    await settleAll(kind, loop, [a, b, c]);
    expect(ex.stats().completed).toBe(3);
  });

  // -- names --

  it('names native pool threads <name>-<n>', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 3, name: 'tpx' });
    const fifo = newFifo(3);
    const three = [0, 1, 2].map((i) => ex.submit(tasks.readFile, fifo.path(i)));
    for (const i of [0, 1, 2]) fifo.open(i);
    await settleAll(kind, loop, three);
    const names = threadNames().filter((n) => n.startsWith('tpx-')).sort();
    expect(names).toEqual(['tpx-1', 'tpx-2', 'tpx-3']);
  });

  it('a long name is cut to the platform limit but keeps the -<n> suffix', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1, name: 'averyverylongpoolname' });
    await kind.drive(loop, ex.submit(tasks.sleep, 1));
    const names = threadNames().filter((n) => n.startsWith('averyvery'));
    expect(names.length).toBe(1);
    expect(names[0]).toMatch(/^averyverylong[a-z]*-1$/);
    expect(names[0].length).toBeLessThanOrEqual(15);
  });

  it('the thread that runs JS functions is one of the pool threads and named <name>-<n> too', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2, name: 'jsname' });
    expect(await kind.drive(loop, ex.submit(() => 1))).toBe(1);
    expect(ex.stats().threads).toBe(1);
    expect(threadNames().filter((n) => /^jsname-\d+$/.test(n)).length).toBe(1);
  });

  // -- stats --

  it('stats counts completed, failed (native and JS) and cancelled work', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const fifo = newFifo();
    const blocker = ex.submit(tasks.readFile, fifo.path(0));
    const ok1 = ex.submit(tasks.digest, 'md5', '1');
    const ok2 = ex.submit((x: number) => x, 2);
    const bad1 = ex.submit(tasks.readFile, '/nonexistent/evloop/file');
    const bad2 = ex.submit(() => {
      throw new Error('x');
    });
    const gone = ex.submit(tasks.sleep, 1);
    expect(ex.stats()).toMatchObject({ running: 1, queued: 5, completed: 0, failed: 0, cancelled: 0 });
    gone.cancel();
    expect(ex.stats()).toMatchObject({ running: 1, queued: 4, cancelled: 1 });
    fifo.open(0);
    const out = await settleAll(kind, loop, [blocker, ok1, ok2, bad1, bad2]);
    expect(out.map((o) => o.ok)).toEqual([true, true, true, false, false]);
    expect(ex.stats()).toMatchObject({ running: 0, queued: 0, completed: 3, failed: 2, cancelled: 1 });
  });

  it('queued + running is what is in flight', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2 });
    const fifo = newFifo();
    const fs4 = [0, 1, 2, 3].map((i) => ex.submit(tasks.readFile, fifo.path(i)));
    let s = ex.stats();
    expect(s.running + s.queued).toBe(4);
    expect(s.running).toBe(2);
    fifo.open(0);
    fifo.open(1);
    fifo.open(2);
    fifo.open(3);
    await settleAll(kind, loop, fs4);
    s = ex.stats();
    expect(s.running + s.queued).toBe(0);
    expect(s.completed).toBe(4);
  });

  // -- cancellation --

  it('cancelling a Future whose work has not started removes the work (it never runs)', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-cancel-'));
    try {
      const fifo = newFifo();
      const blocker = ex.submit(tasks.readFile, fifo.path(0));
      const nativeWrite = ex.submit(tasks.writeFile, path.join(dir, 'native'), 'x');
      const jsWrite = ex.submit((p: string) => require('node:fs').writeFileSync(p, 'x'), path.join(dir, 'js'));
      expect(ex.stats().queued).toBe(2);
      expect(nativeWrite.cancel()).toBe(true);
      expect(jsWrite.cancel('not needed')).toBe(true);
      expect(nativeWrite.cancelled()).toBe(true);
      expect(jsWrite.cancelled()).toBe(true);
      expect(ex.stats()).toMatchObject({ queued: 0, cancelled: 2 });
      fifo.open(0, 'b');
      expect(String(await kind.drive(loop, blocker))).toBe('b');
      // The pool is drained: what was cancelled never ran.
      await kind.drive(loop, ex.submit(tasks.sleep, 1));
      expect(fs.existsSync(path.join(dir, 'native'))).toBe(false);
      expect(fs.existsSync(path.join(dir, 'js'))).toBe(false);
      expect(() => jsWrite.result()).toThrow(CancelledError);
      expect(ex.stats()).toMatchObject({ completed: 2, cancelled: 2 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cancelling running work: it finishes, its result is dropped and the Future stays cancelled', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const gate = newGate();
    const f = ex.submit(gated, gate.dir, 0, 'dropped', BOUND_MS);
    gate.waitStarted(0);
    expect(f.cancel()).toBe(true);
    expect(f.cancelled()).toBe(true);
    expect(ex.stats()).toMatchObject({ running: 1, cancelled: 0 });
    gate.open(0);
    // Later work runs after it on the only thread: once it is back, the cancelled one finished.
    expect(await kind.drive(loop, ex.submit((x: number) => x, 'next'))).toBe('next');
    expect(f.cancelled()).toBe(true);
    expect(() => f.result()).toThrow(CancelledError);
    expect(ex.stats()).toMatchObject({ completed: 2, cancelled: 0, running: 0 });
  });

  it('cancelling running native work leaves the pool consistent', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const fifo = newFifo(1);
    const f = ex.submit(tasks.readFile, fifo.path(0));
    expect(ex.stats().running).toBe(1);
    expect(f.cancel()).toBe(true);
    const next = ex.submit(tasks.digest, 'md5', '');
    fifo.open(0);
    expect(await kind.drive(loop, next)).toBeInstanceOf(Buffer);
    expect(f.cancelled()).toBe(true);
    expect(ex.stats()).toMatchObject({ completed: 2, cancelled: 0, running: 0, queued: 0 });
  });

  it('cancel of a done Future returns false and changes nothing', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const f = ex.submit((x: number) => x, 3);
    expect(await kind.drive(loop, f)).toBe(3);
    expect(f.cancel()).toBe(false);
    expect(f.result()).toBe(3);
    expect(ex.stats().cancelled).toBe(0);
  });

  it('cancelling a Task that waits on queued pool work removes that work', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const fifo = newFifo();
    const blocker = ex.submit(tasks.readFile, fifo.path(0));
    let inner: Future<unknown> | undefined;
    const task = loop.createTask(
      (function* () {
        inner = ex.submit(tasks.sleep, 1);
        return yield inner;
      })(),
    );
    // The task starts on the loop's next turn: drive one turn.
    const turn = loop.createFuture<void>();
    loop.callSoon(() => turn.setResult());
    await kind.drive(loop, turn);
    expect(ex.stats().queued).toBe(1);
    task.cancel();
    const out = await settle(kind, loop, task);
    expect(out.ok).toBe(false);
    expect(task.cancelled()).toBe(true);
    expect(inner!.cancelled()).toBe(true);
    expect(ex.stats()).toMatchObject({ queued: 0, cancelled: 1 });
    fifo.open(0);
    await kind.drive(loop, blocker);
  });

  // -- shutdown --

  it('after shutdown, submit, runInExecutor and map throw ERR_EXECUTOR_SHUTDOWN', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    await ex.shutdown();
    expectCode(() => ex.submit(tasks.sleep, 1), EvloopError, 'ERR_EXECUTOR_SHUTDOWN');
    expectCode(() => ex.submit(() => 1), EvloopError, 'ERR_EXECUTOR_SHUTDOWN');
    expectCode(() => loop.runInExecutor(ex, tasks.sleep, 1), EvloopError, 'ERR_EXECUTOR_SHUTDOWN');
    expectCode(() => ex.map((x: number) => x, [1]), EvloopError, 'ERR_EXECUTOR_SHUTDOWN');
    // Shutting down again is harmless.
    await ex.shutdown();
    await ex.shutdown({ wait: false });
  });

  it('shutdown() waits for running and queued work; the results still come back', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const fifo = newFifo();
    const a = ex.submit(tasks.readFile, fifo.path(0));
    const b = ex.submit((x: string) => x, 'b');
    const c = ex.submit<Buffer>(tasks.digest, 'md5', 'c');
    let resolved = false;
    const p = ex.shutdown({ wait: true }).then(() => (resolved = true));
    expect(p).toBeInstanceOf(Promise);
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    fifo.open(0, 'a');
    await p;
    expect(ex.stats()).toMatchObject({ completed: 3, running: 0, queued: 0 });
    expect(String(await kind.drive(loop, a))).toBe('a');
    expect(await kind.drive(loop, b)).toBe('b');
    expect((await kind.drive(loop, c)).equals(tasks.digest('md5', 'c'))).toBe(true);
  });

  it('shutdown({ wait: false }) resolves while work still runs', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const fifo = newFifo();
    const a = ex.submit(tasks.readFile, fifo.path(0));
    await ex.shutdown({ wait: false });
    expect(ex.stats().running).toBe(1);
    expectCode(() => ex.submit(tasks.sleep, 1), EvloopError, 'ERR_EXECUTOR_SHUTDOWN');
    fifo.open(0, 'a');
    expect(String(await kind.drive(loop, a))).toBe('a');
  });

  it('shutdown({ cancelFutures: true }) cancels what has not started; running work finishes', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const fifo = newFifo();
    const a = ex.submit(tasks.readFile, fifo.path(0));
    const queued = [ex.submit(tasks.sleep, 1), ex.submit((x: number) => x, 1), ex.submit(tasks.digest, 'md5', 'x')];
    const p = ex.shutdown({ wait: true, cancelFutures: true });
    expect(ex.stats()).toMatchObject({ queued: 0, running: 1, cancelled: 3 });
    fifo.open(0, 'a');
    await p;
    expect(String(await kind.drive(loop, a))).toBe('a');
    const out = await settleAll(kind, loop, queued);
    for (const [i, o] of out.entries()) {
      expect(o.ok, `queued ${i}`).toBe(false);
      expect((o as any).error).toBeInstanceOf(CancelledError);
      expect(queued[i].cancelled()).toBe(true);
    }
    expect(ex.stats()).toMatchObject({ completed: 1, cancelled: 3, failed: 0 });
  });

  it('shutdown of an idle pool lets its threads go', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2, idleTimeout: 600_000 });
    const fifo = newFifo(2);
    const two = [0, 1].map((i) => ex.submit(tasks.readFile, fifo.path(i)));
    fifo.open(0);
    fifo.open(1);
    await settleAll(kind, loop, two);
    expect(ex.stats().threads).toBe(2);
    await ex.shutdown();
    await pollUntil(() => ex.stats().threads === 0, 'threads to exit after shutdown');
  });

  it('Symbol.asyncDispose shuts the executor down, waiting for work in flight', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    expect(typeof ex[Symbol.asyncDispose]).toBe('function');
    const fifo = newFifo();
    const a = ex.submit(tasks.readFile, fifo.path(0));
    const disposed = ex[Symbol.asyncDispose]();
    expect(disposed).toBeInstanceOf(Promise);
    expectCode(() => ex.submit(tasks.sleep, 1), EvloopError, 'ERR_EXECUTOR_SHUTDOWN');
    fifo.open(0, 'a');
    await disposed;
    expect(ex.stats()).toMatchObject({ completed: 1, running: 0 });
    expect(String(await kind.drive(loop, a))).toBe('a');
  });

  // -- AsyncLocalStorage --

  it('the AsyncLocalStorage store active at submit is active in the done callbacks', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 2 });
    const als = new AsyncLocalStorage<string>();
    const seen: Record<string, unknown> = {};
    const futures: Future<unknown>[] = [];
    als.run('native', () => {
      const f = ex.submit(tasks.sleep, 5);
      f.addDoneCallback(() => (seen.native = als.getStore()));
      futures.push(f);
    });
    als.run('js', () => {
      const f = loop.runInExecutor(ex, (x: number) => x, 1);
      f.addDoneCallback(() => (seen.js = als.getStore()));
      futures.push(f);
    });
    als.run('failing', () => {
      const f = ex.submit(tasks.readFile, '/nonexistent/evloop');
      f.addDoneCallback((g) => {
        seen.failing = als.getStore();
        g.exception();
      });
      futures.push(f);
    });
    const outside = ex.submit(tasks.sleep, 1);
    outside.addDoneCallback(() => (seen.outside = als.getStore()));
    futures.push(outside);
    await settleAll(kind, loop, futures);
    // done callbacks run on a later turn than the one settling the Future: drive one more.
    const last = loop.createFuture<void>();
    loop.callSoon(() => loop.callSoon(() => last.setResult()));
    await kind.drive(loop, last);
    expect(seen).toEqual({ native: 'native', js: 'js', failing: 'failing', outside: undefined });
  });

  it('the store is active where a coroutine resumes after yielding pool work (and only there)', async () => {
    const loop = make();
    const ex = pool({ maxWorkers: 1 });
    const als = new AsyncLocalStorage<number>();
    const f = als.run(7, () => ex.submit((x: number) => x, 1));
    const stores: unknown[] = [];
    f.addDoneCallback(() => stores.push(als.getStore()));
    await kind.drive(loop, f);
    const g = loop.createFuture<void>();
    loop.callSoon(() => {
      stores.push(als.getStore());
      g.setResult();
    });
    await kind.drive(loop, g);
    expect(stores).toEqual([7, undefined]);
  });
});

// ---- process lifetime: child processes ------------------------------------------------------

describe('process lifetime', () => {
  it('an idle pool with live threads does not keep the process alive (host loop)', () => {
    const r = runChild(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, idleTimeout: 600000 });
      const f = ex.submit(evloop.tasks.sleep, 1);
      const g = ex.submit((x) => x * 2, 21);
      Promise.all([f, g]).then(([, v]) => console.log('result', v, ex.stats().threads));
      process.on('exit', () => console.log('exit'));
    `);
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('result 42 2\nexit\n');
  });

  it('an idle pool does not keep the process alive (private loop)', () => {
    const r = runChild(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, idleTimeout: 600000 });
      const loop = evloop.newEventLoop();
      const v = loop.runUntilComplete(loop.runInExecutor(ex, (x) => x + 1, 1));
      loop.runUntilComplete(loop.runInExecutor(ex, evloop.tasks.sleep, 1));
      console.log('result', v, ex.stats().threads);
      process.on('exit', () => console.log('exit'));
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('result 2 2\nexit\n');
  });

  it('the default pool does not keep the process alive either', () => {
    const r = runChild(`
      evloop.hostLoop().runInExecutor(null, (x) => x, 'js').then((v) => console.log(v));
      console.log(evloop.run(function* () {
        const digest = yield evloop.getRunningLoop().runInExecutor(null, evloop.tasks.digest, 'md5', '');
        return digest.length;
      }));
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['16', 'js']);
  });

  it('pending native work keeps the host loop alive until its result', () => {
    const r = runChild(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      const f = ex.submit(evloop.tasks.sleep, 200);
      f.addDoneCallback(() => console.log('done'));
      process.on('exit', () => console.log('exit', f.done()));
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('done\nexit true\n');
  });

  it('pending JS work keeps the host loop alive until its result', () => {
    const r = runChild(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      const f = ex.submit((ms) => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); return 'js done'; }, 200);
      f.then((v) => console.log(v));
      process.on('exit', () => console.log('exit', f.done()));
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('js done\nexit true\n');
  });

  it('queued work behind a busy thread keeps the host loop alive until the last result', () => {
    const r = runChild(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      const out = [];
      for (let i = 0; i < 4; i++) ex.submit(evloop.tasks.sleep, 30).addDoneCallback(() => out.push(i));
      process.on('exit', () => console.log(out.join(',')));
    `);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('0,1,2,3\n');
  });

  it('cancelled work no longer keeps the host loop alive', () => {
    const r = runChild(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      const a = ex.submit(evloop.tasks.sleep, 50);
      const b = ex.submit(evloop.tasks.sleep, 60000);
      b.cancel();
      a.addDoneCallback(() => console.log('a done'));
      process.on('exit', () => console.log('exit', b.cancelled(), ex.stats().cancelled));
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('a done\nexit true 1\n');
  });
});
