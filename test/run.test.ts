// run(), asyncio.run's synchronous bridge: main's value or error, what is left is cancelled, the
// default executor shut down, the loop closed; an AbortSignal for main; ERR_LOOP_STALLED instead
// of a hang; ERR_LOOP_RUNNING inside a running loop. Generator mains run in the test body, async
// mains in child CommonJS processes.
import { afterEach, describe, expect, it } from 'vitest';
import { evloop, runChild, thrown } from './harness';
import type { EventLoop, Future, Task } from '../dist/cjs/index.js';

const { run, sleep, getRunningLoop, getEventLoop, hostLoop, CancelledError, EvloopError } = evloop;

afterEach(() => {
  evloop.setEventLoop(null);
});

describe('run() with generator coroutines (test body)', () => {
  it("returns main's value", () => {
    expect(
      run(function* () {
        const v = (yield sleep(1, 20)) as number;
        return v + 22;
      }),
    ).toBe(42);
  });

  it('accepts a generator object as well as a generator function', () => {
    expect(
      run(
        (function* () {
          yield;
          return 'object';
        })(),
      ),
    ).toBe('object');
  });

  it('accepts a plain function and returns its value', () => {
    expect(run(() => 7)).toBe(7);
  });

  it("throws main's error, the same object", () => {
    const error = new Error('main failed');
    expect(
      thrown(() =>
        run(function* () {
          yield sleep(1);
          throw error;
        }),
      ),
    ).toBe(error);
  });

  it('throws CancelledError when main is cancelled', () => {
    const error = thrown(() =>
      run(function* () {
        const f = getRunningLoop().createFuture<number>();
        getRunningLoop().callSoon(() => f.cancel('gone'));
        yield f;
      }),
    );
    expect(error).toBeInstanceOf(CancelledError);
  });

  it('passes main an AbortSignal that is not aborted', () => {
    let signal: unknown;
    run(function* (s: AbortSignal) {
      signal = s;
      yield;
    });
    expect(signal).toBeInstanceOf(AbortSignal);
    expect((signal as AbortSignal).aborted).toBe(false);
  });

  it('runs main on a fresh private loop, the running and current loop during the run, closed afterwards', () => {
    let seen: { running: EventLoop; current: EventLoop; isRunning: boolean } | undefined;
    run(function* () {
      yield;
      seen = { running: getRunningLoop(), current: getEventLoop(), isRunning: getRunningLoop().isRunning() };
    });
    expect(seen!.running).not.toBe(hostLoop());
    expect(seen!.current).toBe(seen!.running);
    expect(seen!.isRunning).toBe(true);
    expect(seen!.running.isClosed()).toBe(true);
    expect(thrown(() => seen!.running.callSoon(() => {})).code).toBe('ERR_LOOP_CLOSED');
    // Afterwards, which loop is current is as it was.
    expect(getEventLoop()).toBe(hostLoop());
    expect(getRunningLoop()).toBe(hostLoop());
  });

  it('each run gets a new loop', () => {
    const a = run(function* () {
      yield;
      return getRunningLoop();
    });
    const b = run(function* () {
      yield;
      return getRunningLoop();
    });
    expect(a).not.toBe(b);
  });

  it('restores the loop set with setEventLoop afterwards', () => {
    const mine = evloop.newEventLoop();
    evloop.setEventLoop(mine);
    run(function* () {
      yield;
    });
    expect(getEventLoop()).toBe(mine);
    mine.close();
  });

  it('closes the loop also when main fails', () => {
    let loop: EventLoop | undefined;
    thrown(() =>
      run(function* () {
        loop = getRunningLoop();
        yield;
        throw new Error('x');
      }),
    );
    expect(loop!.isClosed()).toBe(true);
  });

  it('options.debug puts the loop in debug mode', () => {
    expect(
      run(
        function* () {
          yield;
          return getRunningLoop().getDebug();
        },
        { debug: true },
      ),
    ).toBe(true);
    expect(
      run(function* () {
        yield;
        return getRunningLoop().getDebug();
      }),
    ).toBe(false);
  });

  it('cancels the tasks left when main returns: their finally runs, they end cancelled', () => {
    const log: string[] = [];
    let leftover: Task<unknown> | undefined;
    let caught: unknown;
    const v = run(function* () {
      leftover = getRunningLoop().createTask(
        (function* () {
          try {
            log.push('leftover started');
            yield sleep(60_000);
            log.push('not reached');
          } catch (e) {
            caught = e;
            throw e;
          } finally {
            log.push('leftover finally');
          }
        })(),
      );
      yield sleep(1);
      return 'main done';
    });
    expect(v).toBe('main done');
    expect(log).toEqual(['leftover started', 'leftover finally']);
    expect(caught).toBeInstanceOf(CancelledError);
    expect(leftover!.cancelled()).toBe(true);
  });

  it('cancels what is left also when main fails', () => {
    const log: string[] = [];
    const error = new Error('main failed');
    expect(
      thrown(() =>
        run(function* () {
          getRunningLoop().createTask(
            (function* () {
              try {
                yield sleep(60_000);
              } finally {
                log.push('leftover finally');
              }
            })(),
          );
          yield sleep(1);
          throw error;
        }),
      ),
    ).toBe(error);
    expect(log).toEqual(['leftover finally']);
  });

  it('lets a leftover task clean up over several turns before closing', () => {
    const log: string[] = [];
    run(function* () {
      getRunningLoop().createTask(
        (function* () {
          try {
            yield sleep(60_000);
          } finally {
            yield sleep(2); // asynchronous cleanup
            log.push('cleaned up');
          }
        })(),
      );
      yield;
    });
    expect(log).toEqual(['cleaned up']);
  });

  it('reports a leftover task that fails while being cancelled through the exception handler', () => {
    const reports: any[] = [];
    const error = new Error('failed during cancellation');
    run(function* () {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
      loop.createTask(
        (function* () {
          try {
            yield sleep(60_000);
          } catch {
            throw error;
          }
        })(),
      );
      yield;
    });
    expect(reports.length).toBe(1);
    expect(reports[0].exception).toBe(error);
  });

  it('shuts down its default executor', () => {
    let executor: InstanceType<typeof evloop.ThreadPoolExecutor> | undefined;
    run(function* () {
      executor = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      getRunningLoop().setDefaultExecutor(executor);
      yield;
    });
    const error = thrown(() => executor!.submit(evloop.tasks.sleep, 1));
    expect(error.code).toBe('ERR_EXECUTOR_SHUTDOWN');
  });

  it("waits for the loop's work on the shared default pool, which stays usable by others", () => {
    let work: Future<void> | undefined;
    run(function* () {
      // Not awaited: run() still waits for it before closing the loop.
      work = getRunningLoop().runInExecutor(null, evloop.tasks.sleep, 20);
      yield;
    });
    expect(work!.done()).toBe(true);
    expect(work!.cancelled()).toBe(false);
    // The shared pool was not shut down.
    const again = run(function* () {
      yield getRunningLoop().runInExecutor(null, evloop.tasks.sleep, 1);
      return 'pool still works';
    });
    expect(again).toBe('pool still works');
  });

  it('throws ERR_LOOP_STALLED instead of hanging when main waits for something nothing can complete', () => {
    let loop: EventLoop | undefined;
    const error = thrown(() =>
      run(function* () {
        loop = getRunningLoop();
        yield loop.createFuture<number>();
      }),
    );
    expect(error).toBeInstanceOf(EvloopError);
    expect(error.code).toBe('ERR_LOOP_STALLED');
    expect(loop!.isClosed()).toBe(true);
    // Nothing is left behind: another run works.
    expect(run(function* () {
      yield;
      return 'next';
    })).toBe('next');
  });

  it('throws ERR_LOOP_RUNNING when called inside a running loop', () => {
    const outer = run(function* () {
      yield;
      try {
        run(function* () {
          yield;
        });
        return 'nested run ran';
      } catch (e) {
        return (e as any).code;
      }
    });
    expect(outer).toBe('ERR_LOOP_RUNNING');
    const loop = evloop.newEventLoop();
    const f = loop.createFuture<string>();
    loop.callSoon(() => {
      try {
        run(() => 1);
        f.setResult('ran');
      } catch (e) {
        f.setResult((e as any).code);
      }
    });
    expect(loop.runUntilComplete(f)).toBe('ERR_LOOP_RUNNING');
    loop.close();
  });
});

describe('run() with async functions and promises (child process)', () => {
  it("returns an async main's value, or throws its error", () => {
    const r = runChild(`
      const out = [];
      out.push(evloop.run(async () => { await evloop.sleep(1); return 'value'; }));
      const error = new Error('async main failed');
      try { evloop.run(async () => { await evloop.sleep(1); throw error; }); } catch (e) { out.push(e === error); }
      out.push(evloop.run(() => new Promise((resolve) => evloop.getRunningLoop().callLater(1, resolve, 'promise'))));
      let signal;
      evloop.run(async (s) => { signal = s; });
      out.push(signal instanceof AbortSignal);
      console.log(JSON.stringify(out));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['value', true, 'promise', true]);
  });

  it('run(promise) of an already settled promise', () => {
    const r = runChild(`
      let out;
      try { out = evloop.run(Promise.resolve('settled')); } catch (e) { out = e.code; }
      console.log(JSON.stringify(out));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toBe('settled');
  });

  it('cancels a leftover async task: its AbortSignal is aborted and it ends cancelled', () => {
    const r = runChild(`
      let leftover, signal;
      const v = evloop.run(async () => {
        leftover = evloop.getRunningLoop().createTask(async (s) => { signal = s; await evloop.sleep(60_000); });
        await evloop.sleep(1);
        return 'main';
      });
      console.log(JSON.stringify([v, signal.aborted, leftover.cancelled()]));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['main', true, true]);
  });

  it("ERR_LOOP_STALLED with a helpful message when main awaits fs.promises (Node's own loop)", () => {
    const r = runChild(`
      const fs = require('node:fs');
      try {
        evloop.run(async () => { await fs.promises.readFile(__filename); });
        console.log(JSON.stringify({ code: 'none' }));
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, message: e.message, isEvloop: e instanceof evloop.EvloopError }));
      }
    `);
    expect(r.signal).toBeNull();
    const out = JSON.parse(r.stdout);
    expect(out.code).toBe('ERR_LOOP_STALLED');
    expect(out.isEvloop).toBe(true);
    // Helpful: it names the cause (Node's own loop) and a way out.
    expect(out.message).toMatch(/Node/);
    expect(out.message).toMatch(/host loop|runInExecutor|pool/);
  });

  it('ERR_LOOP_STALLED when main awaits a setTimeout promise', () => {
    const r = runChild(`
      const { setTimeout: delay } = require('node:timers/promises');
      const out = [];
      try { evloop.run(async () => { await delay(10); }); out.push('none'); } catch (e) { out.push(e.code); }
      try { evloop.run(async () => { await new Promise((r) => setTimeout(r, 10)); }); out.push('none'); } catch (e) { out.push(e.code); }
      // Node's loop turns again afterwards: the process is fine.
      setTimeout(() => console.log(JSON.stringify(out)), 1);
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['ERR_LOOP_STALLED', 'ERR_LOOP_STALLED']);
  });

  it('the same awaits work from async code on the host loop', () => {
    const r = runChild(`
      const fs = require('node:fs');
      (async () => {
        const text = await fs.promises.readFile(__filename, 'utf8').catch(() => 'eval');
        const f = evloop.hostLoop().createFuture();
        evloop.hostLoop().callLater(1, () => f.setResult('host ok'));
        console.log(await f);
      })();
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('host ok');
  });

  it('run() from a host loop callback works and blocks until done', () => {
    const r = runChild(`
      evloop.hostLoop().callSoon(() => {
        const v = evloop.run(async () => { await evloop.sleep(1); return 'inside host callback'; });
        console.log(v);
      });
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('inside host callback');
  });
});

describe('run() of a function that returns a Future of its loop (test body: no microtasks)', () => {
  it('returns the Future\'s result, even inside a microtask', () => {
    const value = evloop.run(() => {
      const loop = evloop.getRunningLoop();
      const f = loop.createFuture<number>();
      loop.callLater(1, () => f.setResult(41 + 1));
      return f;
    });
    expect(value).toBe(42);
  });

  it('throws the Future\'s error, and cancelling the task cancels the Future', () => {
    expect(() =>
      evloop.run(() => {
        const loop = evloop.getRunningLoop();
        const f = loop.createFuture<number>();
        loop.callSoon(() => f.setException(new RangeError('nope')));
        return f;
      }),
    ).toThrow(RangeError);
    const loop = evloop.newEventLoop();
    const inner = loop.createFuture<number>();
    const task = loop.createTask(() => inner);
    loop.callSoon(() => loop.callSoon(() => task.cancel('stop')));
    expect(() => loop.runUntilComplete(task)).toThrow(expect.objectContaining({ code: 'ERR_CANCELLED' }));
    expect(inner.cancelled()).toBe(true);
    loop.close();
  });
});
