'use strict';
// A command-line script that needs results now: run() is a synchronous bridge over async work.
// It hashes files on evloop's pool (all at once, in parallel) and prints them in order.
//
//   node examples/cli-digest.js FILE...
const { run, getRunningLoop, gather, tasks } = require('..');

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node examples/cli-digest.js FILE...');
  process.exit(2);
}

// A generator coroutine: the loop steps it, so this works in any context (ES modules too).
const digests = run(function* () {
  const loop = getRunningLoop();
  const contents = yield gather(files.map((file) => loop.runInExecutor(null, tasks.readFile, file)));
  return yield gather(contents.map((data) => loop.runInExecutor(null, tasks.digest, 'sha256', data)));
});

files.forEach((file, i) => console.log(`${digests[i].toString('hex')}  ${file}`));
