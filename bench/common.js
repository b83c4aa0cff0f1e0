'use strict';
// Helpers shared by the benchmark orchestrator (run.js) and its two child processes
// (server.js, client.js).

const path = require('node:path');

/** Root of this package: `require(OURS_PATH)` loads the module under test. */
const OURS_PATH = path.resolve(__dirname, '..');

/** The implementations the harness knows how to load. */
const IMPLS = ['node', 'ours'];

/**
 * The workloads, in the order they run. `measuredBy` says which child process times the
 * workload and reports the result; `unit` is what its number means.
 */
const WORKLOADS = {
  bulk: {
    title: 'bulk transfer (1 conn, 64 KiB writes)',
    unit: 'MB/s',
    measuredBy: 'server',
  },
  pingpong: {
    title: 'ping-pong (1 conn, 64 B)',
    unit: 'round trips/s',
    measuredBy: 'client',
  },
  pingpong100: {
    title: 'ping-pong (100 conns, 64 B each)',
    unit: 'round trips/s',
    measuredBy: 'client',
  },
  connect: {
    title: 'connect + close (sequential)',
    unit: 'cycles/s',
    measuredBy: 'client',
  },
};

/** Size of each write in the bulk workload. */
const BULK_CHUNK = 64 * 1024;
/** Size of the ping-pong message. */
const PING_SIZE = 64;
/** Number of connections in the pingpong100 workload. */
const PINGPONG_CONNS = 100;
/** Connections in flight at once in the connect workload (1 = strictly sequential). */
const CONNECT_CONCURRENCY = 1;

/**
 * Load the `net` implementation named by `impl` ('node' or 'ours'). The child processes
 * take it from BENCH_IMPL.
 */
function loadNet(impl) {
  if (impl === 'node') return require('node:net');
  if (impl === 'ours') return require(OURS_PATH);
  throw new Error(`unknown implementation ${JSON.stringify(impl)} (expected one of ${IMPLS.join(', ')})`);
}

/**
 * Settings for a child process, passed by run.js through the environment:
 * BENCH_IMPL, BENCH_WORKLOAD, BENCH_WARMUP_MS, BENCH_DURATION_MS and (client only) BENCH_PORT.
 */
function childConfig() {
  const env = process.env;
  const cfg = {
    impl: env.BENCH_IMPL,
    workload: env.BENCH_WORKLOAD,
    warmupMs: Number(env.BENCH_WARMUP_MS),
    durationMs: Number(env.BENCH_DURATION_MS),
    port: env.BENCH_PORT === undefined ? undefined : Number(env.BENCH_PORT),
  };
  if (!IMPLS.includes(cfg.impl)) throw new Error(`BENCH_IMPL must be one of ${IMPLS.join(', ')}`);
  if (!(cfg.workload in WORKLOADS)) throw new Error(`unknown BENCH_WORKLOAD ${cfg.workload}`);
  if (!(cfg.warmupMs >= 0) || !(cfg.durationMs > 0)) throw new Error('bad BENCH_WARMUP_MS / BENCH_DURATION_MS');
  return cfg;
}

/**
 * Common setup for a child process: exit when the parent goes away (the IPC channel closes),
 * and report any uncaught error to the parent before dying, so a failing run is reported
 * rather than left hanging.
 */
function setupChild(role) {
  if (typeof process.send !== 'function') {
    console.error(`bench/${role}.js is started by bench/run.js; run \`node bench/run.js\` instead.`);
    process.exit(2);
  }
  process.on('disconnect', () => process.exit(0));
  const fail = (err) => {
    const message = `${role}: ${err && err.stack ? err.stack : String(err)}`;
    try {
      process.send({ type: 'error', message }, () => process.exit(1));
    } catch {
      process.exit(1);
    }
    // In case the send callback never fires.
    setTimeout(() => process.exit(1), 1000).unref();
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

/**
 * Measure a counter over a fixed window. Waits `warmupMs`, then snapshots `read()` and the
 * clock, waits `durationMs`, snapshots again, and calls `done(delta, seconds)` with the
 * counter's increase and the exact elapsed time (from process.hrtime.bigint, so timer
 * lateness does not skew the result).
 */
function measureWindow({ warmupMs, durationMs, read, done }) {
  setTimeout(() => {
    const c0 = read();
    const t0 = process.hrtime.bigint();
    setTimeout(() => {
      const c1 = read();
      const t1 = process.hrtime.bigint();
      done(c1 - c0, Number(t1 - t0) / 1e9);
    }, durationMs);
  }, warmupMs);
}

/** Send the measured value to run.js. */
function report(value, extra = {}) {
  process.send({ type: 'result', value, ...extra });
}

module.exports = {
  OURS_PATH,
  IMPLS,
  WORKLOADS,
  BULK_CHUNK,
  PING_SIZE,
  PINGPONG_CONNS,
  CONNECT_CONCURRENCY,
  loadNet,
  childConfig,
  setupChild,
  measureWindow,
  report,
};
