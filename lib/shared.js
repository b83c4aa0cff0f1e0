'use strict';
// What lib/socket.js, lib/connect.js and lib/server.js share: private state keys of a Socket,
// libuv error numbers they test for, and the error for features not built yet.

/** A Socket's state of a multi-address connect (autoSelectFamily). */
const kConnectContext = Symbol('kConnectContext');
/** A Socket's wanted TCP_NODELAY / keep-alive, applied once it is connected. */
const kSetNoDelay = Symbol('kSetNoDelay');
const kSetKeepAlive = Symbol('kSetKeepAlive');
const kSetKeepAliveInitialDelay = Symbol('kSetKeepAliveInitialDelay');
const kSetKeepAliveInterval = Symbol('kSetKeepAliveInterval');
const kSetKeepAliveCount = Symbol('kSetKeepAliveCount');
/** The IP type of service asked for (Node versions with setTypeOfService). */
const kSetTOS = Symbol('kSetTOS');
/** A Socket over a Unix domain socket: no addresses, no TCP options, as Node's Pipe handle. */
const kIsPipe = Symbol('kIsPipe');
/** A Socket's method that starts using a new handle, as Node's initSocketHandle. */
const kInitHandle = Symbol('kInitHandle');

/** Bytes in sockaddr_un.sun_path on Linux. */
const SUN_PATH_LEN = 108;

const UV_EBADF = -9;
const UV_EAGAIN = -11;
const UV_EPIPE = -32;
const UV_EINVAL = -22;
const UV_EALREADY = -114;
const UV_ENOTSOCK = -88;
const UV_ENOTCONN = -107;
const UV_ETIMEDOUT = -110;
const UV_ECANCELED = -125;

/** A feature of node:net this module does not have yet (see the README's compatibility table). */
function unsupported(what) {
  const err = new Error(`${what} is not supported by this module yet`);
  err.code = 'ERR_RSNET_UNSUPPORTED';
  return err;
}

/** A socket adopted from a net.BoundSocket: connect() keeps its handle and its kind (TCP or Unix). */
const kBoundSource = Symbol('kBoundSource');

module.exports = {
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
  UV_EBADF,
  UV_EAGAIN,
  UV_EPIPE,
  UV_EINVAL,
  UV_EALREADY,
  UV_ENOTSOCK,
  UV_ENOTCONN,
  UV_ETIMEDOUT,
  UV_ECANCELED,
  unsupported,
};
