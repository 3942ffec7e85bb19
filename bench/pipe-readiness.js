'use strict';
// Pipe readiness: small messages through a real pipe (a FIFO), read with evloop's addReader +
// fs.readSync (private loop, host loop) vs Node's own streams on the same kind of pipe
// (net.Socket on the descriptor; fs.createReadStream on the FIFO's path).
//
//   stream     a C peer (bench/floor/pipepeer.c) writes 100,000 messages of 32 bytes, one
//              write(2) each; the reader takes them all: messages/s from the go signal to the
//              last byte.
//   ping-pong  one 32-byte message at a time through a C echo peer and back: every message is
//              one readiness event on each side. µs per round trip.
//
// Each measurement runs in a fresh process; rounds alternate between the contenders, medians
// are reported. `node bench/pipe-readiness.js [--quick]` runs it alone.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { row, median, runNode, emitAndExit, log } = require('./lib/common');

const ROOT = path.resolve(__dirname, '..');
const PEER_SRC = path.join(__dirname, 'floor', 'pipepeer.c');
const PEER_BIN = path.join(__dirname, 'floor', 'build', 'pipepeer');
const SIZE = 32;
const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;

function peerBinary() {
  try {
    if (fs.statSync(PEER_BIN).mtimeMs >= fs.statSync(PEER_SRC).mtimeMs) return PEER_BIN;
  } catch {}
  fs.mkdirSync(path.dirname(PEER_BIN), { recursive: true });
  const tmp = `${PEER_BIN}.${process.pid}`;
  const r = spawnSync('cc', ['-O2', '-o', tmp, PEER_SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build ${PEER_SRC}: ${r.error?.message ?? r.stderr}`);
  fs.renameSync(tmp, PEER_BIN);
  return PEER_BIN;
}

// ---- measuring child ------------------------------------------------------------------------------

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Opens a FIFO for writing without blocking, once its reader is there (bounded). */
function openWriter(fifo) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return fs.openSync(fifo, O_WRONLY | O_NONBLOCK);
    } catch (e) {
      if (e.code !== 'ENXIO' || Date.now() > deadline) throw e;
      sleepMs(1);
    }
  }
}

const hrus = () => Number(process.hrtime.bigint()) / 1e3;

function fifo(dir, name) {
  const p = path.join(dir, name);
  spawnSync('mkfifo', [p]);
  return p;
}

/** Reads one chunk from a non-blocking descriptor: its length, 0 at EOF, -1 at EAGAIN. */
function readChunk(fd, buf) {
  try {
    return fs.readSync(fd, buf, 0, buf.length, null);
  } catch (e) {
    if (e.code === 'EAGAIN') return -1;
    throw e;
  }
}

async function streamChild(contender, count, peer) {
  const evloop = require(path.join(ROOT, 'dist', 'cjs', 'index.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-pipe-bench-'));
  try {
    const data = fifo(dir, 'data');
    const go = fifo(dir, 'go');
    const total = count * SIZE;
    const viaPath = contender === 'createReadStream';
    const rfd = viaPath ? -1 : fs.openSync(data, O_RDONLY | O_NONBLOCK);
    const child = spawn(peer, ['write', data, go, String(count), String(SIZE)], { stdio: ['ignore', 'ignore', 'inherit'] });
    const gfd = openWriter(go);
    const buf = Buffer.allocUnsafe(65536);
    let got = 0;
    let reads = 0;
    let t0 = 0;
    let t1 = 0;
    // The reading process's CPU time (user + system) over the transfer: what reading costs it.
    let cpu0 = process.cpuUsage();
    let cpu = 0;
    const stop = () => {
      t1 = hrus();
      const c = process.cpuUsage(cpu0);
      cpu = c.user + c.system;
    };
    if (contender === 'evloop-private' || contender === 'evloop-host') {
      const loop = contender === 'evloop-host' ? evloop.hostLoop() : evloop.newEventLoop();
      const done = loop.createFuture();
      loop.addReader(rfd, () => {
        const n = readChunk(rfd, buf);
        if (n < 0) return;
        reads++;
        got += n;
        if (n === 0 || got >= total) {
          stop();
          loop.removeReader(rfd);
          done.setResult();
        }
      });
      cpu0 = process.cpuUsage();
      t0 = hrus();
      fs.writeSync(gfd, 'g');
      if (contender === 'evloop-host') await done;
      else {
        loop.runUntilComplete(done);
        loop.close();
      }
    } else {
      const stream =
        contender === 'net.Socket'
          ? new (require('node:net').Socket)({ fd: rfd, readable: true, writable: false })
          : fs.createReadStream(data, { highWaterMark: 65536 });
      await new Promise((resolve, reject) => {
        stream.on('error', reject);
        stream.on('data', (chunk) => {
          reads++;
          got += chunk.length;
          if (got >= total && t1 === 0) {
            stop();
            resolve();
          }
        });
        stream.on('end', () => {
          if (t1 === 0) stop();
          resolve();
        });
        cpu0 = process.cpuUsage();
        t0 = hrus();
        fs.writeSync(gfd, 'g');
      });
      stream.destroy();
    }
    fs.closeSync(gfd);
    if (rfd >= 0 && contender !== 'net.Socket') fs.closeSync(rfd);
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    if (got !== total) throw new Error(`${contender}: got ${got} of ${total} bytes`);
    return { rate: count / ((t1 - t0) / 1e6), reads, cpuNs: (cpu * 1e3) / count };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function pingPongChild(contender, rounds, peer) {
  const evloop = require(path.join(ROOT, 'dist', 'cjs', 'index.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-pipe-bench-'));
  try {
    const toPeer = fifo(dir, 'in');
    const fromPeer = fifo(dir, 'out');
    const rfd = fs.openSync(fromPeer, O_RDONLY | O_NONBLOCK);
    const child = spawn(peer, ['echo', toPeer, fromPeer], { stdio: ['ignore', 'ignore', 'inherit'] });
    const wfd = openWriter(toPeer);
    const msg = Buffer.alloc(SIZE, 'p');
    const buf = Buffer.allocUnsafe(65536);
    const warmup = Math.min(1000, rounds / 10);
    let i = 0;
    let pending = 0;
    let t0 = 0;
    let t1 = 0;
    // Called with what arrived; sends the next message once the last one is back whole.
    const onBytes = (n, finish) => {
      pending -= n;
      if (pending > 0) return;
      i++;
      if (i === warmup) t0 = hrus();
      if (i === rounds + warmup) {
        t1 = hrus();
        finish();
        return;
      }
      pending = SIZE;
      fs.writeSync(wfd, msg);
    };
    if (contender === 'evloop-private' || contender === 'evloop-host') {
      const loop = contender === 'evloop-host' ? evloop.hostLoop() : evloop.newEventLoop();
      const done = loop.createFuture();
      loop.addReader(rfd, () => {
        const n = readChunk(rfd, buf);
        if (n > 0) onBytes(n, () => done.setResult());
        else if (n === 0) done.setException(new Error('peer closed'));
      });
      pending = SIZE;
      fs.writeSync(wfd, msg);
      if (contender === 'evloop-host') await done;
      else loop.runUntilComplete(done);
      loop.removeReader(rfd);
      if (contender === 'evloop-private') loop.close();
      fs.closeSync(rfd);
    } else {
      const socket = new (require('node:net').Socket)({ fd: rfd, readable: true, writable: false });
      await new Promise((resolve, reject) => {
        socket.on('error', reject);
        socket.on('data', (chunk) => onBytes(chunk.length, resolve));
        pending = SIZE;
        fs.writeSync(wfd, msg);
      });
      socket.destroy();
    }
    fs.closeSync(wfd);
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    return { us: (t1 - t0) / rounds };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the case -------------------------------------------------------------------------------------

const STREAM = ['evloop-private', 'evloop-host', 'net.Socket', 'createReadStream'];
const PINGPONG = ['evloop-private', 'evloop-host', 'net.Socket'];

async function run({ quick = false } = {}) {
  const peer = peerBinary();
  const reps = quick ? 1 : 5;
  const count = 100_000; // the figure, also in quick mode (it takes well under a second)
  const rounds = quick ? 2000 : 20000;
  const res = {};
  const add = (k, v) => (res[k] ??= []).push(v);
  for (let r = 0; r < reps; r++) {
    for (const c of STREAM) add(`stream ${c}`, runNode(__filename, ['--child', 'stream', c, count, peer]));
    for (const c of PINGPONG) add(`pingpong ${c}`, runNode(__filename, ['--child', 'pingpong', c, rounds, peer]));
  }
  log('pipe-readiness', JSON.stringify(res));
  const m = (k, f) => median(res[k].map((x) => x[f]));
  const label = `${count / 1000}k × ${SIZE} B`;
  return [
    row(`pipe stream ${label}: addReader (private loop) vs net.Socket`, 'msg/s', m('stream evloop-private', 'rate'), m('stream net.Socket', 'rate'), {
      atLeast: 1,
      headline: true,
    }),
    row(`pipe stream ${label}: addReader (host loop) vs net.Socket`, 'msg/s', m('stream evloop-host', 'rate'), m('stream net.Socket', 'rate'), { atLeast: 1 }),
    row(`pipe stream ${label}: addReader (private loop) vs fs.createReadStream`, 'msg/s', m('stream evloop-private', 'rate'), m('stream createReadStream', 'rate'), {
      atLeast: 1,
    }),
    row(`pipe stream ${label}: reader CPU per message, addReader (private loop) vs net.Socket`, 'ns', m('stream evloop-private', 'cpuNs'), m('stream net.Socket', 'cpuNs'), {
      note: 'info',
    }),
    row(`pipe stream ${label}: reader CPU per message, addReader (host loop) vs net.Socket`, 'ns', m('stream evloop-host', 'cpuNs'), m('stream net.Socket', 'cpuNs'), {
      note: 'info',
    }),
    row(`pipe ping-pong ${SIZE} B round trip: addReader (private loop) vs net.Socket`, 'µs', m('pingpong evloop-private', 'us'), m('pingpong net.Socket', 'us'), {
      atLeast: 1,
    }),
    row(`pipe ping-pong ${SIZE} B round trip: addReader (host loop) vs net.Socket`, 'µs', m('pingpong evloop-host', 'us'), m('pingpong net.Socket', 'us'), { atLeast: 1 }),
  ];
}

module.exports = { run };

if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i > 0) {
    const [kind, contender, n, peer] = process.argv.slice(i + 1);
    const f = kind === 'stream' ? streamChild : pingPongChild;
    emitAndExit(f(contender, Number(n), peer));
  } else {
    run({ quick: process.argv.includes('--quick') }).then((rows) => console.table(rows));
  }
}
