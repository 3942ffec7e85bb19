#!/usr/bin/env node
'use strict';
// `npm run bench`: runs every benchmark case (bench/*.js, each exporting `async run({ quick,
// summary })` that returns rows) one after the other, each in a fresh child process, and prints
// one table with the ratios and the targets.
//
//   node bench/run.js              every case, full size
//   node bench/run.js --summary    a handful of headline rows, in well under a minute (npm start)
//   node bench/run.js --quick      every case, small sizes (a CI smoke test: it runs, it prints)
//   options: --only=seed,pool-js   --json=out.json   --verbose (the cases' own logs on stderr)
//
// A row is { case, evloop, competitor, ratio, unit, target?, met?, note?, headline? }. ratio is
// how many times better evloop is (> 1: evloop better), whatever the unit; see bench/README.md.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = flag('quick');
const summary = flag('summary');
const verbose = flag('verbose');
const only = option('only')?.split(',');
const jsonOut = option('json');

// The order of the table; cases not listed come after, alphabetically.
const ORDER = ['seed', 'call-soon', 'timers', 'pool-native', 'pool-js', 'cold-start', 'starvation', 'cross-thread', 'pipe-readiness'];
// What --summary runs (headline rows only).
const SUMMARY = ['seed', 'call-soon', 'pool-native', 'pool-js', 'cold-start'];

function discover() {
  const names = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.js') && f !== 'run.js')
    .map((f) => f.slice(0, -3));
  const rank = (n) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (only) return names.filter((n) => only.includes(n));
  if (summary) return names.filter((n) => SUMMARY.includes(n));
  return names;
}

function runCase(name) {
  const out = path.join(os.tmpdir(), `evloop-bench-${process.pid}-${name}.json`);
  const timeoutMs = (summary ? 60 : quick ? 300 : 1200) * 1000;
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'lib', 'case-child.js'), path.join(__dirname, `${name}.js`), JSON.stringify({ quick, summary })],
      {
        cwd: path.resolve(__dirname, '..'),
        env: { ...process.env, BENCH_OUT: out, BENCH_VERBOSE: verbose ? '1' : process.env.BENCH_VERBOSE ?? '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
      if (verbose) process.stderr.write(d);
    });
    child.stderr.on('data', (d) => {
      output += d;
      if (verbose) process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let result = null;
      try {
        result = JSON.parse(fs.readFileSync(out, 'utf8'));
        fs.rmSync(out, { force: true });
      } catch {}
      if (code === 0 && result !== null) resolve(result);
      else {
        const why = signal === 'SIGKILL' ? `timed out after ${timeoutMs / 1000} s` : `exited with ${code ?? signal}`;
        // The error's own line (not the stack) says most.
        const lines = output.trim().split('\n');
        const said = lines.find((l) => /^\w*Error\b|\bERR_[A-Z_]+/.test(l.trim())) ?? lines.slice(-3).join(' | ');
        resolve({ error: `${why}: ${said.trim()}`, rows: [] });
      }
    });
  });
}

// ---- formatting -------------------------------------------------------------------------------------

function fmt(value, unit) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—';
  const digits = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
  if (unit === 'tasks/s' || unit === 'ops/s' || /\/s$/.test(unit)) {
    if (value >= 1e6) return `${digits(value / 1e6)}M/s`;
    if (value >= 1e3) return `${digits(value / 1e3)}k/s`;
    return `${digits(value)}/s`;
  }
  if (unit === 's') return `${value.toFixed(3)} s`;
  if (unit === 'ns/cb') return `${digits(value)} ns`;
  return `${digits(value)} ${unit}`;
}

/** Whether the row met its target: its own `met`, else its target read as "≥ N×" on the ratio or "≤ N unit" on evloop. */
function met(r) {
  if (typeof r.met === 'boolean') return r.met;
  if (typeof r.target !== 'string') return undefined;
  let m = /^\s*(?:≥|>=)\s*([\d.]+)\s*[x×]?\s*$/.exec(r.target);
  if (m) return r.ratio >= Number(m[1]);
  m = /^\s*(?:≤|<=)\s*([\d.]+)/.exec(r.target);
  if (m) return r.evloop <= Number(m[1]);
  return undefined;
}

function table(sections) {
  const header = ['case', 'evloop', 'competitor', 'ratio', 'target', ''];
  const lines = [];
  const notes = [];
  for (const { name, rows, error, ms } of sections) {
    lines.push({ section: `${name}${ms ? ` (${(ms / 1000).toFixed(1)} s)` : ''}` });
    if (error) {
      notes.push(error);
      lines.push({ cells: [`ERROR: the case failed [${notes.length}]`, '', '', '', '', '✗'] });
    }
    for (const r of rows) {
      const ok = met(r);
      let label = String(r.case ?? '?');
      if (r.note && r.note !== 'info') {
        notes.push(r.note);
        label += ` [${notes.length}]`;
      }
      const ratio = Number.isFinite(r.ratio) ? `${r.ratio >= 10 ? r.ratio.toFixed(1) : r.ratio.toFixed(2)}×` : '—';
      lines.push({
        cells: [
          label,
          fmt(r.evloop, r.unit),
          fmt(r.competitor, r.unit),
          ratio,
          r.target ?? (r.note === 'info' ? 'info' : ''),
          ok === undefined ? '' : ok ? '✓' : '✗',
        ],
      });
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => l.cells).map((l) => [...l.cells[i]].length)));
  const pad = (s, w, right) => (right ? ' '.repeat(w - [...s].length) + s : s + ' '.repeat(w - [...s].length));
  const fmtLine = (cells) => cells.map((c, i) => pad(c, widths[i], i >= 1 && i <= 3)).join('  ');
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const out = [fmtLine(header), rule];
  for (const l of lines) out.push(l.section !== undefined ? `# ${l.section}` : fmtLine(l.cells));
  out.push(rule);
  notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
  return out.join('\n');
}

// ---- main ---------------------------------------------------------------------------------------------

(async () => {
  const names = discover();
  const started = Date.now();
  const load = os.loadavg()[0].toFixed(2);
  const mode = summary ? 'summary' : quick ? 'quick' : 'full';
  process.stderr.write(`evloop benchmarks (${mode}): ${names.join(', ')}\n`);
  const sections = [];
  for (const name of names) {
    process.stderr.write(`  ${name} ... `);
    const t = Date.now();
    const result = await runCase(name);
    if (!result.skipped) process.stderr.write(`${result.error ? 'FAILED' : 'done'} in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    if (result.skipped) {
      process.stderr.write('(no run() export: not a case, skipped)\n');
      continue;
    }
    let rows = result.rows ?? [];
    if (summary && rows.some((r) => r.headline)) rows = rows.filter((r) => r.headline);
    sections.push({ name, rows, error: result.error, ms: result.ms });
  }
  const all = sections.flatMap((s) => s.rows);
  const judged = all.filter((r) => met(r) !== undefined);
  const missed = judged.filter((r) => !met(r));
  const cpus = os.cpus();
  console.log(
    `\nevloop benchmark ${mode} — node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ` +
      `load average ${load} at start, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log('ratio: how many times better evloop is than the competitor (> 1: evloop better), medians of side-by-side rounds\n');
  console.log(table(sections));
  const failed = sections.filter((s) => s.error);
  console.log(
    `\ntargets met: ${judged.length - missed.length} of ${judged.length}` +
      (missed.length ? `; missed: ${missed.map((r) => r.case).join('; ')}` : '') +
      (failed.length ? `\ncases that failed: ${failed.map((s) => s.name).join(', ')}` : ''),
  );
  if (jsonOut) {
    fs.writeFileSync(jsonOut, JSON.stringify({ mode, node: process.version, load, sections }, null, 2));
  }
  // A missed target is a finding, not a failure; a case that crashed is one.
  process.exitCode = failed.length ? 1 : 0;
})();
