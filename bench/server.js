'use strict';
// Benchmark server process, started by run.js. Listens on 127.0.0.1 (port chosen by the OS)
// with the `net` implementation named by BENCH_IMPL, tells run.js the port over IPC, then
// serves the workload named by BENCH_WORKLOAD (the same protocol as `loadgen server`):
//
//   bulk-send    count the bytes received; this side measures and reports MB/s
//   bulk-recv    write 64 KiB buffers to each connection as fast as backpressure allows
//   pingpong*    echo every byte back to the sender
//   connect      greet each accepted connection with one byte, so the client knows the
//                accept happened before it closes the connection
//   idle         greet each connection with one byte and hold it; once the client's warm-up
//                connection and BENCH_CONNS more have been accepted, report the RSS growth
//                per connection since listening (both read after a GC)

const {
  childConfig,
  setupChild,
  loadNet,
  measureWindow,
  rssAfterGc,
  pumpWrites,
  report,
  BULK_CHUNK,
  IDLE_SETTLE_MS,
} = require('./common');

setupChild('server');
const cfg = childConfig();
const net = loadNet(cfg.impl);

const GREETING = Buffer.from([0x2a]);
const ignore = () => {};

let bytesReceived = 0;
let measuring = false;
const idleSockets = [];
let rssBefore = 0;
let listeningAt = 0n;

function onConnection(socket) {
  // A connection reset by a client being killed at the end of a run is expected.
  socket.on('error', ignore);

  switch (cfg.workload) {
    case 'bulk-send':
      socket.on('data', (chunk) => {
        bytesReceived += chunk.length;
      });
      // The measurement starts at the first byte, so connection setup is not timed.
      socket.once('data', startBulkMeasurement);
      break;
    case 'bulk-recv':
      pumpWrites(socket, Buffer.alloc(BULK_CHUNK, 0x61));
      break;
    case 'pingpong':
    case 'pingpong100':
      socket.on('data', (chunk) => socket.write(chunk));
      break;
    case 'connect':
      socket.on('data', ignore);
      socket.write(GREETING);
      break;
    case 'idle':
      // Held like a server holds a quiet client: open, reading, nothing more to say.
      socket.on('data', ignore);
      socket.write(GREETING);
      idleSockets.push(socket);
      // The client opens (and closes) one warm-up connection before the measured ones.
      if (idleSockets.length === cfg.conns + 1) setTimeout(reportIdle, IDLE_SETTLE_MS);
      break;
    default:
      throw new Error(`server: no handler for workload ${cfg.workload}`);
  }
}

function startBulkMeasurement() {
  if (measuring) return;
  measuring = true;
  measureWindow({
    warmupMs: cfg.warmupMs,
    durationMs: cfg.durationMs,
    read: () => bytesReceived,
    done: (bytes, seconds) => report(bytes / 1e6 / seconds, { bytes, seconds }),
  });
}

function reportIdle() {
  const seconds = Number(process.hrtime.bigint() - listeningAt) / 1e9 - IDLE_SETTLE_MS / 1000;
  const rssAfter = rssAfterGc();
  report((rssAfter - rssBefore) / cfg.conns, { conns: cfg.conns, rssBefore, rssAfter, seconds });
}

const server = net.createServer(onConnection);
server.on('error', (err) => {
  throw err;
});
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  if (cfg.workload === 'idle') rssBefore = rssAfterGc();
  listeningAt = process.hrtime.bigint();
  process.send({ type: 'listening', port: server.address().port });
});
