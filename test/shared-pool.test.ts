// One pool shared by loops in several worker threads (api.md: share()/fromShared, "The seed's
// example"): every result comes back to the loop that asked for it, the seed's five blocking
// tasks run at once, private and host loops in workers, a worker terminated while its loop waits
// on the pool, and process exit with queued work.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { BOUND_MS, entry, evloop, runChild } from './harness';
import type { ThreadPoolExecutor } from '../dist/cjs/index.js';
import { Gate, pollUntil, pool, shutdownAll } from './fixtures/pool-helpers';

const WORKER = path.join(__dirname, 'fixtures', 'pool-worker.cjs');
const { tasks } = evloop;

interface Started {
  worker: Worker;
  messages: any[];
  exited: Promise<number>;
  error: unknown;
}

const started: Started[] = [];
const barriers: string[] = [];

/** A fresh directory the seed tasks meet in (see seedTask in fixtures/pool-worker.cjs). */
function newBarrier(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-barrier-'));
  barriers.push(dir);
  return dir;
}

function startWorker(ex: ThreadPoolExecutor, data: Record<string, unknown>): Started {
  const worker = new Worker(WORKER, { workerData: { entry, pool: ex.share(), ...data } });
  const s: Started = { worker, messages: [], exited: undefined as any, error: undefined };
  s.exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.on('message', (m) => s.messages.push(m));
  worker.on('error', (e) => (s.error = e));
  started.push(s);
  return s;
}

/** Waits (bounded) until every worker posted `n` messages; fails with a worker's error if any. */
async function messagesFrom(workers: Started[], n = 1, bound = BOUND_MS): Promise<any[]> {
  await pollUntil(() => workers.every((w) => w.messages.length >= n || w.error !== undefined), 'messages from the workers', bound);
  for (const w of workers) if (w.error !== undefined) throw w.error;
  return workers.map((w) => w.messages[n - 1]);
}

async function bounded<T>(p: Promise<T>, what: string, bound = BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${bound} ms`)), bound);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

afterEach(async () => {
  for (const s of started.splice(0)) {
    await bounded(s.worker.terminate(), 'terminating a worker');
  }
  shutdownAll();
  for (const dir of barriers.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** All intervals [start, end] overlap at one moment: the latest start is before the earliest end. */
function allOverlap(stamps: { start: number; end: number }[]): boolean {
  return Math.max(...stamps.map((s) => s.start)) < Math.min(...stamps.map((s) => s.end));
}

describe('the seed scenario: five workers, one shared pool', () => {
  it('five private loops each hand a blocking task to one pool; all run at once; each gets its own result', async () => {
    const ex = pool({ maxWorkers: 5 });
    // As the user writes it: each worker exits as soon as it has its result.
    const barrier = newBarrier();
    const workers = [0, 1, 2, 3, 4].map((index) => startWorker(ex, { mode: 'seed', index, ms: 300, barrier, n: 5 }));
    const results = await messagesFrom(workers);
    for (const [i, m] of results.entries()) {
      expect(m.index).toBe(i);
      expect(m.rv.index).toBe(i);
      expect(m.rv.sawAll, `task ${i} saw all five running`).toBe(true);
    }
    expect(allOverlap(results.map((m) => m.rv))).toBe(true);
    expect(ex.stats()).toMatchObject({ completed: 5, failed: 0 });
  });

  it('the same with every worker staying until all results are in (concurrency by stamps and stats)', async () => {
    const ex = pool({ maxWorkers: 5 });
    const barrier = newBarrier();
    const workers = [0, 1, 2, 3, 4].map((index) => startWorker(ex, { mode: 'seed', index, ms: 300, stay: true, barrier, n: 5 }));
    let maxRunning = 0;
    const watch = setInterval(() => (maxRunning = Math.max(maxRunning, ex.stats().running)), 2);
    try {
      const results = await messagesFrom(workers);
      expect(results.map((m) => m.rv.index)).toEqual([0, 1, 2, 3, 4]);
      expect(results.map((m) => m.rv.sawAll)).toEqual([true, true, true, true, true]);
      expect(allOverlap(results.map((m) => m.rv))).toBe(true);
    } finally {
      clearInterval(watch);
    }
    expect(maxRunning).toBe(5);
    expect(ex.stats()).toMatchObject({ completed: 5, failed: 0, running: 0 });
    for (const w of workers) w.worker.postMessage('exit');
    await bounded(Promise.all(workers.map((w) => w.exited)), 'workers leaving');
  });

  it('a pool smaller than the demand runs at most maxWorkers at once', async () => {
    const ex = pool({ maxWorkers: 2 });
    const workers = [0, 1, 2, 3].map((index) => startWorker(ex, { mode: 'seed', index, ms: 100, stay: true }));
    let maxRunning = 0;
    const watch = setInterval(() => (maxRunning = Math.max(maxRunning, ex.stats().running)), 2);
    try {
      const results = await messagesFrom(workers);
      expect(results.map((m) => m.rv.index)).toEqual([0, 1, 2, 3]);
      // Four 100 ms tasks on two threads: not all four can overlap.
      expect(allOverlap(results.map((m) => m.rv))).toBe(false);
    } finally {
      clearInterval(watch);
    }
    expect(maxRunning).toBeLessThanOrEqual(2);
    for (const w of workers) w.worker.postMessage('exit');
  });

  it('host loops in five workers share the pool the same way', async () => {
    const ex = pool({ maxWorkers: 5 });
    const barrier = newBarrier();
    const workers = [0, 1, 2, 3, 4].map((index) => startWorker(ex, { mode: 'host-seed', index, ms: 300, stay: true, barrier, n: 5 }));
    const results = await messagesFrom(workers);
    expect(results.map((m) => m.rv.index)).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((m) => m.rv.sawAll)).toEqual([true, true, true, true, true]);
    expect(allOverlap(results.map((m) => m.rv))).toBe(true);
    for (const w of workers) w.worker.postMessage('exit');
  });
});

describe('results come back to the right loop', () => {
  it('thousands of interleaved native and JS tasks from private loops in four workers', async () => {
    const ex = pool({ maxWorkers: 4 });
    const workers = [0, 1, 2, 3].map((index) => startWorker(ex, { mode: 'private-many', index, count: 600 }));
    const results = await messagesFrom(workers, 1, 20_000);
    for (const [i, m] of results.entries()) {
      expect(m.index).toBe(i);
      expect(m.count).toBe(600);
      expect(m.bad).toEqual([]);
    }
    expect(ex.stats()).toMatchObject({ completed: 2400, failed: 0 });
    for (const w of workers) w.worker.postMessage('exit');
  });

  it('host loops in workers and the main thread, all on one pool at once', async () => {
    const ex = pool({ maxWorkers: 3 });
    const workers = [0, 1, 2].map((index) => startWorker(ex, { mode: 'host-many', index, count: 400 }));
    // The main thread's host loop submits at the same time.
    const mine = Array.from({ length: 300 }, (_, i) => ex.submit<Buffer>(tasks.digest, 'sha256', `main:${i}`));
    const minePlain = Array.from({ length: 100 }, (_, i) => ex.submit<number>((x: number) => x * 2, i));
    const results = await messagesFrom(workers, 1, 20_000);
    for (const [i, m] of results.entries()) {
      expect(m.index).toBe(i);
      expect(m.bad).toEqual([]);
    }
    const values = await bounded(Promise.all(mine), 'main thread results');
    values.forEach((v, i) => expect(v.equals(tasks.digest('sha256', `main:${i}`))).toBe(true));
    expect(await bounded(Promise.all(minePlain), 'main thread JS results')).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
    for (const w of workers) w.worker.postMessage('exit');
  });

  it('native work from workers that leave as soon as they are done', async () => {
    const ex = pool({ maxWorkers: 3 });
    const workers = [0, 1, 2, 3, 4, 5].map((index) => startWorker(ex, { mode: 'native-many', index, count: 500 }));
    const results = await messagesFrom(workers, 1, 20_000);
    for (const m of results) expect(m.bad).toEqual([]);
    await bounded(Promise.all(workers.map((w) => w.exited)), 'workers leaving');
    expect(ex.stats()).toMatchObject({ completed: 3000, failed: 0 });
  });

  it('two private loops of one thread: each gets only its own results, on its own run', () => {
    const ex = pool({ maxWorkers: 2 });
    const a = evloop.newEventLoop();
    const b = evloop.newEventLoop();
    try {
      const fa = a.runInExecutor<Buffer>(ex, tasks.digest, 'md5', 'a');
      const fb = b.runInExecutor<Buffer>(ex, tasks.digest, 'md5', 'b');
      const ga = a.runInExecutor(ex, tasks.sleep, 20);
      expect(a.runUntilComplete(ga)).toBeUndefined();
      expect(fa.done()).toBe(true);
      expect(fb.done()).toBe(false); // b has not turned: its result waits for it
      expect(b.runUntilComplete(fb).equals(tasks.digest('md5', 'b'))).toBe(true);
      expect(fa.result().equals(tasks.digest('md5', 'a'))).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });

  it('a private loop and the host loop of one thread: each gets its own results', async () => {
    const ex = pool({ maxWorkers: 2 });
    const p = evloop.newEventLoop();
    try {
      const onHost = evloop.hostLoop().runInExecutor(ex, (x: string) => `host ${x}`, 'h');
      const onPrivate = p.runInExecutor(ex, (x: string) => `private ${x}`, 'p');
      expect(p.runUntilComplete(onPrivate)).toBe('private p');
      expect(await bounded(Promise.resolve(onHost), 'the host result')).toBe('host h');
      expect(onHost.getLoop()).toBe(evloop.hostLoop());
    } finally {
      p.close();
    }
  });
});

describe('pool lifetime across threads', () => {
  it('the pool lives while any thread holds it: created in a worker, used after that worker left', async () => {
    const creator = pool({ maxWorkers: 1 }); // only to satisfy startWorker's fromShared
    const s = startWorker(creator, { mode: 'create', index: 0 });
    const [m] = await messagesFrom([s]);
    const ex = evloop.ThreadPoolExecutor.fromShared(m.ref);
    s.worker.postMessage('exit');
    expect(await bounded(s.exited, 'the creating worker leaving')).toBe(0);
    expect(await bounded(Promise.resolve(ex.submit<Buffer>(tasks.digest, 'md5', 'x')), 'a native task')).toEqual(tasks.digest('md5', 'x'));
    expect(await bounded(Promise.resolve(ex.submit((x: number) => x + 1, 1)), 'a JS task')).toBe(2);
    expect(ex.stats().maxWorkers).toBe(2);
    await ex.shutdown();
  });

  it("a worker that leaves does not take another worker's running JS task with it", async () => {
    const ex = pool({ maxWorkers: 2 });
    // B runs a JS task first, so a JS pool thread exists; then it idles, and stays for now.
    const b = startWorker(ex, { mode: 'js-once', index: 1 });
    expect((await messagesFrom([b]))[0].value).toBe(42);
    // A's JS task goes to that idle pool thread, and waits there for the gate.
    const gate = new Gate();
    try {
      const a = startWorker(ex, { mode: 'gated', index: 0, dir: gate.dir });
      await pollUntil(() => gate.started(0), "A's task to start");
      // B leaves while A's task runs: the pool (held by A and by this thread) must go on.
      b.worker.postMessage('exit');
      expect(await bounded(b.exited, 'B leaving')).toBe(0);
      gate.open(0);
      const [m] = await messagesFrom([a]);
      expect(m.error).toBeUndefined();
      expect(m.value).toBe('gated result');
      expect(ex.stats()).toMatchObject({ completed: 2, failed: 0 });
    } finally {
      gate.open(0);
      gate.dispose();
    }
  });

  it('a worker using a pool that was shut down gets ERR_EXECUTOR_SHUTDOWN', async () => {
    const ex = pool({ maxWorkers: 1 });
    await ex.shutdown();
    const s = startWorker(ex, { mode: 'submit-once', index: 0 });
    const [m] = await messagesFrom([s]);
    expect(m.error).toMatchObject({ name: 'EvloopError', code: 'ERR_EXECUTOR_SHUTDOWN' });
  });

  it('stats() seen from a worker and from the main thread are the same pool', async () => {
    const ex = pool({ maxWorkers: 2 });
    const s = startWorker(ex, { mode: 'submit-once', index: 0 });
    const [m] = await messagesFrom([s]);
    expect(m.value).toBe(tasks.digest('md5', 'w').toString('hex'));
    expect(ex.stats().completed).toBe(1);
  });
});

// ---- termination and exit: child processes, so a crash or hang cannot take the runner down ---

const workerSetup = `
  const { Worker } = require('node:worker_threads');
  const WORKER = ${JSON.stringify(WORKER)};
  const ENTRY = ${JSON.stringify(entry)};
`;

describe('a worker terminated while its loop waits on the pool', () => {
  it.each([
    ['a private loop waiting on native work', { mode: 'block-private', ms: 800 }],
    ['a private loop waiting on JS work', { mode: 'block-private', ms: 800, js: true }],
    ['a host loop waiting on native work', { mode: 'block-host', ms: 800 }],
  ])('%s: terminate() finishes, nothing crashes, the pool goes on', (_label, data) => {
    const r = runChild(
      `${workerSetup}
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2 });
      const w = new Worker(WORKER, { workerData: { entry: ENTRY, pool: ex.share(), index: 0, ...${JSON.stringify(data)} } });
      w.on('error', (e) => console.log('worker error', e && e.message));
      w.on('message', (m) => {
        if (m.state !== 'blocking') return console.log('unexpected', JSON.stringify(m));
        const poll = setInterval(() => {
          if (ex.stats().running === 0) return;
          clearInterval(poll);
          w.terminate().then((code) => {
            console.log('terminated', code);
            // The pool is still usable by others.
            ex.submit(evloop.tasks.digest, 'md5', '').then((d) => console.log('pool ok', d.length));
          });
        }, 5);
      });
    `,
      { timeoutMs: BOUND_MS },
    );
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe('terminated 1\npool ok 16\n');
    expect(r.status).toBe(0);
  });

  it('several workers terminated at once while their loops wait', () => {
    const r = runChild(
      `${workerSetup}
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 4 });
      const ws = [0, 1, 2, 3].map((index) => new Worker(WORKER, { workerData: { entry: ENTRY, pool: ex.share(), index, mode: 'block-private', ms: 800, js: index % 2 === 1 } }));
      let blocking = 0;
      for (const w of ws) {
        w.on('error', (e) => console.log('worker error', e && e.message));
        w.on('message', (m) => {
          if (m.state === 'blocking' && ++blocking === ws.length) {
            Promise.all(ws.map((x) => x.terminate())).then((codes) => console.log('terminated', codes.join(',')));
          }
        });
      }
    `,
      { timeoutMs: BOUND_MS },
    );
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe('terminated 1,1,1,1\n');
    expect(r.status).toBe(0);
  });
});

describe('process exit with work in flight', () => {
  it('process.exit with queued native work exits promptly', () => {
    const r = runChild(
      `
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      for (let i = 0; i < 50; i++) ex.submit(evloop.tasks.sleep, 1000);
      setTimeout(() => { console.log('exiting', ex.stats().queued); process.exit(3); }, 20);
    `,
      { timeoutMs: 5000 },
    );
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/^exiting 4\d\n$/);
  });

  it('process.exit with a JS task that never returns exits promptly', () => {
    const r = runChild(
      `
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2 });
      ex.submit(() => { for (;;) {} });
      ex.submit(() => { for (;;) {} });
      for (let i = 0; i < 10; i++) ex.submit(() => 1);
      const poll = setInterval(() => {
        if (ex.stats().running < 2) return;
        clearInterval(poll);
        console.log('exiting');
        process.exit(0);
      }, 5);
    `,
      { timeoutMs: 5000 },
    );
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('exiting\n');
  });

  it('process.exit while a worker is blocked in a private loop waiting on the pool', () => {
    const r = runChild(
      `${workerSetup}
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      for (let i = 0; i < 20; i++) ex.submit(evloop.tasks.sleep, 1000);
      const w = new Worker(WORKER, { workerData: { entry: ENTRY, pool: ex.share(), index: 0, mode: 'block-private', ms: 1000 } });
      w.on('message', (m) => {
        if (m.state === 'blocking') { console.log('exiting'); process.exit(5); }
      });
    `,
      { timeoutMs: 5000 },
    );
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(5);
    expect(r.stdout).toBe('exiting\n');
  });

  it('the end of the main script with a private loop blocked in a worker: process.exit from the worker side works', () => {
    const r = runChild(
      `${workerSetup}
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      ex.submit(evloop.tasks.sleep, 60000); // the only thread is busy: the worker's work stays queued
      const w = new Worker(WORKER, { workerData: { entry: ENTRY, pool: ex.share(), index: 0, mode: 'block-private', ms: 1 } });
      w.on('message', (m) => { if (m.state === 'blocking') setTimeout(() => process.exit(0), 20); });
      process.on('exit', () => console.log('queued', ex.stats().queued));
    `,
      { timeoutMs: 5000 },
    );
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('queued 1\n');
  });
});
