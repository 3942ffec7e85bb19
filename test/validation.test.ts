// Bad arguments to the loop, Future, Task and helper API throw synchronously: a TypeError with
// code ERR_INVALID_ARG_TYPE for a wrong type, a RangeError with code ERR_OUT_OF_RANGE for NaN or
// an impossible number, each naming the argument.
import { describe, expect, it } from 'vitest';
import { LOOP_KINDS, evloop, type LoopKind, thrown } from './harness';
import type { EventLoop } from '../dist/cjs/index.js';

function expectTypeError(fn: () => unknown, name: RegExp): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(TypeError);
  expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
  expect(error.message).toMatch(name);
}

function expectRangeError(fn: () => unknown, name: RegExp): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(RangeError);
  expect(error.code).toBe('ERR_OUT_OF_RANGE');
  expect(error.message).toMatch(name);
}

const CB = /\b(cb|callback)\b/;
const noop = () => {};
function* gen(): Generator<any, void, any> {}

type LoopCall = [string, (loop: EventLoop) => unknown, RegExp];

const loopTypeErrors: LoopCall[] = [
  ['callSoon(123)', (l) => l.callSoon(123 as any), CB],
  ['callSoon()', (l) => (l.callSoon as any)(), CB],
  ["callSoonThreadsafe('x')", (l) => l.callSoonThreadsafe('x' as any), CB],
  ["callLater('5', cb)", (l) => l.callLater('5' as any, noop), /\bdelay\b/],
  ['callLater(undefined, cb)', (l) => l.callLater(undefined as any, noop), /\bdelay\b/],
  ['callLater(1n, cb)', (l) => l.callLater(1n as any, noop), /\bdelay\b/],
  ["callLater(1, 'x')", (l) => l.callLater(1, 'x' as any), CB],
  ["callAt('x', cb)", (l) => l.callAt('x' as any, noop), /\bwhen\b/],
  ['callAt(null, cb)', (l) => l.callAt(null as any, noop), /\bwhen\b/],
  ['callAt(time, {})', (l) => l.callAt(l.time(), {} as any), CB],
  ['createTask(42)', (l) => l.createTask(42 as any), /\bx\b/],
  ['createTask(null)', (l) => l.createTask(null as any), /\bx\b/],
  ["createTask(gen, { name: 5 })", (l) => l.createTask(gen(), { name: 5 as any }), /\bname\b/],
  ["createTask(gen, 'options')", (l) => l.createTask(gen(), 'options' as any), /\boptions\b/],
  ['setExceptionHandler(1)', (l) => l.setExceptionHandler(1 as any), /\bhandler\b/],
  ["setExceptionHandler('x')", (l) => l.setExceptionHandler('x' as any), /\bhandler\b/],
  ["callExceptionHandler('x')", (l) => l.callExceptionHandler('x' as any), /\bcontext\b/],
  ['callExceptionHandler(null)', (l) => l.callExceptionHandler(null as any), /\bcontext\b/],
  ['defaultExceptionHandler(5)', (l) => l.defaultExceptionHandler(5 as any), /\bcontext\b/],
  ["setDebug('yes')", (l) => l.setDebug('yes' as any), /\benabled\b/],
  ['setDebug(1)', (l) => l.setDebug(1 as any), /\benabled\b/],
  ["runInExecutor('x', fn)", (l) => l.runInExecutor('x' as any, noop), /\bexecutor\b/],
  ['runInExecutor({}, fn)', (l) => l.runInExecutor({} as any, noop), /\bexecutor\b/],
  ['setDefaultExecutor(42)', (l) => l.setDefaultExecutor(42 as any), /\bexecutor\b/],
  ['createFuture().addDoneCallback(42)', (l) => l.createFuture().addDoneCallback(42 as any), CB],
];

const loopRangeErrors: LoopCall[] = [
  ['callLater(NaN, cb)', (l) => l.callLater(NaN, noop), /\bdelay\b/],
  ['callAt(NaN, cb)', (l) => l.callAt(NaN, noop), /\bwhen\b/],
];

describe.each(LOOP_KINDS)('$name loop: wrong argument types', (kind: LoopKind) => {
  it.each(loopTypeErrors)('%s throws TypeError ERR_INVALID_ARG_TYPE naming the argument', (_label, call, name) => {
    const loop = kind.make();
    expectTypeError(() => call(loop), name);
    kind.dispose(loop);
  });

  it.each(loopRangeErrors)('%s throws RangeError ERR_OUT_OF_RANGE naming the argument', (_label, call, name) => {
    const loop = kind.make();
    expectRangeError(() => call(loop), name);
    kind.dispose(loop);
  });

  it('a refused callLater/callAt/callSoon schedules nothing', async () => {
    const loop = kind.make();
    const ran: string[] = [];
    thrown(() => loop.callLater(NaN, () => ran.push('callLater')));
    thrown(() => loop.callAt(NaN, () => ran.push('callAt')));
    thrown(() => (loop.callSoon as any)('not a function', () => ran.push('callSoon')));
    const done = loop.createFuture<void>();
    loop.callLater(2, () => done.setResult());
    await kind.drive(loop, done);
    expect(ran).toEqual([]);
    kind.dispose(loop);
  });
});

describe('private loop: wrong argument types of running', () => {
  it('runUntilComplete(42) throws TypeError naming x', () => {
    const loop = evloop.newEventLoop();
    expectTypeError(() => loop.runUntilComplete(42 as any), /\bx\b/);
    expect(loop.isRunning()).toBe(false);
    loop.close();
  });

  it("runUntilComplete('text') throws TypeError naming x", () => {
    const loop = evloop.newEventLoop();
    expectTypeError(() => loop.runUntilComplete('text' as any), /\bx\b/);
    loop.close();
  });
});

type Call = [string, () => unknown, RegExp];

const moduleTypeErrors: Call[] = [
  ["newEventLoop('x')", () => evloop.newEventLoop('x' as any), /\boptions\b/],
  ['newEventLoop(42)', () => evloop.newEventLoop(42 as any), /\boptions\b/],
  ["newEventLoop({ debug: 'yes' })", () => evloop.newEventLoop({ debug: 'yes' as any }), /\bdebug\b/],
  ['setEventLoop({})', () => evloop.setEventLoop({} as any), /\bloop\b/],
  ["setEventLoop('x')", () => evloop.setEventLoop('x' as any), /\bloop\b/],
  ['run(42)', () => evloop.run(42 as any), /\bmain\b/],
  ['run(null)', () => evloop.run(null as any), /\bmain\b/],
  ["run(gen, { debug: 'yes' })", () => evloop.run(gen, { debug: 'yes' as any }), /\bdebug\b/],
  ["sleep('1')", () => evloop.sleep('1' as any), /\bms\b/],
  ['sleep()', () => (evloop.sleep as any)(), /\bms\b/],
  ['gather(42)', () => evloop.gather(42 as any), /\bxs\b/],
  ['gather(null)', () => evloop.gather(null as any), /\bxs\b/],
  ['gather([42])', () => evloop.gather([42 as any]), /\bxs\b/],
  ["gather([], { returnExceptions: 'yes' })", () => evloop.gather([], { returnExceptions: 'yes' as any }), /\breturnExceptions\b/],
  ["waitFor(future, 'a')", () => evloop.waitFor(evloop.hostLoop().createFuture(), 'a' as any), /\btimeoutMs\b/],
  ['waitFor(future, undefined)', () => evloop.waitFor(evloop.hostLoop().createFuture(), undefined as any), /\btimeoutMs\b/],
  ['waitFor(42, 10)', () => evloop.waitFor(42 as any, 10), /\bx\b/],
  ['shield(42)', () => evloop.shield(42 as any), /\bx\b/],
  ["shield('x')", () => evloop.shield('x' as any), /\bx\b/],
];

const moduleRangeErrors: Call[] = [
  ['sleep(NaN)', () => evloop.sleep(NaN), /\bms\b/],
  ['waitFor(future, NaN)', () => evloop.waitFor(evloop.hostLoop().createFuture(), NaN), /\btimeoutMs\b/],
];

describe('module functions: wrong argument types', () => {
  it.each(moduleTypeErrors)('%s throws TypeError ERR_INVALID_ARG_TYPE naming the argument', (_label, call, name) => {
    expectTypeError(call, name);
  });

  it.each(moduleRangeErrors)('%s throws RangeError ERR_OUT_OF_RANGE naming the argument', (_label, call, name) => {
    expectRangeError(call, name);
  });

  it('a refused waitFor leaves its inner Future alone', () => {
    const f = evloop.hostLoop().createFuture<number>();
    thrown(() => evloop.waitFor(f, NaN));
    expect(f.done()).toBe(false);
    f.cancel();
  });

  it('a refused run() leaves no loop set or running', () => {
    thrown(() => evloop.run(gen, { debug: 'yes' as any }));
    expect(evloop.getEventLoop()).toBe(evloop.hostLoop());
    expect(evloop.getRunningLoop()).toBe(evloop.hostLoop());
  });
});
