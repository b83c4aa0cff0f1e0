'use strict';
// net.Socket: a stream.Duplex over a native SocketHandle.
//
// The semantics follow Node's lib/net.js: the same argument forms, the same order of events
// ('lookup', 'connect', 'ready', 'data', 'end', 'finish', 'error', 'close'), the same errors.
// The native handle only moves bytes; this file decides what they mean.

const fs = require('node:fs');
const stream = require('node:stream');
const { isUint8Array } = require('node:util/types');
const {
  ERR_INVALID_ARG_VALUE,
  ERR_INVALID_ARG_TYPE,
  ERR_MISSING_ARGS,
  ERR_OUT_OF_RANGE,
  ERR_SOCKET_CLOSED,
  ERR_WRITE_NOT_A_BUFFER,
  ERR_SOCKET_CLOSED_BEFORE_CONNECTION,
  ERR_INVALID_HANDLE_TYPE,
  ERR_INVALID_FD_TYPE,
  errnoException,
  genericNodeError,
} = require('./errors');
const { BlockList } = require('node:net');
const {
  validateNumber,
  validateFunction,
  validateString,
  validateInt32,
  validateAbortSignal,
} = require('./validators');
const { normalizeArgs, isNormalized } = require('./normalize');
const engine = require('./engine');
const { EventKind, kOnEvent, kOnReadStart, ACTIVE_CONNECTING, ACTIVE_READING, ACTIVE_WRITING, ACTIVE_SHUTDOWN, ACTIVE_CLOSING } = engine;
const compat = require('./compat');
const { BoundSocket, kBoundSocketPath, kBoundSocketConsume } = require('./bound');

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
  unsupported,
  UV_EAGAIN,
  UV_ECANCELED,
  UV_EPIPE,
  UV_ENOTCONN,
  UV_ENOTSOCK,
} = require('./shared');
const {
  lookupAndConnect,
  connectPath,
  connectOutcome,
  onConnectOutcome,
  abandonAttempts,
  emitAttemptCanceled,
  applyKeepAlive,
} = require('./connect');

const kTimeout = Symbol('kTimeout');
const kLastWriteQueueSize = Symbol('kLastWriteQueueSize');
const kBytesRead = Symbol('kBytesRead');
const kBytesWritten = Symbol('kBytesWritten');
const kWriteCallbacks = Symbol('kWriteCallbacks');
const kShutdownCallback = Symbol('kShutdownCallback');
const kCloseState = Symbol('kCloseState');
const kResetAndClosing = Symbol('kResetAndClosing');
const kReadPiecesLeft = Symbol('kReadPiecesLeft');
const kHeld = Symbol('kHeld');
const kBuffer = Symbol('kBuffer');
const kBufferGen = Symbol('kBufferGen');
const kBufferCb = Symbol('kBufferCb');
const kBufferRest = Symbol('kBufferRest');

const TIMEOUT_MAX = 2 ** 31 - 1;

/** State of a handle being closed: who waits for the native descriptor to go. */
class CloseState {
  constructor(handle, isException, canceledAttempt) {
    this.handle = handle;
    this.isException = isException;
    /** The request of an autoSelectFamily attempt the close cancels (reported first). */
    this.canceledAttempt = canceledAttempt;
    /** A connect request left in flight when connect() was called again (see finishClose). */
    this.orphanedConnect = null;
  }
}

/** The path a bound Unix socket adopted from a net.BoundSocket is bound to. */
const kBoundPath = Symbol('kBoundPath');

/**
 * `new Socket([options])`, also callable without `new` as in Node. The methods live on
 * `SocketPrototype` below (a class, for readable getters), whose prototype this shares.
 */
function Socket(options) {
  if (!(this instanceof Socket)) return new Socket(options);
  if (options?.objectMode) {
    throw ERR_INVALID_ARG_VALUE('options.objectMode', options.objectMode, 'is not supported');
  } else if (options?.readableObjectMode || options?.writableObjectMode) {
    throw ERR_INVALID_ARG_VALUE(
      `options.${options.readableObjectMode ? 'readableObjectMode' : 'writableObjectMode'}`,
      options.readableObjectMode || options.writableObjectMode,
      'is not supported',
    );
  }
  if (typeof options?.keepAliveInitialDelay !== 'undefined') {
    validateNumber(options.keepAliveInitialDelay, 'options.keepAliveInitialDelay');
    if (options.keepAliveInitialDelay < 0) options.keepAliveInitialDelay = 0;
  }
  // Set before the stream is constructed: an aborted `signal` makes the stream machinery
  // destroy the socket from inside the Duplex constructor, and _destroy reads these.
  this.connecting = false;
  this._hadError = false;
  this._parent = null;
  this._host = null;
  this._handle = null;
  this._sockname = null;
  this._pendingData = null;
  this._pendingEncoding = '';
  this._closeAfterHandlingError = false;
  this.server = null;
  this._server = null;
  this[kLastWriteQueueSize] = 0;
  this[kTimeout] = null;
  this[kBytesRead] = 0;
  this[kBytesWritten] = 0;
  this[kWriteCallbacks] = null; // write requests queued in the handle (made on the first)
  this[kShutdownCallback] = null;
  this[kCloseState] = null;
  this[kConnectContext] = null;
  this[kResetAndClosing] = false;
  this[kReadPiecesLeft] = false;
  this[kHeld] = null;

  if (typeof options === 'number') options = { fd: options };
  else options = { ...options };
  // Default to *not* allowing half open sockets; Duplex itself always allows it and the
  // socket ends its writable side on 'end' when asked (see onReadableStreamEnd).
  options.allowHalfOpen = Boolean(options.allowHalfOpen);
  // 'close' comes from the handle, not from the stream machinery.
  options.emitClose = false;
  options.autoDestroy = true;
  options.decodeStrings = false;
  stream.Duplex.call(this, options);

  this[kIsPipe] = false;
  // A bound socket is not connected: it reads once connect() has connected it.
  let boundNotConnected = false;
  if (options.handle instanceof BoundSocket) {
    adoptBoundSocket(this, options.handle);
    boundNotConnected = true;
  } else if (options.handle) {
    this._handle = engine.adoptSocketHandle(options.handle, this);
    this[kIsPipe] = options.handle.isUnix();
  } else if (options.fd !== undefined) {
    openDescriptor(this, options.fd);
  }
  if (compat.blockListOption && options.blockList) {
    if (!BlockList.isBlockList(options.blockList)) {
      throw ERR_INVALID_ARG_TYPE('options.blockList', 'net.BlockList', options.blockList);
    }
    this.blockList = options.blockList;
  }
  // onread: data goes into the caller's buffer and to its callback instead of 'data'
  // (kBufferRest, what the buffer could not take, is only set when there is some).
  this[kBuffer] = null;
  this[kBufferGen] = null;
  this[kBufferCb] = null;
  const { onread } = options;
  if (
    onread !== null &&
    typeof onread === 'object' &&
    (isUint8Array(onread.buffer) || typeof onread.buffer === 'function') &&
    typeof onread.callback === 'function'
  ) {
    if (typeof onread.buffer === 'function') {
      this[kBuffer] = true;
      this[kBufferGen] = onread.buffer;
    } else {
      this[kBuffer] = onread.buffer;
    }
    this[kBufferCb] = onread.callback;
    if (this._handle) initUserBuffer(this);
  }
  this[kSetNoDelay] = Boolean(options.noDelay);
  this[kSetKeepAlive] = Boolean(options.keepAlive);
  this[kSetKeepAliveInitialDelay] = ~~(options.keepAliveInitialDelay / 1000);
  if (compat.typeOfService) {
    if (options.typeOfService !== undefined) {
      validateInt32(options.typeOfService, 'options.typeOfService', 0, 255);
    }
    this[kSetTOS] = options.typeOfService;
  }

  this.on('end', onReadableStreamEnd);
  // As Node's initSocketHandle: a socket destroyed while the stream was constructed (an
  // aborted signal) is usable again; its 'error' and 'close' are already on their way.
  this._undestroy();

  // A socket handed over by a server starts reading at once unless asked not to.
  if (this._handle && options.readable !== false && !boundNotConnected) {
    if (options.pauseOnCreate) {
      this.readableFlowing = false;
    } else if (!options.manualStart) {
      this.read(0);
    }
  }
  if (options.signal) addClientAbortSignalOption(this, options.signal);
}

/**
 * new Socket({ handle: boundSocket }): the bound descriptor becomes this socket's, and
 * connect() connects it from the address it is bound to.
 */
function adoptBoundSocket(socket, bound) {
  const path = bound[kBoundSocketPath];
  const server = bound[kBoundSocketConsume]();
  const fd = server.native.releaseBound();
  server.release();
  socket._handle = engine.createSocketHandle(socket);
  const err = socket._handle.native.adoptBound(fd);
  if (err !== 0) {
    socket._handle.release();
    socket._handle = null;
    throw errnoException(err, 'open');
  }
  socket._handle.markOpen();
  socket[kBoundSource] = true;
  if (path !== undefined) {
    // A bound Unix socket: its path is its local address, before and after the connect.
    socket[kBoundPath] = path;
    socket[kIsPipe] = true;
  }
}

class SocketPrototype extends stream.Duplex {

  // --- events from the native handle ------------------------------------------------------

  [kOnReadStart]() {
    replayHeld(this);
  }

  /**
   * A new handle (of connect(), or of the next autoSelectFamily attempt), as Node's
   * initSocketHandle: the stream's ended and destroyed state is reset (a socket end()ed before
   * its first connect() is writable again), and the counters, the cached local name, the held
   * reads and the onread buffer are the new handle's (Node's counters are its handle's).
   */
  [kInitHandle]() {
    this._undestroy();
    this._sockname = null;
    this[kBytesRead] = 0;
    this[kBytesWritten] = 0;
    this[kHeld] = null;
    if (this[kBuffer]) initUserBuffer(this);
  }

  [kOnEvent](kind, payload) {
    if (
      (kind === EventKind.Data || kind === EventKind.End || kind === EventKind.ReadError) &&
      (this[kHeld] !== null || stoppedReading(this))
    ) {
      // Read by the runtime after reading stopped: for Node still in the kernel.
      (this[kHeld] ??= []).push(kind, payload);
      return;
    }
    switch (kind) {
      case EventKind.Data:
        if (payload.length <= LIBUV_READ) onData(this, payload);
        else onLargeData(this, payload);
        break;
      case EventKind.ReadReady:
        readIntoUserBuffer(this);
        break;
      case EventKind.End:
        onReadEnd(this);
        break;
      case EventKind.ReadError:
        onReadError(this, payload);
        break;
      case EventKind.Connected:
      case EventKind.ConnectFailed: {
        const status = connectOutcome(this._handle, kind === EventKind.Connected ? 0 : payload);
        if (status === null) break;
        this._handle?.setActive(ACTIVE_CONNECTING, false);
        onConnectOutcome(this, status);
        break;
      }
      case EventKind.WriteDone:
        onWriteDone(this, payload[0], payload[1]);
        break;
      case EventKind.ShutdownDone:
        onShutdownDone(this, this._handle || this[kCloseState]?.handle);
        break;
    }
  }

  // --- stream.Duplex implementation ------------------------------------------------------

  _read(n) {
    if (this.connecting || !this._handle) {
      this.once('connect', () => this._read(n));
    } else if (!this._handle.reading) {
      tryReadStart(this);
    }
  }

  _write(data, encoding, cb) {
    this._writeGeneric(false, data, encoding, cb);
  }

  _writev(chunks, cb) {
    this._writeGeneric(true, chunks, '', cb);
  }

  _writeGeneric(writev, data, encoding, cb) {
    // While connecting, hold the data; Writable buffers everything after it.
    if (this.connecting) {
      this._pendingData = data;
      this._pendingEncoding = encoding;
      const onClose = () => cb(ERR_SOCKET_CLOSED_BEFORE_CONNECTION());
      this.once('connect', function connect() {
        this.off('close', onClose);
        this._writeGeneric(writev, data, encoding, cb);
      });
      this.once('close', onClose);
      return;
    }
    this._pendingData = null;
    this._pendingEncoding = '';
    if (!this._handle) {
      cb(ERR_SOCKET_CLOSED());
      return false;
    }
    this._unrefTimer();
    let bufs;
    let bytes = 0;
    if (writev) {
      bufs = new Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const { chunk, encoding: enc } = data[i];
        bufs[i] = typeof chunk === 'string' ? Buffer.from(chunk, enc) : toBuffer(chunk);
        bytes += bufs[i].length;
      }
    } else {
      // (Node hands a string written with encoding 'buffer' to its native writeBuffer().)
      if (typeof data === 'string' && encoding === 'buffer') throw ERR_WRITE_NOT_A_BUFFER();
      bufs = [typeof data === 'string' ? Buffer.from(data, encoding) : toBuffer(data)];
      bytes = bufs[0].length;
    }
    writeBuffers(this, bufs, bytes, cb, true);
  }

  _final(cb) {
    // Not connected yet: shut down once connected.
    if (compat.finalWaitsWhilePending ? this.pending : this.connecting) {
      return this.once('connect', () => this._final(cb));
    }
    if (!this._handle) return cb();
    // libuv sends the FIN and calls back from its pending queue (see engine.atPendingPhase);
    // doing both then keeps 'finish' ahead of anything the peer does in response.
    this[kShutdownCallback] = cb;
    this._handle.setActive(ACTIVE_SHUTDOWN, true);
    const handle = this._handle;
    engine.atPendingPhase(() => shutdownNow(this, handle));
  }

  _destroy(exception, cb) {
    this.connecting = false;
    for (let s = this; s !== null; s = s._parent) {
      clearTimeout(s[kTimeout]);
    }
    let canceled = null;
    if (this[kConnectContext]) {
      canceled = abandonAttempts(this, this[kConnectContext]);
      this[kConnectContext] = null;
    }
    const handle = this._handle;
    if (handle) {
      const state = new CloseState(handle, exception ? true : false, canceled);
      this[kCloseState] = state;
      // Data that Node would not have read yet is in its kernel, which resets the peer when
      // it closes a socket with unread data: the pieces of a read not yet delivered (see
      // onLargeData), what came after reading stopped, and the first data of a connection,
      // which Node reads from the iteration after 'connect' on (see engine.startedReading).
      // (Data the runtime read and JS was not given yet is the native handle's to count.)
      const reset =
        this[kResetAndClosing] || this[kReadPiecesLeft] || heldData(this) || engine.deferredData(handle);
      this[kHeld] = null;
      this[kResetAndClosing] = false;
      handle.setActive(ACTIVE_CLOSING, true);
      const closeHandle = () => {
        handle.native.close(reset);
        // As libuv's pipe handle, which removes the file it was bound to when it closes.
        const bound = this[kBoundPath];
        if (bound !== undefined && bound[0] !== '\0') fs.rmSync(bound, { force: true });
        scheduleFinishClose(this, state);
      };
      if (this._closeAfterHandlingError) {
        // Set by http: the socket stays usable while its 'error' is handled on the next tick.
        queueMicrotask(closeHandle);
      } else {
        closeHandle();
        this._handle = null;
        this._sockname = null;
      }
      cb(exception);
    } else {
      cb(exception);
      process.nextTick(emitCloseNT, this);
    }
    if (this._server) {
      this._server._connections--;
      if (this._server._emitCloseIfDrained) this._server._emitCloseIfDrained();
    }
  }

  // --- public API ---------------------------------------------------------------------------

  connect(...args) {
    const normalized = isNormalized(args) ? args[0] : normalizeArgs(args);
    const options = normalized[0];
    const cb = normalized[1];
    if (cb !== null) this.once('connect', cb);
    if (this._parent && this._parent.connecting) return this;
    if (options.port === undefined && options.path == null) {
      throw ERR_MISSING_ARGS(['options', 'port', 'path']);
    }
    if (this.write !== Socket.prototype.write) this.write = Socket.prototype.write;
    let closing = null;
    if (this.destroyed) {
      // A handle destroy() is still closing gets its 'close' all the same, as in Node, where
      // its close callback runs in this loop iteration's close phase (see below).
      closing = this[kCloseState];
      // (One whose 'close' came already is no more than a memory.)
      if (closing?.handle.closed) closing = null;
      if (closing?.handle.isActive(ACTIVE_CONNECTING) && !closing.canceledAttempt) {
        closing.orphanedConnect = closing.handle.request ?? null;
      }
      this._handle = null;
      this._peername = null;
      this._sockname = null;
      this[kCloseState] = null;
      this._undestroy();
    }
    const { path } = options;
    // (An adopted bound socket is what it was bound as, whatever the options say.)
    const pipe = this[kBoundSource] && this._handle ? this[kIsPipe] : !!path;
    if (!this._handle) {
      this._handle = engine.createSocketHandle(this);
      this[kInitHandle]();
      // (A handle kept from before stays what it is: see startConnect.)
      this[kIsPipe] = pipe;
    }
    this._unrefTimer();
    this.connecting = true;
    try {
      if (pipe) {
        validateString(path, 'options.path');
        connectPath(this, path);
      } else {
        lookupAndConnect(this, options);
      }
    } finally {
      // (Also when the arguments are refused: the old handle closes all the same.) Its close,
      // queued by destroy(), comes in the close phase, as in Node, and before anything the
      // new connect reports.
      if (closing) engine.holdEventsUntilClosePhase();
    }
    return this;
  }

  pause() {
    if (this[kBuffer] && !this.connecting && this._handle?.reading && !this.destroyed) {
      this._handle.readStop();
    }
    if (this._handle?.flowing) {
      // Paused: read one chunk at a time again, as Node reads a paused stream.
      this._handle.flowing = false;
      this._handle.native.setFlowing(false);
    }
    return stream.Duplex.prototype.pause.call(this);
  }

  resume() {
    if (this[kBuffer] && !this.connecting && this._handle && !this._handle.reading) {
      resumeUserBuffer(this);
    }
    if (this._handle && !this._handle.flowing) {
      this._handle.flowing = true;
      this._handle.native.setFlowing(true);
    }
    return stream.Duplex.prototype.resume.call(this);
  }

  read(n) {
    if (this[kBuffer] && !this.connecting && this._handle && !this._handle.reading) {
      resumeUserBuffer(this);
    }
    return stream.Duplex.prototype.read.call(this, n);
  }

  end(data, encoding, callback) {
    stream.Duplex.prototype.end.call(this, data, encoding, callback);
    return this;
  }

  destroySoon() {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', this.destroy);
  }

  resetAndDestroy() {
    if (this._handle) {
      if (this[kIsPipe]) throw ERR_INVALID_HANDLE_TYPE();
      if (this.connecting) this.once('connect', () => this._reset());
      else this._reset();
    } else {
      this.destroy(ERR_SOCKET_CLOSED());
    }
    return this;
  }

  _reset() {
    this[kResetAndClosing] = true;
    return this.destroy();
  }

  setTimeout(msecs, callback) {
    if (this.destroyed) return this;
    this.timeout = msecs;
    msecs = getTimerDuration(msecs, 'msecs');
    clearTimeout(this[kTimeout]);
    this[kTimeout] = null;
    if (msecs === 0) {
      if (callback !== undefined) {
        validateFunction(callback, 'callback');
        this.removeListener('timeout', callback);
      }
    } else {
      const timer = setTimeout(() => this._onTimeout(), msecs);
      timer.unref();
      this[kTimeout] = timer;
      if (callback !== undefined) {
        validateFunction(callback, 'callback');
        this.once('timeout', callback);
      }
    }
    return this;
  }

  _onTimeout() {
    const handle = this._handle;
    const last = this[kLastWriteQueueSize];
    if (last > 0 && handle) {
      // A write that is still making progress suppresses the timeout.
      const size = handle.native.writeQueueSize();
      if (last !== size) {
        this[kLastWriteQueueSize] = size;
        this._unrefTimer();
        return;
      }
    }
    this.emit('timeout');
  }

  _unrefTimer() {
    for (let s = this; s !== null; s = s._parent) {
      if (s[kTimeout]) s[kTimeout].refresh();
    }
  }

  setNoDelay(enable) {
    enable = Boolean(enable === undefined ? true : enable);
    if (!this._handle) {
      this[kSetNoDelay] = enable;
      return this;
    }
    if (this[kIsPipe]) return this;
    if (enable !== this[kSetNoDelay]) {
      this[kSetNoDelay] = enable;
      if (!this.connecting) this._handle.native.setNoDelay(enable);
    }
    return this;
  }

  setKeepAlive(enable, initialDelayMsecs, intervalMsecs, count) {
    if (!compat.keepAliveOptions) {
      intervalMsecs = undefined;
      count = undefined;
    } else if (enable !== null && typeof enable === 'object') {
      const options = enable;
      enable = options.enable;
      initialDelayMsecs = options.initialDelay;
      intervalMsecs = options.interval;
      count = options.count;
    }
    enable = Boolean(enable);
    const initialDelay = ~~(initialDelayMsecs / 1000);
    const interval = intervalMsecs === undefined ? undefined : ~~(intervalMsecs / 1000);
    if (!this._handle) {
      this[kSetKeepAlive] = enable;
      this[kSetKeepAliveInitialDelay] = initialDelay;
      this[kSetKeepAliveInterval] = interval;
      this[kSetKeepAliveCount] = count;
      return this;
    }
    if (this[kIsPipe]) return this;
    if (
      enable !== this[kSetKeepAlive] ||
      (enable &&
        (this[kSetKeepAliveInitialDelay] !== initialDelay ||
          this[kSetKeepAliveInterval] !== interval ||
          this[kSetKeepAliveCount] !== count))
    ) {
      this[kSetKeepAlive] = enable;
      this[kSetKeepAliveInitialDelay] = initialDelay;
      this[kSetKeepAliveInterval] = interval;
      this[kSetKeepAliveCount] = count;
      if (!this.connecting) applyKeepAlive(this._handle.native, this, enable);
    }
    return this;
  }

  address() {
    return this._getsockname();
  }

  /**
   * Beyond node:net: what the kernel knows of this TCP connection (TCP_INFO: round-trip time
   * and its variance, congestion window, retransmits, data in flight), or null when there is
   * no TCP connection (not connected yet, closed, or a Unix domain socket).
   */
  getTcpInfo() {
    if (!this._handle || this.connecting || this[kIsPipe]) return null;
    return this._handle.native.tcpInfo();
  }

  _getpeername() {
    if (!this._handle || this[kIsPipe] || this.connecting) return this._peername || {};
    if (!this._peername) {
      const out = this._handle.native.getpeername();
      if (!out) return {};
      this._peername = out;
    }
    return this._peername;
  }

  _getsockname() {
    if (this[kBoundPath] !== undefined) return { address: this[kBoundPath] };
    if (!this._handle || this[kIsPipe]) return {};
    // As Node: a failed getsockname (no descriptor yet) is cached as {} too, until the
    // connect's outcome clears the cache.
    this._sockname ??= this._handle.native.getsockname() ?? {};
    return this._sockname;
  }

  get remoteAddress() {
    return this._getpeername().address;
  }

  get remoteFamily() {
    return this._getpeername().family;
  }

  get remotePort() {
    return this._getpeername().port;
  }

  get localAddress() {
    return this._getsockname().address;
  }

  get localPort() {
    return this._getsockname().port;
  }

  get localFamily() {
    return this._getsockname().family;
  }

  get bufferSize() {
    if (this._handle) return this.writableLength;
    return undefined;
  }

  get pending() {
    return !this._handle || this.connecting;
  }

  get readyState() {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  get bytesRead() {
    return this[kBytesRead];
  }

  get bytesWritten() {
    let bytes = this[kBytesWritten];
    const data = this._pendingData;
    const encoding = this._pendingEncoding;
    const writableBuffer = this.writableBuffer;
    if (!writableBuffer) return undefined;
    for (const el of writableBuffer) {
      bytes += el.chunk instanceof Buffer ? el.chunk.length : Buffer.byteLength(el.chunk, el.encoding);
    }
    if (Array.isArray(data)) {
      for (const el of data) {
        bytes += el.chunk instanceof Buffer ? el.chunk.length : Buffer.byteLength(el.chunk, el.encoding);
      }
    } else if (data) {
      bytes += data instanceof Buffer ? data.length : Buffer.byteLength(data, encoding);
    }
    return bytes;
  }

  ref() {
    if (!this._handle) {
      this.once('connect', this.ref);
      return this;
    }
    this._handle.ref();
    return this;
  }

  unref() {
    if (!this._handle) {
      this.once('connect', this.unref);
      return this;
    }
    this._handle.unref();
    return this;
  }
}

/** `new Socket({ fd })`: adopt a connected TCP or Unix socket, as Node's createHandle + open. */
function openDescriptor(socket, fd) {
  validateInt32(fd, 'fd', 0);
  const type = engine.guessHandleType(fd);
  if (type !== 'TCP' && type !== 'PIPE') throw ERR_INVALID_FD_TYPE(type);
  const handle = engine.createSocketHandle(socket);
  const err = handle.native.open(fd);
  if (err) {
    handle.release();
    // A FIFO is a 'PIPE' to Node too, but this module only handles sockets.
    if (err === UV_ENOTSOCK) throw unsupported('A FIFO descriptor');
    throw errnoException(err, 'open');
  }
  handle.markOpen();
  socket._handle = handle;
  socket[kIsPipe] = type === 'PIPE';
}

function onReadEnd(socket) {
  if (socket._handle) socket._handle.setActive(ACTIVE_READING, false);
  if (!socket.destroyed) {
    socket.push(null);
    socket.read(0);
  }
}

function onReadError(socket, errno) {
  if (socket._handle) socket._handle.setActive(ACTIVE_READING, false);
  socket.destroy(errnoException(errno, 'read'));
}

/**
 * onread: the handle reads straight into the caller's buffer (see `readIntoUserBuffer`); with
 * a buffer function, the first buffer is asked for when the socket gets its handle.
 */
function initUserBuffer(socket) {
  socket._handle.native.setDirectRead(true);
  const gen = socket[kBufferGen];
  if (gen === null) return;
  const buf = gen();
  if (isUint8Array(buf)) socket[kBuffer] = buf;
}

/** Reads per ReadReady event before other sockets get a turn (libuv reads 32 times too). */
const READS_PER_TURN = 32;

/**
 * onread: read into the caller's buffer on this thread until the kernel has nothing more, as
 * libuv reads into the buffer onread gives it: no intermediate copy, no allocation per read.
 * A callback returning false pauses reading (resume() reads on). Bytes that came as 'Data'
 * before the handle switched to direct reads go through `deliverToUserBuffer`.
 */
function readIntoUserBuffer(socket) {
  const handle = socket._handle;
  for (let i = 0; i < READS_PER_TURN; i++) {
    if (handle !== socket._handle || socket.destroyed || !handle.reading) return;
    const buf = socket[kBuffer];
    if (!isUint8Array(buf) || buf.length === 0) return;
    const n = handle.native.readInto(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    if (n === UV_EAGAIN) break;
    if (n === 0) return onReadEnd(socket);
    if (n < 0) return onReadError(socket, n);
    socket[kBytesRead] += n;
    socket._unrefTimer();
    if (!userBufferFilled(socket, n, buf)) return;
  }
  if (handle === socket._handle && !socket.destroyed) handle.native.readMore();
}

/**
 * onread: `n` bytes are in `buf`: call back, take the next buffer from the buffer function,
 * and stop reading if the callback returned false. Whether to read on.
 */
function userBufferFilled(socket, n, buf) {
  const more = socket[kBufferCb](n, buf) !== false;
  const gen = socket[kBufferGen];
  if (gen !== null) {
    const next = gen();
    if (isUint8Array(next)) socket[kBuffer] = next;
  }
  if (!more && socket._handle && !socket.destroyed) socket._handle.readStop();
  return more;
}

/** What libuv reads at once: Node's largest 'data' chunk. */
const LIBUV_READ = 64 * 1024;

/** One chunk of data from the native handle, delivered as one read of Node's. */
function onData(socket, payload) {
  // Read ahead by the runtime but not yet delivered when destroy() came: node's handle was
  // closed by then and never read it, so it is not counted either.
  if (socket.destroyed) return;
  socket[kBytesRead] += payload.length;
  socket._unrefTimer();
  if (socket[kBuffer]) {
    deliverToUserBuffer(socket, payload);
  } else if (!socket.push(payload)) {
    if (socket._handle) socket._handle.readStop();
  } else if (socket._handle && !socket._handle.flowing) {
    if (socket.readableFlowing === true) {
      // JS consumes as it reads: let the native side read further ahead.
      socket._handle.flowing = true;
      socket._handle.native.setFlowing(true);
    } else {
      // Not flowing: one read at a time, each when the stream still has room.
      socket._handle.native.readMore();
    }
  }
}

/**
 * A read larger than libuv's (the runtime reads up to 1 MiB at once while JS flows) is
 * delivered as libuv would have read it: a 'data' per 64 KiB. What is left when a listener
 * destroys the socket is what Node would have left unread in the kernel: it is not counted,
 * and the close resets the peer, as the kernel does when it closes a socket with unread data.
 * If a listener throws, the rest follows on an immediate (Node's next read).
 */
function onLargeData(socket, chunk) {
  let at = 0;
  try {
    while (at < chunk.length && !socket.destroyed) {
      if (stoppedReading(socket)) {
        // The stream is full: the rest waits, as in Node's kernel, until it asks for more.
        // (Before anything held meanwhile: that came later.)
        socket[kHeld] = [EventKind.Data, chunk.subarray(at), ...(socket[kHeld] ?? [])];
        at = chunk.length;
        break;
      }
      const end = at + LIBUV_READ;
      socket[kReadPiecesLeft] = end < chunk.length;
      const piece = chunk.subarray(at, end);
      at = end;
      onData(socket, piece);
    }
  } finally {
    socket[kReadPiecesLeft] = false;
    if (at < chunk.length && !socket.destroyed) {
      setImmediate(() => socket[kOnEvent](EventKind.Data, chunk.subarray(at)));
    }
  }
}

/**
 * onread: copy what was read into the caller's buffer, as many times as it takes, calling back
 * with the byte count each time. A callback returning false pauses reading; the bytes not yet
 * delivered wait for resume().
 */
function deliverToUserBuffer(socket, data) {
  let offset = 0;
  while (offset < data.length) {
    const buf = socket[kBuffer];
    if (!isUint8Array(buf)) return;
    const n = Math.min(buf.length, data.length - offset);
    if (n === 0) return;
    buf.set(data.subarray(offset, offset + n));
    offset += n;
    if (!userBufferFilled(socket, n, buf)) {
      if (offset < data.length) socket[kBufferRest] = data.subarray(offset);
      return;
    }
    if (socket.destroyed) return;
  }
}

function resumeUserBuffer(socket) {
  tryReadStart(socket);
  const rest = socket[kBufferRest];
  if (rest) {
    socket[kBufferRest] = null;
    process.nextTick(() => {
      if (!socket.destroyed) deliverToUserBuffer(socket, rest);
    });
  }
}

function toBuffer(chunk) {
  if (Buffer.isBuffer(chunk)) return chunk;
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function getTimerDuration(msecs, name) {
  validateNumber(msecs, name);
  if (msecs < 0 || !Number.isFinite(msecs)) {
    throw ERR_OUT_OF_RANGE(name, 'a non-negative finite number', msecs);
  }
  if (msecs > TIMEOUT_MAX) {
    process.emitWarning(
      `${msecs} does not fit into a 32-bit signed integer.\nTimer duration was truncated to ${TIMEOUT_MAX}.`,
      'TimeoutOverflowWarning',
    );
    return TIMEOUT_MAX;
  }
  return msecs;
}

function onReadableStreamEnd() {
  if (!this.allowHalfOpen) this.write = writeAfterFIN;
}

/** `write()` once the peer ended and allowHalfOpen is false: EPIPE, as Node reports it. */
function writeAfterFIN(chunk, encoding, cb) {
  if (!this.writableEnded) {
    return stream.Duplex.prototype.write.call(this, chunk, encoding, cb);
  }
  if (typeof encoding === 'function') {
    cb = encoding;
    encoding = null;
  }
  const er = genericNodeError('This socket has been ended by the other party', { code: 'EPIPE' });
  if (typeof cb === 'function') process.nextTick(cb, er);
  this.destroy(er);
  return false;
}

function tryReadStart(socket) {
  socket._handle.readStart();
}

/**
 * The handle started reading again (see engine.kOnReadStart): what came after it stopped is
 * delivered first, in order; events that stop it again are held again.
 */
function replayHeld(socket) {
  const held = socket[kHeld];
  if (held === null) return;
  socket[kHeld] = null;
  for (let i = 0; i < held.length; i += 2) socket[kOnEvent](held[i], held[i + 1]);
}

/**
 * Whether read events for `socket` wait (`kHeld`): its handle stopped reading (the stream was
 * full), which in Node leaves what comes next in the kernel. Not for onread, which keeps
 * what its buffer could not take itself.
 */
function stoppedReading(socket) {
  return !socket[kBuffer] && socket._handle != null && !socket._handle.reading;
}

/** Whether data waits in `kHeld`. */
function heldData(socket) {
  return socket[kHeld] !== null && engine.hasData(socket[kHeld]);
}

/**
 * A write larger than this goes to the handle a slice at a time, each once the one before is
 * flushed: what the kernel does not take at once is copied by the handle, so this bounds the
 * copy, while the caller's buffers are held until written (as Node's write requests hold
 * them) instead of being copied whole.
 */
const WRITE_SLICE = 1 << 20;

/** Write `bufs` (`total` bytes) for one write request; `cb` when all of it is written. */
function writeBuffers(socket, bufs, total, cb, first) {
  // A write after the shutdown was asked for fails, as libuv refuses writes once uv_shutdown
  // is called. (Only reachable when a new handle made an end()ed socket writable again.)
  if (socket[kShutdownCallback] !== null) return cb(errnoException(UV_EPIPE, 'write'));
  for (;;) {
    let head = bufs;
    let rest = null;
    let bytes = total;
    if (total > WRITE_SLICE) {
      [head, rest] = splitBuffers(bufs, WRITE_SLICE);
      bytes = WRITE_SLICE;
    }
    const native = socket._handle.native;
    const result = head.length === 1 ? native.write(head[0]) : native.writev(head);
    if (result < 0) return cb(errnoException(result, 'write'));
    if (first) socket[kBytesWritten] += total;
    first = false;
    if (result === 1) {
      // Queued in the handle: the request (or its next slice) goes on once it is flushed.
      const done =
        rest === null
          ? cb
          : (err) => {
              if (err || socket.destroyed || !socket._handle) cb(err);
              else writeBuffers(socket, rest, total - bytes, cb, false);
            };
      socket[kLastWriteQueueSize] = bytes;
      (socket[kWriteCallbacks] ??= []).push(done);
      socket._handle.setActive(ACTIVE_WRITING, true);
      return;
    }
    if (rest === null) return cb();
    bufs = rest;
    total -= bytes;
  }
}

/** `bufs` cut after `n` bytes (a buffer across the cut is split without a copy). */
function splitBuffers(bufs, n) {
  const head = [];
  let i = 0;
  for (; i < bufs.length && n > 0; i++) {
    const b = bufs[i];
    if (b.length > n) {
      head.push(b.subarray(0, n));
      return [head, [b.subarray(n), ...bufs.slice(i + 1)]];
    }
    head.push(b);
    n -= b.length;
  }
  return [head, bufs.slice(i)];
}

function onWriteDone(socket, errno, count) {
  // Once the handle is closed, its pending writes count as cancelled (see finishClose).
  if (!socket._handle) return;
  socket[kLastWriteQueueSize] = 0;
  const queued = socket[kWriteCallbacks];
  if (queued === null) return;
  const callbacks = queued.splice(0, count);
  if (queued.length === 0) socket._handle.setActive(ACTIVE_WRITING, false);
  for (const cb of callbacks) completeWrite(socket, cb, errno);
}

/** A write request's completion, as Node's onWriteComplete reports it. */
function completeWrite(socket, cb, errno) {
  if (errno < 0 && (compat.cancelledWriteGetsError || !socket.destroyed)) {
    cb(errnoException(errno, 'write'));
  } else if (socket.destroyed) {
    cb(null);
  } else {
    socket._unrefTimer();
    cb(null);
  }
}

/** Writes still queued when the handle closes are cancelled, as libuv does on close. */
function cancelPendingWrites(socket) {
  const callbacks = socket[kWriteCallbacks];
  if (callbacks === null) return;
  socket[kWriteCallbacks] = null;
  for (const cb of callbacks) completeWrite(socket, cb, UV_ECANCELED);
}

function shutdownNow(socket, handle) {
  if (handle.closed) {
    onShutdownDone(socket, handle);
    return;
  }
  const result = handle.native.shutdown();
  if (result === 1) return; // after the queued data; ShutdownDone follows
  if (result === 0 || result === UV_ENOTCONN) {
    onShutdownDone(socket, handle);
  } else {
    onShutdownDone(socket, handle, errnoException(result, 'shutdown'));
  }
}

function onShutdownDone(socket, handle = socket._handle, err) {
  const cb = socket[kShutdownCallback];
  socket[kShutdownCallback] = null;
  if (handle) handle.setActive(ACTIVE_SHUTDOWN, false);
  if (cb) cb(err);
}

/**
 * The 'close' of a handle closed in this loop iteration comes in its close phase, as libuv
 * runs its closing handles' callbacks: the last closed first.
 */
function scheduleFinishClose(socket, state) {
  engine.atClosePhase(() => finishClose(socket, state));
  // Before it (the phase runs the last queued first), as libuv's close of a stream fails the
  // requests still pending: the connect's, each write's, then the shutdown's, each its own
  // callback, with the ticks queued so far run after each (those left by a tick that threw,
  // or the 'error' of a connect the cancellation fails).
  if (socket[kShutdownCallback] !== null) engine.atClosePhase(() => cancelShutdown(socket, state));
  const writes = socket[kWriteCallbacks]?.length ?? 0;
  for (let i = 0; i < writes; i++) engine.atClosePhase(() => cancelFirstWrite(socket, state));
  if (state.canceledAttempt || state.handle.isActive(ACTIVE_CONNECTING)) {
    engine.atClosePhase(() => cancelConnect(socket, state));
  }
}

/**
 * libuv cancels the request of a connect in flight when its handle closes. An autoSelectFamily
 * attempt's reports its ECANCELED; so does a connect left in flight when connect() was called
 * again (`orphanedConnect`), and Node's afterConnect then takes it for the socket's connect in
 * progress: reported, and the socket destroyed with it. (Were the socket connected by then,
 * Node's assertion would fail and kill the process; that is left out.)
 */
function cancelConnect(socket, state) {
  if (state.handle.closed) return;
  if (state.canceledAttempt) emitAttemptCanceled(socket, state.canceledAttempt);
  if (state.orphanedConnect && socket.connecting && !socket.destroyed) {
    const ex = emitAttemptCanceled(socket, state.orphanedConnect);
    socket.destroy(ex);
  }
}

function cancelFirstWrite(socket, state) {
  const callbacks = socket[kWriteCallbacks];
  if (state.handle.closed || socket[kCloseState] !== state || !callbacks?.length) return;
  completeWrite(socket, callbacks.shift(), UV_ECANCELED);
}

function cancelShutdown(socket, state) {
  if (!state.handle.closed && socket[kCloseState] === state) onShutdownDone(socket, state.handle);
}

function finishClose(socket, state) {
  if (state.handle.closed) return;
  state.handle.release();
  // (Writes belong to the socket's current handle; a handle left closing when the socket
  // connected again has none.)
  if (socket[kCloseState] === state) cancelPendingWrites(socket);
  socket.emit('close', state.isException);
}

/** A socket destroyed without ever having a handle: 'close' comes with no argument. */
function emitCloseNT(socket) {
  socket.emit('close');
}

/**
 * The `signal` option. The stream machinery (Duplex, which gets the same options) destroys the
 * socket with an AbortError when it aborts; the socket itself only notes it, as Node's does,
 * so that a pending autoSelectFamily connect stops.
 */
function addClientAbortSignalOption(socket, signal) {
  validateAbortSignal(signal, 'options.signal');
  const onAbort = () => {
    socket._aborted = true;
  };
  if (signal.aborted) {
    process.nextTick(onAbort);
  } else {
    process.nextTick(() => {
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('close', () => signal.removeEventListener('abort', onAbort));
    });
  }
}

Socket.prototype = SocketPrototype.prototype;

// Node 24.x: the IP type of service (IP_TOS, IPV6_TCLASS), as Node's lib/net.js has it.
if (compat.typeOfService) {
  Socket.prototype.setTypeOfService = function setTypeOfService(tos) {
    if (Number.isNaN(tos)) throw ERR_INVALID_ARG_TYPE('tos', 'number', tos);
    validateInt32(tos, 'tos', 0, 255);
    if (!this._handle || this[kIsPipe] || this.connecting) {
      this[kSetTOS] = tos;
      return this;
    }
    if (tos !== this[kSetTOS]) {
      this[kSetTOS] = tos;
      const err = this._handle.native.setTypeOfService(tos);
      if (err) throw errnoException(err, 'setTypeOfService');
    }
    return this;
  };

  Socket.prototype.getTypeOfService = function getTypeOfService() {
    if (!this._handle || this[kIsPipe] || this.connecting) return this[kSetTOS] !== undefined ? this[kSetTOS] : 0;
    const res = this._handle.native.getTypeOfService();
    if (res < 0) throw errnoException(res, 'getTypeOfService');
    return res;
  };
}
Object.defineProperty(Socket.prototype, 'constructor', { value: Socket, writable: true, configurable: true });
Object.setPrototypeOf(Socket, stream.Duplex);

module.exports = { Socket };
