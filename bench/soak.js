'use strict';
// Soak (issue 7): evloop under sustained load, watching that nothing grows.
//
//   node bench/soak.js            (npm run soak)   the full run, several minutes
//   node bench/soak.js --short    about 100 times smaller, under a minute (CI)
//   node bench/soak.js --phases=pool,posts   only those phases
//   node bench/soak.js --yield    Node's own loop turns between chunks (see YIELD below)
//
// Phases, each in chunks, with a sample after each tenth (after a full garbage collection):
//   callSoon   10,000,000 callbacks (90% on a private loop, queued and chained; 10% on the host loop)
//   timers      1,000,000 timers at 0-5 ms, every other one cancelled
//   pool        1,000,000 pool tasks, half native (tasks.digest), half JavaScript, 1 in 16 cancelled
//   posts       1,000,000 cross-thread posts from 4 worker threads to a private loop of this one
//   loops      10,000 loops created, armed and closed in this thread, and 10,000 in 4 workers
// Every result is accounted for (each callback ran once, exactly the timers not cancelled fired,
// each pool result is right or its Future cancelled and the pool's counters agree, each post
// arrived once and in order). RSS, descriptors and threads must stay flat after the warm-up: the
// table shows them over time; the run fails (exit 1) when a count is off, when RSS in the second
// half of a phase rises above the first half's peak by more than max(24 MB, 10%) (warm-up grows
// and stops, a leak goes on), or when descriptors or threads are not back at the baseline at the
// end of a phase.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Worker } = require('node:worker_threads');
const { execFileSync } = require('node:child_process');

const entry = path.resolve(__dirname, '..');
const evloop = require(entry);

const SHORT = process.argv.includes('--short');
// --yield: let Node's own loop turn between chunks (await setImmediate), as an application that
// alternates private-loop runs with Node's loop would. Without it every phase blocks the thread in
// private loops from start to end, as an asyncio-style application that lives in runForever does.
const YIELD = process.argv.includes('--yield');
const SCALE = SHORT ? 0.01 : 1;
const N = {
  callSoon: Math.round(10_000_000 * SCALE),
  timers: Math.round(1_000_000 * SCALE),
  pool: Math.round(1_000_000 * SCALE),
  posts: Math.round(1_000_000 * SCALE),
  loops: Math.round(10_000 * SCALE),
};
const STEPS = 10;
const WORKERS = 4;
const RSS_SLACK_MB = 24;
const RSS_SLACK_RATIO = 0.1;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// ---- measuring ------------------------------------------------------------------------------------

const fds = () => fs.readdirSync('/proc/self/fd').length;
const threads = () => fs.readdirSync('/proc/self/task').length;
const mb = (bytes) => bytes / 1048576;
const start = process.hrtime.bigint();
const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;

const samples = [];
const failures = [];
let base;

function fail(message) {
  failures.push(message);
  console.log(`  !! ${message}`);
}

function header() {
  console.log(
    `${'phase'.padEnd(9)} ${'step'.padStart(5)} ${'t (s)'.padStart(7)} ${'rss MB'.padStart(7)} ${'heap MB'.padStart(8)} ${'ext MB'.padStart(7)} ${'fds'.padStart(4)} ${'thr'.padStart(4)}  done`,
  );
}

function sample(phase, step, done) {
  gc();
  const m = process.memoryUsage();
  const s = { phase, step, t: elapsed(), rss: mb(m.rss), heap: mb(m.heapUsed), ext: mb(m.external + m.arrayBuffers), fds: fds(), threads: threads(), done };
  samples.push(s);
  console.log(
    `${phase.padEnd(9)} ${`${step * (100 / STEPS)}%`.padStart(5)} ${s.t.toFixed(1).padStart(7)} ${s.rss.toFixed(1).padStart(7)} ${s.heap.toFixed(1).padStart(8)} ${s.ext.toFixed(1).padStart(7)} ${String(s.fds).padStart(4)} ${String(s.threads).padStart(4)}  ${done.toLocaleString('en-US')}`,
  );
  return s;
}

/** Waits (on Node's loop) until descriptors and threads are back at the baseline. */
async function settled(phase) {
  const deadline = Date.now() + 10_000;
  while ((fds() !== base.fds || threads() > base.threads) && Date.now() < deadline) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (fds() !== base.fds) fail(`${phase}: ${fds() - base.fds} descriptors above the baseline after the phase`);
  if (threads() > base.threads) fail(`${phase}: ${threads() - base.threads} threads above the baseline after the phase`);
}

function checkFlat(phase) {
  const rows = samples.filter((s) => s.phase === phase);
  if (rows.length < 4) return;
  // Warm-up (threads starting, V8 sizing each heap, malloc arenas) grows RSS early in a phase and
  // stops; a leak goes on growing. So the second half must not rise above the first half's peak.
  const half = Math.floor(rows.length / 2);
  const warm = Math.max(...rows.slice(0, half).map((s) => s.rss));
  const peak = Math.max(...rows.slice(half).map((s) => s.rss));
  const allowed = Math.max(RSS_SLACK_MB, warm * RSS_SLACK_RATIO);
  if (peak - warm > allowed) fail(`${phase}: RSS rose ${(peak - warm).toFixed(1)} MB in the second half (allowed ${allowed.toFixed(1)})`);
}

function expectEqual(phase, what, actual, expected) {
  if (actual !== expected) fail(`${phase}: ${what} is ${actual}, expected ${expected}`);
}

/** With --yield, one turn of Node's own loop (its deferred frees and immediates run). */
async function turnNode() {
  if (YIELD) await new Promise((resolve) => setImmediate(resolve));
}

/** Runs `loop` until `done()` holds (checked every few ms), bounded. */
function runUntil(loop, done, what, boundMs = 120_000) {
  const deadline = Date.now() + boundMs;
  const check = () => {
    if (done() || Date.now() > deadline) loop.stop();
    else loop.callLater(1, check);
  };
  loop.callSoon(check);
  loop.runForever();
  if (!done()) throw new Error(`soak: ${what} not done within ${boundMs} ms`);
}

// ---- phases -------------------------------------------------------------------------------------------

async function phaseCallSoon() {
  const total = N.callSoon;
  const hostTotal = Math.round(total / 10);
  const privateTotal = total - hostTotal;
  const loop = evloop.newEventLoop();
  const host = evloop.hostLoop();
  let ranPrivate = 0;
  let ranHost = 0;
  const inc = () => {
    ranPrivate++;
  };
  for (let step = 1; step <= STEPS; step++) {
    const target = Math.round((privateTotal * step) / STEPS);
    // Half queued at once, half chained (each callback schedules the next).
    const queued = Math.floor((target - ranPrivate) / 2);
    for (let i = 0; i < queued; i++) loop.callSoon(inc);
    let chain = target - ranPrivate - queued;
    const next = () => {
      ranPrivate++;
      if (--chain > 0) loop.callSoon(next);
    };
    if (chain > 0) loop.callSoon(next);
    runUntil(loop, () => ranPrivate === target, 'callSoon');
    // The host loop's share, from async code on Node's loop.
    const hostTarget = Math.round((hostTotal * step) / STEPS);
    await new Promise((resolve) => {
      let left = hostTarget - ranHost;
      if (left <= 0) return resolve();
      const cb = () => {
        ranHost++;
        if (--left === 0) resolve();
      };
      for (let i = left; i > 0; i--) host.callSoon(cb);
    });
    sample('callSoon', step, ranPrivate + ranHost);
  }
  loop.close();
  expectEqual('callSoon', 'callbacks run on the private loop', ranPrivate, privateTotal);
  expectEqual('callSoon', 'callbacks run on the host loop', ranHost, hostTotal);
}

async function phaseTimers() {
  const total = N.timers;
  const chunk = Math.ceil(total / STEPS);
  const loop = evloop.newEventLoop();
  evloop.setEventLoop(loop);
  let fired = 0;
  let cancelled = 0;
  let wrong = 0;
  let scheduled = 0;
  for (let step = 1; step <= STEPS; step++) {
    const target = Math.min(total, step * chunk);
    const firedBefore = fired;
    let expected = 0;
    for (; scheduled < target; scheduled++) {
      const delay = (scheduled % 21) / 4; // 0 to 5 ms
      const handle = loop.callLater(delay, () => {
        if (handle.cancelled()) wrong++;
        fired++;
      });
      if (scheduled % 2 === 1) {
        handle.cancel();
        cancelled++;
      } else expected++;
    }
    loop.runUntilComplete(evloop.sleep(6));
    runUntil(loop, () => fired - firedBefore >= expected, 'timers');
    await turnNode();
    sample('timers', step, fired + cancelled);
  }
  evloop.setEventLoop(null);
  loop.close();
  expectEqual('timers', 'timers fired', fired, Math.ceil(total / 2));
  expectEqual('timers', 'cancelled timers that ran', wrong, 0);
  expectEqual('timers', 'timers cancelled', cancelled, Math.floor(total / 2));
}

async function phasePool() {
  const total = N.pool;
  const chunk = Math.ceil(total / STEPS);
  const loop = evloop.newEventLoop();
  evloop.setEventLoop(loop);
  const executor = new evloop.ThreadPoolExecutor({ maxWorkers: 4, name: 'soak' });
  let submitted = 0;
  let ok = 0;
  let right = 0;
  let cancelledFutures = 0;
  let other = 0;
  const batch = 2000;
  for (let step = 1; step <= STEPS; step++) {
    const target = Math.min(total, step * chunk);
    while (submitted < target) {
      const n = Math.min(batch, target - submitted);
      const futures = [];
      for (let i = 0; i < n; i++, submitted++) {
        const js = submitted % 2 === 1;
        const f = js
          ? loop.runInExecutor(executor, (x) => x + 1, submitted)
          : loop.runInExecutor(executor, evloop.tasks.digest, 'md5', 'soak');
        f.expected = js ? submitted + 1 : 16;
        if (submitted % 16 === 5) f.cancel();
        futures.push(f);
      }
      loop.runUntilComplete(evloop.gather(futures, { returnExceptions: true }));
      await turnNode();
      for (const f of futures) {
        if (f.cancelled()) cancelledFutures++;
        else if (f.exception() !== null) other++;
        else {
          ok++;
          const r = f.result();
          if ((typeof r === 'number' ? r : r.length) === f.expected) right++;
        }
      }
    }
    sample('pool', step, ok + cancelledFutures);
  }
  evloop.setEventLoop(null);
  loop.close();
  await executor.shutdown();
  const s = executor.stats();
  expectEqual('pool', 'futures settled', ok + cancelledFutures + other, total);
  expectEqual('pool', 'failed futures', other, 0);
  expectEqual('pool', 'right results', right, ok);
  expectEqual('pool', 'pool completed + failed + cancelled', s.completed + s.failed + s.cancelled, total);
  expectEqual('pool', 'pool failed', s.failed, 0);
  // Work cancelled before it started is counted by the pool; cancelled after, it ran.
  expectEqual('pool', 'pool completed', s.completed, ok + (cancelledFutures - s.cancelled));
}

async function phasePosts() {
  const total = N.posts;
  const perWorkerRound = Math.ceil(total / STEPS / WORKERS);
  const hub = evloop.newEventLoop();
  const refs = [];
  const next = new Array(WORKERS).fill(0); // next expected sequence number per sender
  let received = 0;
  let outOfOrder = 0;
  let exited = 0;
  hub.onMessage((m) => {
    if (m.ref) {
      refs[m.w] = m.ref;
      return;
    }
    if (m.exit) {
      exited++;
      return;
    }
    for (const seq of m.seqs) {
      if (seq !== next[m.w]) outOfOrder++;
      next[m.w] = seq + 1;
      received++;
    }
  });
  const source = `
    const { workerData } = require('node:worker_threads');
    const evloop = require(${JSON.stringify(entry)});
    const { hub, w, perRound, yieldBetween } = workerData;
    const loop = evloop.newEventLoop();
    let seq = 0;
    loop.onMessage((m) => {
      if (m === 'stop') { stopping = true; loop.stop(); return; }
      // One round: perRound posts, single values and small batches mixed.
      let left = perRound;
      while (left > 0) {
        if (left % 3 === 0) { evloop.post(hub, { w, seqs: [seq++] }); left--; continue; }
        const n = Math.min(left, 4);
        const seqs = [];
        for (let i = 0; i < n; i++) seqs.push(seq++);
        evloop.post(hub, { w, seqs });
        left -= n;
      }
      if (yieldBetween) loop.stop(); // back to Node's loop between rounds
    });
    let stopping = false;
    evloop.post(hub, { w, ref: loop.share() });
    const run = () => {
      loop.runForever(); // shared: it waits for posts until 'stop'
      if (!stopping) return setImmediate(run);
      loop.close();
      evloop.post(hub, { w, exit: true });
    };
    run();
  `;
  const workers = [];
  for (let w = 0; w < WORKERS; w++) {
    workers.push(new Worker(source, { eval: true, workerData: { hub: hub.share(), w, perRound: perWorkerRound, yieldBetween: YIELD } }));
  }
  const ended = workers.map((worker) => new Promise((resolve) => worker.on('exit', resolve)));
  runUntil(hub, () => refs.filter(Boolean).length === WORKERS, 'worker start');
  let expected = 0;
  for (let step = 1; step <= STEPS; step++) {
    for (let w = 0; w < WORKERS; w++) evloop.post(refs[w], step);
    expected += perWorkerRound * WORKERS;
    runUntil(hub, () => received >= expected, 'posts');
    await turnNode();
    sample('posts', step, received);
  }
  for (let w = 0; w < WORKERS; w++) evloop.post(refs[w], 'stop');
  runUntil(hub, () => exited === WORKERS, 'worker exit');
  await Promise.all(ended);
  hub.close();
  expectEqual('posts', 'posts received', received, perWorkerRound * WORKERS * STEPS);
  expectEqual('posts', 'posts out of order or repeated', outOfOrder, 0);
}

function fifo() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-soak-'));
  const file = path.join(dir, 'fifo');
  try {
    execFileSync('mkfifo', [file]);
    return fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Creates, arms, turns and closes `count` loops (the same code runs in the workers). */
const LOOPS = `(evloop, fd, count) => {
  let turned = 0;
  for (let i = 0; i < count; i++) {
    const loop = evloop.newEventLoop();
    loop.callLater(600000, () => {});
    loop.callLater(0, () => turned++);
    loop.addReader(fd, () => {});
    loop.addWriter(fd, () => { loop.removeWriter(fd); });
    if (i % 4 === 0) loop.addSignalHandler('SIGWINCH', () => {});
    evloop.post(loop.share(), i);
    loop.onMessage(() => {});
    loop.callLater(0, () => loop.stop());
    loop.runForever();
    loop.close();
  }
  return turned;
}`;

async function phaseLoops() {
  const total = N.loops;
  const fd = fifo();
  const churn = eval(LOOPS); // eslint-disable-line no-eval
  const perStep = Math.ceil(total / STEPS);
  let mainTurned = 0;
  let workerTurned = 0;
  let made = 0;
  for (let step = 1; step <= STEPS; step++) {
    const n = Math.min(perStep, total - made);
    // This thread's share, then the same in 4 workers at once (a quarter each).
    mainTurned += churn(evloop, fd, n);
    const counts = await Promise.all(
      Array.from({ length: WORKERS }, (_, w) => {
        const share = Math.floor(n / WORKERS) + (w < n % WORKERS ? 1 : 0);
        return new Promise((resolve, reject) => {
          const worker = new Worker(
            `const { parentPort, workerData } = require('node:worker_threads');
             const evloop = require(${JSON.stringify(entry)});
             parentPort.postMessage((${LOOPS})(evloop, workerData.fd, workerData.count));`,
            { eval: true, workerData: { fd, count: share } },
          );
          worker.once('message', resolve);
          worker.once('error', reject);
        });
      }),
    );
    workerTurned += counts.reduce((a, b) => a + b, 0);
    made += n;
    sample('loops', step, made * 2);
  }
  fs.closeSync(fd);
  expectEqual('loops', 'loops turned in this thread', mainTurned, total);
  expectEqual('loops', 'loops turned in workers', workerTurned, total);
}

// ---- main -------------------------------------------------------------------------------------------------

async function main() {
  console.log(`evloop soak${SHORT ? ' (short)' : ''}${YIELD ? ' (yielding to Node between chunks)' : ''}: ${Object.entries(N).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')}`);
  // Warm-up: what the first use creates once per process (the addon, the host loop, a worker,
  // libuv's pool for fs.promises), then the baseline.
  await fs.promises.readFile(__filename);
  const warm = evloop.newEventLoop();
  warm.runUntilComplete(warm.runInExecutor(new evloop.ThreadPoolExecutor({ maxWorkers: 1, idleTimeout: 1 }), (x) => x, 1));
  warm.close();
  await new Promise((resolve) => evloop.hostLoop().callLater(50, resolve));
  await new Promise((resolve) => new Worker('0', { eval: true }).on('exit', resolve));
  // Until the warm-up's threads have left (the JS pool thread idles out after 1 ms).
  for (let last = -1, still = 0; still < 5; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = threads();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  gc();
  base = { fds: fds(), threads: threads() };
  console.log(`baseline: ${base.fds} descriptors, ${base.threads} threads\n`);
  header();
  const phases = [
    ['callSoon', phaseCallSoon],
    ['timers', phaseTimers],
    ['pool', phasePool],
    ['posts', phasePosts],
    ['loops', phaseLoops],
  ];
  // --phases=pool,posts runs only those (for investigating one).
  const only = process.argv.find((a) => a.startsWith('--phases='))?.slice('--phases='.length).split(',');
  for (const [name, phase] of phases) {
    if (only && !only.includes(name)) continue;
    await phase();
    checkFlat(name);
    await settled(name);
  }
  const first = samples.find((s) => s.step === 2) ?? samples[0];
  const last = samples.at(-1);
  console.log(
    `\nRSS ${first.rss.toFixed(1)} MB after the first warm-up, ${last.rss.toFixed(1)} MB at the end; ` +
      `peak ${Math.max(...samples.map((s) => s.rss)).toFixed(1)} MB; ${elapsed().toFixed(1)} s in all`,
  );
  if (failures.length > 0) {
    console.log(`soak: FAILED\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log('soak: every result accounted for; RSS, descriptors and threads flat');
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
