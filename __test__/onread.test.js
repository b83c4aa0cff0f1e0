'use strict';
// The onread option: data lands in the caller's buffer and goes to its callback, not 'data'.

const { test } = require('node:test');
const { compare, once, settle } = require('./helpers/compare');

const payload = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789'.repeat(50));

async function scenario(net, t, makeOnread) {
  const server = net.createServer((s) => s.end(payload));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const received = [];
  let calls = 0;
  let paused = false;
  const client = net.connect({
    port: server.address().port,
    host: '127.0.0.1',
    onread: makeOnread((n, buf) => {
      calls++;
      received.push(Buffer.from(buf.subarray(0, n)));
      // The second callback pauses reading; resume() brings the rest.
      if (calls === 2) {
        paused = true;
        setTimeout(() => client.resume(), 20);
        return false;
      }
      return undefined;
    }),
  });
  let dataEvents = 0;
  client.on('data', () => dataEvents++);
  await once(client, 'end');
  t.push({ paused, dataEvents, received: Buffer.concat(received).equals(payload), bytesRead: client.bytesRead });
  client.destroy();
  await once(client, 'close');
  await new Promise((r) => server.close(r));
  await settle();
}

test('onread with a buffer: every byte through the callback, false pauses, resume() goes on', async () => {
  await compare((net, t) =>
    scenario(net, t, (callback) => ({ buffer: Buffer.alloc(64), callback })),
  );
});

test('onread with a buffer function: a fresh buffer for each read', async () => {
  await compare((net, t) => {
    let made = 0;
    return scenario(net, t, (callback) => ({
      buffer: () => {
        made++;
        return new Uint8Array(100);
      },
      callback,
    })).then(() => t.push('buffers were made', made > 1));
  });
});

test('onread that is not well formed is ignored: data flows as usual', async () => {
  await compare(async (net, t) => {
    const server = net.createServer((s) => s.end('hello'));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect({ port: server.address().port, host: '127.0.0.1', onread: { buffer: 5, callback() {} } });
    let got = '';
    client.on('data', (d) => (got += d));
    await once(client, 'end');
    t.push(got);
    client.destroy();
    await once(client, 'close');
    await new Promise((r) => server.close(r));
  });
});

test('onread: 4 MiB through a Uint8Array, pausing every 50 reads; every byte in order, as node', async () => {
  const crypto = require('node:crypto');
  const { prng, sha256 } = require('./helpers/data');
  const big = prng(4 << 20, 7);
  await compare(async (net, t) => {
    const server = net.createServer((s) => s.end(big));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const hash = crypto.createHash('sha256');
    let calls = 0;
    let total = 0;
    const client = net.connect({
      port: server.address().port,
      host: '127.0.0.1',
      onread: {
        buffer: new Uint8Array(16384),
        callback(n, buf) {
          hash.update(buf.subarray(0, n));
          total += n;
          if (++calls % 50 === 0) {
            setImmediate(() => client.resume());
            return false;
          }
          return undefined;
        },
      },
    });
    await once(client, 'end', 20000);
    t.push({ total, bytesRead: client.bytesRead, intact: hash.digest('hex') === sha256(big) });
    client.destroy();
    await once(client, 'close');
    await new Promise((r) => server.close(r));
    await settle();
  });
});
