'use strict';
// socket.getTcpInfo(): an extension of this module (TCP_INFO), so no node:net oracle here.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('..');
const { once } = require('./helpers/compare');

test('getTcpInfo(): null until connected, then the kernel figures, null again once closed', async () => {
  const server = net.createServer((s) => s.resume());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect(server.address().port, '127.0.0.1');
  assert.equal(client.getTcpInfo(), null);
  await once(client, 'connect');
  await new Promise((r) => client.write(Buffer.alloc(256 * 1024), r));
  const info = client.getTcpInfo();
  assert.equal(info.state, 1, 'established');
  for (const key of ['rtt', 'rttVar', 'minRtt', 'cwnd', 'ssthresh', 'mss', 'retransmits', 'totalRetransmits', 'packetsInFlight', 'bytesInFlight', 'notSentBytes', 'bytesAcked', 'bytesReceived']) {
    assert.equal(typeof info[key], 'number', key);
    assert.ok(info[key] >= 0, key);
  }
  assert.ok(info.mss > 0);
  assert.ok(info.cwnd > 0);
  client.destroy();
  assert.equal(client.getTcpInfo(), null);
  await once(client, 'close');
  await new Promise((r) => server.close(r));
});

test('getTcpInfo() is null on a Unix domain socket', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsnet-tcpinfo-'));
  try {
    const server = net.createServer((s) => s.end());
    await new Promise((r) => server.listen(path.join(dir, 's.sock'), r));
    const client = net.connect(path.join(dir, 's.sock'));
    await once(client, 'connect');
    assert.equal(client.getTcpInfo(), null);
    client.destroy();
    await once(client, 'close');
    await new Promise((r) => server.close(r));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
