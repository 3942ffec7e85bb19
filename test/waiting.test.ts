// The waiting helpers, as asyncio's test_tasks checks sleep, gather, wait_for and shield.
// They are driven by generator coroutines, so they run on both loops in the test body.
import { afterEach, describe, expect, it } from 'vitest';
import { LOOP_KINDS, evloop, runChild, type LoopKind } from './harness';
import type { EventLoop, Future } from '../dist/cjs/index.js';

const { sleep, gather, waitFor, shield, CancelledError, TimeoutError, EvloopError } = evloop;

/** Runs the generator function as a Task of `loop` and waits for it (bounded). */
function runGen<T>(kind: LoopKind, loop: EventLoop, gen: () => Generator<any, T, any>): Promise<T> {
  return kind.drive(loop, loop.createTask(gen()));
}

async function rejection(kind: LoopKind, loop: EventLoop, f: Future<unknown>): Promise<any> {
  try {
    await kind.drive(loop, f);
  } catch (error) {
    return error;
  }
  throw new Error('expected the future to fail');
}

/** A generator that records its end and returns `value` after `ms`. */
function* after<T>(ms: number, value: T, log?: string[]): Generator<any, T, any> {
  try {
    yield sleep(ms);
    log?.push(`done ${String(value)}`);
    return value;
  } finally {
    log?.push(`finally ${String(value)}`);
  }
}

afterEach(() => {
  evloop.setEventLoop(null);
});

describe.each(LOOP_KINDS)('$name loop: sleep', (kind: LoopKind) => {
  it('sleep(ms, value) gives the value, not before ms have passed by loop.time()', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      const start = loop.time();
      const v = yield sleep(15, 'woke');
      return [v, loop.time() - start];
    });
    expect(result[0]).toBe('woke');
    expect(result[1]).toBeGreaterThanOrEqual(15 - 1);
    kind.dispose(loop);
  });

  it('sleep() without a value gives undefined; a negative or zero sleep is already due', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      return [yield sleep(0), yield sleep(-5, 'negative')];
    });
    expect(result).toEqual([undefined, 'negative']);
    kind.dispose(loop);
  });

  it('returns a Future of the running loop (inside a run), else of getEventLoop()', async () => {
    const loop = kind.make();
    const inside = await runGen(kind, loop, function* () {
      const f = sleep(1);
      yield f;
      return f.getLoop();
    });
    expect(inside).toBe(loop);
    if (kind.name === 'private') {
      evloop.setEventLoop(loop);
      const f = sleep(1);
      expect(f.getLoop()).toBe(loop);
      expect(loop.runUntilComplete(f)).toBeUndefined();
      evloop.setEventLoop(null);
    }
    const h = sleep(1);
    expect(h.getLoop()).toBe(evloop.hostLoop());
    h.cancel();
    kind.dispose(loop);
  });

  it('sleep(0) gives other tasks a turn', async () => {
    const loop = kind.make();
    const order: string[] = [];
    const a = loop.createTask(
      (function* () {
        order.push('a1');
        yield sleep(0);
        order.push('a2');
      })(),
    );
    const b = loop.createTask(
      (function* () {
        order.push('b1');
        yield sleep(0);
        order.push('b2');
      })(),
    );
    await kind.drive(loop, a);
    await kind.drive(loop, b);
    expect(order).toEqual(['a1', 'b1', 'a2', 'b2']);
    kind.dispose(loop);
  });

  it('a cancelled sleep wakes the task waiting on it with CancelledError', async () => {
    const loop = kind.make();
    let s: Future<void> | undefined;
    const task = loop.createTask(
      (function* () {
        s = sleep(60_000);
        try {
          yield s;
          return 'slept';
        } catch (e) {
          return e instanceof CancelledError ? 'cancelled' : 'other';
        }
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => s!.cancel()));
    expect(await kind.drive(loop, task)).toBe('cancelled');
    expect(s!.cancelled()).toBe(true);
    kind.dispose(loop);
  });
});

describe.each(LOOP_KINDS)('$name loop: gather', (kind: LoopKind) => {
  it('gives the results in the order of its input, not of completion', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      return yield gather([after(20, 'slow'), after(1, 'fast'), after(10, 'middle')]);
    });
    expect(result).toEqual(['slow', 'fast', 'middle']);
    kind.dispose(loop);
  });

  it('accepts Futures, Tasks and generators together', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      const f = loop.createFuture<number>();
      loop.callLater(2, () => f.setResult(1));
      const t = loop.createTask(after(1, 2));
      const done = loop.createFuture<number>();
      done.setResult(4);
      return yield gather([f, t, after(3, 3), done]);
    });
    expect(result).toEqual([1, 2, 3, 4]);
    kind.dispose(loop);
  });

  it('gather([]) gives an empty array', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      return yield gather([]);
    });
    expect(result).toEqual([]);
    kind.dispose(loop);
  });

  it('fails with the first error while the others go on', async () => {
    const loop = kind.make();
    const log: string[] = [];
    const error = new Error('first failure');
    const later = new Error('later failure');
    let children: Future<unknown>[] = [];
    const gate = loop.createFuture<string>();
    const outcome = await runGen(kind, loop, function* () {
      const a = loop.createTask(
        (function* () {
          try {
            const v = (yield gate) as string;
            log.push(`done ${v}`);
            return v;
          } finally {
            log.push('finally a');
          }
        })(),
      );
      const bad = loop.createTask(
        (function* () {
          yield sleep(1);
          throw error;
        })(),
      );
      const bad2 = loop.createTask(
        (function* () {
          yield sleep(5);
          throw later;
        })(),
      );
      children = [a, bad, bad2];
      const g = gather([a, bad, bad2]);
      let caught: unknown;
      try {
        yield g;
      } catch (e) {
        caught = e;
      }
      const aDoneWhenCaught = a.done();
      // The others were not cancelled: they run to the end.
      gate.setResult('a');
      const rest = yield a;
      return { caught, aDoneWhenCaught, rest };
    });
    expect(outcome.caught).toBe(error);
    expect(outcome.aDoneWhenCaught).toBe(false);
    expect(outcome.rest).toBe('a');
    expect(log).toEqual(['done a', 'finally a']);
    expect(children[0].cancelled()).toBe(false);
    await kind.drive(loop, children[2]).catch(() => {});
    expect(children[2].exception()).toBe(later);
    kind.dispose(loop);
  });

  it('with returnExceptions, errors take their places among the results', async () => {
    const loop = kind.make();
    const error = new TypeError('in place');
    const result = await runGen(kind, loop, function* () {
      const failing = (function* () {
        yield sleep(1);
        throw error;
      })();
      return yield gather([after(3, 'x'), failing, after(1, 'z')], { returnExceptions: true });
    });
    expect(result).toEqual(['x', error, 'z']);
    expect(result[1]).toBe(error);
    kind.dispose(loop);
  });

  it('cancelling the gather cancels its children; it ends cancelled', async () => {
    const loop = kind.make();
    const log: string[] = [];
    let g: Future<unknown[]> | undefined;
    let kids: Future<unknown>[] = [];
    const task = loop.createTask(
      (function* () {
        kids = [loop.createTask(after(60_000, 'a', log)), loop.createTask(after(60_000, 'b', log))];
        g = gather(kids);
        try {
          yield g;
          return 'not cancelled';
        } catch (e) {
          return e instanceof CancelledError ? 'cancelled' : `other: ${String(e)}`;
        }
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => expect(g!.cancel()).toBe(true)));
    expect(await kind.drive(loop, task)).toBe('cancelled');
    expect(g!.cancelled()).toBe(true);
    for (const kid of kids) expect(kid.cancelled()).toBe(true);
    expect(log.sort()).toEqual(['finally a', 'finally b']);
    kind.dispose(loop);
  });

  it('a child cancelled from outside fails the gather with CancelledError; with returnExceptions it is in the results', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      const a = loop.createFuture<number>();
      const b = loop.createFuture<number>();
      const plain = gather([a, b]);
      const kept = gather([a, b], { returnExceptions: true });
      loop.callSoon(() => a.cancel());
      loop.callLater(1, () => b.setResult(2));
      let plainError: unknown;
      try {
        yield plain;
      } catch (e) {
        plainError = e;
      }
      const list = (yield kept) as unknown[];
      return { plainError, plainCancelled: plain.cancelled(), list };
    });
    expect(result.plainError).toBeInstanceOf(CancelledError);
    expect(result.list[0]).toBeInstanceOf(CancelledError);
    expect(result.list[1]).toBe(2);
    kind.dispose(loop);
  });

  it('returns a Future of the loop of its Futures', async () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    const g = gather([f]);
    expect(g.getLoop()).toBe(loop);
    f.setResult(1);
    expect(await kind.drive(loop, g)).toEqual([1]);
    kind.dispose(loop);
  });
});

describe.each(LOOP_KINDS)('$name loop: waitFor', (kind: LoopKind) => {
  it('gives the value when it comes in time', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      return yield waitFor(after(1, 'in time'), 5_000);
    });
    expect(result).toBe('in time');
    kind.dispose(loop);
  });

  it('with a null timeout, waits as long as it takes', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      return yield waitFor(after(5, 'no limit'), null);
    });
    expect(result).toBe('no limit');
    kind.dispose(loop);
  });

  it('fails with TimeoutError (code ERR_TIMEOUT, an EvloopError) and cancels the inner Future when time runs out', async () => {
    const loop = kind.make();
    const inner = loop.createFuture<number>();
    const result = await runGen(kind, loop, function* () {
      const start = loop.time();
      try {
        yield waitFor(inner, 10);
        return { error: null, waited: 0 };
      } catch (e) {
        return { error: e as any, waited: loop.time() - start };
      }
    });
    expect(result.error).toBeInstanceOf(TimeoutError);
    expect(result.error).toBeInstanceOf(EvloopError);
    expect(result.error.code).toBe('ERR_TIMEOUT');
    expect(result.waited).toBeGreaterThanOrEqual(10 - 1);
    expect(inner.cancelled()).toBe(true);
    kind.dispose(loop);
  });

  it('on timeout, an inner coroutine is cancelled: its finally runs', async () => {
    const loop = kind.make();
    const log: string[] = [];
    let inner: Future<string> | undefined;
    const result = await runGen(kind, loop, function* () {
      inner = loop.createTask(after(60_000, 'never', log));
      try {
        return yield waitFor(inner, 5);
      } catch (e) {
        return (e as any).code;
      }
    });
    expect(result).toBe('ERR_TIMEOUT');
    expect(inner!.cancelled()).toBe(true);
    expect(log).toEqual(['finally never']);
    kind.dispose(loop);
  });

  it('passes the inner error on, the same object', async () => {
    const loop = kind.make();
    const error = new Error('inner failed');
    const result = await runGen(kind, loop, function* () {
      const f = loop.createFuture<number>();
      loop.callSoon(() => f.setException(error));
      try {
        yield waitFor(f, 5_000);
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(result).toBe(error);
    kind.dispose(loop);
  });

  it('cancelling the wait cancels what it waits for', async () => {
    const loop = kind.make();
    const inner = loop.createFuture<number>();
    let w: Future<number> | undefined;
    const task = loop.createTask(
      (function* () {
        w = waitFor(inner, 60_000);
        return yield w;
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => task.cancel()));
    expect(await rejection(kind, loop, task)).toBeInstanceOf(CancelledError);
    expect(w!.cancelled()).toBe(true);
    expect(inner.cancelled()).toBe(true);
    kind.dispose(loop);
  });

  it('a Future that is already done gives its result even with a zero timeout', async () => {
    const loop = kind.make();
    const f = loop.createFuture<string>();
    f.setResult('was done');
    const result = await runGen(kind, loop, function* () {
      return yield waitFor(f, 0);
    });
    expect(result).toBe('was done');
    kind.dispose(loop);
  });
});

describe.each(LOOP_KINDS)('$name loop: shield', (kind: LoopKind) => {
  it('follows the inner result', async () => {
    const loop = kind.make();
    const result = await runGen(kind, loop, function* () {
      return yield shield(after(2, 'shielded'));
    });
    expect(result).toBe('shielded');
    kind.dispose(loop);
  });

  it('follows the inner error', async () => {
    const loop = kind.make();
    const error = new Error('through the shield');
    const result = await runGen(kind, loop, function* () {
      const f = loop.createFuture<number>();
      loop.callSoon(() => f.setException(error));
      try {
        yield shield(f);
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(result).toBe(error);
    kind.dispose(loop);
  });

  it('cancelling the shield does not cancel the inner, which completes', async () => {
    const loop = kind.make();
    const inner = loop.createFuture<string>();
    const s = shield(inner);
    expect(s.cancel()).toBe(true);
    expect(s.cancelled()).toBe(true);
    expect(inner.cancelled()).toBe(false);
    loop.callSoon(() => inner.setResult('still done'));
    expect(await kind.drive(loop, inner)).toBe('still done');
    kind.dispose(loop);
  });

  it('a task waiting on a shield is cancelled while the inner coroutine goes on to the end', async () => {
    const loop = kind.make();
    const log: string[] = [];
    let inner: Future<string> | undefined;
    const gate = loop.createFuture<void>();
    const task = loop.createTask(
      (function* () {
        inner = loop.createTask(
          (function* () {
            yield gate;
            return yield* after(1, 'inner', log);
          })(),
        );
        return yield shield(inner);
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => task.cancel()));
    expect(await rejection(kind, loop, task)).toBeInstanceOf(CancelledError);
    expect(inner!.done()).toBe(false);
    expect(inner!.cancelled()).toBe(false);
    gate.setResult();
    expect(await kind.drive(loop, inner!)).toBe('inner');
    expect(log).toEqual(['done inner', 'finally inner']);
    kind.dispose(loop);
  });

  it('an inner cancelled from outside cancels the shield', async () => {
    const loop = kind.make();
    const inner = loop.createFuture<number>();
    const s = shield(inner);
    loop.callSoon(() => inner.cancel());
    expect(await rejection(kind, loop, s)).toBeInstanceOf(CancelledError);
    expect(s.cancelled()).toBe(true);
    kind.dispose(loop);
  });
});

describe('helpers with async functions (child process)', () => {
  it('sleep, gather, waitFor and shield awaited in async code on a private loop and on the host loop', () => {
    const r = runChild(`
      const { sleep, gather, waitFor, shield } = evloop;
      async function main() {
        const out = [];
        out.push(await sleep(1, 'slept'));
        out.push(await gather([sleep(3, 'a'), Promise.resolve('b'), (async () => { await sleep(1); return 'c'; })()]));
        try { await waitFor(sleep(60_000), 5); } catch (e) { out.push(e.code); }
        out.push(await shield(sleep(1, 'shielded')));
        return out;
      }
      const viaRun = evloop.run(main);
      main().then((viaHost) => console.log(JSON.stringify({ viaRun, viaHost })));
    `);
    expect(r.stderr).toBe('');
    const expected = ['slept', ['a', 'b', 'c'], 'ERR_TIMEOUT', 'shielded'];
    expect(JSON.parse(r.stdout)).toEqual({ viaRun: expected, viaHost: expected });
  });
});
