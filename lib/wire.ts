// Structured-clone bytes for what crosses threads (posts, pool arguments and results), in the
// format of v8.serialize and v8.deserialize. Plain values (primitives, plain objects and dense
// arrays of them, shared and cyclic references included) are written and read here; anything
// else goes to v8.serialize / v8.deserialize whole. Why not V8's for all: each call builds a
// (De)Serializer object; a Serializer's native memory (a V8 zone) is freed only when the garbage
// collector gets to its small wrapper, so a thread serializing in a loop grows by hundreds of MB
// (bench/soak.js), and each call costs microseconds where this costs a fraction of one.
//
// Tags and layout follow V8's value-serializer.cc; v8.deserialize checks every count written here.
import * as os from 'node:os';
import { types } from 'node:util';
import * as v8 from 'node:v8';

const VERSION = v8.serialize(undefined)[1]; // the header is 0xFF, version
const HOST_ORDER_IS_LE = os.endianness() === 'LE'; // doubles are written in host order
const TAG_PADDING = 0x00;
const TAG_UNDEFINED = 0x5f; // _
const TAG_NULL = 0x30; // 0
const TAG_TRUE = 0x54; // T
const TAG_FALSE = 0x46; // F
const TAG_INT32 = 0x49; // I, zigzag varint
const TAG_DOUBLE = 0x4e; // N, 8 bytes in host order
const TAG_ONE_BYTE_STRING = 0x22; // ", varint length, Latin-1
const TAG_TWO_BYTE_STRING = 0x63; // c, varint byte length, UTF-16 (after padding to an even offset)
const TAG_OBJECT = 0x6f; // o, key value ..., { varint count
const TAG_END_OBJECT = 0x7b;
const TAG_DENSE_ARRAY = 0x41; // A varint length, value ..., $ varint 0 (named properties), varint length
const TAG_END_DENSE_ARRAY = 0x24;
const TAG_REFERENCE = 0x5e; // ^ varint id: an object written before (ids count objects in the order written)
const TAG_UTF8_STRING = 0x53; // S, varint byte length, UTF-8 (V8 reads it, no longer writes it)

const MAX_DEPTH = 1000; // deeper values go to v8.serialize, which does not recurse on the JS stack
const SCRATCH_BYTES = 4096;
const KEEP_BYTES = 1 << 20; // a scratch buffer grown past this is dropped after use

/** Thrown inside the writer and the reader for what they leave to V8. */
const UNSUPPORTED = Symbol('unsupported');

// ---- writing ------------------------------------------------------------------------------------

let buf = Buffer.allocUnsafe(SCRATCH_BYTES);
let pos = 0;
// The objects written so far, in order (an object's id is its index). Searched linearly while
// few (a Map costs more than the search for the small values that cross most), then indexed.
const written: object[] = [];
let index: Map<object, number> | null = null;
const INDEX_FROM = 16;
let busy = false; // a getter that posts while we write: the inner call takes v8.serialize

/**
 * The structured-clone bytes of `value`. They live in a scratch buffer that the next call
 * overwrites: hand them to the addon (which copies them) before serializing anything else.
 * Throws what v8.serialize throws for values that cannot be cloned, and what a getter throws.
 */
export function serialize(value: unknown): Uint8Array {
  if (busy || !HOST_ORDER_IS_LE) return v8.serialize(value);
  busy = true;
  try {
    pos = 0;
    ensure(2);
    buf[pos++] = 0xff;
    buf[pos++] = VERSION;
    write(value, 0);
    return new Uint8Array(buf.buffer, buf.byteOffset, pos);
  } catch (error) {
    if (error !== UNSUPPORTED) throw error;
    // Getters of the plain objects written so far run a second time here.
    return v8.serialize(value);
  } finally {
    busy = false;
    written.length = 0;
    index = null;
    if (buf.length > KEEP_BYTES) buf = Buffer.allocUnsafe(SCRATCH_BYTES);
  }
}

function write(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'undefined':
      return tag(TAG_UNDEFINED);
    case 'boolean':
      return tag(value ? TAG_TRUE : TAG_FALSE);
    case 'number':
      return writeNumber(value);
    case 'string':
      return writeString(value);
    case 'object':
      return value === null ? tag(TAG_NULL) : writeObject(value, depth);
    default:
      throw UNSUPPORTED; // bigint, symbol, function
  }
}

function writeObject(value: object, depth: number): void {
  const id = idOf(value);
  if (id >= 0) {
    tag(TAG_REFERENCE);
    return varint(id);
  }
  if (depth >= MAX_DEPTH || types.isProxy(value)) throw UNSUPPORTED;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype) {
    remember(value);
    tag(TAG_OBJECT);
    const keys = Object.keys(value);
    for (const key of keys) {
      const index = arrayIndex(key);
      if (index < 0) writeString(key);
      else writeNumber(index); // as V8 writes element keys
      write((value as Record<string, unknown>)[key], depth + 1);
    }
    tag(TAG_END_OBJECT);
    return varint(keys.length);
  }
  if (proto === Array.prototype && Array.isArray(value)) {
    const length = value.length;
    if (Object.keys(value).length !== length) throw UNSUPPORTED; // holes, or named properties
    remember(value);
    tag(TAG_DENSE_ARRAY);
    varint(length);
    for (let i = 0; i < length; i++) write(value[i], depth + 1);
    tag(TAG_END_DENSE_ARRAY);
    varint(0);
    return varint(length);
  }
  throw UNSUPPORTED; // Date, Map, typed arrays, class instances, other realms' objects ...
}

function idOf(value: object): number {
  if (index !== null) return index.get(value) ?? -1;
  return written.indexOf(value);
}

function remember(value: object): void {
  if (index !== null) index.set(value, written.length);
  written.push(value);
  if (written.length === INDEX_FROM) index = new Map(written.map((object, id) => [object, id]));
}

/** The array index `key` names (an element key), or -1. */
function arrayIndex(key: string): number {
  const first = key.charCodeAt(0);
  if (!(first >= 0x30 && first <= 0x39)) return -1;
  const n = Number(key);
  return n <= 0xfffffffe && String(n) === key ? n : -1;
}

function writeNumber(value: number): void {
  if ((value | 0) === value && !Object.is(value, -0)) {
    tag(TAG_INT32);
    return varint(((value << 1) ^ (value >> 31)) >>> 0);
  }
  ensure(9);
  buf[pos++] = TAG_DOUBLE;
  pos = buf.writeDoubleLE(value, pos);
}

function writeString(value: string): void {
  const length = value.length;
  ensure(6 + length);
  const at = pos;
  buf[pos++] = TAG_ONE_BYTE_STRING;
  varint(length);
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return writeTwoByteString(value, at);
    buf[pos++] = code;
  }
}

/** Rewrites the string begun at `at` as UTF-16 (a character above Latin-1 was found). */
function writeTwoByteString(value: string, at: number): void {
  const bytes = value.length * 2;
  pos = at;
  ensure(7 + bytes);
  if ((pos + 1 + varintSize(bytes)) % 2 !== 0) buf[pos++] = TAG_PADDING; // V8 aligns the code units
  buf[pos++] = TAG_TWO_BYTE_STRING;
  varint(bytes);
  pos += buf.write(value, pos, bytes, 'utf16le');
}

function tag(byte: number): void {
  ensure(1);
  buf[pos++] = byte;
}

function varint(value: number): void {
  ensure(5);
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value >>>= 7;
    size++;
  }
  return size;
}

function ensure(bytes: number): void {
  if (pos + bytes <= buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + bytes));
  buf.copy(grown, 0, 0, pos);
  buf = grown;
}

// ---- reading ------------------------------------------------------------------------------------

const EMPTY: Buffer = Buffer.alloc(0);
let input = EMPTY;
let at = 0;
const objects: object[] = []; // the objects read so far: an id is an index

/** The value in `bytes` (from serialize or v8.serialize), as v8.deserialize would give it. */
export function deserialize(bytes: Uint8Array): unknown {
  if (!HOST_ORDER_IS_LE || bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== VERSION) return v8.deserialize(bytes);
  input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  at = 2;
  try {
    const value = read();
    if (at !== input.length) throw UNSUPPORTED;
    return value;
  } catch (error) {
    if (error !== UNSUPPORTED) throw error;
    return v8.deserialize(bytes); // a tag left to V8, or bytes it should judge
  } finally {
    objects.length = 0;
    input = EMPTY;
  }
}

function read(): unknown {
  let tag = byte();
  while (tag === TAG_PADDING) tag = byte();
  switch (tag) {
    case TAG_UNDEFINED:
      return undefined;
    case TAG_NULL:
      return null;
    case TAG_TRUE:
      return true;
    case TAG_FALSE:
      return false;
    case TAG_INT32: {
      const n = readVarint();
      return (n >>> 1) ^ -(n & 1);
    }
    case TAG_DOUBLE: {
      if (at + 8 > input.length) throw UNSUPPORTED;
      const n = input.readDoubleLE(at);
      at += 8;
      return n;
    }
    case TAG_ONE_BYTE_STRING:
    case TAG_TWO_BYTE_STRING:
    case TAG_UTF8_STRING:
      return readString(tag);
    case TAG_OBJECT:
      return readObject();
    case TAG_DENSE_ARRAY:
      return readArray();
    case TAG_REFERENCE: {
      const id = readVarint();
      if (id >= objects.length) throw UNSUPPORTED;
      return objects[id];
    }
    default:
      throw UNSUPPORTED; // Date, Map, holes, host objects (Buffers) ...
  }
}

function readString(tag: number): string {
  const length = readVarint(); // in bytes
  const end = at + length;
  if (end > input.length) throw UNSUPPORTED;
  let value: string;
  if (tag === TAG_ONE_BYTE_STRING) {
    // (a JS loop beats the native call below about 8 characters: 23 vs 56 ns for 4)
    value = length <= 8 ? shortLatin1(at, end) : input.toString('latin1', at, end);
  } else if (tag === TAG_TWO_BYTE_STRING) {
    if (length % 2 !== 0) throw UNSUPPORTED;
    value = input.toString('utf16le', at, end);
  } else {
    value = input.toString('utf8', at, end);
  }
  at = end;
  return value;
}

function shortLatin1(start: number, end: number): string {
  let value = '';
  for (let i = start; i < end; i++) value += String.fromCharCode(input[i]);
  return value;
}

function readObject(): object {
  const object: Record<string | number, unknown> = {};
  objects.push(object);
  let count = 0;
  for (;;) {
    if (peek() === TAG_END_OBJECT) {
      at++;
      if (readVarint() !== count) throw UNSUPPORTED;
      return object;
    }
    const key = read();
    if (typeof key !== 'string' && typeof key !== 'number') throw UNSUPPORTED;
    const value = read();
    // An own property, as V8 makes it: assigning __proto__ would set the prototype instead.
    if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
    else object[key] = value;
    count++;
  }
}

function readArray(): unknown[] {
  const length = readVarint();
  if (length > input.length - at) throw UNSUPPORTED; // each element takes a byte at least
  const array: unknown[] = [];
  objects.push(array);
  for (let i = 0; i < length; i++) array.push(read());
  if (byte() !== TAG_END_DENSE_ARRAY || readVarint() !== 0 || readVarint() !== length) throw UNSUPPORTED;
  return array;
}

function byte(): number {
  if (at >= input.length) throw UNSUPPORTED;
  return input[at++];
}

function peek(): number {
  let i = at;
  while (i < input.length && input[i] === TAG_PADDING) i++;
  if (i >= input.length) throw UNSUPPORTED;
  at = i;
  return input[i];
}

function readVarint(): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = byte();
    if (shift === 28 && b > 0x0f) throw UNSUPPORTED; // past 32 bits
    value |= (b & 0x7f) << shift;
    if (b < 0x80) return value >>> 0;
    shift += 7;
  }
}
