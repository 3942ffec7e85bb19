'use strict';
// Runs one benchmark case file in this fresh process: node case-child.js <file> <options-json>.
// The rows go to the file named by BENCH_OUT (stdout stays the case's own).
const fs = require('node:fs');

const [file, json] = process.argv.slice(2);
(async () => {
  const started = Date.now();
  const mod = require(file);
  if (typeof mod.run !== 'function') {
    // Not a case file (a helper someone put in bench/): nothing to report.
    fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify({ rows: [], skipped: true, ms: 0 }));
    process.exit(0);
  }
  const rows = await mod.run(JSON.parse(json || '{}'));
  if (!Array.isArray(rows)) throw new Error(`${file}: run() did not return an array of rows`);
  fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify({ rows, ms: Date.now() - started }));
  // Handles a case left open (a pool, a worker) must not keep the runner waiting.
  process.exit(0);
})().catch((error) => {
  console.error(error?.stack ?? error);
  process.exit(1);
});
