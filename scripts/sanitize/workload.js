// A representative evloop workload for the memory checkers (valgrind memcheck, and Node under
// ASan): private loops and the host loop, timers (half cancelled), callbacks, descriptors,
// signals, cross-thread posts from a worker, native and JavaScript pool work with cancellation
// and shutdown, run(), and loops dropped without close(). Small counts: under valgrind every
// thread runs serialized and about 50 times slower. Prints one line per part and "workload ok".
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const evloop = require(path.join(__dirname, '..', '..', 'dist', 'cjs', 'index.js'));

const scale = Number(process.env.EVLOOP_WORKLOAD_SCALE || 1);
const assert = (cond, what) => {
  if (!cond) throw new Error(`workload: ${what}`);
};

// Each part gets a fresh private loop, set as the thread's loop (so sleep() and friends use it).
function part(name, fn) {
  const start = Date.now();
  const loop = evloop.newEventLoop();
  evloop.setEventLoop(loop);
  try {
    fn(loop);
  } finally {
    evloop.setEventLoop(null);
    loop.close();
  }
  console.log(`${name}: ok (${Date.now() - start} ms)`);
}

function bound(loop, ms = 60000) {
  return loop.callLater(ms, () => {
    throw new Error('workload: a run did not finish in time');
  });
}

part('callbacks and timers', (loop) => {
  let calls = 0;
  let fired = 0;
  for (let i = 0; i < 1000 * scale; i++) loop.callSoon(() => calls++);
  const timers = [];
  for (let i = 0; i < 200 * scale; i++) timers.push(loop.callLater((i % 20) / 4, () => fired++));
  for (let i = 0; i < timers.length; i += 2) timers[i].cancel();
  const guard = bound(loop);
  loop.runUntilComplete(evloop.sleep(10));
  guard.cancel();
  assert(calls === 1000 * scale, `callbacks ${calls}`);
  assert(fired === 100 * scale, `timers ${fired}`);
});

part('generator tasks, gather, waitFor, shield', (loop) => {
  const result = loop.runUntilComplete(
    (function* () {
      const a = loop.createTask((function* () { yield evloop.sleep(2); return 1; })());
      const b = evloop.shield(evloop.sleep(1, 2));
      const slow = evloop.sleep(10000);
      let timedOut = false;
      try {
        yield evloop.waitFor(slow, 5);
      } catch (e) {
        timedOut = e.code === 'ERR_TIMEOUT';
      }
      const [x, y] = yield evloop.gather([a, b]);
      return x + y + (timedOut ? 10 : 0);
    })(),
  );
  assert(result === 13, `tasks ${result}`);
});

part('descriptors and signals', (loop) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-workload-'));
  const fifo = path.join(dir, 'fifo');
  require('node:child_process').execFileSync('mkfifo', [fifo]);
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  fs.rmSync(dir, { recursive: true, force: true });
  let writes = 0;
  let reads = 0;
  let signals = 0;
  loop.addWriter(fd, () => {
    fs.writeSync(fd, 'x');
    if (++writes === 5) loop.removeWriter(fd);
  });
  loop.addReader(fd, () => {
    const buf = Buffer.alloc(16);
    reads += fs.readSync(fd, buf);
    if (reads === 5) {
      loop.removeReader(fd);
      process.kill(process.pid, 'SIGUSR2');
    }
  });
  loop.addSignalHandler('SIGUSR2', () => {
    signals++;
    loop.removeSignalHandler('SIGUSR2');
    loop.stop();
  });
  const guard = bound(loop);
  loop.runForever();
  guard.cancel();
  assert(writes === 5 && reads === 5 && signals === 1, `fd ${writes}/${reads}/${signals}`);
  fs.closeSync(fd);
});

part('native pool work', (loop) => {
  const executor = new evloop.ThreadPoolExecutor({ maxWorkers: 3, name: 'vgpool' });
  const file = path.join(os.tmpdir(), `evloop-workload-${process.pid}.bin`);
  const data = Buffer.alloc(4096 * scale, 7);
  const futures = [
    loop.runInExecutor(executor, evloop.tasks.writeFile, file, data),
    loop.runInExecutor(executor, evloop.tasks.digest, 'sha256', data),
    loop.runInExecutor(executor, evloop.tasks.gzip, data),
    loop.runInExecutor(executor, evloop.tasks.lookup, 'localhost'),
    loop.runInExecutor(executor, evloop.tasks.readFile, '/nonexistent/evloop'),
  ];
  for (let i = 0; i < 20 * scale; i++) futures.push(loop.runInExecutor(executor, evloop.tasks.sleep, 1));
  const queued = [];
  for (let i = 0; i < 10; i++) queued.push(loop.runInExecutor(executor, evloop.tasks.sleep, 50));
  for (const f of queued.slice(5)) f.cancel();
  const guard = bound(loop);
  const results = loop.runUntilComplete(evloop.gather(futures, { returnExceptions: true }));
  const zipped = results[2];
  const back = loop.runUntilComplete(loop.runInExecutor(executor, evloop.tasks.gunzip, zipped));
  assert(Buffer.compare(back, data) === 0, 'gunzip');
  assert(results[4] instanceof Error && results[4].code === 'ENOENT', 'ENOENT');
  const read = loop.runUntilComplete(loop.runInExecutor(executor, evloop.tasks.readFile, file));
  assert(read.length === data.length, 'readFile');
  const done = executor.shutdown({ wait: false, cancelFutures: true });
  loop.runUntilComplete(evloop.gather(queued, { returnExceptions: true }));
  guard.cancel();
  void done;
  fs.rmSync(file, { force: true });
});

part('JavaScript pool work', (loop) => {
  const executor = new evloop.ThreadPoolExecutor({ maxWorkers: 1, name: 'vgjs', idleTimeout: 10 });
  const futures = [];
  for (let i = 0; i < 10 * scale; i++) futures.push(loop.runInExecutor(executor, (x) => x * 2, i));
  futures.push(loop.runInExecutor(executor, () => { throw new TypeError('thrown on the pool'); }));
  futures.push(loop.runInExecutor(executor, async (x) => x + 1, 1));
  const guard = bound(loop, 120000);
  const results = loop.runUntilComplete(evloop.gather(futures, { returnExceptions: true }));
  guard.cancel();
  assert(results[3] === 6, `js ${results[3]}`);
  assert(results[10 * scale] instanceof TypeError, 'thrown');
  executor.shutdown({ wait: false });
});

part('run() and loops dropped without close()', () => {
  evloop.setEventLoop(null);
  const value = evloop.run(function* () {
    const loop = evloop.getRunningLoop();
    loop.callLater(600000, () => {});
    loop.createTask((function* () { yield evloop.sleep(600000); })());
    return yield evloop.sleep(1, 'ran');
  }());
  assert(value === 'ran', 'run');
  for (let i = 0; i < 20; i++) {
    const loop = evloop.newEventLoop();
    loop.callLater(600000, () => {});
    loop.addSignalHandler('SIGWINCH', () => {});
    evloop.post(loop.share(), { i });
  }
  if (typeof gc === 'function') gc();
});

async function asyncParts() {
  // The host loop: Node's own loop, through the same interface.
  const host = evloop.hostLoop();
  let soon = 0;
  await new Promise((resolve) => {
    for (let i = 0; i < 100; i++) host.callSoon(() => soon++);
    host.callLater(2, resolve);
  });
  const doubled = await host.runInExecutor(null, (x) => x * 2, 21);
  const digest = await host.runInExecutor(null, evloop.tasks.digest, 'md5', 'abc');
  assert(soon === 100 && doubled === 42 && digest.length === 16, 'host loop');
  console.log('host loop: ok');

  // A worker with its own loop, posting to one of ours and receiving posts.
  const loop = evloop.newEventLoop();
  const got = [];
  loop.onMessage((value) => {
    got.push(value);
    if (got.length === 20) loop.stop();
  });
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads');
    const evloop = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'cjs', 'index.js'))});
    const loop = evloop.newEventLoop();
    let n = 0;
    loop.onMessage(() => { if (++n === 5) loop.stop(); });
    parentPort.postMessage(loop.share());
    for (let i = 0; i < 20; i++) evloop.post(workerData.ref, { from: 'worker', i });
    loop.callLater(60000, () => loop.stop());
    loop.runForever();
    loop.close();
    parentPort.postMessage(n);
    `,
    { eval: true, workerData: { ref: loop.share() } },
  );
  const messages = [];
  worker.on('message', (m) => messages.push(m));
  await new Promise((resolve) => worker.once('message', resolve));
  for (let i = 0; i < 5; i++) evloop.post(messages[0], i);
  const guard = bound(loop);
  loop.runForever();
  guard.cancel();
  await new Promise((resolve) => worker.on('exit', resolve));
  assert(got.length === 20 && messages[1] === 5, `posts ${got.length} ${messages[1]}`);
  loop.close();
  console.log('worker posts: ok');
}

asyncParts().then(
  () => console.log('workload ok'),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
