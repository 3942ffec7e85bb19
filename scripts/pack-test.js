// The smoke run of an installed evloop, used by scripts/pack-test.sh, scripts/node-versions.sh
// and the CI workflow. Run it with the folder where evloop is installed as the working directory:
//
//   cd <dir with node_modules/evloop> && node /path/to/pack-test.js [--expect prebuild|build]
//   cd <the package's own folder> && node /path/to/pack-test.js --self [--expect ...]
//
// It checks that `require` and `import` give the very same objects, that the addon was loaded
// from where it should be (a prebuild, or a build/ made from source), then runs a native task
// (tasks.digest) and a JavaScript task on a pool, from a blocking private-loop run and from the
// host loop. It prints one line "smoke ok: ..." and exits 0, or exits 1 with the reason.
'use strict';
const { createRequire } = require('node:module');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const TIMEOUT_MS = Number(process.env.SMOKE_TIMEOUT_MS || 120000); // generous: qemu is slow
const watchdog = setTimeout(() => fail(`no result within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
watchdog.unref();

function fail(why) {
  console.error(`smoke FAILED (node ${process.version} ${process.arch}): ${why}`);
  process.exit(1);
}
function check(ok, why) {
  if (!ok) fail(why);
}

const expect = (() => {
  const i = process.argv.indexOf('--expect');
  return i > 0 ? process.argv[i + 1] : undefined;
})();
const cwdRequire = createRequire(path.join(process.cwd(), 'smoke.js'));

// The names api.md promises, values only (the types are checked by test/package.test.ts).
const EXPORTS = [
  'newEventLoop', 'getEventLoop', 'setEventLoop', 'getRunningLoop', 'hostLoop', 'run', 'post',
  'sleep', 'gather', 'waitFor', 'shield', 'moduleTask', 'tasks', 'EventLoop', 'Handle',
  'TimerHandle', 'Future', 'Task', 'ThreadPoolExecutor', 'EvloopError', 'InvalidStateError',
  'CancelledError', 'TimeoutError',
];

let entry;
try {
  entry = cwdRequire.resolve('evloop');
} catch (e) {
  fail(`evloop is not installed under ${process.cwd()}: ${e.message}`);
}
const pkgRoot = path.resolve(path.dirname(entry), '..', '..');
if (process.argv.includes('--self')) {
  check(pkgRoot === process.cwd(), `resolved ${entry}, not the package in ${process.cwd()}`);
} else {
  check(path.basename(pkgRoot) === 'evloop' && pkgRoot.includes(`${path.sep}node_modules${path.sep}`),
    `resolved ${entry}, not an installed package`);
}

// Where node-gyp-build finds the addon for this process: a prebuild, or build/ from source.
const nodeGypBuild = createRequire(path.join(pkgRoot, 'package.json'))('node-gyp-build');
const addonPath = path.relative(pkgRoot, nodeGypBuild.path(pkgRoot));
const from = addonPath.startsWith(`prebuilds${path.sep}`) ? 'prebuild' : 'build';
check(!expect || expect === from, `expected the addon from a ${expect}, got ${addonPath}`);

// 1. CommonJS: a blocking run on a private loop, stepping a generator coroutine.
const ev = cwdRequire('evloop');
for (const name of EXPORTS) check(name in ev, `require('evloop') lacks ${name}`);

const data = crypto.randomBytes(64 * 1024);
const want = crypto.createHash('sha256').update(data).digest('hex');
const pool = new ev.ThreadPoolExecutor({ maxWorkers: 2, name: 'smoke' });
const sync = ev.run(function* () {
  const digest = yield pool.submit(ev.tasks.digest, 'sha256', data);
  const js = yield pool.submit((a, b) => [a * b, require('node:worker_threads').threadId], 6, 7);
  return { digest: Buffer.from(digest).toString('hex'), js };
});
check(sync.digest === want, `tasks.digest on the pool gave ${sync.digest}, node:crypto ${want}`);
check(sync.js[0] === 42, `the JS task returned ${JSON.stringify(sync.js)}`);
check(sync.js[1] !== 0, 'the JS task ran on the main thread, not a pool thread');

(async () => {
  // 2. ESM: import() gives the very same objects as require().
  const esm = await import(pathToFileURL(cwdRequire.resolve('evloop')).href.replace(/cjs\/index\.js$/, 'esm/index.mjs'));
  for (const name of EXPORTS) check(esm[name] === ev[name], `import and require give different ${name}`);

  // 3. The host loop, from ordinary async code: the same pool, awaited without blocking.
  const [d2, n] = await Promise.all([
    pool.submit(ev.tasks.digest, 'md5', 'abc'),
    pool.submit(async (x) => x + 1, 41),
  ]);
  check(Buffer.from(d2).toString('hex') === '900150983cd24fb0d6963f7d28e17f72', 'md5 on the host loop');
  check(n === 42, `the async JS task returned ${n}`);
  await pool.shutdown();

  // 4. A real ES module, by package name (static import at its top level; a generator run works
  //    there, being free of microtasks).
  // Under qemu (no binfmt registration needed) the child runs through the same emulator.
  const wrapper = (process.env.SMOKE_EXEC_WRAPPER || '').split(' ').filter(Boolean);
  const esmOut = execFileSync(wrapper[0] || process.execPath, [...wrapper.slice(1), ...(wrapper.length ? [process.execPath] : []), '--input-type=module', '-e', `
    import * as ev from 'evloop';
    import { createRequire } from 'node:module';
    const cjs = createRequire(process.cwd() + '/x.js')('evloop');
    const same = Object.keys(cjs).every((k) => ev[k] === cjs[k]) && Object.keys(cjs).length === Object.keys(ev).length - (ev.default ? 1 : 0);
    const d = ev.run(function* () { return yield ev.getEventLoop().runInExecutor(null, ev.tasks.digest, 'sha1', 'abc'); });
    console.log(same, Buffer.from(d).toString('hex'));
  `], { cwd: process.cwd(), encoding: 'utf8', timeout: TIMEOUT_MS });
  check(esmOut.trim() === 'true a9993e364706816aba3e25717850c26c9cd0d89d', `the ES module run printed ${esmOut.trim()}`);

  console.log(`smoke ok: node ${process.version} ${process.platform}-${process.arch}, addon ${addonPath}`);
})().catch((e) => fail(e && e.stack ? e.stack : String(e)));
