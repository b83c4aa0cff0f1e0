'use strict';
// Connecting a net.Socket: name lookup ('lookup' events), the single attempt and the
// sequential attempts of autoSelectFamily ('connectionAttempt*' events, AggregateError), local
// binding, and the outcome ('connect' and 'ready', or the error), as Node's lib/net.js does.

const {
  ERR_INVALID_ARG_TYPE,
  ERR_INVALID_IP_ADDRESS,
  ERR_INVALID_ADDRESS_FAMILY,
  ERR_SOCKET_CONNECTION_TIMEOUT,
  ERR_IP_BLOCKED,
  exceptionWithHostPort,
  aggregateError,
} = require('./errors');
const {
  validateNumber,
  validateBoolean,
  validateFunction,
  validatePort,
  validateInt32,
  validateStringWithoutNullBytes,
} = require('./validators');
const { isIP } = require('./ip');
const engine = require('./engine');
const { ACTIVE_CONNECTING } = engine;
const autoSelect = require('./autoselect');
const compat = require('./compat');
const {
  kConnectContext,
  kSetNoDelay,
  kSetKeepAlive,
  kSetKeepAliveInitialDelay,
  kIsPipe,
  UV_EINVAL,
  UV_ETIMEDOUT,
} = require('./shared');

const DEFAULT_IPV4_ADDR = '0.0.0.0';
const DEFAULT_IPV6_ADDR = '::';
/** Bytes in sockaddr_un.sun_path on Linux. */
const SUN_PATH_LEN = 108;

let dns; // loaded on first name lookup

function socketToDnsFamily(family) {
  switch (family) {
    case 'IPv4':
      return 4;
    case 'IPv6':
      return 6;
  }
  return family;
}

function lookupAndConnect(self, options) {
  const { localAddress, localPort } = options;
  const host = options.host || 'localhost';
  let { port, autoSelectFamilyAttemptTimeout, autoSelectFamily } = options;

  if (compat.validatesConnectHost) validateStringWithoutNullBytes(host, 'options.host');

  if (localAddress && !isIP(localAddress)) throw ERR_INVALID_IP_ADDRESS(localAddress);
  if (localPort) validateNumber(localPort, 'options.localPort');
  if (typeof port !== 'undefined') {
    if (typeof port !== 'number' && typeof port !== 'string') {
      throw ERR_INVALID_ARG_TYPE('options.port', ['number', 'string'], port);
    }
    validatePort(port);
  }
  port |= 0;

  if (autoSelectFamily != null) validateBoolean(autoSelectFamily, 'options.autoSelectFamily');
  else autoSelectFamily = autoSelect.getDefaultAutoSelectFamily();
  if (autoSelectFamilyAttemptTimeout != null) {
    validateInt32(autoSelectFamilyAttemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1);
    if (autoSelectFamilyAttemptTimeout < 10) autoSelectFamilyAttemptTimeout = 10;
  } else {
    autoSelectFamilyAttemptTimeout = autoSelect.getDefaultAutoSelectFamilyAttemptTimeout();
  }

  // An IP address needs no lookup.
  const addressType = isIP(host);
  if (addressType) {
    process.nextTick(() => {
      if (self.connecting) internalConnect(self, host, port, addressType, localAddress, localPort);
    });
    return;
  }

  if (options.lookup != null) validateFunction(options.lookup, 'options.lookup');
  dns ??= require('node:dns');
  const dnsopts = { family: socketToDnsFamily(options.family), hints: options.hints || 0 };
  if (dnsopts.family !== 4 && dnsopts.family !== 6 && dnsopts.hints === 0) {
    dnsopts.hints = dns.ADDRCONFIG;
  }
  self._host = host;
  const lookup = options.lookup || dns.lookup;

  if (dnsopts.family !== 4 && dnsopts.family !== 6 && !localAddress && autoSelectFamily) {
    dnsopts.all = true;
    lookupAndConnectMultiple(self, lookup, host, options, dnsopts, port, localAddress, localPort, autoSelectFamilyAttemptTimeout);
    return;
  }

  lookup(host, dnsopts, function emitLookup(err, ip, family) {
    self.emit('lookup', err, ip, family, host);
    if (!self.connecting) return;
    if (err) {
      process.nextTick(connectErrorNT, self, err);
    } else if (typeof ip !== 'string' || !isIP(ip)) {
      process.nextTick(connectErrorNT, self, ERR_INVALID_IP_ADDRESS(ip));
    } else if (family !== 4 && family !== 6) {
      process.nextTick(connectErrorNT, self, ERR_INVALID_ADDRESS_FAMILY(family, options.host, options.port));
    } else {
      self._unrefTimer();
      internalConnect(self, ip, port, family, localAddress, localPort);
    }
  });
}

function lookupAndConnectMultiple(self, lookup, host, options, dnsopts, port, localAddress, localPort, timeout) {
  lookup(host, dnsopts, function emitLookup(err, addresses) {
    if (!self.connecting) return;
    if (err) {
      self.emit('lookup', err, undefined, undefined, host);
      process.nextTick(connectErrorNT, self, err);
      return;
    }
    // Keep the valid addresses, each once, grouped by family (the first family found first).
    const valid = [[], []];
    const seen = [[], []];
    let order;
    for (const address of addresses) {
      const { address: ip, family } = address;
      self.emit('lookup', err, ip, family, host);
      if (!self.connecting) return;
      if (isIP(ip) && (family === 4 || family === 6)) {
        order ||= family === 6 ? { 6: 0, 4: 1 } : { 4: 0, 6: 1 };
        const slot = order[family];
        if (!seen[slot].includes(ip)) {
          valid[slot].push(address);
          seen[slot].push(ip);
        }
      }
    }
    if (!valid[0].length && !valid[1].length) {
      const { address: firstIp, family: firstFamily } = addresses[0];
      if (!isIP(firstIp)) {
        process.nextTick(connectErrorNT, self, ERR_INVALID_IP_ADDRESS(firstIp));
      } else if (firstFamily !== 4 && firstFamily !== 6) {
        process.nextTick(connectErrorNT, self, ERR_INVALID_ADDRESS_FAMILY(firstFamily, options.host, options.port));
      }
      return;
    }
    // Alternate the families.
    const toAttempt = [];
    for (let i = 0, l = Math.max(valid[0].length, valid[1].length); i < l; i++) {
      if (i in valid[0]) toAttempt.push(valid[0][i]);
      if (i in valid[1]) toAttempt.push(valid[1][i]);
    }
    if (toAttempt.length === 1) {
      const { address: ip, family } = toAttempt[0];
      self._unrefTimer();
      internalConnect(self, ip, port, family, localAddress, localPort);
      return;
    }
    self.autoSelectFamilyAttemptedAddresses = [];
    const context = { socket: self, addresses: toAttempt, current: 0, port, localPort, timeout, timer: null, errors: [] };
    self[kConnectContext] = context;
    self._unrefTimer();
    internalConnectMultiple(context);
  });
}

function connectErrorNT(self, err) {
  self.destroy(err);
}

/** Bind (when asked) and start connecting the current handle; errors destroy the socket. */
function startConnect(self, address, port, addressType, localAddress, localPort) {
  const native = self._handle.native;
  self._handle.markOpen();
  if (localAddress || localPort) {
    localAddress ||= addressType === 4 ? DEFAULT_IPV4_ADDR : DEFAULT_IPV6_ADDR;
    // The socket has the family of the destination; a local address of the other family
    // cannot be parsed for it (libuv's EINVAL).
    const err = isIP(localAddress) === addressType ? native.bind(localAddress, localPort | 0) : UV_EINVAL;
    if (err) return { err, syscall: 'bind', address: localAddress, port: localPort };
  }
  self.emit('connectionAttempt', address, port, addressType);
  if (self.blockList?.check(address, `ipv${addressType}`)) {
    return { blocked: ERR_IP_BLOCKED(address) };
  }
  const err = native.connect(address, port);
  if (err) {
    const sockname = self._getsockname();
    const details = sockname.address !== undefined ? `${sockname.address}:${sockname.port}` : undefined;
    return { err, syscall: 'connect', address, port, details };
  }
  self._handle.setActive(ACTIVE_CONNECTING, true);
  self._handle.request = { address, port, addressType, localAddress, localPort };
  return null;
}

/** Connect to a Unix domain socket (`path`), as Node's internalConnect does for a pipe. */
function connectPath(self, path) {
  self._handle.markOpen();
  self.emit('connectionAttempt', path, undefined, undefined);
  // Node 24 refuses a name longer than sun_path at once (older versions cut it to fit).
  if (!compat.truncatesLongUnixPaths && Buffer.byteLength(path) > SUN_PATH_LEN) {
    // (Node's details come from the empty sockname of a Unix socket, quirk included.)
    self.destroy(exceptionWithHostPort(UV_EINVAL, 'connect', path, undefined, 'undefined:undefined'));
    return;
  }
  // Failures come back as a later ConnectFailed event, as libuv reports them.
  self._handle.native.connectPath(path, compat.truncatesLongUnixPaths);
  self._handle.setActive(ACTIVE_CONNECTING, true);
  self._handle.request = { address: path, port: undefined, addressType: undefined };
}

function connectFailure(failed) {
  if (failed.blocked) return failed.blocked;
  return exceptionWithHostPort(failed.err, failed.syscall, failed.address, failed.port, failed.details);
}

function internalConnect(self, address, port, addressType, localAddress, localPort) {
  const failed = startConnect(self, address, port, addressType, localAddress, localPort);
  if (failed) self.destroy(connectFailure(failed));
}

function internalConnectMultiple(context, canceled) {
  clearTimeout(context.timer);
  const self = context.socket;
  if (canceled || context.current === context.addresses.length) {
    self[kConnectContext] = null;
    if (context.errors.length === 0) {
      self.destroy(ERR_SOCKET_CONNECTION_TIMEOUT());
      return;
    }
    self.destroy(aggregateError(context.errors));
    return;
  }
  const current = context.current++;
  if (current > 0) {
    // Each attempt gets a fresh handle; the previous one is closed.
    replaceHandle(self);
  }
  const { localPort, port } = context;
  const { address, family: addressType } = context.addresses[current];
  self.autoSelectFamilyAttemptedAddresses.push(`${address}:${port}`);
  const failed = startConnect(self, address, port, addressType, undefined, localPort);
  if (failed) {
    const ex = connectFailure(failed);
    context.errors.push(ex);
    self.emit('connectionAttemptFailed', address, port, addressType, ex);
    internalConnectMultiple(context);
    return;
  }
  self._handle.attempt = current;
  if (current < context.addresses.length - 1) {
    const handle = self._handle;
    context.timer = setTimeout(onAttemptTimeout, context.timeout, context, handle);
  }
}

function onAttemptTimeout(context, handle) {
  const self = context.socket;
  const req = handle.request;
  const ex = exceptionWithHostPort(UV_ETIMEDOUT, 'connect', req.address, req.port);
  context.errors.push(ex);
  self.emit('connectionAttemptTimeout', req.address, req.port, req.addressType);
  if (self.connecting) internalConnectMultiple(context);
}

function replaceHandle(self) {
  const old = self._handle;
  if (old) {
    old.native.close(false);
    old.release();
  }
  self._handle = engine.createSocketHandle(self);
  self._sockname = null;
}

function onConnectOutcome(self, status) {
  if (self.destroyed) return;
  const handle = self._handle;
  const req = handle?.request || {};
  const context = self[kConnectContext];
  if (context) {
    clearTimeout(context.timer);
    if (status !== 0) {
      let details;
      if (req.localAddress && req.localPort) details = `${req.localAddress}:${req.localPort}`;
      const ex = exceptionWithHostPort(status, 'connect', req.address, req.port, details);
      context.errors.push(ex);
      self.emit('connectionAttemptFailed', req.address, req.port, req.addressType, ex);
      if (self.connecting) internalConnectMultiple(context);
      return;
    }
    self[kConnectContext] = null;
  }
  self.connecting = false;
  self._sockname = null;
  if (status === 0) {
    self._unrefTimer();
    // A Unix domain socket has neither option (Node's Pipe handle lacks the methods).
    if (!self[kIsPipe]) {
      if (self[kSetNoDelay]) handle.native.setNoDelay(true);
      if (self[kSetKeepAlive]) handle.native.setKeepAlive(true, self[kSetKeepAliveInitialDelay]);
    }
    self.emit('connect');
    self.emit('ready');
    if (!self.isPaused()) self.read(0);
  } else {
    let details;
    if (req.localAddress && req.localPort) details = `${req.localAddress}:${req.localPort}`;
    const ex = exceptionWithHostPort(status, 'connect', req.address, req.port, details);
    if (details) {
      ex.localAddress = req.localAddress;
      ex.localPort = req.localPort;
    }
    self.emit('connectionAttemptFailed', req.address, req.port, req.addressType, ex);
    self.destroy(ex);
  }
}

module.exports = { lookupAndConnect, connectPath, onConnectOutcome };
