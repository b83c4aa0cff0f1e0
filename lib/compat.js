'use strict';
// Where node:net itself behaves differently across the supported Node versions (20 to 24), this
// module follows the version it runs on. Each difference is named here, once.

const nodeNet = require('node:net');

const nodeMajor = Number(process.versions.node.split('.')[0]);
const [uvMajor, uvMinor] = process.versions.uv.split('.').map(Number);

module.exports = {
  nodeMajor,
  /** libuv before 1.52 (Node 20, 22) takes a hang-up (POLLHUP) seen right after a short read
   * for the end of the stream: a reset that arrives behind data reads as a clean end. */
  hangUpIsEof: uvMajor === 1 && uvMinor < 52,
  /** Node 22+ checks `options.host` in connect() (a string without null bytes) before any
   * lookup; Node 20 leaves it to dns.lookup ("hostname" argument). */
  validatesConnectHost: nodeMajor >= 22,
  /** Node 20 defers `_final` until 'connect' while the socket is pending (even with no handle
   * at all, so `end()` on a never-connected socket never finishes); 22+ only while connecting. */
  finalWaitsWhilePending: nodeMajor < 22,
  /** Node 20 tests `maxConnections` for truthiness (0 = no limit); 22+ tests `!= null`. */
  maxConnectionsZeroDropsAll: nodeMajor >= 22,
  /** When a write completes with an error on a destroyed socket (a write cancelled by the
   * close: ECANCELED), Node 22+ passes the error to its callback; Node 20 passes null. */
  cancelledWriteGetsError: nodeMajor >= 22,
  /** A Unix socket path longer than sun_path (108 bytes): Node 20 and 22 cut it to fit,
   * Node 24 refuses it with EINVAL. */
  truncatesLongUnixPaths: nodeMajor < 24,
  /** ...and Node 22 removes the cut name on close (Node 20 tries the full one, which fails). */
  unlinksTruncatedUnixPath: nodeMajor === 22,
  /** `readableAll`/`writableAll`: Node 20 adds the permission bits to the file's mode, Node 22+
   * sets the mode to exactly those bits. */
  pipeModeIsExact: nodeMajor >= 22,
  /** `setKeepAlive(options)` and its interval and count (TCP_KEEPINTVL, TCP_KEEPCNT), from
   * Node 24.x on. */
  keepAliveOptions: nodeNet.Socket.prototype.setKeepAlive.length >= 3,
  /** `net.BoundSocket`, from Node 24.x on. */
  boundSocket: typeof nodeNet.BoundSocket === 'function',
  /** `setTypeOfService`/`getTypeOfService` and the `typeOfService` option, from Node 24.x on. */
  typeOfService: typeof nodeNet.Socket.prototype.setTypeOfService === 'function',
  /** The `reusePort` listen option (SO_REUSEPORT), from Node 22.12 / 23.1 on. */
  reusePortOption: nodeMajor > 22 || (nodeMajor === 22 && Number(process.versions.node.split('.')[1]) >= 12),
  /** A Unix socket path with a NUL byte inside (not an abstract name): Node 22+ refuses it in
   * connect() at once (EINVAL); Node 20 tries it (ENOENT, later). */
  pipeConnectRejectsNul: nodeMajor >= 22,
  /** The `blockList` option of sockets and servers (with `BlockList.isBlockList`). */
  blockListOption: typeof nodeNet.BlockList?.isBlockList === 'function',
};
