'use strict';
// Write callbacks are called exactly once, whatever happens to the socket.

const { test } = require('node:test');
const { compare, once, settle } = require('./helpers/compare');

async function pairWithPausedPeer(net) {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const accepted = once(server, 'connection');
  const client = net.connect(server.address().port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted;
  return { server, client, peer };
}

test('destroy() with a write still queued: its callback runs once, before close', async () => {
  await compare(async (net, t) => {
    const { server, client, peer } = await pairWithPausedPeer(net);
    const big = Buffer.alloc(16 << 20, 0x62);
    let calls = 0;
    t.call('write', () =>
      client.write(big, (err) => {
        calls++;
        t.push('write callback', err, client.destroyed);
      }),
    );
    t.events(client, ['error', 'close'], 'client:');
    client.destroy();
    await once(client, 'close');
    await settle();
    t.push('calls', calls);
    peer.destroy();
    await new Promise((r) => server.close(r));
  });
});

test('end() after a queued write: write callback, then finish, then the peer gets everything', async () => {
  await compare(async (net, t) => {
    const { server, client, peer } = await pairWithPausedPeer(net);
    const big = Buffer.alloc(8 << 20, 0x63);
    const order = [];
    client.write(big, (err) => order.push(['write callback', err]));
    client.end(() => order.push(['end callback']));
    client.on('finish', () => order.push(['finish']));
    let received = 0;
    peer.on('data', (d) => (received += d.length));
    peer.resume();
    await once(peer, 'end');
    t.push(order, received);
    peer.end();
    await once(client, 'close');
    await new Promise((r) => server.close(r));
  });
});

// libuv's close of a stream fails its pending requests first, each in a callback of its own
// (a write's, then the shutdown's), and Node runs the ticks queued so far after each: the ticks
// a throwing tick left behind, or one a write callback queued, run before 'close'.
test("a close with a shutdown or a write pending: the ticks waiting run before 'close', as node", async () => {
  const assert = require('node:assert/strict');
  const { OURS, PRELUDE, runChild, outcome } = require('./helpers/child');
  const script = `${PRELUDE}
process.on('uncaughtException', (e) => log('uncaught', e.message));
const peers = [];
const srv = net.createServer({ pauseOnConnect: true }, (p) => { p.on('error', () => {}); peers.push(p); });
srv.listen(0, '127.0.0.1', async () => {
  const open = async () => {
    const s = net.connect(srv.address().port, '127.0.0.1');
    s.on('error', (e) => log('error', e.code));
    s.on('close', (h) => log('close', h));
    await new Promise((r) => s.once('connect', r));
    return s;
  };
  const closed = (s) => new Promise((r) => s.once('close', () => setTimeout(r, 5)));
  let s = await open();
  await new Promise((r) => setImmediate(r));
  log('end() shutting down, then a write after it');
  s.end();
  process.nextTick(() => { throw new Error('tick'); });
  s.write('x', (e) => log('write cb', e && e.code));
  await closed(s);
  s = await open();
  log('a write queued, then destroy()');
  s.write(Buffer.alloc(16 << 20), (e) => {
    log('queued write cb', e && e.code);
    process.nextTick(() => log('tick of the write cb'));
  });
  process.nextTick(() => { throw new Error('tick 2'); });
  s.destroy();
  await closed(s);
  for (const p of peers) p.destroy();
  srv.close();
});
`;
  const [expected, actual] = await Promise.all([runChild(script, 'node:net'), runChild(script, OURS)]);
  assert.deepEqual(outcome(actual), outcome(expected));
  assert.match(expected.stdout, /write cb ERR_STREAM_WRITE_AFTER_END\nerror ERR_STREAM_WRITE_AFTER_END\nclose true\n/);
  assert.match(expected.stdout, /tick of the write cb\nclose false\n/);
});
