'use strict';
// Benchmark server process, started by run.js. Listens on 127.0.0.1 (port chosen by the OS)
// with the `net` implementation named by BENCH_IMPL, tells run.js the port over IPC, then
// serves the workload named by BENCH_WORKLOAD:
//
//   bulk         count the bytes received; this side measures and reports MB/s
//   pingpong*    echo every byte back to the sender
//   connect      greet each accepted connection with one byte, so the client knows the
//                accept happened before it closes the connection

const { childConfig, setupChild, loadNet, measureWindow, report } = require('./common');

setupChild('server');
const cfg = childConfig();
const net = loadNet(cfg.impl);

const GREETING = Buffer.from([0x2a]);
const ignore = () => {};

let bytesReceived = 0;
let measuring = false;

function onConnection(socket) {
  // A connection reset by a client being killed at the end of a run is expected.
  socket.on('error', ignore);

  switch (cfg.workload) {
    case 'bulk':
      socket.on('data', (chunk) => {
        bytesReceived += chunk.length;
      });
      // The measurement starts at the first byte, so connection setup is not timed.
      socket.once('data', startBulkMeasurement);
      break;
    case 'pingpong':
    case 'pingpong100':
      socket.on('data', (chunk) => socket.write(chunk));
      break;
    case 'connect':
      socket.on('data', ignore);
      socket.write(GREETING);
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

const server = net.createServer(onConnection);
server.on('error', (err) => {
  throw err;
});
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  process.send({ type: 'listening', port: server.address().port });
});
