'use strict';
// Starvation: fs.promises.readFile latency while a pool is saturated with 64 long sleeps. The same
// load (64 × sleep, 4 threads) put on evloop's pool (tasks.sleep on a ThreadPoolExecutor of 4)
// and on libuv's shared pool (a Napi::AsyncWorker sleep; UV_THREADPOOL_SIZE default 4), and 64
// crypto.pbkdf2 on libuv's pool as a real-world load. While the load runs, a 4 KB file is read
// every few ms; the latency of those reads is compared with the idle figure. evloop's pool is
// not libuv's, so readFile must stay at its idle figure.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { row, median, quantile, emit, runNode, log } = require('./lib/common');

const hrms = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reads `file` every `every` ms for `windowMs`, each read timed; resolves with the latencies. */
async function probe(file, windowMs, every) {
  const lat = [];
  const reads = [];
  const end = hrms() + windowMs;
  while (hrms() < end) {
    const t = hrms();
    reads.push(fs.promises.readFile(file).then(() => lat.push(hrms() - t)));
    await sleep(every);
  }
  await Promise.all(reads);
  return lat;
}

async function child(mode) {
  const quick = mode === 'quick';
  const ev = require('..');
  const aw = require('./lib/asyncworker').load();
  const file = path.join(os.tmpdir(), `evloop-bench-starvation-${process.pid}`);
  fs.writeFileSync(file, crypto.randomBytes(4096));
  const sleepMs = quick ? 40 : 100; // 64 on 4 threads: 16 rounds, 0.64 s / 1.6 s of load
  const windowMs = quick ? 500 : 1200;
  const every = 20;
  const pool = new ev.ThreadPoolExecutor({ maxWorkers: 4 });
  const host = ev.hostLoop();
  // pbkdf2 sized to about sleepMs per call on this machine.
  const t = hrms();
  crypto.pbkdf2Sync('pw', 'salt', 20_000, 32, 'sha256');
  const iterations = Math.max(1000, Math.round((20_000 * sleepMs) / Math.max(1, hrms() - t)));
  const loads = {
    idle: () => Promise.resolve(),
    evloop: () => Promise.all(Array.from({ length: 64 }, () => host.runInExecutor(pool, ev.tasks.sleep, sleepMs))),
    libuv: () => Promise.all(Array.from({ length: 64 }, () => new Promise((r) => aw.sleep(sleepMs, r)))),
    pbkdf2: () =>
      Promise.all(Array.from({ length: 64 }, () => new Promise((r) => crypto.pbkdf2('pw', 'salt', iterations, 32, 'sha256', r)))),
  };
  await probe(file, 100, 5); // warm-up
  // idle and evloop alternate (their figures are compared on a machine whose background load
  // varies); libuv and pbkdf2 run once, their effect is orders of magnitude larger.
  const order = quick ? ['idle', 'evloop', 'libuv', 'pbkdf2'] : ['idle', 'evloop', 'evloop', 'idle', 'idle', 'evloop', 'libuv', 'pbkdf2'];
  const lats = {};
  for (const name of order) {
    const loaded = loads[name]();
    const lat = await probe(file, windowMs, every);
    await loaded;
    (lats[name] ??= []).push(...lat);
    await sleep(50);
  }
  const out = {};
  for (const [name, lat] of Object.entries(lats)) {
    out[name] = { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: Math.max(...lat), n: lat.length };
  }
  fs.rmSync(file, { force: true });
  await pool.shutdown();
  emit({ ...out, iterations });
}

async function run({ quick = false, summary = false } = {}) {
  require('./lib/asyncworker').load();
  const reps = quick || summary ? 1 : 2;
  const runs = [];
  for (let r = 0; r < reps; r++) runs.push(runNode(__filename, ['--child', quick ? 'quick' : 'full']));
  log('starvation', JSON.stringify(runs));
  const m = (k, q) => median(runs.map((x) => x[k][q]));
  return [
    row('readFile p50 under 64 sleeps on evloop pool vs idle', 'ms', m('evloop', 'p50'), m('idle', 'p50'), {
      atLeast: 0.67,
      headline: true,
      note: 'target: within 1.5× of idle',
    }),
    row('readFile p99 under 64 sleeps on evloop pool vs idle', 'ms', m('evloop', 'p99'), m('idle', 'p99'), { note: 'info' }),
    row('readFile p50: 64 sleeps on evloop pool vs the same on libuv pool', 'ms', m('evloop', 'p50'), m('libuv', 'p50'), { note: 'info' }),
    row('readFile max: 64 sleeps on evloop pool vs the same on libuv pool', 'ms', m('evloop', 'max'), m('libuv', 'max'), { note: 'info' }),
    row('readFile p50: 64 sleeps on evloop pool vs 64 pbkdf2 on libuv pool', 'ms', m('evloop', 'p50'), m('pbkdf2', 'p50'), { note: 'info' }),
  ];
}

module.exports = { run };
if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i > 0) child(process.argv[i + 1]);
  else run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
}
