'use strict';
// Benchmark client process, started by run.js once the server is listening. Connects to
// 127.0.0.1:BENCH_PORT with the `net` implementation named by BENCH_IMPL and drives the
// workload named by BENCH_WORKLOAD (the same protocol as `loadgen client`):
//
//   bulk-send    write 64 KiB buffers as fast as backpressure allows (the server measures)
//   bulk-recv    count the bytes the server sends; measures MB/s from the first byte
//   pingpong     one connection, one 64 B message in flight; measures round trips/s
//   pingpong100  the same on 100 connections at once; measures total round trips/s
//   connect      connect, wait for the server's one-byte greeting, destroy, repeat;
//                measures cycles/s
//   idle         open one warm-up connection and close it, then open BENCH_CONNS connections,
//                64 at a time, each open once the server's greeting has arrived, and hold
//                them; reports the RSS growth per connection (both read after a GC)
//
// The rate workloads run for BENCH_WARMUP_MS before the timed window of BENCH_DURATION_MS.

const {
  childConfig,
  setupChild,
  loadNet,
  measureWindow,
  rssAfterGc,
  pumpWrites,
  report,
  BULK_CHUNK,
  PING_SIZE,
  PINGPONG_CONNS,
  CONNECT_CONCURRENCY,
  IDLE_PARALLEL,
  IDLE_SETTLE_MS,
} = require('./common');

setupChild('client');
const cfg = childConfig();
const net = loadNet(cfg.impl);
const target = { host: '127.0.0.1', port: cfg.port };

/** Open a connection; resolves once connected. Any socket error fails the run. */
function open() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(target, () => {
      socket.off('error', reject);
      socket.on('error', (err) => {
        throw err;
      });
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Time `read()` over the configured window and send the rate to run.js. */
function measureRate(read, { onDone = () => {}, scale = 1 } = {}) {
  measureWindow({
    warmupMs: cfg.warmupMs,
    durationMs: cfg.durationMs,
    read,
    done: (count, seconds) => {
      onDone();
      report((count * scale) / seconds, { count, seconds });
    },
  });
}

async function bulkSend() {
  const socket = await open();
  // Content is irrelevant; one buffer is reused for every write.
  pumpWrites(socket, Buffer.alloc(BULK_CHUNK, 0x61));
}

async function bulkRecv() {
  const socket = await open();
  let bytes = 0;
  socket.on('data', (chunk) => {
    bytes += chunk.length;
  });
  // The measurement starts at the first byte, so connection setup is not timed.
  socket.once('data', () => measureRate(() => bytes, { scale: 1e-6 }));
  socket.on('end', () => {
    throw new Error('the server ended the bulk stream');
  });
}

async function pingpong(connections) {
  const sockets = await Promise.all(Array.from({ length: connections }, open));
  const message = Buffer.alloc(PING_SIZE, 0x62);
  let roundTrips = 0;
  for (const socket of sockets) {
    // Bytes of the current echo received so far: the stream may split or merge chunks, so
    // a round trip completes when PING_SIZE bytes have come back, not on each 'data'.
    let pending = 0;
    socket.on('data', (chunk) => {
      pending += chunk.length;
      if (pending >= PING_SIZE) {
        pending -= PING_SIZE;
        roundTrips++;
        socket.write(message);
      }
    });
  }
  for (const socket of sockets) socket.write(message);
  measureRate(() => roundTrips);
}

function connectCycles() {
  let cycles = 0;
  let stopped = false;
  function cycle() {
    const socket = net.connect(target);
    socket.on('error', (err) => {
      throw err;
    });
    // The greeting proves the server accepted this connection.
    socket.once('data', () => socket.destroy());
    socket.on('close', () => {
      cycles++;
      if (!stopped) cycle();
    });
  }
  for (let i = 0; i < CONNECT_CONCURRENCY; i++) cycle();
  measureRate(() => cycles, {
    onDone: () => {
      stopped = true;
    },
  });
}

/**
 * Open a connection and resolve once the server's one-byte greeting has arrived: it proves
 * the server accepted it, so opening at most IDLE_PARALLEL at a time never fills the
 * server's accept queue (a dropped SYN is retried only a second later).
 */
async function openGreeted() {
  const socket = await open();
  await new Promise((resolve) => socket.once('data', resolve));
  return socket;
}

async function idle() {
  // One connection first, so that what the first connection costs once (the module's
  // runtime, buffers) is not counted per connection.
  const first = await openGreeted();
  await new Promise((resolve) => {
    first.on('close', resolve);
    first.destroy();
  });
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  const rssBefore = rssAfterGc();
  const started = process.hrtime.bigint();
  const sockets = [];
  let next = 0;
  async function opener() {
    while (next < cfg.conns) {
      next++;
      const socket = await openGreeted();
      // Held like a client holds a quiet connection: open, reading, nothing to say.
      sockets.push(socket);
    }
  }
  await Promise.all(Array.from({ length: Math.min(IDLE_PARALLEL, cfg.conns) }, opener));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  const rssAfter = rssAfterGc();
  report((rssAfter - rssBefore) / cfg.conns, { conns: cfg.conns, rssBefore, rssAfter, seconds });
}

const workloads = {
  'bulk-send': bulkSend,
  'bulk-recv': bulkRecv,
  pingpong: () => pingpong(1),
  pingpong100: () => pingpong(PINGPONG_CONNS),
  connect: connectCycles,
  idle,
};

// A rejection (e.g. a failed connect) reaches setupChild's unhandledRejection handler,
// which reports it to run.js.
workloads[cfg.workload]();
