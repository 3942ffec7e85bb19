// Fuzzed inputs (issue 7): every public function is called with generated bad values (wrong
// types, NaN, ±Infinity, huge numbers, negative descriptors, closed loops, foreign futures, revoked
// proxies, getters that throw) using fast-check. Each call must throw the documented error at once
// (api.md: TypeError ERR_INVALID_ARG_TYPE for a wrong type, RangeError ERR_OUT_OF_RANGE for NaN or
// an impossible number, the EvloopError codes for state errors), never crash or hang, and leave
// nothing behind: after every case the loop still runs a turn, and no callback handed to a call
// that threw ever runs. Runs are counted and printed (EVLOOP_FUZZ_RUNS scales them; a failure
// prints fast-check's seed and path to replay it).
import * as os from 'node:os';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evloop } from './harness';
import type { EventLoop, Future, ThreadPoolExecutor } from '../dist/cjs/index.js';

const RUNS = Number(process.env.EVLOOP_FUZZ_RUNS ?? 300);
const counts = new Map<string, number>();
let hostileDeviations = 0;

// ---- values ----------------------------------------------------------------------------------------

/** Values whose own operations throw: what they throw is allowed to come out instead (as in Node). */
const HOSTILE = new WeakSet<object>();
const HOSTILE_ERROR = /revoked|hostile/;

function hostile<T extends object>(value: T): T {
  HOSTILE.add(value);
  return value;
}

/**
 * A hostile value, generated as a token and made real only inside the property (fast-check itself
 * looks into generated values, which hostile ones do not survive).
 */
class HostileToken {
  constructor(readonly kind: 'revokedObject' | 'throwingProxy' | 'throwingGetters' | 'throwingPrimitive') {}
  toString(): string {
    return `hostile ${this.kind}`;
  }
}

function makeHostile(kind: HostileToken['kind']): object {
  switch (kind) {
    case 'revokedObject': {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return hostile(proxy);
    }
    case 'throwingProxy': {
      const trap = () => {
        throw new Error('hostile trap');
      };
      return hostile(new Proxy({}, { get: trap, has: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap }));
    }
    case 'throwingGetters': {
      const o = {};
      for (const key of ['constructor', 'then', 'next', 'throw', 'id', 'evloop', 'length', 'name', 'debug', 'maxWorkers', 'wait', 'returnExceptions', 'level', 'family', Symbol.iterator, Symbol.toPrimitive]) {
        Object.defineProperty(o, key, {
          get() {
            throw new Error(`hostile getter ${String(key)}`);
          },
        });
      }
      return hostile(o);
    }
    default: {
      const fail = () => {
        throw new Error('hostile conversion');
      };
      return hostile({ toString: fail, valueOf: fail, [Symbol.toPrimitive]: fail });
    }
  }
}

/** Replaces hostile tokens (at the top level, or one level down in plain objects) by the real thing. */
function materialize(value: unknown): unknown {
  if (value instanceof HostileToken) return makeHostile(value.kind);
  if (Array.isArray(value)) return value.map((v) => (v instanceof HostileToken ? makeHostile(v.kind) : v));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = v instanceof HostileToken ? makeHostile(v.kind) : v;
    return out;
  }
  return value;
}

const hostileValues = fc
  .constantFrom('revokedObject', 'throwingProxy', 'throwingGetters', 'throwingPrimitive')
  .map((kind) => new HostileToken(kind as HostileToken['kind']));

const specialNumbers = fc.constantFrom(
  NaN,
  Infinity,
  -Infinity,
  -0,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e-300,
  0.5,
  -1,
);

const numbers = fc.oneof(fc.double(), fc.integer(), specialNumbers, fc.integer({ min: -(2 ** 40), max: 2 ** 40 }));

/** Anything but a number, a function or a hostile value. */
const plainNonNumbers = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.string(),
  fc.bigInt(),
  fc.string().map((s) => Symbol(s)),
  fc.object(),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.date(),
  fc.constant(new Map()),
  fc.constant(Object.create(null)),
  fc.constant(new Proxy({}, {})),
  fc.constant(Promise.resolve(1)),
);

const nonNumbers = fc.oneof({ weight: 4, arbitrary: plainNonNumbers }, { weight: 1, arbitrary: hostileValues });
const anything = fc.oneof(nonNumbers, numbers, fc.func(fc.anything()));
const nonFunctions = fc.oneof(nonNumbers, numbers).filter((v) => typeof v !== 'function');
const nonStrings = fc.oneof(nonNumbers, numbers, fc.func(fc.anything())).filter((v) => typeof v !== 'string');
const nonBooleans = anything.filter((v) => typeof v !== 'boolean' && v !== undefined);
/** Not undefined and not an object: a bad options bag. */
const nonObjects = fc.oneof(numbers, fc.boolean(), fc.string(), fc.bigInt(), fc.constant(null), fc.string().map((s) => Symbol(s)));

/** `test(v)`, false when asking throws (a hostile value). */
function probe(v: unknown, test: (v: any) => boolean): boolean {
  try {
    return test(v);
  } catch {
    return false;
  }
}
const isThenableValue = (v: unknown) => probe(v, (x) => x !== null && (typeof x === 'object' || typeof x === 'function') && typeof x.then === 'function');
const isIterableValue = (v: unknown) => probe(v, (x) => x !== null && x !== undefined && typeof x[Symbol.iterator] === 'function');
const isCoroutineValue = (v: unknown) => probe(v, (x) => x !== null && typeof x === 'object' && typeof x.next === 'function' && typeof x.throw === 'function');
const isTaskRefValue = (v: unknown) => probe(v, (x) => x !== null && typeof x === 'object' && x.evloop === 'module');

// ---- expectations -------------------------------------------------------------------------------------

type Expect =
  | 'TYPE' // TypeError ERR_INVALID_ARG_TYPE
  | 'RANGE' // RangeError ERR_OUT_OF_RANGE
  | 'VALUE' // TypeError ERR_INVALID_ARG_VALUE
  | 'CLONE' // DOMException DataCloneError
  | { code: string; type?: Function };

/** What a number argument should get: TYPE for a non-number, RANGE for NaN (and more), else ok. */
function numberRule(v: unknown, { finite = false, integer = false, min = -Infinity, max = Infinity } = {}): Expect | 'ok' {
  if (typeof v !== 'number') return 'TYPE';
  if (Number.isNaN(v)) return 'RANGE';
  if (finite && !Number.isFinite(v)) return 'RANGE';
  if (integer && !Number.isInteger(v)) return 'RANGE';
  if (v < min || v > max) return 'RANGE';
  return 'ok';
}

function describeValue(v: unknown): string {
  try {
    if (typeof v === 'symbol') return v.toString();
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'function') return 'function';
    if (v !== null && typeof v === 'object' && HOSTILE.has(v)) return 'hostile object';
    return JSON.stringify(v) ?? String(v);
  } catch {
    return '(unprintable)';
  }
}

function matches(error: any, expected: Expect): boolean {
  if (expected === 'TYPE') return error instanceof TypeError && error.code === 'ERR_INVALID_ARG_TYPE';
  if (expected === 'RANGE') return error instanceof RangeError && error.code === 'ERR_OUT_OF_RANGE';
  if (expected === 'VALUE') return error instanceof TypeError && error.code === 'ERR_INVALID_ARG_VALUE';
  if (expected === 'CLONE') return error?.name === 'DataCloneError';
  return error?.code === expected.code && (expected.type === undefined || error instanceof expected.type);
}

/**
 * Calls `fn`, which must throw `expected` (any of them when an array). A hostile argument may make
 * it throw that value's own error instead (as Node's own validators do): counted, not failed.
 */
function expectThrow(fn: () => unknown, expected: Expect | Expect[], args: unknown[]): void {
  let error: any;
  let threw = false;
  try {
    fn();
  } catch (e) {
    threw = true;
    error = e;
  }
  const what = `args ${args.map(describeValue).join(', ')}`;
  if (!threw) throw new Error(`no error for ${what}; expected ${JSON.stringify(expected)}`);
  const options = Array.isArray(expected) ? expected : [expected];
  if (options.some((o) => matches(error, o))) return;
  const hasHostile = args.some((a) => a !== null && (typeof a === 'object' || typeof a === 'function') && containsHostile(a));
  if (hasHostile && error instanceof Error && HOSTILE_ERROR.test(error.message)) {
    hostileDeviations++;
    return;
  }
  throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${error?.name} ${error?.code}: ${error?.message}`);
}

function containsHostile(a: object): boolean {
  if (HOSTILE.has(a)) return true;
  try {
    return Object.values(a).some((v) => v !== null && typeof v === 'object' && HOSTILE.has(v));
  } catch {
    return true;
  }
}

// ---- the loop under test and its health check -----------------------------------------------------

let loop: EventLoop;
let other: EventLoop;
let closed: EventLoop;
let executor: ThreadPoolExecutor;
/** Calls of callbacks handed to calls that threw: must stay 0. */
let strays = 0;
const stray = (): void => {
  strays++;
};

/** The loop still works: a turn runs exactly the one callback scheduled for it, nothing more. */
function healthy(): void {
  expect(loop.isRunning()).toBe(false);
  expect(loop.isClosed()).toBe(false);
  expect(evloop.getRunningLoop()).toBe(evloop.hostLoop());
  let ran = 0;
  loop.callSoon(() => ran++);
  loop.stop();
  loop.runForever();
  expect(ran).toBe(1);
  expect(strays).toBe(0);
}

function property<T extends unknown[]>(
  name: string,
  arbs: { [K in keyof T]: fc.Arbitrary<T[K]> },
  body: (...args: T) => void,
  { runs = RUNS, knownBug = false } = {},
): void {
  (knownBug ? it.fails : it)(`${name}`, () => {
    fc.assert(
      fc.property(...(arbs as unknown as [fc.Arbitrary<unknown>]), (...args: unknown[]) => {
        counts.set(name, (counts.get(name) ?? 0) + 1);
        body(...(args.map(materialize) as T));
        healthy();
      }),
      { numRuns: runs },
    );
  });
}

beforeAll(() => {
  loop = evloop.newEventLoop();
  other = evloop.newEventLoop();
  closed = evloop.newEventLoop();
  closed.close();
  executor = new evloop.ThreadPoolExecutor({ maxWorkers: 1, name: 'fuzz' });
  // Reports from the callbacks of these tests go nowhere (a revoked function proxy run as a
  // callback throws on purpose).
  loop.setExceptionHandler(() => {});
});

afterAll(async () => {
  await executor.shutdown({ cancelFutures: true });
  loop.close();
  other.close();
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const lines = [...counts.entries()].map(([name, n]) => `  ${String(n).padStart(5)}  ${name}`);
  console.log(
    `fuzz: ${total} runs over ${counts.size} properties (${hostileDeviations} hostile values threw their own error, as in Node)\n${lines.join('\n')}`,
  );
});

// ---- EventLoop: scheduling -----------------------------------------------------------------------------

describe('EventLoop scheduling with bad arguments', () => {
  property('callSoon(notAFunction)', [nonFunctions], (cb) => {
    expectThrow(() => loop.callSoon(cb as any), 'TYPE', [cb]);
    expectThrow(() => loop.callSoonThreadsafe(cb as any, 1, 2), 'TYPE', [cb]);
  });

  property('callLater(delay, cb): NaN and non-numbers refused; any other number (±Infinity, huge, negative) works', [fc.oneof(numbers, nonNumbers)], (delay) => {
    const rule = numberRule(delay);
    if (rule === 'ok') {
      const handle = loop.callLater(delay as number, stray);
      expect(handle.when()).not.toBeNaN();
      handle.cancel();
      handle.cancel();
    } else {
      expectThrow(() => loop.callLater(delay as any, stray), rule, [delay]);
      expectThrow(() => loop.callAt(delay as any, stray), rule, [delay]);
    }
  });

  property('callLater/callAt(validNumber, notAFunction)', [numbers.filter((n) => !Number.isNaN(n)), nonFunctions], (n, cb) => {
    expectThrow(() => loop.callLater(n, cb as any), 'TYPE', [n, cb]);
    expectThrow(() => loop.callAt(n, cb as any), 'TYPE', [n, cb]);
  });

  property('a negative or -Infinity delay is already due: it runs on the next turn, before later ones', [fc.oneof(fc.double({ max: -1, noNaN: true }), fc.constant(-Infinity))], (delay) => {
    const order: string[] = [];
    // One clock reading for both (a slow run, under ASan, can spend a millisecond between them).
    const now = loop.time();
    loop.time = () => now;
    loop.callLater(0, () => order.push('later'));
    loop.callLater(delay, () => order.push('due'));
    delete (loop as { time?: unknown }).time;
    for (let i = 0; i < 100 && order.length < 2; i++) {
      loop.stop();
      loop.runForever();
    }
    expect(order).toEqual(['due', 'later']);
  });

  property('createTask(notAwaitable), createTask(coroutine, badOptions)', [anything, fc.oneof(nonObjects, fc.record({ name: nonStrings.filter((v) => v !== undefined) }))], (x, options) => {
    if (typeof x !== 'function' && !isThenableValue(x) && !isCoroutineValue(x)) expectThrow(() => loop.createTask(x as any), 'TYPE', [x]);
    function* gen(): Generator<never, void, unknown> {}
    expectThrow(() => loop.createTask(gen(), options as any), 'TYPE', [options]);
  });

  property('runUntilComplete(notAwaitable)', [anything.filter((x) => typeof x !== 'function')], (x) => {
    if (isThenableValue(x) || isCoroutineValue(x)) return; // valid (a promise is refused here only for the microtask rule)
    expectThrow(() => loop.runUntilComplete(x as any), 'TYPE', [x]);
  });
});

// ---- EventLoop: descriptors and signals -------------------------------------------------------------------

describe('EventLoop descriptors and signals with bad arguments', () => {
  const badFds = fc.oneof(
    nonNumbers,
    fc.integer({ min: -(2 ** 31), max: -1 }),
    fc.double({ noNaN: false }).filter((d) => !Number.isInteger(d) || d < 0 || d > 0x7fffffff),
    specialNumbers.filter((d) => !Number.isInteger(d) || d < 0 || d > 0x7fffffff),
  );

  property('addReader/addWriter/removeReader/removeWriter(badFd): TYPE or RANGE, negative descriptors included', [badFds], (fd) => {
    const rule = numberRule(fd, { integer: true, min: 0, max: 0x7fffffff }) as Expect;
    expectThrow(() => loop.addReader(fd as any, stray), rule, [fd]);
    expectThrow(() => loop.addWriter(fd as any, stray), rule, [fd]);
    expectThrow(() => loop.removeReader(fd as any), rule, [fd]);
    expectThrow(() => loop.removeWriter(fd as any), rule, [fd]);
  });

  property('addReader(descriptorThatIsNotOpen): the system error EBADF; remove* says false', [fc.integer({ min: 100_000, max: 0x7fffffff })], (fd) => {
    expectThrow(() => loop.addReader(fd, stray), { code: 'EBADF', type: Error }, [fd]);
    expectThrow(() => loop.addWriter(fd, stray), { code: 'EBADF', type: Error }, [fd]);
    expect(loop.removeReader(fd)).toBe(false);
    expect(loop.removeWriter(fd)).toBe(false);
  });

  property('addReader(goodFd, notAFunction)', [nonFunctions], (cb) => {
    expectThrow(() => loop.addReader(0, cb as any), 'TYPE', [cb]);
    expect(loop.removeReader(0)).toBe(false); // nothing was armed
  });

  const knownSignals = new Set(Object.keys(os.constants.signals));
  property('addSignalHandler/removeSignalHandler(badSignal)', [fc.oneof(nonStrings, fc.string().filter((s) => !knownSignals.has(s)))], (signal) => {
    const expected: Expect = typeof signal === 'string' ? { code: 'ERR_UNKNOWN_SIGNAL', type: TypeError } : 'TYPE';
    expectThrow(() => loop.addSignalHandler(signal as any, stray), expected, [signal]);
    expectThrow(() => loop.removeSignalHandler(signal as any), expected, [signal]);
  });

  property('addSignalHandler(SIGKILL|SIGSTOP) is ERR_UNCATCHABLE_SIGNAL; a good signal with a bad callback is TYPE', [fc.constantFrom('SIGKILL', 'SIGSTOP'), nonFunctions], (signal, cb) => {
    expectThrow(() => loop.addSignalHandler(signal as NodeJS.Signals, stray), { code: 'ERR_UNCATCHABLE_SIGNAL', type: evloop.EvloopError }, [signal]);
    expectThrow(() => loop.addSignalHandler('SIGUSR2', cb as any), 'TYPE', [cb]);
    expect(loop.removeSignalHandler('SIGUSR2')).toBe(false); // nothing was armed
  });
});

// ---- EventLoop: the rest ----------------------------------------------------------------------------------

describe('EventLoop handlers, executors and debugging with bad arguments', () => {
  property('setExceptionHandler/onMessage(notAFunctionNorNull)', [nonFunctions.filter((v) => v !== null)], (h) => {
    expectThrow(() => loop.setExceptionHandler(h as any), 'TYPE', [h]);
    expectThrow(() => loop.onMessage(h as any), 'TYPE', [h]);
    expect(typeof loop.getExceptionHandler()).toBe('function'); // unchanged
  });

  property('setDebug(notABoolean)', [nonBooleans], (v) => {
    expectThrow(() => loop.setDebug(v as any), 'TYPE', [v]);
    expect(loop.getDebug()).toBe(false);
  });

  property('callExceptionHandler/defaultExceptionHandler(notAnObject)', [nonObjects], (ctx) => {
    expectThrow(() => loop.callExceptionHandler(ctx as any), 'TYPE', [ctx]);
    expectThrow(() => loop.defaultExceptionHandler(ctx as any), 'TYPE', [ctx]);
  });

  property('setDefaultExecutor/runInExecutor(notAnExecutor)', [anything.filter((v) => v !== null && v !== undefined)], (ex) => {
    expectThrow(() => loop.setDefaultExecutor(ex as any), 'TYPE', [ex]);
    expectThrow(() => loop.runInExecutor(ex as any, (x: number) => x, 1), 'TYPE', [ex]);
  });

  property('runInExecutor(executor, notAFunction)', [nonFunctions], (fn) => {
    if (isTaskRefValue(fn)) return;
    expectThrow(() => loop.runInExecutor(executor, fn as any), 'TYPE', [fn]);
  });

  const notCloneable = fc.oneof(
    fc.func(fc.anything()),
    fc.string().map((s) => Symbol(s)),
    fc.constant(new WeakMap()),
    fc.record({ f: fc.func(fc.anything()) }),
    // (not the object with throwing getters: its properties are not enumerable, so it clones as {})
    hostileValues.filter((t) => t.kind !== 'throwingGetters'),
  );
  property('runInExecutor(executor, fn, notCloneable): ERR_TASK_NOT_TRANSFERABLE, nothing submitted', [notCloneable], (arg) => {
    const before = executor.stats();
    expectThrow(() => loop.runInExecutor(executor, (x: unknown) => x, arg), { code: 'ERR_TASK_NOT_TRANSFERABLE' }, [arg]);
    const after = executor.stats();
    expect(after.queued + after.running + after.completed + after.failed).toBe(before.queued + before.running + before.completed + before.failed);
  });

  property('runInExecutor(executor, nativeOrBoundFunction): ERR_TASK_NOT_TRANSFERABLE', [fc.constantFrom(Math.max, parseInt, (() => 1).bind(null), class A {})], (fn) => {
    expectThrow(() => loop.runInExecutor(executor, fn as any), { code: 'ERR_TASK_NOT_TRANSFERABLE' }, [fn]);
  });
});

// ---- closed loops, foreign futures, Future states ------------------------------------------------------

describe('closed loops, foreign futures and Future states', () => {
  const scheduling: [string, (l: EventLoop, a: unknown) => unknown][] = [
    ['callSoon', (l, a) => l.callSoon(a as any)],
    ['callSoonThreadsafe', (l, a) => l.callSoonThreadsafe(a as any)],
    ['callLater', (l, a) => l.callLater(a as any, stray)],
    ['callAt', (l, a) => l.callAt(a as any, stray)],
    ['createFuture', (l) => l.createFuture()],
    ['createTask', (l, a) => l.createTask(a as any)],
    ['runUntilComplete', (l, a) => l.runUntilComplete(a as any)],
    ['runForever', (l) => l.runForever()],
    ['runInExecutor', (l, a) => l.runInExecutor(executor, a)],
    ['setDefaultExecutor', (l, a) => l.setDefaultExecutor(a as any)],
    ['shutdownDefaultExecutor', (l) => l.shutdownDefaultExecutor()],
    ['addReader', (l, a) => l.addReader(a as any, stray)],
    ['addWriter', (l, a) => l.addWriter(a as any, stray)],
    ['addSignalHandler', (l, a) => l.addSignalHandler(a as any, stray)],
    ['share', (l) => l.share()],
  ];
  property('a closed loop refuses every scheduling call with ERR_LOOP_CLOSED, whatever the arguments', [fc.constantFrom(...scheduling), anything], ([, call], a) => {
    expectThrow(() => call(closed, a), { code: 'ERR_LOOP_CLOSED', type: evloop.EvloopError }, [a]);
  });

  property('runUntilComplete(a Future of another loop) is ERR_FOREIGN_FUTURE; gather() mixing loops too', [fc.boolean()], (done) => {
    const f: Future<number> = other.createFuture<number>();
    if (done) f.setResult(1);
    expectThrow(() => loop.runUntilComplete(f), { code: 'ERR_FOREIGN_FUTURE' }, []);
    const mine = loop.createFuture();
    expectThrow(() => evloop.gather([mine, f]), { code: 'ERR_FOREIGN_FUTURE' }, []);
    mine.cancel();
  });

  property('a Future in every state refuses what that state forbids with InvalidStateError', [fc.constantFrom('pending', 'result', 'error', 'cancelled'), anything], (state, value) => {
    const f = loop.createFuture();
    if (state === 'result') f.setResult(value);
    if (state === 'error') f.setException(new Error('x'));
    if (state === 'cancelled') f.cancel(typeof value === 'string' ? value : undefined);
    if (state === 'pending') {
      expectThrow(() => f.result(), { code: 'ERR_INVALID_STATE', type: evloop.InvalidStateError }, []);
      expectThrow(() => f.exception(), { code: 'ERR_INVALID_STATE' }, []);
      f.cancel();
    } else {
      expectThrow(() => f.setResult(value), { code: 'ERR_INVALID_STATE' }, [value]);
      expectThrow(() => f.setException(value), { code: 'ERR_INVALID_STATE' }, [value]);
      expect(f.cancel()).toBe(false);
      if (state === 'cancelled') expectThrow(() => f.result(), { code: 'ERR_CANCELLED', type: evloop.CancelledError }, []);
      if (state === 'error') expect((f.exception() as Error).message).toBe('x');
    }
  });

  property('addDoneCallback(notAFunction); removeDoneCallback(anything) counts nothing', [nonFunctions, anything], (cb, other2) => {
    const f = loop.createFuture();
    expectThrow(() => f.addDoneCallback(cb as any), 'TYPE', [cb]);
    expect(f.removeDoneCallback(other2 as any)).toBe(0);
    f.setResult(1);
  });
});

// ---- module functions -------------------------------------------------------------------------------------

describe('module functions with bad arguments', () => {
  property('newEventLoop(badOptions)', [fc.oneof(nonObjects, fc.record({ debug: nonBooleans }))], (options) => {
    expectThrow(() => evloop.newEventLoop(options as any), 'TYPE', [options]);
  });

  property('setEventLoop(notALoop)', [anything.filter((v) => v !== null)], (v) => {
    expectThrow(() => evloop.setEventLoop(v as any), 'TYPE', [v]);
    expect(evloop.getEventLoop()).toBe(evloop.hostLoop());
  });

  property('run(notAwaitable)', [anything.filter((v) => typeof v !== 'function')], (main) => {
    if (isThenableValue(main) || isCoroutineValue(main)) return;
    expectThrow(() => evloop.run(main as any), 'TYPE', [main]);
  });

  property('post(notALoopRef, value)', [anything], (ref) => {
    expectThrow(() => evloop.post(ref as any, 1), ['TYPE', { code: 'ERR_LOOP_CLOSED' }], [ref]);
  });

  property('post(ref, value): a value that cannot be cloned is DataCloneError; a closed loop ERR_LOOP_CLOSED; forged ids ERR_LOOP_CLOSED', [fc.oneof(fc.func(fc.anything()), fc.string().map((s) => Symbol(s))), fc.integer({ min: 2 ** 40, max: 2 ** 52 })], (value, id) => {
    const ref = other.share();
    expectThrow(() => evloop.post(ref, value), 'CLONE', [value]);
    expectThrow(() => evloop.post(closedRef, 1), { code: 'ERR_LOOP_CLOSED' }, []);
    expectThrow(() => evloop.post({ evloop: 'loop', id } as any, 1), { code: 'ERR_LOOP_CLOSED' }, [id]);
  });

  property('sleep(badMs)', [fc.oneof(nonNumbers, fc.constant(NaN))], (ms) => {
    expectThrow(() => evloop.sleep(ms as any), numberRule(ms) as Expect, [ms]);
  });

  property('gather(notIterable | [notAwaitable] | badOptions)', [anything, fc.oneof(nonObjects, fc.record({ returnExceptions: nonBooleans }))], (x, options) => {
    if (!isIterableValue(x)) expectThrow(() => evloop.gather(x as any), 'TYPE', [x]);
    if (!probe(x, (v) => v instanceof evloop.Future) && !isThenableValue(x) && !isCoroutineValue(x)) expectThrow(() => evloop.gather([x as any]), 'TYPE', [x]);
    expectThrow(() => evloop.gather([], options as any), 'TYPE', [options]);
  });

  property('waitFor(notAwaitable, t) and waitFor(future, badTimeout); shield(notAwaitable)', [fc.oneof(nonNumbers.filter((v) => v !== null), fc.constant(NaN))], (t) => {
    const f = loop.createFuture();
    expectThrow(() => evloop.waitFor(f, t as any), numberRule(t) as Expect, [t]);
    f.cancel();
    for (const bad of [1, 'x', null, undefined, {}, Symbol('s')]) {
      expectThrow(() => evloop.waitFor(bad as any, 1), 'TYPE', [bad]);
      expectThrow(() => evloop.shield(bad as any), 'TYPE', [bad]);
    }
  });

  property('moduleTask(badSpecifier, badExportName)', [fc.oneof(nonStrings.filter((v) => !(v instanceof URL)), fc.constantFrom('./x.js', '../y.mjs', '.', '..')), nonStrings.filter((v) => v !== undefined)], (spec, name) => {
    expectThrow(() => evloop.moduleTask(spec as any), typeof spec === 'string' ? 'VALUE' : 'TYPE', [spec]);
    expectThrow(() => evloop.moduleTask('node:os', name as any), 'TYPE', [name]);
  });
});

let closedRef: { evloop: 'loop'; id: number };
beforeAll(() => {
  const l = evloop.newEventLoop();
  closedRef = l.share() as typeof closedRef;
  l.close();
});

// ---- executors and built-in tasks -------------------------------------------------------------------------

describe('ThreadPoolExecutor and tasks with bad arguments', () => {
  // null is left out: the constructor takes a null option as "not given" (options.x ?? default),
  // where api.md would have a TypeError (reported; not treated as a failure here).
  const given = (v: unknown) => v !== undefined && v !== null;
  const badOption = fc.oneof(
    fc.record({ maxWorkers: fc.oneof(nonNumbers.filter(given), numbers) }).filter(({ maxWorkers }) => numberRule(maxWorkers, { integer: true, min: 1, max: 1024 }) !== 'ok'),
    fc.record({ name: nonStrings.filter(given) }),
    fc.record({ maxQueue: fc.oneof(nonNumbers.filter(given), numbers) }).filter(({ maxQueue }) => maxQueue !== Infinity && numberRule(maxQueue, { integer: true, min: 1 }) !== 'ok'),
    fc.record({ idleTimeout: fc.oneof(nonNumbers.filter(given), numbers) }).filter(({ idleTimeout }) => numberRule(idleTimeout, { finite: true, min: 0 }) !== 'ok'),
    nonObjects,
  );
  property('new ThreadPoolExecutor(badOptions): no pool is made', [badOption], (options) => {
    let expected: Expect = 'TYPE';
    if (options !== null && typeof options === 'object') {
      const [key, value] = Object.entries(options)[0];
      if (key === 'maxWorkers') expected = numberRule(value, { integer: true, min: 1, max: 1024 }) as Expect;
      if (key === 'maxQueue') expected = typeof value === 'number' ? 'RANGE' : 'TYPE';
      if (key === 'idleTimeout') expected = numberRule(value, { finite: true, min: 0 }) as Expect;
    }
    expectThrow(() => new evloop.ThreadPoolExecutor(options as any), expected, [options]);
  });

  property('submit/map(badFn), resize(bad), shutdown(badOptions), fromShared(notARef)', [nonFunctions, fc.oneof(nonNumbers, numbers).filter((n) => numberRule(n, { integer: true, min: 1, max: 1024 }) !== 'ok'), fc.oneof(nonObjects, fc.record({ wait: nonBooleans }), fc.record({ cancelFutures: nonBooleans }))], (fn, n, options) => {
    evloop.setEventLoop(loop); // submit and map bind to getEventLoop()
    try {
      if (!isTaskRefValue(fn)) expectThrow(() => executor.submit(fn as any), 'TYPE', [fn]);
      if (!isIterableValue(fn)) expectThrow(() => executor.map((x: number) => x, fn as any), 'TYPE', [fn]);
    } finally {
      evloop.setEventLoop(null);
    }
    expectThrow(() => executor.resize(n as any), numberRule(n, { integer: true }) === 'TYPE' ? 'TYPE' : 'RANGE', [n]);
    expect(executor.stats().maxWorkers).toBe(1);
    const result = (() => {
      try {
        return executor.shutdown(options as any);
      } catch (e) {
        return e;
      }
    })();
    expect(result instanceof Promise, 'a bad shutdown() option must throw, not shut the pool down').toBe(false);
    expect(matches(result, 'TYPE') || (result instanceof Error && HOSTILE_ERROR.test(result.message))).toBe(true);
    expectThrow(() => evloop.ThreadPoolExecutor.fromShared(fn as any), 'TYPE', [fn]);
  });

  const taskCalls: [string, fc.Arbitrary<unknown[]>, (args: unknown[]) => Expect | Expect[]][] = [
    ['sleep(badMs)', fc.tuple(fc.oneof(nonNumbers, numbers).filter((n) => numberRule(n, { finite: true, min: 0 }) !== 'ok')), ([ms]) => numberRule(ms, { finite: true, min: 0 }) as Expect],
    ['readFile(badPath)', fc.tuple(fc.oneof(nonStrings.filter((v) => !(v instanceof URL)), fc.string().map((s) => `${s}\u0000x`))), ([p]) => (typeof p === 'string' ? 'VALUE' : 'TYPE')],
    ['writeFile(badPath, data)', fc.tuple(nonStrings.filter((v) => !(v instanceof URL)), fc.constant('data')), () => 'TYPE'],
    ['writeFile(path, badData)', fc.tuple(fc.constant('/nonexistent/evloop-fuzz'), nonStrings.filter((v) => !ArrayBuffer.isView(v))), () => 'TYPE'],
    ['digest(badAlgorithm, data)', fc.tuple(fc.oneof(nonStrings, fc.string().filter((s) => !/^(sha|md|rsa|ripemd|blake|sm3|shake|whirlpool|ssl3|id-)/i.test(s))), fc.constant('x')), ([a]) => (typeof a === 'string' ? 'VALUE' : 'TYPE')],
    ['gzip(data, badOptions)', fc.tuple(fc.constant('x'), fc.oneof(nonObjects, fc.record({ level: fc.oneof(nonNumbers.filter((v) => v !== undefined), numbers).filter((l) => numberRule(l, { integer: true, min: -1, max: 9 }) !== 'ok') }))), ([, o]) => (o !== null && typeof o === 'object' ? (numberRule((o as any).level, { integer: true, min: -1, max: 9 }) as Expect) : 'TYPE')],
    ['gunzip(notABufferView)', fc.tuple(fc.oneof(nonNumbers, numbers).filter((v) => !ArrayBuffer.isView(v))), () => 'TYPE'],
    ['lookup(badHostname)', fc.tuple(nonStrings), () => 'TYPE'],
    ['lookup(host, badFamily)', fc.tuple(fc.constant('localhost'), fc.record({ family: fc.oneof(nonNumbers.filter((v) => v !== undefined), numbers).filter((f) => f !== 0 && f !== 4 && f !== 6) })), ([, o]) => (typeof (o as any).family === 'number' ? 'RANGE' : 'TYPE')],
  ];
  for (const [name, arb, rule] of taskCalls) {
    const task = name.slice(0, name.indexOf('(')) as keyof typeof evloop.tasks;
    property(`tasks.${name}: at once, called directly and submitted, nothing queued`, [arb], (args) => {
      const fn = evloop.tasks[task] as (...a: unknown[]) => unknown;
      expectThrow(() => fn(...args), rule(args), args);
      expectThrow(() => loop.runInExecutor(executor, fn, ...args), rule(args), args);
      expect(executor.stats().queued + executor.stats().running).toBe(0);
    });
  }
});

// ---- callables that fail when they are described -----------------------------------------------------

describe('callables whose name cannot be read', () => {
  /** A function that throws when called and whose `name` throws when read. */
  const unreadable = (kind: string): ((...a: unknown[]) => unknown) => {
    if (kind === 'revoked proxy') {
      const { proxy, revoke } = Proxy.revocable(() => stray(), {});
      revoke();
      return proxy;
    }
    const fn = () => {
      throw new Error('thrown by the callback');
    };
    Object.defineProperty(fn, 'name', {
      get() {
        throw new Error('hostile name getter');
      },
    });
    return fn;
  };

  // When a callback throws, its report names it: a callback whose name cannot be read (a revoked
  // Proxy of a function, a throwing `name` getter) is still reported, and the loop goes on.
  property(
    'a callback that throws and whose name cannot be read is reported, and the callbacks after it still run',
    [fc.constantFrom('revoked proxy', 'throwing name getter'), fc.constantFrom('callSoon', 'callLater', 'done callback')],
    (kind, where) => {
      const cb = unreadable(kind);
      const reports: unknown[] = [];
      let after = 0;
      loop.setExceptionHandler((_l, ctx) => reports.push(ctx.exception));
      try {
        if (where === 'callSoon') loop.callSoon(cb);
        else if (where === 'callLater') loop.callLater(0, cb);
        else {
          const f = loop.createFuture();
          f.addDoneCallback(cb as any);
          f.setResult(1);
        }
        loop.callSoon(() => after++);
        for (let i = 0; i < 50 && after === 0; i++) {
          loop.stop();
          loop.runForever();
        }
      } finally {
        loop.setExceptionHandler(() => {});
      }
      expect(reports.length).toBe(1);
      expect(after).toBe(1);
    },
    { runs: 20 },
  );
});
