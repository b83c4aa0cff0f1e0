'use strict';
// rsnet: a drop-in replacement for Node's `net` module with a Rust (tokio) engine.
//
//   const net = require('rsnet'); // instead of require('node:net')
//
// The public face is here; the JS side lives in lib/ (one concern per file) and the native
// handles in src/ (see src/lib.rs for the map).

const { Socket } = require('./lib/socket');
const { Server } = require('./lib/server');
const { normalizeArgs } = require('./lib/normalize');
const { isIP, isIPv4, isIPv6 } = require('./lib/ip');
const autoSelect = require('./lib/autoselect');
const { liveHandles } = require('./lib/engine');
const { BoundSocket } = require('./lib/bound');
const compat = require('./lib/compat');

// Address tools with no I/O of their own: Node's own classes are the reference implementation.
const { BlockList, SocketAddress } = require('node:net');

/** `createServer([options][, connectionListener])` */
function createServer(options, connectionListener) {
  return new Server(options, connectionListener);
}

/** `connect(options[, cb])`, `connect(port[, host][, cb])` */
function connect(...args) {
  const normalized = normalizeArgs(args);
  const options = normalized[0];
  const socket = new Socket(options);
  if (options.timeout) socket.setTimeout(options.timeout);
  return socket.connect(normalized);
}

module.exports = {
  createServer,
  createConnection: connect,
  connect,
  Server,
  Socket,
  Stream: Socket,
  isIP,
  isIPv4,
  isIPv6,
  BlockList,
  SocketAddress,
  getDefaultAutoSelectFamily: autoSelect.getDefaultAutoSelectFamily,
  setDefaultAutoSelectFamily: autoSelect.setDefaultAutoSelectFamily,
  getDefaultAutoSelectFamilyAttemptTimeout: autoSelect.getDefaultAutoSelectFamilyAttemptTimeout,
  setDefaultAutoSelectFamilyAttemptTimeout: autoSelect.setDefaultAutoSelectFamilyAttemptTimeout,
  // Node 24.x's BoundSocket, where node:net has it.
  ...(compat.boundSocket ? { BoundSocket } : {}),
  // For tests: how many native handles are still open.
  [Symbol.for('rsnet.liveHandles')]: liveHandles,
};
