'use strict';
// A loopback listener that does not accept: connects to it stay pending, which is how a slow
// or dead route looks to a client, without leaving the machine.
//
// The listener lives in a worker thread that blocks in Atomics.wait right after listening,
// so its event loop never accepts. Its accept queue (backlog 1) is filled with connections
// that complete at once; after that the kernel drops new SYNs and a client's connect hangs,
// retrying the SYN after about a second. `release('accept')` lets the worker accept
// everything, so a hanging connect completes at its next SYN retry ("accepts late");
// `release('close')` closes the listener unaccepted, so the retry is refused ("refuses
// late"); never releasing it is "never accepts".

const net = require('node:net');
const { Worker } = require('node:worker_threads');

const WORKER = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.flag);
const server = net.createServer((socket) => socket.on('error', () => {}).end());
server.listen({ host: workerData.host, port: workerData.port, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(flag, 0, 0);
  // Closed before the event loop runs again: nothing queued is accepted.
  if (Atomics.load(flag, 0) === 2) server.close();
  parentPort.on('message', () => server.close(() => parentPort.close()));
});
server.on('error', (err) => parentPort.postMessage({ error: err.code }));
`;

/** Connect to host:port; resolves true once connected, false if still pending after `ms`. */
function connectsWithin(host, port, ms, sockets) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    sockets.push(socket);
    socket.on('error', () => {});
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function slowListener({ host = '127.0.0.1', port = 0 } = {}) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, { eval: true, workerData: { host, port, flag: flag.buffer } });
  const listening = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  if (typeof listening !== 'number') {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await worker.terminate();
    throw new Error(`slow listener: ${listening.error}`);
  }
  const fillers = [];
  // Fill the accept queue until a connect hangs (that one is pending too, and stays so).
  for (let i = 0; i < 8; i++) {
    if (!(await connectsWithin(host, listening, 200, fillers))) break;
  }
  let released = false;
  return {
    port: listening,
    /** Let the worker run: 'accept' serves every pending connect, 'close' refuses them. */
    release(how = 'accept') {
      if (released) return;
      released = true;
      Atomics.store(flag, 0, how === 'close' ? 2 : 1);
      Atomics.notify(flag, 0);
    },
    async close() {
      this.release('close');
      for (const socket of fillers) socket.destroy();
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    },
  };
}

module.exports = { slowListener };
