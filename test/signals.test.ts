// Signal handlers: addSignalHandler/removeSignalHandler with real signals (process.kill), on the
// private and the host loop, in the main thread and in worker threads.
// This test file's process always has a handler for SIGUSR2/SIGWINCH installed while it sends
// them: a signal with no handler would take the test process down with it.
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BOUND_MS, LOOP_KINDS, entry, evloop, runChild } from './harness';
import type { EventLoop, Future } from '../dist/cjs/index.js';

function kill(signal: NodeJS.Signals): void {
  process.kill(process.pid, signal);
}

describe.each(LOOP_KINDS)('$name loop: signal handlers', (kind) => {
  it('runs the handler on the loop when the signal arrives, with its arguments', async () => {
    const loop = kind.make();
    try {
      const got = loop.createFuture<unknown[]>();
      loop.addSignalHandler(
        'SIGUSR2',
        (...args: unknown[]) => {
          if (!got.done()) got.setResult(args);
        },
        'a',
        2,
      );
      loop.callSoon(() => kill('SIGUSR2'));
      expect(await kind.drive(loop, got)).toEqual(['a', 2]);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
    } finally {
      kind.dispose(loop);
    }
  });

  it('runs the handler once more for a signal that arrives again', async () => {
    const loop = kind.make();
    try {
      let count = 0;
      let next: Future<void> = loop.createFuture<void>();
      loop.addSignalHandler('SIGUSR2', () => {
        count++;
        if (!next.done()) next.setResult();
      });
      for (let i = 1; i <= 3; i++) {
        next = loop.createFuture<void>();
        kill('SIGUSR2');
        await kind.drive(loop, next);
        expect(count).toBe(i);
      }
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
    } finally {
      kind.dispose(loop);
    }
  });

  it('a signal sent before the loop waits is delivered on its next turn', async () => {
    const loop = kind.make();
    try {
      const got = loop.createFuture<string>();
      loop.addSignalHandler('SIGUSR2', () => {
        if (!got.done()) got.setResult('early');
      });
      kill('SIGUSR2');
      expect(await kind.drive(loop, got)).toBe('early');
      loop.removeSignalHandler('SIGUSR2');
    } finally {
      kind.dispose(loop);
    }
  });

  it('adding a handler again replaces the callback', async () => {
    const loop = kind.make();
    try {
      const seen: string[] = [];
      const got = loop.createFuture<void>();
      loop.addSignalHandler('SIGUSR2', () => seen.push('first'));
      loop.addSignalHandler('SIGUSR2', () => {
        seen.push('second');
        if (!got.done()) got.setResult();
      });
      kill('SIGUSR2');
      await kind.drive(loop, got);
      // Drain a possible late duplicate turn before checking.
      const settle = loop.createFuture<void>();
      loop.callLater(2, () => settle.setResult());
      await kind.drive(loop, settle);
      expect(seen).toEqual(['second']);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
    } finally {
      kind.dispose(loop);
    }
  });

  it('handlers for different signals are told apart', async () => {
    const loop = kind.make();
    try {
      const seen: string[] = [];
      const both = loop.createFuture<void>();
      const record = (name: string) => () => {
        seen.push(name);
        if (seen.length === 2 && !both.done()) both.setResult();
      };
      loop.addSignalHandler('SIGUSR2', record('usr2'));
      loop.addSignalHandler('SIGWINCH', record('winch'));
      kill('SIGWINCH');
      kill('SIGUSR2');
      await kind.drive(loop, both);
      expect([...seen].sort()).toEqual(['usr2', 'winch']);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
      expect(loop.removeSignalHandler('SIGWINCH')).toBe(true);
    } finally {
      kind.dispose(loop);
    }
  });

  it('removeSignalHandler returns whether a handler was registered', () => {
    const loop = kind.make();
    try {
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(false);
      loop.addSignalHandler('SIGUSR2', () => {});
      expect(loop.removeSignalHandler('SIGHUP')).toBe(false);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(false);
    } finally {
      kind.dispose(loop);
    }
  });

  it('refuses SIGKILL and SIGSTOP with ERR_UNCATCHABLE_SIGNAL', () => {
    const loop = kind.make();
    try {
      for (const signal of ['SIGKILL', 'SIGSTOP'] as const) {
        let error: unknown;
        try {
          loop.addSignalHandler(signal, () => {});
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(evloop.EvloopError);
        expect((error as { code: string }).code).toBe('ERR_UNCATCHABLE_SIGNAL');
        expect(loop.removeSignalHandler(signal)).toBe(false);
      }
    } finally {
      kind.dispose(loop);
    }
  });

  it('an unknown signal name is a TypeError with code ERR_UNKNOWN_SIGNAL, in add and in remove', () => {
    const loop = kind.make();
    try {
      for (const call of [
        () => loop.addSignalHandler('SIGNOPE' as NodeJS.Signals, () => {}),
        () => loop.removeSignalHandler('SIGNOPE' as NodeJS.Signals),
      ]) {
        let error: unknown;
        try {
          call();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(TypeError);
        expect((error as { code: string }).code).toBe('ERR_UNKNOWN_SIGNAL');
      }
      // The same as process.kill says about it.
      let nodeError: unknown;
      try {
        process.kill(process.pid, 'SIGNOPE' as NodeJS.Signals);
      } catch (e) {
        nodeError = e;
      }
      expect((nodeError as { code: string }).code).toBe('ERR_UNKNOWN_SIGNAL');
      expect(() => loop.addSignalHandler('SIGUSR2', 'nope' as unknown as () => void)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(false);
    } finally {
      kind.dispose(loop);
    }
  });

  it('an error thrown by a signal handler goes to the exception handler and the loop goes on', async () => {
    const loop = kind.make();
    const previous = loop.getExceptionHandler();
    try {
      const errors: unknown[] = [];
      loop.setExceptionHandler((_l, context) => errors.push(context.exception));
      const after = loop.createFuture<void>();
      loop.addSignalHandler('SIGUSR2', () => {
        loop.callSoon(() => after.setResult());
        throw new Error('signal boom');
      });
      kill('SIGUSR2');
      await kind.drive(loop, after);
      expect(errors.map((e) => (e as Error).message)).toEqual(['signal boom']);
      loop.removeSignalHandler('SIGUSR2');
    } finally {
      loop.setExceptionHandler(previous);
      kind.dispose(loop);
    }
  });

  it('works in a worker thread', async () => {
    // The main thread keeps a handler too, so the signal never finds the process without one.
    const guard = evloop.hostLoop();
    let mainGot = 0;
    guard.addSignalHandler('SIGUSR2', () => mainGot++);
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const evloop = require(workerData.entry);
      const host = workerData.kind === 'host';
      const loop = host ? evloop.hostLoop() : evloop.newEventLoop();
      const got = loop.createFuture();
      loop.addSignalHandler('SIGUSR2', (x) => { if (!got.done()) got.setResult(x); }, 'in worker');
      parentPort.postMessage('ready');
      if (host) {
        const t = setTimeout(() => parentPort.postMessage('timeout'), ${BOUND_MS});
        got.then((v) => { clearTimeout(t); loop.removeSignalHandler('SIGUSR2'); parentPort.postMessage(v); });
      } else {
        loop.callLater(${BOUND_MS}, () => loop.stop());
        const v = loop.runUntilComplete(got);
        loop.removeSignalHandler('SIGUSR2');
        loop.close();
        parentPort.postMessage(v);
      }
      `,
      { eval: true, workerData: { entry, kind: kind.name } },
    );
    try {
      const result = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('worker did not answer')), BOUND_MS);
        worker.on('error', reject);
        worker.on('message', (m: string) => {
          if (m === 'ready') kill('SIGUSR2');
          else {
            clearTimeout(timer);
            resolve(m);
          }
        });
      });
      expect(result).toBe('in worker');
    } finally {
      await worker.terminate();
      guard.removeSignalHandler('SIGUSR2');
    }
    expect(mainGot).toBeLessThanOrEqual(1);
  });
});

describe('private loop: signal handlers', () => {
  it('a signal from another process wakes a loop blocked in its wait', () => {
    const loop = evloop.newEventLoop();
    try {
      const got = loop.createFuture<string>();
      loop.addSignalHandler('SIGUSR2', () => {
        if (!got.done()) got.setResult('woken');
      });
      // Nothing else is scheduled but the bound: the loop blocks until the other process signals.
      const child = spawn(process.execPath, ['-e', `process.kill(${process.pid}, 'SIGUSR2')`], { stdio: 'ignore' });
      const bound = loop.callLater(BOUND_MS, () => loop.stop());
      try {
        expect(loop.runUntilComplete(got)).toBe('woken');
      } finally {
        bound.cancel();
        child.kill('SIGKILL');
      }
      loop.removeSignalHandler('SIGUSR2');
    } finally {
      loop.close();
    }
  });

  it('a signal handler alone keeps runUntilComplete waiting (no ERR_LOOP_STALLED)', () => {
    const loop = evloop.newEventLoop();
    try {
      const got = loop.createFuture<void>();
      loop.addSignalHandler('SIGUSR2', () => got.setResult());
      const child = spawn(process.execPath, ['-e', `process.kill(${process.pid}, 'SIGUSR2')`], { stdio: 'ignore' });
      try {
        // No timer at all: only the signal can complete it (the child process bounds it).
        expect(loop.runUntilComplete(got)).toBeUndefined();
      } finally {
        child.kill('SIGKILL');
      }
      loop.removeSignalHandler('SIGUSR2');
    } finally {
      loop.close();
    }
  });

  it('throws ERR_LOOP_CLOSED once closed, and remove after close does not throw', () => {
    const loop = evloop.newEventLoop();
    loop.addSignalHandler('SIGUSR2', () => {});
    loop.close();
    expect(() => loop.addSignalHandler('SIGUSR2', () => {})).toThrow(expect.objectContaining({ code: 'ERR_LOOP_CLOSED' }));
    expect(() => loop.removeSignalHandler('SIGUSR2')).not.toThrow();
  });

  it('several loops watch one signal: private loops in the main thread and two workers, and the host loop', () => {
    const main = evloop.newEventLoop();
    const host = evloop.hostLoop();
    let hostGot = 0;
    host.addSignalHandler('SIGUSR2', () => hostGot++);
    const ref = main.share();
    const workers: Worker[] = [];
    try {
      const ready = new Set<number>();
      const got = new Set<string>();
      const all = main.createFuture<void>();
      let mainGot = 0;
      const check = () => {
        if (mainGot > 0 && got.size === 2 && !all.done()) all.setResult();
      };
      main.addSignalHandler('SIGUSR2', () => {
        mainGot++;
        check();
      });
      main.onMessage((m) => {
        const msg = m as { ready?: number; got?: string };
        if (msg.ready !== undefined) {
          ready.add(msg.ready);
          if (ready.size === 2) kill('SIGUSR2');
        } else if (msg.got !== undefined) {
          got.add(msg.got);
          check();
        }
      });
      for (let i = 0; i < 2; i++) {
        workers.push(
          new Worker(
            `
            const { workerData } = require('node:worker_threads');
            const evloop = require(workerData.entry);
            const loop = evloop.newEventLoop();
            const got = loop.createFuture();
            loop.addSignalHandler('SIGUSR2', () => { if (!got.done()) got.setResult(); });
            evloop.post(workerData.ref, { ready: workerData.i });
            loop.callLater(${BOUND_MS}, () => loop.stop());
            loop.runUntilComplete(got);
            evloop.post(workerData.ref, { got: 'worker ' + workerData.i });
            loop.removeSignalHandler('SIGUSR2');
            loop.close();
            `,
            { eval: true, workerData: { entry, ref, i } },
          ),
        );
      }
      const bound = main.callLater(BOUND_MS, () => main.stop());
      try {
        main.runUntilComplete(all);
      } finally {
        bound.cancel();
      }
      expect(mainGot).toBe(1);
      expect([...got].sort()).toEqual(['worker 0', 'worker 1']);
      main.removeSignalHandler('SIGUSR2');
    } finally {
      main.close();
      for (const w of workers) void w.terminate();
    }
    // The host loop saw it as well (collected by Node's loop, after the blocking run).
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the host loop did not get the signal')), BOUND_MS);
      const poll = () => {
        if (hostGot > 0) {
          clearTimeout(timer);
          host.removeSignalHandler('SIGUSR2');
          resolve();
        } else setImmediate(poll);
      };
      poll();
    }).then(() => expect(hostGot).toBe(1));
  });
});

describe('host loop: signal handlers', () => {
  it('coexists with a process.on listener for the same signal: both get it', async () => {
    const loop = evloop.hostLoop();
    let listener = 0;
    const onSignal = () => listener++;
    process.on('SIGUSR2', onSignal);
    try {
      const got = loop.createFuture<void>();
      loop.addSignalHandler('SIGUSR2', () => {
        if (!got.done()) got.setResult();
      });
      kill('SIGUSR2');
      await evloop.waitFor(got, BOUND_MS);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('listener did not run')), BOUND_MS);
        const poll = () => (listener > 0 ? (clearTimeout(timer), resolve()) : setImmediate(poll));
        poll();
      });
      expect(listener).toBe(1);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
    } finally {
      process.off('SIGUSR2', onSignal);
    }
  });
});

// ---- removing the last handler restores what the process did before: child processes ----------

/** Adds a handler on a loop of `kindName`, sees it work once, removes it, then runs `after`. */
function restoreScript(kindName: string, signal: string, before: string, after: string): string {
  return `
  ${before}
  const host = ${JSON.stringify(kindName)} === 'host';
  const loop = host ? evloop.hostLoop() : evloop.newEventLoop();
  const got = loop.createFuture();
  loop.addSignalHandler(${JSON.stringify(signal)}, () => { if (!got.done()) got.setResult('handled'); });
  process.kill(process.pid, ${JSON.stringify(signal)});
  const then = (v) => {
    console.log(v);
    console.log('removed', loop.removeSignalHandler(${JSON.stringify(signal)}));
    ${after}
  };
  if (host) {
    const t = setTimeout(() => { console.log('timeout'); process.exit(3); }, ${BOUND_MS - 2000});
    got.then((v) => { clearTimeout(t); then(v); });
  } else {
    loop.callLater(${BOUND_MS - 2000}, () => loop.stop());
    then(loop.runUntilComplete(got));
  }
  `;
}

describe.each(LOOP_KINDS)('$name loop: removing the last handler restores the previous behaviour', (kind) => {
  it("SIGUSR2's default action (terminate) applies again", () => {
    const r = runChild(
      restoreScript(kind.name, 'SIGUSR2', '', `process.kill(process.pid, 'SIGUSR2'); console.log('survived');`),
    );
    expect(r.stdout).toContain('handled');
    expect(r.stdout).toContain('removed true');
    expect(r.stdout).not.toContain('survived');
    expect(r.signal).toBe('SIGUSR2');
  });

  it('a process.on listener that was there before gets the signal again', () => {
    const r = runChild(
      restoreScript(
        kind.name,
        'SIGUSR2',
        `let heard = 0; process.on('SIGUSR2', () => { heard++; });`,
        `const keep = setTimeout(() => { console.log('listener not called'); process.exit(5); }, ${BOUND_MS - 2000});
         process.on('SIGUSR2', () => { clearTimeout(keep); console.log('listener', heard); });
         process.kill(process.pid, 'SIGUSR2');`,
      ),
    );
    expect(r.signal).toBeNull();
    expect(r.stdout).toContain('handled');
    // The first listener heard both signals (the one the loop handled too, and the one after).
    expect(r.stdout).toContain('listener 2');
    expect(r.status).toBe(0);
  });

  it('a signal the process ignored before (SIGPIPE: Node ignores it) is ignored again', () => {
    const r = runChild(
      restoreScript(kind.name, 'SIGPIPE', '', `process.kill(process.pid, 'SIGPIPE'); console.log('survived');`),
    );
    expect(r.stdout).toContain('handled');
    expect(r.signal).toBeNull();
    expect(r.stdout).toContain('survived');
    expect(r.status).toBe(0);
  });

  it('another loop still watching the signal keeps it handled', () => {
    const r = runChild(`
      const other = evloop.newEventLoop();
      const otherGot = other.createFuture();
      other.addSignalHandler('SIGUSR2', () => { if (!otherGot.done()) otherGot.setResult('other handled'); });
      ${restoreScript(
        kind.name,
        'SIGUSR2',
        '',
        `process.kill(process.pid, 'SIGUSR2');
         setImmediate(() => {
           other.callLater(${BOUND_MS - 2000}, () => other.stop());
           console.log(other.runUntilComplete(otherGot));
         });`,
      )}
    `);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.stdout).toContain('other handled');
    expect(r.status).toBe(0);
  });
});

export type { EventLoop };
