'use strict';
// Comparison tests for every TCP connect form of net.Socket: net.connect / createConnection /
// new Socket().connect, their options, the events of a connection attempt and the socket's
// properties before, during and after connecting. node:net is the oracle (see helpers/compare.js).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { compare, Trace, once, settle, rewriteTrace } = require('./helpers/compare.js');
const { withPorts, listenOn: listen, connectAll, freePort } = require('./helpers/ports.js');

// Events of a connection attempt, in the order node emits them. 'connectionAttempt*' are the
// (node >= 20.12) events of the autoSelectFamily machinery, emitted for every attempt.
const CONNECT_EVENTS = [
  'lookup',
  'connectionAttempt',
  'connectionAttemptFailed',
  'connectionAttemptTimeout',
  'connect',
  'ready',
  'timeout',
  'end',
  'error',
  'close',
];

/** A port that nothing listens on: listen on port 0, note the port, close the server. */
async function refusedPort(net, ports) {
  const { port, close } = await listen(net, ports);
  await close();
  return port;
}

/** An error message's local end (" - Local (address:port)") with its ephemeral port hidden. */
function hideLocalPort(t) {
  rewriteTrace(t, (v) => (typeof v === 'string' ? v.replace(/( - Local \(.*):\d+\)$/, '$1:EPHEMERAL)') : v));
}

/** What a user sees of a socket's state; ephemeral local ports are reduced to their type. */
function props(s) {
  const addr = s.address();
  return {
    connecting: s.connecting,
    pending: s.pending,
    readyState: s.readyState,
    destroyed: s.destroyed,
    readable: s.readable,
    writable: s.writable,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    remoteFamily: s.remoteFamily,
    localAddress: s.localAddress,
    localPort: typeof s.localPort,
    localFamily: s.localFamily,
    address: addr && typeof addr === 'object' && 'port' in addr ? { ...addr, port: typeof addr.port } : addr,
  };
}

/** Server-side view of an accepted socket (the client's port is ephemeral). */
function peerProps(c) {
  return {
    remoteAddress: c.remoteAddress,
    remotePort: typeof c.remotePort,
    remoteFamily: c.remoteFamily,
    localAddress: c.localAddress,
    localPort: c.localPort,
    localFamily: c.localFamily,
  };
}

/** Destroy a (not yet destroyed) socket and wait for its 'close' event. */
async function destroyed(s) {
  const closed = once(s, 'close');
  s.destroy();
  await closed;
}

// ---------------------------------------------------------------------------------------------
// Connect forms
// ---------------------------------------------------------------------------------------------

test('net.connect(port): default host localhost, lookup/connect/ready order and properties', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = net.connect(srv.port, () => t.push('connect callback', props(s)));
      t.push('instanceof Socket', s instanceof net.Socket);
      t.events(s, CONNECT_EVENTS, 'client:');
      s.on('lookup', () => t.push('during lookup event', props(s)));
      s.on('connectionAttempt', () => t.push('during connectionAttempt event', props(s)));
      t.push('sync after connect()', props(s));
      await once(s, 'ready');
      t.push('after ready', props(s));
      await settle();
      t.push('server side', srv.conns.length, peerProps(srv.conns[0]));
      s.end();
      t.push('after end()', props(s));
      await once(s, 'close');
      t.push('after close', props(s));
      await srv.close();
    }),
  ));

// A loopback connect completes in the loop's next poll phase: started in a timer (or in a
// 'close' listener), its 'connect', and the server's 'connection' before it, come before the
// immediates queued beside it. rsnet settles a connect to a server of this process on its
// runtime thread, which must keep that order.
const CONNECT_PLACES = {
  timer: 'a timer',
  close: "a 'close' listener",
  reconnect: 'a timer, on a socket closed before',
};
for (const where of Object.keys(CONNECT_PLACES)) {
  test(`a connect started in ${CONNECT_PLACES[where]} to a server in this process: 'connection' and 'connect' come before the immediates`, () =>
    compare(
      withPorts(async (net, t, ports) => {
        const log = [];
        const srv = await listen(net, ports, '127.0.0.1', {}, () => log.push('connection'));
        const start = (again) => {
          const options = { port: srv.port, host: '127.0.0.1', autoSelectFamily: false };
          const s = again ? again.connect(options) : net.connect(options);
          s.on('connect', () => log.push('connect'));
          setImmediate(() => log.push('immediate'));
          return s;
        };
        let s;
        if (where === 'reconnect') {
          const first = net.connect(srv.port, '127.0.0.1');
          await once(first, 'connect');
          first.destroy();
          await once(first, 'close');
          await new Promise((resolve) => setTimeout(() => resolve((s = start(first))), 5));
        } else if (where === 'timer') {
          await new Promise((resolve) => setTimeout(() => resolve((s = start())), 5));
        } else {
          const first = net.connect(srv.port, '127.0.0.1');
          await once(first, 'connect');
          first.destroy();
          await new Promise((resolve) => first.on('close', () => resolve((s = start()))));
        }
        await once(s, 'connect');
        await new Promise((resolve) => setImmediate(resolve));
        t.push('order', log.slice(-3));
        s.destroy();
        await srv.close();
      }),
    ));
}

test('net.connect(port, host, cb): cb runs as a connect listener, with this === socket', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = net.connect(srv.port, '127.0.0.1', function (...args) {
        t.push('callback', this === s, args.length);
      });
      s.on('connect', function (...args) {
        t.push('connect listener', this === s, args.length);
      });
      t.events(s, CONNECT_EVENTS, 'client:');
      t.push('sync', props(s));
      await once(s, 'ready');
      t.push('ready', props(s));
      await destroyed(s);
      t.push('closed', props(s));
      await srv.close();
    }),
  ));

test('net.createConnection(port, host) and createConnection(options, cb)', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const a = net.createConnection(srv.port, '127.0.0.1');
      t.events(a, CONNECT_EVENTS, 'a:');
      await once(a, 'ready');
      t.push('a', props(a));
      await destroyed(a);

      const b = net.createConnection({ port: srv.port, host: '127.0.0.1' }, () => t.push('b callback'));
      t.events(b, CONNECT_EVENTS, 'b:');
      t.push('b sync', props(b));
      await once(b, 'ready');
      t.push('b', props(b));
      await destroyed(b);

      const c = net.createConnection({ port: String(srv.port), host: '127.0.0.1' });
      t.events(c, CONNECT_EVENTS, 'c (string port):');
      await once(c, 'ready');
      t.push('c', props(c));
      await destroyed(c);
      await srv.close();
    }),
  ));

test('new Socket(): properties of an unconnected socket, then destroy', () =>
  compare(async (net, t) => {
    const s = new net.Socket();
    t.events(s, CONNECT_EVENTS, 's:');
    t.push('new', props(s), {
      bytesRead: s.bytesRead,
      bytesWritten: s.bytesWritten,
      bufferSize: s.bufferSize,
      timeout: s.timeout,
      allowHalfOpen: s.allowHalfOpen,
      writableLength: s.writableLength,
    });
    t.call('destroy', () => s.destroy());
    t.push('destroyed', props(s));
    await settle();
    t.push('later', props(s));
  }));

test('new Socket().connect(port, host, cb) / connect(options, cb) / connect(port, cb) return this', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const forms = {
        'connect(port, host, cb)': (s, cb) => s.connect(srv.port, '127.0.0.1', cb),
        'connect(options, cb)': (s, cb) => s.connect({ port: srv.port, host: '127.0.0.1' }, cb),
        'connect(port, cb)': (s, cb) => s.connect(srv.port, cb),
        'connect(String(port), host)': (s, cb) => {
          s.once('connect', cb);
          return s.connect(String(srv.port), '127.0.0.1');
        },
      };
      for (const [name, form] of Object.entries(forms)) {
        const s = new net.Socket();
        t.events(s, CONNECT_EVENTS, name + ':');
        const r = form(s, () => t.push(name + ' callback'));
        t.push(name + ' returned this', r === s, props(s));
        await once(s, 'ready');
        t.push(name, props(s));
        await destroyed(s);
      }
      await srv.close();
    }),
  ));

test('connect to ::1 (IPv6 loopback)', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '::1');
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, 'client:');
      s.connect({ port: srv.port, host: '::1' });
      t.push('sync', props(s));
      await once(s, 'ready');
      t.push('connected', props(s));
      await settle();
      t.push('server side', peerProps(srv.conns[0]));
      await destroyed(s);
      t.push('closed', props(s));
      await srv.close();
    }),
  ));

test('host localhost with family 4; family is ignored for an IP host', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv4 = await listen(net, ports);
      const a = new net.Socket();
      t.events(a, CONNECT_EVENTS, 'localhost/4:');
      a.connect({ port: srv4.port, host: 'localhost', family: 4 });
      await once(a, 'ready');
      t.push('a', props(a));
      await destroyed(a);
      await srv4.close();

      const srv6 = await listen(net, ports, '::1');
      const b = new net.Socket();
      t.events(b, CONNECT_EVENTS, '::1/4:');
      b.connect({ port: srv6.port, host: '::1', family: 4 });
      await once(b, 'ready');
      t.push('b', props(b));
      await destroyed(b);
      await srv6.close();
    }),
  ));

test('localAddress and localPort options', () =>
  compare(
    withPorts(async (net, t, ports) => {
      // A local port that is free: take one from the kernel, then release it.
      const free = await listen(net, []);
      const localPort = free.port;
      await free.close();

      const srv = await listen(net, ports);
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, 'client:');
      s.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort });
      await once(s, 'ready');
      t.push('localPort honoured', s.localPort === localPort, s.address().port === localPort, props(s));
      await settle();
      t.push('server sees that port', srv.conns[0].remotePort === localPort, srv.conns[0].remoteAddress);
      await destroyed(s);

      const s2 = net.createConnection({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.1' });
      t.events(s2, CONNECT_EVENTS, 'localAddress only:');
      await once(s2, 'ready');
      t.push('s2', props(s2));
      await destroyed(s2);
      await srv.close();
    }),
  ));

test('localAddress of the wrong family: bind error is emitted', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, 'client:');
      t.call('connect', () => s.connect({ port: srv.port, host: '127.0.0.1', localAddress: '::1' }) === s);
      await once(s, 'close');
      t.push('closed', props(s));
      await srv.close();
    }),
  ));

// connect() again on a handle with a descriptor binds that descriptor, as libuv does: an IPv6
// local address on an IPv4 descriptor fails setting IPV6_V6ONLY (ENOPROTOOPT), an IPv4 one
// on an IPv6 descriptor gets EINVAL.
test('connect() again with a localAddress of the other family: the bind error of the descriptor the handle holds, as node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      for (const [first, again, localAddress] of [
        ['127.0.0.1', '::ffff:127.0.0.1', '::'],
        ['::ffff:127.0.0.1', '127.0.0.1', '127.0.0.1'],
      ]) {
        const s = net.connect(srv.port, first);
        t.events(s, ['error', 'close'], `${localAddress}: `);
        s.connect({ port: srv.port, host: again, localAddress });
        await once(s, 'close');
      }
      await srv.close();
    }),
  ));

test('a connect that fails at once (ENETUNREACH) names the bound local address, as node', () =>
  compare(
    withPorts(async (net, t) => {
      // A socket bound to ::1 cannot reach an IPv4-mapped address: connect() itself fails.
      const s = net.connect({ host: '::ffff:127.0.0.1', port: 9, localAddress: '::1' });
      s.on('connectionAttempt', (...args) => t.push('connectionAttempt', ...args));
      s.on('error', (e) => t.push('error', e.code, e.syscall, e.message.replace(/:\d+\)$/, ':LOCALPORT)')));
      s.on('close', (hadError) => t.push('close', hadError));
      await once(s, 'close');
    }),
  ));

test('signal option: aborted before, during and after connecting, as node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const make = {
        // (Node's quirk, kept: the stream is destroyed inside the constructor and then made
        // usable again, so a connect with an aborted signal still goes ahead.)
        'aborted, new Socket': () => new net.Socket({ signal: AbortSignal.abort() }),
        'aborted, connect': () => net.connect({ port: srv.port, host: '127.0.0.1', signal: AbortSignal.abort() }),
        'abort while connecting': () => {
          const ac = new AbortController();
          const s = net.connect({ port: srv.port, host: '127.0.0.1', signal: ac.signal });
          ac.abort();
          return s;
        },
        'abort once connected': () => {
          const ac = new AbortController();
          const s = net.connect({ port: srv.port, host: '127.0.0.1', signal: ac.signal });
          s.on('connect', () => ac.abort('reason'));
          return s;
        },
      };
      for (const [label, fn] of Object.entries(make)) {
        const s = fn();
        t.push(label, 'made', s.destroyed, s.readyState);
        s.on('error', (e) => t.push(label, 'error', e, String(e.cause)));
        t.events(s, ['connectionAttempt', 'connect', 'close'], `${label}: `);
        await once(s, 'close');
        await settle();
        t.push(label, 'after', s.destroyed, s.readyState);
        s.destroy();
        await settle();
      }
      await srv.close();
    }),
  ));

/** A lookup answering 127.0.0.1 on a later turn of the loop. */
function lookupLoopback(host, opts, cb) {
  setImmediate(() => (opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
}

test('connect() again while connecting (EALREADY), once connected, and right after destroy(), as node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const a = net.connect(srv.port, '127.0.0.1');
      t.events(a, CONNECT_EVENTS, 'connecting: ');
      a.connect(srv.port, '127.0.0.1');
      await once(a, 'close');

      const b = net.connect(srv.port, '127.0.0.1');
      t.events(b, CONNECT_EVENTS, 'connected: ');
      await once(b, 'connect');
      b.connect(srv.port, '127.0.0.1');
      await settle(100);
      b.destroy();
      await once(b, 'close');

      // The handle destroy() closes still emits its 'close', then the new connection's events.
      const c = net.connect(srv.port, '127.0.0.1');
      t.events(c, CONNECT_EVENTS, 'destroyed: ');
      await once(c, 'connect');
      c.destroy();
      c.connect(srv.port, '127.0.0.1');
      await once(c, 'connect');
      c.destroy();
      await once(c, 'close');

      // The local name read while the lookup runs (a handle, no descriptor yet) is cached as
      // {} until the connect's outcome: EALREADY's message names 'undefined:undefined'.
      const d = net.connect({ port: srv.port, host: 'localhost', lookup: lookupLoopback });
      t.events(d, CONNECT_EVENTS, 'name read early: ');
      t.push('localAddress while looking up', d.localAddress, d.localPort);
      d.once('connectionAttempt', () => process.nextTick(() => d.connect(srv.port, '127.0.0.1')));
      await once(d, 'close');

      // A connect refused at once, then connect() again before its failure is reported: the
      // descriptor still names its local address.
      const closedPort = await freePort();
      ports.push(closedPort);
      const e = net.connect(closedPort, '127.0.0.1');
      t.events(e, CONNECT_EVENTS, 'refused: ');
      e.once('connectionAttempt', () => process.nextTick(() => e.connect(srv.port, '127.0.0.1')));
      await once(e, 'close');

      // The same for port 0 while a Unix server of this process listens (this module sends
      // connects that may reach a server of its own through the I/O thread; port 0 reaches none).
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsnet-port0-'));
      const unix = net.createServer().listen(path.join(dir, 's.sock'));
      await once(unix, 'listening');
      const f = net.connect(0, '127.0.0.1');
      t.events(f, CONNECT_EVENTS, 'port 0: ');
      f.once('connectionAttempt', () => process.nextTick(() => f.connect(srv.port, '127.0.0.1')));
      await once(f, 'close');
      await new Promise((resolve) => unix.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
      await srv.close();
      hideLocalPort(t);
    }),
  ));

// libuv's close of a handle with a connect in flight fails that request (ECANCELED) in a
// callback of its own, before the close callback: Node's afterConnect takes it for the
// connect() called after destroy(), whose 'error' comes before the old handle's 'close'.
test("destroy() with a connect in flight, then connect() with a bad port: ECANCELED's 'error' before the old handle's 'close', as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const refused = await freePort();
      ports.push(refused);
      const lookup = (host, opts, cb) =>
        opts?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS);
      s.connect({ port: refused, host: 'name', lookup });
      s.destroy();
      t.call('connect(Symbol())', () => s.connect(Symbol('x')));
      await once(s, 'close');
      await settle(50);
    }),
  ));

// libuv keeps a failed connect's descriptor until the handle closes: a connect() again before
// the failure is reported gets EALREADY, and its message names that descriptor's local address.
test('connect() again after a refused connect, before its failure is reported: EALREADY names the local address, as node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      // (A server of the module under test on 127.0.0.1: nothing on ::1 at its port.)
      const srv = await listen(net, ports);
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS);
      s.connect(srv.port, '::1');
      process.nextTick(() =>
        process.nextTick(() => {
          // (Time for the refusal to come back before the next connect.)
          const until = Date.now() + 30;
          while (Date.now() < until);
          s.connect(srv.port, '127.0.0.1');
        }),
      );
      await once(s, 'close');
      await srv.close();
      hideLocalPort(t);
    }),
  ));

// libuv runs the close callbacks of one iteration the last closed first, whether a connect
// was under way on the handle or not.
test("destroy(), connect() and connect() again (EALREADY): the second handle's 'close' first, as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const refused = await freePort();
      ports.push(refused);
      const s = net.connect(srv.port, '127.0.0.1');
      t.events(s, CONNECT_EVENTS);
      await once(s, 'connect');
      s.destroy();
      s.connect(refused, '127.0.0.1');
      s.connect(refused, '127.0.0.1');
      s.end('hello', () => t.push('end callback'));
      await once(s, 'close');
      await settle(50);
      s.destroy();
      await srv.close();
      hideLocalPort(t);
    }),
  ));

const nodeSocketProto = require('node:net').Socket.prototype;

test(
  'setTypeOfService/getTypeOfService and the typeOfService option (Node 24.x), as node',
  { skip: typeof nodeSocketProto.setTypeOfService !== 'function' && 'this Node has no setTypeOfService' },
  () =>
    compare(
      withPorts(async (net, t, ports) => {
        const srv = await listen(net, ports);
        const srv6 = await listen(net, ports, '::1');
        for (const host of ['127.0.0.1', '::1']) {
          const s = new net.Socket();
          t.call('get before', () => s.getTypeOfService());
          t.call('set before', () => s.setTypeOfService(0x10) === s);
          for (const bad of [NaN, 256, -1, '8', 1.5]) t.call(`set ${String(bad)}`, () => s.setTypeOfService(bad));
          s.connect(host === '::1' ? srv6.port : srv.port, host);
          await once(s, 'connect');
          t.call(`${host} get once connected`, () => s.getTypeOfService());
          t.call(`${host} set`, () => s.setTypeOfService(0x28) === s);
          t.call(`${host} get`, () => s.getTypeOfService());
          s.destroy();
          await once(s, 'close');
          t.call(`${host} get after close`, () => s.getTypeOfService());
        }
        const o = net.connect({ port: srv.port, host: '127.0.0.1', typeOfService: 0x20 });
        await once(o, 'connect');
        t.call('option', () => o.getTypeOfService());
        o.destroy();
        await once(o, 'close');
        t.call('bad option', () => new net.Socket({ typeOfService: 300 }));
        await srv6.close();
        await srv.close();
      }),
    ),
);

test(
  'setKeepAlive(options) with interval and count (Node 24.x), as node',
  { skip: nodeSocketProto.setKeepAlive.length < 3 && 'this Node has no setKeepAlive(options)' },
  () =>
    compare(
      withPorts(async (net, t, ports) => {
        const srv = await listen(net, ports);
        const s = net.connect(srv.port, '127.0.0.1');
        t.call('before connect', () => s.setKeepAlive({ enable: true, initialDelay: 2000, interval: 1000, count: 3 }) === s);
        await once(s, 'connect');
        t.call('options', () => s.setKeepAlive({ enable: true, initialDelay: 1000, interval: 2000, count: 5 }) === s);
        t.call('positional', () => s.setKeepAlive(true, 1000, 3000, 4) === s);
        t.call('getter that throws', () =>
          s.setKeepAlive({
            get enable() {
              throw new Error('enable');
            },
          }),
        );
        t.call('off', () => s.setKeepAlive(false) === s);
        s.destroy();
        await once(s, 'close');
        await srv.close();
      }),
    ),
);

test('connect() to a Unix path with a NUL byte inside: as node', () =>
  compare(async (net, t) => {
    const s = net.connect('/tmp/rsnet-nul\0test');
    t.events(s, CONNECT_EVENTS);
    await once(s, 'close');
  }));

test('noDelay, keepAlive, keepAliveInitialDelay options: connects and echoes', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => c.pipe(c));
      const s = net.createConnection({
        port: srv.port,
        host: '127.0.0.1',
        noDelay: true,
        keepAlive: true,
        keepAliveInitialDelay: 1000,
      });
      t.events(s, CONNECT_EVENTS, 'client:');
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (d) => (data += d));
      s.end('ping');
      await once(s, 'close');
      t.push('echo', data, props(s));

      const s2 = net.createConnection({ port: srv.port, host: '127.0.0.1', noDelay: false, keepAlive: false });
      t.events(s2, CONNECT_EVENTS, 'client2:');
      await once(s2, 'ready');
      t.push('s2', props(s2));
      await destroyed(s2);
      await srv.close();
    }),
  ));

test('timeout option of createConnection: timeout event after connect, socket stays open', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = net.createConnection({ port: srv.port, host: '127.0.0.1', timeout: 30 });
      t.events(s, CONNECT_EVENTS, 'client:');
      t.push('timeout property', s.timeout);
      await once(s, 'timeout');
      t.push('after timeout', s.timeout, props(s));
      await destroyed(s);
      await srv.close();
    }),
  ));

test('setTimeout before connect applies once connected', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, 'client:');
      t.push('setTimeout returns this', s.setTimeout(30, () => t.push('setTimeout callback')) === s);
      t.push('timeout', s.timeout);
      s.connect(srv.port, '127.0.0.1');
      await once(s, 'timeout');
      await destroyed(s);
      await srv.close();
    }),
  ));

// ---------------------------------------------------------------------------------------------
// Custom lookup
// ---------------------------------------------------------------------------------------------

test('lookup option: arguments by family/autoSelectFamily and the lookup event', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const srv6 = await listen(net, ports, '::1');
      const cases = [
        // [label, extra options, port, answer given to a non-`all` lookup]
        ['default', {}, srv.port, ['127.0.0.1', 4]],
        ['family 4', { family: 4 }, srv.port, ['127.0.0.1', 4]],
        ['family 6', { family: 6 }, srv6.port, ['::1', 6]],
        ['autoSelectFamily false', { autoSelectFamily: false }, srv.port, ['127.0.0.1', 4]],
        ['family 0 async', { family: 0 }, srv.port, ['127.0.0.1', 4], true],
      ];
      for (const [label, extra, port, [address, family], async] of cases) {
        const s = new net.Socket();
        t.events(s, CONNECT_EVENTS, label + ':');
        s.connect({
          port,
          host: 'example.invalid',
          ...extra,
          lookup(hostname, options, callback) {
            t.push(label + ' lookup called', hostname, options, typeof callback);
            const answer = options.all ? [null, [{ address, family }]] : [null, address, family];
            if (async) setImmediate(() => callback(...answer));
            else callback(...answer);
          },
        });
        t.push(label + ' after connect()', s.connecting);
        await once(s, 'ready');
        t.push(label, props(s));
        await destroyed(s);
      }
      await srv.close();
      await srv6.close();
    }),
  ));

test('lookup returning two addresses: first refused, second connects', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, 'client:');
      s.connect({
        port: srv.port,
        host: 'example.invalid',
        lookup(hostname, options, callback) {
          t.push('lookup called', hostname, options);
          callback(null, [
            { address: '::1', family: 6 },
            { address: '127.0.0.1', family: 4 },
          ]);
        },
      });
      t.push('after connect()');
      await once(s, 'ready');
      t.push('connected', props(s), s.autoSelectFamilyAttemptedAddresses);
      await destroyed(s);
      await srv.close();
    }),
  ));

test('lookup that errors: lookup event with the error, then error, then close(true)', () =>
  compare(async (net, t) => {
    const mkErr = () => Object.assign(new Error('getaddrinfo ENOTFOUND example.invalid'), {
      code: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      hostname: 'example.invalid',
    });
    const cases = [
      ['sync, family 4', { family: 4 }, false],
      ['sync, default', {}, false],
      ['async, family 4', { family: 4 }, true],
      ['async, default', {}, true],
    ];
    for (const [label, extra, async] of cases) {
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, label + ':');
      const err = mkErr();
      s.on('error', (e) => t.push(label + ' same error object', e === err));
      s.connect(
        {
          port: 80,
          host: 'example.invalid',
          ...extra,
          lookup(hostname, options, callback) {
            t.push(label + ' lookup called', hostname, options);
            if (async) setImmediate(() => callback(err));
            else callback(err);
          },
        },
        () => t.push(label + ' connect callback (must not run)'),
      );
      t.push(label + ' after connect()', props(s));
      await once(s, 'close');
      t.push(label + ' closed', props(s));
    }
  }));

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

test('connection refused: error fields, then close(hadError=true); connect cb not called', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const port = await refusedPort(net, ports);

      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, '127.0.0.1:');
      s.connect(port, '127.0.0.1', () => t.push('callback (must not run)'));
      t.push('sync', props(s));
      await once(s, 'close');
      t.push('after close', props(s));

      const s2 = net.connect(port); // via localhost
      t.events(s2, CONNECT_EVENTS, 'localhost:');
      await once(s2, 'close');
      t.push('after close 2', props(s2));

      const s3 = net.createConnection({ port, host: '::1' });
      t.events(s3, CONNECT_EVENTS, '::1:');
      await once(s3, 'close');
      t.push('after close 3', props(s3));
    }),
  ));

test('connection refused with pending writes and end(): callbacks get errors', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const port = await refusedPort(net, ports);
      const s = new net.Socket();
      t.events(s, [...CONNECT_EVENTS, 'finish'], 'client:');
      s.connect(port, '127.0.0.1');
      t.call('write 1', () => s.write('abc', (e) => t.push('write 1 callback', e)));
      t.call('write 2', () => s.write('def', (e) => t.push('write 2 callback', e)));
      s.end((...args) => t.push('end callback', ...args));
      t.push('sync', props(s), s.writableLength);
      await once(s, 'close');
      await settle();
    }),
  ));

test('argument validation: thrown synchronously', () =>
  compare(async (net, t) => {
    const calls = {
      'connect()': () => net.connect(),
      'connect({})': () => net.connect({}),
      'connect(-1)': () => net.connect(-1),
      'connect(65536)': () => net.connect(65536),
      'connect({port: "x"})': () => net.connect({ port: 'x' }),
      'connect({port: NaN})': () => net.connect({ port: NaN }),
      'connect({port: true})': () => net.connect({ port: true }),
      'lookup: 5': () => net.connect({ port: 1, host: 'example.invalid', lookup: 5 }),
      'family: 5': () => net.connect({ port: 1, family: 5 }),
      'host: 5': () => net.connect({ port: 1, host: 5 }),
      'localAddress: "nope"': () => net.connect({ port: 1, localAddress: 'nope' }),
      'localPort: "x"': () => net.connect({ port: 1, localPort: 'x' }),
      'timeout: -1': () => net.connect({ port: 1, timeout: -1 }),
      'keepAliveInitialDelay: "x"': () => net.connect({ port: 1, keepAliveInitialDelay: 'x' }),
      'new Socket().connect()': () => new net.Socket().connect(),
      'new Socket().connect(70000)': () => new net.Socket().connect(70000),
    };
    for (const [name, fn] of Object.entries(calls)) {
      const s = t.call(name, fn);
      if (s) {
        s.on('error', (e) => t.push(name + ' error event', e));
        s.destroy();
      }
    }
    await settle();
  }));

// ---------------------------------------------------------------------------------------------
// Reuse, destroyed sockets, writes before connect
// ---------------------------------------------------------------------------------------------

test('connect() on a destroyed (never connected) socket connects it', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, 'client:');
      s.destroy();
      t.push('destroyed', props(s));
      await settle();
      t.call('connect returns this', () => s.connect(srv.port, '127.0.0.1') === s);
      t.push('after connect()', props(s));
      await once(s, 'ready');
      t.push('connected', props(s));
      await destroyed(s);
      await srv.close();
    }),
  ));

test('connect() again on a socket whose connection closed', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => c.end('bye'));
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, 'client:');
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (d) => (data += d));
      s.connect(srv.port, '127.0.0.1');
      await once(s, 'close');
      t.push('first', data, props(s));
      t.call('connect again returns this', () => s.connect(srv.port, '127.0.0.1') === s);
      t.push('reconnecting', props(s));
      await once(s, 'close');
      t.push('second', data, props(s));
      await srv.close();
    }),
  ));

test('connect() on a destroyed socket that was connected', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = net.connect(srv.port, '127.0.0.1');
      t.events(s, CONNECT_EVENTS, 'client:');
      await once(s, 'ready');
      await destroyed(s);
      t.push('destroyed', props(s));
      t.call('connect', () => s.connect(srv.port, '127.0.0.1') === s);
      t.push('after connect()', props(s));
      await once(s, 'ready');
      t.push('reconnected', props(s));
      await destroyed(s);
      await srv.close();
    }),
  ));

test('writes before connect are buffered and sent after connect', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const st = new Trace();
      let got = '';
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => {
        c.setEncoding('utf8');
        c.on('data', (d) => (got += d));
        st.events(c, ['end', 'close'], 'server:');
        c.on('end', () => c.end());
      });
      const s = new net.Socket();
      t.events(s, CONNECT_EVENTS, 'client:');
      s.connect(srv.port, '127.0.0.1');
      t.call('write string', () => s.write('hello ', () => t.push('write 1 callback')));
      t.call('write buffer', () => s.write(Buffer.from('world'), () => t.push('write 2 callback')));
      t.call('write latin1', () => s.write('!\xe9', 'latin1', () => t.push('write 3 callback')));
      t.push('pending', props(s), s.writableLength, s.bufferSize);
      s.end(() => t.push('end callback'));
      t.push('after end()', props(s));
      await once(s, 'close');
      await settle();
      t.push('server got', got, Buffer.from(got, 'utf8').length, st.entries);
      t.push('bytesWritten', s.bytesWritten);
      await srv.close();
    }),
  ));

test('write on an unconnected socket: ERR_SOCKET_CLOSED; write after destroy: ERR_STREAM_DESTROYED', () =>
  compare(async (net, t) => {
    const a = new net.Socket();
    t.events(a, CONNECT_EVENTS, 'a:');
    t.call('a write', () => a.write('x', (e) => t.push('a write callback', e)));
    await settle();
    t.push('a', props(a));

    const b = new net.Socket();
    t.events(b, CONNECT_EVENTS, 'b:');
    b.destroy();
    t.call('b write', () => b.write('x', (e) => t.push('b write callback', e)));
    await settle();
    t.push('b', props(b));
  }));

// ---------------------------------------------------------------------------------------------
// readyState transitions
// ---------------------------------------------------------------------------------------------

test('readyState: opening -> open -> readOnly (we ended) -> closed', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '127.0.0.1', { allowHalfOpen: true });
      const s = net.connect(srv.port, '127.0.0.1');
      t.push('opening', s.readyState);
      await once(s, 'connect');
      t.push('connected', s.readyState);
      s.end();
      t.push('after end()', props(s));
      await settle();
      t.push('half-closed by us', props(s));
      s.on('data', (d) => t.push('client data', String(d)));
      srv.conns[0].end('late');
      await once(s, 'close');
      t.push('closed', props(s));
      await srv.close();
    }),
  ));

test('readyState: open -> writeOnly (peer ended, allowHalfOpen) -> closed', () =>
  compare(
    withPorts(async (net, t, ports) => {
      let got = '';
      const srv = await listen(net, ports, '127.0.0.1', { allowHalfOpen: true }, (c) => {
        c.setEncoding('utf8');
        c.on('data', (d) => (got += d));
        c.end('bye');
      });
      const s = net.connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
      t.events(s, CONNECT_EVENTS, 'client:');
      s.on('data', (d) => t.push('client data', String(d)));
      await once(s, 'end');
      t.push('at end', props(s));
      await settle();
      t.push('half-closed by peer', props(s));
      s.end('still writing');
      t.push('after end()', props(s));
      await once(s, 'close');
      await settle();
      t.push('closed', props(s), 'server got', got);
      await srv.close();
    }),
  ));

test('readyState without allowHalfOpen: peer end closes our side too', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => c.end('bye'));
      const s = net.connect(srv.port, '127.0.0.1');
      t.events(s, CONNECT_EVENTS, 'client:');
      s.on('data', (d) => t.push('client data', String(d)));
      s.on('end', () => t.push('at end', props(s)));
      await once(s, 'close');
      t.push('closed', props(s));
      await srv.close();
    }),
  ));

test('smoke: connect scenarios leave nothing behind', async () => {
  // Sanity check on the helper used above: the registered port is replaced in the trace.
  const r = await compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      t.push(srv.port, `x:${srv.port}`);
      await srv.close();
    }),
  );
  assert.deepEqual(r.trace, [['PORT', 'x:PORT']]);
});

test('end() before the first connect(): the new handle makes the socket writable again, as node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      // connect() refuses its arguments after creating the handle: the write is queued for a
      // connect that never comes, and destroy() fails it.
      const a = new net.Socket();
      t.events(a, [...CONNECT_EVENTS, 'finish'], 'refused arguments: ');
      a.end(() => t.push('end cb'));
      t.push('after end', a.writable, a.writableEnded);
      t.call('connect(1n)', () => a.connect(1n, '127.0.0.1'));
      t.push('after connect', a.writable, a.writableEnded, a.connecting);
      t.push('write', a.write('hi', (err) => t.push('write cb', err?.code)));
      a.destroy();
      await once(a, 'close');

      // A real connect. Node 20 shuts down once connected, before the write (its 'connect'
      // listener came first), so the write meets the shutdown: write EPIPE, as libuv refuses
      // writes after uv_shutdown. Node 22+ finishes the end() at once and the write goes out.
      const b = new net.Socket();
      t.events(b, [...CONNECT_EVENTS, 'finish'], 'connected: ');
      const closed = once(b, 'close');
      b.end();
      b.connect(srv.port, '127.0.0.1');
      const written = new Promise((resolve) => {
        t.push('write', b.write('hi', (err) => resolve(t.push('write cb', err?.code ?? null))));
      });
      await written;
      await settle(50);
      t.push('after the write', b.writable, b.writableEnded, b.destroyed);
      b.destroy();
      await closed;
      await srv.close();
    }),
  ));

test("sockets destroyed in one tick emit 'close' the last destroyed first (libuv's closing handles), as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const sockets = await connectAll(net, srv.port, 3);
      const closed = sockets.map((s, i) => once(s, 'close').then(() => t.push('close', i)));
      for (const s of sockets) s.destroy();
      await Promise.all(closed);
      await srv.close();
    }),
  ));

test('connect() with a localAddress on a socket that already has a descriptor: bind EINVAL, as node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = net.connect(srv.port, '127.0.0.1');
      await once(s, 'ready');
      t.events(s, CONNECT_EVENTS, 'connected: ');
      // The kept handle binds its own descriptor again (libuv's uv_tcp_bind), which is bound.
      s.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.1' });
      await once(s, 'close');
      await srv.close();
    }),
  ));

// Node emits 'close' from libuv's close phase: after the immediates of this iteration's check
// phase, before those queued from it (they run on the next iteration).
test("'close' comes in the loop's close phase: after this check phase's immediates, before the ones it queues, as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const [a, b, c] = await connectAll(net, srv.port, 3);
      for (const [s, name] of [[a, 'a'], [b, 'b'], [c, 'c']]) s.on('close', () => t.push('close', name));
      await new Promise((resolve) => {
        setImmediate(() => {
          t.push('immediate 1');
          setImmediate(() => t.push('queued from the check phase'));
          a.destroy();
          process.nextTick(() => t.push('tick'));
        });
        setImmediate(() => {
          t.push('immediate 2');
          b.destroy();
          Promise.resolve().then(() => t.push('microtask'));
        });
        setTimeout(resolve, 30);
      });
      // From the poll phase (an I/O callback): before any immediate.
      await new Promise((resolve) => {
        c.once('data', () => {
          t.push('data');
          setImmediate(() => t.push('immediate after data'));
          c.destroy();
          setTimeout(resolve, 30);
        });
        srv.conns[2].write('x');
      });
      await srv.close();
    }),
  ));

test("destroy(), connect() and destroy() in one turn: both handles' 'close', the last closed first, after the turn's 'error', as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      const s = net.connect(srv.port, '127.0.0.1');
      await once(s, 'connect');
      t.events(s, CONNECT_EVENTS);
      s.destroy();
      s.connect(srv.port, '127.0.0.1');
      s.destroy(new Error('second'));
      setImmediate(() => t.push('immediate'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await srv.close();
    }),
  ));

test("a 'close' listener that throws: an uncaught exception, and the other sockets destroyed in that turn still close, as node", async () => {
  const { OURS, PRELUDE, runChild, outcome } = require('./helpers/child');
  const script = `${PRELUDE}
process.on('uncaughtException', (e) => log('uncaught', e.message));
const srv = net.createServer().listen(0, '127.0.0.1', async () => {
  const sockets = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect(srv.address().port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.on('close', () => { log('close', i); if (i === 1) throw new Error('from close ' + i); });
    sockets.push(s);
  }
  setImmediate(() => {
    setImmediate(() => log('immediate'));
    for (const s of sockets) s.destroy();
  });
  setTimeout(() => srv.close(), 50);
});
`;
  const [expected, actual] = await Promise.all([runChild(script, 'node:net'), runChild(script, OURS)]);
  assert.deepEqual(outcome(actual), outcome(expected));
  assert.match(expected.stdout, /uncaught from close 1/);
});

test("connect() right after destroy() while a Unix socket connect is in flight: the cancelled request fails the new connect (ECANCELED), as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports);
      // (From the check phase: Node's close phase comes before the next poll phase. Called
      // before its loop's poll phase, Node would see the new connect complete first, and its
      // afterConnect assertion would kill the process.)
      const s = await new Promise((resolve) =>
        setImmediate(() => {
          const s = net.connect(path.join(os.tmpdir(), `rsnet-missing-${process.pid}.sock`));
          t.events(s, CONNECT_EVENTS);
          s.destroy(new Error('first'));
          s.connect(srv.port, '127.0.0.1');
          resolve(s);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      t.push('destroyed', s.destroyed, s.connecting);
      await srv.close();
    }),
  ));

test('bytesRead and bytesWritten are the current handle\'s: connect() after destroy() starts them from 0, as node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => {
        // (The client destroys its second connection at 'connect': if the greeting is there
        // by then, unread, the client's close resets this side, on node as on rsnet.)
        c.on('error', () => {});
        c.end('hello');
      });
      const s = net.connect(srv.port, '127.0.0.1');
      await once(s, 'connect');
      s.resume();
      s.write('abcde');
      await once(s, 'end');
      t.push('first', s.bytesRead, s.bytesWritten);
      s.destroy();
      t.push('destroyed', s.bytesRead, s.bytesWritten);
      s.connect(srv.port, '127.0.0.1');
      t.push('connecting again', s.bytesRead, s.bytesWritten);
      // (In the listener: the server's greeting may follow at once.)
      await new Promise((resolve) =>
        s.once('connect', () => {
          t.push('connected again', s.bytesRead, s.bytesWritten);
          resolve();
        }),
      );
      s.destroy();
      await once(s, 'close');
      t.push('closed', s.bytesRead, s.bytesWritten);
      await srv.close();
    }),
  ));

// The runtime reads ahead of JS; what it read before destroy() was never node's to read.
test('bytesRead after destroy() counts only what was delivered: data read ahead but not yet delivered is not counted, as node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => {
        c.on('error', () => {});
        c.end('hello');
      });
      // (A race each time: the greeting may come with the 'connect'; enough rounds see it.)
      let counted = 0;
      for (let i = 0; i < 30; i++) {
        const s = net.connect(srv.port, '127.0.0.1');
        s.on('data', () => t.push('data before destroy'));
        s.once('connect', () => queueMicrotask(() => s.destroy()));
        await once(s, 'close');
        if (s.bytesRead !== 0) counted++;
      }
      t.push('rounds with bytes counted', counted);
      await srv.close();
    }),
  ));

// Node starts reading where it reports a new connection, and libuv polls the descriptor from
// the next loop iteration on: the first data comes after the immediates the listeners queued,
// even when it was there before (the peer's JS thread held here until it is).
const hold = (ms) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

test("a client's first data comes after the immediates its 'connect' listeners queued, even when it came with the connect, as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => {
        c.end('hello');
        hold(30);
      });
      const s = net.connect(srv.port, '127.0.0.1');
      s.on('connect', () => {
        t.push('connect');
        setImmediate(() => t.push('immediate'));
      });
      s.on('data', (d) => t.push('data', String(d)));
      await once(s, 'end');
      t.push('end');
      await once(s, 'close');
      await srv.close();
    }),
  ));

test("a client destroyed on an immediate its 'connect' listener queued, with the first data there unread: the server is reset, as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      let served;
      const done = new Promise((resolve) => (served = resolve));
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => {
        t.events(c, ['end', 'error', 'close'], 'server:');
        c.on('close', served);
        c.write('hello');
        hold(30);
      });
      const s = net.connect(srv.port, '127.0.0.1');
      // Node has not read 'hello' yet (it reads from the next iteration on): it is in the
      // kernel, which answers a close with unread data with a reset.
      s.on('connect', () => setImmediate(() => s.destroy()));
      s.on('data', () => t.push('data'));
      await once(s, 'close');
      await done;
      await srv.close();
    }),
  ));

test("a server's first data comes after the immediates its 'connection' listeners queued, even when it came with the connection, as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      let ended;
      const done = new Promise((resolve) => (ended = resolve));
      const srv = await listen(net, ports, '127.0.0.1', {}, (c) => {
        t.push('connection');
        setImmediate(() => t.push('immediate'));
        c.on('data', (d) => t.push('data', String(d)));
        c.on('end', () => {
          t.push('end');
          c.end();
          ended();
        });
      });
      const s = net.connect(srv.port, '127.0.0.1', () => {
        s.end('hi');
        hold(30);
      });
      s.resume();
      await done;
      await once(s, 'close');
      await srv.close();
    }),
  ));

// libuv completes a shutdown with nothing left to write from its pending queue: right after
// the poll phase that asked for it (before the check phase's immediates), else in the next
// iteration's pending phase (before its immediates).
test("end() with nothing queued: 'finish' comes where libuv completes the shutdown, before the immediates queued with it, as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = await listen(net, ports, '127.0.0.1', { allowHalfOpen: true }, (c) => c.resume());
      const open = async () => {
        const s = net.connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
        await once(s, 'connect');
        s.on('finish', () => t.push('finish'));
        return s;
      };
      // From an I/O callback.
      const a = await open();
      await new Promise((resolve) => {
        a.once('data', () => {
          setImmediate(() => t.push('immediate queued in the poll phase'));
          a.end();
          setTimeout(resolve, 20);
        });
        srv.conns[0].write('x');
      });
      // From the check phase.
      const b = await open();
      await new Promise((resolve) => {
        setImmediate(() => {
          setImmediate(() => t.push('immediate queued in the check phase'));
          b.end();
          setTimeout(resolve, 20);
        });
      });
      // After the peer's end, with allowHalfOpen false: the socket ends itself.
      const c = net.connect(srv.port, '127.0.0.1');
      await once(c, 'connect');
      c.on('finish', () => t.push('finish c'));
      c.on('close', () => t.push('close c'));
      await new Promise((resolve) => {
        c.on('end', () => {
          setImmediate(() => t.push('immediate after end', c.destroyed));
          setTimeout(resolve, 20);
        });
        c.resume();
        srv.conns[2].end();
      });
      a.destroy();
      b.destroy();
      await srv.close();
    }),
  ));
