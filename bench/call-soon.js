'use strict';
// callSoon throughput: 1,000,000 callbacks, chained (each schedules the next) and queued (all
// scheduled first), on an evloop private loop and the host loop, vs setImmediate and vs Python
// asyncio's call_soon (when python3 is present). ns per callback, from the first schedule to the
// last callback; rounds alternate between the contenders, medians are reported.
const { row, median, hrms, runPython, pythonCommand, log } = require('./lib/common');

const PYTHON = String.raw`
import asyncio, json, sys, time
n, rounds = int(sys.argv[1]), int(sys.argv[2])

def chained(loop):
    i = 0
    def cb():
        nonlocal i
        i += 1
        if i < n:
            loop.call_soon(cb)
        else:
            loop.stop()
    t0 = time.perf_counter()
    loop.call_soon(cb)
    loop.run_forever()
    return (time.perf_counter() - t0) * 1e9 / n

def queued(loop):
    i = 0
    def cb():
        nonlocal i
        i += 1
        if i == n:
            loop.stop()
    t0 = time.perf_counter()
    for _ in range(n):
        loop.call_soon(cb)
    loop.run_forever()
    return (time.perf_counter() - t0) * 1e9 / n

loop = asyncio.new_event_loop()
out = {'chained': [], 'queued': []}
for _ in range(rounds):
    out['chained'].append(chained(loop))
    out['queued'].append(queued(loop))
loop.close()
print(json.dumps(out))
`;

function privateChained(loop, n) {
  let i = 0;
  const cb = () => {
    if (++i < n) loop.callSoon(cb);
    else loop.stop();
  };
  const t0 = hrms();
  loop.callSoon(cb);
  loop.runForever();
  return ((hrms() - t0) * 1e6) / n;
}

function privateQueued(loop, n) {
  let i = 0;
  const cb = () => {
    if (++i === n) loop.stop();
  };
  const t0 = hrms();
  for (let k = 0; k < n; k++) loop.callSoon(cb);
  loop.runForever();
  return ((hrms() - t0) * 1e6) / n;
}

function hostChained(loop, n) {
  return new Promise((resolve) => {
    let i = 0;
    const cb = () => {
      if (++i < n) loop.callSoon(cb);
      else resolve(((hrms() - t0) * 1e6) / n);
    };
    const t0 = hrms();
    loop.callSoon(cb);
  });
}

function hostQueued(loop, n) {
  return new Promise((resolve) => {
    let i = 0;
    const cb = () => {
      if (++i === n) resolve(((hrms() - t0) * 1e6) / n);
    };
    const t0 = hrms();
    for (let k = 0; k < n; k++) loop.callSoon(cb);
  });
}

function immediateChained(n) {
  return new Promise((resolve) => {
    let i = 0;
    const cb = () => {
      if (++i < n) setImmediate(cb);
      else resolve(((hrms() - t0) * 1e6) / n);
    };
    const t0 = hrms();
    setImmediate(cb);
  });
}

function immediateQueued(n) {
  return new Promise((resolve) => {
    let i = 0;
    const cb = () => {
      if (++i === n) resolve(((hrms() - t0) * 1e6) / n);
    };
    const t0 = hrms();
    for (let k = 0; k < n; k++) setImmediate(cb);
  });
}

// Runs the blocking (private loop) measurements from a macrotask, never inside a microtask.
const fromMacrotask = (fn) => new Promise((resolve, reject) => setImmediate(() => {
  try {
    resolve(fn());
  } catch (error) {
    reject(error);
  }
}));

async function run({ quick = false, summary = false } = {}) {
  const evloop = require('..');
  const n = quick || summary ? 200_000 : 1_000_000;
  const rounds = quick ? 2 : summary ? 3 : 5;
  const loop = evloop.newEventLoop();
  const host = evloop.hostLoop();
  const r = { pc: [], pq: [], hc: [], hq: [], ic: [], iq: [] };
  // Warm-up: one small round of everything (JIT), not recorded.
  await fromMacrotask(() => privateChained(loop, 20_000) + privateQueued(loop, 20_000));
  await hostChained(host, 20_000);
  await hostQueued(host, 20_000);
  await immediateChained(20_000);
  await immediateQueued(20_000);
  for (let k = 0; k < rounds; k++) {
    // Alternate the order so that neither side always runs right after a GC-heavy one.
    const steps = [
      async () => r.pc.push(await fromMacrotask(() => privateChained(loop, n))),
      async () => r.ic.push(await immediateChained(n)),
      async () => summary || r.hc.push(await hostChained(host, n)),
      async () => r.pq.push(await fromMacrotask(() => privateQueued(loop, n))),
      async () => r.iq.push(await immediateQueued(n)),
      async () => summary || r.hq.push(await hostQueued(host, n)),
    ];
    if (k % 2) steps.reverse();
    for (const step of steps) await step();
    log('call-soon round', k, JSON.stringify(r));
  }
  loop.close();
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
  const rows = [
    row(`callSoon chained${summary ? ' (200k)' : ''}: private loop vs setImmediate`, 'ns/cb', m.pc, m.ic, { atLeast: 2, headline: true }),
    row(`callSoon queued${summary ? ' (200k)' : ''}: private loop vs setImmediate`, 'ns/cb', m.pq, m.iq, { atLeast: 2, headline: true }),
    row('callSoon chained: host loop vs setImmediate', 'ns/cb', m.hc, m.ic, { atLeast: 1 }),
    row('callSoon queued: host loop vs setImmediate', 'ns/cb', m.hq, m.iq, { atLeast: 1 }),
  ];
  if (!summary && pythonCommand() !== null) {
    const py = runPython(PYTHON, [n, quick ? 1 : 3]);
    const pc = median(py.chained);
    const pq = median(py.queued);
    rows.push(
      row('callSoon chained: private loop vs asyncio call_soon', 'ns/cb', m.pc, pc, { atLeast: 5 }),
      row('callSoon queued: private loop vs asyncio call_soon', 'ns/cb', m.pq, pq, { atLeast: 10 }),
      row('callSoon chained: host loop vs asyncio call_soon', 'ns/cb', m.hc, pc, { note: 'info' }),
      row('callSoon queued: host loop vs asyncio call_soon', 'ns/cb', m.hq, pq, { note: 'info' }),
    );
  } else if (!summary) {
    rows.push({ case: 'callSoon vs asyncio', note: 'skipped: no python3' });
  }
  return rows;
}

module.exports = { run };
if (require.main === module) {
  run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
}
