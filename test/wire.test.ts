// lib/wire.ts: the bytes of posts and pool arguments and results. V8 is the oracle: the same
// bytes as v8.serialize for plain values, and the same value (or error) as v8.deserialize.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { inspect, isDeepStrictEqual } from 'node:util';
import * as v8 from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { root } from './harness';

const { serialize, deserialize } = createRequire(__filename)(path.join(root, 'dist/cjs/wire.js')) as {
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
};

/** A copy of the bytes: serialize's live in a scratch buffer the next call reuses. */
const bytesOf = (value: unknown): Buffer => Buffer.from(serialize(value));

/** Deeply equal; inspect() too, for an Invalid Date, which isDeepStrictEqual never finds equal. */
function same(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) || inspect(a, { depth: Infinity }) === inspect(b, { depth: Infinity });
}

function cyclic(): unknown {
  const node: Record<string, unknown> = { name: 'a' };
  node.self = node;
  const list: unknown[] = [node];
  list.push(list);
  return { node, list };
}

const PLAIN: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['booleans', [true, false]],
  ['int32 edges', [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 63, 64, -64, -65, 8191, 8192]],
  ['doubles', [-0, 2 ** 31, -(2 ** 31) - 1, 1.5, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53]],
  ['strings', ['', 'abc', 'é', 'ü\u00ff', '日本', '\ud800', 'a\ud83d\ude00b', '\u0000']],
  ['a long one-byte string', 'x'.repeat(70_000)],
  ['a long two-byte string', '日'.repeat(70_000)],
  ['two-byte strings at odd and even offsets', ['日', ['a', '日'], { k: '日', kk: '本' }]],
  ['nested objects and arrays', { w: 1, seqs: [1, 2, 3], deep: { a: [[], {}, [{ b: null }]] } }],
  ['element keys', { 1: 'x', b: 2, 0: 'y', 4294967294: 'last index', 4294967295: 'not an index', '01': 'not one either' }],
  ['shared references', (() => { const shared = [1, 2]; return { x: shared, y: shared, z: [shared] }; })()],
  ['cycles', cyclic()],
];

const OTHERS: [string, unknown][] = [
  ['a Date', new Date(0)],
  ['a Map and a Set', [new Map([[1, { a: 2 }]]), new Set(['x'])]],
  ['a sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['an array with a named property', Object.assign([1], { extra: 1 })],
  ['a regexp match', /b(c)/.exec('abc')],
  ['a bigint', { big: 10n }],
  ['a Buffer and typed arrays', [Buffer.from('hi'), new Float64Array([1.5]), new ArrayBuffer(3)]],
  ['a null-prototype object', Object.assign(Object.create(null), { a: 1 })],
  ['a class instance', new (class Point { x = 1; y = 2; })()],
  ['boxed primitives and an Error', [Object(1), Object('s'), new RangeError('r')]],
  ['plain values around one that is not', { a: [1, 'x'], b: new Date(5), c: { d: 2 } }],
];

describe('wire.serialize', () => {
  it.each(PLAIN)('%s: the same bytes as v8.serialize', (_name, value) => {
    expect(bytesOf(value).equals(v8.serialize(value))).toBe(true);
  });

  it.each([...PLAIN, ...OTHERS])('%s: v8.deserialize gives back what it gives for v8.serialize', (_name, value) => {
    expect(isDeepStrictEqual(v8.deserialize(bytesOf(value)), v8.deserialize(v8.serialize(value)))).toBe(true);
  });

  it('generated values (fast-check): v8.deserialize gives back what it gives for v8.serialize', () => {
    const values = fc.anything({
      maxDepth: 4,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withSparseArray: true,
      withNullPrototype: true,
      withBoxedValues: true,
      withUnicodeString: true,
    });
    fc.assert(
      fc.property(values, (value) => same(v8.deserialize(bytesOf(value)), v8.deserialize(v8.serialize(value)))),
      { numRuns: 2000 },
    );
  });

  it('throws what v8.serialize throws for what cannot be cloned', () => {
    for (const value of [() => 1, Symbol('s'), { f() {} }, [1, Symbol.iterator], new Proxy({}, {})]) {
      let expected: unknown;
      try {
        v8.serialize(value);
      } catch (error) {
        expected = error;
      }
      expect(expected).toBeDefined();
      expect(() => serialize(value)).toThrow(expected as Error);
    }
  });

  it("a getter's error comes out as it is; a getter that serializes meanwhile does not corrupt the outer value", () => {
    const boom = new Error('getter failed');
    expect(() => serialize({ get bad() { throw boom; } })).toThrow(boom);
    const outer = { a: 'before', get inner() { return Buffer.from(serialize({ nested: [1, 2, 3] })).length; }, z: 'after' };
    expect(v8.deserialize(bytesOf(outer))).toEqual({ a: 'before', inner: v8.serialize({ nested: [1, 2, 3] }).length, z: 'after' });
  });

  it('very deep values are left to v8.serialize instead of overflowing the stack', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 2000; i++) deep = [deep];
    expect(bytesOf(deep).equals(v8.serialize(deep))).toBe(true);
  });

  it('a value larger than the kept scratch buffer, then small ones again', () => {
    const big = { text: 'y'.repeat(3 << 20), list: Array.from({ length: 1000 }, (_, i) => i) };
    expect(bytesOf(big).equals(v8.serialize(big))).toBe(true);
    expect(bytesOf({ small: 1 }).equals(v8.serialize({ small: 1 }))).toBe(true);
  });
});

describe('wire.deserialize', () => {
  const both = (value: unknown): [string, Buffer][] => [
    ['wire.serialize', bytesOf(value)],
    ['v8.serialize', v8.serialize(value)],
  ];
  /** What v8.deserialize gives, or the class and message of what it throws. */
  const outcome = (read: (bytes: Buffer) => unknown, bytes: Buffer): unknown => {
    try {
      const value = read(bytes);
      return { value, proto: value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined };
    } catch (error) {
      return { threw: (error as Error).constructor.name, message: (error as Error).message };
    }
  };

  it.each([...PLAIN, ...OTHERS])('%s: the same value as v8.deserialize, from both writers', (_name, value) => {
    for (const [, bytes] of both(value)) {
      expect(isDeepStrictEqual(outcome(deserialize, bytes), outcome(v8.deserialize, bytes))).toBe(true);
    }
  });

  it('a "__proto__" key is an own property, as V8 makes it, not the prototype', () => {
    const value = deserialize(v8.serialize(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'))) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
    expect((value as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('shared and cyclic references come back shared and cyclic', () => {
    const value = deserialize(bytesOf(cyclic())) as { node: { self: unknown }; list: unknown[] };
    expect(value.node.self).toBe(value.node);
    expect(value.list[0]).toBe(value.node);
    expect(value.list[1]).toBe(value.list);
  });

  it('generated values (fast-check), from both writers: the same as v8.deserialize', () => {
    const values = fc.anything({ maxDepth: 4, withBigInt: true, withDate: true, withMap: true, withSparseArray: true, withUnicodeString: true, withNullPrototype: true });
    fc.assert(
      fc.property(values, (value) =>
        both(value).every(([, bytes]) => same(outcome(deserialize, bytes), outcome(v8.deserialize, bytes))),
      ),
      { numRuns: 2000 },
    );
  });

  it('damaged bytes (truncated, a byte changed): the same value or the same error as v8.deserialize, never a hang', () => {
    const samples = fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.nat(255), fc.boolean());
    fc.assert(
      fc.property(samples, ([value, where, byteValue, truncate]) => {
        const bytes = Buffer.from(bytesOf(value));
        const i = where % bytes.length;
        const damaged = truncate ? bytes.subarray(0, i) : Buffer.from(bytes).fill(byteValue, i, i + 1);
        return same(outcome(deserialize, damaged), outcome(v8.deserialize, damaged));
      }),
      { numRuns: 3000 },
    );
  });
});
