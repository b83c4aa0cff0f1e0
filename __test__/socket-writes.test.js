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
