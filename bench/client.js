'use strict';
// Benchmark client process, started by run.js once the server is listening. Connects to
// 127.0.0.1:BENCH_PORT with the `net` implementation named by BENCH_IMPL and drives the
// workload named by BENCH_WORKLOAD:
//
//   bulk         write 64 KiB buffers as fast as backpressure allows (the server measures)
//   pingpong     one connection, one 64 B message in flight; measures round trips/s
//   pingpong100  the same on 100 connections at once; measures total round trips/s
//   connect      connect, wait for the server's one-byte greeting, destroy, repeat;
//                measures cycles/s
//
// Every workload runs for BENCH_WARMUP_MS before the timed window of BENCH_DURATION_MS.

const {
  childConfig,
  setupChild,
  loadNet,
  measureWindow,
  report,
  BULK_CHUNK,
  PING_SIZE,
  PINGPONG_CONNS,
  CONNECT_CONCURRENCY,
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
function measureRate(read, onDone = () => {}) {
  measureWindow({
    warmupMs: cfg.warmupMs,
    durationMs: cfg.durationMs,
    read,
    done: (count, seconds) => {
      onDone();
      report(count / seconds, { count, seconds });
    },
  });
}

async function bulk() {
  const socket = await open();
  // Content is irrelevant; one buffer is reused for every write.
  const chunk = Buffer.alloc(BULK_CHUNK, 0x61);
  // Write until the socket asks us to wait, then resume on 'drain'. After a bounded
  // number of accepted writes, yield to the event loop so it never starves.
  function pump() {
    for (let i = 0; i < 64; i++) {
      if (!socket.write(chunk)) return; // 'drain' will call pump again
    }
    setImmediate(pump);
  }
  socket.on('drain', pump);
  pump();
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
  measureRate(
    () => cycles,
    () => {
      stopped = true;
    },
  );
}

const workloads = {
  bulk,
  pingpong: () => pingpong(1),
  pingpong100: () => pingpong(PINGPONG_CONNS),
  connect: connectCycles,
};

// A rejection (e.g. a failed connect) reaches setupChild's unhandledRejection handler,
// which reports it to run.js.
workloads[cfg.workload]();
