// Future, as asyncio's test_futures checks it: the state machine, its errors, done callbacks
// scheduled with callSoon, awaiting it, and "Future exception was never retrieved".
import { describe, expect, it } from 'vitest';
import { afterTurns, evloop, LOOP_KINDS, type LoopKind, runChild, thrown } from './harness';
import type { EventLoop, Future } from '../dist/cjs/index.js';

const { EvloopError, InvalidStateError, CancelledError, TimeoutError, Future: FutureClass } = evloop;

function expectInvalidState(error: any): void {
  expect(error).toBeInstanceOf(InvalidStateError);
  expect(error).toBeInstanceOf(EvloopError);
  expect(error).toBeInstanceOf(Error);
  expect(error.code).toBe('ERR_INVALID_STATE');
}

function expectCancelled(error: any, message?: string): void {
  expect(error).toBeInstanceOf(CancelledError);
  expect(error).toBeInstanceOf(EvloopError);
  expect(error).toBeInstanceOf(Error);
  expect(error.code).toBe('ERR_CANCELLED');
  if (message !== undefined) expect(error.message).toContain(message);
}

describe('error classes', () => {
  it('InvalidStateError, CancelledError and TimeoutError extend EvloopError and carry their codes', () => {
    for (const [Cls, code] of [
      [InvalidStateError, 'ERR_INVALID_STATE'],
      [CancelledError, 'ERR_CANCELLED'],
      [TimeoutError, 'ERR_TIMEOUT'],
    ] as const) {
      const e = new (Cls as any)('why');
      expect(e).toBeInstanceOf(Cls);
      expect(e).toBeInstanceOf(EvloopError);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe(code);
      expect(e.message).toBe('why');
    }
  });
});

describe.each(LOOP_KINDS)('$name loop: Future states', (kind: LoopKind) => {
  it('a new Future is pending and bound to its loop', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    expect(f).toBeInstanceOf(FutureClass);
    expect(f.done()).toBe(false);
    expect(f.cancelled()).toBe(false);
    expect(f.getLoop()).toBe(loop);
    expect(typeof f.then).toBe('function');
    f.cancel();
    kind.dispose(loop);
  });

  it('result() and exception() of a pending Future throw InvalidStateError', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    expectInvalidState(thrown(() => f.result()));
    expectInvalidState(thrown(() => f.exception()));
    f.cancel();
    kind.dispose(loop);
  });

  it('setResult makes it done with that result and no exception', () => {
    const loop = kind.make();
    const f = loop.createFuture<{ v: number }>();
    const value = { v: 1 };
    f.setResult(value);
    expect(f.done()).toBe(true);
    expect(f.cancelled()).toBe(false);
    expect(f.result()).toBe(value);
    expect(f.exception()).toBeNull();
    kind.dispose(loop);
  });

  it('setResult(undefined) is a result like any other', () => {
    const loop = kind.make();
    const f = loop.createFuture<undefined>();
    f.setResult(undefined);
    expect(f.done()).toBe(true);
    expect(f.result()).toBeUndefined();
    expect(f.exception()).toBeNull();
    kind.dispose(loop);
  });

  it('a done Future refuses setResult and setException with InvalidStateError and keeps its result', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    f.setResult(1);
    expectInvalidState(thrown(() => f.setResult(2)));
    expectInvalidState(thrown(() => f.setException(new Error('late'))));
    expect(f.result()).toBe(1);
    expect(f.cancel()).toBe(false);
    expect(f.cancelled()).toBe(false);
    expect(f.result()).toBe(1);
    kind.dispose(loop);
  });

  it('setException makes result() throw that very error and exception() return it', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    const error = new RangeError('failed');
    f.setException(error);
    expect(f.done()).toBe(true);
    expect(f.cancelled()).toBe(false);
    expect(f.exception()).toBe(error);
    expect(thrown(() => f.result())).toBe(error);
    expectInvalidState(thrown(() => f.setResult(1)));
    expectInvalidState(thrown(() => f.setException(new Error('again'))));
    expect(f.exception()).toBe(error);
    kind.dispose(loop);
  });

  it('setException with a value that is not an Error keeps that value', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    f.setException('a plain string');
    expect(f.exception()).toBe('a plain string');
    expect(thrown(() => f.result())).toBe('a plain string');
    kind.dispose(loop);
  });

  it('cancel() of a pending Future returns true; then result() and exception() throw CancelledError', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    expect(f.cancel()).toBe(true);
    expect(f.done()).toBe(true);
    expect(f.cancelled()).toBe(true);
    expectCancelled(thrown(() => f.result()));
    expectCancelled(thrown(() => f.exception()));
    kind.dispose(loop);
  });

  it('cancel(message) carries the message into the CancelledError', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    expect(f.cancel('because I said so')).toBe(true);
    expectCancelled(thrown(() => f.result()), 'because I said so');
    expectCancelled(thrown(() => f.exception()), 'because I said so');
    kind.dispose(loop);
  });

  it('cancelling twice returns false the second time; a cancelled Future refuses setResult/setException', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    expect(f.cancel('first')).toBe(true);
    expect(f.cancel('second')).toBe(false);
    expectCancelled(thrown(() => f.result()), 'first');
    expectInvalidState(thrown(() => f.setResult(1)));
    expectInvalidState(thrown(() => f.setException(new Error('x'))));
    expect(f.cancelled()).toBe(true);
    kind.dispose(loop);
  });

  it('cancel() of a Future that failed returns false and keeps its error', () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    const error = new Error('kept');
    f.setException(error);
    expect(f.cancel()).toBe(false);
    expect(f.cancelled()).toBe(false);
    expect(f.exception()).toBe(error);
    kind.dispose(loop);
  });
});

describe.each(LOOP_KINDS)('$name loop: done callbacks', (kind: LoopKind) => {
  it('are not called synchronously by setResult, but on a later turn, with the Future, in registration order', async () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    const calls: [string, unknown][] = [];
    f.addDoneCallback((fut) => calls.push(['one', fut]));
    f.addDoneCallback((fut) => calls.push(['two', fut]));
    f.addDoneCallback((fut) => calls.push(['three', fut]));
    f.setResult(7);
    expect(calls).toEqual([]);
    await kind.drive(loop, afterTurns(loop, 2));
    expect(calls.map(([n]) => n)).toEqual(['one', 'two', 'three']);
    for (const [, fut] of calls) expect(fut).toBe(f);
    kind.dispose(loop);
  });

  it('are scheduled with callSoon: after callbacks scheduled before the Future was done, before those scheduled after', async () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    const order: string[] = [];
    f.addDoneCallback(() => order.push('done callback'));
    loop.callSoon(() => order.push('soon before'));
    f.setResult(1);
    loop.callSoon(() => order.push('soon after'));
    await kind.drive(loop, afterTurns(loop, 2));
    expect(order).toEqual(['soon before', 'done callback', 'soon after']);
    kind.dispose(loop);
  });

  it('added to a done Future, it is scheduled soon, not called at once', async () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    f.setResult(3);
    const seen: number[] = [];
    f.addDoneCallback((fut) => seen.push(fut.result()));
    expect(seen).toEqual([]);
    await kind.drive(loop, afterTurns(loop, 2));
    expect(seen).toEqual([3]);
    kind.dispose(loop);
  });

  it('run on setException and on cancel too', async () => {
    const loop = kind.make();
    const failed = loop.createFuture<number>();
    const cancelled = loop.createFuture<number>();
    const seen: string[] = [];
    failed.addDoneCallback((f) => seen.push(`failed:${(f.exception() as Error).message}`));
    cancelled.addDoneCallback((f) => seen.push(`cancelled:${f.cancelled()}`));
    failed.setException(new Error('e1'));
    cancelled.cancel();
    await kind.drive(loop, afterTurns(loop, 2));
    expect(seen).toEqual(['failed:e1', 'cancelled:true']);
    kind.dispose(loop);
  });

  it('removeDoneCallback removes every registration of the callback and returns how many', async () => {
    const loop = kind.make();
    const f = loop.createFuture<number>();
    const seen: string[] = [];
    const removed = () => seen.push('removed');
    const kept = () => seen.push('kept');
    f.addDoneCallback(removed);
    f.addDoneCallback(kept);
    f.addDoneCallback(removed);
    expect(f.removeDoneCallback(removed)).toBe(2);
    expect(f.removeDoneCallback(removed)).toBe(0);
    expect(f.removeDoneCallback(() => {})).toBe(0);
    f.setResult(1);
    await kind.drive(loop, afterTurns(loop, 2));
    expect(seen).toEqual(['kept']);
    kind.dispose(loop);
  });

  it('a generator coroutine awaiting the Future resumes after the done callbacks registered before it', async () => {
    const loop = kind.make();
    const f = loop.createFuture<string>();
    const order: string[] = [];
    f.addDoneCallback(() => order.push('callback'));
    const task = loop.createTask(function* () {
      const v = (yield f) as string;
      order.push(`task got ${v}`);
      return v;
    });
    loop.callSoon(() => loop.callSoon(() => f.setResult('x')));
    expect(await kind.drive(loop, task)).toBe('x');
    expect(order).toEqual(['callback', 'task got x']);
    kind.dispose(loop);
  });
});

describe('awaiting a Future', () => {
  it('await on the host loop gives the result', async () => {
    const host = evloop.hostLoop();
    const f = host.createFuture<number>();
    host.callLater(1, () => f.setResult(41));
    expect(await f).toBe(41);
  });

  it('await on the host loop throws the error, the same object', async () => {
    const host = evloop.hostLoop();
    const f = host.createFuture<number>();
    const error = new Error('awaited failure');
    host.callSoon(() => f.setException(error));
    await expect(f).rejects.toBe(error);
  });

  it('await on the host loop throws CancelledError when cancelled', async () => {
    const host = evloop.hostLoop();
    const f = host.createFuture<number>();
    host.callSoon(() => f.cancel('stop waiting'));
    let error: any;
    try {
      await f;
    } catch (e) {
      error = e;
    }
    expectCancelled(error, 'stop waiting');
  });

  it('await of a Future that is already done gives its result', async () => {
    const host = evloop.hostLoop();
    const f = host.createFuture<string>();
    f.setResult('ready');
    expect(await f).toBe('ready');
  });

  it('then() returns a promise and chains', async () => {
    const host = evloop.hostLoop();
    const f = host.createFuture<number>();
    const p = f.then((v) => v * 2);
    expect(p).toBeInstanceOf(Promise);
    const q = f.then(undefined, () => 'unused');
    host.callSoon(() => f.setResult(21));
    expect(await p).toBe(42);
    expect(await q).toBe(21);
    const g = host.createFuture<number>();
    const r = g.then(
      () => 'no',
      (e) => `caught ${(e as Error).message}`,
    );
    g.setException(new Error('bad'));
    expect(await r).toBe('caught bad');
  });

  it('Promise.all and Promise.race accept Futures', async () => {
    const host = evloop.hostLoop();
    const a = host.createFuture<number>();
    const b = host.createFuture<number>();
    host.callLater(2, () => a.setResult(1));
    host.callLater(1, () => b.setResult(2));
    expect(await Promise.all([a, b])).toEqual([1, 2]);
  });

  it('await inside a running private loop (async function in a child process)', () => {
    const r = runChild(`
      const loop = evloop.newEventLoop();
      const out = loop.runUntilComplete(async () => {
        const f = loop.createFuture();
        loop.callLater(1, () => f.setResult(41));
        const v = await f;
        const g = loop.createFuture();
        loop.callSoon(() => g.setException(new Error('bad')));
        let caught;
        try { await g; } catch (e) { caught = e.message; }
        const h = loop.createFuture();
        loop.callSoon(() => h.cancel('gone'));
        let cancelled;
        try { await h; } catch (e) { cancelled = e.code + ' ' + (e instanceof evloop.CancelledError); }
        const done = loop.createFuture();
        done.setResult('ready');
        return [v + 1, caught, cancelled, await done];
      });
      loop.close();
      console.log(JSON.stringify(out));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([42, 'bad', 'ERR_CANCELLED true', 'ready']);
  });
});

describe('"Future exception was never retrieved" (child process with --expose-gc)', () => {
  function neverRetrieved(kindName: string, body: string) {
    return runChild(
      `
      const loop = ${kindName === 'host' ? 'evloop.hostLoop()' : 'evloop.newEventLoop()'};
      const reports = [];
      loop.setExceptionHandler((l, ctx) => reports.push({
        sameLoop: l === loop,
        message: ctx.message,
        error: ctx.exception && ctx.exception.message,
      }));
      (function make() { ${body} })();
      let tries = 0;
      function check() {
        global.gc();
        if (reports.length > 0 || ++tries > 30) {
          console.log(JSON.stringify(reports));
          process.exit(0);
        }
        setImmediate(check);
      }
      setImmediate(check);
    `,
      { args: ['--expose-gc'] },
    );
  }

  it.each(['private', 'host'])('a failed %s-loop Future collected unread is reported through the exception handler', (which) => {
    const r = neverRetrieved(which, `const f = loop.createFuture(); f.setException(new Error('nobody read me'));`);
    expect(r.stderr).toBe('');
    const reports = JSON.parse(r.stdout);
    expect(reports.length).toBe(1);
    expect(reports[0].sameLoop).toBe(true);
    expect(reports[0].message).toMatch(/never retrieved/);
    expect(reports[0].error).toBe('nobody read me');
  });

  it.each(['private', 'host'])('a failed %s-loop Future whose error was read is not reported', (which) => {
    const r = neverRetrieved(
      which,
      `
      const a = loop.createFuture(); a.setException(new Error('read by exception()')); a.exception();
      const b = loop.createFuture(); b.setException(new Error('read by result()')); try { b.result(); } catch {}
      // A control, so the check is known to have run collection: it must be reported.
      const c = loop.createFuture(); c.setException(new Error('control'));
    `,
    );
    expect(r.stderr).toBe('');
    const reports = JSON.parse(r.stdout);
    expect(reports.map((x: any) => x.error)).toEqual(['control']);
  });

  it('a failed Future whose error was awaited is not reported', () => {
    const r = runChild(
      `
      const loop = evloop.hostLoop();
      const reports = [];
      loop.setExceptionHandler((l, ctx) => reports.push(ctx.exception && ctx.exception.message));
      (async () => {
        await (async function make() {
          const a = loop.createFuture();
          loop.callSoon(() => a.setException(new Error('awaited')));
          try { await a; } catch {}
          const c = loop.createFuture(); c.setException(new Error('control'));
        })();
        let tries = 0;
        function check() {
          global.gc();
          if (reports.length > 0 || ++tries > 30) { console.log(JSON.stringify(reports)); process.exit(0); }
          setImmediate(check);
        }
        setImmediate(check);
      })();
    `,
      { args: ['--expose-gc'] },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['control']);
  });

  it('without a handler, the report goes to stderr', () => {
    const r = runChild(
      `
      (function make() { const f = evloop.hostLoop().createFuture(); f.setException(new Error('lost-error-xyz')); })();
      let tries = 0;
      function check() { global.gc(); if (++tries < 30) setImmediate(check); }
      setImmediate(check);
    `,
      { args: ['--expose-gc'] },
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/never retrieved/);
    expect(r.stderr).toMatch(/lost-error-xyz/);
  });
});
