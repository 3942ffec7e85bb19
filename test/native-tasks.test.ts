// The built-in native tasks (api.md, Executors: `tasks`): run through a pool on the private and
// the host loop, their results are byte-identical to node:crypto / node:zlib / node:fs /
// node:dns, their failures carry what the Node call's error carries, bad arguments throw at
// submit, and each task called directly does the same work at once.
import * as crypto from 'node:crypto';
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOOP_KINDS, evloop, type LoopKind } from './harness';
import type { EventLoop, ThreadPoolExecutor } from '../dist/cjs/index.js';
import { releaseLoop, settle, useLoop } from './fixtures/pool-helpers';

const { tasks } = evloop;

// ---- inputs -------------------------------------------------------------------------------

const random = crypto.randomBytes(3 << 20); // 3 MiB of noise
const backing = crypto.randomBytes(4096);
type Input = string | ArrayBufferView;
const INPUTS: [string, Input][] = [
  ['empty string', ''],
  ['empty Buffer', Buffer.alloc(0)],
  ['ascii string', 'abc'],
  ['utf-8 string', 'héllo wörld ✓ 日本語 🎉'],
  ['one byte', Buffer.from([0])],
  ['binary Buffer', Buffer.from([0, 255, 1, 254, 0, 0, 127, 128])],
  ['Uint8Array view with an offset', new Uint8Array(backing.buffer, backing.byteOffset + 3, 1001)],
  ['Uint16Array view', new Uint16Array(backing.buffer, backing.byteOffset + 2, 500)],
  ['Float64Array', new Float64Array([1.5, -2, Math.PI, Number.MAX_VALUE])],
  ['compressible 2 MiB', Buffer.alloc(2 << 20, 'evloop pool ')],
  ['random 3 MiB', random],
];
const DATAVIEW: [string, Input] = ['DataView with an offset', new DataView(backing.buffer, backing.byteOffset + 7, 333)];

const bytesOf = (x: Input): Buffer =>
  typeof x === 'string' ? Buffer.from(x, 'utf8') : Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** The properties Node's errors carry, only those present (a missing one shows as missing). */
function described(error: any): Record<string, unknown> {
  const out: Record<string, unknown> = { isError: error instanceof Error, name: error?.name, message: error?.message };
  for (const key of ['code', 'errno', 'syscall', 'path', 'dest', 'hostname']) {
    if (error !== null && typeof error === 'object' && key in error) out[key] = error[key];
  }
  return out;
}

function nodeError(fn: () => unknown): any {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('the Node call did not fail');
}

async function nodeErrorAsync(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('the Node call did not fail');
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-native-tasks-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- called directly: synchronous, same results -------------------------------------------

describe('native tasks called directly', () => {
  it("tasks.digest('sha256', 'abc') returns the digest at once", () => {
    const out = tasks.digest('sha256', 'abc');
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('each task works synchronously on the calling thread', () => {
    const file = path.join(tmp, 'direct.bin');
    expect(tasks.sleep(1)).toBeUndefined();
    expect(tasks.writeFile(file, 'direct')).toBeUndefined();
    expect(tasks.readFile(file).toString()).toBe('direct');
    expect(tasks.gzip('direct').equals(zlib.gzipSync('direct'))).toBe(true);
    expect(tasks.gunzip(zlib.gzipSync('direct')).toString()).toBe('direct');
    expect(tasks.lookup('127.0.0.1')).toEqual([{ address: '127.0.0.1', family: 4 }]);
  });

  it('a direct call fails as the Node call does', () => {
    const missing = path.join(tmp, 'no', 'such', 'file');
    expect(described(nodeError(() => tasks.readFile(missing)))).toEqual(described(nodeError(() => fs.readFileSync(missing))));
    const garbage = Buffer.from('not gzip at all');
    expect(described(nodeError(() => tasks.gunzip(garbage)))).toEqual(described(nodeError(() => zlib.gunzipSync(garbage))));
  });

  it('a direct call checks its arguments as submit does', () => {
    expect(() => tasks.sleep(-1)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    expect(() => (tasks.digest as any)('sha256', 5)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

// ---- bad arguments: thrown by submit at once ------------------------------------------------

const BAD: [string, (...args: any[]) => unknown, unknown[], ErrorConstructor, string][] = [
  ['sleep()', tasks.sleep, [], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ["sleep('5')", tasks.sleep, ['5'], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['sleep(-1)', tasks.sleep, [-1], RangeError, 'ERR_OUT_OF_RANGE'],
  ['sleep(NaN)', tasks.sleep, [NaN], RangeError, 'ERR_OUT_OF_RANGE'],
  ['readFile()', tasks.readFile, [], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['readFile(5)', tasks.readFile, [5], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['readFile with a NUL byte', tasks.readFile, ['/tmp/a\u0000b'], TypeError, 'ERR_INVALID_ARG_VALUE'],
  ['readFile(http: URL)', tasks.readFile, [new URL('http://example.com/x')], TypeError, 'ERR_INVALID_ARG_VALUE'],
  ['writeFile(path)', tasks.writeFile, ['/tmp/evloop-x'], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['writeFile(path, 5)', tasks.writeFile, ['/tmp/evloop-x', 5], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['writeFile(5, data)', tasks.writeFile, [5, 'x'], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['digest(algorithm)', tasks.digest, ['sha256'], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['digest(5, data)', tasks.digest, [5, 'x'], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['digest(unknown algorithm)', tasks.digest, ['no-such-hash', 'x'], TypeError, 'ERR_INVALID_ARG_VALUE'],
  ['digest(algorithm, ArrayBuffer)', tasks.digest, ['sha256', new ArrayBuffer(4)], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['gzip()', tasks.gzip, [], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['gzip(data, { level: 10 })', tasks.gzip, ['x', { level: 10 }], RangeError, 'ERR_OUT_OF_RANGE'],
  ['gzip(data, { level: -2 })', tasks.gzip, ['x', { level: -2 }], RangeError, 'ERR_OUT_OF_RANGE'],
  ["gzip(data, { level: '1' })", tasks.gzip, ['x', { level: '1' }], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['gzip(data, 5)', tasks.gzip, ['x', 5], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['gunzip(string)', tasks.gunzip, ['x'], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['gunzip()', tasks.gunzip, [], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['lookup()', tasks.lookup, [], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['lookup(5)', tasks.lookup, [5], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ['lookup(host, { family: 5 })', tasks.lookup, ['localhost', { family: 5 }], RangeError, 'ERR_OUT_OF_RANGE'],
  ["lookup(host, { family: '4' })", tasks.lookup, ['localhost', { family: '4' }], TypeError, 'ERR_INVALID_ARG_TYPE'],
];

describe('native task arguments', () => {
  let ex: ThreadPoolExecutor;
  beforeAll(() => {
    ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
  });
  afterAll(async () => {
    await ex.shutdown({ cancelFutures: true });
  });

  it.each(BAD)('%s throws at submit, and nothing is queued', (_label, fn, args, type, code) => {
    const before = ex.stats();
    let thrown: any;
    try {
      ex.submit(fn, ...args);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(type);
    expect(thrown.code).toBe(code);
    let direct: any;
    try {
      evloop.hostLoop().runInExecutor(ex, fn, ...args);
    } catch (error) {
      direct = error;
    }
    expect(direct).toBeInstanceOf(type);
    expect(direct.code).toBe(code);
    const after = ex.stats();
    expect(after.queued + after.running + after.completed + after.failed).toBe(before.queued + before.running + before.completed + before.failed);
  });
});

// ---- through a pool, on both loop kinds ---------------------------------------------------

describe.each(LOOP_KINDS)('native tasks through a pool on the $name loop', (kind: LoopKind) => {
  let loop: EventLoop;
  let ex: ThreadPoolExecutor;
  beforeAll(() => {
    ex = new evloop.ThreadPoolExecutor({ maxWorkers: 3, name: 'ntask' });
  });
  afterAll(async () => {
    await ex.shutdown({ cancelFutures: true });
  });
  beforeAll(() => {
    loop = useLoop(kind);
  });
  afterAll(() => {
    releaseLoop(kind, loop);
  });
  afterEach(() => {
    evloop.setEventLoop(kind.name === 'private' ? loop : null);
  });

  const run = <T>(fn: unknown, ...args: unknown[]) => kind.drive(loop, loop.runInExecutor<T>(ex, fn, ...args));
  const fail = async (fn: unknown, ...args: unknown[]) => {
    const out = await settle(kind, loop, loop.runInExecutor(ex, fn, ...args));
    if (out.ok) throw new Error('expected the task to fail');
    return out.error;
  };

  // -- sleep --

  it('sleep completes with undefined', async () => {
    expect(await run(tasks.sleep, 5)).toBeUndefined();
    expect(await run(tasks.sleep, 0)).toBeUndefined();
    expect(await run(tasks.sleep, 0.5)).toBeUndefined();
  });

  // -- digest --

  it.each(['sha256', 'sha512', 'md5', 'sha1', 'sha384', 'sha224', 'sha3-256', 'blake2b512', 'SHA256', 'RSA-SHA256'])(
    'digest %s is byte-identical to node:crypto on every input',
    async (algorithm) => {
      for (const [label, input] of INPUTS) {
        const ours = await run<Buffer>(tasks.digest, algorithm, input);
        expect(Buffer.isBuffer(ours), label).toBe(true);
        expect(ours.equals(crypto.createHash(algorithm).update(input as any).digest()), `${algorithm} of ${label}`).toBe(true);
      }
    },
  );

  it('digest takes every ArrayBufferView, a DataView too', async () => {
    const [, dv] = DATAVIEW;
    const ours = await run<Buffer>(tasks.digest, 'sha256', dv);
    expect(ours.equals(crypto.createHash('sha256').update(dv as DataView).digest())).toBe(true);
  });

  it('gzip, gunzip and writeFile take a DataView as Node does', async () => {
    const [, dv] = DATAVIEW;
    expect((await run<Buffer>(tasks.gzip, dv)).equals(zlib.gzipSync(dv as DataView))).toBe(true);
    const gz = zlib.gzipSync('in a DataView');
    const gzView = new DataView(gz.buffer, gz.byteOffset, gz.byteLength);
    expect((await run<Buffer>(tasks.gunzip, gzView)).toString()).toBe('in a DataView');
    const file = path.join(tmp, `${kind.name}-dataview`);
    await run(tasks.writeFile, file, dv);
    expect(fs.readFileSync(file).equals(bytesOf(dv))).toBe(true);
  });

  it('the input is copied at submit: changing the buffer afterwards changes nothing', async () => {
    const data = Buffer.from('before');
    const f = loop.runInExecutor<Buffer>(ex, tasks.digest, 'sha256', data);
    data.write('AFTER!');
    expect((await kind.drive(loop, f)).equals(crypto.createHash('sha256').update('before').digest())).toBe(true);
  });

  // -- gzip / gunzip --

  it.each([undefined, -1, 0, 1, 6, 9])('gzip (level %s) is byte-identical to zlib.gzipSync on every input', async (level) => {
    for (const [label, input] of INPUTS) {
      if (label === 'random 3 MiB' && level !== undefined && level !== 1) continue; // keep it quick
      const options = level === undefined ? undefined : { level };
      const ours = await run<Buffer>(tasks.gzip, input, ...(options ? [options] : []));
      expect(Buffer.isBuffer(ours)).toBe(true);
      expect(ours.equals(zlib.gzipSync(input as any, options)), `gzip ${label} level ${level}`).toBe(true);
    }
  });

  it('gunzip is byte-identical to zlib.gunzipSync on every input', async () => {
    for (const [label, input] of INPUTS) {
      for (const level of [1, 9]) {
        const gz = zlib.gzipSync(input as any, { level });
        const ours = await run<Buffer>(tasks.gunzip, gz);
        expect(ours.equals(zlib.gunzipSync(gz)), `gunzip ${label}`).toBe(true);
        expect(ours.equals(bytesOf(input)), `round trip ${label}`).toBe(true);
      }
    }
  });

  it('gunzip takes a view with an offset, and gunzip(gzip(x)) round-trips through the pool', async () => {
    const gz = zlib.gzipSync('inside a bigger buffer');
    const big = Buffer.concat([Buffer.from('xxxx'), gz, Buffer.from('yyyy')]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 4, gz.length);
    expect((await run<Buffer>(tasks.gunzip, view)).toString()).toBe('inside a bigger buffer');
    const packed = await run<Buffer>(tasks.gzip, random);
    expect((await run<Buffer>(tasks.gunzip, packed)).equals(random)).toBe(true);
  });

  it('gunzip of concatenated gzip members returns all of them, as zlib does', async () => {
    const multi = Buffer.concat([zlib.gzipSync('one '), zlib.gzipSync('two '), zlib.gzipSync('three')]);
    const ours = await run<Buffer>(tasks.gunzip, multi);
    expect(ours.equals(zlib.gunzipSync(multi))).toBe(true);
    expect(ours.toString()).toBe('one two three');
  });

  it('gunzip ignores trailing zero padding as zlib does', async () => {
    const padded = Buffer.concat([zlib.gzipSync('padded'), Buffer.alloc(16)]);
    expect((await run<Buffer>(tasks.gunzip, padded)).equals(zlib.gunzipSync(padded))).toBe(true);
  });

  const corrupt = (() => {
    const gz = zlib.gzipSync('hello hello hello');
    const badCrc = Buffer.from(gz);
    badCrc[badCrc.length - 6] ^= 0xff;
    const badLength = Buffer.from(gz);
    badLength[badLength.length - 1] ^= 0x01;
    return [
      ['not gzip at all', Buffer.from('this is not gzip data')],
      ['a deflate stream (no gzip header)', zlib.deflateSync('hello')],
      ['a bad CRC', badCrc],
      ['a bad length', badLength],
      ['truncated', gz.subarray(0, gz.length - 10)],
      ['only the header', gz.subarray(0, 10)],
      ['empty', Buffer.alloc(0)],
      ['trailing garbage', Buffer.concat([gz, Buffer.from('garbage!')])],
    ] as [string, Buffer][];
  })();

  it.each(corrupt)('gunzip of %s fails as zlib.gunzipSync does (code, errno, message)', async (_label, data) => {
    const theirs = nodeError(() => zlib.gunzipSync(data));
    const ours = await fail(tasks.gunzip, data);
    expect(described(ours)).toEqual(described(theirs));
    expect(['Z_DATA_ERROR', 'Z_BUF_ERROR']).toContain(ours.code);
  });

  it('gunzip of garbage fails with Z_DATA_ERROR', async () => {
    const ours = await fail(tasks.gunzip, Buffer.from('garbage garbage garbage'));
    expect(ours).toBeInstanceOf(Error);
    expect(ours.code).toBe('Z_DATA_ERROR');
  });

  // -- readFile --

  const files: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('line one\nline two\n')],
    ['binary', Buffer.from([0, 1, 2, 255, 0, 10, 13])],
    ['random 3 MiB', random],
    ['compressible 2 MiB', Buffer.alloc(2 << 20, 'z')],
  ];

  it.each(files)('readFile of a %s file is byte-identical to fs.readFileSync', async (label, content) => {
    const file = path.join(tmp, `${kind.name}-read-${label.replace(/\W/g, '_')}`);
    fs.writeFileSync(file, content);
    const ours = await run<Buffer>(tasks.readFile, file);
    expect(Buffer.isBuffer(ours)).toBe(true);
    expect(ours.equals(fs.readFileSync(file))).toBe(true);
    expect(ours.equals(content)).toBe(true);
  });

  it('readFile takes a file: URL, and follows symbolic links', async () => {
    const file = path.join(tmp, `${kind.name}-url target ü.txt`);
    fs.writeFileSync(file, 'by url');
    expect((await run<Buffer>(tasks.readFile, pathToFileURL(file))).toString()).toBe('by url');
    const link = path.join(tmp, `${kind.name}-link`);
    fs.symlinkSync(file, link);
    expect((await run<Buffer>(tasks.readFile, link)).equals(fs.readFileSync(link))).toBe(true);
  });

  it('readFile of a file whose size the kernel does not report (/proc) matches fs.readFileSync', async () => {
    // /proc/self/cmdline stats as 0 bytes; the task reads it in this process too.
    const ours = await run<Buffer>(tasks.readFile, '/proc/self/cmdline');
    expect(ours.equals(fs.readFileSync('/proc/self/cmdline'))).toBe(true);
    expect(ours.length).toBeGreaterThan(0);
  });

  const readFailures: [string, () => string][] = [
    ['a missing file (ENOENT)', () => path.join(tmp, 'missing', 'file')],
    ['a directory (EISDIR)', () => tmp],
    ['a path through a file (ENOTDIR)', () => path.join(__filename, 'inside')],
    ['a name too long (ENAMETOOLONG)', () => path.join(tmp, 'x'.repeat(300))],
    ['a dangling symlink (ENOENT)', () => {
      const link = path.join(tmp, `${kind.name}-dangling`);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join(tmp, 'nowhere'), link);
      return link;
    }],
    ["the empty path ''", () => ''],
  ];

  it.each(readFailures)('readFile of %s fails as fs.readFileSync does', async (_label, target) => {
    const p = target();
    const theirs = nodeError(() => fs.readFileSync(p));
    const ours = await fail(tasks.readFile, p);
    expect(described(ours)).toEqual(described(theirs));
  });

  // -- writeFile --

  it.each(INPUTS.filter(([label]) => label !== 'random 3 MiB'))(
    'writeFile of %s writes what fs.writeFileSync writes',
    async (label, data) => {
      const ours = path.join(tmp, `${kind.name}-w-ours`);
      const theirs = path.join(tmp, `${kind.name}-w-theirs`);
      expect(await run(tasks.writeFile, ours, data)).toBeUndefined();
      fs.writeFileSync(theirs, data as any);
      expect(fs.readFileSync(ours).equals(fs.readFileSync(theirs)), label).toBe(true);
    },
  );

  it('writeFile creates with the mode fs.writeFileSync uses, truncates an existing file, takes a URL', async () => {
    const ours = path.join(tmp, `${kind.name}-mode-ours`);
    const theirs = path.join(tmp, `${kind.name}-mode-theirs`);
    fs.rmSync(ours, { force: true });
    fs.rmSync(theirs, { force: true });
    await run(tasks.writeFile, ours, 'a much longer first content');
    fs.writeFileSync(theirs, 'x');
    expect(fs.statSync(ours).mode).toBe(fs.statSync(theirs).mode);
    await run(tasks.writeFile, pathToFileURL(ours), 'short');
    expect(fs.readFileSync(ours, 'utf8')).toBe('short');
    await run(tasks.writeFile, ours, random);
    expect(fs.readFileSync(ours).equals(random)).toBe(true);
  });

  const writeFailures: [string, () => string][] = [
    ['into a missing directory (ENOENT)', () => path.join(tmp, 'missing-dir', 'file')],
    ['onto a directory (EISDIR)', () => tmp],
    ['through a file (ENOTDIR)', () => path.join(__filename, 'inside')],
  ];

  it.each(writeFailures)('writeFile %s fails as fs.writeFileSync does', async (_label, target) => {
    const p = target();
    const theirs = nodeError(() => fs.writeFileSync(p, 'x'));
    const ours = await fail(tasks.writeFile, p, 'x');
    expect(described(ours)).toEqual(described(theirs));
  });

  // -- lookup --

  const lookups: [string, 0 | 4 | 6][] = [
    ['localhost', 0],
    ['localhost', 4],
    ['LOCALHOST', 0],
    ['127.0.0.1', 0],
    ['127.0.0.1', 4],
    ['::1', 0],
    ['::1', 6],
  ];

  it.each(lookups)('lookup(%s, family %s) gives what dns.lookup(all: true) gives', async (host, family) => {
    let theirs: unknown;
    try {
      theirs = await dns.promises.lookup(host, { all: true, family });
    } catch (error) {
      theirs = described(error);
    }
    const out = await settle(kind, loop, loop.runInExecutor(ex, tasks.lookup, host, { family }));
    expect(out.ok ? out.value : described(out.error)).toEqual(theirs);
  });

  it('lookup without options is family 0', async () => {
    expect(await run(tasks.lookup, 'localhost')).toEqual(await dns.promises.lookup('localhost', { all: true }));
  });

  it.each(['nonexistent.invalid', 'no-such-host.evloop.invalid'])('lookup of an unknown host (%s) fails with ENOTFOUND as dns.lookup does', async (host) => {
    const theirs = await nodeErrorAsync(() => dns.promises.lookup(host, { all: true }));
    const ours = await fail(tasks.lookup, host);
    expect(ours.code).toBe('ENOTFOUND');
    expect(described(ours)).toEqual(described(theirs));
  });

  // -- many at once --

  it('hundreds of interleaved tasks each get their own result', async () => {
    const futures = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0
        ? loop.runInExecutor<Buffer>(ex, tasks.digest, 'sha256', `item ${i}`)
        : i % 3 === 1
          ? loop.runInExecutor<Buffer>(ex, tasks.gzip, `item ${i}`)
          : loop.runInExecutor<Buffer>(ex, tasks.readFile, path.join(tmp, `missing-${i}`)),
    );
    const outcomes = [];
    for (const f of futures) outcomes.push(await settle(kind, loop, f));
    outcomes.forEach((o, i) => {
      if (i % 3 === 0) expect((o as any).value.equals(crypto.createHash('sha256').update(`item ${i}`).digest()), `#${i}`).toBe(true);
      else if (i % 3 === 1) expect(zlib.gunzipSync((o as any).value).toString(), `#${i}`).toBe(`item ${i}`);
      else expect((o as any).error.path, `#${i}`).toBe(path.join(tmp, `missing-${i}`));
    });
  });

  it('native tasks run with no JavaScript: the only new threads are the pool\'s own, named ones', async () => {
    const tids = () => new Set(fs.readdirSync('/proc/self/task'));
    const before = tids();
    const own = new evloop.ThreadPoolExecutor({ maxWorkers: 2, name: 'nojs' });
    try {
      const f = loop.runInExecutor(own, tasks.digest, 'md5', 'x');
      const g = loop.runInExecutor(own, tasks.sleep, 20);
      await kind.drive(loop, f);
      await kind.drive(loop, g);
      const added = [...tids()].filter((t) => !before.has(t));
      const names = added.map((t) => fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim());
      expect(names.length).toBe(own.stats().threads);
      for (const name of names) expect(name).toMatch(/^nojs-\d+$/);
      expect(own.stats().completed).toBe(2);
    } finally {
      await own.shutdown();
    }
  });
});
