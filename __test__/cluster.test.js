'use strict';
// Under node:cluster, every worker's server.listen(port) serves the same port: workers listen
// with SO_REUSEPORT and the kernel spreads the connections (see README, "cluster").

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

// The primary picks a free port, forks two workers that each listen on it with this module and
// answer with their id, then connects until both answered (bounded), and shuts everything down.
const script = `
const cluster = require('node:cluster');
const nodeNet = require('node:net');
if (cluster.isPrimary) {
  const probe = nodeNet.createServer().listen(0, '127.0.0.1', () => {
    const port = probe.address().port;
    probe.close(() => {
      const workers = [cluster.fork({ PORT: port }), cluster.fork({ PORT: port })];
      let listening = 0;
      for (const w of workers) {
        w.on('message', (m) => { if (m === 'listening' && ++listening === 2) probeWorkers(port, workers); });
        // A worker that fails ends the run at once.
        w.on('exit', (code) => { if (code) { console.log(JSON.stringify({ workerExit: code })); for (const x of workers) x.kill(); } });
      }
    });
  });
  function probeWorkers(port, workers) {
    const seen = new Set();
    let attempts = 0;
    const next = () => {
      if (seen.size === 2 || attempts++ >= 300) {
        console.log(JSON.stringify({ workersAnswering: seen.size }));
        for (const w of workers) w.kill();
        return;
      }
      const c = nodeNet.connect(port, '127.0.0.1');
      let reply = '';
      c.on('data', (d) => (reply += d));
      c.on('end', () => { seen.add(reply); next(); });
      c.on('error', (e) => { console.log(JSON.stringify({ error: e.code })); for (const w of workers) w.kill(); });
    };
    next();
  }
} else {
  const net = require(process.env.NET_MODULE);
  const server = net.createServer((s) => s.end(String(cluster.worker.id)));
  server.on('error', (e) => { console.log(JSON.stringify({ workerError: e.code })); process.exit(1); });
  server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send('listening'));
}
`;

/** Run the cluster script (cluster.fork needs a file) with `netModule` in the workers. */
function runCluster(netModule) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsnet-cluster-'));
  try {
    const file = path.join(dir, 'cluster.js');
    fs.writeFileSync(file, script);
    return spawnSync(process.execPath, [file], {
      encoding: 'utf8',
      timeout: 20000,
      env: { ...process.env, NET_MODULE: netModule },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('cluster: a primary and two workers; both workers accept on the same port', () => {
  const ours = runCluster(root);
  assert.equal(ours.stderr, '');
  assert.equal(ours.status, 0);
  const node = runCluster('node:net');
  assert.deepEqual(JSON.parse(ours.stdout.trim().split('\n').pop()), { workersAnswering: 2 });
  assert.deepEqual(JSON.parse(ours.stdout.trim().split('\n').pop()), JSON.parse(node.stdout.trim().split('\n').pop()));
});
