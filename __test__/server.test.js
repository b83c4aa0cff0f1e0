'use strict';
// Server behaviour compared against node:net: construction and options, every TCP listen()
// form, listening/connection/close/error events, close(), address(), getConnections(),
// maxConnections + 'drop', EADDRINUSE, bad ports / options, ref()/unref().

const { test } = require('node:test');
const { compare, describeError, once, delay, settle } = require('./helpers/compare.js');

const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Local helpers

/** Keeps track of servers and sockets so every scenario leaves nothing open, even on failure. */
function tracker() {
  const servers = [];
  const sockets = [];
  return {
    server(s) {
      servers.push(s);
      s.on('connection', (c) => sockets.push(c));
      return s;
    },
    socket(c) {
      sockets.push(c);
      return c;
    },
    async cleanup() {
      for (const c of sockets) if (!c.destroyed) c.destroy();
      for (const s of servers) {
        if (s.listening) await new Promise((r) => s.close(() => r()));
      }
    },
  };
}

/** Wrap a scenario `(net, t, k) => ...` so the tracker `k` is cleaned up afterwards. */
function scenario(fn) {
  return async (net, t) => {
    const k = tracker();
    try {
      return await fn(net, t, k);
    } finally {
      await k.cleanup();
    }
  };
}

/** An error description with a (random) port number replaced by 'PORT'. */
function errDesc(e, ...ports) {
  const d = describeError(e);
  if (!d || typeof d !== 'object') return d;
  for (const port of ports) {
    if (port === undefined) continue;
    if (d.port === port) d.port = 'PORT';
    if (typeof d.message === 'string') d.message = d.message.split(String(port)).join('PORT');
  }
  return d;
}

/** Describe an address() result without the random port. */
function addrDesc(a, port) {
  if (a === null || typeof a !== 'object') return a;
  return {
    keys: Object.keys(a),
    address: a.address,
    family: a.family,
    portType: typeof a.port,
    portIsExpected: port === undefined ? a.port > 0 : a.port === port,
  };
}

async function listenOn(server, ...args) {
  const p = once(server, 'listening');
  server.listen(...args);
  await p;
  return server.address().port;
}

/** Connect and resolve with the socket once connected (rejects on error). */
function connectTo(net, k, port, host = LOOPBACK) {
  return new Promise((resolve, reject) => {
    const c = k.socket(net.connect(port, host));
    c.once('connect', () => {
      c.removeListener('error', reject);
      resolve(c);
    });
    c.once('error', reject);
  });
}

/** Attempt a connection and resolve with 'connected' or the normalized error. */
function tryConnect(net, k, port, host = LOOPBACK) {
  return new Promise((resolve) => {
    const c = k.socket(net.connect(port, host));
    c.once('connect', () => {
      c.destroy();
      resolve('connected');
    });
    c.once('error', (e) => resolve(errDesc(e, port)));
  });
}

function closeServer(server) {
  return new Promise((resolve) => server.close((err) => resolve(err)));
}

// ---------------------------------------------------------------------------------------------
// Construction and options

test('Server constructor forms and option properties', async () => {
  await compare(async (net, t) => {
    const EventEmitter = require('node:events');
    const listener = () => {};
    const forms = {
      'new Server()': () => new net.Server(),
      'Server() without new': () => net.Server(),
      'new Server(listener)': () => new net.Server(listener),
      'new Server(null)': () => new net.Server(null),
      'new Server({}, listener)': () => new net.Server({}, listener),
      'createServer()': () => net.createServer(),
      'createServer(listener)': () => net.createServer(listener),
      'createServer(options, listener)': () => net.createServer({ allowHalfOpen: true }, listener),
      'new Server({}, 5) (non-function listener ignored)': () => new net.Server({}, 5),
      'all options': () =>
        new net.Server({
          allowHalfOpen: true,
          pauseOnConnect: true,
          noDelay: true,
          keepAlive: true,
          keepAliveInitialDelay: 1000,
          highWaterMark: 1000,
        }),
      'truthy non-boolean options': () =>
        new net.Server({ allowHalfOpen: 1, pauseOnConnect: 'yes', noDelay: 'x', keepAlive: 1 }),
      'falsy options': () =>
        new net.Server({ allowHalfOpen: 0, pauseOnConnect: 0, noDelay: 0, keepAlive: '' }),
    };
    for (const [name, make] of Object.entries(forms)) {
      const s = make();
      t.push(name, {
        isServer: s instanceof net.Server,
        isEmitter: s instanceof EventEmitter,
        connectionListeners: s.listenerCount('connection'),
        listenerIsOurs: s.listeners('connection')[0] === listener,
        allowHalfOpen: s.allowHalfOpen,
        pauseOnConnect: s.pauseOnConnect,
        noDelay: s.noDelay,
        keepAlive: s.keepAlive,
        highWaterMark: s.highWaterMark,
        maxConnections: s.maxConnections,
        listening: s.listening,
        address: s.address(),
      });
    }
  });
});

test('Server constructor: invalid options throw', async () => {
  await compare(async (net, t) => {
    t.call('new Server(1)', () => new net.Server(1));
    t.call("new Server('x')", () => new net.Server('x'));
    t.call('new Server(true)', () => new net.Server(true));
    t.call("createServer('x')", () => net.createServer('x'));
    t.call("new Server({highWaterMark: 'x'})", () => new net.Server({ highWaterMark: 'x' }));
    t.call("new Server({keepAliveInitialDelay: 'x'})", () =>
      new net.Server({ keepAliveInitialDelay: 'x' }),
    );
  });
});

/**
 * Accept one connection on a server created with `opts`; the client sends 'hello' and ends.
 * Records what the accepted socket looks like and how it behaves.
 */
async function acceptOne(net, t, k, opts, { resumeLater = false } = {}) {
  const server = k.server(net.createServer(opts));
  const port = await listenOn(server, 0, LOOPBACK);
  const accepted = once(server, 'connection');
  const client = await connectTo(net, k, port);
  let clientData = '';
  client.on('data', (d) => (clientData += d));
  const clientClosed = once(client, 'close');
  client.end('hello');
  const [sc] = await accepted;
  t.push('accepted', {
    isSocket: sc instanceof net.Socket,
    allowHalfOpen: sc.allowHalfOpen,
    isPaused: sc.isPaused(),
    readableFlowing: sc.readableFlowing,
    readableHighWaterMark: sc.readableHighWaterMark,
    writableHighWaterMark: sc.writableHighWaterMark,
    readyState: sc.readyState,
    pending: sc.pending,
    connecting: sc.connecting,
    remoteAddress: sc.remoteAddress,
    remoteFamily: sc.remoteFamily,
    remotePortIsClients: sc.remotePort === client.localPort,
    localAddress: sc.localAddress,
    localPortIsServers: sc.localPort === port,
    serverProp: sc.server === server,
  });
  let data = '';
  sc.on('data', (d) => (data += d));
  if (resumeLater) {
    await delay(30);
    t.push('data before resume', data);
    sc.resume();
  }
  await once(sc, 'end');
  t.push('server side end', { data, writable: sc.writable, readyState: sc.readyState });
  await delay(20);
  t.push('20ms after end', { writable: sc.writable, destroyed: sc.destroyed, readyState: sc.readyState });
  if (!sc.destroyed) sc.end('bye');
  await clientClosed;
  if (!sc.destroyed) await once(sc, 'close');
  t.push('client received', clientData);
  await closeServer(server);
}

test('Server option: default (allowHalfOpen false) accepted socket', async () => {
  await compare(scenario((net, t, k) => acceptOne(net, t, k, undefined)));
});

test('Server option: allowHalfOpen keeps accepted socket writable after end', async () => {
  await compare(scenario((net, t, k) => acceptOne(net, t, k, { allowHalfOpen: true })));
});

test('Server option: pauseOnConnect delivers no data until resume()', async () => {
  await compare(
    scenario((net, t, k) => acceptOne(net, t, k, { pauseOnConnect: true }, { resumeLater: true })),
  );
});

// libuv polls a handle that starts reading in the loop's next poll phase: data already in the
// kernel comes before this iteration's immediates after a resume() in a timer, an immediate or
// a 'close' listener, and after them after a resume() in an I/O listener (another socket's
// 'connect'). rsnet's runtime thread reads on its own time; the order must still be Node's.
for (const where of ['timer', 'immediate', 'close', 'io']) {
  const place = { timer: 'a timer', immediate: 'an immediate', close: "a 'close' listener", io: "another socket's 'connect'" }[where];
  test(`pauseOnConnect, then resume() in ${place}: the first data comes in the next poll, as node`, async () => {
    await compare(
      scenario(async (net, t, k) => {
        const other = k.server(net.createServer((s) => s.on('data', () => {})));
        const otherPort = await listenOn(other, 0, LOOPBACK);
        const server = k.server(net.createServer({ pauseOnConnect: true }));
        const port = await listenOn(server, 0, LOOPBACK);
        const accepted = once(server, 'connection');
        const c = await connectTo(net, k, port);
        const [s] = await accepted;
        c.write('hi');
        // The bytes reach the server's kernel buffer at once (loopback).
        await delay(30);
        const log = [];
        const gotData = new Promise((resolve) =>
          s.once('data', (d) => {
            log.push(`data ${d}`);
            resolve();
          }),
        );
        const go = () => {
          s.resume();
          setImmediate(() => log.push('immediate'));
          process.nextTick(() => log.push('tick'));
        };
        if (where === 'timer') setTimeout(go, 1);
        else if (where === 'immediate') setImmediate(go);
        else {
          const c2 = k.socket(net.connect(otherPort, LOOPBACK));
          if (where === 'io') c2.on('connect', go);
          else {
            c2.on('connect', () => c2.destroy());
            c2.on('close', go);
          }
        }
        await gotData;
        await new Promise((resolve) => setImmediate(resolve));
        t.push('order', log);
      }),
    );
  });
}

test('Server option: highWaterMark is applied to accepted sockets', async () => {
  await compare(scenario((net, t, k) => acceptOne(net, t, k, { highWaterMark: 1024 })));
});

test('Server options: noDelay and keepAlive accepted sockets work', async () => {
  await compare(
    scenario((net, t, k) =>
      acceptOne(net, t, k, { noDelay: true, keepAlive: true, keepAliveInitialDelay: 2000 }),
    ),
  );
});

test('connection listener passed to createServer receives the socket', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const got = [];
      const server = k.server(
        net.createServer(function (sock) {
          got.push({ thisIsServer: this === server, isSocket: sock instanceof net.Socket, args: arguments.length });
          sock.end('hi');
        }),
      );
      const port = await listenOn(server, 0, LOOPBACK);
      const c = await connectTo(net, k, port);
      let data = '';
      c.on('data', (d) => (data += d));
      await once(c, 'end');
      c.end();
      await once(c, 'close');
      t.push(got, data);
      await closeServer(server);
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// listen() forms

/**
 * Call listen with `args` (a function in args is replaced by a recording callback), record
 * the synchronous state, the listening event / callback order, the address, and that a client
 * can connect via 127.0.0.1 (unless `probe` is false).
 */
async function listenForm(net, t, k, args, { probe = true } = {}) {
  const server = k.server(net.createServer());
  const order = [];
  server.on('listening', (...a) => order.push(['listening event', a.length]));
  server.on('error', (e) => order.push(['error', describeError(e)]));
  const finalArgs = args.map((a) =>
    a === 'CB'
      ? function (...cbArgs) {
          order.push(['callback', cbArgs.length, this === server]);
        }
      : a,
  );
  const listening = once(server, 'listening');
  const ret = server.listen(...finalArgs);
  t.push('returns server', ret === server);
  t.push('sync', { listening: server.listening, address: addrDesc(server.address()) });
  await listening;
  await settle(5);
  const port = server.address().port;
  t.push('order', order);
  t.push('after listening', { listening: server.listening, address: addrDesc(server.address(), port) });
  if (probe) {
    const conn = once(server, 'connection');
    t.push('connect via 127.0.0.1', await tryConnect(net, k, port, LOOPBACK));
    const [sc] = await conn;
    t.push('server side', { localAddress: sc.localAddress, remoteAddress: sc.remoteAddress, family: sc.remoteFamily });
    sc.destroy();
  }
  t.push('close', await closeServer(server));
  t.push('after close', { listening: server.listening, address: server.address() });
  return port > 0;
}

const LISTEN_FORMS = [
  ['listen(0)', [0]],
  ['listen(0, cb)', [0, 'CB']],
  ['listen(0, host)', [0, LOOPBACK]],
  ['listen(0, host, cb)', [0, LOOPBACK, 'CB']],
  ['listen(0, host, backlog)', [0, LOOPBACK, 511]],
  ['listen(0, host, backlog, cb)', [0, LOOPBACK, 10, 'CB']],
  ['listen(0, host, -1 backlog)', [0, LOOPBACK, -1]],
  ['listen(0, host, 1.5 backlog, cb)', [0, LOOPBACK, 1.5, 'CB']],
  ['listen(0, backlog)', [0, 511]],
  ['listen(0, backlog, cb)', [0, 5, 'CB']],
  ["listen('0') numeric string", ['0']],
  ["listen('0', host, cb) numeric string", ['0', LOOPBACK, 'CB']],
  ['listen(-0)', [-0]],
  ['listen()', []],
  ['listen(cb)', ['CB']],
  ['listen(undefined)', [undefined]],
  ['listen(null)', [null]],
  ['listen(0, null, cb)', [0, null, 'CB']],
  ['listen(0, 123 non-string host ignored)', [0, 123]],
  ["listen(0, 'localhost', cb)", [0, 'localhost', 'CB']],
  ['listen({port: 0})', [{ port: 0 }]],
  ['listen({port: 0}, cb)', [{ port: 0 }, 'CB']],
  ['listen({port: 0, host})', [{ port: 0, host: LOOPBACK }]],
  ['listen({port: 0, host}, cb)', [{ port: 0, host: LOOPBACK }, 'CB']],
  ["listen({port: '0', host, backlog}, cb)", [{ port: '0', host: LOOPBACK, backlog: 10 }, 'CB']],
  ['listen({port: 0, host, exclusive: true}, cb)', [{ port: 0, host: LOOPBACK, exclusive: true }, 'CB']],
  ['listen({port: 0, host, exclusive: false})', [{ port: 0, host: LOOPBACK, exclusive: false }]],
  ['listen({port: 0, host, backlog: -1})', [{ port: 0, host: LOOPBACK, backlog: -1 }]],
  ["listen({port: 0, backlog: 'x'})", [{ port: 0, backlog: 'x' }]],
  ['listen({port: undefined})', [{ port: undefined }]],
  ['listen({port: null})', [{ port: null }]],
  ["listen({port: 0, host: ''})", [{ port: 0, host: '' }]],
  ['listen({port: 0, host: null})', [{ port: 0, host: null }]],
  ['listen({port: 0, host, ipv6Only: false})', [{ port: 0, host: LOOPBACK, ipv6Only: false }]],
  ["listen({port: 0, host: '::'}, cb)", [{ port: 0, host: '::' }, 'CB']],
  ["listen(0, '::')", [0, '::']],
];

for (const [name, args] of LISTEN_FORMS) {
  test(`listen form: ${name}`, async () => {
    await compare(scenario((net, t, k) => listenForm(net, t, k, args)));
  });
}

test('listen({host: "::", ipv6Only: true}) refuses IPv4 but accepts IPv6', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      const conns = [];
      server.on('connection', (c) => {
        conns.push(c.remoteFamily);
        c.destroy();
      });
      const port = await listenOn(server, { port: 0, host: '::', ipv6Only: true });
      t.push(addrDesc(server.address(), port));
      t.push('ipv4', await tryConnect(net, k, port, LOOPBACK));
      t.push('ipv6', await tryConnect(net, k, port, '::1'));
      await settle(10);
      t.push('connections', conns);
      await closeServer(server);
    }),
  );
});

test('listen() with no host binds the dual-stack default and accepts IPv4 and IPv6', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      const conns = [];
      server.on('connection', (c) => {
        conns.push([c.remoteFamily, c.localAddress, c.remoteAddress]);
        c.destroy();
      });
      const port = await listenOn(server);
      t.push(addrDesc(server.address(), port));
      t.push('ipv4', await tryConnect(net, k, port, LOOPBACK));
      t.push('ipv6', await tryConnect(net, k, port, '::1'));
      await settle(10);
      t.push('connections', conns);
      await closeServer(server);
    }),
  );
});

test('listen(0) without a host binds synchronously; with a host it does not', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const a = k.server(net.createServer());
      a.listen(0);
      const addrA = a.address();
      t.push('no host: sync', { listening: a.listening, address: addrDesc(addrA) });
      await once(a, 'listening');
      t.push('no host: same port after listening', a.address().port === addrA.port);

      const b = k.server(net.createServer());
      b.listen(0, LOOPBACK);
      t.push('ip host: sync', { listening: b.listening, address: b.address() });
      await once(b, 'listening');
      t.push('ip host: after', addrDesc(b.address()));

      const c = k.server(net.createServer());
      c.listen({ port: 0 });
      t.push('options, no host: sync', { listening: c.listening, address: addrDesc(c.address()) });
      await once(c, 'listening');

      await closeServer(a);
      await closeServer(b);
      await closeServer(c);
    }),
  );
});

test('listen with an AbortSignal: abort closes the server', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.events(server, ['listening', 'close', 'error'], 'server:');
      const ac = new AbortController();
      await listenOn(server, { port: 0, host: LOOPBACK, signal: ac.signal });
      t.push('listening', server.listening);
      ac.abort();
      t.push('after abort (sync)', server.listening, server.address());
      await settle(5);
      t.push('after abort', server.listening);

      const s2 = k.server(net.createServer());
      t.events(s2, ['listening', 'close', 'error'], 's2:');
      t.call('listen with an already aborted signal', () =>
        s2.listen({ port: 0, host: LOOPBACK, signal: AbortSignal.abort() }) === s2,
      );
      await settle(10);
      t.push('s2 listening', s2.listening);
      t.call('listen with bad signal', () => net.createServer().listen({ port: 0, signal: 1 }));
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// Events and close()

test('event order: listening, connection, close waits for connections to end', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.events(server, ['listening', 'connection', 'close', 'error'], 'server:');
      server.on('connection', (c) => {
        t.events(c, ['end', 'finish', 'close'], 'accepted:');
      });
      const port = await listenOn(server, 0, LOOPBACK);
      const client = await connectTo(net, k, port);
      await settle(10);
      const ret = server.close((err) => t.push('close callback', err));
      t.push('close() returns server', ret === server);
      t.push('after close()', { listening: server.listening, address: server.address() });
      t.push('new connection after close()', await tryConnect(net, k, port));
      await new Promise((r) =>
        server.getConnections((err, n) => {
          t.push('getConnections', err, n);
          r();
        }),
      );
      await delay(20);
      t.push('no close yet');
      client.end();
      await once(server, 'close');
      await settle(10);
    }),
  );
});

test('close() on a server that never listened: ERR_SERVER_NOT_RUNNING and a close event', async () => {
  await compare(async (net, t) => {
    const server = net.createServer();
    t.events(server, ['close', 'error'], 'server:');
    const ret = server.close((err) => t.push('callback', err));
    t.push('returns server', ret === server);
    t.push('callback is async');
    await settle(5);
    t.push('close() without callback');
    server.close();
    await settle(5);
  });
});

test('second close(): callback gets ERR_SERVER_NOT_RUNNING', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.events(server, ['close', 'error'], 'server:');
      await listenOn(server, 0, LOOPBACK);
      server.close((err) => t.push('first callback', err));
      server.close((err) => t.push('second callback (same tick)', err));
      await once(server, 'close');
      await settle(5);
      server.close((err) => t.push('third callback (after close)', err));
      await settle(5);
    }),
  );
});

test('close() while a listen with a host is still pending cancels the listen', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.events(server, ['listening', 'close', 'error'], 'server:');
      server.listen(0, LOOPBACK, () => t.push('listen callback'));
      server.close((err) => t.push('close callback', err));
      await settle(30);
      t.push('state', server.listening, server.address());
    }),
  );
});

test('server can listen again after close', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.events(server, ['listening', 'close', 'error'], 'server:');
      await listenOn(server, 0, LOOPBACK);
      await closeServer(server);
      const port = await listenOn(server, 0, LOOPBACK);
      t.push(addrDesc(server.address(), port));
      t.push(await tryConnect(net, k, port));
      await closeServer(server);
    }),
  );
});

test('address() is null before listen and after close; listening property follows', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.push('before', server.address(), server.listening);
      const port = await listenOn(server, 0, LOOPBACK);
      t.push('listening', addrDesc(server.address(), port), server.listening);
      server.close();
      t.push('right after close()', server.address(), server.listening);
      await once(server, 'close');
      t.push('after close event', server.address(), server.listening);
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// getConnections / maxConnections

test('getConnections counts open connections', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      const gc = () =>
        new Promise((resolve) => {
          let sync = true;
          const ret = server.getConnections((err, n) => resolve({ err, n, sync }));
          sync = false;
          t.push('getConnections returns server', ret === server);
        });
      t.push('before listen', await gc());
      const port = await listenOn(server, 0, LOOPBACK);
      t.push('listening, none', await gc());
      const accepted = [];
      server.on('connection', (c) => accepted.push(c));
      const c1 = await connectTo(net, k, port);
      const c2 = await connectTo(net, k, port);
      while (accepted.length < 2) await delay(5);
      t.push('two', await gc());
      const closed = once(accepted[0], 'close');
      c1.destroy();
      await closed;
      t.push('one', await gc());
      const closed2 = once(accepted[1], 'close');
      c2.destroy();
      await closed2;
      t.push('zero', await gc());
      await closeServer(server);
      t.push('after close', await gc());
    }),
  );
});

test("maxConnections: extra connections are dropped with a 'drop' event", async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.push('default maxConnections', server.maxConnections);
      server.maxConnections = 1;
      t.push('set maxConnections', server.maxConnections);
      const serverEvents = [];
      server.on('connection', () => serverEvents.push('connection'));
      const drops = [];
      server.on('drop', (d) => drops.push(d));
      const port = await listenOn(server, 0, LOOPBACK);

      const c1 = await connectTo(net, k, port);
      while (serverEvents.length < 1) await delay(5);

      const c2 = k.socket(net.connect(port, LOOPBACK));
      const c2events = [];
      for (const ev of ['connect', 'end', 'close', 'error']) {
        c2.on(ev, (...a) => c2events.push([ev, ...a.map((x) => errDesc(x, port))]));
      }
      await once(c2, 'close');
      while (drops.length < 1) await delay(5);
      await settle(5);

      const d = drops[0];
      t.push('drop data', {
        protoIsNull: Object.getPrototypeOf(d) === null,
        keys: Object.keys(d),
        localAddress: d.localAddress,
        localPortIsServer: d.localPort === port,
        localFamily: d.localFamily,
        remoteAddress: d.remoteAddress,
        remotePortIsClient: d.remotePort === c2.localPort || typeof d.remotePort,
        remoteFamily: d.remoteFamily,
      });
      t.push('drops', drops.length, 'server events', serverEvents);
      t.push('dropped client events', c2events);
      await new Promise((r) => server.getConnections((e, n) => (t.push('connections', e, n), r())));
      t.push('first client still open', c1.readyState, c1.destroyed);
      c1.destroy();
      await closeServer(server);
    }),
  );
});

test('maxConnections = 0 is falsy: no limit in node 20 (connection accepted, no drop)', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      server.maxConnections = 0;
      const ev = [];
      server.on('connection', (c) => {
        ev.push('connection');
        c.end('hi');
      });
      server.on('drop', () => ev.push('drop'));
      const port = await listenOn(server, 0, LOOPBACK);
      const c = k.socket(net.connect(port, LOOPBACK));
      let data = '';
      c.on('data', (d) => (data += d));
      for (const name of ['connect', 'end', 'close', 'error']) c.on(name, () => ev.push('client ' + name));
      await once(c, 'close');
      await settle(5);
      t.push(ev.filter((e) => !e.startsWith('client')), ev.filter((e) => e.startsWith('client')), data);
      await closeServer(server);
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// Errors

test('listen twice: ERR_SERVER_ALREADY_LISTEN thrown', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.events(server, ['listening', 'error', 'close'], 'server:');
      await listenOn(server, 0, LOOPBACK);
      t.call('listen(0, host) again', () => server.listen(0, LOOPBACK));
      t.call('listen() again', () => server.listen());
      t.call('listen({port:0}) again', () => server.listen({ port: 0 }));
      t.push('still listening', server.listening);

      const s2 = k.server(net.createServer());
      s2.listen(0); // binds synchronously
      t.call('listen(0) again synchronously', () => s2.listen(0));
      await once(s2, 'listening');
      await settle(5);
      await closeServer(server);
      await closeServer(s2);
    }),
  );
});

async function addrInUse(net, t, k, firstArgs, secondArgs) {
  const a = k.server(net.createServer());
  const port = await listenOn(a, ...firstArgs);
  const b = k.server(net.createServer());
  const ev = [];
  b.on('listening', () => ev.push('listening'));
  b.on('close', () => ev.push('close'));
  const errored = once(b, 'error');
  b.on('error', (e) => ev.push(['error', errDesc(e, port)]));
  const ret = b.listen(...secondArgs(port), () => ev.push('listen callback'));
  t.push('listen returned server', ret === b, 'sync listening', b.listening);
  const [err] = await errored;
  t.push('error keys', Object.keys(err).sort());
  t.push('errno is number', typeof err.errno);
  await settle(10);
  t.push('events', ev);
  t.push('after error', b.listening, b.address());
  t.push('close after error', errDesc(await closeServer(b), port));
  // The same server object can listen again elsewhere.
  const p2 = await listenOn(b, 0, LOOPBACK);
  t.push('relisten', addrDesc(b.address(), p2), p2 !== port);
  await closeServer(b);
  await closeServer(a);
}

test('EADDRINUSE on 127.0.0.1: error event with fields', async () => {
  await compare(scenario((net, t, k) => addrInUse(net, t, k, [0, LOOPBACK], (p) => [p, LOOPBACK])));
});

test('EADDRINUSE with a numeric string port in listen(options)', async () => {
  await compare(
    scenario((net, t, k) =>
      addrInUse(net, t, k, [{ port: 0, host: LOOPBACK }], (p) => [{ port: String(p), host: LOOPBACK }]),
    ),
  );
});

test('EADDRINUSE on the default host', async () => {
  await compare(scenario((net, t, k) => addrInUse(net, t, k, [0], (p) => [p])));
});

test('bad ports throw synchronously', async () => {
  await compare(async (net, t) => {
    const cases = {
      'listen(-1)': [-1],
      'listen(65536)': [65536],
      'listen(NaN)': [NaN],
      'listen(1.5)': [1.5],
      'listen(Infinity)': [Infinity],
      'listen(1e10)': [1e10],
      'listen(true)': [true],
      'listen(false)': [false],
      "listen('')": [''],
      'listen(0n)': [0n],
      'listen(Symbol())': [Symbol('p')],
      'listen(-1, host)': [-1, LOOPBACK],
      'listen(65536, host, cb)': [65536, LOOPBACK, () => {}],
      'listen({port: -1})': [{ port: -1 }],
      'listen({port: 65536})': [{ port: 65536 }],
      "listen({port: 'abc'})": [{ port: 'abc' }],
      "listen({port: '-1'})": [{ port: '-1' }],
      "listen({port: '65536'})": [{ port: '65536' }],
      "listen({port: ''})": [{ port: '' }],
      'listen({port: NaN})': [{ port: NaN }],
      'listen({port: 1.5})': [{ port: 1.5 }],
      'listen({port: true})': [{ port: true }],
      'listen({port: {}})': [{ port: {} }],
      'listen({port: [0]})': [{ port: [0] }],
    };
    for (const [name, args] of Object.entries(cases)) {
      const server = net.createServer();
      const ev = [];
      server.on('listening', () => ev.push('listening'));
      server.on('error', (e) => ev.push(['error', describeError(e)]));
      t.call(name, () => server.listen(...args));
      t.push(name + ' state', server.listening, server.address());
      await settle(1);
      t.push(name + ' events', ev, server.listening);
      if (server.listening) server.close();
    }
  });
});

test('bad listen options throw synchronously', async () => {
  await compare(async (net, t) => {
    const cases = {
      'listen({})': [{}],
      'listen({}, cb)': [{}, () => {}],
      'listen([])': [[]],
      "listen({host: '127.0.0.1'})": [{ host: LOOPBACK }],
      'listen({backlog: 5})': [{ backlog: 5 }],
      'listen({port: 0, host: 123})': [{ port: 0, host: 123 }],
      'listen({port: 0, host: {}})': [{ port: 0, host: {} }],
      'listen({port: 0, host: true})': [{ port: 0, host: true }],
      'listen({port: 0, host: [] })': [{ port: 0, host: [] }],
      'listen({port: 0n})': [{ port: 0n }],
    };
    for (const [name, args] of Object.entries(cases)) {
      const server = net.createServer();
      const ev = [];
      server.on('listening', () => ev.push('listening'));
      server.on('error', (e) => ev.push(['error', describeError(e)]));
      t.call(name, () => server.listen(...args));
      await settle(1);
      t.push(name + ' events', ev, server.listening);
      if (server.listening) server.close();
    }
  });
});

test('after a listen() that threw, the server can still listen', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.events(server, ['listening', 'error', 'close'], 'server:');
      t.call('listen(-1)', () => server.listen(-1));
      t.call('listen({})', () => server.listen({}));
      const port = await listenOn(server, 0, LOOPBACK);
      t.push(addrDesc(server.address(), port));
      await closeServer(server);
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// ref / unref

test('server ref()/unref() return the server in every state', async () => {
  await compare(
    scenario(async (net, t, k) => {
      const server = k.server(net.createServer());
      t.push('before listen', server.unref() === server, server.ref() === server);
      server.unref();
      const port = await listenOn(server, 0, LOOPBACK);
      t.push('listening (unref before listen)', server.ref() === server, server.unref() === server);
      // An unref'd server still accepts connections.
      t.push('connect while unref', await tryConnect(net, k, port));
      t.push('ref again', server.ref() === server);
      await closeServer(server);
      t.push('after close', server.unref() === server, server.ref() === server);
    }),
  );
});

test("listen() with a backlog that cannot become a number: the same uncaught TypeError, and close() still emits 'close', as node", async () => {
  const { OURS, PRELUDE, runChild, outcome } = require('./helpers/child');
  const assert = require('node:assert/strict');
  for (const backlog of ['Object.create(null)', '18446744073709551616n', "Symbol('b')"]) {
    const script = `${PRELUDE}
const s = net.createServer();
for (const ev of ['listening', 'close', 'error']) s.on(ev, (e) => log('event', ev, e ? e.code : ''));
process.on('uncaughtException', (err) => {
  // The server holds its bound handle: it reports itself listening, with an address.
  const a = s.address();
  log('uncaught', err.name, err.message, s.listening, a && a.family, a && typeof a.port);
  s.close((err) => log('close cb', err ? err.code : null));
});
s.listen({ port: 0, host: '127.0.0.1', backlog: ${backlog} });
`;
    const [expected, actual] = await Promise.all([runChild(script, 'node:net'), runChild(script, OURS)]);
    assert.deepEqual(outcome(actual), outcome(expected), backlog);
    assert.match(expected.stdout, /event close/);
  }
});

test('listen() with a backlog whose conversion throws: a failed bind is reported first (no conversion), an address in use only at listen, as node', async () => {
  const { OURS, PRELUDE, runChild, outcome } = require('./helpers/child');
  const assert = require('node:assert/strict');
  const script = `${PRELUDE}
const bad = { valueOf() { throw new Error('backlog valueOf'); } };
const step = (name, listen) => new Promise((resolve) => {
  const s = net.createServer();
  s.on('error', (e) => { log(name, 'error', e.code, e.syscall, e.port === -1 ? -1 : typeof e.port); resolve(); });
  s.on('listening', () => { log(name, 'listening'); s.close(resolve); });
  try {
    listen(s);
    log(name, 'returned', s.listening);
  } catch (e) {
    log(name, 'threw', e.message, s.listening);
    s.close(() => { log(name, 'closed'); resolve(); });
  }
});
(async () => {
  const dir = require('node:os').tmpdir() + '/rsnet-no-such-dir-' + process.pid;
  await step('missing dir', (s) => s.listen({ path: dir + '/sock', backlog: bad }));
  const other = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => other.once('listening', r));
  const { port } = other.address();
  // (An address in use: libuv's bind defers the error to listen, after the conversion.)
  await step('in use', (s) => s.listen(port, bad));
  await step('in use, backlog in options', (s) => s.listen({ port, backlog: bad }));
  await step('port 0', (s) => s.listen({ port: 0, backlog: bad }));
  await step('in use, good backlog', (s) => s.listen({ port, host: '127.0.0.1', backlog: 5 }));
  other.close();
})();
`;
  const [expected, actual] = await Promise.all([runChild(script, 'node:net'), runChild(script, OURS)]);
  assert.deepEqual(outcome(actual), outcome(expected));
  assert.match(expected.stdout, /missing dir error EACCES listen -1/);
  assert.match(expected.stdout, /in use, backlog in options threw backlog valueOf true/);
});
