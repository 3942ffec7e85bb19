'use strict';
// Cold start, each in a fresh process: from `require('evloop')` to the first native result
// (tasks.sleep(0) on the default pool) and to the first JavaScript-function result, on a private
// loop and on the host loop, vs piscina (require to its first result) and, for the native task,
// the Napi::AsyncWorker comparator addon (require to its first result).
const path = require('node:path');
const { row, median, hrms, emit, runNode, log } = require('./lib/common');

const TASKS_FILE = path.join(__dirname, 'lib', 'pool-js-tasks.js');
const MODES = ['native', 'native-host', 'js', 'js-host', 'piscina', 'asyncworker'];

async function child(mode) {
  const t0 = hrms();
  if (mode === 'piscina') {
    const { Piscina } = require('piscina');
    const tRequire = hrms();
    const p = new Piscina({ filename: TASKS_FILE });
    await p.run(0, { name: 'noop' });
    const t1 = hrms();
    emit({ require: tRequire - t0, first: t1 - t0 });
    await p.destroy();
    return;
  }
  if (mode === 'asyncworker') {
    const aw = require(require('./lib/asyncworker').OUT);
    const tRequire = hrms();
    aw.noop(() => emit({ require: tRequire - t0, first: hrms() - t0 }));
    return;
  }
  const ev = require('..');
  const tRequire = hrms();
  const fn = mode.startsWith('native') ? ev.tasks.sleep : () => 1;
  const arg = mode.startsWith('native') ? 0 : undefined;
  if (mode.endsWith('-host')) {
    await ev.hostLoop().runInExecutor(null, fn, arg);
  } else {
    const loop = ev.newEventLoop();
    loop.runUntilComplete(loop.runInExecutor(null, fn, arg));
    loop.close();
  }
  emit({ require: tRequire - t0, first: hrms() - t0 });
}

async function run({ quick = false, summary = false } = {}) {
  require('./lib/asyncworker').load(); // built beforehand: its build is not part of its cold start
  const reps = quick || summary ? 2 : 9;
  const modes = summary ? ['native', 'js', 'piscina', 'asyncworker'] : MODES;
  const res = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let r = 0; r < reps; r++) {
    for (const mode of r % 2 ? [...modes].reverse() : modes) res[mode].push(runNode(__filename, ['--child', mode]));
  }
  log('cold-start', JSON.stringify(res));
  const first = (m) => median(res[m].map((x) => x.first));
  const req = (m) => median(res[m].map((x) => x.require));
  const after = (m) => median(res[m].map((x) => x.first - x.require));
  return [
    row('cold start, require → first native result: private loop', 'ms', first('native'), first('asyncworker'), {
      atMost: 2,
      headline: true,
      note: 'competitor: AsyncWorker addon',
    }),
    row('cold start, require → first native result: host loop', 'ms', first('native-host'), first('asyncworker'), {
      atMost: 2,
      note: 'competitor: AsyncWorker addon',
    }),
    row('cold start, require → first JS result: private loop vs piscina', 'ms', first('js'), first('piscina'), { atLeast: 1, headline: true }),
    row('cold start, require → first JS result: host loop vs piscina', 'ms', first('js-host'), first('piscina'), { atLeast: 1 }),
    row("cold start, require('evloop') alone vs require('piscina')", 'ms', req('native'), req('piscina'), { note: 'info' }),
    row('cold start, after require → first native result: private loop vs AsyncWorker', 'ms', after('native'), after('asyncworker'), { note: 'info' }),
    row('cold start, after require → first JS result: private loop vs piscina', 'ms', after('js'), after('piscina'), { note: 'info' }),
  ];
}

module.exports = { run };
if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i > 0) child(process.argv[i + 1]);
  else run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
}
