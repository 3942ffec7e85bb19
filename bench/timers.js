'use strict';
// Timers: 200,000 timers with delays spread over [0, 100) ms, and a variant where 90% are
// cancelled right after they are all scheduled. Total time (first schedule to last callback)
// and peak RSS, each loop in a fresh process: evloop private loop and host loop vs Node's
// setTimeout, and Python asyncio's call_later when python3 is present.
const path = require('node:path');
const { row, median, hrms, peakRssMB, emit, runNode, runPython, pythonCommand, log } = require('./lib/common');

const N = 200_000;
// Delay of timer i: a deterministic permutation of i spread over [0, 100) ms (7919 is prime,
// coprime with N), identical in every contender.
const delayOf = (i, n) => (((i * 7919) % n) * 100) / n;
const cancelled = (i) => i % 10 !== 0; // the 90% variant keeps every tenth

const PYTHON = String.raw`
import asyncio, json, resource, sys, time
n, variant = int(sys.argv[1]), sys.argv[2]
loop = asyncio.new_event_loop()
left = 0
def cb():
    global left
    left -= 1
    if left == 0:
        loop.stop()
t0 = time.perf_counter()
handles = [loop.call_later(((i * 7919) % n) * 100 / n / 1000, cb) for i in range(n)]
if variant == 'cancel':
    for i in range(n):
        if i % 10 != 0:
            handles[i].cancel()
    left = sum(1 for i in range(n) if i % 10 == 0)
else:
    left = n
handles = None
loop.run_forever()
ms = (time.perf_counter() - t0) * 1000
print(json.dumps({'ms': ms, 'rssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

// ---- in the fresh process ------------------------------------------------------------------------

function child(kind, variant, n) {
  const cancel = variant === 'cancel';
  const live = cancel ? Math.ceil(n / 10) : n;
  // CPU time (user + system, all threads) next to the wall time: far less disturbed by a busy machine.
  const cpu0 = process.cpuUsage();
  const done = (t0) => {
    const c = process.cpuUsage(cpu0);
    emit({ ms: hrms() - t0, cpuMs: (c.user + c.system) / 1000, rssMB: peakRssMB() });
  };
  if (kind === 'setTimeout') {
    let left = live;
    const cb = () => {
      if (--left === 0) done(t0);
    };
    const t0 = hrms();
    const handles = new Array(n);
    for (let i = 0; i < n; i++) handles[i] = setTimeout(cb, delayOf(i, n));
    if (cancel) for (let i = 0; i < n; i++) if (cancelled(i)) clearTimeout(handles[i]);
    return;
  }
  const evloop = require('..');
  const loop = kind === 'private' ? evloop.newEventLoop() : evloop.hostLoop();
  let left = live;
  const cb = () => {
    if (--left === 0) {
      if (kind === 'private') loop.stop();
      else done(t0);
    }
  };
  const t0 = hrms();
  let handles = new Array(n);
  for (let i = 0; i < n; i++) handles[i] = loop.callLater(delayOf(i, n), cb);
  if (cancel) for (let i = 0; i < n; i++) if (cancelled(i)) handles[i].cancel();
  handles = null;
  if (kind === 'private') {
    loop.runForever();
    done(t0);
    loop.close();
  }
}

// ---- in the case process -------------------------------------------------------------------------

async function run({ quick = false, summary = false } = {}) {
  const n = quick ? 50_000 : N;
  const reps = quick ? 1 : summary ? 2 : 5;
  const kinds = ['private', 'host', 'setTimeout'];
  const rows = [];
  for (const variant of ['all', 'cancel']) {
    const res = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let r = 0; r < reps; r++) {
      for (const kind of r % 2 ? [...kinds].reverse() : kinds) {
        res[kind].push(runNode(__filename, ['--child', kind, variant, String(n)]));
      }
    }
    log('timers', variant, JSON.stringify(res));
    const ms = (k) => median(res[k].map((x) => x.ms));
    const mb = (k) => median(res[k].map((x) => x.rssMB));
    const cpu = (k) => median(res[k].map((x) => x.cpuMs));
    const label = variant === 'all' ? `${n / 1000}k timers over [0,100) ms` : `${n / 1000}k timers, 90% cancelled`;
    rows.push(
      row(`${label}: time, private loop vs setTimeout`, 'ms', ms('private'), ms('setTimeout'), { atLeast: 1, headline: variant === 'all' }),
      row(`${label}: peak RSS, private loop vs setTimeout`, 'MB', mb('private'), mb('setTimeout'), { atLeast: 1 }),
      row(`${label}: CPU time, private loop vs setTimeout`, 'ms', cpu('private'), cpu('setTimeout'), { note: 'info' }),
      row(`${label}: time, host loop vs setTimeout`, 'ms', ms('host'), ms('setTimeout'), { atLeast: 1 }),
      row(`${label}: CPU time, host loop vs setTimeout`, 'ms', cpu('host'), cpu('setTimeout'), { note: 'info' }),
      row(`${label}: peak RSS, host loop vs setTimeout`, 'MB', mb('host'), mb('setTimeout'), { atLeast: 1 }),
    );
    if (!summary && pythonCommand() !== null) {
      const py = [];
      for (let r = 0; r < Math.min(reps, 3); r++) py.push(runPython(PYTHON, [n, variant]));
      rows.push(
        row(`${label}: time, private loop vs asyncio`, 'ms', ms('private'), median(py.map((x) => x.ms)), { note: 'info' }),
        row(`${label}: peak RSS, private loop vs asyncio`, 'MB', mb('private'), median(py.map((x) => x.rssMB)), { note: 'info' }),
      );
    }
  }
  return rows;
}

module.exports = { run };
if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i > 0) child(process.argv[i + 1], process.argv[i + 2], Number(process.argv[i + 3]));
  else run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
}
