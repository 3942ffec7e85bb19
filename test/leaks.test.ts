// Faults and leaks (issue 3, "Safety"): closing a loop frees its native resources; a loop
// dropped without close() is reclaimed by GC without a crash; Symbol.dispose closes; a worker's
// loops are freed when it exits; an executor's threads are gone after shutdown or idle exit.
// Each case counts /proc/self/fd and /proc/self/task in a fresh child process (the test runner's
// own process has threads and descriptors of its own that come and go).
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { describeChild, spawnNode } from './harness';

// Concurrent tests queue for a child slot (test/harness.ts); a test's own bound is its child's.
vi.setConfig({ testTimeout: 120_000 });

const probePath = JSON.stringify(path.join(__dirname, 'fixtures', 'safety-probe.cjs'));

/**
 * Runs `body` (the inside of an async function, with `probe` = safety-probe.cjs and `base` =
 * { fds, threads } measured after a warm-up) in a child; the child prints `out` as JSON.
 */
async function measure(body: string, { args = [] as string[], timeoutMs = 25_000 } = {}): Promise<{ out: any; stderr: string }> {
  const source = `
    const probe = require(${probePath});
    const { fds, threads, threadNames, pipeFd, waitUntil } = probe;
    (async () => {
      await probe.warmUp();
      const keep = pipeFd(); // one pipe for the watchers, opened before the baseline
      process.on('SIGUSR2', () => { out.nodeHeardSignal = (out.nodeHeardSignal || 0) + 1; });
      const base = { fds: fds(), threads: threads() };
      const out = {};
      ${body}
      console.log(JSON.stringify(out));
    })().catch((error) => { console.log(JSON.stringify({ failed: String(error && error.stack || error) })); process.exitCode = 1; });
  `;
  const r = await spawnNode([...args, '-e', source], { timeoutMs });
  const diag = describeChild(r);
  expect(r.timedOut, diag).toBe(false);
  expect(r.signal, diag).toBeNull();
  expect(r.stderr, diag).not.toMatch(/FATAL ERROR|Segmentation fault|core dumped|Assertion failed|napi_throw/);
  expect(r.out, diag).toBeDefined();
  expect(r.out.failed, diag).toBeUndefined();
  expect(r.code, diag).toBe(0);
  return { out: r.out, stderr: r.stderr };
}

/** Arms a loop with what holds native resources: timers, watchers, signal handlers, a share. */
const ARM = `
  const arm = (loop) => {
    loop.callLater(600000, () => {});
    loop.callSoon(() => {});
    loop.addReader(keep, () => {});
    loop.addWriter(keep, () => {});
    loop.addSignalHandler('SIGUSR2', () => {});
    loop.addSignalHandler('SIGWINCH', () => {});
    loop.createFuture();
    loop.share();
    return loop;
  };
`;

describe('closing a loop frees its native resources', () => {
  it.concurrent('50 armed loops: descriptors and threads go back to the baseline after close()', async () => {
    const { out } = await measure(`
      ${ARM}
      const loops = [];
      for (let i = 0; i < 50; i++) loops.push(arm(probe.evloop.newEventLoop()));
      out.held = fds() - base.fds;
      for (const loop of loops) loop.close();
      out.fds = fds() - base.fds;
      out.threads = Math.max(0, threads() - base.threads);
      out.closed = loops.every((l) => l.isClosed());
    `);
    expect(out.held).toBeGreaterThanOrEqual(50); // a private loop holds descriptors while open
    expect(out).toMatchObject({ fds: 0, threads: 0, closed: true });
  });

  it.concurrent('loops that ran (timers fired, a descriptor was ready, a signal and a message arrived) free everything on close()', async () => {
    const { out } = await measure(`
      const { evloop } = probe;
      const fired = { timer: 0, reader: 0, signal: 0, message: 0 };
      require('node:fs').writeSync(keep, 'x'); // readable from now on
      const loops = [];
      for (let i = 0; i < 20; i++) {
        const loop = evloop.newEventLoop();
        loop.callLater(1, () => fired.timer++);
        loop.addReader(keep, () => { fired.reader++; loop.removeReader(keep); });
        loop.addSignalHandler('SIGUSR2', () => { fired.signal++; loop.stop(); });
        loop.onMessage(() => fired.message++);
        evloop.post(loop.share(), { i });
        loop.callLater(2, () => process.kill(process.pid, 'SIGUSR2'));
        loop.callLater(5000, () => loop.stop()); // bound
        loop.runForever();
        loops.push(loop);
      }
      for (const loop of loops) loop.close();
      out.fired = fired;
      out.fds = fds() - base.fds;
      out.threads = Math.max(0, threads() - base.threads);
    `);
    expect(out).toMatchObject({ fired: { timer: 20, reader: 20, signal: 20, message: 20 }, fds: 0, threads: 0 });
  });

  it.concurrent('creating and closing 1000 loops one after another leaves nothing behind', async () => {
    const { out } = await measure(`
      ${ARM}
      let peak = 0;
      for (let i = 0; i < 1000; i++) {
        const loop = arm(probe.evloop.newEventLoop());
        if (i % 100 === 0) peak = Math.max(peak, fds() - base.fds);
        loop.close();
      }
      out.peak = peak;
      out.fds = fds() - base.fds;
      out.threads = Math.max(0, threads() - base.threads);
    `);
    expect(out.peak).toBeLessThan(20);
    expect(out).toMatchObject({ fds: 0, threads: 0 });
  });

  it.concurrent("closing loops that watched a signal leaves Node's own listener for it working", async () => {
    const { out } = await measure(`
      ${ARM}
      for (let i = 0; i < 5; i++) arm(probe.evloop.newEventLoop()).close();
      process.kill(process.pid, 'SIGUSR2');
      await waitUntil(() => out.nodeHeardSignal === 1, 5000);
      out.fds = fds() - base.fds;
    `);
    expect(out).toEqual({ nodeHeardSignal: 1, fds: 0 });
  });

  it.concurrent('run() frees its loop: descriptors and threads back to the baseline', async () => {
    const { out } = await measure(`
      const { evloop } = probe;
      out.value = evloop.run(function* () {
        const loop = evloop.getRunningLoop();
        loop.addReader(keep, () => {});
        loop.callLater(600000, () => {});
        loop.createTask(function* () { yield evloop.sleep(600000); }()); // left pending: run() cancels it
        return yield evloop.sleep(2, 'done');
      }());
      out.fds = fds() - base.fds;
      out.threads = Math.max(0, threads() - base.threads);
    `);
    expect(out).toEqual({ value: 'done', fds: 0, threads: 0 });
  });
});

describe('Symbol.dispose', () => {
  it.concurrent('loop[Symbol.dispose]() closes the loop and frees its descriptors; twice is harmless', async () => {
    const { out } = await measure(`
      ${ARM}
      const loop = arm(probe.evloop.newEventLoop());
      out.isFunction = typeof loop[Symbol.dispose] === 'function';
      out.held = fds() > base.fds;
      loop[Symbol.dispose]();
      out.closed = loop.isClosed();
      out.fds = fds() - base.fds;
      loop[Symbol.dispose]();
      try { loop.callSoon(() => {}); out.after = 'no error'; } catch (e) { out.after = e.code; }
    `);
    expect(out).toEqual({ isFunction: true, held: true, closed: true, fds: 0, after: 'ERR_LOOP_CLOSED' });
  });

  it.concurrent('executor[Symbol.asyncDispose]() shuts the pool down: submit is refused and its threads leave', async () => {
    const { out } = await measure(`
      const { evloop } = probe;
      const executor = new evloop.ThreadPoolExecutor({ name: 'sfdisp', maxWorkers: 2 });
      await Promise.all([executor.submit(evloop.tasks.sleep, 5), executor.submit(evloop.tasks.sleep, 5)]);
      out.started = threadNames().filter((n) => n.startsWith('sfdisp')).length > 0;
      await executor[Symbol.asyncDispose]();
      try { executor.submit(evloop.tasks.sleep, 1); out.submit = 'no error'; } catch (e) { out.submit = e.code; }
      out.gone = await waitUntil(() => !threadNames().some((n) => n.startsWith('sfdisp')), 5000);
      out.threads = Math.max(0, threads() - base.threads);
    `);
    expect(out).toEqual({ started: true, submit: 'ERR_EXECUTOR_SHUTDOWN', gone: true, threads: 0 });
  });
});

describe('a loop dropped without close() is reclaimed by GC', () => {
  it.concurrent('500 armed loops dropped: no crash, descriptors return near the baseline', async () => {
    const { out } = await measure(
      `
      ${ARM}
      let peak = 0;
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 50; i++) arm(probe.evloop.newEventLoop());
        peak = Math.max(peak, fds() - base.fds);
        await new Promise((resolve) => setImmediate(resolve));
        gc();
      }
      out.peakAboveBase = peak > 40;
      const back = await waitUntil(() => { gc(); return fds() - base.fds <= 8; }, 5000);
      out.back = back;
      out.left = fds() - base.fds;
    `,
      { args: ['--expose-gc'] },
    );
    expect(out.peakAboveBase).toBe(true);
    expect(out.back, `${out.left} descriptors above the baseline`).toBe(true);
  });

  it.concurrent('a signal arriving after loops that watched it were collected goes to Node, without a crash', async () => {
    const { out } = await measure(
      `
      for (let i = 0; i < 20; i++) {
        const loop = probe.evloop.newEventLoop();
        loop.addSignalHandler('SIGUSR2', () => {});
        loop.addSignalHandler('SIGWINCH', () => {});
      }
      const back = await waitUntil(() => { gc(); return fds() - base.fds <= 4; }, 5000);
      process.kill(process.pid, 'SIGUSR2');
      process.kill(process.pid, 'SIGWINCH');
      await waitUntil(() => out.nodeHeardSignal === 1, 5000);
      out.back = back;
    `,
      { args: ['--expose-gc'] },
    );
    expect(out).toEqual({ back: true, nodeHeardSignal: 1 });
  });

  it.concurrent('posting to a collected shared loop is ERR_LOOP_CLOSED, not a crash', async () => {
    const { out } = await measure(
      `
      const { evloop } = probe;
      const make = () => {
        const loop = evloop.newEventLoop();
        const ref = loop.share();
        evloop.post(ref, 'before'); // waits in the inbox of a loop about to be dropped
        return ref;
      };
      const refs = Array.from({ length: 20 }, make);
      await waitUntil(() => { gc(); return fds() - base.fds <= 4; }, 5000);
      const codes = refs.map((ref) => { try { evloop.post(ref, 'after'); return 'no error'; } catch (e) { return e.code; } });
      // A loop the collector has not reached yet (a conservative reference) still takes posts.
      out.unexpected = codes.filter((c) => c !== 'ERR_LOOP_CLOSED' && c !== 'no error');
      out.mostClosed = codes.filter((c) => c === 'ERR_LOOP_CLOSED').length >= 15;
    `,
      { args: ['--expose-gc'] },
    );
    expect(out).toEqual({ unexpected: [], mostClosed: true });
  });

  it.concurrent('a loop dropped while pool work it submitted is still running: the result is dropped, no crash', async () => {
    const { out } = await measure(
      `
      const { evloop } = probe;
      const executor = new evloop.ThreadPoolExecutor({ name: 'sfdrop', maxWorkers: 4 });
      for (let i = 0; i < 4; i++) {
        const loop = evloop.newEventLoop();
        loop.runInExecutor(executor, evloop.tasks.sleep, 100);
        loop.runInExecutor(executor, (x) => x, i);
      }
      for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
      await executor.shutdown({ wait: true });
      const stats = executor.stats();
      out.accounted = stats.completed + stats.failed + stats.cancelled;
      out.gone = await waitUntil(() => !threadNames().some((n) => n.startsWith('sfdrop')), 5000);
    `,
      { args: ['--expose-gc'] },
    );
    expect(out).toEqual({ accounted: 8, gone: true });
  });
});

describe("a worker's loops are freed when the worker ends", () => {
  const WORKER = `
    const { Worker } = require('node:worker_threads');
    const workerSource = (block) => \`
      const { evloop } = require(${probePath.replace(/\\/g, '\\\\')});
      const { parentPort, workerData } = require('node:worker_threads');
      const loops = [];
      for (let i = 0; i < 10; i++) {
        const loop = evloop.newEventLoop();
        loop.callLater(600000, () => {});
        loop.addReader(workerData.fd, () => {});
        loop.addSignalHandler('SIGUSR2', () => {});
        loops.push(loop);
      }
      parentPort.postMessage(require('node:fs').readdirSync('/proc/self/fd').length);
      if (\${block}) { loops[0].callSoon(() => parentPort.postMessage('ready')); loops[0].runForever(); }
    \`;
  `;

  it.concurrent('a worker that exits without closing its loops frees them', async () => {
    const { out } = await measure(`
      ${WORKER}
      const worker = new Worker(workerSource(false), { eval: true, workerData: { fd: keep } });
      let held = 0;
      worker.on('message', (n) => { held = n; });
      out.exitCode = await new Promise((resolve) => worker.on('exit', resolve));
      out.held = held - base.fds >= 10;
      out.back = await waitUntil(() => fds() === base.fds && threads() <= base.threads, 5000);
      out.left = [fds() - base.fds, Math.max(0, threads() - base.threads)];
    `);
    expect(out).toEqual({ exitCode: 0, held: true, back: true, left: [0, 0] });
  });

  it.concurrent('a worker terminated while blocked in one of its loops frees them all', async () => {
    const { out } = await measure(`
      ${WORKER}
      const worker = new Worker(workerSource(true), { eval: true, workerData: { fd: keep } });
      const exited = new Promise((resolve) => worker.on('exit', resolve));
      await new Promise((resolve) => worker.on('message', (m) => m === 'ready' && resolve()));
      out.exitCode = await worker.terminate();
      await exited;
      out.back = await waitUntil(() => fds() === base.fds && threads() <= base.threads, 5000);
      out.left = [fds() - base.fds, Math.max(0, threads() - base.threads)];
    `);
    expect(out).toEqual({ exitCode: 1, back: true, left: [0, 0] });
  });
});

describe('no evloop thread or descriptor is left after an executor is done', () => {
  it.concurrent('native work: after await shutdown() no thread named after the pool is left; threads and fds at the baseline', async () => {
    const { out } = await measure(`
      const { evloop } = probe;
      const executor = new evloop.ThreadPoolExecutor({ name: 'sfnat', maxWorkers: 4 });
      await Promise.all(Array.from({ length: 8 }, () => executor.submit(evloop.tasks.sleep, 10)));
      out.named = threadNames().filter((n) => n.startsWith('sfnat-')).sort();
      await executor.shutdown();
      out.gone = await waitUntil(() => !threadNames().some((n) => n.startsWith('sfnat')), 5000);
      out.back = await waitUntil(() => threads() <= base.threads && fds() === base.fds, 5000);
      out.left = [Math.max(0, threads() - base.threads), fds() - base.fds];
    `);
    expect(out).toEqual({ named: ['sfnat-1', 'sfnat-2', 'sfnat-3', 'sfnat-4'], gone: true, back: true, left: [0, 0] });
  });

  it.concurrent('JavaScript work: after await shutdown() the pool threads that ran it are gone too', async () => {
    const { out } = await measure(`
      const { evloop } = probe;
      const executor = new evloop.ThreadPoolExecutor({ name: 'sfjs', maxWorkers: 2 });
      out.results = await Promise.all([executor.submit((x) => x * 2, 21), executor.submit((x) => x + 1, 1)]);
      out.grew = threads() > base.threads;
      await executor.shutdown();
      out.back = await waitUntil(() => threads() <= base.threads && fds() === base.fds, 3000);
      out.left = [Math.max(0, threads() - base.threads), fds() - base.fds];
      out.stats = executor.stats();
    `);
    expect(out.results).toEqual([42, 2]);
    expect(out.grew).toBe(true);
    expect({ back: out.back, left: out.left, threads: out.stats.threads }).toEqual({ back: true, left: [0, 0], threads: 0 });
  });

  it.concurrent('idle exit: without shutdown, idle native and JavaScript pool threads leave after idleTimeout', async () => {
    const { out } = await measure(`
      const { evloop } = probe;
      const executor = new evloop.ThreadPoolExecutor({ name: 'sfidle', maxWorkers: 3, idleTimeout: 50 });
      await Promise.all([executor.submit(evloop.tasks.sleep, 5), executor.submit(evloop.tasks.sleep, 5)]);
      out.named = threadNames().filter((n) => n.startsWith('sfidle')).length >= 1;
      out.js = await executor.submit((x) => x + 1, 0);
      out.gone = await waitUntil(() => !threadNames().some((n) => n.startsWith('sfidle')), 5000);
      out.back = await waitUntil(() => threads() <= base.threads && fds() === base.fds, 5000);
      out.stats = executor.stats().threads;
      await executor.shutdown();
    `);
    expect(out).toEqual({ named: true, js: 1, gone: true, back: true, stats: 0 });
  });

  it.concurrent('shutdown({ cancelFutures: true }) with queued work: running work finishes, the rest is cancelled, threads leave', async () => {
    const { out } = await measure(`
      const { evloop } = probe;
      const executor = new evloop.ThreadPoolExecutor({ name: 'sfcan', maxWorkers: 2 });
      const futures = Array.from({ length: 10 }, () => executor.submit(evloop.tasks.sleep, 300));
      await waitUntil(() => executor.stats().running === 2, 3000);
      await executor.shutdown({ cancelFutures: true });
      out.cancelled = futures.filter((f) => f.cancelled()).length;
      out.gone = await waitUntil(() => !threadNames().some((n) => n.startsWith('sfcan')), 5000);
      out.back = await waitUntil(() => threads() <= base.threads, 5000);
    `);
    expect(out).toEqual({ cancelled: 8, gone: true, back: true });
  });

  it.concurrent("closing a loop shuts its own default executor down: that pool's threads leave", async () => {
    const { out } = await measure(`
      const { evloop } = probe;
      const loop = evloop.newEventLoop();
      const executor = new evloop.ThreadPoolExecutor({ name: 'sfdef', maxWorkers: 2 });
      loop.setDefaultExecutor(executor);
      out.value = loop.runUntilComplete(loop.runInExecutor(null, evloop.tasks.digest, 'sha256', 'abc')).toString('hex').slice(0, 8);
      out.named = threadNames().some((n) => n.startsWith('sfdef'));
      loop.close();
      out.gone = await waitUntil(() => !threadNames().some((n) => n.startsWith('sfdef')), 5000);
      try { executor.submit(evloop.tasks.sleep, 1); out.submit = 'no error'; } catch (e) { out.submit = e.code; }
      out.back = await waitUntil(() => threads() <= base.threads && fds() === base.fds, 5000);
    `);
    expect(out).toEqual({ value: 'ba7816bf', named: true, gone: true, submit: 'ERR_EXECUTOR_SHUTDOWN', back: true });
  });
});
