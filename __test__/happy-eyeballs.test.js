'use strict';
// Happy eyeballs (autoSelectFamily with several addresses) against routes that accept at once,
// accept late, refuse late, refuse at once, or never answer. All routes are loopback: a route
// that is slow is a listener whose accept queue is full (helpers/slow-listener.js).
//
// Where node:net and this module agree (the first route answers within the attempt delay, or
// the slow one never does) the traces are compared. Where they differ by design, both are
// asserted: Node abandons an attempt when its delay passes, so a slow first route fails with
// ETIMEDOUT even though it would have connected; here the attempt stays alive beside the next
// one and the first to connect wins (RFC 8305), with Node's events.

const test = require('node:test');
const assert = require('node:assert/strict');
const nodeNet = require('node:net');
const { compare, Trace, loadOurs, once } = require('./helpers/compare.js');
const { withPorts, freePort } = require('./helpers/ports.js');
const { slowListener } = require('./helpers/slow-listener.js');

const EVENTS = [
  'lookup',
  'connectionAttempt',
  'connectionAttemptFailed',
  'connectionAttemptTimeout',
  'connect',
  'ready',
  'error',
  'close',
];
const ATTEMPT_DELAY = 100;
// After this long a 'late' route is released; its connect completes at the next SYN retry.
const RELEASE_AFTER = 300;

/**
 * Set up one route of the given kind on host:port (port 0: any). The peer is always
 * node:net, so only the client varies between the runs.
 */
async function route(kind, host, port) {
  switch (kind) {
    case 'at once': {
      const server = nodeNet.createServer((c) => c.on('error', () => {}).end());
      server.listen(port, host);
      await once(server, 'listening');
      return {
        port: server.address().port,
        start() {},
        close: () => new Promise((resolve) => server.close(resolve)),
      };
    }
    case 'refused':
      return { port: port || (await freePort(host)), start() {}, close: async () => {} };
    case 'late':
    case 'late refused':
    case 'never': {
      const slow = await slowListener({ host, port });
      let timer;
      return {
        port: slow.port,
        start() {
          if (kind === 'never') return;
          timer = setTimeout(() => slow.release(kind === 'late' ? 'accept' : 'close'), RELEASE_AFTER);
        },
        close() {
          clearTimeout(timer);
          return slow.close();
        },
      };
    }
  }
  throw new Error(`unknown route kind ${kind}`);
}

/**
 * Connect through a lookup that yields the given routes' addresses (one port for all, as a
 * name's addresses share the port). Records the socket's events, the remote address on connect
 * and the attempted addresses; `destroyAfter` destroys the socket that long after it started.
 */
function scenario(routes, { destroyAfter } = {}) {
  return withPorts(async (net, t, ports) => {
    const made = [];
    try {
      let port = 0;
      for (const [kind, address] of routes) {
        const r = await route(kind, address, port);
        port = r.port;
        made.push(r);
      }
      ports.push(port);
      const addresses = routes.map(([, address]) => ({ address, family: address.includes(':') ? 6 : 4 }));
      // (The lookup answers at once, so the listeners go on before connect().)
      const socket = new net.Socket();
      t.events(socket, EVENTS.filter((e) => e !== 'connect'));
      socket.connect({
        host: 'localhost',
        port,
        autoSelectFamily: true,
        autoSelectFamilyAttemptTimeout: ATTEMPT_DELAY,
        lookup: (host, options, cb) => cb(null, options.all ? addresses : addresses[0].address, 4),
      });
      for (const r of made) r.start();
      socket.on('connect', () => {
        t.push('connect', socket.remoteAddress, socket.remotePort);
        socket.destroy();
      });
      const timer = destroyAfter && setTimeout(() => socket.destroy(), destroyAfter);
      await once(socket, 'close', 8000);
      clearTimeout(timer);
      t.push('attempted', socket.autoSelectFamilyAttemptedAddresses);
    } finally {
      for (const r of made) await r.close();
    }
  });
}

/** Run a scenario on one implementation; its trace. */
async function traceOf(net, fn) {
  const t = new Trace();
  await fn(net, t);
  return t.entries;
}

const AGGREGATE = (errors) => ({
  class: 'AggregateError',
  name: 'AggregateError',
  message: '',
  code: errors[0].code,
  errors,
});

function connectError(code, errno, address) {
  return {
    class: 'Error',
    name: 'Error',
    message: `connect ${code} ${address}:PORT`,
    code,
    errno,
    syscall: 'connect',
    address,
    port: 'PORT',
  };
}

const ECONNREFUSED = -111;
const ETIMEDOUT = -110;

// --- where Node and this module agree -------------------------------------------------------

test('first route accepts at once, second never: connects to the first, as node', () =>
  compare(scenario([['at once', '127.0.0.1'], ['never', '127.0.0.2']]), { timeout: 15000 }));

test('first route never answers, second accepts at once: connects to the second, as node', () =>
  compare(scenario([['never', '127.0.0.1'], ['at once', '127.0.0.2']]), { timeout: 15000 }));

test('first route accepts late, second at once: the second wins, as node', () =>
  compare(scenario([['late', '127.0.0.1'], ['at once', '127.0.0.2']]), { timeout: 15000 }));

test('IPv6 route never answers, IPv4 accepts at once: families alternate, as node', () =>
  compare(scenario([['never', '::1'], ['at once', '127.0.0.1']]), { timeout: 15000 }));

test('destroyed while two attempts are under way: closes both, as node', () =>
  compare(scenario([['never', '127.0.0.1'], ['never', '127.0.0.2']], { destroyAfter: 250 }), {
    timeout: 15000,
  }));

// --- where this module keeps the slow attempt alive ---------------------------------------

test('first route accepts late, second refuses: node fails with ETIMEDOUT, ours connects late', async () => {
  const fn = scenario([['late', '127.0.0.1'], ['refused', '127.0.0.2']]);
  const start = [
    ['lookup', null, '127.0.0.1', 4, 'localhost'],
    ['lookup', null, '127.0.0.2', 4, 'localhost'],
    ['connectionAttempt', '127.0.0.1', 'PORT', 4],
    ['connectionAttemptTimeout', '127.0.0.1', 'PORT', 4],
    ['connectionAttempt', '127.0.0.2', 'PORT', 4],
    ['connectionAttemptFailed', '127.0.0.2', 'PORT', 4, connectError('ECONNREFUSED', ECONNREFUSED, '127.0.0.2')],
  ];
  const attempted = ['attempted', ['127.0.0.1:PORT', '127.0.0.2:PORT']];
  assert.deepEqual(await traceOf(nodeNet, fn), [
    ...start,
    [
      'error',
      AGGREGATE([
        connectError('ETIMEDOUT', ETIMEDOUT, '127.0.0.1'),
        connectError('ECONNREFUSED', ECONNREFUSED, '127.0.0.2'),
      ]),
    ],
    ['close', true],
    attempted,
  ]);
  const ours = loadOurs();
  if (ours === nodeNet) return;
  assert.deepEqual(await traceOf(ours, fn), [
    ...start,
    ['connect', '127.0.0.1', 'PORT'],
    ['ready'],
    ['close', false],
    attempted,
  ]);
});

test('first route refuses late, second refuses at once: every real error is reported', async () => {
  const fn = scenario([['late refused', '127.0.0.1'], ['refused', '127.0.0.2']]);
  const ours = loadOurs();
  if (ours === nodeNet) return;
  const trace = await traceOf(ours, fn);
  const refused = (address) => connectError('ECONNREFUSED', ECONNREFUSED, address);
  assert.deepEqual(trace, [
    ['lookup', null, '127.0.0.1', 4, 'localhost'],
    ['lookup', null, '127.0.0.2', 4, 'localhost'],
    ['connectionAttempt', '127.0.0.1', 'PORT', 4],
    ['connectionAttemptTimeout', '127.0.0.1', 'PORT', 4],
    ['connectionAttempt', '127.0.0.2', 'PORT', 4],
    ['connectionAttemptFailed', '127.0.0.2', 'PORT', 4, refused('127.0.0.2')],
    ['connectionAttemptFailed', '127.0.0.1', 'PORT', 4, refused('127.0.0.1')],
    ['error', AGGREGATE([refused('127.0.0.2'), refused('127.0.0.1')])],
    ['close', true],
    ['attempted', ['127.0.0.1:PORT', '127.0.0.2:PORT']],
  ]);
});

test('a local port makes the attempts sequential again, as in node', () =>
  compare(
    withPorts(async (net, t, ports) => {
      const slow = await route('never', '127.0.0.1', 0);
      const fast = await route('at once', '127.0.0.2', slow.port);
      ports.push(slow.port);
      try {
        const localPort = await freePort('127.0.0.1');
        ports.push(localPort);
        const addresses = [
          { address: '127.0.0.1', family: 4 },
          { address: '127.0.0.2', family: 4 },
        ];
        const socket = new net.Socket();
        t.events(socket, EVENTS.filter((e) => e !== 'connect'));
        socket.connect({
          host: 'localhost',
          port: slow.port,
          localPort,
          autoSelectFamily: true,
          autoSelectFamilyAttemptTimeout: ATTEMPT_DELAY,
          lookup: (host, options, cb) => cb(null, addresses),
        });
        socket.on('connect', () => {
          t.push('connect', socket.remoteAddress, socket.localPort);
          socket.destroy();
        });
        await once(socket, 'close', 8000);
      } finally {
        await slow.close();
        await fast.close();
      }
    }),
    { timeout: 15000 },
  ));

test("destroy(err) then connect() to two refusing routes: the 'error' of each is emitted, as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const a = await route('at once', '127.0.0.1', 0);
      const port = await freePort('127.0.0.2');
      ports.push(a.port, port);
      try {
        const socket = net.connect(a.port, '127.0.0.1');
        await once(socket, 'connect');
        t.events(socket, EVENTS);
        let closes = 0;
        const closedTwice = new Promise((resolve) => socket.on('close', () => ++closes === 2 && resolve()));
        socket.destroy(new Error('destroyed first'));
        // In the tick of the destroy, before its 'error': the next attempt's handle resets the
        // stream (Node's initSocketHandle), so the connect's own failure is emitted too.
        socket.connect({
          host: 'localhost',
          port,
          autoSelectFamily: true,
          // (Answering after the old handle's 'close', which node:net emits in the loop's
          // close phase and this module earlier: see the README's known differences.)
          lookup: (host, options, cb) =>
            setTimeout(cb, 20, null, [
              { address: '127.0.0.2', family: 4 },
              { address: '127.0.0.3', family: 4 },
            ]),
        });
        await closedTwice;
      } finally {
        await a.close();
      }
    }),
    { timeout: 15000 },
  ));

// Node gives each attempt after the first a handle of its own (initSocketHandle), and the byte
// counters are the handle's: an accepted socket connect()ed again, whose first attempt fails
// on its own connection (EISCONN), counts from 0 on the connection the second attempt makes.
test("connect() again on an accepted socket with autoSelectFamily: the next attempt's handle counts bytes from 0, as node", () =>
  compare(
    withPorts(async (net, t, ports) => {
      const conns = [];
      const server = net.createServer((c) => conns.push(c.on('error', () => {})));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address();
      ports.push(port);
      const client = nodeNet.connect(port, '127.0.0.1').on('error', () => {});
      try {
        while (conns.length === 0) await new Promise((resolve) => setImmediate(resolve));
        const [socket] = conns;
        t.events(socket, EVENTS);
        await new Promise((resolve) => socket.write('hello', resolve));
        t.push('before', socket.bytesWritten);
        socket.connect({
          host: 'name',
          port,
          autoSelectFamily: true,
          lookup: (host, options, cb) =>
            setImmediate(cb, null, [
              { address: '::1', family: 6 },
              { address: '127.0.0.1', family: 4 },
            ]),
        });
        await once(socket, 'connect');
        t.push('after', socket.bytesWritten, socket.bytesRead);
      } finally {
        client.destroy();
        for (const c of conns) c.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    }),
  ));
