'use strict';
// Helpers shared by the benchmark orchestrator (run.js) and its two JS child processes
// (server.js, client.js). The native load generator (loadgen/, Rust) implements the same
// workloads with the same protocol, so either side of a run can be JS or native.

const path = require('node:path');

/** Root of this package: `require(OURS_PATH)` loads the module under test. */
const OURS_PATH = path.resolve(__dirname, '..');

/** The implementations under test. */
const IMPLS = ['node', 'ours'];

/**
 * The workloads, in the order they run, named from the client's point of view.
 * `measuredBy` says which process reports the result: the receiver of the data for the bulk
 * workloads, the client otherwise; for `idle` both sides report their RSS growth and the
 * set-up decides which counts. `unit` is what the number means; `lowerIsBetter` marks the
 * one workload where a smaller number wins.
 */
const WORKLOADS = {
  'bulk-send': {
    title: 'bulk send (1 conn; the client writes 64 KiB buffers, the server counts)',
    unit: 'MB/s',
    measuredBy: 'server',
  },
  'bulk-recv': {
    title: 'bulk receive (1 conn; the server writes 64 KiB buffers, the client counts)',
    unit: 'MB/s',
    measuredBy: 'client',
  },
  pingpong: {
    title: 'ping-pong (1 conn, 64 B, one message in flight)',
    unit: 'round trips/s',
    measuredBy: 'client',
  },
  pingpong100: {
    title: 'ping-pong (100 conns, 64 B, one message in flight on each)',
    unit: 'round trips/s',
    measuredBy: 'client',
  },
  connect: {
    title: 'connect + greeting + close (sequential)',
    unit: 'cycles/s',
    measuredBy: 'client',
  },
  idle: {
    title: 'idle connections: RSS growth per connection, after a GC',
    unit: 'B/conn',
    measuredBy: 'both',
    lowerIsBetter: true,
  },
};

/** Size of each write in the bulk workloads. */
const BULK_CHUNK = 64 * 1024;
/** Size of the ping-pong message. */
const PING_SIZE = 64;
/** Number of connections in the pingpong100 workload. */
const PINGPONG_CONNS = 100;
/** Connections in flight at once in the connect workload (1 = strictly sequential). */
const CONNECT_CONCURRENCY = 1;
/** Connects in flight at once while the idle workload opens its connections. */
const IDLE_PARALLEL = 64;
/** Pause between the last idle connection and the RSS reading (the peer settles). */
const IDLE_SETTLE_MS = 200;

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
 * Settings for a child process, passed by run.js through the environment: BENCH_IMPL,
 * BENCH_WORKLOAD, BENCH_WARMUP_MS, BENCH_DURATION_MS, BENCH_CONNS (idle) and (client only)
 * BENCH_PORT.
 */
function childConfig() {
  const env = process.env;
  const cfg = {
    impl: env.BENCH_IMPL,
    workload: env.BENCH_WORKLOAD,
    warmupMs: Number(env.BENCH_WARMUP_MS),
    durationMs: Number(env.BENCH_DURATION_MS),
    conns: env.BENCH_CONNS === undefined ? undefined : Number(env.BENCH_CONNS),
    port: env.BENCH_PORT === undefined ? undefined : Number(env.BENCH_PORT),
  };
  if (!IMPLS.includes(cfg.impl)) throw new Error(`BENCH_IMPL must be one of ${IMPLS.join(', ')}`);
  if (!(cfg.workload in WORKLOADS)) throw new Error(`unknown BENCH_WORKLOAD ${cfg.workload}`);
  if (!(cfg.warmupMs >= 0) || !(cfg.durationMs > 0)) throw new Error('bad BENCH_WARMUP_MS / BENCH_DURATION_MS');
  if (cfg.workload === 'idle' && !(cfg.conns >= 1)) throw new Error('idle needs BENCH_CONNS >= 1');
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

/**
 * Resident set size after a full garbage collection (the child runs with --expose-gc for
 * the idle workload), so that only what is still reachable counts.
 */
function rssAfterGc() {
  if (typeof global.gc === 'function') {
    global.gc();
    global.gc();
  }
  return process.memoryUsage.rss();
}

/**
 * Keep writing `chunk` to `socket` as fast as backpressure allows, until it closes. After a
 * bounded number of accepted writes it yields to the event loop, so that never starves.
 */
function pumpWrites(socket, chunk) {
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  function pump() {
    for (let i = 0; i < 64 && !closed; i++) {
      if (!socket.write(chunk)) return; // 'drain' calls pump again
    }
    if (!closed) setImmediate(pump);
  }
  socket.on('drain', pump);
  pump();
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
  IDLE_PARALLEL,
  IDLE_SETTLE_MS,
  loadNet,
  childConfig,
  setupChild,
  measureWindow,
  rssAfterGc,
  pumpWrites,
  report,
};
