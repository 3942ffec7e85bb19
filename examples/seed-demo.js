'use strict';
// The seed's two programs, with evloop: how an event loop uses a thread pool.
//
//   (a) Two tasks handed to one pool run at the same time on two different pool threads: their
//       output interleaves.
//   (b) Five threads, each with its own new event loop, hand a 1-second blocking task to one
//       shared pool. All five sleep at once, so the whole run takes about one second, and each
//       thread gets its own result back.
//
// Run it with `node examples/seed-demo.js` (or `npm start`).
const { Worker, isMainThread, parentPort, workerData, threadId } = require('node:worker_threads');
const { ThreadPoolExecutor, newEventLoop, getRunningLoop, gather, run } = require('..');

// ---- (a) two tasks, one pool, two threads ----------------------------------------------------------

// A function run on a pool thread must be self-contained: it may require(), but it cannot use
// the variables around it (it is sent to the pool thread as source).
function chatty(name) {
  const { threadId } = require('node:worker_threads');
  for (let step = 1; step <= 3; step++) {
    console.log(`  task ${name}: step ${step} of 3, on pool thread ${threadId}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300); // sleep 300 ms
  }
  return `${name} done`;
}

function twoTasksOnOnePool() {
  console.log(`(a) two tasks on one pool (the main thread is thread ${threadId})`);
  const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  // run() is asyncio.run: a fresh loop runs main to completion, blocking this thread meanwhile.
  const results = run(async () => {
    const loop = getRunningLoop();
    return gather([loop.runInExecutor(pool, chatty, 'A'), loop.runInExecutor(pool, chatty, 'B')]);
  });
  console.log('  results:', results);
  return pool.shutdown();
}

// ---- (b) five threads, five loops, one shared pool -----------------------------------------------

// The seed's task: a blocking 1-second sleep on a pool thread.
function worker(index) {
  console.log(index, 'before:', Date.now() / 1000);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); // a blocking 1 s sleep
  console.log(index, 'after:', Date.now() / 1000);
  return index;
}

// What each of the five worker threads runs: its own new loop, blocking this thread until the
// result is back. The pool arrives as workerData and is the same pool in every thread.
function fiveLoopsThread() {
  const { pool, index } = workerData;
  const loop = newEventLoop();
  const rv = loop.runUntilComplete(loop.runInExecutor(ThreadPoolExecutor.fromShared(pool), worker, index));
  console.log('Thread', index, 'got result', rv);
  loop.close();
  parentPort.postMessage(rv); // tells the main thread when (for the total time)
}

async function fiveLoopsOneSharedPool() {
  console.log('\n(b) five threads, each with its own loop, one shared pool');
  const pool = new ThreadPoolExecutor();
  const start = performance.now();
  const results = [];
  const exits = [];
  for (let index = 0; index < 5; index++) {
    const thread = new Worker(__filename, { workerData: { pool: pool.share(), index } });
    results.push(new Promise((resolve, reject) => thread.once('message', resolve).once('error', reject)));
    exits.push(new Promise((resolve) => thread.once('exit', resolve)));
  }
  await Promise.all(results);
  const seconds = (performance.now() - start) / 1000;
  console.log(`total wall time: ${seconds.toFixed(3)} s from starting the threads to the last result (five 1-second sleeps at once)`);
  await Promise.all(exits);
  await pool.shutdown();
}

if (isMainThread) {
  // Each part blocks in a loop, so each starts from a fresh macrotask (never inside a microtask).
  const shutdown = twoTasksOnOnePool();
  shutdown
    .then(() => new Promise((resolve) => setImmediate(resolve)))
    .then(fiveLoopsOneSharedPool)
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    });
} else {
  fiveLoopsThread();
}
