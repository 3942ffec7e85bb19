// Task, as asyncio's test_tasks checks it, for the two kinds of coroutine: generators stepped by
// the loop (in the test body, on both loops) and async functions / promises (on the host loop in
// the test body, on a private loop in a child CommonJS process); cancellation of each kind; and
// the ERR_MICROTASK_CONTEXT rule, including the ES module top level.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { afterTurns, evloop, LOOP_KINDS, type LoopKind, root, runChild, thrown } from './harness';
import type { EventLoop, Future, Task } from '../dist/cjs/index.js';

const { CancelledError, EvloopError, Task: TaskClass, Future: FutureClass } = evloop;

/** Waits for `f` and returns what it threw (fails when it did not throw). */
async function rejection(kind: LoopKind, loop: EventLoop, f: Future<unknown>): Promise<any> {
  try {
    await kind.drive(loop, f);
  } catch (error) {
    return error;
  }
  throw new Error('expected the future to fail');
}

describe.each(LOOP_KINDS)('$name loop: generator coroutines', (kind: LoopKind) => {
  it('a generator yields Futures, receives their results and its return value is the result', async () => {
    const loop = kind.make();
    const task = loop.createTask(
      (function* () {
        const a = loop.createFuture<number>();
        loop.callLater(1, () => a.setResult(20));
        const x = (yield a) as number;
        const b = loop.createFuture<number>();
        loop.callSoon(() => b.setResult(22));
        const y = (yield b) as number;
        return x + y;
      })(),
    );
    expect(task).toBeInstanceOf(TaskClass);
    expect(task).toBeInstanceOf(FutureClass);
    expect(task.getLoop()).toBe(loop);
    expect(await kind.drive(loop, task)).toBe(42);
    expect(task.done()).toBe(true);
    expect(task.result()).toBe(42);
    kind.dispose(loop);
  });

  it('does not start the generator synchronously in createTask', async () => {
    const loop = kind.make();
    let started = false;
    const task = loop.createTask(function* () {
      started = true;
      return 1;
    });
    expect(started).toBe(false);
    expect(task.done()).toBe(false);
    expect(await kind.drive(loop, task)).toBe(1);
    expect(started).toBe(true);
    kind.dispose(loop);
  });

  it('the error of a yielded Future is thrown in at the yield; the generator can catch it and go on', async () => {
    const loop = kind.make();
    const error = new Error('yielded future failed');
    const task = loop.createTask(
      (function* () {
        const f = loop.createFuture<number>();
        loop.callSoon(() => f.setException(error));
        let caught: unknown;
        try {
          yield f;
        } catch (e) {
          caught = e;
        }
        const g = loop.createFuture<string>();
        loop.callSoon(() => g.setResult('went on'));
        return [caught, (yield g) as string];
      })(),
    );
    const [caught, after] = (await kind.drive(loop, task)) as [unknown, string];
    expect(caught).toBe(error);
    expect(after).toBe('went on');
    kind.dispose(loop);
  });

  it('an error the generator does not catch fails the task with that error', async () => {
    const loop = kind.make();
    const error = new TypeError('escaped');
    const task = loop.createTask(
      (function* () {
        yield;
        throw error;
      })(),
    );
    expect(await rejection(kind, loop, task)).toBe(error);
    expect(task.exception()).toBe(error);
    expect(task.cancelled()).toBe(false);
    kind.dispose(loop);
  });

  it('an error thrown before the first yield fails the task too', async () => {
    const loop = kind.make();
    const error = new Error('at once');
    // eslint-disable-next-line require-yield
    const task = loop.createTask(function* () {
      throw error;
    });
    expect(await rejection(kind, loop, task)).toBe(error);
    kind.dispose(loop);
  });

  it('a bare yield gives the loop one turn: two tasks interleave', async () => {
    const loop = kind.make();
    const order: string[] = [];
    const make = (name: string) =>
      loop.createTask(
        (function* () {
          for (let i = 0; i < 3; i++) {
            order.push(`${name}${i}`);
            yield;
          }
        })(),
      );
    const a = make('a');
    const b = make('b');
    await kind.drive(loop, b);
    await kind.drive(loop, a);
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    kind.dispose(loop);
  });

  it('a bare yield lets callbacks scheduled meanwhile run before the generator resumes', async () => {
    const loop = kind.make();
    const order: string[] = [];
    const task = loop.createTask(
      (function* () {
        order.push('before');
        loop.callSoon(() => order.push('callback'));
        yield;
        order.push('after');
      })(),
    );
    await kind.drive(loop, task);
    expect(order).toEqual(['before', 'callback', 'after']);
    kind.dispose(loop);
  });

  it('yielding a nested generator runs it and gives its return value; its error comes out at the yield', async () => {
    const loop = kind.make();
    function* child(x: number): Generator<any, number, any> {
      const f = loop.createFuture<number>();
      loop.callSoon(() => f.setResult(x * 2));
      return (yield f) as number;
    }
    function* failing(): Generator<any, never, any> {
      yield;
      throw new Error('nested failure');
    }
    // (The Coroutine type names Futures and promises as what a generator yields; a nested
    // generator is accepted at run time, as asyncio awaits a coroutine.)
    const task = loop.createTask(
      (function* (): Generator<any, unknown, any> {
        const a = (yield child(5)) as number;
        const b = (yield child(a)) as number;
        let message = '';
        try {
          yield failing();
        } catch (e) {
          message = (e as Error).message;
        }
        return [a, b, message];
      })(),
    );
    expect(await kind.drive(loop, task)).toEqual([10, 20, 'nested failure']);
    kind.dispose(loop);
  });

  it('yielding a Task waits for it and gives its result', async () => {
    const loop = kind.make();
    const inner = loop.createTask(
      (function* () {
        yield;
        return 'inner done';
      })(),
    );
    const outer = loop.createTask(
      (function* () {
        return `outer saw ${(yield inner) as string}`;
      })(),
    );
    expect(await kind.drive(loop, outer)).toBe('outer saw inner done');
    kind.dispose(loop);
  });

  it('yielding a Future that is already done resumes with its result', async () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    f.setResult(9);
    const task = loop.createTask(
      (function* () {
        return ((yield f) as number) + 1;
      })(),
    );
    expect(await kind.drive(loop, task)).toBe(10);
    kind.dispose(loop);
  });

  it('yielding a Future of another loop throws ERR_FOREIGN_FUTURE in at the yield', async () => {
    const loop = kind.make();
    const other = evloop.newEventLoop();
    const foreign = other.createFuture<number>();
    const task = loop.createTask(
      (function* () {
        try {
          yield foreign;
        } catch (e) {
          return (e as any).code;
        }
        return 'no error';
      })(),
    );
    expect(await kind.drive(loop, task)).toBe('ERR_FOREIGN_FUTURE');
    other.close();
    kind.dispose(loop);
  });

  it('yielding something that cannot be waited for fails at the yield instead of hanging', async () => {
    const loop = kind.make();
    const task = loop.createTask(
      (function* () {
        try {
          yield 42 as any;
        } catch (e) {
          return e instanceof Error;
        }
        return 'no error';
      })(),
    );
    expect(await kind.drive(loop, task)).toBe(true);
    kind.dispose(loop);
  });

  it('createTask(function) calls it with an AbortSignal and runs the generator it returns', async () => {
    const loop = kind.make();
    let signal: unknown;
    const task = loop.createTask(function* (s: AbortSignal) {
      signal = s;
      yield;
      return 'ok';
    });
    expect(await kind.drive(loop, task)).toBe('ok');
    expect(signal).toBeInstanceOf(AbortSignal);
    expect((signal as AbortSignal).aborted).toBe(false);
    kind.dispose(loop);
  });

  it('tasks have names: the given one, setName, and a default distinct per task', async () => {
    const loop = kind.make();
    const named = loop.createTask((function* () {})(), { name: 'worker-7' });
    expect(named.getName()).toBe('worker-7');
    named.setName('renamed');
    expect(named.getName()).toBe('renamed');
    const a = loop.createTask((function* () {})());
    const b = loop.createTask((function* () {})());
    expect(typeof a.getName()).toBe('string');
    expect(a.getName().length).toBeGreaterThan(0);
    expect(a.getName()).not.toBe(b.getName());
    await kind.drive(loop, evloop.gather([named, a, b]) as any);
    kind.dispose(loop);
  });
});

describe.each(LOOP_KINDS)('$name loop: cancelling a generator task', (kind: LoopKind) => {
  it('throws CancelledError in at the yield; finally runs; the task ends cancelled with the message', async () => {
    const loop = kind.make();
    const log: string[] = [];
    let seen: any;
    const waiter = loop.createFuture<number>();
    const task = loop.createTask(
      (function* () {
        try {
          log.push('started');
          yield waiter;
          log.push('not reached');
        } catch (e) {
          seen = e;
          throw e;
        } finally {
          log.push('finally');
        }
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => expect(task.cancel('enough')).toBe(true)));
    const error = await rejection(kind, loop, task);
    expect(log).toEqual(['started', 'finally']);
    expect(seen).toBeInstanceOf(CancelledError);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error.code).toBe('ERR_CANCELLED');
    expect(error.message).toContain('enough');
    expect(task.cancelled()).toBe(true);
    expect(thrown(() => task.result())).toBeInstanceOf(CancelledError);
    // The Future it waited on was cancelled too.
    expect(waiter.cancelled()).toBe(true);
    kind.dispose(loop);
  });

  it('cancel() returns false once the task is done', async () => {
    const loop = kind.make();
    const task = loop.createTask((function* () {
      return 1;
    })());
    expect(await kind.drive(loop, task)).toBe(1);
    expect(task.cancel()).toBe(false);
    expect(task.cancelled()).toBe(false);
    expect(task.result()).toBe(1);
    kind.dispose(loop);
  });

  it('a task cancelled before its first step never runs its body and ends cancelled', async () => {
    const loop = kind.make();
    let ran = false;
    const task = loop.createTask(
      (function* () {
        ran = true;
        yield;
      })(),
    );
    expect(task.cancel()).toBe(true);
    const error = await rejection(kind, loop, task);
    expect(error).toBeInstanceOf(CancelledError);
    expect(ran).toBe(false);
    expect(task.cancelled()).toBe(true);
    kind.dispose(loop);
  });

  it('a generator that catches the CancelledError and goes on completes normally', async () => {
    const loop = kind.make();
    const task = loop.createTask(
      (function* () {
        try {
          yield loop.createFuture<number>();
        } catch (e) {
          if (!(e instanceof CancelledError)) throw e;
        }
        const f = loop.createFuture<string>();
        loop.callSoon(() => f.setResult('carried on'));
        return yield f;
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => task.cancel()));
    expect(await kind.drive(loop, task)).toBe('carried on');
    expect(task.cancelled()).toBe(false);
    kind.dispose(loop);
  });

  it('a Future the task awaits being cancelled cancels the task', async () => {
    const loop = kind.make();
    const waiter = loop.createFuture<number>();
    let finallyRan = false;
    const task = loop.createTask(
      (function* () {
        try {
          yield waiter;
        } finally {
          finallyRan = true;
        }
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => waiter.cancel('from outside')));
    const error = await rejection(kind, loop, task);
    expect(error).toBeInstanceOf(CancelledError);
    expect(task.cancelled()).toBe(true);
    expect(finallyRan).toBe(true);
    kind.dispose(loop);
  });

  it('cancelling a task cancels the nested task it waits on', async () => {
    const loop = kind.make();
    const log: string[] = [];
    const inner = loop.createTask(
      (function* () {
        try {
          yield loop.createFuture<number>();
        } finally {
          log.push('inner finally');
        }
      })(),
    );
    const outer = loop.createTask(
      (function* () {
        try {
          yield inner;
        } finally {
          log.push('outer finally');
        }
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => outer.cancel()));
    await rejection(kind, loop, outer);
    expect(inner.cancelled()).toBe(true);
    expect(outer.cancelled()).toBe(true);
    expect(log).toEqual(['inner finally', 'outer finally']);
    kind.dispose(loop);
  });

  it('a task cancelled while it waits on a sleep ends cancelled', async () => {
    const loop = kind.make();
    const task = loop.createTask(
      (function* () {
        yield evloop.sleep(60_000);
      })(),
    );
    loop.callSoon(() => loop.callSoon(() => task.cancel()));
    expect(await rejection(kind, loop, task)).toBeInstanceOf(CancelledError);
    kind.dispose(loop);
  });
});

describe('host loop: async functions and promises', () => {
  const host = () => evloop.hostLoop();
  const kind = LOOP_KINDS.find((k) => k.name === 'host')!;

  it('a task of an async function gives its value; one that throws fails with its error', async () => {
    const loop = host();
    const ok = loop.createTask(async (signal: AbortSignal) => {
      await evloop.sleep(1);
      return signal instanceof AbortSignal ? 'value' : 'no signal';
    });
    expect(await kind.drive(loop, ok)).toBe('value');
    const error = new Error('async failure');
    const bad = loop.createTask(async () => {
      await null;
      throw error;
    });
    expect(await rejection(kind, loop, bad)).toBe(error);
    expect(bad.exception()).toBe(error);
  });

  it('a task of a bare promise follows it', async () => {
    const loop = host();
    const t = loop.createTask(new Promise<number>((resolve) => setImmediate(() => resolve(5))));
    expect(await kind.drive(loop, t)).toBe(5);
    const error = new Error('rejected');
    const u = loop.createTask(Promise.reject(error));
    expect(await rejection(kind, loop, u)).toBe(error);
  });

  it('cancel() aborts the AbortSignal and the task ends cancelled on the next turn, without waiting; the late value is dropped', async () => {
    const loop = host();
    const gate = loop.createFuture<void>();
    const started = loop.createFuture<AbortSignal>();
    let finished = false;
    const task = loop.createTask(async (signal: AbortSignal) => {
      started.setResult(signal);
      await gate; // ignores the signal on purpose
      finished = true;
      return 'late value';
    });
    const signal = await kind.drive(loop, started);
    expect(signal.aborted).toBe(false);
    const checked = loop.createFuture<boolean>();
    loop.callSoon(() => {
      expect(task.cancel('stop now')).toBe(true);
      expect(signal.aborted).toBe(true);
      loop.callSoon(() => checked.setResult(task.cancelled()));
    });
    expect(await kind.drive(loop, checked)).toBe(true);
    expect(finished).toBe(false);
    const error = await rejection(kind, loop, task);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error.message).toContain('stop now');
    // The function settles later; the task stays cancelled.
    gate.setResult();
    await kind.drive(loop, afterTurns(loop, 3));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(finished).toBe(true);
    expect(task.cancelled()).toBe(true);
    expect(thrown(() => task.result())).toBeInstanceOf(CancelledError);
  });

  it('an async function that ends with an error after cancel() does not change the cancelled task', async () => {
    const loop = host();
    const reports: unknown[] = [];
    const previous = loop.getExceptionHandler();
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    try {
      const gate = loop.createFuture<void>();
      const task = loop.createTask(async () => {
        await gate;
        throw new Error('late failure');
      });
      await kind.drive(loop, afterTurns(loop, 2));
      task.cancel();
      expect(await rejection(kind, loop, task)).toBeInstanceOf(CancelledError);
      gate.setResult();
      await kind.drive(loop, afterTurns(loop, 3));
      expect(task.cancelled()).toBe(true);
    } finally {
      loop.setExceptionHandler(previous);
    }
  });

  it('a task of an async function cancelled before it started never calls the function', async () => {
    const loop = host();
    let called = false;
    const task = loop.createTask(async () => {
      called = true;
    });
    expect(task.cancel()).toBe(true);
    expect(await rejection(kind, loop, task)).toBeInstanceOf(CancelledError);
    expect(called).toBe(false);
  });

  it('a task of a bare promise cancelled ends cancelled on the next turn; the later resolution is dropped', async () => {
    const loop = host();
    let resolve!: (v: number) => void;
    const p = new Promise<number>((r) => {
      resolve = r;
    });
    const task = loop.createTask(p);
    const checked = loop.createFuture<boolean>();
    loop.callSoon(() => {
      task.cancel();
      loop.callSoon(() => checked.setResult(task.cancelled()));
    });
    expect(await kind.drive(loop, checked)).toBe(true);
    resolve(99);
    await p;
    await kind.drive(loop, afterTurns(loop, 2));
    expect(task.cancelled()).toBe(true);
    expect(thrown(() => task.result())).toBeInstanceOf(CancelledError);
  });

  it('a generator on the host loop may yield a promise and receive its value', async () => {
    const loop = host();
    const task = loop.createTask(
      (function* () {
        const v = (yield Promise.resolve(20)) as number;
        let caught = '';
        try {
          yield Promise.reject(new Error('promise rejected'));
        } catch (e) {
          caught = (e as Error).message;
        }
        return [v + 1, caught];
      })(),
    );
    expect(await kind.drive(loop, task)).toEqual([21, 'promise rejected']);
  });

  it('a generator task awaited from async code', async () => {
    const loop = host();
    const task = loop.createTask(
      (function* () {
        yield evloop.sleep(1);
        return 'gen';
      })(),
    );
    expect(await task).toBe('gen');
  });
});

describe('private loop: async functions and promises (child process)', () => {
  it('async function tasks give values and errors; promise tasks follow their promise', () => {
    const r = runChild(`
      const loop = evloop.newEventLoop();
      const out = [];
      out.push(loop.runUntilComplete(async (signal) => { await evloop.sleep(1); return signal instanceof AbortSignal; }));
      try { loop.runUntilComplete(async () => { await null; throw new Error('async-err'); }); } catch (e) { out.push(e.message); }
      const t = loop.createTask(async () => { await evloop.sleep(2); return 'task'; });
      out.push(loop.runUntilComplete(t));
      out.push(loop.runUntilComplete(new Promise((r) => loop.callLater(1, r, 'promise'))));
      out.push(loop.runUntilComplete(loop.createTask(new Promise((r) => loop.callLater(1, r, 'callback-resolved')))));
      loop.close();
      console.log(JSON.stringify(out));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([true, 'async-err', 'task', 'promise', 'callback-resolved']);
  });

  it('runUntilComplete of a promise settled by promise continuations alone (already resolved, a chain)', () => {
    const r = runChild(`
      const loop = evloop.newEventLoop();
      const out = [];
      for (const make of [
        () => Promise.resolve('resolved'),
        () => Promise.resolve(1).then(() => 'chain'),
        () => Promise.reject(new Error('rejected')),
      ]) {
        try { out.push(loop.runUntilComplete(make())); } catch (e) { out.push(e.code || e.message); }
      }
      loop.close();
      console.log(JSON.stringify(out));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['resolved', 'chain', 'rejected']);
  });

  it('cancel(): signal aborted, task cancelled on the next turn without waiting for the function; late value dropped', () => {
    const r = runChild(`
      const loop = evloop.newEventLoop();
      const reports = [];
      loop.setExceptionHandler((l, ctx) => reports.push(ctx.message));
      const gate = loop.createFuture();
      let sig, finished = false;
      const task = loop.createTask(async (signal) => { sig = signal; await gate; finished = true; return 'late'; });
      const out = {};
      const checked = loop.createFuture();
      loop.callLater(1, () => {
        out.cancelReturned = task.cancel('why');
        out.abortedAtOnce = sig.aborted;
        loop.callSoon(() => { out.cancelledNextTurn = task.cancelled(); out.finishedThen = finished; checked.setResult(); });
      });
      loop.runUntilComplete(checked);
      try { loop.runUntilComplete(task); } catch (e) { out.error = e.code + ':' + e.message.includes('why'); }
      loop.callSoon(() => gate.setResult());
      loop.runUntilComplete(evloop.sleep.call(null, 0) && loop.createTask(function* () { yield; yield; yield; }));
      out.finishedLater = finished;
      out.stillCancelled = task.cancelled();
      out.reports = reports;
      loop.close();
      console.log(JSON.stringify(out));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      cancelReturned: true,
      abortedAtOnce: true,
      cancelledNextTurn: true,
      finishedThen: false,
      error: 'ERR_CANCELLED:true',
      finishedLater: true,
      stillCancelled: true,
      reports: [],
    });
  });

  it('a cancelled task of a bare promise ends cancelled without waiting for the promise', () => {
    const r = runChild(`
      const loop = evloop.newEventLoop();
      let resolve;
      const task = loop.createTask(new Promise((r) => { resolve = r; }));
      loop.callSoon(() => task.cancel());
      let code;
      try { loop.runUntilComplete(task); } catch (e) { code = e.code; }
      resolve(1);
      console.log(code, task.cancelled());
      loop.close();
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ERR_CANCELLED true');
  });

  it('an async task awaiting a Future that gets cancelled fails with CancelledError', () => {
    const r = runChild(`
      const loop = evloop.newEventLoop();
      const waiter = loop.createFuture();
      const task = loop.createTask(async () => { await waiter; });
      loop.callLater(1, () => waiter.cancel());
      try { loop.runUntilComplete(task); console.log('no error'); } catch (e) { console.log(e.code, task.cancelled()); }
      loop.close();
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ERR_CANCELLED true');
  });
});

describe('ERR_MICROTASK_CONTEXT', () => {
  // vitest runs each test body inside a microtask.
  it('in the test body, a private loop refuses an async function at once, before running anything', () => {
    const loop = evloop.newEventLoop();
    let ranCallback = false;
    let calledFunction = false;
    loop.callSoon(() => {
      ranCallback = true;
    });
    const error = thrown(() =>
      loop.runUntilComplete(async () => {
        calledFunction = true;
      }),
    );
    expect(error).toBeInstanceOf(EvloopError);
    expect(error.code).toBe('ERR_MICROTASK_CONTEXT');
    // The way out is named.
    expect(error.message).toMatch(/generator/);
    expect(ranCallback).toBe(false);
    expect(calledFunction).toBe(false);
    expect(loop.isRunning()).toBe(false);
    loop.close();
  });

  it('in the test body, a private loop refuses a promise at once', () => {
    const loop = evloop.newEventLoop();
    const error = thrown(() => loop.runUntilComplete(Promise.resolve(1)));
    expect(error.code).toBe('ERR_MICROTASK_CONTEXT');
    loop.close();
  });

  it('in the test body, run() refuses an async main at once', () => {
    const error = thrown(() => evloop.run(async () => 1));
    expect(error.code).toBe('ERR_MICROTASK_CONTEXT');
  });

  it('in the test body, a pending async-function task makes a generator run refuse too', () => {
    const loop = evloop.newEventLoop();
    const pending = loop.createTask(async () => 1);
    const error = thrown(() =>
      loop.runUntilComplete(
        (function* () {
          yield;
        })(),
      ),
    );
    expect(error.code).toBe('ERR_MICROTASK_CONTEXT');
    pending.cancel();
    loop.close();
  });

  it('in the test body, runForever with a pending async-function task refuses at once', () => {
    const loop = evloop.newEventLoop();
    const pending = loop.createTask(async () => 1);
    let guardFired = false;
    loop.callLater(500, () => {
      guardFired = true;
      loop.stop();
    });
    let error: any;
    try {
      loop.runForever();
    } catch (e) {
      error = e;
    }
    expect(error?.code).toBe('ERR_MICROTASK_CONTEXT');
    expect(guardFired).toBe(false);
    pending.cancel();
    loop.close();
  });

  it('in the test body, generator coroutines and Futures work on a private loop', () => {
    const loop = evloop.newEventLoop();
    const result = loop.runUntilComplete(
      (function* () {
        const a = (yield evloop.sleep(1, 2)) as number;
        const f = loop.createFuture<number>();
        loop.callLater(1, () => f.setResult(40));
        return a + ((yield f) as number);
      })(),
    );
    expect(result).toBe(42);
    expect(evloop.run(function* () {
      yield evloop.sleep(1);
      return 'run with a generator';
    })).toBe('run with a generator');
    loop.close();
  });

  it('in the test body, a generator that yields a promise on a private loop gets ERR_MICROTASK_CONTEXT thrown in', () => {
    const loop = evloop.newEventLoop();
    const code = loop.runUntilComplete(
      (function* () {
        try {
          yield Promise.resolve(1);
        } catch (e) {
          return (e as any).code;
        }
        return 'no error';
      })(),
    );
    expect(code).toBe('ERR_MICROTASK_CONTEXT');
    loop.close();
  });

  it('in the test body, creating an async task inside a generator run is refused rather than hanging', () => {
    const loop = evloop.newEventLoop();
    const code = loop.runUntilComplete(
      (function* () {
        try {
          const t = loop.createTask(async () => 1);
          yield t;
        } catch (e) {
          return (e as any).code;
        }
        return 'no error';
      })(),
    );
    expect(code).toBe('ERR_MICROTASK_CONTEXT');
    loop.close();
  });

  it('in a child CommonJS process: works at top level and in a setImmediate callback; refused in a .then and after an await', () => {
    const r = runChild(`
      const out = {};
      out.topLevel = evloop.run(async () => { await evloop.sleep(1); return 'top'; });
      Promise.resolve().then(() => {
        try { evloop.run(async () => 1); out.inThen = 'ran'; } catch (e) { out.inThen = e.code; }
        out.generatorInThen = evloop.run(function* () { yield evloop.sleep(1); return 'gen'; });
      });
      (async () => {
        await null;
        try { evloop.run(async () => 1); out.afterAwait = 'ran'; } catch (e) { out.afterAwait = e.code; }
      })();
      setImmediate(() => {
        out.inImmediate = evloop.run(async () => { await evloop.sleep(1); return 'immediate'; });
        const loop = evloop.newEventLoop();
        out.privateInImmediate = loop.runUntilComplete(async () => { await null; return 'private'; });
        loop.close();
        console.log(JSON.stringify(out));
      });
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      topLevel: 'top',
      inThen: 'ERR_MICROTASK_CONTEXT',
      generatorInThen: 'gen',
      afterAwait: 'ERR_MICROTASK_CONTEXT',
      inImmediate: 'immediate',
      privateInImmediate: 'private',
    });
  });

  it('in a child process: once an async task has finished, a generator run from inside a microtask works', () => {
    const r = runChild(`
      const loop = evloop.newEventLoop();
      const first = loop.runUntilComplete(async () => { await null; return 1; });
      Promise.resolve().then(() => {
        try {
          console.log(first, loop.runUntilComplete(function* () { yield; return 2; }));
        } catch (e) { console.log('refused', e.code); }
        loop.close();
      });
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1 2');
  });

  it('at an ES module top level a promise run is refused, a generator run works', () => {
    const esm = path.join(root, 'dist/esm/index.mjs');
    const source = `
      import * as evloop from ${JSON.stringify(esm)};
      let refused;
      try { evloop.run(async () => 1); refused = 'ran'; } catch (e) { refused = e.code; }
      const gen = evloop.run(function* () { yield evloop.sleep(1); return 'esm generator'; });
      const loop = evloop.newEventLoop();
      let loopRefused;
      try { loop.runUntilComplete(Promise.resolve(1)); loopRefused = 'ran'; } catch (e) { loopRefused = e.code; }
      loop.close();
      console.log(JSON.stringify({ refused, gen, loopRefused }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
      encoding: 'utf8',
      timeout: 10_000,
      killSignal: 'SIGKILL',
      cwd: root,
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ refused: 'ERR_MICROTASK_CONTEXT', gen: 'esm generator', loopRefused: 'ERR_MICROTASK_CONTEXT' });
  });
});
