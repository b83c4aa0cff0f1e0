'use strict';
// Comparison tests for Unix domain sockets (Linux): listen(path) in all its forms, address(),
// readableAll/writableAll, connecting by path (events, echo, half-close, destroy, counters,
// address properties, readyState, options, timeouts, backpressure, pipe), what happens to the
// socket file on close, errors (missing path, regular file, stale socket, address in use,
// missing directory, over-long paths, bad argument types), Linux abstract names, and process
// lifetime with an unref()ed Unix server. node:net is the oracle.
//
// Every scenario makes its own temporary directory (the node run and ours use different ones)
// and removes it at the end; `withDir` replaces that directory by 'DIR' in the whole trace, so
// paths may appear in error messages and event arguments.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { compare, describe, record, rewriteTrace, once, delay, settle } = require('./helpers/compare.js');
const { prng, sha256, waitFor } = require('./helpers/data.js');

const CLIENT_EVENTS = [
  'lookup',
  'connectionAttempt',
  'connectionAttemptFailed',
  'connect',
  'ready',
  'data',
  'end',
  'error',
  'close',
];

/**
 * Wrap a scenario: it gets a fresh temporary directory `dir` (removed afterwards), and every
 * occurrence of `dir` in a string of the trace (error messages, addresses, event arguments) is
 * replaced by 'DIR'.
 */
function withDir(fn) {
  return async (net, t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsnet-unix-'));
    try {
      return await fn(net, t, dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      rewriteTrace(t, (v) => (typeof v === 'string' ? v.split(dir).join('DIR') : v));
    }
  };
}

/** A unique Linux abstract socket name (leading NUL byte). */
const abstractName = () => `\0rsnet-test-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;

/** Whether /proc/net/unix lists the abstract name (shown there with a leading '@'). */
const abstractListed = (name) => fs.readFileSync('/proc/net/unix', 'utf8').includes('@' + name.slice(1));

/** The file-system view of a path: absent, or its type and permission bits. */
function fileInfo(p) {
  if (!fs.existsSync(p)) return 'absent';
  const st = fs.statSync(p);
  return { socket: st.isSocket(), file: st.isFile(), mode: (st.mode & 0o777).toString(8) };
}

/**
 * Listen on `where` (a path string or listen options); collect the server's connections and
 * run `onConnection` for each. Resolves when listening.
 */
async function listenUnix(net, where, options = {}, onConnection) {
  const server = net.createServer(options);
  const conns = [];
  server.on('connection', (c) => {
    conns.push(c);
    if (onConnection) onConnection(c);
  });
  server.listen(where);
  await once(server, 'listening');
  const close = async () => {
    for (const c of conns) c.destroy();
    if (server.listening) await new Promise((resolve) => server.close(() => resolve()));
  };
  return { server, conns, close };
}

/** A connected pair over the Unix socket `p`: client `c`, server side `s`. */
async function pair(net, p, { server: serverOptions = {}, client: clientOptions = {} } = {}) {
  const srv = await listenUnix(net, p, serverOptions);
  const c = net.connect({ path: p, ...clientOptions });
  const [[s]] = await Promise.all([once(srv.server, 'connection'), once(c, 'connect')]);
  const close = async () => {
    c.destroy();
    await srv.close();
  };
  return { srv, c, s, close };
}


/** Collect everything a socket emits as data. */
function collect(socket) {
  const chunks = [];
  socket.on('data', (d) => chunks.push(Buffer.isBuffer(d) ? d : Buffer.from(d)));
  return {
    get buffer() {
      return Buffer.concat(chunks);
    },
    get text() {
      return Buffer.concat(chunks).toString('utf8');
    },
    get length() {
      return chunks.reduce((n, d) => n + d.length, 0);
    },
  };
}


/** Everything node exposes about a connected socket's addresses. */
function addresses(s) {
  return {
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    remoteFamily: s.remoteFamily,
    localAddress: s.localAddress,
    localPort: s.localPort,
    localFamily: s.localFamily,
    address: s.address(),
  };
}

/** Close a server and wait for its callback, recording what the callback got. */
function closeServer(server, t, label = 'close callback') {
  return new Promise((resolve) =>
    server.close((...args) => {
      if (t) t.push(label, ...args);
      resolve();
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Listening
// ---------------------------------------------------------------------------------------------

test('listen(path, cb): listening, address() is the path, socket file, close unlinks it', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const server = net.createServer();
      t.events(server, ['listening', 'connection', 'close', 'error'], 'server ');
      t.push('address before listen', server.address());
      t.call('listen returns server', () => server.listen(p, (...args) => t.push('listen callback', ...args)) === server);
      t.push('listening synchronously', server.listening);
      await once(server, 'listening');
      t.push('listening', server.listening);
      const addr = server.address();
      t.push('address', typeof addr, addr === p, addr);
      t.push('file', fileInfo(p));
      t.call('close returns server', () => server.close((...args) => t.push('close callback', ...args)) === server);
      t.push('after close()', server.listening, fileInfo(p));
      const after = server.address();
      t.push('address after close() (sync)', after === p, after);
      await once(server, 'close');
      const later = server.address();
      t.push('address after close event', later === p, later, fileInfo(p));
    }),
  ));

test('listen(path, backlog, cb) and listen({path}) and listen({path, backlog})', () =>
  compare(
    withDir(async (net, t, dir) => {
      const forms = [
        ['listen(path, backlog, cb)', (s, p, cb) => s.listen(p, 5, cb)],
        ['listen({path}, cb)', (s, p, cb) => s.listen({ path: p }, cb)],
        ['listen({path, backlog}, cb)', (s, p, cb) => s.listen({ path: p, backlog: 3 }, cb)],
        ['listen({path}) then listening event', (s, p) => s.listen({ path: p })],
      ];
      let i = 0;
      for (const [label, listen] of forms) {
        const p = path.join(dir, `s${i++}.sock`);
        const server = net.createServer();
        t.events(server, ['listening', 'close', 'error'], label + ': ');
        const cbDone = new Promise((resolve) => {
          const r = listen(server, p, (...args) => {
            t.push(label + ' callback', ...args);
            resolve();
          });
          t.push(label + ' returns server', r === server);
          if (listen.length < 3) resolve();
        });
        await once(server, 'listening');
        await cbDone;
        t.push(label + ' address is the path', server.address() === p, fileInfo(p));
        // A client can connect.
        const c = net.connect(p);
        const [[s]] = await Promise.all([once(server, 'connection'), once(c, 'connect')]);
        t.push(label + ' connected', c.readyState, s.readyState);
        c.destroy();
        s.destroy();
        await closeServer(server, t, label + ' close callback');
        t.push(label + ' file after close', fileInfo(p));
      }
    }),
  ));

test('readableAll / writableAll set the socket file mode', () =>
  compare(
    withDir(async (net, t, dir) => {
      const variants = [
        ['default', {}],
        ['readableAll', { readableAll: true }],
        ['writableAll', { writableAll: true }],
        ['readableAll + writableAll', { readableAll: true, writableAll: true }],
        ['both false', { readableAll: false, writableAll: false }],
      ];
      let i = 0;
      for (const [label, opts] of variants) {
        const p = path.join(dir, `m${i++}.sock`);
        const server = net.createServer();
        server.listen({ path: p, ...opts });
        // The mode is applied synchronously by listen().
        t.push(label + ' synchronously', fileInfo(p));
        await once(server, 'listening');
        t.push(label, server.address() === p, fileInfo(p));
        const c = net.connect(p);
        await once(c, 'connect');
        c.destroy();
        await closeServer(server);
      }
    }),
  ));

test('server events: listening, connection (a Socket), close after the last connection ends', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const server = net.createServer();
      const sEvents = record(server, ['listening', 'connection', 'close', 'error']);
      server.listen(p);
      await once(server, 'listening');
      const c1 = net.connect(p);
      const [[s1]] = await Promise.all([once(server, 'connection'), once(c1, 'connect')]);
      t.push('accepted is a net.Socket', s1 instanceof net.Socket, s1.server === server);
      const c2 = net.connect(p);
      await Promise.all([once(server, 'connection'), once(c2, 'connect')]);
      const count = await new Promise((resolve) => server.getConnections((err, n) => resolve([err, n])));
      t.push('getConnections', count);
      server.close();
      t.push('after close(): listening, file', server.listening, fileInfo(p));
      // Existing connections keep working; the server's close waits for them.
      await delay(20);
      t.push('events before connections end', sEvents.slice());
      c1.end();
      c2.end();
      await once(server, 'close');
      t.push('events', sEvents);
      const late = net.connect(p);
      t.events(late, ['connect', 'error', 'close'], 'late connect ');
      await once(late, 'close');
    }),
  ));

// ---------------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------------

const CONNECT_FORMS = [
  ['net.connect(path, cb)', (net, p, cb) => net.connect(p, cb)],
  ['net.connect(path)', (net, p) => net.connect(p)],
  ['net.createConnection(path, cb)', (net, p, cb) => net.createConnection(p, cb)],
  ['net.createConnection({path}, cb)', (net, p, cb) => net.createConnection({ path: p }, cb)],
  ['net.connect({path})', (net, p) => net.connect({ path: p })],
  ['new Socket().connect(path, cb)', (net, p, cb) => new net.Socket().connect(p, cb)],
  ['new Socket().connect({path})', (net, p) => new net.Socket().connect({ path: p })],
  ['new Socket() then connect({path}, cb)', (net, p, cb) => {
    const s = new net.Socket();
    const r = s.connect({ path: p }, cb);
    return r === s ? s : null;
  }],
  ['connect({path, host, port}): path wins', (net, p) => net.connect({ path: p, host: '127.0.0.1', port: 1 })],
];

for (const [label, connect] of CONNECT_FORMS) {
  test(`${label}: events, readyState, addresses, echo, end`, () =>
    compare(
      withDir(async (net, t, dir) => {
        const p = path.join(dir, 's.sock');
        const srv = await listenUnix(net, p, {}, (s) => s.pipe(s));
        const c = connect(net, p, (...args) => t.push('connect callback', ...args));
        const events = record(c, CLIENT_EVENTS);
        t.push('is a Socket', c instanceof net.Socket);
        t.push('synchronously', c.readyState, c.connecting, c.pending, addresses(c));
        await once(c, 'connect');
        t.push('connected', c.readyState, c.connecting, c.pending, addresses(c));
        const got = collect(c);
        t.call('write', () => c.write('hello over unix'));
        c.end();
        await once(c, 'close');
        t.push('echoed', got.text, c.bytesRead, c.bytesWritten);
        t.push('events', events, c.readyState, c.destroyed);
        await srv.close();
      }),
    ));
}

test('accepted socket: addresses, readyState, bytes counters, setNoDelay/setKeepAlive', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const pr = await pair(net, p);
      t.push('client addresses', addresses(pr.c));
      t.push('server-side addresses', addresses(pr.s));
      t.push('server-side readyState', pr.s.readyState, pr.s.connecting, pr.s.pending);
      for (const [who, s] of [['client', pr.c], ['server side', pr.s]]) {
        t.call(who + ' setNoDelay()', () => s.setNoDelay() === s);
        t.call(who + ' setNoDelay(false)', () => s.setNoDelay(false) === s);
        t.call(who + ' setKeepAlive(true, 1000)', () => s.setKeepAlive(true, 1000) === s);
        t.call(who + ' setKeepAlive(false)', () => s.setKeepAlive(false) === s);
        t.call(who + ' unref()', () => s.unref() === s);
        t.call(who + ' ref()', () => s.ref() === s);
      }
      t.push('initial counters', pr.c.bytesRead, pr.c.bytesWritten, pr.s.bytesRead, pr.s.bytesWritten);
      const sGot = collect(pr.s);
      const cGot = collect(pr.c);
      pr.c.write('héllo');
      pr.c.write(Buffer.alloc(10));
      t.push('client bytesWritten', pr.c.bytesWritten);
      await waitFor(() => sGot.length === 16);
      t.push('server read', pr.s.bytesRead);
      pr.s.write('x'.repeat(1000));
      await waitFor(() => cGot.length === 1000);
      t.push('client read', pr.c.bytesRead, 'server wrote', pr.s.bytesWritten);
      pr.c.end();
      await Promise.all([once(pr.c, 'close'), once(pr.s, 'close')]);
      t.push('after close', pr.c.bytesRead, pr.c.bytesWritten, pr.s.bytesRead, pr.s.bytesWritten);
      t.push('addresses after close', addresses(pr.c), addresses(pr.s));
      await pr.close();
    }),
  ));

test('half-close with allowHalfOpen: client ends, server keeps writing, then ends', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const pr = await pair(net, p, { server: { allowHalfOpen: true } });
      const cEvents = record(pr.c, ['data', 'end', 'finish', 'error', 'close']);
      const sEvents = record(pr.s, ['data', 'end', 'finish', 'error', 'close']);
      const cGot = collect(pr.c);
      const sGot = collect(pr.s);
      pr.c.end('request');
      t.push('client after end()', pr.c.readyState, pr.c.writable, pr.c.readable);
      await once(pr.s, 'end');
      t.push('server after peer end', pr.s.readyState, pr.s.writable, pr.s.readable, sGot.text);
      await delay(10);
      pr.s.write('response part 1, ');
      await delay(10);
      pr.s.end('part 2');
      await Promise.all([once(pr.c, 'close'), once(pr.s, 'close')]);
      t.push('client received', cGot.text);
      t.push('client', cEvents, pr.c.readyState);
      t.push('server', sEvents, pr.s.readyState);
      await pr.close();
    }),
  ));

test('half-close with allowHalfOpen on the client: server ends first, client keeps writing', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const pr = await pair(net, p, { client: { allowHalfOpen: true } });
      const cEvents = record(pr.c, ['data', 'end', 'finish', 'error', 'close']);
      const sEvents = record(pr.s, ['data', 'end', 'finish', 'error', 'close']);
      const sGot = collect(pr.s);
      pr.c.resume();
      pr.s.end('bye');
      await once(pr.c, 'end');
      t.push('client after peer end', pr.c.readyState, pr.c.writable, pr.c.readable);
      pr.c.write('still writing');
      await delay(10);
      pr.c.end('; done');
      await Promise.all([once(pr.c, 'close'), once(pr.s, 'close')]);
      t.push('server received', sGot.text);
      t.push('client', cEvents, pr.c.readyState);
      t.push('server', sEvents, pr.s.readyState);
      await pr.close();
    }),
  ));

test('allowHalfOpen false: the server side ends automatically when the client ends', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const pr = await pair(net, p);
      const cEvents = record(pr.c, ['data', 'end', 'finish', 'error', 'close']);
      const sEvents = record(pr.s, ['data', 'end', 'finish', 'error', 'close']);
      pr.s.resume();
      pr.c.resume();
      pr.c.end();
      await Promise.all([once(pr.c, 'close'), once(pr.s, 'close')]);
      t.push('client', cEvents, pr.c.readyState);
      t.push('server', sEvents, pr.s.readyState);
      await pr.close();
    }),
  ));

test('destroy() and destroy(err): readyState, events on both ends', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      {
        const pr = await pair(net, p);
        const cEvents = record(pr.c, ['end', 'finish', 'error', 'close']);
        const sEvents = record(pr.s, ['end', 'finish', 'error', 'close']);
        pr.s.resume();
        t.call('destroy()', () => pr.c.destroy() === pr.c);
        t.push('after destroy()', pr.c.readyState, pr.c.destroyed, pr.c.writable, pr.c.readable);
        await Promise.all([once(pr.c, 'close'), once(pr.s, 'close')]);
        t.push('destroy(): client', cEvents, 'server side', sEvents);
        await pr.close();
      }
      {
        const pr = await pair(net, p);
        const cEvents = record(pr.c, ['end', 'finish', 'error', 'close']);
        const sEvents = record(pr.s, ['end', 'finish', 'error', 'close']);
        pr.s.resume();
        pr.c.destroy(new Error('boom'));
        await Promise.all([once(pr.c, 'close'), once(pr.s, 'close')]);
        t.push('destroy(err): client', cEvents, 'server side', sEvents);
        await pr.close();
      }
      {
        // The server side destroys: the client sees end then close.
        const pr = await pair(net, p);
        const cEvents = record(pr.c, ['end', 'finish', 'error', 'close']);
        pr.c.resume();
        pr.s.destroy();
        await once(pr.c, 'close');
        t.push('server-side destroy: client', cEvents);
        await pr.close();
      }
    }),
  ));

test('readyState transitions: opening, open, readOnly/writeOnly, closed', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const srv = await listenUnix(net, p, { allowHalfOpen: true });
      const c = new net.Socket({ allowHalfOpen: true });
      t.push('new Socket', c.readyState);
      c.connect(p);
      t.push('after connect()', c.readyState);
      const [[s]] = await Promise.all([once(srv.server, 'connection'), once(c, 'connect')]);
      t.push('connected', c.readyState, s.readyState);
      c.end();
      t.push('client after end()', c.readyState);
      s.resume();
      await once(s, 'end');
      t.push('server side after peer end', s.readyState);
      c.resume();
      s.end();
      await Promise.all([once(c, 'close'), once(s, 'close')]);
      t.push('closed', c.readyState, s.readyState);
      await srv.close();
    }),
  ));

test("setTimeout: 'timeout' fires when idle on a Unix socket; socket stays open", () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const pr = await pair(net, p);
      const cEvents = record(pr.c, ['timeout', 'end', 'error', 'close']);
      t.call('setTimeout returns this', () => pr.c.setTimeout(20, () => t.push('timeout callback')) === pr.c);
      t.push('timeout property', pr.c.timeout);
      await once(pr.c, 'timeout');
      await delay(5);
      t.push('still open after timeout', pr.c.destroyed, pr.c.readyState);
      pr.c.setTimeout(0);
      await delay(40);
      t.push('no more timeouts', cEvents.slice());
      // Timeout on the server side too.
      pr.s.setTimeout(15);
      await once(pr.s, 'timeout');
      t.push('server side timed out');
      pr.c.destroy();
      await once(pr.c, 'close');
      t.push('client', cEvents);
      await pr.close();
    }),
  ));

test('pause()/resume() backpressure with a large write: totals and integrity', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const pr = await pair(net, p);
      const got = collect(pr.s);
      const sEvents = record(pr.s, ['pause', 'resume', 'end', 'close']);
      const cEvents = record(pr.c, ['drain', 'finish', 'error', 'close']);
      t.call('pause returns this', () => pr.s.pause() === pr.s);
      const big = prng(4 << 20, 11);
      t.call('write 4 MiB', () => pr.c.write(big, (...args) => t.push('write callback', ...args)));
      t.push('queued', pr.c.writableLength > 0, pr.c.writableNeedDrain);
      await delay(20);
      t.push('nothing delivered while paused', got.length);
      t.push('still queued while paused', pr.c.writableLength > 0);
      t.call('resume returns this', () => pr.s.resume() === pr.s);
      await once(pr.c, 'drain');
      t.push('after drain', pr.c.writableLength, pr.c.writableNeedDrain);
      pr.c.end();
      await once(pr.s, 'end');
      t.push('received', got.length, sha256(got.buffer) === sha256(big), pr.s.bytesRead);
      await once(pr.c, 'close');
      t.push('client', cEvents, pr.c.bytesWritten);
      t.push('server', sEvents);
      await pr.close();
    }),
  ));

test('pipe: client -> relay (Unix) -> sink (Unix)', () =>
  compare(
    withDir(async (net, t, dir) => {
      const sinkPath = path.join(dir, 'sink.sock');
      const relayPath = path.join(dir, 'relay.sock');
      const sinkGot = [];
      const sink = await listenUnix(net, sinkPath, {}, (s) => {
        sinkGot.push({ got: collect(s), events: record(s, ['data', 'end', 'close']) });
      });
      let upstream;
      const relay = await listenUnix(net, relayPath, {}, (s) => {
        upstream = net.connect(sinkPath);
        t.push('pipe returns destination', s.pipe(upstream) === upstream);
      });
      const c = net.connect(relayPath);
      const data = prng(300000, 3);
      c.write(data.subarray(0, 1000));
      c.end(data.subarray(1000));
      await once(c, 'close');
      await waitFor(() => sinkGot.length === 1 && sinkGot[0].events.includes('end'));
      const { got, events } = sinkGot[0];
      t.push('sink received', got.length, sha256(got.buffer) === sha256(data), events.slice(0, 2));
      await waitFor(() => upstream.destroyed);
      t.push('upstream ended and closed', upstream.writableEnded, upstream.destroyed);
      await relay.close();
      await sink.close();
    }),
  ));

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Connect to `where` and record every client event until close (or a synchronous throw). */
async function connectAndRecord(net, t, label, where) {
  let c;
  try {
    c = net.connect(where);
  } catch (e) {
    t.push(label + ' threw', e);
    return;
  }
  const events = record(c, CLIENT_EVENTS);
  // If it does connect, hang up at once.
  c.on('connect', () => c.destroy());
  t.push(label + ' synchronously', c.readyState, c.connecting, events.slice());
  await once(c, 'close');
  t.push(label, events, c.readyState, c.destroyed);
}

test('connect to a path that does not exist: ENOENT', () =>
  compare(
    withDir(async (net, t, dir) => {
      await connectAndRecord(net, t, 'missing file', path.join(dir, 'nope.sock'));
      await connectAndRecord(net, t, 'missing file ({path})', { path: path.join(dir, 'nope.sock') });
      await connectAndRecord(net, t, 'missing directory', path.join(dir, 'no', 'such', 'dir.sock'));
      // With a connect callback: never called.
      const c = net.connect(path.join(dir, 'nope.sock'), () => t.push('connect callback called'));
      const [err] = await once(c, 'error');
      t.push('error', err, err instanceof Error);
      await once(c, 'close');
    }),
  ));

test('connect to a regular file, to a directory: ECONNREFUSED', () =>
  compare(
    withDir(async (net, t, dir) => {
      const file = path.join(dir, 'regular');
      fs.writeFileSync(file, 'not a socket');
      await connectAndRecord(net, t, 'regular file', file);
      await connectAndRecord(net, t, 'directory', dir);
      t.push('file untouched', fs.readFileSync(file, 'utf8'));
    }),
  ));

test('connect after the server closed: the socket file is gone (ENOENT)', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const server = net.createServer();
      server.listen(p);
      await once(server, 'listening');
      t.push('exists while listening', fs.existsSync(p));
      await closeServer(server, t);
      t.push('exists after close', fs.existsSync(p));
      await connectAndRecord(net, t, 'connect after close', p);
    }),
  ));

test('stale socket file (hard link kept after close): ECONNREFUSED; listen on it: EADDRINUSE', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const stale = path.join(dir, 'stale.sock');
      const server = net.createServer();
      server.listen(p);
      await once(server, 'listening');
      fs.linkSync(p, stale);
      await closeServer(server);
      t.push('after close', fileInfo(p), fileInfo(stale).socket);
      await connectAndRecord(net, t, 'connect to stale', stale);
      const s2 = net.createServer();
      t.events(s2, ['listening', 'error', 'close'], 'listen on stale: ');
      t.call('listen on stale', () => s2.listen(stale) === s2);
      await delay(20);
      t.push('listening', s2.listening, s2.address() === stale);
      t.push('stale file still there', fileInfo(stale).socket);
    }),
  ));

test('stale socket file left by a SIGKILLed process: ECONNREFUSED', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 'child.sock');
      // The fixture server always runs node:net in a child process.
      const child = spawn(
        process.execPath,
        ['-e', `require('node:net').createServer().listen(process.argv[1], () => console.log('READY'))`, p],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.setEncoding('utf8');
      await new Promise((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('READY')) resolve();
        });
        child.on('exit', () => reject(new Error('fixture child exited early')));
      });
      // While the child lives, a connection succeeds.
      const live = net.connect(p);
      const liveEvents = record(live, ['connect', 'error']);
      await once(live, 'connect');
      live.destroy();
      await once(live, 'close');
      t.push('while alive', liveEvents);
      child.removeAllListeners('exit');
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      t.push('child exit', (await exited)[1]);
      t.push('file left behind', fileInfo(p).socket);
      await connectAndRecord(net, t, 'connect to stale', p);
    }),
  ));

test('listen on a path in use by another listening server: EADDRINUSE error event', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const first = await listenUnix(net, p);
      const second = net.createServer();
      const events = record(second, ['listening', 'error', 'close']);
      t.call('listen returns server', () => second.listen(p, () => t.push('listen callback')) === second);
      t.push('synchronously', events.slice(), second.listening);
      await delay(20);
      t.push('events', events, second.listening);
      const addr = second.address();
      t.push('address() after failure', addr === p, addr);
      // The first server still works.
      const c = net.connect(p);
      await once(c, 'connect');
      t.push('first server still accepts', c.readyState);
      c.destroy();
      // The same with listen({path}) and a callback: the error also reaches an 'error' listener.
      const third = net.createServer();
      const thirdEvents = record(third, ['listening', 'error', 'close']);
      third.listen({ path: p }, () => t.push('third listen callback'));
      await delay(20);
      t.push('listen({path}) events', thirdEvents);
      await first.close();
      t.push('file after the first closes', fileInfo(p));
    }),
  ));

test('listen on a regular file path: EADDRINUSE', () =>
  compare(
    withDir(async (net, t, dir) => {
      const file = path.join(dir, 'regular');
      fs.writeFileSync(file, 'data');
      const server = net.createServer();
      const events = record(server, ['listening', 'error', 'close']);
      server.listen(file);
      await delay(20);
      t.push('events', events, server.listening);
      t.push('file untouched', fs.readFileSync(file, 'utf8'));
    }),
  ));

test('listen on a path whose directory does not exist', () =>
  compare(
    withDir(async (net, t, dir) => {
      const server = net.createServer();
      const events = record(server, ['listening', 'error', 'close']);
      t.call('listen', () => server.listen(path.join(dir, 'missing', 's.sock')) === server);
      t.push('synchronously', events.slice());
      await delay(20);
      t.push('events', events, server.listening, server.address());
    }),
  ));

test('paths of 107, 108, 109 and 120 bytes (sun_path is 108 bytes): listen and connect', () =>
  compare(
    withDir(async (net, t, dir) => {
      for (const len of [107, 108, 109, 120]) {
        const p = path.join(dir, 'L'.repeat(len - dir.length - 1));
        assert.equal(Buffer.byteLength(p), len);
        const label = `${len} bytes`;
        const server = net.createServer();
        const events = record(server, ['listening', 'error', 'close']);
        let threw = false;
        try {
          t.push(label + ' listen returns server', server.listen(p) === server);
        } catch (e) {
          threw = true;
          t.push(label + ' listen threw', e);
        }
        await delay(20);
        t.push(label + ' listen events', events.slice(), server.listening);
        t.push(label + ' directory', fs.readdirSync(dir).map((n) => n.length));
        if (server.listening) {
          t.push(label + ' address', server.address() === p);
          await connectAndRecord(net, t, label + ' connect', p);
          await closeServer(server);
          t.push(label + ' directory after close', fs.readdirSync(dir).map((n) => n.length));
        } else if (!threw) {
          await connectAndRecord(net, t, label + ' connect (no server)', p);
        }
        for (const n of fs.readdirSync(dir)) fs.rmSync(path.join(dir, n), { force: true });
      }
    }),
  ));

test('connect({path: 123}) and other bad path types throw', () =>
  compare(async (net, t) => {
    t.call('connect({path: 123})', () => net.connect({ path: 123 }));
    t.call('createConnection({path: 123})', () => net.createConnection({ path: 123 }));
    t.call('new Socket().connect({path: 123})', () => new net.Socket().connect({ path: 123 }));
    t.call('connect({path: {}})', () => net.connect({ path: {} }));
    t.call('connect({path: true})', () => net.connect({ path: true }));
    await settle();
  }));

// ---------------------------------------------------------------------------------------------
// Linux abstract names
// ---------------------------------------------------------------------------------------------

test('abstract socket name: listen, address(), connect and echo, no file created', () =>
  compare(
    withDir(async (net, t, dir) => {
      const name = abstractName();
      const cwdBefore = fs.readdirSync(process.cwd()).sort();
      const srv = await listenUnix(net, name, {}, (s) => s.pipe(s));
      const addr = srv.server.address();
      t.push('address is the name', addr === name, typeof addr);
      t.push('listed in /proc/net/unix as abstract', abstractListed(name));
      t.push('no file in cwd', fs.existsSync(name.slice(1)), fs.readdirSync(process.cwd()).sort().join() === cwdBefore.join());
      const c = net.connect(name);
      const events = record(c, CLIENT_EVENTS);
      const got = collect(c);
      await once(c, 'connect');
      t.push('client addresses', addresses(c));
      t.push('server-side addresses', addresses(srv.conns[0]));
      c.end('abstract echo');
      await once(c, 'close');
      t.push('echo', got.text, events);
      // A second server on the same name: EADDRINUSE (the message contains the name: not recorded).
      const second = net.createServer();
      const [err] = await (second.listen(name), once(second, 'error'));
      t.push('second listen', err.code, err.errno, err.syscall, err.address === name, err.port);
      await srv.close();
      t.push('after close: not listed', abstractListed(name));
      t.push('address after close', srv.server.address() === name);
      // Connect to an abstract name nobody listens on.
      const nobody = abstractName();
      const c2 = net.connect({ path: nobody });
      const c2Events = [];
      for (const e of CLIENT_EVENTS) {
        c2.on(e, (...args) => {
          c2Events.push([e, ...args.map((a) => (a === nobody ? 'NAME' : describe(a)))]);
        });
      }
      await once(c2, 'close');
      t.push(
        'connect to unused abstract name',
        c2Events.map((entry) =>
          entry.map((x) => (x && typeof x === 'object' && 'message' in x ? { ...x, message: x.message.replace(nobody, 'NAME'), address: x.address === nobody ? 'NAME' : x.address } : x)),
        ),
      );
      t.push('dir untouched', fs.readdirSync(dir));
    }),
  ));

// ---------------------------------------------------------------------------------------------
// Process lifetime (child processes, module chosen by NET_MODULE)
// ---------------------------------------------------------------------------------------------

const OURS = process.env.RSNET_ORACLE_ONLY ? 'node:net' : path.resolve(__dirname, '..');
const READY = 'READY';

/**
 * Run `script` with `node -e`, NET_MODULE set and SOCK_DIR a fresh temp dir (removed after).
 * With `aliveMs`, the child is killed `aliveMs` after it printed READY. Returns the outcome and
 * the directory's content once the child is gone.
 */
function runChild(script, netModule, { aliveMs, limitMs = 8000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsnet-unix-'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, NET_MODULE: netModule, SOCK_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let aliveTimer = null;
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const safety = setTimeout(kill, limitMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes(READY) && aliveMs !== undefined && aliveTimer === null) {
        aliveTimer = setTimeout(kill, aliveMs);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(safety);
      if (aliveTimer) clearTimeout(aliveTimer);
      const files = fs.readdirSync(dir).sort();
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderrEmpty: stderr === '', killed, files, stderr });
    });
  });
}

async function compareChild(script, opts) {
  const [expected, actual] = await Promise.all([runChild(script, 'node:net', opts), runChild(script, OURS, opts)]);
  const strip = ({ stderr, ...rest }) => (void stderr, rest);
  assert.deepStrictEqual(strip(actual), strip(expected), `stderr of ours:\n${actual.stderr}`);
  return expected;
}

const PRELUDE = `
const net = require(process.env.NET_MODULE);
const path = require('node:path');
const fs = require('node:fs');
const p = path.join(process.env.SOCK_DIR, 's.sock');
const log = (...a) => process.stdout.write(a.join(' ') + '\\n');
process.on('exit', (c) => log('exit', c, fs.existsSync(p)));
`;

test('process: a listening Unix server, then unref(): the process exits by itself', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.listen(p, () => { log('listening', s.address() === p); s.unref(); });
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

test('process: unref() before listen(path): exits after listening', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.unref();
s.listen({ path: p }, () => log('listening'));
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

test('process: unref()ed server and connected client: exits after the exchange', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer((c) => { c.end('hi'); });
s.listen(p, () => {
  s.unref();
  const c = net.connect(p);
  c.on('data', (d) => log('got', d));
  c.on('close', () => log('client closed'));
});
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

test('process: an abstract-name server, unref()ed: exits', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
const name = '\\0rsnet-child-' + process.pid;
s.listen(name, () => { log('listening', s.address() === name); s.unref(); });
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

test('process: a listening Unix server that is not unref()ed keeps the process alive', async () => {
  const r = await compareChild(
    `${PRELUDE}
const s = net.createServer();
s.listen(p, () => log('listening ${READY}'));
`,
    { aliveMs: 300 },
  );
  assert.equal(r.killed, true);
});

test('process: process.exit() while a Unix server listens: the socket file is left behind', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.listen(p, () => { log('listening'); setTimeout(() => process.exit(3), 10); });
`);
  assert.deepEqual([r.code, r.killed], [3, false]);
});

test('process: uncaught exception while a Unix server listens', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.listen(p, () => { log('listening'); throw new Error('uncaught'); });
`);
  assert.deepEqual([r.code, r.killed, r.stderrEmpty], [1, false, false]);
});

test('connect(port, host) on a socket that holds a Unix socket: the handle connects to the path named by the host (ENOENT)', () =>
  compare(
    withDir(async (net, t, dir) => {
      const p = path.join(dir, 's.sock');
      const pr = await pair(net, p);
      const events = record(pr.c, CLIENT_EVENTS);
      t.call('connect(1234, 127.0.0.1)', () => pr.c.connect(1234, '127.0.0.1') === pr.c);
      t.push('connecting', pr.c.connecting);
      await once(pr.c, 'close');
      t.push('client', events);
      await pr.close();
    }),
  ));

// node:net's own process never exits here (libuv's pipe connect keeps one request per handle:
// the superseded one is never completed), so the script ends with process.exit().
test('connect() again while a Unix socket connect is in flight: one outcome, for the last request, a failure wins', async () => {
  const r = await compareChild(`${PRELUDE}
const EVENTS = ['connectionAttempt', 'connectionAttemptFailed', 'connect', 'ready', 'error', 'close'];
function show(x) { return x instanceof Error ? [x.code, x.syscall, path.basename(String(x.address))].join(' ') : path.basename(String(x)); }
function watch(s, name) {
  for (const ev of EVENTS) s.on(ev, (...a) => log(name, ev, ...a.map(show)));
  return new Promise((resolve) => s.on('close', resolve));
}
const s = net.createServer((c) => c.on('error', () => {}));
s.listen(p, async () => {
  for (const [name, second] of [['missing', ['abc']], ['same', [p]], ['both', ['abc', p]]]) {
    const c = new net.Socket();
    const closed = watch(c, name);
    c.connect(p, () => log(name, 'cb 1'));
    for (const [i, to] of second.entries()) c.connect(to, () => log(name, 'cb', i + 2));
    log(name, 'connecting', c.connecting);
    setTimeout(() => c.destroy(), 100);
    await closed;
  }
  // A connected socket, connected again twice in one tick.
  const c = net.connect(p);
  await new Promise((resolve) => c.once('connect', resolve));
  const closed = watch(c, 'connected');
  c.connect(p);
  c.connect('abc');
  await closed;
  process.exit(0);
});
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
  assert.match(r.stdout, /connected error ENOENT connect abc/);
});

// Node's Pipe handle has no connect6 and no bind6: the TypeError is thrown from the lookup's
// callback (uncaught). A local IPv4 address is bound on the connected Unix socket (EINVAL).
test('connect() with an IPv6 destination or a local address on a socket that holds a Unix socket: TypeError or bind EINVAL, as node', async () => {
  const r = await compareChild(`${PRELUDE}
const lookup = (family) => (host, opts, cb) => {
  const address = family === 6 ? '::1' : '127.0.0.1';
  setImmediate(() => (opts.all ? cb(null, [{ address, family }]) : cb(null, address, family)));
};
const s = net.createServer((c) => c.on('error', () => {}));
const cases = [
  ['connect6', { port: 1234, host: 'h', lookup: lookup(6) }],
  ['bind6', { port: 1234, host: 'h', localAddress: '::', lookup: lookup(6) }],
  ['bind', { port: 1234, host: 'h', localAddress: '127.0.0.1', lookup: lookup(4) }],
];
let current = '';
process.on('uncaughtException', (e) => log(current, 'uncaught', e.name, e.message));
s.listen(p, async () => {
  for (const [name, options] of cases) {
    current = name;
    const c = net.connect(p);
    await new Promise((resolve) => c.once('connect', resolve));
    c.on('error', (e) => log(name, 'error', e.code, e.syscall, e.address, e.port));
    c.connect(options);
    log(name, 'connecting', c.connecting);
    await new Promise((resolve) => setTimeout(resolve, 50));
    log(name, 'destroyed', c.destroyed);
    c.destroy();
  }
  s.close();
});
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
  assert.match(r.stdout, /bind6 uncaught TypeError self._handle.bind6 is not a function/);
  assert.match(r.stdout, /connect6 uncaught TypeError self._handle.connect6 is not a function/);
});
