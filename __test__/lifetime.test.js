'use strict';
// Process lifetime, compared against node:net: each scenario is a script run in a child
// process, once with node:net and once with this module (loaded through NET_MODULE), and the
// outcome (exit code, signal, stdout, whether stderr was empty, whether it had to be killed)
// must be the same. Covers ref/unref keeping the event loop alive or not, closing everything,
// process.exit() mid-traffic, and use from worker_threads (including terminate()).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

const OURS = process.env.RSNET_ORACLE_ONLY ? 'node:net' : path.resolve(__dirname, '..');
const READY = 'READY';

/**
 * Run `script` with `node -e` and NET_MODULE set. If `aliveMs` is given, the child is expected
 * to stay alive: it is killed `aliveMs` after it printed READY (or after `aliveMs` from spawn if
 * it never does), and `killed: true` is recorded. A safety net kills any child after `limitMs`.
 */
function runChild(script, netModule, { aliveMs, limitMs = 8000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, NET_MODULE: netModule },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let aliveTimer = null;
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const safety = setTimeout(kill, limitMs);
    const armAlive = () => {
      if (aliveMs !== undefined && aliveTimer === null) aliveTimer = setTimeout(kill, aliveMs);
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes(READY)) armAlive();
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(safety);
      if (aliveTimer) clearTimeout(aliveTimer);
      resolve({ code, signal, stdout, stderrEmpty: stderr === '', killed, stderr });
    });
  });
}

/** Run the script on node:net and on ours; assert equal outcomes; return node's outcome. */
async function compareChild(script, opts) {
  let expected;
  let actual;
  if (opts && opts.aliveMs !== undefined) {
    // Both children mostly sleep until killed: run them side by side to halve the wait.
    [expected, actual] = await Promise.all([runChild(script, 'node:net', opts), runChild(script, OURS, opts)]);
  } else {
    expected = await runChild(script, 'node:net', opts);
    actual = await runChild(script, OURS, opts);
  }
  const strip = (result) => {
  const rest = { ...result };
  delete rest.stderr;
  return rest;
};
  assert.deepStrictEqual(strip(actual), strip(expected), `stderr of ours:\n${actual.stderr}`);
  return expected;
}

const PRELUDE = `
const net = require(process.env.NET_MODULE);
const log = (...a) => process.stdout.write(a.join(' ') + '\\n');
process.on('exit', (c) => log('exit', c));
`;

// ---------------------------------------------------------------------------------------------
// Servers

test('listening server, then unref(): the process exits by itself', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.listen(0, '127.0.0.1', () => { log('listening'); s.unref(); });
`);
  assert.deepEqual([r.code, r.killed, r.stdout], [0, false, 'listening\nexit 0\n']);
});

test('unref() before listen(0) (no host): exits after listening', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
log('unref returns server', s.unref() === s);
s.listen(0, () => log('listening'));
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

test('unref() before listen(0, host): exits after listening', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.unref();
s.listen(0, '127.0.0.1', () => log('listening'));
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

test('a listening server that is not unref()d keeps the process alive', async () => {
  const r = await compareChild(
    `${PRELUDE}
const s = net.createServer();
s.listen(0, '127.0.0.1', () => log('listening ${READY}'));
`,
    { aliveMs: 500 },
  );
  assert.deepEqual([r.killed, r.stdout], [true, `listening ${READY}\n`]);
});

test('unref() then ref() keeps the process alive', async () => {
  const r = await compareChild(
    `${PRELUDE}
const s = net.createServer();
s.listen(0, '127.0.0.1', () => {
  log('ref returns server', s.unref().ref() === s);
  log('${READY}');
});
`,
    { aliveMs: 500 },
  );
  assert.equal(r.killed, true);
});

test('ref() before listen after unref() keeps the process alive', async () => {
  const r = await compareChild(
    `${PRELUDE}
const s = net.createServer();
s.unref();
s.ref();
s.listen(0, () => log('listening ${READY}'));
`,
    { aliveMs: 500 },
  );
  assert.equal(r.killed, true);
});

test('a script that closes everything exits by itself', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer((c) => {
  let got = '';
  c.setEncoding('utf8');
  c.on('data', (d) => (got += d));
  c.on('end', () => { log('server got', got); c.end('pong'); });
});
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1');
  let got = '';
  c.setEncoding('utf8');
  c.on('data', (d) => (got += d));
  c.on('close', () => {
    log('client got', got);
    s.close(() => log('server closed'));
  });
  c.end('ping');
});
`);
  assert.deepEqual([r.code, r.killed, r.stderrEmpty], [0, false, true]);
  assert.equal(r.stdout, 'server got ping\nclient got pong\nserver closed\nexit 0\n');
});

test('a server closed while idle lets the process exit', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.listen(0, () => { log('listening'); s.close(() => log('closed')); });
`);
  assert.deepEqual([r.code, r.stdout], [0, 'listening\nclosed\nexit 0\n']);
});

test('a failed listen (EADDRINUSE) does not keep the process alive', async () => {
  const r = await compareChild(`${PRELUDE}
const a = net.createServer();
a.listen(0, '127.0.0.1', () => {
  const b = net.createServer();
  b.on('error', (e) => { log('error', e.code); a.close(() => log('a closed')); });
  b.listen(a.address().port, '127.0.0.1');
});
`);
  assert.deepEqual([r.code, r.stdout], [0, 'error EADDRINUSE\na closed\nexit 0\n']);
});

// ---------------------------------------------------------------------------------------------
// Clients

test('client connected to its own server, everything unref()d: exits', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer((c) => { log('connection'); c.unref(); });
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1', () => {
    log('connected');
    c.unref();
    s.unref();
  });
});
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

test('client and server unref()d but the accepted socket is not: stays alive', async () => {
  const r = await compareChild(
    `${PRELUDE}
let n = 0;
const ready = () => { if (++n === 2) log('${READY}'); };
const s = net.createServer((c) => ready());
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1', () => {
    c.unref();
    s.unref();
    ready();
  });
});
`,
    { aliveMs: 500 },
  );
  assert.equal(r.killed, true);
});

test('client unref()d before it connects still connects, then the process exits', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer((c) => { log('connection'); c.unref(); });
s.listen(0, '127.0.0.1', () => {
  s.unref();
  const c = net.connect(s.address().port, '127.0.0.1', () => log('connected'));
  log('unref returns socket', c.unref() === c);
});
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

test('an open client connection (nothing unref()d) keeps the process alive', async () => {
  const r = await compareChild(
    `${PRELUDE}
const s = net.createServer((c) => { s.close(); });
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1', () => log('connected ${READY}'));
});
`,
    { aliveMs: 500 },
  );
  assert.equal(r.killed, true);
});

test('a refused connection does not keep the process alive', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.listen(0, '127.0.0.1', () => {
  const port = s.address().port;
  s.close(() => {
    const c = net.connect(port, '127.0.0.1');
    c.on('error', (e) => log('error', e.code));
    c.on('close', (hadError) => log('close', hadError));
  });
});
`);
  assert.deepEqual([r.code, r.stdout], [0, 'error ECONNREFUSED\nclose true\nexit 0\n']);
});

test('socket.setTimeout() on an idle connection does not prevent exit once unref()d', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer((c) => { c.unref(); });
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1', () => {
    c.setTimeout(60000);
    c.unref();
    s.unref();
    log('connected');
  });
});
`);
  assert.deepEqual([r.code, r.killed], [0, false]);
});

// ---------------------------------------------------------------------------------------------
// process.exit() mid-traffic

test('process.exit() while a connection is mid-traffic exits with the code, no crash output', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer((c) => c.pipe(c));
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1');
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let received = 0;
  const pump = () => { while (c.write(chunk)); };
  c.on('drain', pump);
  c.on('connect', pump);
  c.on('data', (d) => {
    received += d.length;
    if (received >= 1024 * 1024) {
      log('exiting');
      process.exit(7);
    }
  });
});
`);
  assert.deepEqual([r.code, r.signal, r.killed, r.stderrEmpty], [7, null, false, true]);
  assert.equal(r.stdout, 'exiting\nexit 7\n');
});

test('process.exit() right after starting a connect and a listen exits cleanly', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer();
s.listen(0, '127.0.0.1', () => {
  net.connect(s.address().port, '127.0.0.1');
  process.exit(3);
});
`);
  assert.deepEqual([r.code, r.stderrEmpty, r.stdout], [3, true, 'exit 3\n']);
});

test('an uncaught error thrown in a connection handler exits with code 1', async () => {
  const r = await compareChild(`${PRELUDE}
const s = net.createServer(() => { throw new Error('boom-in-handler'); });
s.listen(0, '127.0.0.1', () => net.connect(s.address().port, '127.0.0.1'));
`);
  assert.deepEqual([r.code, r.killed, r.stderrEmpty], [1, false, false]);
});

// ---------------------------------------------------------------------------------------------
// worker_threads

const WORKER_ECHO = `
const { Worker } = require('node:worker_threads');
const log = (...a) => process.stdout.write(a.join(' ') + '\\n');
const code = \`
const net = require(process.env.NET_MODULE);
const { parentPort } = require('node:worker_threads');
const s = net.createServer((c) => c.pipe(c));
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1');
  let got = '';
  c.setEncoding('utf8');
  c.on('data', (d) => {
    got += d;
    if (got === 'hello from worker') c.end();
  });
  c.on('close', () => {
    s.close(() => parentPort.postMessage(got));
  });
  c.write('hello from worker');
});
\`;
function runWorker(n) {
  return new Promise((resolve) => {
    const w = new Worker(code, { eval: true });
    w.on('message', (m) => log('worker', n, 'echoed:', m));
    w.on('error', (e) => log('worker', n, 'error', e && e.message));
    w.on('exit', (c) => { log('worker', n, 'exit', c); resolve(); });
  });
}
(async () => {
  await runWorker(1);
  await runWorker(2); // the module loads again in a second worker
  log('main done');
})();
`;

test('module in a worker_threads Worker: echo over loopback, close, worker exits cleanly (twice)', async () => {
  const r = await compareChild(WORKER_ECHO);
  assert.deepEqual([r.code, r.killed, r.stderrEmpty], [0, false, true]);
  assert.equal(
    r.stdout,
    'worker 1 echoed: hello from worker\nworker 1 exit 0\nworker 2 echoed: hello from worker\nworker 2 exit 0\nmain done\n',
  );
});

const WORKER_CONCURRENT = `
const { Worker } = require('node:worker_threads');
const log = (...a) => process.stdout.write(a.join(' ') + '\\n');
const code = \`
const net = require(process.env.NET_MODULE);
const { parentPort } = require('node:worker_threads');
const s = net.createServer((c) => c.pipe(c));
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1');
  let got = 0;
  c.on('data', (d) => { got += d.length; if (got === 100000) c.end(); });
  c.on('close', () => s.close(() => parentPort.postMessage(got)));
  c.write(Buffer.alloc(100000, 'y'));
});
\`;
// The main thread uses the module too, while two workers do.
const net = require(process.env.NET_MODULE);
const main = net.createServer((c) => c.end('main'));
main.listen(0, '127.0.0.1', () => {
  const results = [];
  let exited = 0;
  for (let i = 0; i < 2; i++) {
    const w = new Worker(code, { eval: true });
    w.on('message', (m) => results.push(m));
    w.on('error', (e) => log('error', e && e.message));
    w.on('exit', (c) => {
      results.push('exit ' + c);
      if (++exited === 2) {
        const c = net.connect(main.address().port, '127.0.0.1');
        let got = '';
        c.setEncoding('utf8');
        c.on('data', (d) => (got += d));
        c.on('close', () => {
          log(results.sort().join(','), got);
          main.close();
        });
      }
    });
  }
});
`;

test('module used concurrently by the main thread and two workers', async () => {
  const r = await compareChild(WORKER_CONCURRENT);
  assert.deepEqual([r.code, r.killed, r.stderrEmpty], [0, false, true]);
  assert.equal(r.stdout, '100000,100000,exit 0,exit 0 main\n');
});

const WORKER_TERMINATE = `
const { Worker } = require('node:worker_threads');
const log = (...a) => process.stdout.write(a.join(' ') + '\\n');
const code = \`
const net = require(process.env.NET_MODULE);
const { parentPort } = require('node:worker_threads');
const s = net.createServer((c) => c.pipe(c));
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1');
  const chunk = Buffer.alloc(64 * 1024, 'z');
  let received = 0;
  let told = false;
  const pump = () => { while (c.write(chunk)); };
  c.on('connect', pump);
  c.on('drain', pump);
  c.on('data', (d) => {
    received += d.length;
    if (!told && received >= 256 * 1024) { told = true; parentPort.postMessage('flowing'); }
  });
});
\`;
const w = new Worker(code, { eval: true });
w.on('error', (e) => log('worker error', e && e.message));
w.on('message', async (m) => {
  log('worker says', m);
  const code = await w.terminate();
  log('terminate resolved', code);
});
w.on('exit', (c) => {
  log('worker exit', c);
  // The main thread keeps working and can use the module afterwards.
  setTimeout(() => {
    const net = require(process.env.NET_MODULE);
    const s = net.createServer((c) => c.end('still fine'));
    s.listen(0, '127.0.0.1', () => {
      const c = net.connect(s.address().port, '127.0.0.1');
      let got = '';
      c.setEncoding('utf8');
      c.on('data', (d) => (got += d));
      c.on('close', () => { log('main', got); s.close(); });
    });
  }, 50);
});
`;

test('worker.terminate() mid-traffic does not crash the main thread', async () => {
  const r = await compareChild(WORKER_TERMINATE);
  assert.deepEqual([r.code, r.signal, r.killed, r.stderrEmpty], [0, null, false, true]);
  assert.equal(r.stdout, 'worker says flowing\nworker exit 1\nterminate resolved 1\nmain still fine\n');
});

const WORKER_PROCESS_EXIT = `
const { Worker } = require('node:worker_threads');
const log = (...a) => process.stdout.write(a.join(' ') + '\\n');
const code = \`
const net = require(process.env.NET_MODULE);
const s = net.createServer((c) => c.pipe(c));
s.listen(0, '127.0.0.1', () => {
  const c = net.connect(s.address().port, '127.0.0.1');
  let received = 0;
  c.on('connect', () => c.write(Buffer.alloc(200000)));
  c.on('data', (d) => { received += d.length; if (received >= 100000) process.exit(5); });
});
\`;
const w = new Worker(code, { eval: true });
w.on('error', (e) => log('worker error', e && e.message));
w.on('exit', (c) => log('worker exit', c));
`;

test('process.exit() inside a worker mid-traffic ends only the worker', async () => {
  const r = await compareChild(WORKER_PROCESS_EXIT);
  assert.deepEqual([r.code, r.killed, r.stderrEmpty, r.stdout], [0, false, true, 'worker exit 5\n']);
});
