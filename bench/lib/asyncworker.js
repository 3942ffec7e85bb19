'use strict';
// Loads the Napi::AsyncWorker comparator addon (bench/asyncworker/), building it with node-gyp
// on first use. The build is cached in bench/asyncworker/build/ and redone when its sources
// change. Like .ci/run, it builds against the machine's Node headers (npm_config_nodedir) when
// they match this node, so no headers are downloaded.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const DIR = path.resolve(__dirname, '..', 'asyncworker');
const OUT = path.join(DIR, 'build', 'Release', 'asyncworker.node');
const SOURCES = ['asyncworker.cc', 'binding.gyp'].map((f) => path.join(DIR, f));

function upToDate() {
  try {
    const built = fs.statSync(OUT).mtimeMs;
    return SOURCES.every((f) => fs.statSync(f).mtimeMs <= built);
  } catch {
    return false;
  }
}

function nodedirEnv() {
  if (process.env.npm_config_nodedir) return {};
  try {
    const h = fs.readFileSync('/usr/include/node/node_version.h', 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((p) => new RegExp(`define NODE_${p}_VERSION (\\d+)`).exec(h)[1]).join('.');
    if (`v${v}` === process.version) return { npm_config_nodedir: '/usr' };
  } catch {}
  return {};
}

function build() {
  const gyp = require.resolve('node-gyp/bin/node-gyp.js');
  const args = [gyp, 'rebuild', '-C', DIR];
  // Two benchmark processes may ask at once: flock serializes them where it exists.
  const useFlock = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
  const cmd = useFlock ? 'flock' : process.execPath;
  const argv = useFlock ? ['/tmp/evloop-bench-asyncworker.lock', process.execPath, ...args] : args;
  if (upToDate()) return;
  const r = spawnSync(cmd, argv, { env: { ...process.env, ...nodedirEnv() }, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`building the AsyncWorker comparator (bench/asyncworker) failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
  }
}

/** The comparator addon: { noop(cb), sleep(ms, cb) }. */
function load() {
  if (!upToDate()) build();
  return require(OUT);
}

module.exports = { load, build, OUT };
