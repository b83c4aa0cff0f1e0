'use strict';
// Connecting a net.Socket: name lookup ('lookup' events), the single attempt and the
// sequential attempts of autoSelectFamily ('connectionAttempt*' events, AggregateError), local
// binding, and the outcome ('connect' and 'ready', or the error), as Node's lib/net.js does.

const {
  ERR_INVALID_ARG_TYPE,
  ERR_INVALID_ARG_VALUE,
  ERR_INVALID_IP_ADDRESS,
  ERR_INVALID_ADDRESS_FAMILY,
  ERR_SOCKET_CONNECTION_TIMEOUT,
  ERR_IP_BLOCKED,
  exceptionWithHostPort,
  errnoException,
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
const { CONNECT_TO_OWN_SERVER } = require('../binding.js');
const { ACTIVE_CONNECTING, EventKind, kOnEvent } = engine;
const autoSelect = require('./autoselect');
const compat = require('./compat');
const {
  kBoundSource,
  kConnectContext,
  kSetNoDelay,
  kSetKeepAlive,
  kSetKeepAliveInitialDelay,
  kSetKeepAliveInterval,
  kSetKeepAliveCount,
  kSetTOS,
  kIsPipe,
  kInitHandle,
  SUN_PATH_LEN,
  UV_EALREADY,
  UV_EBADF,
  UV_EINVAL,
  UV_ECANCELED,
  UV_ETIMEDOUT,
} = require('./shared');

const DEFAULT_IPV4_ADDR = '0.0.0.0';
const DEFAULT_IPV6_ADDR = '::';

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

  // An adopted BoundSocket has its local address and its family already.
  if (self[kBoundSource]) {
    if (localAddress !== undefined || localPort !== undefined) {
      throw ERR_INVALID_ARG_VALUE(
        'options',
        options,
        'localAddress and localPort cannot be used with an adopted bound socket',
      );
    }
    autoSelectFamily = false;
  }

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
    // (A bound socket connects within the call, as Node's: the source address the kernel
    // picks is there at once. Its failure still comes as a later 'error'.)
    if (self[kBoundSource]) {
      internalConnect(self, host, port, addressType, localAddress, localPort);
      return;
    }
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
    const context = {
      socket: self,
      addresses: toAttempt,
      current: 0,
      port,
      localPort,
      timeout,
      timer: null,
      errors: [],
      // Attempts overlap (RFC 8305) unless they must share one local port: two sockets
      // cannot bind the same port at once, so those attempts run one after another as in Node.
      parallel: !localPort,
      live: new Set(), // attempts started and not yet failed
    };
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
    // (Node's Pipe handle, kept from an earlier connect, has no bind6.)
    if (self[kIsPipe] && addressType === 6) throw new TypeError('self._handle.bind6 is not a function');
    // The socket has the family of the destination; a local address of the other family
    // cannot be parsed for it (libuv's EINVAL).
    const err = isIP(localAddress) === addressType ? native.bind(localAddress, localPort | 0) : UV_EINVAL;
    if (err) return { err, syscall: 'bind', address: localAddress, port: localPort };
  }
  self.emit('connectionAttempt', address, port, addressType);
  if (self.blockList?.check(address, `ipv${addressType}`)) {
    return { blocked: ERR_IP_BLOCKED(address) };
  }
  // A Unix socket handle kept from an earlier connect: as Node's Pipe handle, it connects to
  // the path named by the address (its outcome, ENOENT as a rule, comes later); an IPv6
  // address fails as in Node, whose Pipe handle has no connect6.
  if (self[kIsPipe]) {
    if (addressType === 6) throw new TypeError('self._handle.connect6 is not a function');
    connectPipeHandle(self, address, port, addressType);
    return null;
  }
  // A connect request still in flight on this handle: libuv's EALREADY (connect() called
  // again while connecting).
  const err = self._handle.isActive(ACTIVE_CONNECTING) ? UV_EALREADY : native.connect(address, port);
  if (err < 0) {
    // As Node: the local name even when there is none (EMFILE: "undefined:undefined").
    const sockname = self._getsockname();
    return { err, syscall: 'connect', address, port, details: `${sockname.address}:${sockname.port}` };
  }
  self._handle.setActive(ACTIVE_CONNECTING, true);
  self._handle.request = { address, port, addressType, localAddress, localPort };
  // Node's loopback connect completes in the next poll phase; one to a server of this process
  // goes through the runtime thread, which must be as quick (see awaitOwnConnect).
  if (err === CONNECT_TO_OWN_SERVER) engine.atPendingPhase(() => native.awaitOwnConnect());
  return null;
}

/** Connect to a Unix domain socket (`path`), as Node's internalConnect does for a pipe. */
function connectPath(self, path) {
  self._handle.markOpen();
  self.emit('connectionAttempt', path, undefined, undefined);
  // Node 24 refuses a name longer than sun_path at once (older versions cut it to fit), and
  // Node 22+ one with a NUL byte inside.
  const tooLong = !compat.truncatesLongUnixPaths && Buffer.byteLength(path) > SUN_PATH_LEN;
  const hasNul = compat.pipeConnectRejectsNul && path[0] !== '\0' && path.includes('\0');
  if (tooLong || hasNul) {
    // (Node's details come from the empty sockname of a Unix socket, quirk included.)
    self.destroy(exceptionWithHostPort(UV_EINVAL, 'connect', path, undefined, 'undefined:undefined'));
    return;
  }
  connectPipeHandle(self, path, undefined, undefined);
}

/**
 * Start a connect of a Unix socket handle; its outcome, failures included, comes back as a
 * later Connected or ConnectFailed event, as libuv reports them. A connect still in flight is
 * superseded, as in libuv's pipe connect (one request slot per handle, no EALREADY): one
 * outcome is reported for all of them, for the last request, and a failure of any wins
 * (libuv's delayed error). `outcomes` counts the events still to come.
 */
function connectPipeHandle(self, address, port, addressType) {
  const handle = self._handle;
  const pending = handle.isActive(ACTIVE_CONNECTING) ? handle.request : null;
  handle.native.connectPath(address, compat.truncatesLongUnixPaths);
  handle.setActive(ACTIVE_CONNECTING, true);
  handle.request = {
    address,
    port,
    addressType,
    outcomes: pending ? pending.outcomes + 1 : 1,
    status: pending?.status ?? 0,
  };
}

/**
 * The connect outcome to report for an event's `status` (0 or a negative errno), or null
 * while more outcomes of superseded connects are to come (see `connectPipeHandle`).
 */
function connectOutcome(handle, status) {
  const req = handle?.request;
  if (req?.outcomes === undefined) return status; // (a TCP connect)
  if (status !== 0) req.status = status;
  return --req.outcomes > 0 ? null : req.status;
}

function connectFailure(failed) {
  if (failed.blocked) return failed.blocked;
  return exceptionWithHostPort(failed.err, failed.syscall, failed.address, failed.port, failed.details);
}

function internalConnect(self, address, port, addressType, localAddress, localPort) {
  const failed = startConnect(self, address, port, addressType, localAddress, localPort);
  if (failed) self.destroy(connectFailure(failed));
}

/**
 * Start the next address of an autoSelectFamily connect, or give up when every attempt has
 * failed. Node abandons an attempt when its delay (`autoSelectFamilyAttemptTimeout`) passes;
 * here it stays alive beside the later ones and the first to connect wins (RFC 8305), so a
 * slow but working first route still connects. The events are Node's: the delay still emits
 * 'connectionAttemptTimeout' before the next 'connectionAttempt'.
 */
function internalConnectMultiple(context, canceled) {
  clearTimeout(context.timer);
  const self = context.socket;
  // The signal aborted: the stream machinery destroys the socket; start nothing more.
  if (self._aborted) return;
  if (canceled || context.current === context.addresses.length) {
    // An earlier attempt is still under way and may yet connect.
    if (!canceled && context.live.size > 0) return;
    abandonAttempts(self, context);
    self[kConnectContext] = null;
    if (context.errors.length === 0) {
      self.destroy(ERR_SOCKET_CONNECTION_TIMEOUT());
      return;
    }
    self.destroy(aggregateError(context.errors));
    return;
  }
  const current = context.current++;
  if (current > 0) nextAttemptHandle(self, context);
  const { localPort, port } = context;
  const { address, family: addressType } = context.addresses[current];
  self.autoSelectFamilyAttemptedAddresses.push(`${address}:${port}`);
  const attempt = new Attempt(context, self._handle);
  const failed = startConnect(self, address, port, addressType, undefined, localPort);
  if (failed) {
    const ex = connectFailure(failed);
    context.errors.push(ex);
    self.emit('connectionAttemptFailed', address, port, addressType, ex);
    internalConnectMultiple(context);
    return;
  }
  // The attempt's outcome goes to it rather than to the socket.
  self._handle.setOwner(attempt);
  context.live.add(attempt);
  if (current < context.addresses.length - 1) {
    context.timer = setTimeout(onAttemptTimeout, context.timeout, context, attempt);
  }
}

/**
 * One connect attempt of autoSelectFamily. Its handle's events come here until the attempt
 * wins (the socket then owns the handle) or fails.
 */
class Attempt {
  constructor(context, handle) {
    this.context = context;
    this.handle = handle;
    handle.attempt = this;
  }

  [kOnEvent](kind, payload) {
    if (kind === EventKind.Connected) {
      this.handle.setActive(ACTIVE_CONNECTING, false);
      onAttemptConnected(this);
    } else if (kind === EventKind.ConnectFailed) {
      this.handle.setActive(ACTIVE_CONNECTING, false);
      onAttemptFailed(this, payload);
    }
  }
}

function closeAttemptHandle(handle) {
  if (handle.closed) return;
  handle.native.close(false);
  handle.release();
}

/**
 * Give the socket a fresh handle for the next attempt; the previous one closes unless alive.
 * As Node's initSocketHandle for the new handle (see Socket's kInitHandle), this resets the
 * stream's destroyed state (an 'error' already emitted, by a destroy(err) before this connect,
 * no longer keeps the connect's own failure from being emitted) and the byte counters.
 */
function nextAttemptHandle(self, context) {
  const old = self._handle;
  if (old && !context.live.has(old.attempt)) closeAttemptHandle(old);
  self._handle = engine.createSocketHandle(self);
  self[kInitHandle]();
}

/**
 * An attempt completed: it is no longer under way. Whether its outcome still counts; an
 * attempt of a connect the socket has moved on from is closed instead.
 */
function settleAttempt(attempt) {
  const { context, handle } = attempt;
  const self = context.socket;
  context.live.delete(attempt);
  if (self[kConnectContext] === context && self.connecting) return true;
  if (handle !== self._handle) closeAttemptHandle(handle);
  return false;
}

function onAttemptConnected(attempt) {
  if (!settleAttempt(attempt)) return;
  const { context, handle } = attempt;
  const self = context.socket;
  clearTimeout(context.timer);
  self[kConnectContext] = null;
  // The losers are closed; the winner becomes the socket's handle.
  for (const other of context.live) closeAttemptHandle(other.handle);
  context.live.clear();
  if (self._handle !== handle) closeAttemptHandle(self._handle);
  handle.setOwner(self);
  self._handle = handle;
  self._sockname = null;
  onConnectOutcome(self, 0);
}

function onAttemptFailed(attempt, status) {
  if (!settleAttempt(attempt)) return;
  const { context, handle } = attempt;
  const self = context.socket;
  const req = handle.request;
  const ex = connectionError(req, status);
  context.errors.push(ex);
  if (handle === self._handle) {
    // The latest attempt failed: go on at once, as Node does.
    clearTimeout(context.timer);
    self.emit('connectionAttemptFailed', req.address, req.port, req.addressType, ex);
    if (self.connecting) internalConnectMultiple(context);
    return;
  }
  // An earlier attempt, kept alive past its delay, failed after all.
  closeAttemptHandle(handle);
  self.emit('connectionAttemptFailed', req.address, req.port, req.addressType, ex);
  if (self.connecting && context.current === context.addresses.length) {
    internalConnectMultiple(context);
  }
}

function onAttemptTimeout(context, attempt) {
  const self = context.socket;
  const req = attempt.handle.request;
  if (!context.parallel) {
    // One local port for all attempts: this one must make way for the next.
    context.live.delete(attempt);
    context.errors.push(connectionError(req, UV_ETIMEDOUT));
  }
  self.emit('connectionAttemptTimeout', req.address, req.port, req.addressType);
  if (self.connecting) internalConnectMultiple(context);
}

/**
 * The socket is destroyed (or gives up) while attempts are under way: close every attempt but
 * the socket's own handle, which the socket closes itself (and so gets its events back).
 * Returns the request of the latest attempt if it was still connecting: Node reports that one
 * cancelled ('connectionAttemptFailed' with ECANCELED) when its handle closes.
 */
function abandonAttempts(self, context) {
  clearTimeout(context.timer);
  const handle = self._handle;
  const canceled = handle && context.live.has(handle.attempt) ? handle.request : null;
  for (const attempt of context.live) {
    if (attempt.handle !== handle) closeAttemptHandle(attempt.handle);
  }
  context.live.clear();
  if (handle && !handle.closed) handle.setOwner(self);
  return canceled;
}

/** Node's report of an attempt cancelled by destroy(), just before 'close'. */
function emitAttemptCanceled(self, req) {
  const ex = connectionError(req, UV_ECANCELED);
  self.emit('connectionAttemptFailed', req.address, req.port, req.addressType, ex);
  return ex;
}

function onConnectOutcome(self, status) {
  if (self.destroyed) return;
  const handle = self._handle;
  const req = handle?.request || {};
  self.connecting = false;
  self._sockname = null;
  if (status === 0) {
    self._unrefTimer();
    // A Unix domain socket has neither option (Node's Pipe handle lacks the methods).
    if (!self[kIsPipe]) {
      if (self[kSetNoDelay]) handle.native.setNoDelay(true);
      if (self[kSetKeepAlive]) applyKeepAlive(handle.native, self, true);
      if (self[kSetTOS] !== undefined) {
        // (Node 24.x: a failure is reported, the connection stays.)
        const err = handle.native.setTypeOfService(self[kSetTOS]);
        if (err && err !== UV_EBADF) self.emit('error', errnoException(err, 'setTypeOfService'));
      }
    }
    self.emit('connect');
    self.emit('ready');
    if (!self.isPaused()) self.read(0);
    if (self._handle) engine.startedReading(self._handle);
  } else {
    const ex = connectionError(req, status);
    self.emit('connectionAttemptFailed', req.address, req.port, req.addressType, ex);
    self.destroy(ex);
  }
}

/** SO_KEEPALIVE as the socket asked for it (interval and count where Node has them). */
function applyKeepAlive(native, socket, enable) {
  const interval = socket[kSetKeepAliveInterval];
  const count = socket[kSetKeepAliveCount];
  native.setKeepAlive(
    enable,
    socket[kSetKeepAliveInitialDelay],
    interval > 0 ? interval : undefined,
    typeof count === 'number' && count > 0 && count <= 0xffffffff ? count >>> 0 : undefined,
  );
}

/** The error of a failed connect request, as Node's createConnectionError builds it. */
function connectionError(req, status) {
  let details;
  if (req.localAddress && req.localPort) details = `${req.localAddress}:${req.localPort}`;
  const ex = exceptionWithHostPort(status, 'connect', req.address, req.port, details);
  if (details) {
    ex.localAddress = req.localAddress;
    ex.localPort = req.localPort;
  }
  return ex;
}

module.exports = {
  lookupAndConnect,
  connectPath,
  connectOutcome,
  onConnectOutcome,
  abandonAttempts,
  emitAttemptCanceled,
  applyKeepAlive,
};
