'use strict';
// Existing descriptors: new Socket({ fd }) and listen({ fd }) / listen({ handle: { fd } }).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { compare, settle } = require('./helpers/compare');

test('descriptors that are not sockets: thrown ERR_INVALID_FD_TYPE / emitted listen EINVAL', async () => {
  await compare(async (net, t) => {
    const fd = fs.openSync(__filename, 'r');
    try {
      t.call('new Socket({fd: file})', () => new net.Socket({ fd }));
      t.call('new Socket({fd: -1})', () => new net.Socket({ fd: -1 }));
      t.call('new Socket({fd: 1.5})', () => new net.Socket({ fd: 1.5 }));
      t.call("new Socket({fd: '3'})", () => new net.Socket({ fd: '3' }));
      const server = net.createServer();
      t.events(server, ['listening', 'error', 'close'], 'server:');
      t.call('listen({fd: file})', () => server.listen({ fd }) === server);
      await settle();
      t.push('listening', server.listening, server.address());
    } finally {
      fs.closeSync(fd);
    }
  });
});

// The listening socket comes from a node:net server in this process, inherited as fd 3 by a
// child (this process's loop is blocked in spawnSync meanwhile, so only the child accepts). The
// connected socket adopted by new Socket({ fd }) is a node:net client's, after node stops reading
// it; the child exits right after, so nothing is closed twice.
test('listen({ fd }) serves a listening socket, new Socket({ fd }) adopts a connected one', async () => {
  const nodeNet = require('node:net');
  const provider = nodeNet.createServer();
  await new Promise((r) => provider.listen(0, '127.0.0.1', r));
  const port = provider.address().port;
  const script = `
    const net = require(process.env.ROOT);
    const nodeNet = require('node:net');
    const server = net.createServer((s) => s.end('served'));
    server.listen({ handle: { fd: 3 } }, () => {
      console.log('address', server.address().port === Number(process.env.PORT));
      const c = nodeNet.connect(Number(process.env.PORT), '127.0.0.1');
      let reply = '';
      c.on('data', (d) => (reply += d));
      c.on('end', () => {
        console.log('reply', reply);
        const peer = nodeNet.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1', () => {
          // (On an immediate: node:net starts reading right after its 'connect' listeners, and
          // its handle must not read, or take the peer's FIN and close the descriptor, first.)
          const raw = nodeNet.connect(peer.address().port, '127.0.0.1', () => setImmediate(() => {
            raw._handle.readStop();
            const adopted = new net.Socket({ fd: raw._handle.fd });
            console.log('adopted', adopted.readyState, adopted.remotePort === peer.address().port);
            adopted.end('echo me');
            let got = '';
            adopted.on('data', (d) => (got += d));
            adopted.on('end', () => {
              console.log('echo', got);
              process.exit(0);
            });
          }));
        });
      });
    });
  `;
  try {
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 10000,
      stdio: ['ignore', 'pipe', 'pipe', provider._handle.fd],
      env: { ...process.env, ROOT: path.resolve(__dirname, '..'), PORT: String(port) },
    });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'address true\nreply served\nadopted open true\necho echo me\n');
  } finally {
    await new Promise((r) => provider.close(r));
  }
});

test('listen(otherServer): the second server listens on the same socket and serves it', async () => {
  const net = require('..');
  const a = net.createServer((s) => s.end('a'));
  await new Promise((r) => a.listen(0, '127.0.0.1', r));
  const b = net.createServer((s) => s.end('b'));
  await new Promise((r) => b.listen(a, r));
  assert.equal(b.address().port, a.address().port);
  assert.equal(b.listening, true);
  const reply = await new Promise((resolve, reject) => {
    const c = net.connect(a.address().port, '127.0.0.1');
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('error', reject);
    c.on('close', () => resolve(got));
  });
  // Node hands the handle over to the new server; here both serve the one socket.
  assert.ok(reply === 'a' || reply === 'b', `reply ${reply}`);
  await Promise.all([new Promise((r) => a.close(r)), new Promise((r) => b.close(r))]);
  await settle(); // the accepted socket's descriptor closes just after the servers' 'close'
  assert.equal(net[Symbol.for('rsnet.liveHandles')](), 0);
});

// The first data of an adopted descriptor comes where libuv's first poll of it would bring it:
// in this iteration's poll phase when adopted in a timer or an immediate, after the immediates
// when adopted in a poll-phase callback. The descriptor is a node:net client's, paused before
// it read anything; each child exits once it has seen the data, so nothing is closed twice.
test("new Socket({ fd }) with data waiting: its first 'data' comes in node's phase", async () => {
  const { PRELUDE, OURS, runChild, outcome } = require('./helpers/child');
  const script = `${PRELUDE}
    const nodeNet = require('node:net');
    const where = process.env.WHERE;
    const order = [];
    const peer = nodeNet.createServer((c) => c.write('hello')).listen(0, '127.0.0.1', () => {
      const raw = nodeNet.connect(peer.address().port, '127.0.0.1');
      raw.pause();
      raw.on('connect', () => setTimeout(adopt, 50));
      function adopt() {
        const start = () => {
          const s = new net.Socket({ fd: raw._handle.fd });
          s.on('data', (d) => {
            order.push('data ' + d);
            setTimeout(() => { log(where, order.join(', ')); process.exit(0); }, 20);
          });
          process.nextTick(() => order.push('tick'));
          setImmediate(() => order.push('immediate'));
        };
        if (where === 'timer') start();
        else if (where === 'immediate') setImmediate(start);
        else fs.stat(process.execPath, start);
      }
    });
  `;
  for (const where of ['timer', 'immediate', 'poll']) {
    const opts = { env: { WHERE: where }, limitMs: 10000 };
    const [expected, actual] = await Promise.all([runChild(script, 'node:net', opts), runChild(script, OURS, opts)]);
    assert.deepEqual(outcome(actual), outcome(expected), where);
    assert.match(expected.stdout, /data hello/);
  }
});
