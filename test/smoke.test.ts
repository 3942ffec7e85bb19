import { describe, expect, it } from 'vitest';
import { LOOP_KINDS, evloop, runChild } from './harness';

describe.each(LOOP_KINDS)('$name loop smoke', (kind) => {
  it('runs callSoon callbacks in FIFO order', async () => {
    const loop = kind.make();
    const order: number[] = [];
    const done = loop.createFuture<void>();
    loop.callSoon(() => order.push(1));
    loop.callSoon(() => order.push(2));
    loop.callSoon(() => done.setResult());
    await kind.drive(loop, done);
    expect(order).toEqual([1, 2]);
    kind.dispose(loop);
  });
});

it('drives an async function in a child CommonJS process', () => {
  const r = runChild(`console.log(evloop.run(async () => { await evloop.sleep(1); return 7; }));`);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('7');
});

it('refuses promise work inside a microtask (vitest body)', () => {
  const loop = evloop.newEventLoop();
  expect(() => loop.runUntilComplete(async () => 1)).toThrow(expect.objectContaining({ code: 'ERR_MICROTASK_CONTEXT' }));
  loop.close();
});
