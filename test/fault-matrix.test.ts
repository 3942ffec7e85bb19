// The fault matrix (issue 7): what happens to a Future, the pool, the loop and the process when
// work fails in every way it can. A JavaScript task throws, rejects, never settles, exhausts its
// heap; a worker is terminated while blocked in a loop and while its pool tasks run;
// process.exit() comes with work queued and running; a loop is collected without close() with
// everything armed; the pool is resized down while busy; shutdown races submits from several
// threads. Anything that could crash or hang runs in a child process with a bounded wait.
import { describe, expect, it, vi } from 'vitest';
import { describeChild, entry, evloop, root, spawnSource, type ChildResult } from './harness';

vi.setConfig({ testTimeout: 120_000 });

const { ThreadPoolExecutor, hostLoop, tasks } = evloop;

// ---- children --------------------------------------------------------------------------------------

/** Finished by itself, in time, with `code`, and no native crash. */
function expectClean(r: ChildResult, code = 0): void {
  expect(r.timedOut, describeChild(r)).toBe(false);
  expect(r.signal, describeChild(r)).toBeNull();
  expect(r.stderr, describeChild(r)).not.toMatch(/FATAL ERROR|Segmentation fault|core dumped|Assertion failed|napi_throw|terminate called|AddressSanitizer/);
  expect(r.code, describeChild(r)).toBe(code);
}

// ---- a JavaScript task throws, rejects, never settles ----------------------------------------------

describe('a JavaScript task that fails', () => {
  it('throws: its Future fails with the error (class, message, stack, own properties); the pool goes on', async () => {
    const host = hostLoop();
    const ex = new ThreadPoolExecutor({ maxWorkers: 2, name: 'fmthrow' });
    try {
      const failing = host.runInExecutor(ex, (code: string) => {
        const error = new RangeError('out of bounds on the pool') as RangeError & { code: string; extra: unknown };
        error.code = code;
        error.extra = { n: 1 };
        throw error;
      }, 'E_POOL');
      const error: any = await failing.then(() => null, (e) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toBe('out of bounds on the pool');
      expect(error.code).toBe('E_POOL');
      expect(error.extra).toEqual({ n: 1 });
      expect(error.stack).toContain('out of bounds on the pool');
      // Odd thrown values come back as they are.
      for (const value of ['a string', 42, null, { plain: true }]) {
        const thrown = await host.runInExecutor(ex, (v: unknown) => { throw v; }, value).then(() => 'resolved', (e) => e);
        expect(thrown).toEqual(value);
      }
      // The pool goes on, on the same threads.
      expect(await host.runInExecutor(ex, (x: number) => x + 1, 1)).toBe(2);
      const stats = ex.stats();
      expect({ failed: stats.failed, completed: stats.completed }).toEqual({ failed: 5, completed: 1 });
    } finally {
      await ex.shutdown();
    }
  });

  it('rejects (an async function, or a returned promise): its Future fails with the reason', async () => {
    const host = hostLoop();
    const ex = new ThreadPoolExecutor({ maxWorkers: 1, name: 'fmrej' });
    try {
      const a: any = await host.runInExecutor(ex, async () => { await null; throw new TypeError('async failure'); }).then(() => null, (e) => e);
      expect(a).toBeInstanceOf(TypeError);
      expect(a.message).toBe('async failure');
      const b = await host.runInExecutor(ex, () => Promise.reject(new Error('returned rejection'))).then(() => null, (e) => e);
      expect((b as Error).message).toBe('returned rejection');
      const c = await host.runInExecutor(ex, async () => Promise.reject('just a string')).then(() => null, (e) => e);
      expect(c).toBe('just a string');
      expect(await host.runInExecutor(ex, async (x: number) => x * 2, 4)).toBe(8);
      expect(ex.stats()).toMatchObject({ failed: 3, completed: 1 });
    } finally {
      await ex.shutdown();
    }
  });

  it('never settles: shutdown({ wait: false }) returns at once, cancel() drops it, and the process exits by itself', async () => {
    const r = await spawnSource(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, name: 'fmnever' });
      const loop = evloop.newEventLoop();
      const out = {};
      const never = loop.runInExecutor(ex, () => new Promise(() => {}));       // a promise that never settles
      const spin = loop.runInExecutor(ex, () => { for (;;) {} });                // a thread that never returns
      const queued = loop.runInExecutor(ex, (x) => x, 1);                        // waits behind them
      const poll = () => (ex.stats().running === 2 ? loop.stop() : loop.callLater(5, poll));
      loop.callSoon(poll);
      loop.callLater(10000, () => loop.stop());
      loop.runForever();
      out.running = ex.stats().running;
      const t = Date.now();
      ex.shutdown({ wait: false }).then(() => {
        out.shutdownMs = Date.now() - t;
        out.cancel = [never.cancel(), spin.cancel(), queued.cancel()];
        out.cancelled = [never.cancelled(), spin.cancelled(), queued.cancelled()];
        try { ex.submit((x) => x, 1); out.submit = 'accepted'; } catch (e) { out.submit = e.code; }
        loop.close();
        console.log(JSON.stringify(out));
        // Nothing else: the process must exit although two pool threads are busy for ever.
      });
    `);
    expectClean(r);
    expect(r.out).toEqual({
      running: 2,
      shutdownMs: expect.any(Number),
      cancel: [true, true, true],
      cancelled: [true, true, true],
      submit: 'ERR_EXECUTOR_SHUTDOWN',
    });
    expect(r.out.shutdownMs).toBeLessThan(1000);
  });

  // On the host loop, cancel() of pool work that is already running stops the loop waiting for
  // it: a task that never settles does not keep the process alive once every Future is done.
  it('never settles, submitted from the host loop: once its Future is cancelled the process can exit', async () => {
    const r = await spawnSource(
      `
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, name: 'fmnever3' });
      const host = evloop.hostLoop();
      const never = host.runInExecutor(ex, () => new Promise(() => {}));
      const spin = host.runInExecutor(ex, () => { for (;;) {} });
      const poll = setInterval(async () => {
        if (ex.stats().running < 2) return; // both running: cancel() cannot take them off the queue
        clearInterval(poll);
        await ex.shutdown({ wait: false });
        console.log(JSON.stringify([never.cancel(), spin.cancel()]));
      }, 10);
    `,
      { timeoutMs: 8000 },
    );
    expectClean(r);
    expect(r.out).toEqual([true, true]);
  });

  it('never settles, on a private loop: a run with a timeout bound (waitFor) ends with ERR_TIMEOUT and the loop closes', async () => {
    const r = await spawnSource(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1, name: 'fmnever2' });
      const loop = evloop.newEventLoop();
      evloop.setEventLoop(loop);
      const out = {};
      try {
        loop.runUntilComplete(evloop.waitFor(loop.runInExecutor(ex, () => new Promise(() => {})), 200));
      } catch (e) { out.error = e.code; }
      loop.close();
      ex.shutdown({ wait: false });
      out.closed = loop.isClosed();
      console.log(JSON.stringify(out));
    `);
    expectClean(r);
    expect(r.out).toEqual({ error: 'ERR_TIMEOUT', closed: true });
  });
});

// ---- heap exhaustion ----------------------------------------------------------------------------------

// The pool thread is a worker_threads Worker of this process; Node ends a Worker whose heap is
// exhausted (ERR_WORKER_OUT_OF_MEMORY) instead of the process. --max-old-space-size (here 64 MB,
// for every isolate of the child) makes that quick.
const HOG = `() => { const hog = []; for (;;) hog.push(new Array(1e5).fill(Math.random())); }`;

describe('a JavaScript task that exhausts its heap', () => {

  it("fails its Future with ERR_TASK_ABORTED, the process survives, and later work runs on a new pool thread", async () => {
    const r = await spawnSource(
      `
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1, name: 'fmoom' });
      const host = evloop.hostLoop();
      const out = {};
      process.on('warning', (w) => { out.warning = String(w.message).includes('ERR_WORKER_OUT_OF_MEMORY') || String(w.message); });
      (async () => {
        out.before = await host.runInExecutor(ex, (x) => x + 1, 1);
        try { await host.runInExecutor(ex, ${HOG}); out.hog = 'resolved'; }
        catch (e) { out.hog = [e.name, e.code, /out of memory/.test(e.message)]; }
        out.after = await host.runInExecutor(ex, (x) => x + 1, 2);
        out.native = (await host.runInExecutor(ex, evloop.tasks.digest, 'sha1', 'x')).length;
        await ex.shutdown();
        const s = ex.stats();
        out.stats = { completed: s.completed, failed: s.failed, accounted: s.completed + s.failed + s.cancelled };
        console.log(JSON.stringify(out));
      })();
    `,
      { nodeArgs: ['--max-old-space-size=64'], timeoutMs: 60_000 },
    );
    expectClean(r);
    expect(r.out).toEqual({
      before: 2,
      hog: ['EvloopError', 'ERR_TASK_ABORTED', true],
      after: 3,
      native: 20,
      warning: true,
      stats: { completed: 3, failed: 1, accounted: 4 },
    });
  });

  it('on a private loop too: the blocked run gets the failure, not a hang', async () => {
    const r = await spawnSource(
      `
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, name: 'fmoom2' });
      const loop = evloop.newEventLoop();
      const out = {};
      process.on('warning', () => {});
      const hog = loop.runInExecutor(ex, ${HOG});
      const ok = loop.runInExecutor(ex, (x) => x * 2, 21); // on the other pool thread
      out.results = loop.runUntilComplete(evloop.gather([hog, ok], { returnExceptions: true })).map((v) => (v instanceof Error ? v.code : v));
      out.again = loop.runUntilComplete(loop.runInExecutor(ex, (x) => x, 'again'));
      loop.close();
      ex.shutdown({ wait: false });
      console.log(JSON.stringify(out));
    `,
      { nodeArgs: ['--max-old-space-size=64'], timeoutMs: 60_000 },
    );
    expectClean(r);
    expect(r.out).toEqual({ results: ['ERR_TASK_ABORTED', 42], again: 'again' });
  });
});

// ---- a task that ends its pool thread ------------------------------------------------------------------

describe('a JavaScript task that ends its pool thread, with work queued behind it', () => {
  // maxWorkers 1: the second task waits for the thread the first one ends. The loop that
  // submitted it starts a new pool thread (a RunnerWanted notice), so it runs instead of failing.
  const FAULTS = {
    'exhausts its heap': { fn: HOG, expected: { name: 'EvloopError', code: 'ERR_TASK_ABORTED', says: 'out of memory' } },
    'throws from a callback of its own (an uncaught exception on the pool thread)': {
      fn: `() => new Promise(() => setTimeout(() => { throw new RangeError('thrown from a timer'); }, 1))`,
      expected: { name: 'RangeError', says: 'thrown from a timer' },
    },
    'calls process.exit()': {
      fn: `() => process.exit(5)`,
      expected: { name: 'EvloopError', code: 'ERR_TASK_ABORTED', says: 'process.exit(5)' },
    },
  };
  const CASES = Object.entries(FAULTS).flatMap(([fault, f]) => ['private', 'host'].map((loop) => [fault, loop, f] as const));

  it.each(CASES)('%s, on the %s loop: it fails with a clear error, the queued task runs on a new pool thread', async (_fault, kind, { fn, expected }) => {
    const r = await spawnSource(
      `
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1, name: 'fmend' });
      const loop = ${kind === 'private'} ? evloop.newEventLoop() : evloop.hostLoop();
      process.on('warning', () => {});
      const both = evloop.gather([loop.runInExecutor(ex, ${fn}), loop.runInExecutor(ex, (x) => x * 3, 5)], { returnExceptions: true });
      const report = ([killed, queued]) => ({
        killed: { name: killed.name, code: killed.code, says: ${JSON.stringify(expected.says)}, found: killed.message.includes(${JSON.stringify(expected.says)}) },
        queued,
      });
      if (${kind === 'private'}) {
        const out = report(loop.runUntilComplete(both));
        loop.close();
        ex.shutdown({ wait: false });
        console.log(JSON.stringify(out));
      } else {
        (async () => {
          const out = report(await both);
          await ex.shutdown();
          out.accounted = ex.stats().completed + ex.stats().failed;
          console.log(JSON.stringify(out));
        })();
      }
    `,
      { nodeArgs: ['--max-old-space-size=64'], timeoutMs: 60_000 },
    );
    expectClean(r);
    expect(r.out).toEqual({
      killed: { code: undefined, ...expected, found: true },
      queued: 15,
      ...(kind === 'host' ? { accounted: 2 } : {}),
    });
  });
});

// ---- workers terminated, process.exit() ---------------------------------------------------------------

describe('a worker terminated while its pool tasks run', () => {
  it("on a shared pool: terminate() is prompt, the pool goes on for the others, and every task is accounted for", async () => {
    const r = await spawnSource(`
      const { Worker } = require('node:worker_threads');
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 3, name: 'fmterm' });
      const host = evloop.hostLoop();
      const out = {};
      const source = \`
        const { workerData, parentPort } = require('node:worker_threads');
        const evloop = require(${JSON.stringify(entry)});
        const ex = evloop.ThreadPoolExecutor.fromShared(workerData.pool);
        const loop = evloop.newEventLoop();
        const futures = [
          // Says when it runs (a file), then keeps its pool thread busy.
          loop.runInExecutor(ex, (marker) => {
            require('node:fs').writeFileSync(marker, 'started');
            const end = Date.now() + 1500;
            while (Date.now() < end) {}
            return 'spun';
          }, workerData.marker),
          loop.runInExecutor(ex, evloop.tasks.sleep, 800),
        ];
        for (let i = 0; i < 20; i++) futures.push(loop.runInExecutor(ex, evloop.tasks.sleep, 1)); // queued native
        loop.callSoon(() => parentPort.postMessage('ready'));
        loop.runUntilComplete(evloop.gather(futures));
        parentPort.postMessage('not reached');
      \`;
      const marker = require('node:path').join(require('node:os').tmpdir(), 'evloop-fm-' + process.pid);
      (async () => {
        out.warm = await host.runInExecutor(ex, (x) => x, 'warm');
        const worker = new Worker(source, { eval: true, workerData: { pool: ex.share(), marker } });
        const exited = new Promise((resolve) => worker.on('exit', resolve));
        worker.on('message', async (m) => {
          if (m !== 'ready') { out.unexpected = m; return; }
          // Terminated while its JavaScript task runs (on a pool thread of its own, which dies
          // with it), its native task runs and the rest waits in the queue.
          const t0 = Date.now();
          while (!require('node:fs').existsSync(marker) && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 5));
          require('node:fs').rmSync(marker, { force: true });
          const t = Date.now();
          out.exitCode = await worker.terminate();
          out.terminateMs = Date.now() - t;
          await exited;
          // The pool goes on: the worker's work finishes (its results are dropped), ours runs.
          out.mine = await host.runInExecutor(ex, (x) => x + 1, 41);
          out.native = (await host.runInExecutor(ex, evloop.tasks.digest, 'md5', 'x')).length;
          await ex.shutdown();
          const s = ex.stats();
          out.accounted = s.completed + s.failed + s.cancelled;
          out.failed = s.failed; // the JavaScript task whose pool thread died with the worker
          out.inFlight = s.queued + s.running;
          console.log(JSON.stringify(out));
        });
      })();
    `);
    expectClean(r);
    expect(r.out).toEqual({ warm: 'warm', exitCode: 1, terminateMs: expect.any(Number), mine: 42, native: 16, accounted: 25, failed: 1, inFlight: 0 });
    expect(r.out.terminateMs).toBeLessThan(5000);
  });

  // Its JavaScript work runs only on pool threads it starts (Workers of its own): when it ends
  // before they attach, its group ends with it (end_group at its environment's teardown), so
  // its queued work fails instead of keeping the pool from draining for every thread.
  it('a worker that ends right after submitting JavaScript work to a shared pool does not keep its shutdown from resolving', async () => {
    const r = await spawnSource(
      `
      const { Worker } = require('node:worker_threads');
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, name: 'fmstrand' });
      const source = \`
        const { workerData, parentPort } = require('node:worker_threads');
        const evloop = require(${JSON.stringify(entry)});
        const ex = evloop.ThreadPoolExecutor.fromShared(workerData.pool);
        const loop = evloop.newEventLoop();
        const f = [1, 2, 3].map((i) => loop.runInExecutor(ex, (x) => x, i));
        process.exit(0); // at once: the pool thread it asked for never gets to attach
      \`;
      const worker = new Worker(source, { eval: true, workerData: { pool: ex.share() } });
      worker.on('exit', async () => {
        const host = evloop.hostLoop();
        const out = {};
        out.mine = await host.runInExecutor(ex, (x) => x * 2, 21).then((v) => v, (e) => e.code);
        await ex.shutdown();
        out.inFlight = ex.stats().queued + ex.stats().running;
        console.log(JSON.stringify(out));
      });
    `,
      { timeoutMs: 6000 },
    );
    expectClean(r);
    expect(r.out).toEqual({ mine: 42, inFlight: 0 });
  });

  it("with its own executor whose JavaScript and native tasks run: terminate() is prompt and the process exits", async () => {
    const r = await spawnSource(`
      const { Worker } = require('node:worker_threads');
      const source = \`
        const { parentPort } = require('node:worker_threads');
        const evloop = require(${JSON.stringify(entry)});
        const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, name: 'fmown' });
        const loop = evloop.newEventLoop();
        const f = [loop.runInExecutor(ex, () => { for (;;) {} }), loop.runInExecutor(ex, evloop.tasks.sleep, 600000)];
        for (let i = 0; i < 20; i++) f.push(loop.runInExecutor(ex, (x) => x, i));
        loop.callLater(200, () => parentPort.postMessage('ready'));
        loop.runUntilComplete(evloop.gather(f));
      \`;
      const worker = new Worker(source, { eval: true });
      worker.on('message', async () => {
        const t = Date.now();
        const code = await worker.terminate();
        console.log(JSON.stringify({ code, terminateMs: Date.now() - t }));
      });
    `);
    expectClean(r);
    expect(r.out.code).toBe(1);
    expect(r.out.terminateMs).toBeLessThan(5000);
  });
});

describe('process.exit() with work queued and running', () => {
  const SETUP = `
    const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 3, name: 'fmexit' });
    const loop = evloop.newEventLoop();
    const f = [
      loop.runInExecutor(ex, () => { for (;;) {} }),                 // a JS pool thread that never returns
      loop.runInExecutor(ex, evloop.tasks.sleep, 600000),           // a native one, ten minutes
      loop.runInExecutor(ex, () => new Promise(() => {})),          // a promise that never settles
    ];
    for (let i = 0; i < 50; i++) f.push(loop.runInExecutor(ex, i % 2 ? evloop.tasks.sleep : (x) => x, i % 2 ? 1000 : i));
    process.on('exit', (code) => console.log('exit handler ' + code));
  `;

  it('from a callback of a private loop blocking the main thread', async () => {
    const r = await spawnSource(`
      ${SETUP}
      loop.callLater(300, () => { console.log('exiting ' + JSON.stringify(ex.stats().running)); process.exit(3); });
      loop.runUntilComplete(evloop.gather(f));
    `);
    expectClean(r, 3);
    expect(r.lines).toEqual(['exiting 3', 'exit handler 3']);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('from the host loop (Node is idle but for the pool)', async () => {
    const r = await spawnSource(`
      ${SETUP}
      loop.close(); // the private loop's futures are dropped; the pool keeps running them
      setTimeout(() => { console.log('exiting'); process.exit(4); }, 300);
    `);
    expectClean(r, 4);
    expect(r.lines).toEqual(['exiting', 'exit handler 4']);
  });

  it('with no exit call: the process ends by itself although pool threads are busy forever', async () => {
    const r = await spawnSource(`
      ${SETUP}
      loop.callLater(300, () => loop.stop());
      loop.runForever();
      loop.close();
      console.log('done');
    `);
    expectClean(r, 0);
    expect(r.lines).toEqual(['done', 'exit handler 0']);
  });
});

// ---- a loop collected without close() ------------------------------------------------------------------

describe('a loop garbage-collected without close()', () => {
  it('with timers, readers, writers, signal handlers, posts and pool work in flight: no crash, pool accounted, descriptors back', async () => {
    const r = await spawnSource(
      `
      const fs = require('node:fs');
      const path = require('node:path');
      const { pipeFd } = require(${JSON.stringify(`${root}/test/fixtures/safety-probe.cjs`)});
      const fds = () => fs.readdirSync('/proc/self/fd').length;
      // idleTimeout: see the shutdown test below (a JS pool thread may stay until it passes).
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, name: 'fmgc', idleTimeout: 100 });
      const fd = pipeFd();
      const out = {};
      // Once the loops that watched it are gone, SIGUSR2 goes to Node: keep it from ending us.
      process.on('SIGUSR2', () => { out.nodeHeard = true; });
      // Warm-up (a private loop, the host loop that shutdown() waits on), then the baseline.
      { const l = evloop.newEventLoop(); l.close(); evloop.hostLoop(); }
      const base = fds();
      const refs = [];
      (function make() { // a plain function: nothing of it stays on a suspended frame
        for (let i = 0; i < 20; i++) {
          const loop = evloop.newEventLoop();
          loop.callLater(100, () => {});
          loop.callLater(600000, () => {});
          loop.addReader(fd, () => {});
          loop.addWriter(fd, () => {});
          loop.addSignalHandler('SIGUSR2', () => {});
          loop.onMessage(() => {});
          refs.push(loop.share());
          loop.runInExecutor(ex, evloop.tasks.sleep, 100);
          loop.runInExecutor(ex, (x) => { const end = Date.now() + 20; while (Date.now() < end) {} return x; }, i);
          loop.runInExecutor(ex, evloop.tasks.sleep, 1).cancel();
        }
      })();
      out.held = fds() - base >= 20;
      (async () => {
        for (let i = 0; i < 10; i++) { gc(); await new Promise((r) => setTimeout(r, 20)); }
        // Everything the dead loops were armed for happens now.
        fs.writeSync(fd, 'x');
        process.kill(process.pid, 'SIGUSR2');
        out.posts = refs.map((ref) => { try { evloop.post(ref, 'late'); return 'ok'; } catch (e) { return e.code; } }).filter((c) => c !== 'ERR_LOOP_CLOSED' && c !== 'ok');
        await ex.shutdown();
        const s = ex.stats();
        out.accounted = s.completed + s.failed + s.cancelled;
        for (let i = 0; i < 250 && fds() > base; i++) { gc(); await new Promise((r) => setTimeout(r, 20)); }
        out.left = fds() - base;
        console.log(JSON.stringify(out));
      })();
    `,
      { nodeArgs: ['--expose-gc'] },
    );
    expectClean(r);
    expect(r.out).toEqual({ held: true, posts: [], accounted: 60, left: 0, nodeHeard: true });
  });
});

// ---- resize and shutdown races --------------------------------------------------------------------------

describe('the pool resized down while busy', () => {
  it('running work finishes, then at most the new maxWorkers run at once; every task completes; growing again works', async () => {
    const r = await spawnSource(`
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 4, name: 'fmresize', idleTimeout: 50 });
      const loop = evloop.newEventLoop();
      const futures = [];
      for (let i = 0; i < 4; i++) futures.push(loop.runInExecutor(ex, evloop.tasks.sleep, 300));
      for (let i = 0; i < 4; i++) futures.push(loop.runInExecutor(ex, (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} return ms; }, 50));
      for (let i = 0; i < 8; i++) futures.push(loop.runInExecutor(ex, evloop.tasks.sleep, 30));
      const out = { peakAfter: 0 };
      // The four native sleeps run from their submit on: resize while they do.
      const atResize = ex.stats();
      ex.resize(1);
      out.runningAtResize = atResize.running;
      const sample = () => {
        if (!sampling) return;
        const s = ex.stats();
        // Once the four that ran at the resize are done, never more than one at a time.
        if (s.completed >= atResize.completed + 4) out.peakAfter = Math.max(out.peakAfter, s.running);
        loop.callLater(2, sample);
      };
      let sampling = true;
      loop.callSoon(sample);
      const results = loop.runUntilComplete(evloop.gather(futures));
      sampling = false;
      out.count = results.length;
      out.stats = (({ maxWorkers, completed, failed }) => ({ maxWorkers, completed, failed }))(ex.stats());
      // And back up: three at once again.
      ex.resize(3);
      const again = [1, 2, 3].map(() => loop.runInExecutor(ex, evloop.tasks.sleep, 100));
      let peak = 0;
      const watch = () => { peak = Math.max(peak, ex.stats().running); loop.callLater(5, watch); };
      loop.callSoon(watch);
      loop.runUntilComplete(evloop.gather(again));
      out.peakUp = peak;
      loop.close();
      ex.shutdown().then(() => console.log(JSON.stringify(out)));
    `);
    expectClean(r);
    expect(r.out).toEqual({
      runningAtResize: 4,
      peakAfter: 1,
      count: 16,
      stats: { maxWorkers: 1, completed: 16, failed: 0 },
      peakUp: 3,
    });
  });
});

describe('shutdown while JavaScript work waits for a slot', () => {
  // Shutdown with JS work still queued: once a group's queue drains, its idle JS pool threads are
  // woken and leave, rather than staying until idleTimeout.
  it('every JavaScript pool thread leaves once the work is done', async () => {
    const r = await spawnSource(`
      const fs = require('node:fs');
      const names = () => fs.readdirSync('/proc/self/task').map((t) => { try { return fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim(); } catch { return ''; } }).filter((n) => n.startsWith('fmslot'));
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2, name: 'fmslot' });
      const host = evloop.hostLoop();
      const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} return ms; };
      (async () => {
        await Promise.all([host.runInExecutor(ex, spin, 100), host.runInExecutor(ex, spin, 100)]); // two JS pool threads, idle now
        const natives = [host.runInExecutor(ex, evloop.tasks.sleep, 300), host.runInExecutor(ex, evloop.tasks.sleep, 300)]; // both slots
        const queued = host.runInExecutor(ex, spin, 10); // waits for a slot
        await ex.shutdown();
        await Promise.all([...natives, queued]);
        for (let i = 0; i < 30 && names().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
        console.log(JSON.stringify({ left: names(), threads: ex.stats().threads }));
      })();
    `);
    expectClean(r);
    expect(r.out).toEqual({ left: [], threads: 0 });
  });
});

describe('shutdown racing submits from several threads', () => {
  const RACE = (cancelFutures: boolean) => `
    const { Worker } = require('node:worker_threads');
    const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 4, name: 'fmrace' });
    const source = \`
      const { workerData, parentPort } = require('node:worker_threads');
      const evloop = require(${JSON.stringify(entry)});
      const ex = evloop.ThreadPoolExecutor.fromShared(workerData.pool);
      const loop = evloop.newEventLoop();
      const futures = [];
      const other = [];
      let refused = 0;
      parentPort.postMessage('started');
      for (let i = 0; ; i++) {
        try {
          futures.push(loop.runInExecutor(ex, i % 3 === 0 ? (x) => x : evloop.tasks.sleep, i % 3 === 0 ? i : 0));
        } catch (e) {
          if (e.code === 'ERR_EXECUTOR_SHUTDOWN') { refused++; if (refused === 3) break; } else { other.push(e.code); break; }
        }
        if (i % 50 === 0) { loop.stop(); loop.runForever(); } // a turn now and then: results come in
      }
      // gather([]) has no Future to take its loop from (it would be getEventLoop()'s): skip it.
      const outcomes = futures.length === 0 ? [] : loop.runUntilComplete(evloop.gather(futures, { returnExceptions: true }));
      const kinds = {};
      for (const o of outcomes) { const k = o instanceof Error ? o.code : 'ok'; kinds[k] = (kinds[k] || 0) + 1; }
      loop.close();
      parentPort.postMessage({ accepted: futures.length, kinds, other });
    \`;
    const reports = [];
    let started = 0;
    const workers = Array.from({ length: 4 }, () => {
      const w = new Worker(source, { eval: true, workerData: { pool: ex.share() } });
      w.on('message', (m) => {
        if (m === 'started') { if (++started === 4) setTimeout(() => ex.shutdown({ cancelFutures: ${cancelFutures}, wait: false }), 30); }
        else reports.push(m);
      });
      return new Promise((resolve) => w.on('exit', resolve));
    });
    Promise.all(workers).then(async () => {
      const s = ex.stats();
      const accepted = reports.reduce((n, r) => n + r.accepted, 0);
      const kinds = {};
      for (const r of reports) for (const [k, v] of Object.entries(r.kinds)) kinds[k] = (kinds[k] || 0) + v;
      console.log(JSON.stringify({
        reports: reports.length,
        other: reports.flatMap((r) => r.other),
        acceptedSome: accepted > 0,
        everyFutureSettled: Object.values(kinds).reduce((a, b) => a + b, 0) === accepted,
        kinds: Object.keys(kinds).sort(),
        accounted: s.completed + s.failed + s.cancelled === accepted,
        inFlight: s.queued + s.running,
        cancelledMatches: (kinds.ERR_CANCELLED || 0) === s.cancelled,
      }));
    });
  `;

  it.each([false, true])('cancelFutures %s: every submit is either refused or settles; the pool accounts for each', async (cancelFutures) => {
    const r = await spawnSource(RACE(cancelFutures), { timeoutMs: 60_000 });
    expectClean(r);
    expect(r.out).toMatchObject({
      reports: 4,
      other: [],
      acceptedSome: true,
      everyFutureSettled: true,
      accounted: true,
      inFlight: 0,
      cancelledMatches: true,
    });
    // Without cancelFutures everything accepted runs; with it, some may be cancelled.
    if (!cancelFutures) expect(r.out.kinds).toEqual(['ok']);
    else expect(r.out.kinds.every((k: string) => k === 'ok' || k === 'ERR_CANCELLED')).toBe(true);
  });
});

// ---- a native task fails ----------------------------------------------------------------------------------

describe('a native task that fails', () => {
  it('fails its Future with the system error; the pool thread goes on', async () => {
    const host = hostLoop();
    const ex = new ThreadPoolExecutor({ maxWorkers: 1, name: 'fmnat' });
    try {
      const missing: any = await host.runInExecutor(ex, tasks.readFile, '/nonexistent/evloop/fault').then(() => null, (e) => e);
      expect(missing.code).toBe('ENOENT');
      const bad: any = await host.runInExecutor(ex, tasks.gunzip, Buffer.from('not gzip at all')).then(() => null, (e) => e);
      expect(bad).toBeInstanceOf(Error);
      expect((await host.runInExecutor(ex, tasks.digest, 'sha256', 'x') as Buffer).length).toBe(32);
      expect(ex.stats()).toMatchObject({ failed: 2, completed: 1 });
    } finally {
      await ex.shutdown();
    }
  });
});
