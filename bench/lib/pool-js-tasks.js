'use strict';
// The JavaScript tasks of bench/pool-js.js and bench/cold-start.js. piscina loads this file in
// its threads; evloop gets the same functions by value (they are self-contained).

/** A no-op task. */
function noop() {
  return 0;
}

/** A 10,000-iteration integer hash (FNV-like multiply and xorshift). */
function hash(seed) {
  let h = seed | 0;
  for (let i = 0; i < 10000; i++) {
    h = Math.imul(h ^ i, 0x01000193);
    h ^= h >>> 13;
  }
  return h;
}

module.exports = { noop, hash };

/** The seed's task: a blocking 1 s sleep, then its index back. */
function sleep1s(index) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  return index;
}

module.exports.sleep1s = sleep1s;
