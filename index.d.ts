/// <reference types="node" />
// Typings for rsnet, a drop-in replacement for Node's `net` module.
//
// Written by hand to mirror the shape of `node:net` (same classes, overloads, events and
// option names) so that code typed against `node:net` keeps compiling when it imports this
// module instead. Behaviour is node:net's unless a comment below says otherwise.
//
// Deliberate differences from @types/node:
// - Options this module does not act on are left out rather than silently ignored
//   (`blockList` on connect/server options, which only Node 22+ honours), so using them is a
//   compile error.
// - `Server#listen(handle)` takes a server, a socket or `{ fd }` rather than `any`, so that
//   a malformed options object is rejected instead of matching the handle form.
// - `Server#connections` is not declared: Node removed it at runtime long ago.
// - `connect(port, listener)` / `createConnection(port, listener)` are declared: Node accepts
//   them at runtime, but its typings leave them out.
// - `Socket#getTcpInfo()` and `TcpInfo` are extensions of this module.

import * as stream from 'node:stream';
import { EventEmitter } from 'node:events';
import * as dns from 'node:dns';

/** The kind of Buffer handed to 'data' listeners: a fresh, non-shared Buffer. */
type DataBuffer = ReturnType<typeof Buffer.alloc>;

/**
 * A host name resolver with the signature of `dns.lookup()`, usable as the `lookup`
 * connect option in place of the system resolver.
 */
export type LookupFunction = (
  hostname: string,
  options: dns.LookupOptions,
  callback: (
    err: NodeJS.ErrnoException | null,
    address: string | dns.LookupAddress[],
    family?: number,
  ) => void,
) => void;

/** An address as reported by `address()`: IP string, family name and port number. */
export interface AddressInfo {
  /** The IP address, e.g. `'127.0.0.1'` or `'::1'`. */
  address: string;
  /** `'IPv4'` or `'IPv6'`. */
  family: string;
  /** The port number. */
  port: number;
}

/** Options accepted by `new Socket(options)`. */
export interface SocketConstructorOpts {
  /** Wrap an existing connected TCP or Unix socket descriptor (the socket then owns it). */
  fd?: number | undefined;
  /** Keep the writable side open after the peer ends its side (default `false`). */
  allowHalfOpen?: boolean | undefined;
  /** Whether reads are allowed (only meaningful together with `fd`). */
  readable?: boolean | undefined;
  /** Whether writes are allowed (only meaningful together with `fd`). */
  writable?: boolean | undefined;
  /** Destroys the socket with an `AbortError` when the signal aborts. */
  signal?: AbortSignal | undefined;
  /** Read into a caller-owned buffer instead of emitting 'data'. */
  onread?: OnReadOpts | undefined;
  /** A `BoundSocket` (Node 24.x) to connect from: `connect()` then connects it from the
   * address or path it is bound to. It is this socket's from then on. */
  handle?: BoundSocket | undefined;
}

/** The `onread` option: data is read into a caller-owned buffer and given to `callback`
 * instead of being emitted as 'data'. */
export interface OnReadOpts {
  /** The buffer to read into, or a function returning it. */
  buffer: Uint8Array | (() => Uint8Array);
  /** Called per chunk with the byte count and the buffer; return `false` to pause. */
  callback(bytesWritten: number, buffer: Uint8Array): boolean;
}

/** Connection options for TCP, for `socket.connect(options)`. */
export interface TcpSocketConnectOpts {
  /** The port to connect to. */
  port: number;
  /** Host name or IP address to connect to (default `'localhost'`). */
  host?: string | undefined;
  /** Local IP address to bind to before connecting. */
  localAddress?: string | undefined;
  /** Local port to bind to before connecting. */
  localPort?: number | undefined;
  /** `dns.lookup()` hints used when resolving `host`. */
  hints?: number | undefined;
  /** IP family to resolve `host` to: `4`, `6` or `0` for either. */
  family?: number | undefined;
  /** A custom resolver used instead of `dns.lookup()`. */
  lookup?: LookupFunction | undefined;
  /** Disable Nagle's algorithm once connected. */
  noDelay?: boolean | undefined;
  /** Enable TCP keep-alive once connected. */
  keepAlive?: boolean | undefined;
  /** Idle time in milliseconds before the first keep-alive probe. */
  keepAliveInitialDelay?: number | undefined;
  /** The IP type of service once connected, 0 to 255 (Node versions with setTypeOfService). */
  typeOfService?: number | undefined;
  /** Try every resolved address, alternating families ("happy eyeballs"). */
  autoSelectFamily?: boolean | undefined;
  /** Milliseconds to wait for each attempt when `autoSelectFamily` is on (minimum 10). */
  autoSelectFamilyAttemptTimeout?: number | undefined;
}

/** Connection options for a Unix domain socket (a path, or a Linux abstract name `'\0name'`). */
export interface IpcSocketConnectOpts {
  /** Path of the Unix domain socket. */
  path: string;
}

/** Options for `socket.connect(options)`: TCP or IPC. */
export type SocketConnectOpts = TcpSocketConnectOpts | IpcSocketConnectOpts;

/** The values of `socket.readyState`. */
export type SocketReadyState = 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed';

/** TCP options for `connect()`/`createConnection()`: socket and connection options together. */
export interface TcpNetConnectOpts extends TcpSocketConnectOpts, SocketConstructorOpts {
  /** If set, calls `socket.setTimeout(timeout)` before connecting. */
  timeout?: number | undefined;
}

/** Unix domain socket options for `connect()`/`createConnection()`. */
export interface IpcNetConnectOpts extends IpcSocketConnectOpts, SocketConstructorOpts {
  /** If set, calls `socket.setTimeout(timeout)` before connecting. */
  timeout?: number | undefined;
}

/** Options for `connect()`/`createConnection()`: TCP or IPC. */
export type NetConnectOpts = TcpNetConnectOpts | IpcNetConnectOpts;

/**
 * A TCP connection, as a `stream.Duplex`: the same class as Node's `net.Socket`, with the
 * same methods, properties and events, backed by a native (Rust) handle. Returned by
 * `connect()`/`createConnection()` and handed to a server's 'connection' listeners.
 *
 * Events: 'lookup' (after each name resolution), 'connectionAttempt',
 * 'connectionAttemptFailed' and 'connectionAttemptTimeout' (each address tried by family
 * autoselection), 'connect' then 'ready', 'data' (a Buffer, or a string after
 * `setEncoding()`), 'drain', 'end', 'timeout', 'error', and last 'close' (`hadError`).
 */
/** `socket.setKeepAlive(options)` (Node 24.x): times in milliseconds. */
export interface KeepAliveOptions {
  enable?: boolean | undefined;
  initialDelay?: number | undefined;
  interval?: number | undefined;
  count?: number | undefined;
}

/** `socket.getTcpInfo()` (an extension): times in microseconds, windows in segments. */
export interface TcpInfo {
  /** The kernel's TCP state (1 = established). */
  state: number;
  /** Smoothed round-trip time. */
  rtt: number;
  /** Mean deviation of the round-trip time. */
  rttVar: number;
  /** Smallest round-trip time seen. */
  minRtt: number;
  /** Congestion window. */
  cwnd: number;
  /** Slow-start threshold. */
  ssthresh: number;
  /** Sending maximum segment size, in bytes. */
  mss: number;
  /** Retransmissions of the current unacknowledged segment. */
  retransmits: number;
  /** Retransmitted segments over the connection's life. */
  totalRetransmits: number;
  /** Segments sent and not yet acknowledged. */
  packetsInFlight: number;
  /** `packetsInFlight` in bytes, estimated with the segment size. */
  bytesInFlight: number;
  /** Bytes written but not yet sent. */
  notSentBytes: number;
  /** Bytes the peer acknowledged. */
  bytesAcked: number;
  /** Bytes received. */
  bytesReceived: number;
}

export class Socket extends stream.Duplex {
  /** Creates an unconnected socket; call `connect()` on it to open a connection. */
  constructor(options?: SocketConstructorOpts);

  /** Ends the writable side, then destroys the socket once everything is flushed. */
  destroySoon(): void;

  /**
   * Queues data to send. Returns `false` when the data had to be buffered in memory;
   * wait for 'drain' before writing more. The callback runs once the data is handed off.
   */
  write(buffer: Uint8Array | string, cb?: (err?: Error | null) => void): boolean;
  /** Like `write(data, cb)`, with the encoding used for string data (default `'utf8'`). */
  write(str: Uint8Array | string, encoding?: BufferEncoding, cb?: (err?: Error | null) => void): boolean;

  /**
   * Opens a connection on this socket; `connectionListener` is added once for 'connect'.
   * Errors are reported through the 'error' event. Meant for fresh or closed sockets.
   */
  connect(options: SocketConnectOpts, connectionListener?: () => void): this;
  /** Connects to `port` on `host` (TCP). */
  connect(port: number, host: string, connectionListener?: () => void): this;
  /** Connects to `port` on `'localhost'` (TCP). */
  connect(port: number, connectionListener?: () => void): this;
  /** Connects to a Unix domain socket path. */
  connect(path: string, connectionListener?: () => void): this;

  /**
   * Closes the connection with a TCP RST instead of a FIN and destroys the socket (once
   * connected, if still connecting; with `ERR_SOCKET_CLOSED` if there is no connection).
   */
  resetAndDestroy(): this;
  /**
   * An extension of this module (node:net has no such method): what the kernel knows of the
   * TCP connection (`TCP_INFO` on Linux), or `null` when there is none (not connected yet,
   * closed, or a Unix domain socket).
   */
  getTcpInfo(): TcpInfo | null;

  /**
   * Emits 'timeout' after `timeout` ms without activity (the connection stays open; end or
   * destroy it yourself). `0` turns the timer off. `callback` is added once for 'timeout'.
   */
  setTimeout(timeout: number, callback?: () => void): this;

  /** Turns Nagle's algorithm off (`true`, the default) or on (`false`). */
  setNoDelay(noDelay?: boolean): this;

  /** Turns TCP keep-alive on or off; `initialDelay` is the idle time in ms before probing. */
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  /**
   * On Node versions whose `net` has them (24.x): also the time in ms between probes
   * (`interval`, TCP_KEEPINTVL) and how many go unanswered before the connection is dropped
   * (`count`, TCP_KEEPCNT), positionally or as an options object.
   */
  setKeepAlive(enable: boolean, initialDelay: number | undefined, interval?: number, count?: number): this;
  setKeepAlive(options: KeepAliveOptions): this;

  /**
   * The IP type of service (0 to 255: IPv4 `IP_TOS`, IPv6 `IPV6_TCLASS`), on Node versions
   * whose `net` has it (24.x; elsewhere the method does not exist).
   */
  setTypeOfService?(tos: number): this;
  /** The IP type of service of the connection (or the one set before connecting, else 0). */
  getTypeOfService?(): number;

  /** The local address of the socket, or `{}` when it has none (not connected, or closed). */
  address(): AddressInfo | {};

  /** Lets the process exit even if this socket is still open. */
  unref(): this;

  /** Undoes `unref()`: an open socket keeps the process alive again (the default). */
  ref(): this;

  /**
   * The `ip:port` strings tried so far by family autoselection, the last one being the
   * address in use. Only set when more than one address was attempted.
   */
  readonly autoSelectFamilyAttemptedAddresses: string[];

  /**
   * Bytes (or characters) waiting to be written.
   * @deprecated Use `writableLength`, as in Node.
   */
  readonly bufferSize: number;

  /** Total bytes received. */
  readonly bytesRead: number;

  /** Total bytes sent, including data still queued. */
  readonly bytesWritten: number;

  /** `true` between `connect()` and 'connect' (or the failure). */
  readonly connecting: boolean;

  /** `true` until the socket is connected (not connected yet, or still connecting). */
  readonly pending: boolean;

  /** Whether the socket has been destroyed. */
  readonly destroyed: boolean;

  /** Local IP address of the connection, when connected. */
  readonly localAddress?: string;

  /** Local port of the connection, when connected. */
  readonly localPort?: number;

  /** Local IP family (`'IPv4'` or `'IPv6'`), when connected. */
  readonly localFamily?: string;

  /** Connection state derived from `connecting`, `readable` and `writable`. */
  readonly readyState: SocketReadyState;

  /** Remote IP address, or `undefined` when not connected. */
  readonly remoteAddress: string | undefined;

  /** Remote IP family (`'IPv4'` or `'IPv6'`), or `undefined` when not connected. */
  readonly remoteFamily: string | undefined;

  /** Remote port, or `undefined` when not connected. */
  readonly remotePort: number | undefined;

  /** The idle timeout last given to `setTimeout()`, if any. */
  readonly timeout?: number;

  /** Ends the writable side (sends FIN); `callback` runs on 'finish'. */
  end(callback?: () => void): this;
  /** Writes `buffer` last, then ends the writable side. */
  end(buffer: Uint8Array | string, callback?: () => void): this;
  /** Writes `str` in `encoding` last, then ends the writable side. */
  end(str: Uint8Array | string, encoding?: BufferEncoding, callback?: () => void): this;

  // Events, with the argument types Node's typings give them. At runtime `err` of 'lookup' is
  // null on success, and 'close' has no argument when the socket never had a connection.

  /** Adds a listener; see the event list in the class description. */
  addListener(event: string, listener: (...args: any[]) => void): this;
  addListener(event: 'close', listener: (hadError: boolean) => void): this;
  addListener(event: 'connect', listener: () => void): this;
  addListener(event: 'connectionAttempt', listener: (ip: string, port: number, family: number) => void): this;
  addListener(
    event: 'connectionAttemptFailed',
    listener: (ip: string, port: number, family: number, error: Error) => void,
  ): this;
  addListener(event: 'connectionAttemptTimeout', listener: (ip: string, port: number, family: number) => void): this;
  addListener(event: 'data', listener: (data: DataBuffer) => void): this;
  addListener(event: 'drain', listener: () => void): this;
  addListener(event: 'end', listener: () => void): this;
  addListener(event: 'error', listener: (err: Error) => void): this;
  addListener(
    event: 'lookup',
    listener: (err: Error, address: string, family: string | number, host: string) => void,
  ): this;
  addListener(event: 'ready', listener: () => void): this;
  addListener(event: 'timeout', listener: () => void): this;

  /** Emits an event synchronously; returns whether it had listeners. */
  emit(event: string | symbol, ...args: any[]): boolean;
  emit(event: 'close', hadError: boolean): boolean;
  emit(event: 'connect'): boolean;
  emit(event: 'connectionAttempt', ip: string, port: number, family: number): boolean;
  emit(event: 'connectionAttemptFailed', ip: string, port: number, family: number, error: Error): boolean;
  emit(event: 'connectionAttemptTimeout', ip: string, port: number, family: number): boolean;
  emit(event: 'data', data: DataBuffer): boolean;
  emit(event: 'drain'): boolean;
  emit(event: 'end'): boolean;
  emit(event: 'error', err: Error): boolean;
  emit(event: 'lookup', err: Error, address: string, family: string | number, host: string): boolean;
  emit(event: 'ready'): boolean;
  emit(event: 'timeout'): boolean;

  /** Adds a listener (same as `addListener`). */
  on(event: string, listener: (...args: any[]) => void): this;
  on(event: 'close', listener: (hadError: boolean) => void): this;
  on(event: 'connect', listener: () => void): this;
  on(event: 'connectionAttempt', listener: (ip: string, port: number, family: number) => void): this;
  on(
    event: 'connectionAttemptFailed',
    listener: (ip: string, port: number, family: number, error: Error) => void,
  ): this;
  on(event: 'connectionAttemptTimeout', listener: (ip: string, port: number, family: number) => void): this;
  on(event: 'data', listener: (data: DataBuffer) => void): this;
  on(event: 'drain', listener: () => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'lookup', listener: (err: Error, address: string, family: string | number, host: string) => void): this;
  on(event: 'ready', listener: () => void): this;
  on(event: 'timeout', listener: () => void): this;

  /** Adds a listener that is removed after its first call. */
  once(event: string, listener: (...args: any[]) => void): this;
  once(event: 'close', listener: (hadError: boolean) => void): this;
  once(event: 'connect', listener: () => void): this;
  once(event: 'connectionAttempt', listener: (ip: string, port: number, family: number) => void): this;
  once(
    event: 'connectionAttemptFailed',
    listener: (ip: string, port: number, family: number, error: Error) => void,
  ): this;
  once(event: 'connectionAttemptTimeout', listener: (ip: string, port: number, family: number) => void): this;
  once(event: 'data', listener: (data: DataBuffer) => void): this;
  once(event: 'drain', listener: () => void): this;
  once(event: 'end', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'lookup', listener: (err: Error, address: string, family: string | number, host: string) => void): this;
  once(event: 'ready', listener: () => void): this;
  once(event: 'timeout', listener: () => void): this;

  /** Adds a listener in front of the existing ones. */
  prependListener(event: string, listener: (...args: any[]) => void): this;
  prependListener(event: 'close', listener: (hadError: boolean) => void): this;
  prependListener(event: 'connect', listener: () => void): this;
  prependListener(event: 'connectionAttempt', listener: (ip: string, port: number, family: number) => void): this;
  prependListener(
    event: 'connectionAttemptFailed',
    listener: (ip: string, port: number, family: number, error: Error) => void,
  ): this;
  prependListener(
    event: 'connectionAttemptTimeout',
    listener: (ip: string, port: number, family: number) => void,
  ): this;
  prependListener(event: 'data', listener: (data: DataBuffer) => void): this;
  prependListener(event: 'drain', listener: () => void): this;
  prependListener(event: 'end', listener: () => void): this;
  prependListener(event: 'error', listener: (err: Error) => void): this;
  prependListener(
    event: 'lookup',
    listener: (err: Error, address: string, family: string | number, host: string) => void,
  ): this;
  prependListener(event: 'ready', listener: () => void): this;
  prependListener(event: 'timeout', listener: () => void): this;

  /** Adds a one-time listener in front of the existing ones. */
  prependOnceListener(event: string, listener: (...args: any[]) => void): this;
  prependOnceListener(event: 'close', listener: (hadError: boolean) => void): this;
  prependOnceListener(event: 'connect', listener: () => void): this;
  prependOnceListener(
    event: 'connectionAttempt',
    listener: (ip: string, port: number, family: number) => void,
  ): this;
  prependOnceListener(
    event: 'connectionAttemptFailed',
    listener: (ip: string, port: number, family: number, error: Error) => void,
  ): this;
  prependOnceListener(
    event: 'connectionAttemptTimeout',
    listener: (ip: string, port: number, family: number) => void,
  ): this;
  prependOnceListener(event: 'data', listener: (data: DataBuffer) => void): this;
  prependOnceListener(event: 'drain', listener: () => void): this;
  prependOnceListener(event: 'end', listener: () => void): this;
  prependOnceListener(event: 'error', listener: (err: Error) => void): this;
  prependOnceListener(
    event: 'lookup',
    listener: (err: Error, address: string, family: string | number, host: string) => void,
  ): this;
  prependOnceListener(event: 'ready', listener: () => void): this;
  prependOnceListener(event: 'timeout', listener: () => void): this;
}

/** `net.Stream` is another name for `Socket`, kept for old code, as in Node. */
export { Socket as Stream };

/** Options for `server.listen(options)`. */
export interface ListenOptions {
  /** Port to listen on; `0` or omitted picks a free port. */
  port?: number | undefined;
  /** Address or host name to bind; omitted means every address (`::`, else `0.0.0.0`). */
  host?: string | undefined;
  /** Unix domain socket path to listen on (a Linux abstract name when it starts with NUL). */
  path?: string | undefined;
  /** Maximum length of the queue of pending connections (default 511). */
  backlog?: number | undefined;
  /** Cluster option in Node; here every server owns its handle, as if `true`. */
  exclusive?: boolean | undefined;
  /** With `host: '::'`, accept IPv6 connections only. */
  ipv6Only?: boolean | undefined;
  /** Set `SO_REUSEPORT` so several sockets can bind the same port. */
  reusePort?: boolean | undefined;
  /** Make an IPC socket readable by all users (IPC only). */
  readableAll?: boolean | undefined;
  /** Make an IPC socket writable by all users (IPC only). */
  writableAll?: boolean | undefined;
  /** Closes the server when the signal aborts. */
  signal?: AbortSignal | undefined;
  /** A `BoundSocket` (Node 24.x) to listen on; it is this server's from then on. */
  handle?: BoundSocket | undefined;
}

/** Options for `createServer(options)` / `new Server(options)`. */
export interface ServerOpts {
  /** Keep accepted sockets' writable side open after the peer ends (default `false`). */
  allowHalfOpen?: boolean | undefined;
  /** Accepted sockets start paused; call `resume()` to start reading. */
  pauseOnConnect?: boolean | undefined;
  /** Disable Nagle's algorithm on accepted sockets. */
  noDelay?: boolean | undefined;
  /** Enable TCP keep-alive on accepted sockets. */
  keepAlive?: boolean | undefined;
  /** Idle time in ms before the first keep-alive probe on accepted sockets. */
  keepAliveInitialDelay?: number | undefined;
  /** `readableHighWaterMark`/`writableHighWaterMark` of accepted sockets. */
  highWaterMark?: number | undefined;
}

/** What a 'drop' listener receives about a connection refused by `maxConnections`. */
export interface DropArgument {
  localAddress?: string;
  localPort?: number;
  localFamily?: string;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
}

/**
 * A TCP server: the same API and events as Node's `net.Server` ('listening',
 * 'connection', 'drop', 'error', 'close'), backed by a native (Rust) listener.
 */
export class Server extends EventEmitter {
  /** Creates a server; `connectionListener` is added for 'connection'. */
  constructor(connectionListener?: (socket: Socket) => void);
  /** Creates a server with options; `connectionListener` is added for 'connection'. */
  constructor(options?: ServerOpts, connectionListener?: (socket: Socket) => void);

  /**
   * Starts listening on `port` (any free port when omitted or 0) of `hostname` (every
   * address when omitted). `listeningListener` is added once for 'listening'; failures
   * are emitted as 'error'.
   */
  listen(port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, hostname?: string, listeningListener?: () => void): this;
  listen(port?: number, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, listeningListener?: () => void): this;
  /** Listens on a Unix domain socket path. */
  listen(path: string, backlog?: number, listeningListener?: () => void): this;
  listen(path: string, listeningListener?: () => void): this;
  /** Starts listening as described by `options`. */
  listen(options: ListenOptions, listeningListener?: () => void): this;
  /**
   * Listens on an existing handle: another server of this module (both then serve its
   * socket) or `{ fd }`, a listening socket made elsewhere (e.g. systemd socket activation).
   */
  listen(handle: Server | Socket | BoundSocket | { fd: number }, backlog?: number, listeningListener?: () => void): this;
  listen(handle: Server | Socket | BoundSocket | { fd: number }, listeningListener?: () => void): this;

  /**
   * Stops accepting connections; 'close' follows once the existing ones have ended.
   * `callback` runs on 'close', with `ERR_SERVER_NOT_RUNNING` if the server was not open.
   */
  close(callback?: (err?: Error) => void): this;

  /** The bound address once listening, or `null` before `listen()`/after `close()`. */
  address(): AddressInfo | string | null;

  /** Reports the number of open connections asynchronously. */
  getConnections(cb: (error: Error | null, count: number) => void): this;

  /** Undoes `unref()`: a listening server keeps the process alive again (the default). */
  ref(): this;

  /** Lets the process exit even if this server is still listening. */
  unref(): this;

  /** When set (non-zero), connections beyond this count are closed and reported as 'drop'. */
  maxConnections: number;

  /** Whether the server is listening. */
  readonly listening: boolean;

  /** Adds a listener: 'close', 'connection' (socket), 'error', 'listening', 'drop' (data). */
  addListener(event: string, listener: (...args: any[]) => void): this;
  addListener(event: 'close', listener: () => void): this;
  addListener(event: 'connection', listener: (socket: Socket) => void): this;
  addListener(event: 'error', listener: (err: Error) => void): this;
  addListener(event: 'listening', listener: () => void): this;
  addListener(event: 'drop', listener: (data?: DropArgument) => void): this;

  /** Emits an event synchronously; returns whether it had listeners. */
  emit(event: string | symbol, ...args: any[]): boolean;
  emit(event: 'close'): boolean;
  emit(event: 'connection', socket: Socket): boolean;
  emit(event: 'error', err: Error): boolean;
  emit(event: 'listening'): boolean;
  emit(event: 'drop', data?: DropArgument): boolean;

  /** Adds a listener (same as `addListener`). */
  on(event: string, listener: (...args: any[]) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'connection', listener: (socket: Socket) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'listening', listener: () => void): this;
  on(event: 'drop', listener: (data?: DropArgument) => void): this;

  /** Adds a listener that is removed after its first call. */
  once(event: string, listener: (...args: any[]) => void): this;
  once(event: 'close', listener: () => void): this;
  once(event: 'connection', listener: (socket: Socket) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'listening', listener: () => void): this;
  once(event: 'drop', listener: (data?: DropArgument) => void): this;

  /** Adds a listener in front of the existing ones. */
  prependListener(event: string, listener: (...args: any[]) => void): this;
  prependListener(event: 'close', listener: () => void): this;
  prependListener(event: 'connection', listener: (socket: Socket) => void): this;
  prependListener(event: 'error', listener: (err: Error) => void): this;
  prependListener(event: 'listening', listener: () => void): this;
  prependListener(event: 'drop', listener: (data?: DropArgument) => void): this;

  /** Adds a one-time listener in front of the existing ones. */
  prependOnceListener(event: string, listener: (...args: any[]) => void): this;
  prependOnceListener(event: 'close', listener: () => void): this;
  prependOnceListener(event: 'connection', listener: (socket: Socket) => void): this;
  prependOnceListener(event: 'error', listener: (err: Error) => void): this;
  prependOnceListener(event: 'listening', listener: () => void): this;
  prependOnceListener(event: 'drop', listener: (data?: DropArgument) => void): this;

  /** `await using` support: closes the server and resolves on 'close'. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * `BlockList` and `SocketAddress` do no I/O, so this module hands out Node's own classes
 * (the very same objects as `require('node:net').BlockList` / `.SocketAddress`).
 */
/** Options of `new BoundSocket(options)`: `port`, `host`, `ipv6Only`, `reusePort` for TCP, or
 * `path` alone for a Unix domain socket. */
export interface BoundSocketOptions {
  /** Port to bind; `0` or omitted picks a free one (see `address().port`). */
  port?: number | undefined;
  /** A numeric IP address (no name lookup); omitted: `0.0.0.0`, or `::` with `ipv6Only`. */
  host?: string | undefined;
  /** IPv6 only (no IPv4-mapped addresses). */
  ipv6Only?: boolean | undefined;
  /** Set `SO_REUSEPORT`, so that several sockets can bind and listen on the port. */
  reusePort?: boolean | undefined;
  /** A Unix domain socket path (a Linux abstract name when it starts with NUL); its file is
   * removed when the socket closes. */
  path?: string | undefined;
}

/**
 * A socket bound at once, not yet listening or connected (Node 24.x; `undefined` on the Node
 * versions whose `node:net` has no `BoundSocket`). A conflict throws here (`bind EADDRINUSE`),
 * and the port chosen for port 0 is known before anything uses it. `server.listen(bound)` or
 * `new Socket({ handle: bound })` adopts it; from then on its methods throw
 * `ERR_SOCKET_HANDLE_ADOPTED`. Unlike Node's, it cannot be transferred to a worker thread.
 */
export class BoundSocket {
  constructor(options?: BoundSocketOptions);
  /** The bound address (the port the OS chose for port 0), or the path of a Unix socket. */
  address(): AddressInfo | string;
  /** The descriptor; it stays the BoundSocket's until adopted: do not close it. */
  fd(): number;
  /** Close a socket nobody adopted. */
  close(): void;
  /** Closes it unless adopted or closed already (`using bound = new BoundSocket(...)`). */
  [Symbol.dispose](): void;
  /** A Unix domain socket rather than TCP. */
  readonly isPipe: boolean;
}

export { BlockList, SocketAddress } from 'node:net';
/** Types that go with Node's `BlockList` / `SocketAddress`. */
export type { IPVersion, SocketAddressInitOptions } from 'node:net';

/** Creates a TCP server; `connectionListener` is added for 'connection'. */
export function createServer(connectionListener?: (socket: Socket) => void): Server;
/** Creates a TCP server with options; `connectionListener` is added for 'connection'. */
export function createServer(options?: ServerOpts, connectionListener?: (socket: Socket) => void): Server;

/**
 * Creates a `Socket` and starts connecting it; `connectionListener` is added once for
 * 'connect'. Same as `createConnection()`.
 */
export function connect(options: NetConnectOpts, connectionListener?: () => void): Socket;
/** Connects to `port` on `host` (default `'localhost'`). */
export function connect(port: number, host?: string, connectionListener?: () => void): Socket;
/** Connects to `port` on `'localhost'` (a form Node accepts though its typings omit it). */
export function connect(port: number, connectionListener?: () => void): Socket;
/** Connects to a Unix domain socket path. */
export function connect(path: string, connectionListener?: () => void): Socket;
/**
 * The shape of `http.Agent#createConnection`, so that `agent.createConnection =
 * net.connect` type-checks. The callback is added as a 'connect' listener and, as with
 * node:net, called without arguments (the Agent calls it with the socket itself).
 */
export function connect(
  options: NetConnectOpts,
  callback?: (err: Error | null, socket: stream.Duplex) => void,
): Socket;

/**
 * Creates a `Socket` and starts connecting it; `connectionListener` is added once for
 * 'connect'. Same as `connect()`.
 */
export function createConnection(options: NetConnectOpts, connectionListener?: () => void): Socket;
/** Connects to `port` on `host` (default `'localhost'`). */
export function createConnection(port: number, host?: string, connectionListener?: () => void): Socket;
/** Connects to `port` on `'localhost'` (a form Node accepts though its typings omit it). */
export function createConnection(port: number, connectionListener?: () => void): Socket;
/** Connects to a Unix domain socket path. */
export function createConnection(path: string, connectionListener?: () => void): Socket;
/**
 * The shape of `http.Agent#createConnection`, so that `agent.createConnection =
 * net.createConnection` type-checks. The callback is added as a 'connect' listener and, as with
 * node:net, called without arguments (the Agent calls it with the socket itself).
 */
export function createConnection(
  options: NetConnectOpts,
  callback?: (err: Error | null, socket: stream.Duplex) => void,
): Socket;

/** The process-wide default of the `autoSelectFamily` connect option (initially `true`). */
export function getDefaultAutoSelectFamily(): boolean;

/** Sets the process-wide default of the `autoSelectFamily` connect option. */
export function setDefaultAutoSelectFamily(value: boolean): void;

/** The process-wide default of `autoSelectFamilyAttemptTimeout` in ms (initially 250). */
export function getDefaultAutoSelectFamilyAttemptTimeout(): number;

/** Sets the default of `autoSelectFamilyAttemptTimeout`; values below 10 become 10. */
export function setDefaultAutoSelectFamilyAttemptTimeout(value: number): void;

/** `4` for an IPv4 address, `6` for an IPv6 address, `0` otherwise (Node's strict rules). */
export function isIP(input: string): number;

/** Whether `input` is a dotted-decimal IPv4 address without leading zeros. */
export function isIPv4(input: string): boolean;

/** Whether `input` is an IPv6 address (an optional `%zone` suffix is allowed). */
export function isIPv6(input: string): boolean;
