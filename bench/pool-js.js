'use strict';
// JavaScript functions on the pool: a no-op and a 10,000-iteration integer hash, evloop pool of
// 2 vs piscina with 2 threads. Throughput with 1,000 in flight and p50 round-trip latency with 1
// in flight; evloop on a private loop and on the host loop. Each mode in a fresh process,
// unpinned and pinned to CPU 0 (taskset -c 0).
const path = require('node:path');
const { row, median, quantile, emit, runNode, canPin, log, hrns, callbackLatency, callbackThroughput } = require('./lib/common');
const { noop, hash } = require('./lib/pool-js-tasks');

const TASKS_FILE = path.join(__dirname, 'lib', 'pool-js-tasks.js');

// `submit(fn, arg, done)` starts one task and calls done() when its result is back.
const latency = (submit, fn, n) => callbackLatency((done, i) => submit(fn, i, done), n);
const throughput = (submit, fn, total, inflight) =>
  callbackThroughput((done, i) => submit(fn, i, done), total, inflight);

// The private loop runs blocking for the duration of one measurement: the same callback shape,
// with the loop run from a macrotask until the measurement's promise settles.
function onPrivateLoop(ev, measure) {
  return new Promise((resolve, reject) => setImmediate(() => {
    const loop = ev.newEventLoop();
    try {
      const f = loop.createFuture();
      measure(loop).then((v) => f.setResult(v), (e) => f.setException(e));
      resolve(loop.runUntilComplete(f));
    } catch (error) {
      reject(error);
    } finally {
      loop.close();
    }
  }));
}

async function child(mode) {
  const quick = mode === 'quick';
  const summary = mode === 'summary';
  const ev = require('..');
  const { Piscina } = require('piscina');
  const pool = new ev.ThreadPoolExecutor({ maxWorkers: 2 });
  const piscina = new Piscina({ filename: TASKS_FILE, minThreads: 2, maxThreads: 2, idleTimeout: 60_000 });
  const evSubmit = (loop) => (fn, arg, done) => loop.runInExecutor(pool, fn, arg).addDoneCallback(done);
  const names = { [noop.name]: 'noop', [hash.name]: 'hash' };
  const piSubmit = (fn, arg, done) => piscina.run(arg, { name: names[fn.name] }).then(done);
  const host = ev.hostLoop();
  const contenders = {
    private: (measure) => onPrivateLoop(ev, (loop) => measure(evSubmit(loop))),
    host: (measure) => measure(evSubmit(host)),
    piscina: (measure) => measure(piSubmit),
  };
  const latN = quick ? 300 : summary ? 1500 : 2000;
  const noopTotal = quick ? 5000 : summary ? 10_000 : 40_000;
  const hashTotal = quick ? 2000 : summary ? 5000 : 15_000;
  const rounds = quick ? 1 : summary ? 2 : 3;
  if (summary) delete contenders.host;
  // Warm-up: threads started, functions compiled, JIT.
  for (const c of Object.values(contenders)) {
    for (const fn of summary ? [noop] : [noop, hash]) {
      await c((s) => latency(s, fn, 100));
      await c((s) => throughput(s, fn, 2000, 200));
    }
  }
  const res = {};
  const keys = Object.keys(contenders);
  for (const k of keys) res[k] = { noopP50: [], hashP50: [], noopTput: [], hashTput: [] };
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? [...keys].reverse() : keys) {
      const c = contenders[k];
      res[k].noopP50.push(quantile(await c((s) => latency(s, noop, latN)), 0.5) / 1000);
      res[k].noopTput.push(await c((s) => throughput(s, noop, noopTotal, 1000)));
      if (summary) continue;
      res[k].hashP50.push(quantile(await c((s) => latency(s, hash, latN / 2)), 0.5) / 1000);
      res[k].hashTput.push(await c((s) => throughput(s, hash, hashTotal, 1000)));
    }
  }
  // The same hash inline on the main thread, for scale.
  let x = 0;
  const t0 = hrns();
  for (let i = 0; i < hashTotal && !summary; i++) x ^= hash(i);
  const inline = hashTotal / ((hrns() - t0) / 1e9);
  await piscina.destroy();
  await pool.shutdown();
  const out = { inline, x };
  for (const [k, v] of Object.entries(res)) {
    out[k] = Object.fromEntries(Object.entries(v).map(([m, xs]) => [m, median(xs)]));
    out[k].raw = v;
  }
  emit(out);
}

async function run({ quick = false, summary = false } = {}) {
  const modes = summary || !canPin() ? [false] : [false, true];
  const rows = [];
  for (const pin of modes) {
    const m = runNode(__filename, ['--child', quick ? 'quick' : summary ? 'summary' : 'full'], { pin });
    log('pool-js', pin ? 'pinned' : 'unpinned', JSON.stringify(m));
    const tag = pin ? ' [pinned cpu0]' : '';
    const hl = !pin;
    const latTarget = pin ? +(1 / 0.7).toFixed(2) : 1; // ≤ 0.7× piscina's pinned, ≤ 1× unpinned
    if (summary) {
      rows.push(
        row('JS no-op, 1000 in flight: private loop vs piscina', 'tasks/s', m.private.noopTput, m.piscina.noopTput, { atLeast: 4, headline: true }),
        row('JS no-op p50 latency: private loop vs piscina', 'µs', m.private.noopP50, m.piscina.noopP50, { atLeast: 1, headline: true }),
      );
      continue;
    }
    rows.push(
      row(`JS no-op, 1000 in flight: private loop vs piscina${tag}`, 'tasks/s', m.private.noopTput, m.piscina.noopTput, { atLeast: 4, headline: hl }),
      row(`JS no-op, 1000 in flight: host loop vs piscina${tag}`, 'tasks/s', m.host.noopTput, m.piscina.noopTput, { atLeast: 4 }),
      row(`JS no-op p50 latency: private loop vs piscina${tag}`, 'µs', m.private.noopP50, m.piscina.noopP50, { atLeast: latTarget, headline: hl }),
      row(`JS no-op p50 latency: host loop vs piscina${tag}`, 'µs', m.host.noopP50, m.piscina.noopP50, { atLeast: latTarget }),
      row(`JS hash 10k, 1000 in flight: private loop vs piscina${tag}`, 'tasks/s', m.private.hashTput, m.piscina.hashTput, { atLeast: 2 }),
      row(`JS hash 10k, 1000 in flight: host loop vs piscina${tag}`, 'tasks/s', m.host.hashTput, m.piscina.hashTput, { atLeast: 2 }),
      row(`JS hash 10k p50 latency: private loop vs piscina${tag}`, 'µs', m.private.hashP50, m.piscina.hashP50, { note: 'info' }),
      row(`JS hash 10k: private loop vs inline on the main thread${tag}`, 'tasks/s', m.private.hashTput, m.inline, { note: 'info' }),
    );
  }
  return rows;
}

module.exports = { run };
if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i > 0) child(process.argv[i + 1]);
  else run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
}
