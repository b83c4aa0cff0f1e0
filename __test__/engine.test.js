'use strict';
// The engine's own guarantees, in child processes: module reloads, exceptions in listeners.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function runScript(source, netModule = root) {
  const r = spawnSync(process.execPath, ['-e', source], {
    encoding: 'utf8',
    timeout: 10000,
    env: { ...process.env, ROOT: root, NET_MODULE: netModule },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the module loaded twice in one process (module registry reset) shares one engine', () => {
  const r = runScript(`
    const root = process.env.ROOT;
    const a = require(root);
    for (const k of Object.keys(require.cache)) if (k.startsWith(root) && !k.endsWith('.node')) delete require.cache[k];
    const b = require(root);
    console.log(a !== b);
    const srv = a.createServer((s) => s.end('from a'));
    srv.listen(0, '127.0.0.1', () => {
      const c = b.connect(srv.address().port, '127.0.0.1');
      let got = '';
      c.on('data', (d) => (got += d));
      c.on('close', () => { console.log(got); srv.close(); });
    });
  `);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'true\nfrom a\n');
  assert.equal(r.status, 0);
});

/**
 * A client whose first 'data' listener throws, against a server that runs `serve(s)` (a
 * script fragment) on its connection: on both modules, the throw reaches uncaughtException
 * and the 'end' and 'close' after it still come.
 */
function assertThrowingListenerRecovers(serve) {
  const script = `
    const net = require(process.env.NET_MODULE);
    process.on('uncaughtException', (e) => console.log('caught', e.message));
    const srv = net.createServer((s) => { ${serve} });
    srv.listen(0, '127.0.0.1', () => {
      const c = net.connect(srv.address().port, '127.0.0.1');
      c.once('data', () => { throw new Error('boom'); });
      c.on('end', () => console.log('end'));
      c.on('close', () => { console.log('close'); srv.close(); });
    });
  `;
  const ours = runScript(script);
  assert.deepEqual(ours, runScript(script, 'node:net'));
  assert.equal(ours.stdout, 'caught boom\nend\nclose\n');
}

test('a listener that throws reaches uncaughtException and later events still arrive', () => {
  assertThrowingListenerRecovers("s.write('a'); s.end('b');");
});

test('a listener that throws on the first data of a connection (held for the next iteration) reaches uncaughtException, and what follows still arrives', () => {
  // (The server holds the JS thread: the client's connect and data are both there when it runs.)
  assertThrowingListenerRecovers("s.write('a'); s.end('b'); const until = Date.now() + 30; while (Date.now() < until);");
});

test('a listener that throws on the first 64 KiB of a larger read reaches uncaughtException, and the rest of the read still arrives, as node', () => {
  // The server holds the JS thread so that the client finds much more than 64 KiB to read at
  // once: node reads it in 64 KiB reads, rsnet in one read that it delivers 64 KiB at a time.
  const script = `
    const net = require(process.env.NET_MODULE);
    process.on('uncaughtException', (e) => console.log('caught', e.message));
    const srv = net.createServer((s) => {
      s.end(Buffer.alloc(200000, 1));
      const until = Date.now() + 30; while (Date.now() < until);
    });
    srv.listen(0, '127.0.0.1', () => {
      const c = net.connect(srv.address().port, '127.0.0.1');
      let counted = 0;
      c.once('data', (d) => { console.log('first', d.length); throw new Error('boom'); });
      c.on('data', (d) => (counted += d.length));
      c.on('end', () => console.log('end', counted, c.bytesRead));
      c.on('close', () => { console.log('close'); srv.close(); });
    });
  `;
  const ours = runScript(script);
  assert.deepEqual(ours, runScript(script, 'node:net'));
  assert.equal(ours.stdout, `first 65536\ncaught boom\nend ${200000 - 65536} 200000\nclose\n`);
});
