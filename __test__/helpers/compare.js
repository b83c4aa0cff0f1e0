'use strict';
// Runs one scenario against node:net and against this module and compares the traces.
//
// A scenario is `async (net, t) => value`; `t` is a Trace that records what the scenario
// observes. The helper runs it on node:net first, then on ours, and asserts that both traces
// (and return values) are deeply equal. Set RSNET_ORACLE_ONLY=1 to run both sides on node:net
// (useful for checking a new scenario before the module supports it).

const assert = require('node:assert/strict');
const nodeNet = require('node:net');

const LIVE_HANDLES = Symbol.for('rsnet.liveHandles');

function loadOurs() {
  if (process.env.RSNET_ORACLE_ONLY) return nodeNet;
  return require('../..');
}

/** A plain description of an error: what a user can observe of it. */
function describeError(err, { keepPort = true } = {}) {
  if (err === null || err === undefined) return err;
  if (!(err instanceof Error)) return { notAnError: String(err) };
  const d = { class: err.constructor.name, name: err.name, message: err.message };
  for (const k of ['code', 'errno', 'syscall', 'address', 'port']) {
    if (k in err) d[k] = err[k];
  }
  if (!keepPort && 'port' in d) d.port = 'PORT';
  if (err instanceof AggregateError) d.errors = err.errors.map((e) => describeError(e, { keepPort }));
  return d;
}

/** Describe any value so traces compare by value, not identity. */
function describe(v) {
  if (v instanceof Error) return describeError(v);
  if (Buffer.isBuffer(v)) return { buffer: v.toString('hex') };
  if (Array.isArray(v)) return v.map(describe);
  if (v && typeof v === 'object') {
    if (v.constructor && v.constructor.name === 'Socket') return '[Socket]';
    if (v.constructor && v.constructor.name === 'Server') return '[Server]';
    const o = {};
    for (const k of Object.keys(v)) o[k] = describe(v[k]);
    return o;
  }
  if (typeof v === 'function') return '[Function]';
  return v;
}

class Trace {
  constructor() {
    this.entries = [];
  }
  /** Record an arbitrary observation. */
  push(...items) {
    this.entries.push(items.length === 1 ? describe(items[0]) : items.map(describe));
  }
  /** Record every emission of the named events on an emitter, with described arguments. */
  events(emitter, names, label = '') {
    for (const name of names) {
      emitter.on(name, (...args) => {
        this.entries.push([label + name, ...args.map(describe)]);
      });
    }
    return emitter;
  }
  /** Run fn and record what it returned or threw (synchronously). */
  call(label, fn) {
    try {
      const r = fn();
      this.entries.push([label, 'returned', describe(r)]);
      return r;
    } catch (e) {
      this.entries.push([label, 'threw', describeError(e)]);
      return undefined;
    }
  }
}

/**
 * Record the named events of `emitter` into a list: consecutive 'data' entries merge into one
 * (chunk boundaries are not observable contract); events with arguments keep them, described.
 */
function record(emitter, names) {
  const list = [];
  for (const name of names) {
    emitter.on(name, (...args) => {
      if (name === 'data') {
        if (list[list.length - 1] !== 'data') list.push('data');
      } else if (args.length) {
        list.push([name, ...args.map(describe)]);
      } else {
        list.push(name);
      }
    });
  }
  return list;
}

/** Rewrite every leaf value of a trace with `leaf` (to mask ports, paths, ...). */
function rewriteTrace(t, leaf) {
  const map = (v) => {
    if (Array.isArray(v)) return v.map(map);
    if (v && typeof v === 'object') {
      const o = {};
      for (const k of Object.keys(v)) o[k] = map(v[k]);
      return o;
    }
    return leaf(v);
  };
  t.entries = t.entries.map(map);
}

/** Which side `runOne` is running: named in the message of a wait that timed out. */
let running = null;

/**
 * What a wait that timed out leaves to go on, since such hangs are rare and seldom repeat:
 * the side being run, the emitter's state if it is a socket, and the kernel's view of its
 * connection (`ss`, when the machine has it).
 */
function hangReport(emitter) {
  const lines = [`while running ${running ?? 'outside compare()'}`];
  if (typeof emitter.localPort === 'number' || 'remotePort' in emitter) {
    const state = {};
    for (const k of [
      'readyState',
      'destroyed',
      'localPort',
      'remotePort',
      'bytesRead',
      'bytesWritten',
      'readableLength',
      'writableLength',
      'timeout',
    ]) {
      state[k] = emitter[k];
    }
    state.paused = typeof emitter.isPaused === 'function' ? emitter.isPaused() : undefined;
    lines.push(`socket ${JSON.stringify(state)}`);
    const port = emitter.localPort;
    if (typeof port === 'number') {
      try {
        const { execFileSync } = require('node:child_process');
        const filter = `( sport = :${port} or dport = :${port} )`;
        const out = execFileSync('ss', ['-tnoie', 'state', 'all', filter], { timeout: 2000 });
        lines.push(`ss:\n${out.toString().trim()}`);
      } catch (e) {
        lines.push(`ss: ${e.message.split('\n')[0]}`);
      }
    }
  }
  return lines.join('\n');
}

/** Resolve when `emitter` emits `name` (rejects after ms, with a `hangReport`). */
function once(emitter, name, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for '${name}'\n${hangReport(emitter)}`)),
      ms,
    );
    emitter.once(name, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait a few turns of the event loop (timers, immediates and I/O callbacks). */
async function settle(ms = 20) {
  await delay(ms);
  await new Promise((r) => setImmediate(r));
}

function liveHandles(net) {
  return typeof net[LIVE_HANDLES] === 'function' ? net[LIVE_HANDLES]() : 0;
}

async function runOne(net, scenario, ms) {
  running = net === nodeNet ? 'node:net' : 'ours';
  const t = new Trace();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scenario timed out after ${ms} ms`)), ms);
  });
  let value;
  try {
    value = await Promise.race([scenario(net, t), timeout]);
  } finally {
    clearTimeout(timer);
    running = null;
  }
  await settle();
  return { trace: t.entries, value: describe(value), live: liveHandles(net) };
}

/**
 * Run `scenario` on node:net and on this module; assert equal traces and that no native
 * handle of ours is left open. Returns node's result for further assertions.
 */
async function compare(scenario, { timeout = 10000 } = {}) {
  const expected = await runOne(nodeNet, scenario, timeout);
  const actual = await runOne(loadOurs(), scenario, timeout);
  assert.deepStrictEqual(actual.trace, expected.trace);
  assert.deepStrictEqual(actual.value, expected.value);
  assert.equal(actual.live, 0, 'native handles left open after the scenario');
  return expected;
}

module.exports = { compare, Trace, describe, describeError, record, rewriteTrace, once, delay, settle, loadOurs, nodeNet };
