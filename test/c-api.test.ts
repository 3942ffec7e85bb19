// The C API for other addons (native/include/evloop.h), through a real addon (test/addon/, plain
// C, pthreads) that does not link against evloop: it gets the function table from nativeApi()
// and posts to loops from its own threads. Built once with node-gyp, cached in test/addon/build.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOUND_MS, LOOP_KINDS, entry, evloop, root, runChild, type LoopKind } from './harness';
import type { EventLoop, LoopRef } from '../dist/cjs/index.js';

const ADDON_DIR = path.join(root, 'test', 'addon');
const ADDON = path.join(ADDON_DIR, 'build', 'Release', 'evloop_test_addon.node');
const SOURCES = [
  path.join(ADDON_DIR, 'evloop_test_addon.c'),
  path.join(ADDON_DIR, 'binding.gyp'),
  path.join(root, 'native', 'include', 'evloop.h'),
];
const nativeApiModule = path.join(root, 'dist', 'cjs', 'native-api.js');

const EVLOOP_OK = 0;
const EVLOOP_ECLOSED = -1;
const EVLOOP_EINVAL = -2;

interface TestAddon {
  init(api: object): number;
  start(
    ref: LoopRef,
    options: {
      count?: number;
      prefix?: string;
      serialized?: Buffer;
      onDone?: (posted: number, lastError: number) => void;
      waitRelease?: boolean;
    },
  ): number;
  release(id: number): void;
  join(id: number): { posted: number; lastError: number; callResult: number };
  post(ref: LoopRef, bytes: Buffer): number;
  call(ref: LoopRef, fn: (arg: number) => void, arg: number): number;
  callThrow(ref: LoopRef, message: string): number;
  badArgs(ref: LoopRef): [number, number];
  dropped(): number;
}

function upToDate(): boolean {
  try {
    const built = fs.statSync(ADDON).mtimeMs;
    return SOURCES.every((f) => fs.statSync(f).mtimeMs <= built);
  } catch {
    return false;
  }
}

/** npm_config_nodedir from the environment, else /usr when its headers are this node's. */
function nodedirEnv(): Record<string, string> {
  if (process.env.npm_config_nodedir) return {};
  try {
    const h = fs.readFileSync('/usr/include/node/node_version.h', 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((p) => new RegExp(`define NODE_${p}_VERSION (\\d+)`).exec(h)![1]).join('.');
    if (`v${v}` === process.version) return { npm_config_nodedir: '/usr' };
  } catch {
    // no system headers: node-gyp finds its own
  }
  return {};
}

function buildAddon(): void {
  if (upToDate()) return;
  const gyp = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  // Under a lock: two test processes may want it at once. -j 1: one C file, a 2-core machine.
  const script = `[ -f ${JSON.stringify(ADDON)} ] && node -e "process.exit(${JSON.stringify(SOURCES)}.every(f => require('fs').statSync(f).mtimeMs <= require('fs').statSync(${JSON.stringify(ADDON)}).mtimeMs) ? 0 : 1)" || ${JSON.stringify(process.execPath)} ${JSON.stringify(gyp)} rebuild -C ${JSON.stringify(ADDON_DIR)}`;
  const r = spawnSync('flock', ['/tmp/evloop-test-addon.lock', 'bash', '-c', script], {
    env: { ...process.env, ...nodedirEnv() },
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`building test/addon failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
}

let addon: TestAddon;
let nativeApi: () => object;
let include: string;

beforeAll(() => {
  buildAddon();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ({ nativeApi, include } = require(nativeApiModule));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon = require(ADDON);
  expect(addon.init(nativeApi())).toBe(1);
}, 200_000);

/** Collects `n` messages on `loop` while `start` runs, driving it the way `kind` does. */
async function collect(kind: LoopKind, loop: EventLoop, n: number, start: () => void): Promise<unknown[]> {
  const values: unknown[] = [];
  const done = loop.createFuture<unknown[]>();
  loop.onMessage((v) => {
    values.push(v);
    if (values.length === n) done.setResult(values);
  });
  start();
  try {
    return await kind.drive(loop, done);
  } finally {
    loop.onMessage(null);
  }
}

describe('the C API surface', () => {
  it('include is the absolute directory of evloop.h; the index exports it too once wired', () => {
    expect(path.isAbsolute(include)).toBe(true);
    expect(fs.existsSync(path.join(include, 'evloop.h'))).toBe(true);
    const index = evloop as unknown as { include?: string; nativeApi?: () => object };
    if (index.include !== undefined) expect(index.include).toBe(include);
  });

  it('nativeApi() is an External that only the API reads; anything else is refused', () => {
    const api = nativeApi();
    expect(typeof api).toBe('object');
    expect(Object.keys(api)).toEqual([]);
    for (const bad of [{}, 1n, null, 'api']) {
      expect(() => addon.init(bad as object)).toThrow(TypeError);
    }
    expect(addon.init(nativeApi())).toBe(1);
  });
});

describe.each(LOOP_KINDS)('$name loop: C API', (kind) => {
  it("a native thread posts bytes: the handler gets Buffers in order, then the thread's call runs", async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const N = 1000;
      const values: unknown[] = [];
      const done = loop.createFuture<[number, number, number]>();
      loop.onMessage((v) => values.push(v));
      const id = addon.start(ref, {
        count: N,
        prefix: 'msg-',
        // Called after the thread's posts: by then the handler has seen every one of them.
        onDone: (posted, lastError) => done.setResult([posted, lastError, values.length]),
      });
      expect(await kind.drive(loop, done)).toEqual([N, EVLOOP_OK, N]);
      expect(values.every((v) => Buffer.isBuffer(v))).toBe(true);
      expect(values.map(String)).toEqual(Array.from({ length: N }, (_, i) => `msg-${i}`));
      expect(addon.join(id)).toEqual({ posted: N, lastError: EVLOOP_OK, callResult: EVLOOP_OK });
    } finally {
      loop.onMessage(null);
      kind.dispose(loop);
    }
  });

  it('post_serialized delivers the value v8.serialize() encoded, as post() does', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const value = { text: 'hi', big: 2n ** 70n, list: [1, { deep: true }], when: new Date(5) };
      let id = -1;
      const [got] = await collect(kind, loop, 1, () => {
        id = addon.start(ref, { count: 1, serialized: v8.serialize(value) });
      });
      expect(got).toEqual(value);
      expect(addon.join(id).posted).toBe(1);
    } finally {
      kind.dispose(loop);
    }
  });

  it('call() runs the function on the loop thread, in order with the loop callbacks, as callSoonThreadsafe', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const order: string[] = [];
      const done = loop.createFuture<void>();
      loop.callSoon(() => {
        order.push('callback');
        expect(addon.call(ref, (x) => order.push(`native ${x}`), 1)).toBe(EVLOOP_OK);
        expect(addon.call(ref, (x) => order.push(`native ${x}`), 2)).toBe(EVLOOP_OK);
        loop.callLater(2, () => done.setResult());
      });
      await kind.drive(loop, done);
      expect(order).toEqual(['callback', 'native 1', 'native 2']);
    } finally {
      kind.dispose(loop);
    }
  });

  it('posts and calls of one thread arrive in their order; two threads each in theirs', async () => {
    const loop = kind.make();
    try {
      const ref = loop.share();
      const N = 500;
      const ids: number[] = [];
      const values = await collect(kind, loop, 2 * N, () => {
        ids.push(addon.start(ref, { count: N, prefix: 'a' }));
        ids.push(addon.start(ref, { count: N, prefix: 'b' }));
      });
      const strings = values.map(String);
      for (const p of ['a', 'b']) {
        expect(strings.filter((s) => s.startsWith(p))).toEqual(Array.from({ length: N }, (_, i) => `${p}${i}`));
      }
      for (const id of ids) expect(addon.join(id).posted).toBe(N);
    } finally {
      kind.dispose(loop);
    }
  });

  it('a JavaScript exception left by a call goes to the exception handler and the loop goes on', async () => {
    const loop = kind.make();
    const previous = loop.getExceptionHandler();
    try {
      const ref = loop.share();
      const errors: string[] = [];
      loop.setExceptionHandler((_l, context) => errors.push((context.exception as Error).message));
      const after = loop.createFuture<number>();
      expect(addon.callThrow(ref, 'native boom')).toBe(EVLOOP_OK);
      expect(addon.call(ref, (x) => after.setResult(x), 9)).toBe(EVLOOP_OK);
      expect(await kind.drive(loop, after)).toBe(9);
      expect(errors).toEqual(['native boom']);
    } finally {
      loop.setExceptionHandler(previous);
      kind.dispose(loop);
    }
  });

  it('bad arguments are EVLOOP_EINVAL; a loop id that was never a loop is EVLOOP_ECLOSED', () => {
    const loop = kind.make();
    try {
      expect(addon.badArgs(loop.share())).toEqual([EVLOOP_EINVAL, EVLOOP_EINVAL]);
      const nowhere = { evloop: 'loop', id: 2 ** 52 } as LoopRef;
      expect(addon.post(nowhere, Buffer.from('x'))).toBe(EVLOOP_ECLOSED);
      expect(addon.call(nowhere, () => {}, 0)).toBe(EVLOOP_ECLOSED);
    } finally {
      kind.dispose(loop);
    }
  });
});

describe('private loop: C API', () => {
  it("a native thread's post wakes the loop blocked in its wait (nothing else scheduled)", () => {
    const loop = evloop.newEventLoop();
    try {
      const ref = loop.share();
      const got = loop.createFuture<string>();
      loop.onMessage((v) => got.setResult(String(v)));
      // The thread posts only once released by the loop's last callback before it blocks.
      const id = addon.start(ref, { count: 1, prefix: 'woken-', waitRelease: true });
      loop.callSoon(() => addon.release(id));
      // No timer: only the native thread can complete it.
      expect(loop.runUntilComplete(got)).toBe('woken-0');
      expect(addon.join(id).posted).toBe(1);
    } finally {
      loop.close();
    }
  });

  it("a native thread's call wakes the blocked loop and can settle the Future it waits for", () => {
    const loop = evloop.newEventLoop();
    try {
      const ref = loop.share();
      const got = loop.createFuture<number[]>();
      const id = addon.start(ref, { count: 0, waitRelease: true, onDone: (p, e) => got.setResult([p, e]) });
      loop.callSoon(() => addon.release(id));
      expect(loop.runUntilComplete(got)).toEqual([0, EVLOOP_OK]);
      expect(addon.join(id).callResult).toBe(EVLOOP_OK);
    } finally {
      loop.close();
    }
  });

  it('after close: EVLOOP_ECLOSED and nothing runs; calls queued before close run once with a null env', () => {
    const loop = evloop.newEventLoop();
    const ref = loop.share();
    const droppedBefore = addon.dropped();
    let ran = 0;
    expect(addon.call(ref, () => ran++, 0)).toBe(EVLOOP_OK);
    expect(addon.call(ref, () => ran++, 0)).toBe(EVLOOP_OK);
    expect(addon.post(ref, Buffer.from('pending'))).toBe(EVLOOP_OK);
    loop.close();
    expect(ran).toBe(0);
    expect(addon.dropped()).toBe(droppedBefore + 2);
    expect(addon.post(ref, Buffer.from('late'))).toBe(EVLOOP_ECLOSED);
    expect(addon.call(ref, () => ran++, 0)).toBe(EVLOOP_ECLOSED);
    expect(addon.dropped()).toBe(droppedBefore + 2);
    expect(ran).toBe(0);
  });

  it('a native thread posts to a loop that lives in a worker; calls run on the worker thread', async () => {
    const worker = new Worker(
      `
      const { parentPort, workerData, threadId } = require('node:worker_threads');
      const evloop = require(workerData.entry);
      const { nativeApi } = require(workerData.nativeApiModule);
      const addon = require(workerData.addon);
      addon.init(nativeApi());
      const loop = evloop.newEventLoop();
      const got = loop.createFuture();
      const seen = [];
      loop.onMessage((v) => seen.push(String(v)));
      // Started here, so that onDone belongs to this thread; the native thread is the sender.
      const id = addon.start(loop.share(), { count: 100, prefix: 'w', onDone: (p) => got.setResult({ p, threadId, seen: seen.length }) });
      loop.callLater(${BOUND_MS}, () => loop.stop());
      const r = loop.runUntilComplete(got);
      addon.join(id);
      loop.close();
      parentPort.postMessage({ ...r, ordered: seen.every((s, i) => s === 'w' + i) });
      `,
      { eval: true, workerData: { entry, nativeApiModule, addon: ADDON } },
    );
    try {
      const result = await new Promise<{ p: number; threadId: number; seen: number; ordered: boolean }>(
        (resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('worker did not answer')), BOUND_MS);
          worker.once('error', reject);
          worker.once('message', (m) => {
            clearTimeout(timer);
            resolve(m);
          });
        },
      );
      expect(result).toEqual({ p: 100, threadId: worker.threadId, seen: 100, ordered: true });
    } finally {
      await worker.terminate();
    }
  });

  it('a call left pending on a host loop when its worker ends runs once, with a null env; no crash', () => {
    const r = runChild(`
      const { Worker } = require('node:worker_threads');
      const addon = require(${JSON.stringify(ADDON)});
      const w = new Worker(\`
        const evloop = require(${JSON.stringify(entry)});
        const addon = require(${JSON.stringify(ADDON)});
        addon.init(require(${JSON.stringify(nativeApiModule)}).nativeApi());
        // The worker ends at once: the host loop does not keep it alive for the call.
        addon.call(evloop.hostLoop().share(), () => console.log('ran'), 1);
      \`, { eval: true });
      w.on('exit', (code) => console.log(JSON.stringify({ code, dropped: addon.dropped() })));
    `);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const out = JSON.parse(lines[lines.length - 1]);
    expect(out.code).toBe(0);
    // Ran on the loop, or dropped with a null env: exactly once either way.
    expect(out.dropped + (lines.includes('ran') ? 1 : 0)).toBe(1);
  });

  it('no crash when a worker exits with native calls and posts pending; the calls run with a null env', () => {
    const r = runChild(
      `
      const { Worker } = require('node:worker_threads');
      const { nativeApi } = require(${JSON.stringify(nativeApiModule)});
      const addon = require(${JSON.stringify(ADDON)});
      addon.init(nativeApi());
      const w = new Worker(\`
        const { parentPort } = require('node:worker_threads');
        const evloop = require(${JSON.stringify(entry)});
        const loop = evloop.newEventLoop();
        parentPort.postMessage(loop.share());
        // A listener keeps the worker alive, its loop never running, until it is terminated.
        parentPort.once('message', () => {});
      \`, { eval: true });
      w.once('message', (ref) => {
        let queued = 0;
        for (let i = 0; i < 50; i++) if (addon.call(ref, () => {}, i) === 0) queued++;
        for (let i = 0; i < 50; i++) addon.post(ref, Buffer.alloc(1024));
        w.terminate().then(() => {
          // Terminated: its loop closed with everything pending; posting now is refused.
          console.log(JSON.stringify({ queued, dropped: addon.dropped(), after: addon.post(ref, Buffer.from('x')) }));
        });
      });
      `,
    );
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.after).toBe(EVLOOP_ECLOSED);
    // Each queued call ran exactly once: here, all with a null env (none ran on the loop).
    expect(out.dropped).toBe(out.queued);
  });
});
