'use strict';
// The seed scenario: five threads, each with its own new event loop, hand a 1-second blocking
// task to one shared pool; wall time from the threads' start to the last result. evloop (the
// seed's program as api.md writes it: a JS function on a shared ThreadPoolExecutor, and the same
// with the native tasks.sleep) vs Python asyncio running the same program (python3) and piscina
// with 5 threads running 5 such tasks. Target: <= 1.05 s.
const path = require('node:path');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const { row, median, emit, runNode, runPython, pythonCommand, log } = require('./lib/common');

const THREADS = 5;
const TASKS_FILE = path.join(__dirname, 'lib', 'pool-js-tasks.js');
const now = () => performance.timeOrigin + performance.now(); // one clock for every thread (ms)

const PYTHON = String.raw`
import asyncio, json, threading, time
from concurrent.futures import ThreadPoolExecutor

def worker(index):
    time.sleep(1)
    return index

pool = ThreadPoolExecutor()
done = {}

def thread_main(index):
    loop = asyncio.new_event_loop()
    rv = loop.run_until_complete(loop.run_in_executor(pool, worker, index))
    done[index] = (rv, time.perf_counter())
    loop.close()

t0 = time.perf_counter()
threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(5)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert sorted(v[0] for v in done.values()) == list(range(5))
print(json.dumps({'s': max(v[1] for v in done.values()) - t0}))
pool.shutdown()
`;

/** The seed's task, as api.md writes it (self-contained: it runs on a pool thread). */
function worker(index) {
  const before = performance.timeOrigin + performance.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); // a blocking 1 s sleep
  return { index, before };
}

// ---- in each of the five worker threads ------------------------------------------------------------

function seedThread() {
  const script = now();
  const ev = require('..');
  const { pool, index, native, barrier } = workerData;
  const up = now();
  const loop = ev.newEventLoop();
  const executor = ev.ThreadPoolExecutor.fromShared(pool);
  const rv = native
    ? loop.runUntilComplete(loop.runInExecutor(executor, ev.tasks.sleep, 1000))
    : loop.runUntilComplete(loop.runInExecutor(executor, worker, index));
  loop.close();
  parentPort.postMessage({ index, script, up, before: rv?.before, got: rv?.index, t: now() });
  // With a barrier, the thread stays until every thread has its result (see child()).
  if (barrier) parentPort.once('message', () => parentPort.close());
}

// ---- the measuring process -----------------------------------------------------------------------

async function child(kind) {
  if (kind === 'piscina') {
    const t0 = now();
    const { Piscina } = require('piscina');
    const p = new Piscina({ filename: TASKS_FILE, minThreads: THREADS, maxThreads: THREADS });
    const got = await Promise.all(Array.from({ length: THREADS }, (_, i) => p.run(i, { name: 'sleep1s' })));
    const t = now();
    if (got.join() !== '0,1,2,3,4') throw new Error(`piscina: wrong results ${got}`);
    emit({ s: (t - t0) / 1000 });
    await p.destroy();
    return;
  }
  const ev = require('..');
  const executor = new ev.ThreadPoolExecutor();
  const barrier = process.argv.includes('--barrier');
  const t0 = now();
  const workers = [];
  const results = await Promise.all(
    Array.from({ length: THREADS }, (_, index) => new Promise((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { pool: executor.share(), index, native: kind === 'native', barrier } });
      workers.push(w);
      w.once('message', resolve);
      w.once('error', reject);
    })),
  );
  for (const w of workers) w.postMessage('exit');
  for (const r of results) {
    if (kind !== 'native' && r.got !== r.index) throw new Error(`thread ${r.index} got ${r.got}`);
  }
  await executor.shutdown();
  const last = Math.max(...results.map((r) => r.t));
  emit({
    s: (last - t0) / 1000,
    // from the moment the first thread runs its script (Node's worker start-up left out)
    sFromThreads: (last - Math.min(...results.map((r) => r.script))) / 1000,
    // where the time goes, ms after t0: the last thread running its script, with evloop loaded,
    // the last task started (JS only)
    script: Math.max(...results.map((r) => r.script)) - t0,
    up: Math.max(...results.map((r) => r.up)) - t0,
    started: kind === 'native' ? null : Math.max(...results.map((r) => r.before)) - t0,
  });
}

async function run({ quick = false, summary = false } = {}) {
  const reps = quick || summary ? 1 : 5;
  const kinds = summary ? ['js'] : ['js', 'native', 'piscina'];
  const res = { js: [], native: [], piscina: [] };
  // The program as the seed writes it: each thread ends once it has its result. If that fails
  // (a pool thread that another thread's task ran on went away with the thread that started
  // it: ERR_TASK_ABORTED), the timing is taken with the threads kept until all are done.
  const barrier = { js: false, native: false, piscina: false };
  const failures = {};
  const once = (k) => {
    if (!barrier[k]) {
      try {
        return runNode(__filename, ['--child', k]);
      } catch (error) {
        failures[k] = /ERR_\w+/.exec(error.message)?.[0] ?? error.message.split('\n')[0];
        barrier[k] = true;
      }
    }
    return runNode(__filename, ['--child', k, '--barrier']);
  };
  for (let r = 0; r < reps; r++) {
    for (const k of r % 2 ? [...kinds].reverse() : kinds) res[k].push(once(k));
  }
  log('seed', JSON.stringify(res));
  let py = NaN;
  if (pythonCommand() !== null) {
    const runs = [];
    for (let r = 0; r < Math.min(3, reps); r++) runs.push(runPython(PYTHON).s);
    py = median(runs);
  }
  const s = (k) => median(res[k].map((x) => x.s));
  const script = median(res.js.map((x) => x.script));
  const up = median(res.js.map((x) => x.up));
  const started = median(res.js.map((x) => x.started));
  const upNative = median(res.native.map((x) => x.up));
  const failed = (k) => (failures[k] ? `; AS WRITTEN IT FAILS (${failures[k]}): timed with threads kept alive` : '');
  const jsRow = row('seed: 5 threads × own loop → shared pool, JS fn sleep 1 s, vs asyncio', 's', s('js'), py, {
    atMost: 1.05,
    headline: true,
    note: `last thread running its script +${script.toFixed(0)} ms, evloop loaded +${up.toFixed(0)} ms, last task started +${started.toFixed(0)} ms${failed('js')}`,
  });
  if (summary) return [jsRow];
  return [
    jsRow,
    row('seed: the same, JS fn, timed from the first thread running (worker start-up excluded)', 's', median(res.js.map((x) => x.sFromThreads)), py, {
      note: 'info',
    }),
    row('seed: the same, JS fn, vs piscina with 5 threads', 's', s('js'), s('piscina'), { note: 'info' }),
    row('seed: the same with native tasks.sleep(1000), vs asyncio', 's', s('native'), py, {
      atMost: 1.05,
      note: `threads up +${upNative.toFixed(0)} ms${failed('native')}`,
    }),
  ];
}

module.exports = { run };
if (!isMainThread && workerData?.pool) {
  seedThread();
} else if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i > 0) child(process.argv[i + 1]);
  else run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
}
