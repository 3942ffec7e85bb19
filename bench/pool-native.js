'use strict';
// The native pool's round trip: a native no-op task (tasks.sleep(0)) on an evloop pool of 2,
// 1 in flight (round-trip latency p50/p99) and 1,000 in flight (throughput), vs the textbook
// Napi::AsyncWorker (bench/asyncworker/) and crypto.randomFill, both on libuv's pool
// (UV_THREADPOOL_SIZE=2 in the measuring process). evloop is measured on a private loop and on
// the host loop. Each mode runs in a fresh process, unpinned and pinned to CPU 0 (taskset -c 0).
const crypto = require('node:crypto');
const { row, median, quantile, emit, runNode, canPin, log, hrns, callbackLatency, callbackThroughput } = require('./lib/common');


// ---- evloop ------------------------------------------------------------------------------------

function evLatencyPrivate(ev, pool, n) {
  const loop = ev.newEventLoop();
  const lat = [];
  let t = 0;
  const done = () => {
    lat.push(hrns() - t);
    if (lat.length < n) next();
    else loop.stop();
  };
  const next = () => {
    t = hrns();
    loop.runInExecutor(pool, ev.tasks.sleep, 0).addDoneCallback(done);
  };
  next();
  loop.runForever();
  loop.close();
  return lat;
}

function evThroughputPrivate(ev, pool, total, inflight) {
  const loop = ev.newEventLoop();
  let submitted = 0;
  let completed = 0;
  const done = () => {
    completed++;
    if (submitted < total) submit();
    else if (completed === total) loop.stop();
  };
  const submit = () => {
    submitted++;
    loop.runInExecutor(pool, ev.tasks.sleep, 0).addDoneCallback(done);
  };
  const t0 = hrns();
  for (let k = 0; k < inflight; k++) submit();
  loop.runForever();
  const s = (hrns() - t0) / 1e9;
  loop.close();
  return total / s;
}

// On the host loop: the same callback shape as the comparators below.
function evLatencyHost(ev, pool, n) {
  const loop = ev.hostLoop();
  return callbackLatency((done) => loop.runInExecutor(pool, ev.tasks.sleep, 0).addDoneCallback(done), n);
}

function evThroughputHost(ev, pool, total, inflight) {
  const loop = ev.hostLoop();
  return callbackThroughput((done) => loop.runInExecutor(pool, ev.tasks.sleep, 0).addDoneCallback(done), total, inflight);
}

// ---- callback-style comparators on libuv's pool -----------------------------------------------

const cbLatency = callbackLatency;
const cbThroughput = callbackThroughput;

const fromMacrotask = (fn) => new Promise((resolve, reject) => setImmediate(() => {
  try {
    resolve(fn());
  } catch (error) {
    reject(error);
  }
}));

// ---- the measuring process ----------------------------------------------------------------------

async function child(quick, summary) {
  const ev = require('..');
  const aw = require('./lib/asyncworker').load();
  const buf = Buffer.alloc(8);
  const contenders = {
    private: {
      lat: (n) => fromMacrotask(() => evLatencyPrivate(ev, pool, n)),
      tput: (total, k) => fromMacrotask(() => evThroughputPrivate(ev, pool, total, k)),
    },
    host: { lat: (n) => evLatencyHost(ev, pool, n), tput: (total, k) => evThroughputHost(ev, pool, total, k) },
    asyncworker: { lat: (n) => cbLatency(aw.noop, n), tput: (total, k) => cbThroughput(aw.noop, total, k) },
    randomFill: {
      lat: (n) => cbLatency((cb) => crypto.randomFill(buf, cb), n),
      tput: (total, k) => cbThroughput((cb) => crypto.randomFill(buf, cb), total, k),
    },
  };
  const pool = new ev.ThreadPoolExecutor({ maxWorkers: 2 });
  const latN = quick ? 500 : summary ? 1000 : 2000;
  const total = quick ? 20_000 : summary ? 60_000 : 100_000;
  const rounds = quick ? 1 : summary ? 2 : 4;
  // Warm-up (JIT, pool threads started, libuv's pool started).
  for (const c of Object.values(contenders)) {
    await c.lat(200);
    await c.tput(5000, 1000);
  }
  const res = {};
  for (const name of Object.keys(contenders)) res[name] = { p50: [], p99: [], tput: [] };
  const names = Object.keys(contenders);
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) {
      const lat = await contenders[name].lat(latN);
      res[name].p50.push(quantile(lat, 0.5) / 1000);
      res[name].p99.push(quantile(lat, 0.99) / 1000);
      res[name].tput.push(await contenders[name].tput(total, 1000));
    }
  }
  await pool.shutdown();
  const out = {};
  for (const [name, v] of Object.entries(res)) {
    out[name] = { p50: median(v.p50), p99: median(v.p99), tput: median(v.tput), raw: v };
  }
  emit(out);
}

// ---- the case ------------------------------------------------------------------------------------

async function run({ quick = false, summary = false } = {}) {
  require('./lib/asyncworker').load(); // build it once, before the measuring processes
  const modes = summary || !canPin() ? [false] : [false, true];
  const rows = [];
  for (const pin of modes) {
    const m = runNode(__filename, ['--child', quick ? 'quick' : summary ? 'summary' : 'full'], {
      pin,
      env: { UV_THREADPOOL_SIZE: '2' },
    });
    log('pool-native', pin ? 'pinned' : 'unpinned', JSON.stringify(m));
    const tag = pin ? ' [pinned cpu0]' : '';
    const hl = !pin;
    rows.push(
      row(`native no-op, 1000 in flight: private loop vs AsyncWorker${tag}`, 'tasks/s', m.private.tput, m.asyncworker.tput, { atLeast: 5, headline: hl }),
      row(`native no-op, 1000 in flight: host loop vs AsyncWorker${tag}`, 'tasks/s', m.host.tput, m.asyncworker.tput, { atLeast: 5 }),
      row(`native no-op, 1000 in flight: private loop vs randomFill${tag}`, 'tasks/s', m.private.tput, m.randomFill.tput, { note: 'info' }),
      row(`native no-op p50 latency: private loop vs AsyncWorker${tag}`, 'µs', m.private.p50, m.asyncworker.p50, { atLeast: 1, headline: hl }),
      row(`native no-op p50 latency: host loop vs AsyncWorker${tag}`, 'µs', m.host.p50, m.asyncworker.p50, { atLeast: 1 }),
      row(`native no-op p99 latency: private loop vs AsyncWorker${tag}`, 'µs', m.private.p99, m.asyncworker.p99, { note: 'info' }),
      row(`native no-op p99 latency: host loop vs AsyncWorker${tag}`, 'µs', m.host.p99, m.asyncworker.p99, { note: 'info' }),
      row(`native no-op p50 latency: private loop vs randomFill${tag}`, 'µs', m.private.p50, m.randomFill.p50, { note: 'info' }),
    );
  }
  return rows;
}

module.exports = { run };
if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i > 0) child(process.argv[i + 1] === 'quick', process.argv[i + 1] === 'summary');
  else run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
}
