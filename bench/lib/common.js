'use strict';
// Shared helpers of the benchmark cases: statistics, rows, fresh child processes, python3,
// pinning. Not a case file (bench/run.js only discovers bench/*.js).
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

// ---- statistics --------------------------------------------------------------------------------

function sorted(xs) {
  return Float64Array.from(xs).sort();
}
function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}
const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---- rows --------------------------------------------------------------------------------------

// Units where less is better; for those ratio = competitor / evloop. For the others
// (throughputs) ratio = evloop / competitor. Either way: ratio > 1 means evloop is better.
const LOWER_IS_BETTER = new Set(['ns/cb', 'ns', 'µs', 'ms', 's', 'MB']);

/**
 * A table row. `atLeast`: the target on the ratio (evloop at least this many times better);
 * `atMost`: a target on evloop's own figure instead (in `unit`). `note` says what the row is.
 */
function row(name, unit, evloop, competitor, { atLeast, atMost, note, headline } = {}) {
  const lower = LOWER_IS_BETTER.has(unit);
  let ratio = NaN;
  if (Number.isFinite(evloop) && Number.isFinite(competitor) && evloop > 0 && competitor > 0) {
    ratio = lower ? competitor / evloop : evloop / competitor;
  }
  const r = { case: name, evloop, competitor, ratio, unit };
  if (atLeast !== undefined) {
    r.target = `≥ ${+atLeast.toFixed(2)}×`;
    r.met = ratio >= atLeast;
  } else if (atMost !== undefined) {
    r.target = `≤ ${atMost} ${unit}`;
    r.met = evloop <= atMost;
  }
  if (note) r.note = note;
  if (headline) r.headline = true;
  return r;
}

// ---- child processes ---------------------------------------------------------------------------

const RESULT_MARK = '@@bench-result@@';

/** In a measuring child: hands its result (any JSON) to the parent. */
function emit(result) {
  process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(result)}\n`);
}

/** A measuring child's end: emit what `measuring` resolves to and exit 0, or print the error and exit 1. */
function emitAndExit(measuring) {
  measuring.then(
    (result) => {
      emit(result);
      process.exit(0);
    },
    (error) => {
      console.error(error?.stack ?? error);
      process.exit(1);
    },
  );
}

function parseResult(stdout, what) {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith(RESULT_MARK));
  if (line === undefined) throw new Error(`${what}: no result in its output`);
  return JSON.parse(line.slice(RESULT_MARK.length));
}

let tasksetWorks;
/** `taskset -c 0` is usable here (Linux with util-linux). */
function canPin() {
  if (tasksetWorks === undefined) {
    const r = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    tasksetWorks = r.status === 0;
  }
  return tasksetWorks;
}

/**
 * Runs `node file ...args` in a fresh process (pinned to CPU 0 with taskset when `pin`),
 * returns what it emit()ted. Throws with its stderr when it fails.
 */
function runNode(file, args = [], { pin = false, env = {}, timeout = 600_000, nodeArgs = [] } = {}) {
  const cmd = pin ? 'taskset' : process.execPath;
  const argv = [...nodeArgs, file, ...args];
  const full = pin ? ['-c', '0', process.execPath, ...argv] : argv;
  const r = spawnSync(cmd, full, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout,
    maxBuffer: 64 << 20,
  });
  const what = `${pin ? 'taskset -c 0 ' : ''}node ${path.relative(ROOT, file)} ${args.join(' ')}`;
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status ?? r.signal}:\n${r.stderr.slice(-3000)}`);
  if (process.env.BENCH_VERBOSE === '1' && r.stderr) process.stderr.write(r.stderr);
  return parseResult(r.stdout, what);
}

// ---- python3 -----------------------------------------------------------------------------------

let python;
/** The python3 command when it is present and has asyncio, else null. */
function pythonCommand() {
  if (python === undefined) {
    python = null;
    if (process.env.BENCH_NO_PYTHON !== '1') {
      const r = spawnSync('python3', ['-c', 'import asyncio, sys; print(sys.version.split()[0])'], { encoding: 'utf8' });
      if (r.status === 0) python = { cmd: 'python3', version: r.stdout.trim() };
    }
  }
  return python;
}

/** Runs a python3 program (source text) with args; it prints one JSON line last. */
function runPython(source, args = [], { timeout = 600_000 } = {}) {
  const py = pythonCommand();
  if (py === null) return null;
  const r = spawnSync(py.cmd, ['-c', source, ...args.map(String)], { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python3 exited with ${r.status}:\n${r.stderr.slice(-3000)}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

// ---- misc ----------------------------------------------------------------------------------------

function hrms() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Peak resident set size of this process so far, in MB (Linux: VmHWM; else maxRSS). */
function peakRssMB() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {}
  return process.resourceUsage().maxRSS / 1024;
}

const hrns = () => Number(process.hrtime.bigint());

/** Round-trip latency (ns each) of `n` operations one at a time: start(done, i) begins one. */
function callbackLatency(start, n) {
  return new Promise((resolve) => {
    const lat = [];
    let t = 0;
    const done = () => {
      lat.push(hrns() - t);
      if (lat.length < n) next();
      else resolve(lat);
    };
    const next = () => {
      t = hrns();
      start(done, lat.length);
    };
    next();
  });
}

/** Operations per second with `inflight` at once, `total` in all: start(done, i) begins one. */
function callbackThroughput(start, total, inflight) {
  return new Promise((resolve) => {
    let submitted = 0;
    let completed = 0;
    const done = () => {
      completed++;
      if (submitted < total) one();
      else if (completed === total) resolve(total / ((hrns() - t0) / 1e9));
    };
    const one = () => start(done, submitted++);
    const t0 = hrns();
    for (let k = 0; k < inflight && k < total; k++) one();
  });
}

function log(...args) {
  if (process.env.BENCH_VERBOSE === '1') console.error('[bench]', ...args);
}

module.exports = {
  ROOT,
  quantile,
  median,
  row,
  emit,
  emitAndExit,
  runNode,
  canPin,
  pythonCommand,
  runPython,
  hrms,
  hrns,
  callbackLatency,
  callbackThroughput,
  peakRssMB,
  log,
  execFileSync,
};
