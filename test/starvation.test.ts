// The evloop pool is not libuv's pool (api.md, Executors): saturated with blocking tasks.sleep,
// fs.promises.readFile, crypto.pbkdf2, zlib and dns still complete before any of the sleeps does
// (ordering, not timing); and a saturated libuv pool does not hold evloop's native tasks back.
import * as crypto from 'node:crypto';
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { BOUND_MS, entry, evloop, runChild } from './harness';
import type { Future } from '../dist/cjs/index.js';
import { pollUntil, pool, shutdownAll } from './fixtures/pool-helpers';

const { tasks } = evloop;
const SLEEP_MS = 3000;
const pbkdf2 = promisify(crypto.pbkdf2);
const gzip = promisify(zlib.gzip);

afterEach(() => {
  shutdownAll();
});

/** Node's own pool-backed calls: each records whether every sleep was still pending when it finished. */
async function libuvWork(sleepsPending: () => boolean): Promise<Record<string, boolean>> {
  const seen: Record<string, boolean> = {};
  const mark = (name: string) => (seen[name] = sleepsPending());
  const file = path.join(__dirname, 'fixtures', 'pool-module.mjs');
  await Promise.all([
    fs.promises.readFile(file).then((b) => {
      expect(b.length).toBeGreaterThan(0);
      mark('fs.promises.readFile');
    }),
    pbkdf2('secret', 'salt', 1000, 32, 'sha256').then((key) => {
      expect(key.length).toBe(32);
      mark('crypto.pbkdf2');
    }),
    Promise.all(Array.from({ length: 8 }, (_, i) => fs.promises.stat(file).then(() => i))).then(() => mark('8 × fs.promises.stat')),
    gzip('data').then(() => mark('zlib.gzip')),
    dns.promises.lookup('localhost').then(() => mark('dns.lookup')),
    promisify(crypto.randomFill)(Buffer.alloc(16)).then(() => mark('crypto.randomFill')),
  ]);
  return seen;
}

const ALL_BEFORE = {
  'fs.promises.readFile': true,
  'crypto.pbkdf2': true,
  '8 × fs.promises.stat': true,
  'zlib.gzip': true,
  'dns.lookup': true,
  'crypto.randomFill': true,
};

describe('a saturated evloop pool does not starve libuv’s pool', () => {
  it('host loop: fs, crypto, zlib and dns complete while every pool thread sleeps', async () => {
    // More sleeping threads than libuv has (UV_THREADPOOL_SIZE defaults to 4), and more queued.
    const ex = pool({ maxWorkers: 8 });
    const sleeps: Future<void>[] = Array.from({ length: 12 }, () => ex.submit<void>(tasks.sleep, SLEEP_MS));
    expect(ex.stats()).toMatchObject({ running: 8, queued: 4 });
    const seen = await libuvWork(() => sleeps.every((f) => !f.done()) && ex.stats().running === 8);
    expect(seen).toEqual(ALL_BEFORE);
    expect(sleeps.some((f) => f.done())).toBe(false);
  });

  it('host loop: JS pool threads blocked in their tasks starve nothing either', async () => {
    const ex = pool({ maxWorkers: 4 });
    const block = (ms: number) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      return ms;
    };
    const sleeps: Future<number>[] = Array.from({ length: 4 }, () => ex.submit<number>(block, SLEEP_MS));
    await pollUntil(() => ex.stats().running === 4, 'the JS threads to be busy');
    const seen = await libuvWork(() => sleeps.every((f) => !f.done()));
    expect(seen).toEqual(ALL_BEFORE);
  });

  it('the default pool saturated through runInExecutor(null) starves nothing either', async () => {
    const host = evloop.hostLoop();
    const n = Math.min(32, require('node:os').availableParallelism() + 4);
    const sleeps: Future<void>[] = Array.from({ length: n + 2 }, () => host.runInExecutor<void>(null, tasks.sleep, SLEEP_MS));
    const seen = await libuvWork(() => sleeps.every((f) => !f.done()));
    expect(seen).toEqual(ALL_BEFORE);
    for (const f of sleeps) f.cancel();
  });

  it('private loop in a worker, blocked on a saturated shared pool: the main thread’s fs and crypto go on', async () => {
    const ex = pool({ maxWorkers: 6 });
    const worker = new Worker(
      `
      const { workerData, parentPort } = require('node:worker_threads');
      const evloop = require(workerData.entry);
      const ex = evloop.ThreadPoolExecutor.fromShared(workerData.pool);
      const loop = evloop.newEventLoop();
      const sleeps = [];
      for (let i = 0; i < 8; i++) sleeps.push(loop.runInExecutor(ex, evloop.tasks.sleep, workerData.ms));
      parentPort.postMessage('blocking');
      loop.runUntilComplete(evloop.gather(sleeps));
      parentPort.postMessage('sleeps done');
    `,
      { eval: true, workerData: { entry, pool: ex.share(), ms: SLEEP_MS } },
    );
    const messages: string[] = [];
    let failed: unknown;
    worker.on('message', (m) => messages.push(m));
    worker.on('error', (e) => (failed = e));
    try {
      await pollUntil(() => messages.includes('blocking') || failed !== undefined, 'the worker to block');
      await pollUntil(() => ex.stats().running === 6, 'the pool to be saturated');
      const seen = await libuvWork(() => !messages.includes('sleeps done') && ex.stats().running === 6);
      expect(seen).toEqual(ALL_BEFORE);
      expect(failed).toBeUndefined();
    } finally {
      await worker.terminate();
    }
  });

  it('with libuv’s pool cut to one thread (UV_THREADPOOL_SIZE=1), on the host loop', () => {
    const r = runChild(
      `
      const fs = require('node:fs'), crypto = require('node:crypto'), zlib = require('node:zlib');
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 16 });
      const sleeps = Array.from({ length: 16 }, () => ex.submit(evloop.tasks.sleep, ${SLEEP_MS}));
      const order = [];
      sleeps.forEach((f) => f.addDoneCallback(() => order.push('sleep')));
      const done = (name) => () => order.push(name);
      fs.promises.readFile(${JSON.stringify(entry)}).then(done('readFile'));
      crypto.pbkdf2('secret', 'salt', 1000, 32, 'sha256', done('pbkdf2'));
      zlib.gzip('x', done('gzip'));
      process.on('exit', () => console.log(order.join(',')));
    `,
      { env: { UV_THREADPOOL_SIZE: '1' }, timeoutMs: BOUND_MS },
    );
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    const order = r.stdout.trim().split(',');
    expect(order).toHaveLength(19);
    expect(order.slice(0, 3).sort()).toEqual(['gzip', 'pbkdf2', 'readFile']);
    expect(order.slice(3)).toEqual(Array(16).fill('sleep'));
  });
});

describe('a saturated libuv pool does not starve the evloop pool', () => {
  it('native tasks finish before long pbkdf2 calls that fill libuv’s pool (UV_THREADPOOL_SIZE=1)', () => {
    const r = runChild(
      `
      const crypto = require('node:crypto');
      const order = [];
      // Each call keeps libuv's only thread busy for a while; they queue behind each other.
      for (let i = 0; i < 3; i++) crypto.pbkdf2('secret', 'salt', 300000, 64, 'sha512', () => order.push('pbkdf2'));
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2 });
      const d = ex.submit(evloop.tasks.digest, 'sha256', 'x');
      const g = ex.submit(evloop.tasks.gzip, 'x');
      const r = ex.submit(evloop.tasks.readFile, ${JSON.stringify(entry)});
      for (const f of [d, g, r]) f.addDoneCallback(() => order.push('evloop'));
      process.on('exit', () => console.log(order.join(',')));
    `,
      { env: { UV_THREADPOOL_SIZE: '1' }, timeoutMs: BOUND_MS },
    );
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('evloop,evloop,evloop,pbkdf2,pbkdf2,pbkdf2');
  });
});
