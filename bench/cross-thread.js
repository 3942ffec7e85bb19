'use strict';
// Cross-thread wake-ups: a worker thread and the main thread hand small values to each other.
//
//   latency  one at a time (ping-pong), both threads blocked waiting between messages:
//            evloop post() between two private loops, vs MessagePort.postMessage between the same
//            two threads (parentPort/worker, Node's own loops), vs the physical floor: a plain C
//            eventfd (and condition-variable) ping-pong between two threads (bench/floor/).
//            p50/p99 per hop (half a round trip), in µs.
//   burst    a worker posts N small values as fast as it can to a loop blocked waiting on the
//            main thread, which takes them all: messages/s, evloop post() vs MessagePort; the C
//            floor (a mutex-guarded queue, woken when it was empty) for reference.
//
// Each measurement runs in a fresh process; rounds alternate between the contenders and the
// table gives medians. `node bench/cross-thread.js [--quick]` runs it alone.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { row, median, runNode, emitAndExit, log } = require('./lib/common');

const ROOT = path.resolve(__dirname, '..');
const FLOOR_SRC = path.join(__dirname, 'floor', 'pingpong.c');
const FLOOR_BIN = path.join(__dirname, 'floor', 'build', 'pingpong');

// ---- the C floor --------------------------------------------------------------------------------

/** Compiles bench/floor/pingpong.c with cc (cached in bench/floor/build/); null without a compiler. */
function floorBinary() {
  try {
    if (fs.statSync(FLOOR_BIN).mtimeMs >= fs.statSync(FLOOR_SRC).mtimeMs) return FLOOR_BIN;
  } catch {}
  fs.mkdirSync(path.dirname(FLOOR_BIN), { recursive: true });
  const tmp = `${FLOOR_BIN}.${process.pid}`;
  const r = spawnSync('cc', ['-O2', '-pthread', '-o', tmp, FLOOR_SRC], { encoding: 'utf8' });
  if (r.status !== 0) {
    log('cross-thread: no C floor:', r.error?.message ?? r.stderr);
    return null;
  }
  fs.renameSync(tmp, FLOOR_BIN);
  return FLOOR_BIN;
}

function runFloor(bin, args) {
  const r = spawnSync(bin, args.map(String), { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ---- measuring children -------------------------------------------------------------------------

function percentiles(samples) {
  const s = Float64Array.from(samples).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  let sum = 0;
  for (const x of s) sum += x;
  return { p50: at(0.5), p99: at(0.99), mean: sum / s.length };
}

const hrus = () => Number(process.hrtime.bigint()) / 1e3;

// The worker's side of each mode, as source text (eval'd in the worker).
const WORKERS = {
  // Echoes each value back to the main loop; stops on -1.
  'evloop-latency': `
    const { workerData } = require('node:worker_threads');
    const evloop = require(workerData.entry);
    const loop = evloop.newEventLoop();
    const back = workerData.ref;
    loop.onMessage((v) => { if (v === -1) loop.stop(); else evloop.post(back, v); });
    evloop.post(back, { ref: loop.share() });
    loop.runForever();
    loop.close();`,
  'mp-latency': `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', (v) => { if (v === -1) parentPort.close(); else parentPort.postMessage(v); });
    parentPort.postMessage('ready');`,
  // On 'go', posts n values as fast as it can.
  'evloop-burst': `
    const { workerData } = require('node:worker_threads');
    const evloop = require(workerData.entry);
    const loop = evloop.newEventLoop();
    const back = workerData.ref;
    loop.onMessage(() => {
      for (let i = 0; i < workerData.n; i++) evloop.post(back, i);
      loop.stop();
    });
    evloop.post(back, { ref: loop.share() });
    loop.runForever();
    loop.close();`,
  'mp-burst': `
    const { parentPort, workerData } = require('node:worker_threads');
    parentPort.once('message', () => {
      for (let i = 0; i < workerData.n; i++) parentPort.postMessage(i);
      parentPort.close();
    });
    parentPort.postMessage('ready');`,
};

/** In a fresh process: one measurement of `mode`, emitted as JSON. */
async function child(mode, n, warmup) {
  const { Worker } = require('node:worker_threads');
  const evloop = require(path.join(ROOT, 'dist', 'cjs', 'index.js'));
  const entry = path.join(ROOT, 'dist', 'cjs', 'index.js');
  const host = mode.endsWith('-host');
  const base = host ? mode.slice(0, -5) : mode;
  // The host loop does not keep Node's loop alive for messages still in its inbox (the worker may
  // be gone by then): a timer does, until the measurement is over.
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    return await measure(evloop, Worker, entry, mode, host, base, n, warmup);
  } finally {
    clearInterval(keepAlive);
  }
}

async function measure(evloop, Worker, entry, mode, host, base, n, warmup) {

  if (base === 'evloop-latency') {
    const loop = host ? evloop.hostLoop() : evloop.newEventLoop();
    const samples = new Float64Array(n);
    let peer = null;
    let i = 0;
    let t0 = 0;
    const done = loop.createFuture();
    loop.onMessage((v) => {
      const t1 = hrus();
      if (peer === null) peer = v.ref;
      else if (i - 1 >= warmup) samples[i - 1 - warmup] = (t1 - t0) / 2;
      if (i === n + warmup) {
        evloop.post(peer, -1);
        done.setResult();
        return;
      }
      t0 = hrus();
      evloop.post(peer, i++);
    });
    const worker = new Worker(WORKERS[base], { eval: true, workerData: { entry, ref: loop.share() } });
    if (host) await done;
    else loop.runUntilComplete(done);
    await worker.terminate();
    return percentiles(samples);
  }

  if (base === 'evloop-burst') {
    const loop = host ? evloop.hostLoop() : evloop.newEventLoop();
    let got = 0;
    let t0 = 0;
    let t1 = 0;
    let sum = 0;
    const done = loop.createFuture();
    loop.onMessage((v) => {
      if (typeof v === 'object') {
        t0 = hrus();
        evloop.post(v.ref, 'go');
        return;
      }
      sum += v;
      if (++got === n) {
        t1 = hrus();
        done.setResult();
      }
    });
    const worker = new Worker(WORKERS[base], { eval: true, workerData: { entry, ref: loop.share(), n } });
    if (host) await done;
    else loop.runUntilComplete(done);
    await worker.terminate();
    if (sum !== (n * (n - 1)) / 2) throw new Error('burst: values lost or duplicated');
    return { rate: n / ((t1 - t0) / 1e6) };
  }

  if (mode === 'mp-latency') {
    const worker = new Worker(WORKERS[mode], { eval: true });
    const samples = new Float64Array(n);
    let i = 0;
    let t0 = 0;
    await new Promise((resolve) => {
      worker.on('message', () => {
        const t1 = hrus();
        if (i > 0 && i - 1 >= warmup) samples[i - 1 - warmup] = (t1 - t0) / 2;
        if (i === n + warmup) {
          worker.postMessage(-1);
          resolve();
          return;
        }
        t0 = hrus();
        worker.postMessage(i++);
      });
    });
    await worker.terminate();
    return percentiles(samples);
  }

  if (mode === 'mp-burst') {
    const worker = new Worker(WORKERS[mode], { eval: true, workerData: { n } });
    let got = -1;
    let t0 = 0;
    let sum = 0;
    const t1 = await new Promise((resolve) => {
      worker.on('message', (v) => {
        if (got < 0) {
          got = 0;
          t0 = hrus();
          worker.postMessage('go');
          return;
        }
        sum += v;
        if (++got === n) resolve(hrus());
      });
    });
    await worker.terminate();
    if (sum !== (n * (n - 1)) / 2) throw new Error('burst: values lost or duplicated');
    return { rate: n / ((t1 - t0) / 1e6) };
  }

  // Where the time of a message goes, on one thread (no wake-ups): v8.serialize alone, the whole
  // post(), and the receiving loop's share of a turn, in batches of 100 as a busy loop sees them.
  // Best of 20 rounds of n messages each (the least disturbed by other processes).
  if (mode === 'post-cost') {
    const v8 = require('node:v8');
    const loop = evloop.newEventLoop();
    const ref = loop.share();
    let got = 0;
    loop.onMessage(() => got++);
    const best = { serializeNs: Infinity, postNs: Infinity, receiveNs: Infinity };
    for (let r = 0; r < 20; r++) {
      let t = hrus();
      for (let k = 0; k < n; k++) v8.serialize(k);
      best.serializeNs = Math.min(best.serializeNs, ((hrus() - t) * 1e3) / n);
      let post = 0;
      let receive = 0;
      for (let k = 0; k < n; k += 100) {
        t = hrus();
        for (let j = 0; j < 100; j++) evloop.post(ref, k + j);
        const t1 = hrus();
        loop.stop();
        loop.runForever(); // one turn: takes the batch, runs the handler 100 times
        receive += hrus() - t1;
        post += t1 - t;
      }
      best.postNs = Math.min(best.postNs, (post * 1e3) / n);
      best.receiveNs = Math.min(best.receiveNs, (receive * 1e3) / n);
    }
    loop.close();
    if (got !== 20 * n) throw new Error('post-cost: messages lost');
    return best;
  }
  throw new Error(`unknown mode ${mode}`);
}

// ---- the case -----------------------------------------------------------------------------------

async function run({ quick = false } = {}) {
  const rounds = quick ? 1 : 3;
  const N = quick ? 2000 : 20000; // latency round trips per round
  const W = quick ? 200 : 2000; // warm-up round trips
  const B = quick ? 20000 : 200000; // burst size
  const bin = floorBinary();
  const res = {};
  const add = (k, v) => (res[k] ??= []).push(v);
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['evloop-latency', 'evloop-latency-host', 'mp-latency']) {
      add(mode, runNode(__filename, ['--child', mode, N, W]));
    }
    for (const mode of ['evloop-burst', 'evloop-burst-host', 'mp-burst']) {
      add(mode, runNode(__filename, ['--child', mode, B, 0]));
    }
    if (bin !== null) {
      add('floor-eventfd', runFloor(bin, ['latency', 'eventfd', N, W]));
      add('floor-condvar', runFloor(bin, ['latency', 'condvar', N, W]));
      add('floor-inbox-locked', runFloor(bin, ['latency', 'inbox-locked', N, W]));
      add('floor-inbox-unlocked', runFloor(bin, ['latency', 'inbox-unlocked', N, W]));
      add('floor-burst', runFloor(bin, ['burst', B * 5]));
    }
  }
  const cost = runNode(__filename, ['--child', 'post-cost', quick ? 2000 : 10000, 0]);
  log('cross-thread', JSON.stringify(res), JSON.stringify(cost));
  const m = (k, f) => (res[k] ? median(res[k].map((x) => x[f])) : NaN);
  const rows = [];
  const floor = m('floor-eventfd', 'p50');
  rows.push(
    row('wake latency p50: evloop post (private loops) vs C eventfd floor', 'µs', m('evloop-latency', 'p50'), floor, {
      atLeast: 1 / 1.5,
      headline: true,
      note: 'target: evloop p50 ≤ 1.5× the C floor, i.e. ratio ≥ 0.67×',
    }),
    row('wake latency p99: evloop post (private loops) vs C eventfd floor', 'µs', m('evloop-latency', 'p99'), m('floor-eventfd', 'p99'), { note: 'info' }),
    row('wake latency p50: evloop post vs MessagePort', 'µs', m('evloop-latency', 'p50'), m('mp-latency', 'p50'), { note: 'info' }),
    row('wake latency p99: evloop post vs MessagePort', 'µs', m('evloop-latency', 'p99'), m('mp-latency', 'p99'), { note: 'info' }),
    row('wake latency p50: evloop post to the host loop vs MessagePort', 'µs', m('evloop-latency-host', 'p50'), m('mp-latency', 'p50'), { note: 'info' }),
    row('wake latency p50: C condvar floor vs C eventfd floor', 'µs', m('floor-condvar', 'p50'), floor, { note: 'info' }),
    // evloop's inbox design alone, in C: where the gap to the floor starts.
    row('wake latency p50: C model of evloop inbox (wake under its lock) vs eventfd floor', 'µs', m('floor-inbox-locked', 'p50'), floor, { note: 'info' }),
    row('wake latency p50: C model of evloop inbox, wake under lock vs after unlock', 'µs', m('floor-inbox-locked', 'p50'), m('floor-inbox-unlocked', 'p50'), { note: 'info' }),
    row('burst: evloop post to a blocked private loop vs MessagePort', 'msg/s', m('evloop-burst', 'rate'), m('mp-burst', 'rate'), {
      atLeast: 5,
      headline: true,
    }),
    row('burst: evloop post to the host loop vs MessagePort', 'msg/s', m('evloop-burst-host', 'rate'), m('mp-burst', 'rate'), { note: 'info' }),
    row('burst: evloop post vs C mutex-queue floor', 'msg/s', m('evloop-burst', 'rate'), m('floor-burst', 'rate'), { note: 'info' }),
    row('where a message goes: post() on the sender vs its v8.serialize alone', 'ns', cost.postNs, cost.serializeNs, { note: 'info' }),
    row('where a message goes: receiving loop (batches of 100) vs v8.serialize alone', 'ns', cost.receiveNs, cost.serializeNs, { note: 'info' }),
  );
  return rows;
}

module.exports = { run };

if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i > 0) {
    const [mode, n, warmup] = process.argv.slice(i + 1);
    emitAndExit(child(mode, Number(n), Number(warmup)));
  } else {
    run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
  }
}
