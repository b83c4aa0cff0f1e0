'use strict';
// Data helpers shared by the comparison tests: payloads identical in both runs, digests, and
// waiting for a condition.

const crypto = require('node:crypto');
const { delay } = require('./compare');

/** Deterministic pseudo-random bytes (xorshift32), identical in both runs. */
function prng(size, seed = 0x9e3779b9) {
  const buf = Buffer.allocUnsafe(Math.ceil(size / 4) * 4);
  let x = seed >>> 0;
  for (let i = 0; i < buf.length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  return buf.subarray(0, size);
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

/** Poll `cond` every few ms until true or `ms` elapse; returns the final value. */
async function waitFor(cond, ms = 1000) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await delay(2);
  return cond();
}

module.exports = { prng, sha256, waitFor };
