'use strict';
// Argument validation and static behaviour, compared against node:net, without network I/O:
// connect()/createConnection()/Socket#connect() argument errors, Socket method argument
// errors and return values on an unconnected socket, write() errors (thrown vs emitted),
// properties of a fresh Socket, isIP/isIPv4/isIPv6 over a large table, and the exports.
//
// Scenarios that do not throw from connect() use IP literal hosts (the connection attempt is
// deferred to a later tick) or a custom `lookup` that never answers, and destroy the socket
// synchronously, so no connection is ever attempted.

const { test } = require('node:test');
const { compare, describe: describeValue, settle, once } = require('./helpers/compare.js');

const SOCKET_EVENTS = ['connect', 'ready', 'lookup', 'data', 'end', 'finish', 'error', 'close', 'timeout', 'drain'];

/** Destroy a socket and wait for its 'close' event (closing a native handle takes a turn). */
async function destroyAndWait(s) {
  const closed = s.closed ? null : once(s, 'close');
  s.destroy();
  await closed;
  await settle(1);
}

/**
 * Run `fn` (which may create a socket via the given net) and record whether it threw or what it
 * returned; if it returned a socket, record its synchronous state and every event it emits
 * after being destroyed synchronously.
 */
async function tryCall(t, label, fn) {
  let ret;
  try {
    ret = fn();
  } catch (e) {
    t.call(label, () => {
      throw e;
    });
    return;
  }
  t.push([label, 'returned', describeValue(ret)]);
  if (ret && typeof ret.destroy === 'function') {
    t.push([label, 'state', { connecting: ret.connecting, pending: ret.pending, readyState: ret.readyState }]);
    t.events(ret, SOCKET_EVENTS, label + ' ');
    await destroyAndWait(ret);
  }
}

// ---------------------------------------------------------------------------------------------
// connect argument validation

const CONNECT_CASES = {
  // missing arguments
  'no args': [],
  '{}': [{}],
  '{host} only': [{ host: '127.0.0.1' }],
  undefined: [undefined],
  // port type / range
  '-1': [-1],
  '65536': [65536],
  NaN: [NaN],
  '1.5': [1.5],
  Infinity: [Infinity],
  true: [true],
  null: [null],
  '{port: -1}': [{ port: -1 }],
  '{port: 65536}': [{ port: 65536 }],
  "{port: '65536'}": [{ port: '65536' }],
  "{port: 'abc'}": [{ port: 'abc' }],
  "{port: ''}": [{ port: '' }],
  "{port: '  '}": [{ port: '  ' }],
  '{port: null}': [{ port: null }],
  '{port: true}': [{ port: true }],
  '{port: {}}': [{ port: {} }],
  '{port: []}': [{ port: [] }],
  '{port: 1.5}': [{ port: 1.5 }],
  '{port: NaN}': [{ port: NaN }],
  '{port: 1n}': [{ port: 1n }],
  '-1 with host': [-1, '127.0.0.1'],
  '65536 with host and cb': [65536, '127.0.0.1', () => {}],
  // host type
  '{port, host: 123}': [{ port: 9, host: 123 }],
  '{port, host: {}}': [{ port: 9, host: {} }],
  '{port, host: true}': [{ port: 9, host: true }],
  '{port, host: []}': [{ port: 9, host: [] }],
  // localAddress / localPort
  "{localAddress: 'abc'}": [{ port: 9, host: '127.0.0.1', localAddress: 'abc' }],
  '{localAddress: 123}': [{ port: 9, host: '127.0.0.1', localAddress: 123 }],
  "{localAddress: ''}": [{ port: 9, host: '127.0.0.1', localAddress: '' }],
  "{localAddress: '1.2.3'}": [{ port: 9, host: '127.0.0.1', localAddress: '1.2.3' }],
  "{localAddress: 'localhost'}": [{ port: 9, host: '127.0.0.1', localAddress: 'localhost' }],
  "{localPort: 'abc'}": [{ port: 9, host: '127.0.0.1', localPort: 'abc' }],
  '{localPort: {}}': [{ port: 9, host: '127.0.0.1', localPort: {} }],
  // family (validated only when a lookup is needed)
  "{family: 5, host: 'localhost'}": [{ port: 9, host: 'localhost', family: 5 }],
  "{family: '4', host: 'localhost'}": [{ port: 9, host: 'localhost', family: '4' }],
  "{family: -1, host: 'localhost'}": [{ port: 9, host: 'localhost', family: -1 }],
  // lookup (validated only when a lookup is needed)
  "{lookup: 1, host: 'localhost'}": [{ port: 9, host: 'localhost', lookup: 1 }],
  "{lookup: 'x', host: 'localhost'}": [{ port: 9, host: 'localhost', lookup: 'x' }],
  "{lookup: {}, host: 'localhost'}": [{ port: 9, host: 'localhost', lookup: {} }],
  // hints
  "{hints: 'x', host: 'localhost'}": [{ port: 9, host: 'localhost', hints: 'x' }],
  "{hints: -1, host: 'localhost'}": [{ port: 9, host: 'localhost', hints: -1 }],
  // timeout
  '{timeout: -1}': [{ port: 9, host: '127.0.0.1', timeout: -1 }],
  "{timeout: 'x'}": [{ port: 9, host: '127.0.0.1', timeout: 'x' }],
  '{timeout: NaN}': [{ port: 9, host: '127.0.0.1', timeout: NaN }],
  '{timeout: Infinity}': [{ port: 9, host: '127.0.0.1', timeout: Infinity }],
  '{timeout: {}}': [{ port: 9, host: '127.0.0.1', timeout: {} }],
  // keepAlive / autoSelectFamily
  "{keepAliveInitialDelay: 'x'}": [{ port: 9, host: '127.0.0.1', keepAliveInitialDelay: 'x' }],
  "{autoSelectFamily: 'x'}": [{ port: 9, host: '127.0.0.1', autoSelectFamily: 'x' }],
  "{autoSelectFamilyAttemptTimeout: 'x'}": [{ port: 9, host: '127.0.0.1', autoSelectFamilyAttemptTimeout: 'x' }],
  '{autoSelectFamilyAttemptTimeout: -1}': [{ port: 9, host: '127.0.0.1', autoSelectFamilyAttemptTimeout: -1 }],
  '{autoSelectFamilyAttemptTimeout: 0}': [{ port: 9, host: '127.0.0.1', autoSelectFamilyAttemptTimeout: 0 }],
  // socket constructor options passed through connect()
  "{fd: 'x'}": [{ port: 9, host: '127.0.0.1', fd: 'x' }],
  '{fd: -5}': [{ port: 9, host: '127.0.0.1', fd: -5 }],
  "{highWaterMark: 'x'}": [{ port: 9, host: '127.0.0.1', highWaterMark: 'x' }],
  '{signal: 1}': [{ port: 9, host: '127.0.0.1', signal: 1 }],
};

// Accepted by node (no synchronous validation): IP literal hosts, destroyed at once.
const CONNECT_ACCEPTED = {
  'port 0 with host': [0, '127.0.0.1'],
  "numeric string port '9'": ['9', '127.0.0.1'],
  "{port: ' 9 '}": [{ port: ' 9 ', host: '127.0.0.1' }],
  "{port: '0x10'}": [{ port: '0x10', host: '127.0.0.1' }],
  "{port: '1e3'}": [{ port: '1e3', host: '127.0.0.1' }],
  "{port: '-0'}": [{ port: '-0', host: '127.0.0.1' }],
  '{port: 65535}': [{ port: 65535, host: '127.0.0.1' }],
  '(port, non-string host, cb)': [9, 123, () => {}],
  '(port, host, non-function cb)': [9, '127.0.0.1', 5],
  '{family: 5} with IP host': [{ port: 9, host: '127.0.0.1', family: 5 }],
  "{family: 'x'} with IP host": [{ port: 9, host: '127.0.0.1', family: 'x' }],
  '{lookup: 1} with IP host': [{ port: 9, host: '127.0.0.1', lookup: 1 }],
  "{hints: 'x'} with IP host": [{ port: 9, host: '127.0.0.1', hints: 'x' }],
  "{noDelay: 'x'}": [{ port: 9, host: '127.0.0.1', noDelay: 'x' }],
  "{keepAlive: 'x'}": [{ port: 9, host: '127.0.0.1', keepAlive: 'x' }],
  '{onread: 1}': [{ port: 9, host: '127.0.0.1', onread: 1 }],
  '{localPort: -1}': [{ port: 9, host: '127.0.0.1', localPort: -1 }],
  "{localAddress: '127.0.0.1'}": [{ port: 9, host: '127.0.0.1', localAddress: '127.0.0.1' }],
  '{timeout: 0}': [{ port: 9, host: '127.0.0.1', timeout: 0 }],
  '{timeout: 1.5}': [{ port: 9, host: '127.0.0.1', timeout: 1.5 }],
  '{allowHalfOpen: true}': [{ port: 9, host: '::1', allowHalfOpen: true }],
  // Hosts that need a lookup: a custom lookup that never answers keeps these free of I/O.
  "{family: 'IPv4', host: 'localhost', lookup: never}": [{ port: 9, host: 'localhost', family: 'IPv4', lookup: () => {} }],
  "{family: 'IPv6', host: 'localhost', lookup: never}": [{ port: 9, host: 'localhost', family: 'IPv6', lookup: () => {} }],
  "{family: 0, host: 'localhost', lookup: never}": [{ port: 9, host: 'localhost', family: 0, lookup: () => {} }],
};

for (const [fnName, make] of [
  ['net.connect', (net) => (...a) => net.connect(...a)],
  ['net.createConnection', (net) => (...a) => net.createConnection(...a)],
  ['new Socket().connect', (net) => (...a) => new net.Socket().connect(...a)],
]) {
  test(`${fnName}: invalid arguments throw`, async () => {
    await compare(async (net, t) => {
      const f = make(net);
      for (const [name, args] of Object.entries(CONNECT_CASES)) await tryCall(t, `${fnName}(${name})`, () => f(...args));
    });
  });

test('Socket#connect: state of the socket after connect() threw', async () => {
  await compare(async (net, t) => {
    for (const [name, args] of Object.entries(CONNECT_CASES)) {
      const s = new net.Socket();
      t.events(s, SOCKET_EVENTS, name + ' event:');
      let threw = false;
      try {
        s.connect(...args);
      } catch {
        threw = true;
      }
      t.push(name, threw, { connecting: s.connecting, pending: s.pending, readyState: s.readyState, destroyed: s.destroyed });
      await destroyAndWait(s);
    }
  });
});
  test(`${fnName}: arguments node accepts without validation`, async () => {
    await compare(async (net, t) => {
      const f = make(net);
      for (const [name, args] of Object.entries(CONNECT_ACCEPTED)) await tryCall(t, `${fnName}(${name})`, () => f(...args));
    });
  });
}

test('connect() on a destroyed / already connecting socket', async () => {
  await compare(async (net, t) => {
    const s = new net.Socket();
    t.events(s, SOCKET_EVENTS, 'a:');
    s.destroy();
    await tryCall(t, 'connect after destroy', () => s.connect(9, '127.0.0.1'));
    t.push('state', s.destroyed, s.connecting, s.readyState);
    await destroyAndWait(s);

    const s2 = new net.Socket();
    t.events(s2, SOCKET_EVENTS, 'b:');
    t.push('first connect returns socket', s2.connect(9, '127.0.0.1') === s2);
    t.call('second connect while connecting', () => s2.connect(9, '127.0.0.1') === s2);
    await destroyAndWait(s2);
  });
});

test('connect() with timeout option sets socket.timeout', async () => {
  await compare(async (net, t) => {
    for (const timeout of [0, 1, 100, 1.5]) {
      const s = net.connect({ port: 9, host: '127.0.0.1', timeout });
      t.push(timeout, s.timeout);
      await destroyAndWait(s);
    }
  });
});

test('custom lookup is called synchronously with (host, options, callback)', async () => {
  await compare(async (net, t) => {
    const cases = {
      default: { host: 'localhost' },
      'family 4': { host: 'localhost', family: 4 },
      'family 6': { host: 'localhost', family: 6 },
      'family 0': { host: 'localhost', family: 0 },
      'autoSelectFamily false': { host: 'localhost', autoSelectFamily: false },
      'autoSelectFamily true': { host: 'localhost', autoSelectFamily: true },
      'hints 1024': { host: 'localhost', hints: 1024 },
      'no host': {},
      'empty host': { host: '' },
      'IP host (no lookup)': { host: '127.0.0.1' },
      'IPv6 host (no lookup)': { host: '::1' },
    };
    for (const [name, opts] of Object.entries(cases)) {
      const calls = [];
      const s = net.connect({
        port: 9,
        ...opts,
        lookup(host, options, cb) {
          calls.push({ host, options: { ...options }, cbType: typeof cb, argc: arguments.length });
        },
      });
      t.push(name, calls, { connecting: s.connecting, readyState: s.readyState });
      t.events(s, SOCKET_EVENTS, name + ':');
      await destroyAndWait(s);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Socket construction

test('new Socket(options) validation and resulting properties', async () => {
  await compare(async (net, t) => {
    const cases = {
      "new Socket('x')": () => new net.Socket('x'),
      'new Socket(null)': () => new net.Socket(null),
      'Socket() without new': () => net.Socket(),
      "new Socket({fd: 'x'})": () => new net.Socket({ fd: 'x' }),
      'new Socket({fd: -5})': () => new net.Socket({ fd: -5 }),
      'new Socket({fd: 1.5})': () => new net.Socket({ fd: 1.5 }),
      "new Socket({highWaterMark: 'x'})": () => new net.Socket({ highWaterMark: 'x' }),
      'new Socket({signal: 1})': () => new net.Socket({ signal: 1 }),
      'new Socket({onread: 1})': () => new net.Socket({ onread: 1 }),
      "new Socket({allowHalfOpen: 'x'})": () => new net.Socket({ allowHalfOpen: 'x' }),
      'new Socket({allowHalfOpen: true})': () => new net.Socket({ allowHalfOpen: true }),
      'new Socket({highWaterMark: 100})': () => new net.Socket({ highWaterMark: 100 }),
      'new Socket({readableHighWaterMark, writableHighWaterMark})': () =>
        new net.Socket({ readableHighWaterMark: 100, writableHighWaterMark: 200 }),
      'new Socket({readable: false, writable: false})': () => new net.Socket({ readable: false, writable: false }),
    };
    for (const [name, make] of Object.entries(cases)) {
      const s = t.call(name, make);
      if (s) {
        t.push(name, {
          isSocket: s instanceof net.Socket,
          allowHalfOpen: s.allowHalfOpen,
          readableHighWaterMark: s.readableHighWaterMark,
          writableHighWaterMark: s.writableHighWaterMark,
          readable: s.readable,
          writable: s.writable,
          readyState: s.readyState,
        });
        s.destroy();
      }
    }
    await settle(1);
  });
});

const FRESH_PROPS = [
  'readyState', 'pending', 'connecting', 'destroyed', 'bytesRead', 'bytesWritten', 'bufferSize',
  'remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort', 'localFamily',
  'timeout', 'readable', 'writable', 'allowHalfOpen', 'readableLength', 'writableLength',
  'readableHighWaterMark', 'writableHighWaterMark', 'readableEnded', 'writableEnded',
  'writableFinished', 'readableFlowing', 'closed', 'errored', 'autoSelectFamilyAttemptedAddresses',
];

function props(s) {
  const o = {};
  for (const p of FRESH_PROPS) o[p] = s[p] === undefined ? 'undefined' : s[p];
  return o;
}

test('properties of a fresh Socket, after connect() (sync) and after destroy', async () => {
  await compare(async (net, t) => {
    const s = new net.Socket();
    t.push('fresh', props(s));
    t.push('address()', s.address());
    t.push('isPaused', s.isPaused());
    s.destroy();
    t.push('destroyed', props(s));
    await settle(1);
    t.push('destroyed, later', props(s));

    const c = new net.Socket();
    c.connect(9, '127.0.0.1');
    t.push('connecting', props(c));
    const closed = once(c, 'close');
    c.destroy();
    t.push('connecting then destroyed', props(c));
    await closed;
    t.push('connecting then destroyed, after close', props(c));
  });
});

// ---------------------------------------------------------------------------------------------
// Socket methods on an unconnected socket

test('setTimeout argument validation and return values', async () => {
  await compare(async (net, t) => {
    const s = new net.Socket();
    const values = {
      '-1': -1, "'x'": 'x', NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, null: null,
      undefined: undefined, '{}': {}, "'100'": '100', true: true, '1n': 1n,
    };
    for (const [name, v] of Object.entries(values)) {
      t.call(`setTimeout(${name})`, () => s.setTimeout(v) === s);
      t.push('timeout', s.timeout === undefined ? 'undefined' : s.timeout);
    }
    t.call("setTimeout(1000, 'x')", () => s.setTimeout(1000, 'x') === s);
    t.call('setTimeout(1000, {})', () => s.setTimeout(1000, {}) === s);
    t.call('setTimeout(1000, null)', () => s.setTimeout(1000, null) === s);
    t.call('setTimeout(1000, fn)', () => s.setTimeout(1000, () => {}) === s);
    t.push('listeners', s.listenerCount('timeout'), 'timeout', s.timeout);
    t.call('setTimeout(0, fn) removes the listener', () => s.setTimeout(0, () => {}) === s);
    t.push('listeners', s.listenerCount('timeout'), 'timeout', s.timeout);
    t.call('setTimeout(1.5)', () => s.setTimeout(1.5) === s);
    t.push('timeout', s.timeout);
    t.call('setTimeout(0)', () => s.setTimeout(0) === s);
    t.push('timeout', s.timeout);
    s.destroy();
    await settle(1);
  });
});

test("setTimeout on a socket that never connects still emits 'timeout'", async () => {
  await compare(async (net, t) => {
    const s = new net.Socket();
    t.events(s, SOCKET_EVENTS, 's:');
    s.setTimeout(5, () => t.push('callback'));
    await settle(40);
    t.push('state', s.destroyed, s.readyState);
    s.destroy();
    await settle(1);

    const s2 = new net.Socket();
    t.events(s2, SOCKET_EVENTS, 's2:');
    s2.setTimeout(5);
    s2.destroy();
    await settle(40);
    t.push('destroyed before timeout fired');
  });
});

test('setNoDelay / setKeepAlive / ref / unref / pause / resume on an unconnected socket', async () => {
  await compare(async (net, t) => {
    const s = new net.Socket();
    t.call('setNoDelay()', () => s.setNoDelay() === s);
    t.call('setNoDelay(true)', () => s.setNoDelay(true) === s);
    t.call('setNoDelay(false)', () => s.setNoDelay(false) === s);
    t.call("setNoDelay('x')", () => s.setNoDelay('x') === s);
    t.call('setKeepAlive()', () => s.setKeepAlive() === s);
    t.call('setKeepAlive(true)', () => s.setKeepAlive(true) === s);
    t.call('setKeepAlive(true, 1000)', () => s.setKeepAlive(true, 1000) === s);
    t.call("setKeepAlive(true, 'x')", () => s.setKeepAlive(true, 'x') === s);
    t.call('setKeepAlive(true, -1)', () => s.setKeepAlive(true, -1) === s);
    t.call('setKeepAlive(false)', () => s.setKeepAlive(false) === s);
    t.call('ref()', () => s.ref() === s);
    t.call('unref()', () => s.unref() === s);
    t.call('pause()', () => s.pause() === s);
    t.call('isPaused()', () => s.isPaused());
    t.call('resume()', () => s.resume() === s);
    t.call("setEncoding('utf8')", () => s.setEncoding('utf8') === s);
    t.call("setEncoding('bogus')", () => s.setEncoding('bogus'));
    t.call('address()', () => s.address());
    t.push('state', { readyState: s.readyState, pending: s.pending, destroyed: s.destroyed });
    t.events(s, SOCKET_EVENTS, 's:');
    s.destroy();
    t.call('methods after destroy: setNoDelay', () => s.setNoDelay(true) === s);
    t.call('methods after destroy: setKeepAlive', () => s.setKeepAlive(true) === s);
    t.call('methods after destroy: ref', () => s.ref() === s);
    t.call('methods after destroy: unref', () => s.unref() === s);
    t.call('methods after destroy: address', () => s.address());
    t.call('methods after destroy: setTimeout', () => s.setTimeout(10) === s);
    t.call('methods after destroy: setTimeout(0)', () => s.setTimeout(0) === s);
    await settle(30);
  });
});

test('resetAndDestroy on an unconnected socket emits ERR_SOCKET_CLOSED', async () => {
  await compare(async (net, t) => {
    const s = new net.Socket();
    t.events(s, SOCKET_EVENTS, 's:');
    t.call('resetAndDestroy()', () => s.resetAndDestroy() === s);
    t.push('sync', s.destroyed, s.readyState);
    await settle(5);
  });
});

test('destroy forms on an unconnected socket', async () => {
  await compare(async (net, t) => {
    const a = new net.Socket();
    t.events(a, SOCKET_EVENTS, 'a:');
    t.call('destroy()', () => a.destroy() === a);
    t.call('destroy() again', () => a.destroy() === a);
    await settle(2);
    const b = new net.Socket();
    t.events(b, SOCKET_EVENTS, 'b:');
    t.call('destroy(err)', () => b.destroy(new Error('boom')) === b);
    await settle(2);
    const c = new net.Socket();
    t.events(c, SOCKET_EVENTS, 'c:');
    t.call('destroySoon()', () => c.destroySoon());
    await settle(2);
    t.push('c state', c.destroyed, c.readyState);
    c.destroy();
    await settle(2);
  });
});

// ---------------------------------------------------------------------------------------------
// write / end

/** Call fn(socket) on a fresh socket, recording thrown errors, callbacks and events. */
async function writeCase(net, t, label, fn) {
  const s = new net.Socket();
  t.events(s, SOCKET_EVENTS, label + ' event:');
  const cb = (...a) => t.push([label + ' callback', ...a.map(describeValue)]);
  t.call(label, () => {
    const r = fn(s, cb);
    return r === s ? 'self' : r;
  });
  await settle(5);
  t.push([label + ' state', { destroyed: s.destroyed, readyState: s.readyState, writable: s.writable, writableEnded: s.writableEnded }]);
  s.destroy();
  await settle(1);
}

test('write() with invalid chunk types throws synchronously', async () => {
  await compare(async (net, t) => {
    const chunks = {
      number: 1, 'number with cb': 1, null: null, undefined: undefined, object: {}, array: [1, 2],
      boolean: true, symbol: Symbol('s'), bigint: 1n, function: () => {},
    };
    for (const [name, chunk] of Object.entries(chunks)) {
      await writeCase(net, t, `write(${name})`, (s, cb) => (name.endsWith('cb') ? s.write(chunk, cb) : s.write(chunk)));
    }
    await writeCase(net, t, "write('abc', 'bogus')", (s) => s.write('abc', 'bogus'));
    await writeCase(net, t, "write('abc', 'bogus', cb)", (s, cb) => s.write('abc', 'bogus', cb));
    await writeCase(net, t, 'end(1)', (s) => s.end(1));
    await writeCase(net, t, 'end({})', (s) => s.end({}));
    await writeCase(net, t, "write('abc', 'utf8', 'notfn')", (s) => s.write('abc', 'utf8', 'notfn'));
  });
});

test('write() on a socket that was never connected', async () => {
  await compare(async (net, t) => {
    await writeCase(net, t, "write('abc', cb)", (s, cb) => s.write('abc', cb));
    await writeCase(net, t, "write('')", (s) => s.write(''));
    await writeCase(net, t, 'write(Uint8Array)', (s) => s.write(new Uint8Array(2)));
    await writeCase(net, t, 'write(Buffer, cb)', (s, cb) => s.write(Buffer.from('x'), cb));
    await writeCase(net, t, 'write then bufferSize', (s) => {
      s.write('abc');
      return { bufferSize: s.bufferSize === undefined ? 'undefined' : s.bufferSize, writableLength: s.writableLength };
    });
  });
});

test('write after end: ERR_STREAM_WRITE_AFTER_END', async () => {
  await compare(async (net, t) => {
    await writeCase(net, t, 'end(); write(x, cb)', (s, cb) => {
      s.end();
      return s.write('x', cb);
    });
    await writeCase(net, t, 'end(); write(x)', (s) => {
      s.end();
      return s.write('x');
    });
    await writeCase(net, t, 'end(); end(cb)', (s, cb) => {
      s.end();
      return s.end(cb);
    });
    await writeCase(net, t, 'end(cb) on a never-connected socket', (s, cb) => s.end(cb));
    await writeCase(net, t, "end('data')", (s) => s.end('data'));
  });
});

test('write after destroy: ERR_STREAM_DESTROYED', async () => {
  await compare(async (net, t) => {
    await writeCase(net, t, 'destroy(); write(x, cb)', (s, cb) => {
      s.destroy();
      return s.write('x', cb);
    });
    await writeCase(net, t, 'destroy(); write(x)', (s) => {
      s.destroy();
      return s.write('x');
    });
    await writeCase(net, t, 'destroy(); end(x, cb)', (s, cb) => {
      s.destroy();
      return s.end('x', cb);
    });
    await writeCase(net, t, 'destroy(); write(1) (type check first?)', (s) => {
      s.destroy();
      return s.write(1);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// isIP / isIPv4 / isIPv6

const IP_STRINGS = [
  // IPv4
  '127.0.0.1', '0.0.0.0', '255.255.255.255', '1.2.3.4', '99.99.99.99', '199.249.249.249',
  '249.255.255.255', '256.1.1.1', '300.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.02.3.4',
  '001.2.3.4', '1.2.3.04', '00.0.0.0', '0.0.0.00', '127.000.000.001', '0x7f.0.0.1', '1e1.1.1.1',
  '+1.2.3.4', '1.2.3.-4', '1.2.3.4/24', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4:80',
  '1.2.3.4%eth0', '127.1', '2130706433', '1', '0',
  // whitespace and control characters
  '', ' ', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4\n', '\t1.2.3.4', '1.2.3.4\u0000', '::1 ', ' ::1', '::1\n',
  // non-ASCII digits
  '\u0661.2.3.4', '\uff11.2.3.4',
  // IPv6
  '::', '::1', '::0', '0::0', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7',
  '1::2::3', ':::', ':1', '1:', '1:::2', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:', '0:0:0:0:0:0:0:0', '0:0:0:0:0:0:0:0:0', '01:2::3', '00001::', '12345::1',
  'gggg::1', '2001:db8::', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1/64', '[::1]',
  'fe80:0000:0000:0000:0204:61ff:fe9d:f156', 'a:b:c:d:e:f:0:1',
  // uppercase hex
  'FE80::1', 'ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789',
  'AbCd::eF01',
  // IPv4-mapped / embedded IPv4
  '::ffff:127.0.0.1', '::ffff:1.2.3.4', '::FFFF:1.2.3.4', '::1.2.3.4', '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5:6:7:1.2.3.4', '::ffff:256.1.1.1', '::ffff:1.2.3', '::ffff:0:127.0.0.1',
  '::ffff:01.2.3.4', '::ffff:1.2.3.04', '::ffff:7f00:1', '::FFFF:7F00:1',
  // zone ids
  'fe80::1%eth0', 'fe80::1%', 'fe80::1%1', 'fe80::1%eth0%1', 'fe80::1%eth 0', 'fe80::1%25eth0',
  'fe80::1%en-0.1:2', 'fe80::1%eth_0', 'fe80::1%eth/0', 'fe80::1%%', '::%eth0', '::1%lo',
  '1:2:3:4:5:6:7:8%eth0', '::ffff:1.2.3.4%eth0',
  // names
  'localhost', 'example',
];

test('isIP / isIPv4 / isIPv6 over a table of strings', async () => {
  await compare(async (net, t) => {
    for (const s of IP_STRINGS) t.push(JSON.stringify(s), net.isIP(s), net.isIPv4(s), net.isIPv6(s));
  });
});

test('isIP / isIPv4 / isIPv6 with non-string inputs', async () => {
  await compare(async (net, t) => {
    const inputs = {
      123: 123, undefined: undefined, null: null, '{}': {}, '[]': [], "['127.0.0.1']": ['127.0.0.1'],
      true: true, NaN: NaN, '0x7f000001': 0x7f000001, 'object with toString': { toString: () => '127.0.0.1' },
      "new String('::1')": new String('::1'), 'Buffer(127.0.0.1)': Buffer.from('127.0.0.1'),
      'symbol': Symbol('x'), '1n': 1n,
    };
    for (const [name, v] of Object.entries(inputs)) {
      t.call(`isIP(${name})`, () => net.isIP(v));
      t.call(`isIPv4(${name})`, () => net.isIPv4(v));
      t.call(`isIPv6(${name})`, () => net.isIPv6(v));
    }
    t.call('isIP()', () => net.isIP());
    t.call('isIPv4()', () => net.isIPv4());
    t.call('isIPv6()', () => net.isIPv6());
  });
});

// ---------------------------------------------------------------------------------------------
// Exports

test('exported names and their types', async () => {
  await compare(async (net, t) => {
    for (const name of ['createServer', 'createConnection', 'connect', 'Server', 'Socket', 'Stream', 'isIP', 'isIPv4', 'isIPv6']) {
      t.push(name, typeof net[name], typeof net[name] === 'function' ? net[name].name : null);
    }
    t.push('Stream === Socket', net.Stream === net.Socket);
    t.push('connect === createConnection', net.connect === net.createConnection);
    t.push('lengths', {
      Socket: net.Socket.length, Server: net.Server.length, connect: net.connect.length,
      createConnection: net.createConnection.length, createServer: net.createServer.length,
      isIP: net.isIP.length, isIPv4: net.isIPv4.length, isIPv6: net.isIPv6.length,
    });
    const stream = require('node:stream');
    const EventEmitter = require('node:events');
    const s = new net.Socket();
    t.push('Socket is a Duplex', s instanceof stream.Duplex, s instanceof stream.Stream, s instanceof EventEmitter);
    t.push('Server is an EventEmitter', new net.Server() instanceof EventEmitter);
    t.push('createServer returns Server', net.createServer() instanceof net.Server);
    s.destroy();
    await settle(1);
  });
});

test('other documented exports exist', async () => {
  await compare(async (net, t) => {
    for (const name of [
      'BlockList', 'SocketAddress', 'getDefaultAutoSelectFamily', 'setDefaultAutoSelectFamily',
      'getDefaultAutoSelectFamilyAttemptTimeout', 'setDefaultAutoSelectFamilyAttemptTimeout',
    ]) t.push(name, typeof net[name]);
    t.push('getDefaultAutoSelectFamily()', net.getDefaultAutoSelectFamily());
    t.push('getDefaultAutoSelectFamilyAttemptTimeout()', net.getDefaultAutoSelectFamilyAttemptTimeout());
  });
});

test('documented Socket and Server methods exist', async () => {
  await compare(async (net, t) => {
    const s = new net.Socket();
    for (const m of [
      'address', 'connect', 'destroy', 'destroySoon', 'end', 'pause', 'resume', 'ref', 'unref',
      'setEncoding', 'setKeepAlive', 'setNoDelay', 'setTimeout', 'write', 'resetAndDestroy', 'isPaused',
      'cork', 'uncork', 'pipe', 'read', 'on', 'once', 'emit',
    ]) t.push('Socket#' + m, typeof s[m]);
    t.push('Socket#[Symbol.asyncIterator]', typeof s[Symbol.asyncIterator]);
    const v = new net.Server();
    for (const m of ['address', 'close', 'getConnections', 'listen', 'ref', 'unref', 'on', 'once', 'emit']) {
      t.push('Server#' + m, typeof v[m]);
    }
    t.push('Server#[Symbol.asyncDispose]', typeof v[Symbol.asyncDispose]);
    s.destroy();
    await settle(1);
  });
});
