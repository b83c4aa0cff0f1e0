// Type-level test of index.d.ts: ordinary net programs written against this module must
// compile under `strict`, and misuse must not (each `@ts-expect-error` line below has to
// produce an error, or tsc fails). Nothing here is run; `tsc -p __test__/typings` checks it.

import * as net from '../..';
import net2 = require('../..');
import * as nodeNet from 'node:net';
import * as stream from 'node:stream';
import * as http from 'node:http';
import { once } from 'node:events';
import type { NonSharedBuffer } from 'node:buffer';

// --- helpers -------------------------------------------------------------------------------

/** Compiles only when A and B are the same type (and neither is `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<A, B>(_check: Equal<A, B>): void {}
declare function expectType<T>(value: T): void;

// Both import styles see the same module.
assertType<typeof net2.Socket, typeof net.Socket>(true);
assertType<typeof net.Stream, typeof net.Socket>(true);
assertType<typeof net.BlockList, typeof nodeNet.BlockList>(true);
assertType<typeof net.SocketAddress, typeof nodeNet.SocketAddress>(true);

// --- an echo server, every listen() form ----------------------------------------------------

const server = net.createServer((socket) => {
  assertType<typeof socket, net.Socket>(true);
  socket.on('data', (chunk) => {
    assertType<typeof chunk, NonSharedBuffer>(true);
    socket.write(chunk);
  });
  socket.on('end', () => socket.end());
  socket.pipe(socket);
});
assertType<typeof server, net.Server>(true);

const server2 = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true, keepAlive: true });
const server3 = net.createServer(
  { keepAliveInitialDelay: 1000, highWaterMark: 1 << 16 },
  (socket: net.Socket) => socket.resume(),
);
const server4 = new net.Server();
const server5 = new net.Server((socket) => socket.destroy());
const server6 = new net.Server({ allowHalfOpen: false }, (socket) => socket.end('bye\n'));
const server7: net.Server = net.createServer();

server.listen();
server.listen(0);
server.listen(0, () => {});
server.listen(0, '127.0.0.1');
server.listen(0, '127.0.0.1', () => {});
server.listen(0, '127.0.0.1', 128);
server.listen(0, '127.0.0.1', 128, () => {});
server.listen(0, 128, () => {});
server.listen(undefined, '::1');
server.listen({ port: 0 });
server.listen({ port: 0, host: 'localhost', backlog: 16, ipv6Only: false, reusePort: true }, () => {});
server.listen({ host: '::', exclusive: true, signal: new AbortController().signal });
server.listen('/tmp/echo.sock'); // IPC form: declared, throws ERR_RSNET_UNSUPPORTED at runtime
server.listen('/tmp/echo.sock', 16, () => {});
server.listen({ fd: 3 }); // handle form: declared, throws ERR_RSNET_UNSUPPORTED at runtime
server.listen(server2, () => {});

server.on('listening', () => {
  const addr = server.address();
  expectType<net.AddressInfo | string | null>(addr);
  if (addr !== null && typeof addr === 'object') {
    const port: number = addr.port;
    const host: string = addr.address;
    const family: string = addr.family;
    net.connect(port, host, () => void family);
  }
});
server.on('connection', (socket) => {
  assertType<typeof socket, net.Socket>(true);
  socket.setNoDelay().setKeepAlive(true, 1000).setTimeout(5000, () => socket.destroy());
});
server.on('error', (err) => {
  assertType<typeof err, Error>(true);
});
server.on('drop', (data) => {
  assertType<typeof data, net.DropArgument | undefined>(true);
  const port: number | undefined = data?.remotePort;
  void port;
});
server.once('close', () => {});
server.prependListener('connection', (s) => s.unref());
server.prependOnceListener('listening', () => {});
server.addListener('custom', (...args: any[]) => void args);
expectType<boolean>(server.emit('connection', new net.Socket()));
const withOnread = new net.Socket({ onread: { buffer: Buffer.alloc(64), callback: (n, buf) => n < buf.length } });
void withOnread;
const info = new net.Socket().getTcpInfo();
expectType<number | undefined>(info?.rtt);
expectType<boolean>(server.emit('drop', { localPort: 1 }));

server.maxConnections = 100;
const listening: boolean = server.listening;
void listening;
server.getConnections((err, count) => {
  assertType<typeof err, Error | null>(true);
  assertType<typeof count, number>(true);
});
server.ref().unref().close((err) => {
  assertType<typeof err, Error | undefined>(true);
});

async function disposeServer(): Promise<void> {
  const s = net.createServer().listen(0);
  await once(s, 'listening');
  await s[Symbol.asyncDispose]();
}
void disposeServer;
void [server3, server4, server5, server6, server7];

// --- clients, every connect form ------------------------------------------------------------

const c1 = net.connect(8124);
const c2 = net.connect(8124, 'localhost');
const c3 = net.connect(8124, 'localhost', () => {});
const c4 = net.connect({ port: 8124 });
const c5 = net.connect({ port: 8124, host: 'example.com', family: 6, timeout: 1000 }, () => {});
const c6 = net.createConnection({
  port: 80,
  host: 'example.com',
  localAddress: '0.0.0.0',
  localPort: 0,
  hints: 0,
  noDelay: true,
  keepAlive: true,
  keepAliveInitialDelay: 500,
  autoSelectFamily: true,
  autoSelectFamilyAttemptTimeout: 100,
  allowHalfOpen: true,
  signal: AbortSignal.timeout(1000),
  lookup: (hostname, options, callback) => {
    assertType<typeof hostname, string>(true);
    void options.family;
    callback(null, '127.0.0.1', 4);
  },
});
const c7 = net.createConnection(80, () => {});
const c7b = net.connect(80, () => {});
const c8 = net.createConnection('/tmp/echo.sock'); // IPC: declared, throws at runtime
const c9 = net.createConnection({ path: '/tmp/echo.sock', timeout: 10 });
for (const c of [c1, c2, c3, c4, c5, c6, c7, c7b, c8, c9]) assertType<typeof c, net.Socket>(true);

// A socket made by hand, connected with each Socket#connect form.
const sock = new net.Socket();
const sock2 = new net.Socket({ allowHalfOpen: true, readable: true, writable: true });
expectType<net.Socket>(sock.connect({ port: 1, host: '::1' }));
sock.connect({ port: 1 }, () => {});
sock.connect(1, '127.0.0.1', () => {});
sock.connect(1, () => {});
sock.connect(1);
sock.connect('/tmp/echo.sock', () => {});
void sock2;

// Writing and ending.
expectType<boolean>(sock.write('hello'));
sock.write('hello', 'latin1');
sock.write('hello', 'utf8', (err) => void err);
sock.write(Buffer.from('hi'), (err) => {
  assertType<typeof err, Error | null | undefined>(true);
});
sock.write(new Uint8Array([1, 2, 3]));
sock.end();
sock.end(() => {});
sock.end('bye');
sock.end(Buffer.alloc(1), () => {});
sock.end('bye', 'utf8', () => {});
sock.destroySoon();
expectType<net.Socket>(sock.resetAndDestroy());
expectType<net.Socket>(sock.setTimeout(0));
expectType<net.Socket>(sock.ref().unref());

// Properties.
const state: net.SocketReadyState = sock.readyState;
assertType<typeof sock.readyState, 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed'>(true);
const nums: number[] = [sock.bytesRead, sock.bytesWritten, sock.writableLength];
const flags: boolean[] = [sock.connecting, sock.pending, sock.destroyed];
const remote: [string | undefined, string | undefined, number | undefined] = [
  sock.remoteAddress,
  sock.remoteFamily,
  sock.remotePort,
];
const local: [string | undefined, number | undefined, string | undefined] = [
  sock.localAddress,
  sock.localPort,
  sock.localFamily,
];
const timeout: number | undefined = sock.timeout;
const attempted: string[] = sock.autoSelectFamilyAttemptedAddresses;
void [state, nums, flags, remote, local, timeout, attempted];

// address() narrowing: AddressInfo when connected, `{}` otherwise.
const a = sock.address();
if ('port' in a) {
  assertType<typeof a, net.AddressInfo>(true);
  const p: number = a.port;
  void p;
}

// Events with typed arguments.
sock.on('close', (hadError) => assertType<typeof hadError, boolean>(true));
sock.on('connect', () => {});
sock.on('ready', () => {});
sock.on('drain', () => {});
sock.on('end', () => {});
sock.on('timeout', () => sock.destroy());
sock.on('error', (err) => assertType<typeof err, Error>(true));
sock.on('data', (data) => {
  assertType<typeof data, NonSharedBuffer>(true);
  const text: string = data.toString('utf8');
  void text;
});
sock.on('lookup', (err, address, family, host) => {
  assertType<typeof err, Error>(true);
  assertType<typeof address, string>(true);
  assertType<typeof family, string | number>(true);
  assertType<typeof host, string>(true);
});
sock.once('connectionAttempt', (ip, port, family) => {
  assertType<[typeof ip, typeof port, typeof family], [string, number, number]>(true);
});
sock.addListener('connectionAttemptFailed', (ip, port, family, error) => {
  assertType<[typeof ip, typeof port, typeof family, typeof error], [string, number, number, Error]>(true);
});
sock.prependListener('connectionAttemptTimeout', (ip, port, family) => {
  assertType<[typeof ip, typeof port, typeof family], [string, number, number]>(true);
});
sock.prependOnceListener('close', (hadError) => assertType<typeof hadError, boolean>(true));
sock.on('some-other-event', (x: unknown) => void x);
// As in node:net, any event name also matches a catch-all `(...args: any[])` overload, so an
// explicitly annotated listener is not checked against the event: that is what lets
// `(chunk: string) =>` compile after setEncoding(). Unannotated listeners get the types above.
sock.setEncoding('utf8').on('data', (chunk: string) => void chunk.length);
expectType<boolean>(sock.emit('close', false));
expectType<boolean>(sock.emit('lookup', new Error('x'), '::1', 6, 'localhost'));

// --- interop with the rest of Node ----------------------------------------------------------

// Our Socket is a stream.Duplex ...
const duplex: stream.Duplex = sock;
stream.pipeline(sock, sock, (err) => {
  assertType<typeof err, NodeJS.ErrnoException | null>(true);
});
stream.pipeline(process.stdin, c1, process.stdout, () => {});
void duplex;

// ... and has the whole shape of Node's net.Socket, so it fits where one is expected.
const asNodeSocket: nodeNet.Socket = sock;
// (Not so for net.Server: Node's typings still list `Server#connections`, which Node itself
// removed at runtime, so we leave it out and our Server is not assignable to theirs.)
const asNodeOpts: nodeNet.TcpNetConnectOpts = { port: 1 };
net.connect(asNodeOpts);
void asNodeSocket;

// http: an Agent takes our createConnection as it is (the overload with http's callback shape).
const agent = new http.Agent({ keepAlive: true });
agent.createConnection = net.createConnection;
class RsnetAgent extends http.Agent {}
RsnetAgent.prototype.createConnection = net.connect;
http.get({ host: 'localhost', port: 8080, agent: new RsnetAgent({ keepAlive: true }) });

// A request's own `createConnection` option is a plain function type (checked strictly), and
// http gives it `ClientRequestArgs` (where `port` may be a string or null), which no net
// `connect` form accepts, node:net's included; a small adapter maps the request options:
const createConnection: NonNullable<http.ClientRequestArgs['createConnection']> = (options) =>
  net.createConnection({
    host: options.hostname ?? options.host ?? 'localhost',
    port: Number(options.port ?? options.defaultPort ?? 80),
    localAddress: options.localAddress,
    family: options.family,
    lookup: options.lookup,
  });
http.request({ host: 'localhost', port: 8080, path: '/', createConnection });

// --- module functions -----------------------------------------------------------------------

expectType<number>(net.isIP('::1'));
expectType<boolean>(net.isIPv4('127.0.0.1'));
expectType<boolean>(net.isIPv6('::1'));
net.setDefaultAutoSelectFamily(net.getDefaultAutoSelectFamily());
net.setDefaultAutoSelectFamilyAttemptTimeout(net.getDefaultAutoSelectFamilyAttemptTimeout());
const blocked = new net.BlockList();
blocked.addSubnet('10.0.0.0', 8);
blocked.addAddress(new net.SocketAddress({ address: '::1', family: 'ipv6' }));
expectType<boolean>(blocked.check('10.1.2.3'));
const family: net.IPVersion = 'ipv4';
void family;

// --- misuse: each line below must be a type error -------------------------------------------

// @ts-expect-error port must be a number and host a string
net.connect({ port: 'x', host: 1 });
// @ts-expect-error connect options need a port (or a path)
net.connect({ host: 'localhost' });
// @ts-expect-error the port is a number
net.createConnection(true);
// @ts-expect-error the connect listener takes no arguments
net.connect(80, 'localhost', (err: Error) => void err);
// @ts-expect-error ListenOptions.port is a number
server.listen({ port: true });
// @ts-expect-error the backlog is a number
server.listen(0, 'localhost', '511');
// @ts-expect-error a listening listener takes no arguments
server.listen(0, (x: number) => void x);
// @ts-expect-error only Buffer/Uint8Array/string can be written
sock.write(123);
// @ts-expect-error not an encoding
sock.write('x', 'klingon');
// @ts-expect-error the timeout is a number of milliseconds
sock.setTimeout('1');
// @ts-expect-error setNoDelay takes a boolean
sock.setNoDelay('yes');
// @ts-expect-error readyState is read-only
sock.readyState = 'open';
// @ts-expect-error remotePort is read-only
sock.remotePort = 1;
// @ts-expect-error address() may be `{}`: narrow it first
void sock.address().port;
// @ts-expect-error Server#address() may be null or a string: narrow it first
void server.address().port;
// @ts-expect-error unsupported option, left out on purpose (it would be ignored)
net.createServer({ blockList: new net.BlockList() });
// @ts-expect-error isIP takes a string
net.isIP(127001);
// @ts-expect-error setDefaultAutoSelectFamily takes a boolean
net.setDefaultAutoSelectFamily(1);
// @ts-expect-error a Server is not a Socket
const notASocket: net.Socket = server;
void notASocket;

// Node 24.x keep-alive options and type of service (optional methods: narrow before calling).
sock.setKeepAlive({ enable: true, initialDelay: 1000, interval: 1000, count: 5 }).setKeepAlive(true, 1000, 500, 3);
const keepAlive: net.KeepAliveOptions = { enable: false };
sock.setKeepAlive(keepAlive);
if (sock.setTypeOfService && sock.getTypeOfService) {
  sock.setTypeOfService(0x10);
  const tos: number = sock.getTypeOfService();
  void tos;
}
net.connect({ port: 1, typeOfService: 0x20 });
// @ts-expect-error the keep-alive count is a number
sock.setKeepAlive({ count: 'five' });

// Node 24.x BoundSocket: bound at once, adopted by a server or a client socket.
const bound = new net.BoundSocket({ port: 0, host: '127.0.0.1', reusePort: true });
const boundAt = bound.address();
if (typeof boundAt !== 'string') void boundAt.port;
const boundFd: number = bound.fd();
void boundFd;
const isPipe: boolean = bound.isPipe;
void isPipe;
net.createServer().listen(bound, () => {});
net.createServer().listen({ handle: new net.BoundSocket({ path: '/tmp/x.sock' }) });
new net.Socket({ handle: new net.BoundSocket() }).connect(80, '127.0.0.1');
new net.BoundSocket()[Symbol.dispose]();
// @ts-expect-error the bound host is a string (a numeric address)
new net.BoundSocket({ host: 127001 });
// @ts-expect-error isPipe is read-only
bound.isPipe = true;
