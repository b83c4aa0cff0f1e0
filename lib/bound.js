'use strict';
// net.BoundSocket (Node 24.x): a TCP or Unix socket bound at once, so that a conflict throws
// where it is made and the port is known before anything listens on it or connects from it.
// A server adopts it with listen(boundSocket) or listen({ handle: boundSocket }); a client
// with new Socket({ handle: boundSocket }) and then connect(). Underneath it is a ServerHandle
// that is bound and not listening: a server listens on that very handle, a client takes its
// descriptor over.
//
// Not here: the transfer to another thread (postMessage with the socket in the transfer
// list). Node's messaging only transfers its own internal handles.

const engine = require('./engine');
const compat = require('./compat');
const { isIP } = require('./ip');
const { validateObject, validatePort, validateBoolean, validateString } = require('./validators');
const { ERR_INVALID_ARG_VALUE, ERR_SOCKET_HANDLE_ADOPTED, exceptionWithHostPort, errnoException } = require('./errors');

const DEFAULT_IPV4_ADDR = '0.0.0.0';
const DEFAULT_IPV6_ADDR = '::';

/** The bound path of a Unix socket (undefined for TCP), for whoever adopts it. */
const kBoundSocketPath = Symbol('kBoundSocketPath');
/** Take the handle out (it is then the adopter's); throws once adopted or closed. */
const kBoundSocketConsume = Symbol('kBoundSocketConsume');

class BoundSocket {
  #handle = null;
  #address = {};
  #path;

  constructor(options = {}) {
    validateObject(options, 'options');
    if (options.path !== undefined) {
      this.#bindPipe(options);
      return;
    }
    const port = validatePort(options.port ?? 0, 'options.port');
    const ipv6Only = options.ipv6Only ?? false;
    validateBoolean(ipv6Only, 'options.ipv6Only');
    const reusePort = options.reusePort ?? false;
    validateBoolean(reusePort, 'options.reusePort');
    let { host } = options;
    if (host === undefined || host === null) {
      host = ipv6Only ? DEFAULT_IPV6_ADDR : DEFAULT_IPV4_ADDR;
    } else {
      validateString(host, 'options.host');
      if (isIP(host) === 0) {
        throw ERR_INVALID_ARG_VALUE(
          'options.host',
          host,
          'must be a numeric IP address; net.BoundSocket does not perform DNS resolution',
        );
      }
    }
    const handle = engine.createServerHandle(this);
    let err = handle.native.bind(host, port, ipv6Only, reusePort);
    // (libuv defers an address in use to listen or connect; Node asks for the socket's name
    // right away, which reports it, so that the conflict throws here.)
    if (err === 0) err = handle.native.bindError();
    if (err !== 0) {
      closeHandle(handle);
      throw exceptionWithHostPort(err, 'bind', host, port);
    }
    handle.markOpen();
    this.#address = handle.native.getsockname();
    this.#handle = handle;
  }

  /** `{ path }`: a Unix domain socket, bound at once (its file is removed on close). */
  #bindPipe(options) {
    const { path, host, port, ipv6Only, reusePort } = options;
    if (host !== undefined || port !== undefined || ipv6Only !== undefined || reusePort !== undefined) {
      throw ERR_INVALID_ARG_VALUE(
        'options',
        options,
        'path is mutually exclusive with host, port, ipv6Only, and reusePort',
      );
    }
    validateString(path, 'options.path');
    const handle = engine.createServerHandle(this);
    handle.isPipe = true;
    const err = handle.native.bindPath(path, compat.truncatesLongUnixPaths, compat.unlinksTruncatedUnixPath);
    if (err !== 0) {
      closeHandle(handle);
      throw errnoException(err, 'bind');
    }
    handle.markOpen();
    this.#handle = handle;
    this.#path = path;
  }

  /** `{ address, family, port }` for TCP (the port the OS chose for port 0), or the path. */
  address() {
    if (this.#handle === null) throw ERR_SOCKET_HANDLE_ADOPTED();
    return this.#path ?? this.#address;
  }

  /** The descriptor; it stays this object's until adopted, so the caller must not close it. */
  fd() {
    if (this.#handle === null) throw ERR_SOCKET_HANDLE_ADOPTED();
    return this.#handle.native.fd();
  }

  /** Release a socket nobody adopted. */
  close() {
    if (this.#handle === null) throw ERR_SOCKET_HANDLE_ADOPTED();
    closeHandle(this.#handle);
    this.#handle = null;
  }

  /** `using bound = new net.BoundSocket(...)`: closes it unless adopted or closed. */
  [Symbol.dispose]() {
    if (this.#handle !== null) {
      closeHandle(this.#handle);
      this.#handle = null;
    }
  }

  /** A Unix domain socket (its mere presence on the prototype is Node's capability signal). */
  get isPipe() {
    return this.#path !== undefined;
  }

  get [kBoundSocketPath]() {
    return this.#path;
  }

  [kBoundSocketConsume]() {
    if (this.#handle === null) throw ERR_SOCKET_HANDLE_ADOPTED();
    const handle = this.#handle;
    this.#handle = null;
    return handle;
  }
}

function closeHandle(handle) {
  handle.native.close();
  handle.release();
}

module.exports = { BoundSocket, kBoundSocketPath, kBoundSocketConsume };
