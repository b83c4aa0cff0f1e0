'use strict';
// net.BoundSocket (Node 24.x): bound at once, adopted by a server (listen) or a client socket
// (new Socket({ handle }) and connect). Compared with node:net where it has the class.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { compare, record, once, nodeNet } = require('./helpers/compare');
const { withPorts } = require('./helpers/ports');

const skip = typeof nodeNet.BoundSocket !== 'function' && 'this Node has no net.BoundSocket';
const EVENTS = ['connect', 'ready', 'data', 'end', 'finish', 'error', 'close'];

test('net.BoundSocket exists exactly where node:net has it', () => {
  const ours = require('..');
  assert.equal(typeof ours.BoundSocket, typeof nodeNet.BoundSocket);
  assert.equal('BoundSocket' in ours, 'BoundSocket' in nodeNet);
});

test('new BoundSocket(bad options): thrown as node throws them', { skip }, () =>
  compare(async (net, t) => {
    const cases = {
      'a number': 5,
      null: null,
      'an array': [],
      'port -1': { port: -1 },
      "port 'x'": { port: 'x' },
      'port 65536': { port: 65536 },
      'ipv6Only 1': { ipv6Only: 1 },
      "reusePort 'y'": { reusePort: 'y' },
      "host 'localhost'": { host: 'localhost' },
      'host 5': { host: 5 },
      'path with port': { path: '/tmp/rsnet-unused.sock', port: 1 },
      'path with host': { path: '/tmp/rsnet-unused.sock', host: '127.0.0.1' },
      'path 5': { path: 5 },
      'path in a missing directory': { path: '/nonexistent-rsnet/s.sock' },
    };
    for (const [label, options] of Object.entries(cases)) {
      t.call(label, () => {
        new net.BoundSocket(options).close();
        return 'bound';
      });
    }
  }),
);

test(
  'a BoundSocket on 127.0.0.1:0: address and fd, listen(boundSocket) serves it, then it is adopted',
  { skip },
  () =>
    compare(
      withPorts(async (net, t, ports) => {
        const bound = new net.BoundSocket({ port: 0, host: '127.0.0.1' });
        const { port } = bound.address();
        ports.push(port);
        t.push('address', bound.address());
        t.push('fd', typeof bound.fd(), bound.fd() >= 0, 'isPipe', bound.isPipe);
        // Not listening yet: another socket may bind the same port (SO_REUSEADDR).
        t.call('bind the same port', () => {
          new net.BoundSocket({ port, host: '127.0.0.1' }).close();
          return 'bound';
        });
        const srv = net.createServer((c) => c.end('hello'));
        const events = record(srv, ['listening', 'error', 'close']);
        t.call('listen', () => srv.listen(bound, () => t.push('listen callback')) === srv);
        t.push('listening at once', srv.listening);
        await once(srv, 'listening');
        t.push('server address', srv.address());
        for (const m of ['address', 'fd', 'close']) t.call(`${m}() once adopted`, () => bound[m]());
        t.call('dispose once adopted', () => bound[Symbol.dispose]());
        t.call('listen again on it', () => net.createServer().listen(bound));
        t.call('bind the port now listened on', () => new net.BoundSocket({ port, host: '127.0.0.1' }));
        const c = net.connect(port, '127.0.0.1');
        let got = '';
        c.on('data', (d) => (got += d));
        await once(c, 'close');
        t.push('served', got);
        await new Promise((resolve) => srv.close(resolve));
        t.push('server events', events);
      }),
    ),
);

test('listen({ handle: boundSocket }, backlog) and close(), close() twice, dispose', { skip }, () =>
  compare(
    withPorts(async (net, t, ports) => {
      const bound = new net.BoundSocket({ port: 0, host: '127.0.0.1' });
      ports.push(bound.address().port);
      const srv = net.createServer();
      srv.listen({ handle: bound }, 5);
      await once(srv, 'listening');
      t.push('address', srv.address());
      await new Promise((resolve) => srv.close(resolve));
      const spare = new net.BoundSocket({ port: 0, host: '127.0.0.1' });
      t.call('close', () => spare.close());
      t.call('close again', () => spare.close());
      t.call('address after close', () => spare.address());
      const disposed = new net.BoundSocket({ port: 0, host: '127.0.0.1' });
      t.call('dispose', () => disposed[Symbol.dispose]());
      t.call('dispose again', () => disposed[Symbol.dispose]());
      t.call('close after dispose', () => disposed.close());
      const closedFirst = new net.BoundSocket({ port: 0, host: '127.0.0.1' });
      closedFirst.close();
      t.call('listen on a closed one', () => net.createServer().listen(closedFirst));
    }),
  ),
);

test('two BoundSockets with reusePort on one port: both servers listen', { skip }, () =>
  compare(
    withPorts(async (net, t, ports) => {
      const a = new net.BoundSocket({ port: 0, host: '127.0.0.1', reusePort: true });
      const { port } = a.address();
      ports.push(port);
      const b = new net.BoundSocket({ port, host: '127.0.0.1', reusePort: true });
      t.push('same port', b.address().port === port);
      const servers = [a, b].map((bound) => net.createServer((c) => c.end()).listen(bound));
      await Promise.all(servers.map((s) => once(s, 'listening')));
      t.push('both listening', servers.map((s) => s.address().port === port));
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }),
  ),
);

test('new Socket({ handle: boundSocket }).connect(): connects from the bound port', { skip }, () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = net.createServer((c) => {
        t.push('peer port is the bound one', c.remotePort === localPort);
        c.end('hi');
      });
      srv.listen(0, '127.0.0.1');
      await once(srv, 'listening');
      ports.push(srv.address().port);
      const bound = new net.BoundSocket({ port: 0, host: '127.0.0.1' });
      const localPort = bound.address().port;
      ports.push(localPort);
      const s = new net.Socket({ handle: bound });
      t.push('before connect', s.readyState, s.pending, s.connecting, s.localPort === localPort, s.localAddress);
      t.call('address() once adopted', () => bound.address());
      t.call('a second socket on it', () => new net.Socket({ handle: bound }));
      const events = record(s, EVENTS);
      t.call('connect', () => s.connect(srv.address().port, '127.0.0.1') === s);
      await once(s, 'close');
      t.push('events', events);
      t.push('after', s.localPort, s.bytesRead);
      await new Promise((resolve) => srv.close(resolve));
    }),
  ),
);

test('a BoundSocket destroyed before it connects: its descriptor is closed', { skip }, () =>
  compare(
    withPorts(async (net, t, ports) => {
      const bound = new net.BoundSocket({ port: 0, host: '127.0.0.1' });
      const { port } = bound.address();
      ports.push(port);
      const s = new net.Socket({ handle: bound });
      const events = record(s, EVENTS);
      s.destroy();
      await once(s, 'close');
      t.push('events', events);
      // The port is free again: a server can listen on it.
      const srv = net.createServer().listen(port, '127.0.0.1');
      const outcome = await Promise.race([once(srv, 'listening').then(() => 'listening'), once(srv, 'error').then(([e]) => e.code)]);
      t.push('listen on the port', outcome);
      await new Promise((resolve) => srv.close(() => resolve()));
    }),
  ),
);

test('a BoundSocket on a Unix socket path: listen({ handle }) serves it, the file goes on close', { skip }, () =>
  compare(async (net, t) => {
    const file = path.join(os.tmpdir(), `rsnet-bound-${process.pid}.sock`);
    fs.rmSync(file, { force: true });
    const spare = new net.BoundSocket({ path: file });
    t.push('address', spare.address() === file, 'isPipe', spare.isPipe, 'file', fs.existsSync(file));
    t.call('bind the path again', () => new net.BoundSocket({ path: file }));
    spare.close();
    t.push('file after close', fs.existsSync(file));
    const bound = new net.BoundSocket({ path: file });
    const srv = net.createServer((c) => c.end('unix'));
    srv.listen({ handle: bound });
    await once(srv, 'listening');
    t.push('server address', srv.address() === file);
    const c = net.connect(file);
    let got = '';
    c.on('data', (d) => (got += d));
    await once(c, 'close');
    t.push('served', got);
    await new Promise((resolve) => srv.close(resolve));
    t.push('file after the server closed', fs.existsSync(file));
  }),
);

test('new Socket({ handle }) with a BoundSocket on a Unix path: connects from that path, removes it on close', { skip }, () =>
  compare(async (net, t) => {
    const serverFile = path.join(os.tmpdir(), `rsnet-bound-srv-${process.pid}.sock`);
    const clientFile = path.join(os.tmpdir(), `rsnet-bound-cli-${process.pid}.sock`);
    for (const f of [serverFile, clientFile]) fs.rmSync(f, { force: true });
    const srv = net.createServer((c) => c.end('unix'));
    srv.listen(serverFile);
    await once(srv, 'listening');
    const s = new net.Socket({ handle: new net.BoundSocket({ path: clientFile }) });
    t.push('before connect', s.readyState, s.localAddress === clientFile, fs.existsSync(clientFile));
    t.call('connect to a port', () => s.connect(9, '127.0.0.1'));
    const events = record(s, EVENTS);
    s.connect(serverFile, () => t.push('connected from', s.localAddress === clientFile, s.remoteAddress));
    await once(s, 'close');
    t.push('events', events);
    t.push('after close', s.localAddress === clientFile, 'file', fs.existsSync(clientFile));
    await new Promise((resolve) => srv.close(resolve));
  }),
);

test('a bound socket connected where nothing listens: the error names the connect', { skip }, () =>
  compare(async (net, t) => {
    const clientFile = path.join(os.tmpdir(), `rsnet-bound-none-${process.pid}.sock`);
    fs.rmSync(clientFile, { force: true });
    const tcp = new net.Socket({ handle: new net.BoundSocket({ port: 0, host: '127.0.0.1' }) });
    const unix = new net.Socket({ handle: new net.BoundSocket({ path: clientFile }) });
    const tcpEvents = record(tcp, EVENTS);
    const unixEvents = record(unix, EVENTS);
    // (Port 0: refused without leaving the machine. A path option does not make a bound TCP
    // socket a Unix one.)
    tcp.connect({ port: 0, host: '127.0.0.1', path: '/nonexistent-rsnet.sock' });
    unix.connect('/nonexistent-rsnet/none.sock');
    await Promise.all([once(tcp, 'close'), once(unix, 'close')]);
    t.push('tcp', tcpEvents.map((e) => (e[0] === 'error' ? [e[0], e[1].code, e[1].syscall] : e)));
    t.push('unix', unixEvents);
  }),
);

test('connect() of an adopted bound socket: no local address options, connects within the call, one family', { skip }, () =>
  compare(
    withPorts(async (net, t, ports) => {
      const srv = net.createServer((c) => c.end('x'));
      srv.listen(0, '127.0.0.1');
      await once(srv, 'listening');
      const { port } = srv.address();
      ports.push(port);
      const a = new net.Socket({ handle: new net.BoundSocket({ port: 0, host: '127.0.0.1' }) });
      t.call('localAddress', () => a.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' }));
      t.call('localPort', () => a.connect({ port, host: '127.0.0.1', localPort: 5 }));
      let attempted = false;
      a.on('connectionAttempt', () => (attempted = true));
      a.connect(port, '127.0.0.1');
      t.push('attempt made within connect()', attempted, a.connecting);
      a.resume();
      // A host name: looked up for one address, as autoSelectFamily is off for it.
      const b = new net.Socket({ handle: new net.BoundSocket({ port: 0, host: '127.0.0.1' }) });
      const seen = record(b, ['lookup', 'connectionAttempt', 'connect', 'close']);
      b.connect({
        port,
        host: 'localhost',
        lookup: (host, options, cb) => {
          t.push('lookup options', options);
          if (options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
          else cb(null, '127.0.0.1', 4);
        },
      });
      b.resume();
      await Promise.all([once(a, 'close'), once(b, 'close')]);
      t.push('b', seen);
      await new Promise((resolve) => srv.close(resolve));
    }),
  ),
);
