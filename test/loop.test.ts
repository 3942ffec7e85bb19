// The event loop itself, as asyncio's test_base_events checks BaseEventLoop: ordering of ready
// callbacks and turns, stop/close, running twice, the host loop's limits, which loop is current,
// the exception handler, debug mode and Symbol.dispose.
import { afterEach, describe, expect, it } from 'vitest';
import { BOUND_MS, LOOP_KINDS, entry, evloop, runChild, type LoopKind, thrown } from './harness';
import type { EventLoop, Future } from '../dist/cjs/index.js';

const { newEventLoop, hostLoop, getEventLoop, setEventLoop, getRunningLoop, EventLoop: EventLoopClass } = evloop;

/** The error `fn` throws (fails the test when it throws nothing). */
/** Sets `handler` as the loop's exception handler for the duration of `body`, then restores it. */
async function withHandler<T>(loop: EventLoop, handler: (loop: EventLoop, ctx: any) => void, body: () => Promise<T>): Promise<T> {
  const previous = loop.getExceptionHandler();
  loop.setExceptionHandler(handler);
  try {
    return await body();
  } finally {
    loop.setExceptionHandler(previous);
  }
}

afterEach(() => {
  setEventLoop(null);
});

describe.each(LOOP_KINDS)('$name loop: ready callbacks and turns', (kind: LoopKind) => {
  it('runs callSoon callbacks in FIFO order with their arguments', async () => {
    const loop = kind.make();
    const seen: unknown[] = [];
    const done = loop.createFuture<void>();
    for (let i = 0; i < 20; i++) loop.callSoon((a: number, b: string) => seen.push([a, b]), i, `x${i}`);
    loop.callSoon(() => done.setResult());
    await kind.drive(loop, done);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => [i, `x${i}`]));
    kind.dispose(loop);
  });

  it('returns a Handle from callSoon and callSoonThreadsafe', async () => {
    const loop = kind.make();
    const done = loop.createFuture<string[]>();
    const seen: string[] = [];
    const h1 = loop.callSoon(() => seen.push('soon'));
    const h2 = loop.callSoonThreadsafe(() => seen.push('threadsafe'));
    loop.callSoon(() => done.setResult(seen));
    expect(h1).toBeInstanceOf(evloop.Handle);
    expect(h2).toBeInstanceOf(evloop.Handle);
    expect(h1.cancelled()).toBe(false);
    expect(await kind.drive(loop, done)).toEqual(['soon', 'threadsafe']);
    kind.dispose(loop);
  });

  it('runs what a turn schedules on a later turn, after everything that was ready when the turn began', async () => {
    const loop = kind.make();
    const order: string[] = [];
    const done = loop.createFuture<void>();
    loop.callSoon(() => {
      order.push('A');
      loop.callSoon(() => {
        order.push('B (scheduled by A)');
        done.setResult();
      });
    });
    loop.callSoon(() => order.push('C'));
    // Already due when the turn begins: it joins that turn's ready callbacks, before B.
    loop.callAt(loop.time() - 1, () => order.push('T (due)'));
    await kind.drive(loop, done);
    expect(order).toEqual(['A', 'C', 'T (due)', 'B (scheduled by A)']);
    kind.dispose(loop);
  });

  it('a callback that reschedules itself on every turn does not starve a due timer', async () => {
    const loop = kind.make();
    const done = loop.createFuture<void>();
    let count = 0;
    let timerAt = -1;
    const spin = () => {
      count++;
      if (count < 2000) loop.callSoon(spin);
      else done.setResult();
    };
    loop.callSoon(spin);
    loop.callLater(0, () => {
      timerAt = count;
    });
    await kind.drive(loop, done);
    expect(timerAt).toBeGreaterThanOrEqual(0);
    // The timer was due before the first turn began: it runs in one of the first turns.
    expect(timerAt).toBeLessThanOrEqual(2);
    kind.dispose(loop);
  });

  it('does not run a cancelled Handle', async () => {
    const loop = kind.make();
    const ran: string[] = [];
    const done = loop.createFuture<void>();
    const h = loop.callSoon(() => ran.push('cancelled one'));
    loop.callSoon(() => ran.push('kept'));
    loop.callSoon(() => done.setResult());
    h.cancel();
    expect(h.cancelled()).toBe(true);
    h.cancel(); // twice is harmless
    await kind.drive(loop, done);
    expect(ran).toEqual(['kept']);
    kind.dispose(loop);
  });

  it('does not run a callback cancelled by an earlier callback of the same turn', async () => {
    const loop = kind.make();
    const ran: string[] = [];
    const done = loop.createFuture<void>();
    let victim: ReturnType<EventLoop['callSoon']> | undefined;
    loop.callSoon(() => {
      ran.push('first');
      victim!.cancel();
    });
    victim = loop.callSoon(() => ran.push('victim'));
    loop.callSoon(() => done.setResult());
    await kind.drive(loop, done);
    expect(ran).toEqual(['first']);
    kind.dispose(loop);
  });

  it('time() is monotonic, also across callbacks', async () => {
    const loop = kind.make();
    let last = loop.time();
    expect(typeof last).toBe('number');
    for (let i = 0; i < 10_000; i++) {
      const now = loop.time();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
    const stamps: number[] = [];
    const done = loop.createFuture<void>();
    for (let i = 0; i < 50; i++) loop.callSoon(() => stamps.push(loop.time()));
    loop.callLater(2, () => {
      stamps.push(loop.time());
      done.setResult();
    });
    await kind.drive(loop, done);
    expect(stamps[0]).toBeGreaterThanOrEqual(last);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThanOrEqual(stamps[i - 1]);
    kind.dispose(loop);
  });

  it('isRunning() is true inside its own callbacks; isClosed() is false while open', async () => {
    const loop = kind.make();
    const done = loop.createFuture<[boolean, boolean]>();
    loop.callSoon(() => done.setResult([loop.isRunning(), loop.isClosed()]));
    expect(await kind.drive(loop, done)).toEqual([true, false]);
    kind.dispose(loop);
  });

  it('inside its callbacks getRunningLoop() and getEventLoop() are this loop', async () => {
    const loop = kind.make();
    const other = newEventLoop();
    setEventLoop(other);
    const done = loop.createFuture<[EventLoop, EventLoop]>();
    loop.callSoon(() => done.setResult([getRunningLoop(), getEventLoop()]));
    const [running, current] = await kind.drive(loop, done);
    expect(running).toBe(loop);
    // (On the host loop, whether a loop set for the thread wins in getEventLoop() is left open.)
    if (kind.name === 'private') expect(current).toBe(loop);
    other.close();
    kind.dispose(loop);
  });
});

describe.each(LOOP_KINDS)('$name loop: exception handler', (kind: LoopKind) => {
  it('has no handler by default; set and get it; null restores the default', () => {
    const loop = kind.make();
    const previous = loop.getExceptionHandler();
    try {
      if (kind.name === 'private') expect(previous).toBeNull();
      const handler = () => {};
      loop.setExceptionHandler(handler);
      expect(loop.getExceptionHandler()).toBe(handler);
      loop.setExceptionHandler(null);
      expect(loop.getExceptionHandler()).toBeNull();
    } finally {
      loop.setExceptionHandler(previous);
      kind.dispose(loop);
    }
  });

  it('callExceptionHandler calls the handler at once with the loop and the context', () => {
    const loop = kind.make();
    const calls: [EventLoop, unknown][] = [];
    const previous = loop.getExceptionHandler();
    loop.setExceptionHandler((l, ctx) => calls.push([l, ctx]));
    try {
      const error = new Error('reported');
      const context = { message: 'something went wrong', exception: error };
      loop.callExceptionHandler(context);
      expect(calls.length).toBe(1);
      expect(calls[0][0]).toBe(loop);
      expect(calls[0][1]).toMatchObject({ message: 'something went wrong', exception: error });
    } finally {
      loop.setExceptionHandler(previous);
      kind.dispose(loop);
    }
  });

  it('an error thrown by a callback goes to the handler with message, exception and handle, and the loop goes on', async () => {
    const loop = kind.make();
    const contexts: any[] = [];
    const order: string[] = [];
    const error = new Error('callback failed');
    const done = loop.createFuture<void>();
    await withHandler(loop, (l, ctx) => contexts.push({ l, ctx }), async () => {
      const handle = loop.callSoon(function failingCallback() {
        order.push('failing');
        throw error;
      });
      loop.callSoon(() => order.push('next one'));
      loop.callSoon(() => loop.callSoon(() => done.setResult()));
      await kind.drive(loop, done);
      expect(order).toEqual(['failing', 'next one']);
      expect(contexts.length).toBe(1);
      const { l, ctx } = contexts[0];
      expect(l).toBe(loop);
      expect(typeof ctx.message).toBe('string');
      expect(ctx.message).toMatch(/failingCallback/);
      expect(ctx.exception).toBe(error);
      expect(ctx.handle).toBe(handle);
    });
    kind.dispose(loop);
  });

  it('an error thrown by a timer callback goes to the handler with its TimerHandle', async () => {
    const loop = kind.make();
    const contexts: any[] = [];
    const error = new Error('timer failed');
    const done = loop.createFuture<void>();
    await withHandler(loop, (_l, ctx) => contexts.push(ctx), async () => {
      const timer = loop.callLater(1, function failingTimer() {
        throw error;
      });
      loop.callAt(timer.when() + 1, () => done.setResult());
      await kind.drive(loop, done);
      expect(contexts.length).toBe(1);
      expect(contexts[0].exception).toBe(error);
      expect(contexts[0].handle).toBe(timer);
      expect(contexts[0].handle).toBeInstanceOf(evloop.TimerHandle);
      expect(contexts[0].message).toMatch(/failingTimer/);
    });
    kind.dispose(loop);
  });

  it('an error thrown by a done callback goes to the handler and the other done callbacks still run', async () => {
    const loop = kind.make();
    const contexts: any[] = [];
    const error = new Error('done callback failed');
    const f = loop.createFuture<number>();
    const done = loop.createFuture<void>();
    const seen: number[] = [];
    await withHandler(loop, (_l, ctx) => contexts.push(ctx), async () => {
      f.addDoneCallback(function failingDoneCallback() {
        throw error;
      });
      f.addDoneCallback((fut) => seen.push(fut.result()));
      f.addDoneCallback(() => done.setResult());
      loop.callSoon(() => f.setResult(5));
      await kind.drive(loop, done);
      expect(seen).toEqual([5]);
      expect(contexts.length).toBe(1);
      expect(contexts[0].exception).toBe(error);
      expect(contexts[0].message).toMatch(/failingDoneCallback/);
    });
    kind.dispose(loop);
  });

  it('an error thrown by the handler itself does not stop the loop', async () => {
    const loop = kind.make();
    const order: string[] = [];
    const done = loop.createFuture<void>();
    const write = process.stderr.write;
    // The handler's own failure is reported on stderr (checked in a child process below).
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await withHandler(
        loop,
        () => {
          order.push('handler');
          throw new Error('the handler broke');
        },
        async () => {
          loop.callSoon(() => {
            throw new Error('first');
          });
          loop.callSoon(() => order.push('went on'));
          loop.callSoon(() => done.setResult());
          await kind.drive(loop, done);
        },
      );
    } finally {
      process.stderr.write = write;
    }
    expect(order).toEqual(['handler', 'went on']);
    kind.dispose(loop);
  });

  it('with no handler, a callback error gets a report on stderr naming the callback, and the loop goes on; defaultExceptionHandler and callExceptionHandler write there too', () => {
    const r = runChild(`
      const loop = ${kind.name === 'host' ? 'evloop.hostLoop()' : 'evloop.newEventLoop()'};
      loop.defaultExceptionHandler({ message: 'direct-default-report', exception: new Error('direct-error-xyz') });
      loop.callExceptionHandler({ message: 'through-call-report' });
      const done = loop.createFuture();
      loop.callSoon(function throwingCallbackName() { throw new Error('boom-in-callback'); });
      loop.callSoon(() => { console.log('went on'); done.setResult(); });
      if (${kind.name === 'private'}) { loop.runUntilComplete(done); loop.close(); }
    `);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('went on');
    expect(r.stderr).toMatch(/throwingCallbackName/);
    expect(r.stderr).toMatch(/boom-in-callback/);
    expect(r.stderr).toMatch(/direct-default-report/);
    expect(r.stderr).toMatch(/direct-error-xyz/);
    expect(r.stderr).toMatch(/through-call-report/);
  });

  it('reports an error of the handler itself on stderr, and the loop goes on', () => {
    const r = runChild(`
      const loop = ${kind.name === 'host' ? 'evloop.hostLoop()' : 'evloop.newEventLoop()'};
      loop.setExceptionHandler(() => { throw new Error('handler-broke-here'); });
      const done = loop.createFuture();
      loop.callSoon(function failing() { throw new Error('original-error'); });
      loop.callSoon(() => { console.log('went on'); done.setResult(); });
      if (${kind.name === 'private'}) { loop.runUntilComplete(done); loop.close(); }
    `);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('went on');
    expect(r.stderr).toMatch(/handler-broke-here/);
  });
});

describe.each(LOOP_KINDS)('$name loop: debug mode', (kind: LoopKind) => {
  const make = kind.name === 'host' ? 'evloop.hostLoop()' : 'evloop.newEventLoop()';
  const finish = kind.name === 'private' ? 'loop.runUntilComplete(done); loop.close();' : '';

  it('setDebug/getDebug; slowCallbackDuration defaults to 100 ms', () => {
    const loop = kind.make();
    const before = loop.getDebug();
    try {
      expect(loop.slowCallbackDuration).toBe(100);
      loop.setDebug(true);
      expect(loop.getDebug()).toBe(true);
      loop.setDebug(false);
      expect(loop.getDebug()).toBe(false);
    } finally {
      loop.setDebug(before);
      kind.dispose(loop);
    }
  });

  it('reports a callback slower than slowCallbackDuration on stderr with its name and duration, and reports about a handle include where it was created', () => {
    const r = runChild(`
      const loop = ${make};
      loop.setDebug(true);
      loop.slowCallbackDuration = 20;
      function aVerySlowCallback() { const end = Date.now() + 80; while (Date.now() < end); }
      function theSchedulingSite() { loop.callSoon(function failingCallback() { throw new Error('failed-here'); }); }
      const done = loop.createFuture();
      loop.callSoon(aVerySlowCallback);
      theSchedulingSite();
      loop.callSoon(() => { console.log('done'); done.setResult(); });
      ${finish}
    `);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('done');
    // One report line names the callback and says how long it took.
    const slowLine = r.stderr.split('\n').find((line) => line.includes('aVerySlowCallback'));
    expect(slowLine).toMatch(/\d(\.\d+)?\s*ms/);
    expect(r.stderr).toMatch(/failed-here/);
    // The callback runs from the loop, so only the creation stack can name where it was scheduled.
    expect(r.stderr).toMatch(/theSchedulingSite/);
  });

  it('does not report slow callbacks when debug mode is off', () => {
    const r = runChild(`
      const loop = ${make};
      loop.setDebug(false);
      loop.slowCallbackDuration = 20;
      function aVerySlowCallback() { const end = Date.now() + 80; while (Date.now() < end); }
      const done = loop.createFuture();
      loop.callSoon(aVerySlowCallback);
      loop.callSoon(() => { console.log('done'); done.setResult(); });
      ${finish}
    `);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('done');
    expect(r.stderr).toBe('');
  });
});

describe('private loop: running and stopping', () => {
  it('runUntilComplete returns the result of a Future', () => {
    const loop = newEventLoop();
    const f = loop.createFuture<number>();
    loop.callSoon(() => f.setResult(42));
    expect(loop.runUntilComplete(f)).toBe(42);
    loop.close();
  });

  it('runUntilComplete throws the error of a failed Future, the same object', () => {
    const loop = newEventLoop();
    const f = loop.createFuture<number>();
    const error = new Error('the future failed');
    loop.callSoon(() => f.setException(error));
    expect(thrown(() => loop.runUntilComplete(f))).toBe(error);
    loop.close();
  });

  it('runUntilComplete of a cancelled Future throws CancelledError', () => {
    const loop = newEventLoop();
    const f = loop.createFuture<number>();
    loop.callSoon(() => f.cancel('no longer wanted'));
    const error = thrown(() => loop.runUntilComplete(f));
    expect(error).toBeInstanceOf(evloop.CancelledError);
    expect(error.code).toBe('ERR_CANCELLED');
    loop.close();
  });

  it('runUntilComplete of a Future that is already done returns its result', () => {
    const loop = newEventLoop();
    const f = loop.createFuture<string>();
    f.setResult('already');
    expect(loop.runUntilComplete(f)).toBe('already');
    expect(loop.isRunning()).toBe(false);
    loop.close();
  });

  it('runUntilComplete wraps a generator coroutine, or a function of an AbortSignal, in a Task', () => {
    const loop = newEventLoop();
    expect(
      loop.runUntilComplete(
        (function* () {
          const v = (yield evloop.sleep(1, 20)) as number;
          return v + 1;
        })(),
      ),
    ).toBe(21);
    let signal: unknown;
    expect(
      loop.runUntilComplete(function* (s: AbortSignal) {
        signal = s;
        yield;
        return 'from function';
      }),
    ).toBe('from function');
    expect(signal).toBeInstanceOf(AbortSignal);
    loop.close();
  });

  it('isRunning() is false before and after a run, true during it', () => {
    const loop = newEventLoop();
    expect(loop.isRunning()).toBe(false);
    const f = loop.createFuture<boolean>();
    loop.callSoon(() => f.setResult(loop.isRunning()));
    expect(loop.runUntilComplete(f)).toBe(true);
    expect(loop.isRunning()).toBe(false);
    loop.close();
  });

  it('stop() while running: the current turn finishes, what it scheduled runs on the next run', () => {
    const loop = newEventLoop();
    const order: string[] = [];
    loop.callSoon(() => {
      order.push('A');
      loop.stop();
      loop.callSoon(() => order.push('C (next turn)'));
    });
    loop.callSoon(() => order.push('B (same turn)'));
    loop.runForever();
    expect(order).toEqual(['A', 'B (same turn)']);
    expect(loop.isRunning()).toBe(false);
    const f = loop.createFuture<void>();
    loop.callSoon(() => f.setResult());
    loop.runUntilComplete(f);
    expect(order).toEqual(['A', 'B (same turn)', 'C (next turn)']);
    loop.close();
  });

  it('stop() before running: the next run does one turn without waiting for timers, then returns', () => {
    const loop = newEventLoop();
    const order: string[] = [];
    let guardFired = false;
    loop.callSoon(() => {
      order.push('A');
      loop.callSoon(() => order.push('B'));
    });
    loop.callLater(BOUND_MS, () => {
      guardFired = true;
      loop.stop();
    });
    loop.stop();
    loop.runForever();
    expect(guardFired).toBe(false);
    expect(order).toEqual(['A']);
    // The stop was used up: the next stop-before-run does the next turn only.
    loop.stop();
    loop.runForever();
    expect(order).toEqual(['A', 'B']);
    expect(guardFired).toBe(false);
    loop.close();
  });

  it('stop() before runForever with nothing scheduled returns after one turn', () => {
    const loop = newEventLoop();
    let guardFired = false;
    const guard = loop.callLater(BOUND_MS, () => {
      guardFired = true;
    });
    guard.cancel();
    loop.stop();
    loop.runForever();
    expect(guardFired).toBe(false);
    expect(loop.isRunning()).toBe(false);
    loop.close();
  });

  it('runUntilComplete throws ERR_LOOP_STOPPED when stop() ends it before the future is done; a later run completes it', () => {
    const loop = newEventLoop();
    const f = loop.createFuture<number>();
    loop.callSoon(() => loop.stop());
    const error = thrown(() => loop.runUntilComplete(f));
    expect(error).toBeInstanceOf(evloop.EvloopError);
    expect(error.code).toBe('ERR_LOOP_STOPPED');
    expect(f.done()).toBe(false);
    loop.callSoon(() => f.setResult(3));
    expect(loop.runUntilComplete(f)).toBe(3);
    loop.close();
  });

  it('runUntilComplete throws ERR_LOOP_STALLED instead of hanging when nothing can complete the future', () => {
    const loop = newEventLoop();
    const f = loop.createFuture<number>();
    const error = thrown(() => loop.runUntilComplete(f));
    expect(error).toBeInstanceOf(evloop.EvloopError);
    expect(error.code).toBe('ERR_LOOP_STALLED');
    expect(loop.isRunning()).toBe(false);
    // The loop is still usable.
    loop.callSoon(() => f.setResult(1));
    expect(loop.runUntilComplete(f)).toBe(1);
    loop.close();
  });

  it('a loop can be run many times', () => {
    const loop = newEventLoop();
    for (let i = 0; i < 5; i++) {
      const f = loop.createFuture<number>();
      loop.callLater(0, () => f.setResult(i));
      expect(loop.runUntilComplete(f)).toBe(i);
      loop.callSoon(() => loop.stop());
      loop.runForever();
    }
    loop.close();
  });

  it('runForever keeps running with nothing scheduled (it is not stalled, it does not return)', () => {
    // Nothing is scheduled and nothing will wake it: a worker waits until the main thread is about
    // to enter runForever, gives it 300 ms to return or throw (it must do neither), then kills the
    // process.
    const r = runChild(`
      const { Worker } = require('node:worker_threads');
      const flag = new Int32Array(new SharedArrayBuffer(4));
      new Worker(
        'const { workerData } = require("node:worker_threads");' +
        'Atomics.wait(workerData, 0, 0, 8000);' +
        'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);' +
        'process.kill(process.pid, "SIGKILL");',
        { eval: true, workerData: flag },
      );
      const loop = evloop.newEventLoop();
      console.log('entered');
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      try { loop.runForever(); console.log('returned'); } catch (e) { console.log('threw', e.code); }
    `);
    expect(r.stdout.trim()).toBe('entered');
    expect(r.signal).toBe('SIGKILL');
  });

  it('runForever with nothing scheduled returns once another thread wakes it and a callback calls stop()', () => {
    const r = runChild(`
      const { Worker } = require('node:worker_threads');
      const loop = evloop.newEventLoop();
      const ref = loop.share();
      const flag = new Int32Array(new SharedArrayBuffer(4));
      loop.onMessage((value) => { console.log('got', value); loop.stop(); });
      const worker = new Worker(
        'const { workerData } = require("node:worker_threads");' +
        'const evloop = require(workerData.entry);' +
        // Post once the main thread is (about to be) blocked in runForever.
        'Atomics.wait(workerData.flag, 0, 0, 8000);' +
        'evloop.post(workerData.ref, "wake-up");',
        { eval: true, workerData: { ref, flag, entry: ${JSON.stringify(entry)} } },
      );
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      loop.runForever();
      console.log('returned');
      loop.close();
      worker.terminate();
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['got wake-up', 'returned']);
  });
});

describe('private loop: closing', () => {
  it('close() makes isClosed() true; closing twice is harmless', () => {
    const loop = newEventLoop();
    expect(loop.isClosed()).toBe(false);
    loop.close();
    expect(loop.isClosed()).toBe(true);
    expect(() => loop.close()).not.toThrow();
    expect(loop.isClosed()).toBe(true);
  });

  it('Symbol.dispose closes the loop', () => {
    const loop = newEventLoop();
    expect(typeof loop[Symbol.dispose]).toBe('function');
    loop[Symbol.dispose]();
    expect(loop.isClosed()).toBe(true);
  });

  const closedCalls: [string, (loop: EventLoop, other: Future<unknown>) => unknown][] = [
    ['callSoon', (l) => l.callSoon(() => {})],
    ['callSoonThreadsafe', (l) => l.callSoonThreadsafe(() => {})],
    ['callLater', (l) => l.callLater(1, () => {})],
    ['callAt', (l) => l.callAt(l.time(), () => {})],
    ['createFuture', (l) => l.createFuture()],
    ['createTask(generator)', (l) => l.createTask((function* () {})())],
    ['runInExecutor(null, ...)', (l) => l.runInExecutor(null, evloop.tasks.sleep, 1)],
    ['runInExecutor(executor, ...)', (l) => l.runInExecutor(new evloop.ThreadPoolExecutor({ maxWorkers: 1 }), evloop.tasks.sleep, 1)],
    ['runForever', (l) => l.runForever()],
    ['runUntilComplete(generator)', (l) => l.runUntilComplete((function* () {})())],
    ['runUntilComplete(future)', (l, f) => l.runUntilComplete(f)],
  ];
  it.each(closedCalls)('%s on a closed loop throws ERR_LOOP_CLOSED', (_name, call) => {
    const loop = newEventLoop();
    const f = loop.createFuture();
    loop.close();
    const error = thrown(() => call(loop, f));
    expect(error).toBeInstanceOf(evloop.EvloopError);
    expect(error.code).toBe('ERR_LOOP_CLOSED');
  });
});

describe('ERR_LOOP_RUNNING', () => {
  /** Runs `inside` in a callback of a running private loop and returns what it threw. */
  function errorInside(loop: EventLoop, inside: () => unknown): any {
    const f = loop.createFuture<unknown>();
    loop.callSoon(() => {
      try {
        inside();
        f.setResult(undefined);
      } catch (error) {
        f.setResult(error);
      }
    });
    return loop.runUntilComplete(f);
  }

  it('running a loop that is running: runForever', () => {
    const loop = newEventLoop();
    const error = errorInside(loop, () => loop.runForever());
    expect(error).toBeInstanceOf(evloop.EvloopError);
    expect(error.code).toBe('ERR_LOOP_RUNNING');
    loop.close();
  });

  it('running a loop that is running: runUntilComplete', () => {
    const loop = newEventLoop();
    const g = loop.createFuture<number>();
    g.setResult(1);
    const error = errorInside(loop, () => loop.runUntilComplete(g));
    expect(error?.code).toBe('ERR_LOOP_RUNNING');
    loop.close();
  });

  it('running a second loop on the thread where one runs', () => {
    const loop = newEventLoop();
    const second = newEventLoop();
    const g = second.createFuture<number>();
    g.setResult(1);
    const e1 = errorInside(loop, () => second.runUntilComplete(g));
    const e2 = errorInside(loop, () => second.runForever());
    expect(e1?.code).toBe('ERR_LOOP_RUNNING');
    expect(e2?.code).toBe('ERR_LOOP_RUNNING');
    // The refused loop was left untouched: it still runs afterwards.
    expect(second.isRunning()).toBe(false);
    expect(second.runUntilComplete(g)).toBe(1);
    second.close();
    loop.close();
  });

  it('closing a running loop (and it is still open and running afterwards)', () => {
    const loop = newEventLoop();
    const error = errorInside(loop, () => loop.close());
    expect(error).toBeInstanceOf(evloop.EvloopError);
    expect(error.code).toBe('ERR_LOOP_RUNNING');
    expect(loop.isClosed()).toBe(false);
    const f = loop.createFuture<number>();
    loop.callSoon(() => f.setResult(2));
    expect(loop.runUntilComplete(f)).toBe(2);
    loop.close();
  });

  it('run() inside a running loop', () => {
    const loop = newEventLoop();
    const error = errorInside(loop, () => evloop.run(function* () {}));
    expect(error?.code).toBe('ERR_LOOP_RUNNING');
    loop.close();
  });
});

describe('the host loop', () => {
  it('hostLoop() is the same EventLoop each time, always running, never closed', () => {
    const host = hostLoop();
    expect(host).toBe(hostLoop());
    expect(host).toBeInstanceOf(EventLoopClass);
    expect(host.isRunning()).toBe(true);
    expect(host.isClosed()).toBe(false);
  });

  it.each(['runForever', 'runUntilComplete', 'stop', 'close'] as const)('%s on the host loop throws ERR_HOST_LOOP', (name) => {
    const host = hostLoop();
    const f = host.createFuture<number>();
    f.setResult(1);
    const error = thrown(() => (host as any)[name](f));
    expect(error).toBeInstanceOf(evloop.EvloopError);
    expect(error.code).toBe('ERR_HOST_LOOP');
    expect(host.isClosed()).toBe(false);
    expect(host.isRunning()).toBe(true);
  });

  it('still schedules after refusing', async () => {
    const host = hostLoop();
    thrown(() => host.stop());
    const f = host.createFuture<string>();
    host.callSoon(() => f.setResult('still works'));
    expect(await hostLoopKindDrive(host, f)).toBe('still works');
  });
});

async function hostLoopKindDrive<T>(loop: EventLoop, f: Future<T>): Promise<T> {
  return LOOP_KINDS.find((k) => k.name === 'host')!.drive(loop, f);
}

describe('ERR_FOREIGN_FUTURE', () => {
  it('runUntilComplete(f) where f belongs to another private loop', () => {
    const loop = newEventLoop();
    const other = newEventLoop();
    const f = other.createFuture<number>();
    f.setResult(1);
    const error = thrown(() => loop.runUntilComplete(f));
    expect(error).toBeInstanceOf(evloop.EvloopError);
    expect(error.code).toBe('ERR_FOREIGN_FUTURE');
    expect(loop.isRunning()).toBe(false);
    loop.close();
    other.close();
  });

  it('runUntilComplete(f) where f belongs to the host loop', () => {
    const loop = newEventLoop();
    const f = hostLoop().createFuture<number>();
    const error = thrown(() => loop.runUntilComplete(f));
    expect(error.code).toBe('ERR_FOREIGN_FUTURE');
    f.cancel();
    loop.close();
  });
});

describe('which loop: getEventLoop, setEventLoop, getRunningLoop', () => {
  it('with nothing set and nothing running, getEventLoop() and getRunningLoop() are the host loop', () => {
    expect(getEventLoop()).toBe(hostLoop());
    expect(getRunningLoop()).toBe(hostLoop());
  });

  it('setEventLoop(loop) makes getEventLoop() return it; setEventLoop(null) restores the host loop', () => {
    const loop = newEventLoop();
    setEventLoop(loop);
    expect(getEventLoop()).toBe(loop);
    // Set is not running: getRunningLoop() still answers the host loop.
    expect(getRunningLoop()).toBe(hostLoop());
    setEventLoop(null);
    expect(getEventLoop()).toBe(hostLoop());
    loop.close();
  });

  it('while a private loop runs, both return it, whatever is set; afterwards the set one again', () => {
    const loop = newEventLoop();
    const other = newEventLoop();
    setEventLoop(other);
    const f = loop.createFuture<[EventLoop, EventLoop]>();
    loop.callSoon(() => f.setResult([getEventLoop(), getRunningLoop()]));
    const [current, running] = loop.runUntilComplete(f);
    expect(current).toBe(loop);
    expect(running).toBe(loop);
    expect(getEventLoop()).toBe(other);
    expect(getRunningLoop()).toBe(hostLoop());
    loop.close();
    other.close();
  });

  it('newEventLoop() makes distinct private loops, not running, not closed, not in debug mode', () => {
    const a = newEventLoop();
    const b = newEventLoop();
    expect(a).not.toBe(b);
    expect(a).not.toBe(hostLoop());
    expect(a).toBeInstanceOf(EventLoopClass);
    expect(a.isRunning()).toBe(false);
    expect(a.isClosed()).toBe(false);
    expect(a.getDebug()).toBe(false);
    expect(newEventLoop({ debug: true }).getDebug()).toBe(true);
    a.close();
    b.close();
  });

  it('in a worker thread, hostLoop() is that thread\'s own host loop and works there', () => {
    const r = runChild(`
      const { Worker } = require('node:worker_threads');
      const mainHost = evloop.hostLoop();
      const worker = new Worker(
        'const { parentPort, workerData } = require("node:worker_threads");' +
        'const evloop = require(workerData.entry);' +
        'const host = evloop.hostLoop();' +
        'const f = host.createFuture();' +
        'host.callLater(1, () => f.setResult(host === evloop.getEventLoop()));' +
        'f.then((v) => parentPort.postMessage(v));',
        { eval: true, workerData: { entry: ${JSON.stringify(entry)} } },
      );
      worker.on('message', (v) => { console.log('worker says', v, mainHost.isRunning()); worker.terminate(); });
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('worker says true true');
  });
});
