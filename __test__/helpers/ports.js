'use strict';
// Helpers for scenarios whose traces mention ephemeral ports (which differ between the run on
// node:net and the run on this module).

const { once, rewriteTrace } = require('./compare');

/**
 * Wrap a scenario so that the ports it registers (in `ports`) are replaced by 'PORT' everywhere
 * in its trace: numbers equal to such a port, and the port inside strings (error messages,
 * 'host:port' lists). Ports differ between the node run and ours.
 */
function withPorts(fn) {
  return async (net, t) => {
    const ports = [];
    try {
      return await fn(net, t, ports);
    } finally {
      rewriteTrace(t, (v) => {
        if (typeof v === 'number' && ports.includes(v)) return 'PORT';
        if (typeof v === 'string') {
          for (const p of ports) v = v.replace(new RegExp(`\\b${p}\\b`, 'g'), 'PORT');
        }
        return v;
      });
    }
  };
}

/** Listen on port 0 of `host`; register the port; collect the server's connections. */
async function listenOn(net, ports, host = '127.0.0.1', options = {}, onConnection) {
  const server = net.createServer(options);
  const conns = [];
  server.on('connection', (c) => {
    conns.push(c);
    if (onConnection) onConnection(c);
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = server.address().port;
  ports.push(port);
  const close = async () => {
    for (const c of conns) c.destroy();
    await new Promise((resolve) => server.close(() => resolve()));
  };
  return { server, port, conns, close };
}

/** `n` clients of `net` connected to 127.0.0.1:`port`, one after another (in that order). */
async function connectAll(net, port, n) {
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    await once(s, 'connect');
    sockets.push(s);
  }
  return sockets;
}

/** A port nothing listens on on `host` (a node:net server's, closed again). */
async function freePort(host = '127.0.0.1') {
  const server = require('node:net').createServer().listen(0, host);
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

module.exports = { withPorts, listenOn, connectAll, freePort };
