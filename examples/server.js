'use strict';
// An HTTP server that offloads hashing and compression to evloop's pool, on the host loop.
//
// libuv's shared pool (4 threads) also serves fs, dns, crypto and zlib: when it is busy, every
// readFile waits behind it. evloop's pool is its own, so this server's CPU work never queues
// behind (or in front of) Node's I/O, and /ping answers at once however busy the pool is.
//
//   node examples/server.js              serves on $PORT (default 8080)
//   node examples/server.js --self-test  starts on a free port, makes a few requests, exits
const http = require('node:http');
const crypto = require('node:crypto');
const { hostLoop, ThreadPoolExecutor, tasks } = require('..');

const pool = new ThreadPoolExecutor({ name: 'http-cpu' });
const loop = hostLoop();

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/ping') return res.end('pong\n');
  const body = await new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
  });
  if (url.pathname === '/sha256') {
    // A Future of the host loop: await it like a promise; the work runs on a pool thread.
    const digest = await loop.runInExecutor(pool, tasks.digest, 'sha256', body);
    return res.end(digest.toString('hex') + '\n');
  }
  if (url.pathname === '/gzip') {
    const gz = await loop.runInExecutor(pool, tasks.gzip, body, { level: 6 });
    res.setHeader('content-encoding', 'gzip');
    return res.end(gz);
  }
  res.statusCode = 404;
  res.end('try /ping, POST /sha256 or POST /gzip\n');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    res.statusCode = 500;
    res.end(String(error) + '\n');
  });
});

async function selfTest() {
  const { port } = server.address();
  const call = (path, body) =>
    fetch(`http://127.0.0.1:${port}${path}`, { method: body ? 'POST' : 'GET', body }).then((r) => r.text());
  // Keep libuv's pool busy with slow key derivations while we ask the server for work.
  const busy = Array.from({ length: 8 }, () => new Promise((r) => crypto.pbkdf2('pw', 'salt', 400_000, 32, 'sha512', r)));
  const started = performance.now();
  const [ping, sha] = await Promise.all([call('/ping'), call('/sha256', 'hello')]);
  const took = performance.now() - started;
  console.log(`/ping -> ${ping.trim()}; /sha256 of "hello" -> ${sha.trim()} (${took.toFixed(1)} ms, libuv's pool busy)`);
  const expected = crypto.createHash('sha256').update('hello').digest('hex');
  if (sha.trim() !== expected) throw new Error('wrong digest');
  await Promise.all(busy);
  server.close();
  await pool.shutdown();
}

const selfTesting = process.argv.includes('--self-test');
server.listen(selfTesting ? 0 : Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  if (selfTesting) {
    selfTest().catch((error) => {
      console.error(error);
      process.exitCode = 1;
      server.close();
    });
  } else {
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
  }
});
