'use strict';
// net.Server: an EventEmitter over a native ServerHandle, with Node's listen() forms, events
// ('listening', 'connection', 'drop', 'error', 'close') and their order.

const EventEmitter = require('node:events');
const fs = require('node:fs');
const { getDefaultHighWaterMark } = require('node:stream');
const {
  ERR_INVALID_ARG_TYPE,
  ERR_INVALID_ARG_VALUE,
  ERR_SERVER_ALREADY_LISTEN,
  ERR_SERVER_NOT_RUNNING,
  errnoException,
  uvExceptionWithHostPort,
} = require('./errors');
const { validateNumber, validatePort, validateAbortSignal } = require('./validators');
const { normalizeArgs, toNumber, isPipeName } = require('./normalize');
const engine = require('./engine');
const { EventKind, kOnEvent, ACTIVE_LISTENING } = engine;
const { Socket } = require('./socket');
const { kSetNoDelay, kSetKeepAlive, kSetKeepAliveInitialDelay, SUN_PATH_LEN, UV_EINVAL } = require('./shared');
const { isIP } = require('./ip');
const { BoundSocket, kBoundSocketPath, kBoundSocketConsume } = require('./bound');
const compat = require('./compat');
const { BlockList } = require('node:net');

const DEFAULT_IPV4_ADDR = '0.0.0.0';
const DEFAULT_IPV6_ADDR = '::';

let dns; // loaded on first name lookup

/** `new Server([options][, connectionListener])`, also callable without `new` as in Node. */
function Server(options, connectionListener) {
  if (!(this instanceof Server)) return new Server(options, connectionListener);
  EventEmitter.call(this);
  if (typeof options === 'function') {
    connectionListener = options;
    options = {};
    this.on('connection', connectionListener);
  } else if (options == null || typeof options === 'object') {
    options = { ...options };
    if (typeof connectionListener === 'function') this.on('connection', connectionListener);
  } else {
    throw ERR_INVALID_ARG_TYPE('options', 'Object', options);
  }
  if (typeof options.keepAliveInitialDelay !== 'undefined') {
    validateNumber(options.keepAliveInitialDelay, 'options.keepAliveInitialDelay');
    if (options.keepAliveInitialDelay < 0) options.keepAliveInitialDelay = 0;
  }
  if (typeof options.highWaterMark !== 'undefined') {
    validateNumber(options.highWaterMark, 'options.highWaterMark');
    if (options.highWaterMark < 0) options.highWaterMark = getDefaultHighWaterMark();
  }
  this._connections = 0;
  this._handle = null;
  this._usingWorkers = false;
  this._workers = [];
  this._unref = false;
  this._listeningId = 1;
  this.allowHalfOpen = options.allowHalfOpen || false;
  this.pauseOnConnect = !!options.pauseOnConnect;
  this.noDelay = Boolean(options.noDelay);
  this.keepAlive = Boolean(options.keepAlive);
  this.keepAliveInitialDelay = ~~(options.keepAliveInitialDelay / 1000);
  this.highWaterMark = options.highWaterMark ?? getDefaultHighWaterMark();
  if (compat.blockListOption && options.blockList) {
    if (!BlockList.isBlockList(options.blockList)) {
      throw ERR_INVALID_ARG_TYPE('options.blockList', 'net.BlockList', options.blockList);
    }
    this.blockList = options.blockList;
  }
}

class ServerPrototype extends EventEmitter {
  [kOnEvent](kind, payload) {
    switch (kind) {
      case EventKind.Connection:
        onConnection(this, payload);
        break;
      case EventKind.AcceptFailed:
        this.emit('error', errnoException(payload, 'accept'));
        break;
    }
  }

  listen(...args) {
    const normalized = normalizeArgs(args);
    let options = normalized[0];
    const cb = normalized[1];
    if (this._handle) throw ERR_SERVER_ALREADY_LISTEN();
    if (cb !== null) this.once('listening', cb);
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    // listen(boundSocket) and listen({ handle: boundSocket }): listen on the bound socket
    // itself, which is then this server's.
    const bound = options instanceof BoundSocket ? options : options.handle instanceof BoundSocket ? options.handle : null;
    if (bound !== null) {
      const path = bound[kBoundSocketPath];
      const handle = bound[kBoundSocketConsume]();
      handle.setOwner(this);
      if (path !== undefined) this._pipeName = path;
      this._listeningId++;
      listenBound(this, handle, 0, backlogFromArgs, null, -1, '-1:null:-1');
      return this;
    }
    options = options._handle || options.handle || options;
    // Read when Node reads them (a getter that throws must throw at the same point). Only
    // `true` counts; Node 20 has no reusePort option at all.
    const ipv6Only = options.ipv6Only === true;
    const reusePort = compat.reusePortOption && options.reusePort === true;
    this._listeningId++;

    // listen(handle) with another server of this module (or its handle): serve the same
    // listening socket through a duplicate descriptor.
    if (options instanceof Server) options = options._handle ?? {};
    if (options instanceof engine.NativeHandle) {
      const fd = options.closed ? -1 : options.native.fd();
      options = { fd: fd >= 0 ? engine.duplicateFd(fd) : -1 };
      if (options.fd < 0) throw ERR_INVALID_ARG_VALUE('options', options);
    }
    if (options.signal !== undefined) addAbortSignal(this, options.signal);

    // listen({ fd }) and listen(handle) with handle = { fd }: a socket made elsewhere (say,
    // systemd socket activation).
    if (typeof options.fd === 'number' && options.fd >= 0) {
      listenDescriptor(this, options.fd, backlogFromArgs);
      return this;
    }
    // listen(), listen(null), listen(cb), listen({ port: undefined }): any free port.
    if (
      args.length === 0 ||
      typeof args[0] === 'function' ||
      (typeof options.port === 'undefined' && 'port' in options) ||
      options.port === null
    ) {
      options.port = 0;
    }
    if (typeof options.port === 'number' || typeof options.port === 'string') {
      validatePort(options.port, 'options.port');
      const backlog = options.backlog || backlogFromArgs;
      // (Node does not validate reusePort: anything but `true` is no.)
      if (compat.reusePortOption && options.reusePort === true) options.exclusive = true;
      const port = options.port | 0;
      if (options.host) {
        lookupAndListen(this, port, options.host, backlog, listenFlags(ipv6Only, reusePort, options.exclusive));
      } else {
        setupListenHandle(this, null, port, 4, backlog, listenFlags(ipv6Only, reusePort, options.exclusive));
      }
      return this;
    }
    // listen(path[, backlog][, cb]) and listen({ path }): a Unix domain socket.
    if (options.path && isPipeName(options.path)) {
      if (options.path[0] === '\0' && (options.readableAll || options.writableAll)) {
        // (Node's message, typo included.)
        const msg = 'can not set readableAll or writableAllt to true when path is abstract unix socket';
        throw ERR_INVALID_ARG_VALUE('options', options, msg);
      }
      const pipeName = (this._pipeName = options.path);
      const backlog = options.backlog || backlogFromArgs;
      // Node reads these next (for the cluster primary), whatever it then does with them.
      options.exclusive;
      options.readableAll;
      options.writableAll;
      listenPipe(this, pipeName, backlog);
      if (this._handle) setPipeMode(this, pipeName, options);
      return this;
    }
    if (!('port' in options || 'path' in options)) {
      throw ERR_INVALID_ARG_VALUE('options', options, 'must have the property "port" or "path"');
    }
    throw ERR_INVALID_ARG_VALUE('options', options);
  }

  get listening() {
    return !!this._handle;
  }

  address() {
    if (this._handle && !this._handle.isPipe) {
      const out = this._handle.native.getsockname();
      return out || {};
    }
    // A Unix socket server reports its path, even after close (as Node does).
    if (this._pipeName) return this._pipeName;
    return null;
  }

  close(cb) {
    // A listen() still waiting for its address lookup is cancelled.
    this._listeningId++;
    if (typeof cb === 'function') {
      if (!this._handle) {
        this.once('close', function close() {
          cb(ERR_SERVER_NOT_RUNNING());
        });
      } else {
        this.once('close', cb);
      }
    }
    if (this._handle) {
      this._handle.native.close();
      this._handle.release();
      this._handle = null;
    }
    this._emitCloseIfDrained();
    return this;
  }

  _emitCloseIfDrained() {
    if (this._handle || this._connections) return;
    process.nextTick(emitCloseNT, this);
  }

  getConnections(cb) {
    process.nextTick(cb, null, this._connections);
    return this;
  }

  ref() {
    this._unref = false;
    if (this._handle) this._handle.ref();
    return this;
  }

  unref() {
    this._unref = true;
    if (this._handle) this._handle.unref();
    return this;
  }

  [Symbol.asyncDispose]() {
    if (!this._handle) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.close((err) => (err ? reject(err) : resolve()));
    });
  }
}

/**
 * Socket flags of a TCP listen. In a cluster worker, Node shares one listening handle through
 * the primary; this module's handles cannot travel over the IPC channel, so each worker listens
 * itself with SO_REUSEPORT and the kernel spreads connections (unless `exclusive`).
 */
function listenFlags(ipv6Only, reusePort, exclusive) {
  return { ipv6Only, reusePort: reusePort || (isClusterWorker() && !exclusive) };
}

let cluster; // loaded on first listen, as Node does
function isClusterWorker() {
  cluster ??= require('node:cluster');
  return cluster.isWorker;
}

function emitCloseNT(self) {
  self.emit('close');
}

function emitErrorNT(self, err) {
  self.emit('error', err);
}

function emitListeningNT(self) {
  if (self._handle) self.emit('listening');
}

function lookupAndListen(self, port, address, backlog, flags) {
  dns ??= require('node:dns');
  const listeningId = self._listeningId;
  dns.lookup(address, function doListen(err, ip, addressType) {
    if (listeningId !== self._listeningId) return;
    if (err) {
      self.emit('error', err);
    } else {
      addressType = ip ? addressType : 4;
      setupListenHandle(self, ip, port, addressType, backlog, flags);
    }
  });
}

/** Bind and listen; a failure is emitted as 'error' on the next tick, as Node does. */
function setupListenHandle(self, address, port, addressType, backlog, flags) {
  const handle = engine.createServerHandle(self);
  const bind = (addr) => handle.native.bind(addr, port, flags.ipv6Only, flags.reusePort);
  let err;
  if (!address) {
    // The unspecified IPv6 address (dual stack) when IPv6 is available, else IPv4.
    err = bind(DEFAULT_IPV6_ADDR);
    if (err === 0) {
      address = DEFAULT_IPV6_ADDR;
      addressType = 6;
    } else {
      address = DEFAULT_IPV4_ADDR;
      addressType = 4;
      err = bind(address);
    }
  } else {
    err = bind(address);
  }
  listenBound(self, handle, err, backlog, address, port, `${addressType}:${address}:${port}`);
}

/** Listen on a descriptor; anything but a TCP or Unix socket is `EINVAL`, emitted as Node does. */
function listenDescriptor(self, fd, backlog) {
  const type = engine.guessHandleType(fd);
  const handle = engine.createServerHandle(self);
  handle.isPipe = type === 'PIPE';
  const err = type === 'TCP' || type === 'PIPE' ? handle.native.open(fd) : UV_EINVAL;
  listenBound(self, handle, err, backlog, null, null, 'null:null:null');
}

/** Listen on a Unix domain socket; Node reports its errors with port -1. */
function listenPipe(self, path, backlog) {
  const handle = engine.createServerHandle(self);
  handle.isPipe = true;
  const err = handle.native.bindPath(path, compat.truncatesLongUnixPaths, compat.unlinksTruncatedUnixPath);
  listenBound(self, handle, err, backlog, path, -1, `-1:${path}:-1`);
}

/**
 * After the bind (`err`): the bound handle becomes the server's, then listens; either error
 * is emitted on the next tick. Node holds the handle before it converts the backlog, so a
 * backlog whose conversion throws leaves the server with a bound handle (close() closes it).
 */
function listenBound(self, handle, err, backlog, address, port, connectionKey) {
  if (err === 0) {
    self._handle = handle;
    handle.markOpen();
    // (As the native Int32Value: a BigInt throws "Cannot convert a BigInt value to a number".)
    err = handle.native.listen(+(backlog || 511) | 0, self.pauseOnConnect);
    if (err !== 0) self._handle = null;
  }
  if (err !== 0) {
    handle.native.close();
    handle.release();
    process.nextTick(emitErrorNT, self, uvExceptionWithHostPort(err, 'listen', address, port));
    return;
  }
  handle.setActive(ACTIVE_LISTENING, true);
  self._connectionKey = connectionKey;
  if (self._unref) self.unref();
  process.nextTick(emitListeningNT, self);
}

/** `readableAll`/`writableAll`: add read/write permission for everyone, as uv_pipe_chmod. */
function setPipeMode(self, path, options) {
  let wanted = 0;
  if (options.readableAll === true) wanted |= 0o444;
  if (options.writableAll === true) wanted |= 0o222;
  if (wanted === 0) return;
  // A name longer than sun_path was cut to fit (Node 20, 22): the file has the cut name, which
  // libuv's chmod finds through the socket itself.
  if (compat.truncatesLongUnixPaths && Buffer.byteLength(path) > SUN_PATH_LEN) {
    path = Buffer.from(path).subarray(0, SUN_PATH_LEN);
  }
  try {
    if (compat.pipeModeIsExact) {
      fs.chmodSync(path, wanted);
    } else {
      const { mode } = fs.statSync(path);
      if ((mode & wanted) !== wanted) fs.chmodSync(path, (mode | wanted) & 0o7777);
    }
  } catch (err) {
    self._handle.native.close();
    self._handle.release();
    self._handle = null;
    throw errnoException(err.errno, 'uv_pipe_chmod');
  }
}

function onConnection(self, native) {
  const limited = compat.maxConnectionsZeroDropsAll ? self.maxConnections != null : self.maxConnections;
  if (limited && self._connections >= self.maxConnections) {
    const data = Object.create(null);
    const local = native.getsockname();
    const remote = native.getpeername();
    data.localAddress = local?.address;
    data.localPort = local?.port;
    data.localFamily = local?.family;
    data.remoteAddress = remote?.address;
    data.remotePort = remote?.port;
    data.remoteFamily = remote?.family;
    native.close(false);
    self.emit('drop', data);
    return;
  }
  if (self.blockList) {
    const remote = native.getpeername();
    const family = remote ? isIP(remote.address) : 0;
    if (family && self.blockList.check(remote.address, `ipv${family}`)) {
      native.close(false);
      return;
    }
  }
  const socket = new Socket({
    handle: native,
    allowHalfOpen: self.allowHalfOpen,
    pauseOnCreate: self.pauseOnConnect,
    readable: true,
    writable: true,
    readableHighWaterMark: self.highWaterMark,
    writableHighWaterMark: self.highWaterMark,
  });
  if (self.noDelay) {
    socket[kSetNoDelay] = true;
    native.setNoDelay(true);
  }
  if (self.keepAlive) {
    socket[kSetKeepAlive] = true;
    socket[kSetKeepAliveInitialDelay] = self.keepAliveInitialDelay;
    native.setKeepAlive(true, self.keepAliveInitialDelay);
  }
  self._connections++;
  socket.server = self;
  socket._server = self;
  self.emit('connection', socket);
  if (socket._handle) engine.startedReading(socket._handle);
}

function addAbortSignal(server, signal) {
  validateAbortSignal(signal, 'options.signal');
  if (signal.aborted) {
    process.nextTick(() => server.close());
    return;
  }
  const onAborted = () => server.close();
  signal.addEventListener('abort', onAborted, { once: true });
  server.once('close', () => signal.removeEventListener('abort', onAborted));
}

Server.prototype = ServerPrototype.prototype;
Object.defineProperty(Server.prototype, 'constructor', { value: Server, writable: true, configurable: true });
Object.setPrototypeOf(Server, EventEmitter);

module.exports = { Server };
