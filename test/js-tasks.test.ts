// Plain JavaScript functions and moduleTask() references on pool threads (api.md, Executors):
// sync and async functions, structured-cloned arguments and results, errors brought back with
// name/message/stack/code, console.log appearing promptly, ERR_TASK_NOT_TRANSFERABLE, require()
// and import() inside functions, method shorthand, and moduleTask's specifier rules.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { BOUND_MS, LOOP_KINDS, evloop, root, runChild, spawnSource, type LoopKind } from './harness';
import type { EventLoop, ThreadPoolExecutor } from '../dist/cjs/index.js';
import { Gate, gated, releaseLoop, settle, useLoop } from './fixtures/pool-helpers';

const { EvloopError, moduleTask, tasks } = evloop;

const FIXTURES = path.join(__dirname, 'fixtures');
const MODULE = path.join(FIXTURES, 'pool-module.mjs');
const CJS_MODULE = path.join(FIXTURES, 'pool-module.cjs');
const BROKEN = path.join(FIXTURES, 'pool-broken.mjs');
const SYNTAX = path.join(FIXTURES, 'pool-syntax.mjs');
const MISSING = path.join(FIXTURES, 'no-such-module.mjs');

function thrownBy(fn: () => unknown): any {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** What `import(url)` rejects with in a plain Node process (name, code, message). */
const importErrors = new Map<string, { name: string; code?: string; message: string }>();
function nodeImportError(url: string): { name: string; code?: string; message: string } {
  const known = importErrors.get(url);
  if (known) return known;
  const r = runChild(`
    import(${JSON.stringify(url)}).then(
      () => console.log(JSON.stringify(null)),
      (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })),
    );
  `);
  const error = JSON.parse(r.stdout);
  importErrors.set(url, error);
  return error;
}

// ---- moduleTask() and submit-time checks: no loop needed -----------------------------------

describe('moduleTask()', () => {
  it('returns a reference naming the module and the export (default: "default")', () => {
    const ref = moduleTask(MODULE, 'add');
    expect(ref.exportName).toBe('add');
    expect(moduleTask(MODULE).exportName).toBe('default');
    expect(structuredClone(ref)).toEqual(ref);
  });

  it.each(['./pool-module.mjs', '../fixtures/pool-module.mjs', '.', '..'])(
    'a relative path (%s) is a TypeError with code ERR_INVALID_ARG_VALUE',
    (specifier) => {
      const error = thrownBy(() => moduleTask(specifier, 'add'));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
    },
  );

  it.each([[5], [null], [undefined], [{}]])('a specifier %s that is neither string nor URL is a TypeError', (specifier) => {
    const error = thrownBy(() => moduleTask(specifier as any));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('an exportName that is no string is a TypeError', () => {
    const error = thrownBy(() => moduleTask(MODULE, 5 as any));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('ERR_TASK_NOT_TRANSFERABLE at submit', () => {
  let ex: ThreadPoolExecutor;
  beforeAll(() => {
    ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
  });
  afterAll(async () => {
    await ex.shutdown({ cancelFutures: true });
  });

  const identity = (x: unknown) => x;
  const cases: [string, () => unknown][] = [
    ['a function argument', () => ex.submit(identity, () => 1)],
    ['a symbol argument', () => ex.submit(identity, Symbol('s'))],
    ['an object holding a function', () => ex.submit(identity, { nested: { fn() {} } })],
    ['a WeakMap argument', () => ex.submit(identity, new WeakMap())],
    // Arguments cross as bytes (v8.serialize): memory cannot be shared that way (README, limits).
    ['a SharedArrayBuffer argument', () => ex.submit(identity, new SharedArrayBuffer(8))],
    ['a second argument that cannot be cloned', () => ex.submit(identity, 1, Symbol.iterator)],
    ['a native function', () => ex.submit(Math.max, 1, 2)],
    ['another native function', () => ex.submit(JSON.stringify, {})],
    ['a bound function', () => ex.submit(((a: number) => a).bind(null), 1)],
    ['a bound function (runInExecutor)', () => evloop.hostLoop().runInExecutor(ex, function f(this: unknown) {}.bind({}))],
  ];

  it.each(cases)('%s throws at once, and nothing is queued', (_label, submit) => {
    const before = ex.stats();
    const error = thrownBy(submit);
    expect(error).toBeInstanceOf(EvloopError);
    expect(error.code).toBe('ERR_TASK_NOT_TRANSFERABLE');
    expect(typeof error.message).toBe('string');
    expect(error.message.length).toBeGreaterThan(10);
    expect(ex.stats()).toEqual(before);
  });

  it('the message says which argument cannot be sent', () => {
    const error = thrownBy(() => ex.submit(identity, 1, 2, () => 3));
    expect(error.message).toMatch(/argument 2/);
  });

  it('the message for a native function names it', () => {
    const error = thrownBy(() => ex.submit(Math.max));
    expect(error.message).toMatch(/max/);
  });
});

// ---- on the private and the host loop ------------------------------------------------------

describe.each(LOOP_KINDS)('JS functions on pool threads, $name loop', (kind: LoopKind) => {
  let loop: EventLoop;
  let ex: ThreadPoolExecutor;
  beforeAll(() => {
    ex = new evloop.ThreadPoolExecutor({ maxWorkers: 2 });
    loop = useLoop(kind);
  });
  afterAll(async () => {
    releaseLoop(kind, loop);
    await ex.shutdown({ cancelFutures: true });
  });
  afterEach(() => {
    evloop.setEventLoop(kind.name === 'private' ? loop : null);
  });

  const run = <T = any>(fn: unknown, ...args: unknown[]) => kind.drive(loop, loop.runInExecutor<T>(ex, fn, ...args));
  const fail = async (fn: unknown, ...args: unknown[]): Promise<any> => {
    const out = await settle(kind, loop, loop.runInExecutor(ex, fn, ...args));
    if (out.ok) throw new Error(`expected the task to fail, it returned ${String(out.value)}`);
    return out.error;
  };

  // -- running functions --

  it('runs a sync function with its arguments', async () => {
    expect(await run((a: number, b: string, c: boolean) => `${a}:${b}:${c}`, 1, 'two', true)).toBe('1:two:true');
  });

  it('runs an async function and waits for it (timers work on the pool thread)', async () => {
    const fn = async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await null;
      return x * 2;
    };
    expect(await run(fn, 21)).toBe(42);
  });

  it('a function returning a promise is awaited too', async () => {
    expect(await run((x: string) => new Promise((resolve) => setImmediate(() => resolve(x + '!'))), 'ok')).toBe('ok!');
  });

  it('runs a named function expression, a function declaration and a generator-free arrow', async () => {
    function declared(n: number): number {
      return n <= 1 ? 1 : n * declared(n - 1);
    }
    expect(await run(declared, 5)).toBe(120);
    expect(await run(function named(x: number) {
      return `${named.name}:${x}`;
    }, 1)).toBe('named:1');
    expect(await run(() => 'arrow')).toBe('arrow');
  });

  it('runs method-shorthand functions, sync and async', async () => {
    const obj = {
      square(x: number) {
        return x * x;
      },
      async cube(x: number) {
        await null;
        return x * x * x;
      },
      'quoted name'(x: number) {
        return -x;
      },
    };
    expect(await run(obj.square, 7)).toBe(49);
    expect(await run(obj.cube, 3)).toBe(27);
    expect(await run(obj['quoted name'], 4)).toBe(-4);
  });

  it('the pool thread has the usual globals (process, Buffer, URL, structuredClone, TextEncoder)', async () => {
    const fn = () =>
      [typeof process.version, Buffer.from('hi').toString('hex'), new URL('http://x/y').pathname, typeof structuredClone, new TextEncoder().encode('é').length].join(',');
    expect(await run(fn)).toBe('string,6869,/y,function,2');
  });

  it('runs on another thread than the loop', async () => {
    const threadId = await run(() => require('node:worker_threads').threadId);
    expect(threadId).not.toBe(require('node:worker_threads').threadId);
    const isMain = await run(() => require('node:worker_threads').isMainThread);
    expect(isMain).toBe(false);
  });

  // -- structured clone --

  it('arguments and results are structured-cloned (Map, Set, Date, RegExp, typed arrays, nested)', async () => {
    const input = {
      map: new Map<unknown, unknown>([
        [1, 'one'],
        ['k', { deep: [1, 2, { deeper: true }] }],
      ]),
      set: new Set([1, 'a', 3n]),
      date: new Date(Date.UTC(2020, 1, 29, 12, 0, 0, 123)),
      re: /ab+c/gi,
      bytes: new Uint8Array([1, 2, 3]),
      floats: new Float64Array([0.5, -1.25]),
      buffer: new ArrayBuffer(4),
      big: 2n ** 70n,
      special: [NaN, -0, Infinity, undefined, null],
      nested: { a: [{ b: { c: 'd' } }] },
      error: new RangeError('as data'),
    };
    const echoed = await run((x: any) => {
      const ok =
        x.map instanceof Map &&
        x.set instanceof Set &&
        x.date instanceof Date &&
        x.re instanceof RegExp &&
        x.bytes instanceof Uint8Array &&
        x.floats instanceof Float64Array &&
        x.buffer instanceof ArrayBuffer &&
        typeof x.big === 'bigint' &&
        x.error instanceof RangeError;
      return { ok, x };
    }, input);
    expect(echoed.ok).toBe(true);
    const x = echoed.x;
    expect(x.map).toBeInstanceOf(Map);
    expect(x.map.get('k')).toEqual({ deep: [1, 2, { deeper: true }] });
    expect(x.set).toEqual(new Set([1, 'a', 3n]));
    expect(x.date).toBeInstanceOf(Date);
    expect(x.date.getTime()).toBe(input.date.getTime());
    expect(x.re).toBeInstanceOf(RegExp);
    expect(x.re.source).toBe('ab+c');
    expect(x.re.flags).toBe('gi');
    expect(x.bytes).toBeInstanceOf(Uint8Array);
    expect([...x.bytes]).toEqual([1, 2, 3]);
    expect(x.floats).toBeInstanceOf(Float64Array);
    expect([...x.floats]).toEqual([0.5, -1.25]);
    expect(x.buffer).toBeInstanceOf(ArrayBuffer);
    expect(x.buffer.byteLength).toBe(4);
    expect(x.big).toBe(2n ** 70n);
    expect(Number.isNaN(x.special[0])).toBe(true);
    expect(Object.is(x.special[1], -0)).toBe(true);
    expect(x.special.slice(2)).toEqual([Infinity, undefined, null]);
    expect(x.nested).toEqual({ a: [{ b: { c: 'd' } }] });
    expect(x.error).toBeInstanceOf(RangeError);
    expect(x.error.message).toBe('as data');
  });

  it('cyclic structures survive the trip', async () => {
    const cyclic: any = { name: 'root', children: [] };
    cyclic.children.push({ parent: cyclic });
    const out = await run((c: any) => {
      const same = c.children[0].parent === c;
      c.children[0].parent.name = 'changed';
      return { same, c };
    }, cyclic);
    expect(out.same).toBe(true);
    expect(out.c.children[0].parent).toBe(out.c);
    expect(out.c.name).toBe('changed');
  });

  it('arguments are copies: changes on the pool thread do not reach the caller', async () => {
    const data = { list: [1, 2, 3], bytes: new Uint8Array([9]) };
    const out = await run((d: any) => {
      d.list.push(4);
      d.bytes[0] = 0;
      return d;
    }, data);
    expect(out.list).toEqual([1, 2, 3, 4]);
    expect(data.list).toEqual([1, 2, 3]);
    expect(data.bytes[0]).toBe(9);
  });

  it('undefined and null come back as such; a large result comes back whole', async () => {
    expect(await run(() => undefined)).toBeUndefined();
    expect(await run(() => null)).toBeNull();
    const big = await run((n: number) => new Uint8Array(n).fill(7), 4 << 20);
    expect(big).toBeInstanceOf(Uint8Array);
    expect(big.length).toBe(4 << 20);
    expect(big[big.length - 1]).toBe(7);
  });

  it('a result that cannot be cloned fails the Future (it does not hang)', async () => {
    const error = await fail(() => () => 1);
    expect(error).toBeInstanceOf(Error);
    expect(String(error.message)).toMatch(/clone/i);
  });

  // -- errors --

  it('a thrown error comes back with its name, message and stack', async () => {
    const error = await fail(function failingTask() {
      throw new Error('it broke');
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('Error');
    expect(error.message).toBe('it broke');
    expect(typeof error.stack).toBe('string');
    expect(error.stack).toMatch(/^Error: it broke/);
    expect(error.stack).toMatch(/failingTask/);
  });

  it.each([
    ['TypeError', TypeError],
    ['RangeError', RangeError],
    ['SyntaxError', SyntaxError],
    ['ReferenceError', ReferenceError],
    ['URIError', URIError],
    ['EvalError', EvalError],
  ] as const)('a thrown %s comes back as a %s', async (name, type) => {
    const error = await fail((n: string) => {
      throw new (globalThis as any)[n](`a ${n}`);
    }, name);
    expect(error).toBeInstanceOf(type);
    expect(error.name).toBe(name);
    expect(error.message).toBe(`a ${name}`);
  });

  it('code and other own properties come back with the error', async () => {
    const error = await fail(() => {
      const e: any = new Error('with props');
      e.code = 'E_CUSTOM';
      e.errno = -42;
      e.detail = { list: [1, 2] };
      throw e;
    });
    expect(error.code).toBe('E_CUSTOM');
    expect(error.errno).toBe(-42);
    expect(error.detail).toEqual({ list: [1, 2] });
  });

  it("a subclass's name comes back", async () => {
    const error = await fail(() => {
      class ValidationError extends Error {
        constructor(message: string) {
          super(message);
          this.name = 'ValidationError';
        }
      }
      throw new ValidationError('invalid');
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe('invalid');
    expect(error.stack).toMatch(/ValidationError: invalid/);
  });

  it("a Node error's code comes back (fs.readFileSync of a missing file)", async () => {
    const error = await fail((p: string) => require('node:fs').readFileSync(p), '/nonexistent/evloop/js');
    expect(error.code).toBe('ENOENT');
    expect(error.syscall).toBe('open');
    expect(error.path).toBe('/nonexistent/evloop/js');
  });

  it('a rejected async function fails the Future with the rejection', async () => {
    const error = await fail(async () => {
      await null;
      throw new TypeError('async failure');
    });
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('async failure');
  });

  it('a thrown value that is no Error comes back as that value', async () => {
    expect(await fail(() => {
      throw 'just a string';
    })).toBe('just a string');
    expect(await fail(() => {
      throw { reason: 42 };
    })).toEqual({ reason: 42 });
  });

  it('the pool thread goes on after a failure', async () => {
    await fail(() => {
      throw new Error('first');
    });
    expect(await run(() => 'second')).toBe('second');
  });

  // -- captured variables --

  it('a function that refers to an outer variable fails with ERR_TASK_NOT_TRANSFERABLE naming it', async () => {
    const multiplierFromOuterScope = 3;
    const error = await fail((x: number) => x * multiplierFromOuterScope, 2);
    expect(error).toBeInstanceOf(EvloopError);
    expect(error.code).toBe('ERR_TASK_NOT_TRANSFERABLE');
    expect(error.message).toContain('multiplierFromOuterScope');
  });

  it('a function that calls an outer helper fails naming the helper', async () => {
    function outerHelperFunction(x: number) {
      return x + 1;
    }
    const error = await fail((x: number) => outerHelperFunction(x), 1);
    expect(error.code).toBe('ERR_TASK_NOT_TRANSFERABLE');
    expect(error.message).toContain('outerHelperFunction');
  });

  it('a ReferenceError of a self-contained function stays a ReferenceError', async () => {
    // `globalThis.x` style access of a missing global property is not an outer variable.
    const error = await fail(() => {
      throw new ReferenceError('made up');
    });
    expect(error).toBeInstanceOf(ReferenceError);
  });

  // -- require() and import() inside --

  it('require() works inside a function: built-ins and packages from the working directory', async () => {
    expect(await run(() => require('node:path').join('a', 'b'))).toBe(path.join('a', 'b'));
    expect(await run(() => require('os').EOL)).toBe(require('os').EOL);
    expect(await run((v: string) => require('semver').valid(v), '1.2.3')).toBe('1.2.3');
    expect(await run((p: string) => require(p).mul(6, 7), CJS_MODULE)).toBe(42);
  });

  it('import() works inside a function: built-ins, packages, absolute file URLs', async () => {
    // Made with indirect eval: vitest rewrites import() in test files, a user's code keeps it.
    const make = (source: string) => (0, eval)(`(${source})`) as (...args: unknown[]) => unknown;
    expect(await run(make("async () => (await import('node:path')).basename('/x/y.txt')"))).toBe('y.txt');
    expect(await run(make('async (u) => (await import(u)).add(2, 3)'), pathToFileURL(MODULE).href)).toBe(5);
    expect(await run(make("async () => typeof (await import('semver')).default.valid"))).toBe('function');
  });

  // -- many --

  it('hundreds of JS tasks each get their own result, in any order of completion', async () => {
    const futures = Array.from({ length: 200 }, (_, i) =>
      loop.runInExecutor<number>(ex, (n: number) => (n % 7 === 0 ? Promise.resolve(n * n) : n * n), i),
    );
    for (const [i, f] of futures.entries()) expect(await kind.drive(loop, f)).toBe(i * i);
  });

  it('native work does not wait behind a JS thread starting up (one slot, JS submitted first)', async () => {
    const own = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Gate();
    try {
      // The JS task cannot finish before the native one is back (the test opens its gate then).
      const js = loop.runInExecutor(own, gated, gate.dir, 0, 'js', 5000);
      const native = loop.runInExecutor<Buffer>(own, tasks.digest, 'md5', 'x');
      const order: string[] = [];
      native.addDoneCallback(() => {
        order.push('native');
        gate.open(0);
      });
      js.addDoneCallback(() => order.push('js'));
      expect(await kind.drive(loop, js)).toBe('js');
      expect((await kind.drive(loop, native)).equals(tasks.digest('md5', 'x'))).toBe(true);
      expect(order).toEqual(['native', 'js']);
    } finally {
      gate.open(0);
      gate.dispose();
      await own.shutdown();
    }
  });

  // -- moduleTask --

  it('moduleTask with an absolute path runs the named export', async () => {
    expect(await run(moduleTask(MODULE, 'add'), 2, 40)).toBe(42);
  });

  it('moduleTask with a file: URL (URL object and string) runs the export', async () => {
    expect(await run(moduleTask(pathToFileURL(MODULE), 'add'), 1, 1)).toBe(2);
    expect(await run(moduleTask(pathToFileURL(MODULE).href, 'add'), 2, 2)).toBe(4);
  });

  it('moduleTask defaults to the default export', async () => {
    expect(await run(moduleTask(MODULE), 'pool')).toBe('hello pool');
    expect(await run(moduleTask(MODULE, 'default'), 'again')).toBe('hello again');
  });

  it('moduleTask of an async export awaits it', async () => {
    expect(await run(moduleTask(MODULE, 'slowDouble'), 21)).toBe(42);
  });

  it('moduleTask of a CommonJS file runs its export', async () => {
    expect(await run(moduleTask(CJS_MODULE, 'mul'), 6, 7)).toBe(42);
  });

  it('moduleTask of a node: built-in runs it (os.cpus, path.join)', async () => {
    const cpus = await run(moduleTask('node:os', 'cpus'));
    expect(Array.isArray(cpus)).toBe(true);
    expect(cpus.length).toBe(require('node:os').cpus().length);
    expect(await run(moduleTask('node:path', 'join'), 'a', 'b', 'c')).toBe(path.join('a', 'b', 'c'));
  });

  it('moduleTask of a package name resolves it from the working directory', async () => {
    expect(process.cwd()).toBe(root);
    expect(await run(moduleTask('semver', 'valid'), 'v1.2.3')).toBe('1.2.3');
    expect(await run(moduleTask('semver', 'gt'), '2.0.0', '1.9.9')).toBe(true);
  });

  it('moduleTask: arguments are cloned and errors come back with name, message and code', async () => {
    expect(await run(moduleTask(MODULE, 'describe'), new Date(5))).toEqual({ type: '[object Date]', value: new Date(5) });
    const error = await fail(moduleTask(MODULE, 'fail'), 'from the module');
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('from the module');
    expect(error.code).toBe('E_FIXTURE');
  });

  it('each pool thread imports a module once', async () => {
    const single = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const counts: number[] = [];
      for (let i = 0; i < 4; i++) counts.push(await kind.drive(loop, loop.runInExecutor<number>(single, moduleTask(MODULE, 'loads'))));
      await kind.drive(loop, loop.runInExecutor(single, moduleTask(MODULE, 'add'), 1, 2));
      counts.push(await kind.drive(loop, loop.runInExecutor<number>(single, moduleTask(MODULE, 'loads'))));
      expect(counts).toEqual([1, 1, 1, 1, 1]);
    } finally {
      await single.shutdown();
    }
  });

  it('a missing export fails the Future with a TypeError naming it', async () => {
    const error = await fail(moduleTask(MODULE, 'noSuchExportHere'));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('noSuchExportHere');
  });

  it('an export that is not a function fails the Future with a TypeError naming it', async () => {
    const error = await fail(moduleTask(MODULE, 'notAFunction'));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('notAFunction');
    const builtin = await fail(moduleTask('node:os', 'EOL'));
    expect(builtin).toBeInstanceOf(TypeError);
    expect(builtin.message).toContain('EOL');
  });

  it("a module that throws while loading fails the Future with the module's error", async () => {
    const error = await fail(moduleTask(BROKEN, 'anything'));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('pool-broken fixture failed to load');
  });

  it.each([
    ['a missing file', MISSING],
    ['a file with a syntax error', SYNTAX],
    ['a package that is not installed', 'evloop-no-such-package-anywhere'],
  ])("a module that cannot be loaded (%s) fails the Future with the loader's error", async (_label, specifier) => {
    const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
    const expected = nodeImportError(url);
    expect(expected).not.toBeNull();
    const error = await fail(moduleTask(specifier, 'f'));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(expected.name);
    expect(error.code).toBe(expected.code);
  });

  it('the pool thread goes on after a module failed to load', async () => {
    await fail(moduleTask(MISSING, 'f'));
    expect(await run(moduleTask('node:path', 'basename'), '/a/b')).toBe('b');
  });
});

// ---- console.log inside a task appears promptly (child processes) --------------------------

describe('console.log inside a pool function', () => {
  // The task logs, then blocks reading stdin; the test answers only after it saw the line.
  // If the line waited for the loop's run (or for the main thread's Node loop), neither side
  // would move: the child is killed at the bound and the test fails.
  const TASK = `() => {
    console.log('inside the task');
    const b = Buffer.alloc(3);
    require('node:fs').readSync(0, b, 0, 3, null);
    return 'task got ' + b.toString().trim();
  }`;
  const answer = (line: string, child: ChildProcess) => {
    if (line === 'inside the task') child.stdin!.write('go\n');
  };

  it('appears while a private loop blocks the main thread, before the run returns', async () => {
    const r = await spawnSource(
      `
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      const loop = evloop.newEventLoop();
      const v = loop.runUntilComplete(loop.runInExecutor(ex, ${TASK}));
      console.log('run returned: ' + v);
    `,
      { onLine: answer, timeoutMs: BOUND_MS },
    );
    expect(r.timedOut).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('inside the task\nrun returned: task got go\n');
  });

  it('appears on the host loop before the result', async () => {
    const r = await spawnSource(
      `
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      ex.submit(${TASK}).then((v) => console.log('result: ' + v));
    `,
      { onLine: answer, timeoutMs: BOUND_MS },
    );
    expect(r.timedOut).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('inside the task\nresult: task got go\n');
  });

  it('console.error goes to stderr, console.log to stdout', () => {
    const r = runChild(`
      const loop = evloop.newEventLoop();
      const ex = new evloop.ThreadPoolExecutor({ maxWorkers: 1 });
      loop.runUntilComplete(loop.runInExecutor(ex, () => { console.log('to out'); console.error('to err'); }));
    `);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('to out\n');
    expect(r.stderr).toBe('to err\n');
  });
});
