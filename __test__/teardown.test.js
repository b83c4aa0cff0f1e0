'use strict';
// Teardown under load, compared against node:net: every scenario is a script run in a child
// process (so a crash or a hang cannot take the test runner down), once with node:net and once
// with this module (NET_MODULE), and the outcomes must match: exit code, signal, stdout, no
// crash output (panic, abort, fatal error) and no kill by the safety timer.
//
// lifetime.test.js covers the single-connection cases (ref/unref, process.exit() in a 'data'
// handler, one worker terminated or exiting). This file covers them with many connections and
// data in flight: a storm of workers terminated at every stage while the main thread keeps
// serving; process.exit() in the main thread or an uncaught exception in workers while they
// are busy; workers terminated with connects pending; process.exit() from a write callback, a
// timer, a 'connection' or 'close' handler with a batch of events still queued or a big write
// pending, and in several busy workers at once; a signal mid-traffic; and processes that close
// or unref everything after heavy traffic and must exit by themselves, promptly.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { OURS, PRELUDE, runChild, report, outcome } = require('./helpers/child');

/**
 * Run the script on node:net and on ours; assert equal outcomes; return both results. Unless
 * `stays` (the scenario is expected to keep the process alive until the safety kill), node's
 * run must have ended by itself.
 */
async function compareChild(script, opts = {}) {
  let expected;
  let actual;
  if (opts.stays) {
    // Both mostly wait for the safety kill: side by side.
    [expected, actual] = await Promise.all([
      runChild(script, 'node:net', opts),
      runChild(script, OURS, opts),
    ]);
  } else {
    expected = await runChild(script, 'node:net', opts);
    actual = await runChild(script, OURS, opts);
  }
  const want = outcome(expected);
  assert.equal(want.crashed, false, `node:net itself: ${expected.stderr}`);
  assert.equal(want.killed, Boolean(opts.stays), `node:net itself: ${expected.stdout}`);
  assert.deepEqual(outcome(actual), want, `stderr of ours:\n${actual.stderr}`);
  return { expected, actual };
}

// A server echoing on every connection, and `count` clients pumping `chunk` bytes at it as
// fast as backpressure allows: heavy traffic, with events queued in both directions.
const TRAFFIC = `
function traffic(count, onData, chunkSize = 64 * 1024) {
  const server = net.createServer((c) => { c.on('error', () => {}); c.pipe(c); });
  const clients = [];
  server.listen(0, '127.0.0.1', () => {
    const chunk = Buffer.alloc(chunkSize, 't');
    for (let i = 0; i < count; i++) {
      const c = net.connect(server.address().port, '127.0.0.1');
      const pump = () => { while (c.write(chunk)); };
      c.on('connect', pump);
      c.on('drain', pump);
      c.on('error', () => {});
      c.on('data', (d) => onData(c, d, i));
      clients.push(c);
    }
  });
  return { server, clients };
}
`;

// ---------------------------------------------------------------------------------------------
// worker_threads

const WORKER_STORM = `${PRELUDE}
const { Worker } = require('node:worker_threads');
const TOTAL = 100;
const AT_ONCE = 10;
// Each worker loads the module, listens, and pumps data through 4 connections to itself.
const code = \`
const net = require(process.env.NET_MODULE);
const { parentPort } = require('node:worker_threads');
const s = net.createServer((c) => { c.on('error', () => {}); c.pipe(c); });
s.listen(0, '127.0.0.1', () => {
  parentPort.postMessage('listening');
  let received = 0;
  let told = false;
  const chunk = Buffer.alloc(16 * 1024, 'w');
  for (let k = 0; k < 4; k++) {
    const c = net.connect(s.address().port, '127.0.0.1');
    const pump = () => { while (c.write(chunk)); };
    c.on('connect', pump);
    c.on('drain', pump);
    c.on('data', (d) => {
      received += d.length;
      if (!told && received >= 256 * 1024) { told = true; parentPort.postMessage('flowing'); }
    });
  }
});
\`;
// Meanwhile the main thread keeps a ping-pong going on its own server, checking every answer.
const main = net.createServer((c) => c.pipe(c));
main.listen(0, '127.0.0.1', () => {
  const pinger = net.connect(main.address().port, '127.0.0.1');
  let n = 0;
  let pongs = 0;
  let wrong = 0;
  let pingErrors = 0;
  let stop = false;
  let buf = '';
  pinger.setEncoding('utf8');
  pinger.on('error', () => pingErrors++);
  pinger.on('data', (d) => {
    buf += d;
    if (!buf.endsWith('\\n')) return;
    if (buf !== 'ping ' + n + '\\n') wrong++;
    pongs++;
    buf = '';
    if (stop) pinger.end();
    else pinger.write('ping ' + ++n + '\\n');
  });
  pinger.on('connect', () => {
    const base = fdCount();
    pinger.write('ping 0\\n');
    // Terminated at every stage: at once, when online, when listening, mid-traffic.
    const codes = [[], [], [], []];
    let errors = 0;
    let started = 0;
    let finished = 0;
    let flowing = 0;
    const startOne = () => {
      const i = started++;
      const stage = i % 4;
      const w = new Worker(code, { eval: true });
      const kill = () => w.terminate();
      if (stage === 0) kill();
      if (stage === 1) w.on('online', kill);
      w.on('message', (m) => {
        if (m === 'flowing') flowing++;
        if (stage === 2 && m === 'listening') kill();
        if (stage === 3 && m === 'flowing') setTimeout(kill, i % 7);
      });
      w.on('error', (e) => { errors++; log('worker error', e && e.message); });
      w.on('exit', (c) => {
        codes[stage].push(c);
        finished++;
        if (started < TOTAL) startOne();
        else if (finished === TOTAL) done();
      });
    };
    for (let k = 0; k < AT_ONCE; k++) startOne();
    function done() {
      const served = pongs > 0 && wrong === 0 && pingErrors === 0;
      stop = true;
      pinger.on('close', async () => {
        const end = Date.now() + 3000;
        while (fdCount() > base && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
        log(JSON.stringify({
          finished,
          errors,
          atOnce: codes[0].every((c) => c === 0 || c === 1),
          laterExit1: codes.slice(1).every((l) => l.length === 25 && l.every((c) => c === 1)),
          flowing: flowing >= TOTAL / 4,
          mainServed: served,
          fdsBack: fdCount() <= base,
        }));
        main.close();
      });
    }
  });
});
`;

// The main thread serves on meanwhile; the descriptors come back.
test('100 workers with traffic terminated at every stage, 10 at a time', async () => {
  const { expected } = await compareChild(WORKER_STORM, { limitMs: 30000 });
  assert.deepEqual(report(expected), {
    finished: 100,
    errors: 0,
    atOnce: true,
    laterExit1: true,
    flowing: true,
    mainServed: true,
    fdsBack: true,
  });
  assert.equal(expected.code, 0);
});

const WORKERS_EXIT = `${PRELUDE}
const { Worker } = require('node:worker_threads');
// Six busy workers each call process.exit(code) from a different place; only the worker ends.
const code = \`
const net = require(process.env.NET_MODULE);
const { workerData: { how, code } } = require('node:worker_threads');
${TRAFFIC}
let received = 0;
const t = traffic(4, (c, d) => {
  received += d.length;
  if (received < 1024 * 1024) return;
  if (how === 'data') process.exit(code);
  if (how === 'write' && !c.exiting) { c.exiting = true; c.write('x', () => process.exit(code)); }
  if (how === 'timer' && !t.timer) t.timer = setTimeout(() => process.exit(code), 5);
  if (how === 'immediate' && !t.timer) t.timer = setImmediate(() => process.exit(code));
  if (how === 'destroy') {
    for (const s of t.clients) s.destroy();
    t.server.close();
    process.exit(code);
  }
  if (how === 'close' && !c.exiting) {
    c.exiting = true;
    c.on('close', () => process.exit(code));
    c.destroy();
  }
});
\`;
const main = net.createServer((c) => c.end('main ok'));
main.listen(0, '127.0.0.1', () => {
  const hows = ['data', 'write', 'timer', 'immediate', 'destroy', 'close'];
  const results = [];
  hows.forEach((how, i) => {
    const w = new Worker(code, { eval: true, workerData: { how, code: 10 + i } });
    w.on('error', (e) => log('worker error', how, e && e.message));
    w.on('exit', (c) => {
      results.push(how + ' ' + c);
      if (results.length < hows.length) return;
      const c2 = net.connect(main.address().port, '127.0.0.1');
      let got = '';
      c2.on('data', (d) => (got += d));
      c2.on('close', () => { log(results.sort().join(', ')); log(got); main.close(); });
    });
  });
});
`;

// From a 'data' handler, a write callback, a timer, an immediate, after destroy(), a 'close'
// handler.
test('process.exit() in six busy workers: only the workers end', async () => {
  const { expected } = await compareChild(WORKERS_EXIT, { limitMs: 20000 });
  assert.equal(expected.code, 0);
  assert.equal(
    expected.stdout,
    'close 15, data 10, destroy 14, immediate 13, timer 12, write 11\nmain ok\n',
  );
});

const BUSY_WORKERS = `${PRELUDE}
const { Worker } = require('node:worker_threads');
// Eight workers pump data through 8 connections each; what happens next depends on MODE.
const code = \`
const net = require(process.env.NET_MODULE);
const { parentPort, workerData } = require('node:worker_threads');
const s = net.createServer((c) => { c.on('error', () => {}); c.pipe(c); });
s.listen(0, '127.0.0.1', () => {
  let received = 0;
  let told = false;
  const chunk = Buffer.alloc(32 * 1024, 'w');
  for (let k = 0; k < 8; k++) {
    const c = net.connect(s.address().port, '127.0.0.1');
    const pump = () => { while (c.write(chunk)); };
    c.on('connect', pump);
    c.on('drain', pump);
    c.on('error', () => {});
    c.on('data', (d) => {
      received += d.length;
      if (!told && received >= 1024 * 1024) { told = true; parentPort.postMessage('flowing'); }
      if (workerData.mode === 'throw' && received >= 2 * 1024 * 1024) throw new Error('boom');
    });
  }
  if (workerData.mode === 'connects') {
    for (let k = 0; k < 200; k++) net.connect(s.address().port, '127.0.0.1').on('error', () => {});
  }
});
\`;
const mode = process.env.MODE;
const N = 8;
const workers = [];
const lines = [];
let flowing = 0;
let exited = 0;
for (let i = 0; i < N; i++) {
  const w = new Worker(code, { eval: true, workerData: { mode } });
  workers.push(w);
  w.on('error', (e) => lines.push('worker error ' + e.message));
  w.on('exit', (c) => {
    lines.push('worker exit ' + c);
    if (++exited === N) log(lines.sort().join(', '));
  });
  w.on('message', () => {
    if (++flowing < N) return;
    if (mode === 'exit') { log('main exits'); process.exit(21); }
    if (mode === 'connects') for (const x of workers) x.terminate();
  });
}
process.on('exit', (c) => log('exit', c));
`;

test('process.exit() in the main thread while 8 workers are mid-traffic', async () => {
  const { expected } = await compareChild(BUSY_WORKERS, { env: { MODE: 'exit' } });
  assert.deepEqual([expected.code, expected.stdout], [21, 'main exits\nexit 21\n']);
});

test('an uncaught exception in 8 busy workers: each reports it and exits 1', async () => {
  const { expected } = await compareChild(BUSY_WORKERS, { env: { MODE: 'throw' } });
  const each = [...Array(8).fill('worker error boom'), ...Array(8).fill('worker exit 1')];
  assert.deepEqual([expected.code, expected.stdout], [0, `${each.join(', ')}\nexit 0\n`]);
});

test('8 busy workers terminated with 200 connects each still pending', async () => {
  const { expected } = await compareChild(BUSY_WORKERS, { env: { MODE: 'connects' } });
  const each = Array(8).fill('worker exit 1');
  assert.deepEqual([expected.code, expected.stdout], [0, `${each.join(', ')}\nexit 0\n`]);
});

// ---------------------------------------------------------------------------------------------
// process.exit() with events queued and writes pending

/** A child that logs 'exit <code>' on exit and calls process.exit() from `trigger`. */
function exitScript(body) {
  return `${PRELUDE}${TRAFFIC}
process.on('exit', (c) => log('exit', c));
${body}
`;
}

test('process.exit() from a write callback, 20 connections mid-traffic', async () => {
  const { expected } = await compareChild(exitScript(`
let received = 0;
let asked = false;
traffic(20, (c, d) => {
  received += d.length;
  if (received >= 4 * 1024 * 1024 && !asked) {
    asked = true;
    c.write('last', () => { log('write callback'); process.exit(6); });
  }
});
`));
  assert.deepEqual([expected.code, expected.stdout], [6, 'write callback\nexit 6\n']);
});

test('process.exit() from a timer while 50 connections have a batch of events queued', async () => {
  const { expected } = await compareChild(exitScript(`
let received = 0;
traffic(50, (c, d) => {
  received += d.length;
  // Busy the JS thread so events pile up behind it, then leave from a timer.
  if (received >= 2 * 1024 * 1024 && !global.armed) {
    global.armed = true;
    setTimeout(() => { log('timer'); process.exit(8); }, 0);
    const until = Date.now() + 50;
    while (Date.now() < until);
  }
});
`));
  assert.deepEqual([expected.code, expected.stdout], [8, 'timer\nexit 8\n']);
});

test('process.exit() from a \'connection\' handler with 200 connects pending', async () => {
  const { expected } = await compareChild(exitScript(`
const server = net.createServer(() => {
  if (++server.n === 100) { log('connection 100'); process.exit(9); }
});
server.n = 0;
server.listen({ port: 0, host: '127.0.0.1', backlog: 511 }, () => {
  for (let i = 0; i < 200; i++) {
    const c = net.connect(server.address().port, '127.0.0.1');
    c.on('error', () => {});
    c.write(Buffer.alloc(1024));
  }
});
`));
  assert.deepEqual([expected.code, expected.stdout], [9, 'connection 100\nexit 9\n']);
});

test('process.exit() from a \'close\' handler while 100 sockets are being destroyed', async () => {
  const { expected } = await compareChild(exitScript(`
let received = 0;
const t = traffic(100, (c, d) => {
  received += d.length;
  if (received >= 4 * 1024 * 1024 && !t.closing) {
    t.closing = true;
    let closed = 0;
    for (const s of t.clients) {
      s.on('close', () => { if (++closed === 50) { log('closed 50'); process.exit(11); } });
      s.destroy();
    }
  }
}, 8 * 1024);
`));
  assert.deepEqual([expected.code, expected.stdout], [11, 'closed 50\nexit 11\n']);
});

test('process.exit() with a 64 MiB write pending to a peer that does not read', async () => {
  const { expected } = await compareChild(exitScript(`
const server = net.createServer({ pauseOnConnect: true }, () => {
  const ret = client.write(Buffer.alloc(64 * 1024 * 1024, 'p'), () => log('never'));
  log('write returned', ret, client.writableLength > 32 * 1024 * 1024);
  setTimeout(() => process.exit(12), 50);
});
let client;
server.listen(0, '127.0.0.1', () => {
  client = net.connect(server.address().port, '127.0.0.1');
});
`));
  assert.equal(expected.code, 12);
});

test('process.exit() while server.close() waits on 100 busy connections', async () => {
  const { expected } = await compareChild(exitScript(`
let received = 0;
const t = traffic(100, (c, d) => {
  received += d.length;
  if (received >= 4 * 1024 * 1024 && !t.closing) {
    t.closing = true;
    t.server.close(() => log('never: connections are alive'));
    setTimeout(() => process.exit(13), 20);
  }
}, 8 * 1024);
`));
  assert.deepEqual([expected.code, expected.stdout], [13, 'exit 13\n']);
});

test('SIGTERM mid-traffic: the process dies of the signal, nothing else', async () => {
  const { expected } = await compareChild(`${PRELUDE}${TRAFFIC}
let received = 0;
traffic(20, (c, d) => {
  received += d.length;
  if (received >= 4 * 1024 * 1024 && !global.sent) {
    global.sent = true;
    process.kill(process.pid, 'SIGTERM');
  }
});
`);
  assert.deepEqual([expected.code, expected.signal], [null, 'SIGTERM']);
});

// ---------------------------------------------------------------------------------------------
// Exiting by itself, promptly

/**
 * A child that ends its work with `finish()`: it logs the time from finish() to 'exit', which
 * must be short (a hang is the failure; the safety timer kills after 8 s).
 */
function selfExitScript(body) {
  return `${PRELUDE}${TRAFFIC}
let finishedAt = 0;
function finish(what) { log(what); finishedAt = Date.now(); }
process.on('exit', (c) => {
  const ms = Date.now() - finishedAt;
  log('exit', c, finishedAt && ms < 2000 ? 'promptly' : 'late: ' + ms + ' ms');
});
${body}
`;
}

test('200 connections ended after traffic, server closed: exits by itself', async () => {
  const { expected } = await compareChild(selfExitScript(`
// Each client sends 256 KiB in 4 KiB writes, reads the echo back, then ends.
const server = net.createServer((c) => c.pipe(c));
server.listen(0, '127.0.0.1', () => {
  let closed = 0;
  for (let i = 0; i < 200; i++) {
    const c = net.connect(server.address().port, '127.0.0.1');
    let received = 0;
    c.on('connect', () => {
      for (let k = 0; k < 64; k++) c.write(Buffer.alloc(4096, k));
    });
    c.on('data', (d) => {
      received += d.length;
      if (received === 256 * 1024) c.end();
    });
    c.on('close', () => {
      if (++closed === 200) server.close(() => finish('all closed'));
    });
  }
});
`), { limitMs: 8000 });
  assert.deepEqual([expected.code, expected.stdout], [0, 'all closed\nexit 0 promptly\n']);
});

test('50 connections destroyed at once mid-traffic with the server: exits by itself', async () => {
  const { expected } = await compareChild(selfExitScript(`
let received = 0;
const t = traffic(50, (c, d) => {
  received += d.length;
  if (received >= 8 * 1024 * 1024 && !t.ending) {
    t.ending = true;
    for (const s of t.clients) s.destroy();
    t.server.close(() => finish('destroyed'));
  }
});
`), { limitMs: 8000 });
  assert.deepEqual([expected.code, expected.stdout], [0, 'destroyed\nexit 0 promptly\n']);
});

test('100 idle connections and their server unref()d after traffic: exits by itself', async () => {
  const { expected } = await compareChild(selfExitScript(`
const server = net.createServer((c) => {
  c.on('data', (d) => c.write(d));
  c.on('error', () => {});
  conns.push(c);
});
const conns = [];
server.listen(0, '127.0.0.1', () => {
  let answered = 0;
  for (let i = 0; i < 100; i++) {
    const c = net.connect(server.address().port, '127.0.0.1');
    c.on('data', () => {
      if (++answered < 100) return;
      for (const s of [...conns, ...clients]) s.unref();
      server.unref();
      finish('unrefed');
    });
    c.write(Buffer.alloc(1000, 'u'));
    clients.push(c);
  }
});
const clients = [];
`), { limitMs: 8000 });
  assert.deepEqual([expected.code, expected.stdout], [0, 'unrefed\nexit 0 promptly\n']);
});

const UNREF_FED = `
const { Worker } = require('node:worker_threads');
// A worker serves a stream of data that never ends (or a peer that never reads); the worker
// is unref()d, so the process lives only as long as the main thread's handles keep it.
const code = \`
const net = require(process.env.NET_MODULE);
const { parentPort, workerData } = require('node:worker_threads');
const s = net.createServer({ pauseOnConnect: !workerData.feed }, (c) => {
  c.on('error', () => {});
  if (!workerData.feed) return;
  const chunk = Buffer.alloc(64 * 1024, 'f');
  const pump = () => { while (c.write(chunk)); };
  c.on('drain', pump);
  pump();
});
s.listen(0, '127.0.0.1', () => parentPort.postMessage(s.address().port));
\`;
function feeder(feed, onPort) {
  const w = new Worker(code, { eval: true, workerData: { feed } });
  w.on('message', (port) => {
    w.unref(); // (after on('message'), which refs the worker's port again)
    onPort(port);
  });
  w.on('error', (e) => log('worker error', e && e.message));
}
`;

test('unref()d sockets receiving an endless stream from a worker: the process exits', async () => {
  const { expected } = await compareChild(selfExitScript(`${UNREF_FED}
feeder(true, (port) => {
  let received = 0;
  let done = 0;
  for (let i = 0; i < 10; i++) {
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    c.on('data', (d) => {
      received += d.length;
      if (c.unrefed) return;
      c.unrefed = true;
      c.unref();
      if (++done === 10) finish('all unrefed while data flows');
    });
  }
});
`), { limitMs: 8000 });
  assert.deepEqual(
    [expected.code, expected.stdout],
    [0, 'all unrefed while data flows\nexit 0 promptly\n'],
  );
});

test('an unref()d socket with a write stuck in flight keeps the process alive', async () => {
  // libuv counts a write request as activity whatever the handle's ref: the process waits for
  // it. Both are killed by the safety timer.
  const { expected } = await compareChild(`${PRELUDE}${UNREF_FED}
feeder(false, (port) => {
  const c = net.connect(port, '127.0.0.1', () => {
    c.write(Buffer.alloc(32 * 1024 * 1024, 'w'));
    c.unref();
    log('unrefed with a write in flight', c.writableLength > 0);
  });
});
`, { limitMs: 1500, stays: true });
  assert.deepEqual(
    [expected.killed, expected.stdout],
    [true, 'unrefed with a write in flight true\n'],
  );
});

test('a connect whose lookup never answers does not keep the process alive', async () => {
  const { expected } = await compareChild(selfExitScript(`
const sockets = [];
for (let i = 0; i < 100; i++) {
  const c = net.connect({ port: 9, host: 'localhost', lookup: () => {} });
  c.on('error', (e) => log('error', e.code));
  sockets.push(c);
}
finish('100 lookups pending, '+ sockets.filter((s) => s.connecting).length + ' connecting');
`), { limitMs: 8000 });
  assert.deepEqual(
    [expected.code, expected.stdout],
    [0, '100 lookups pending, 100 connecting\nexit 0 promptly\n'],
  );
});

test('destroySoon() on 50 sockets with 1 MiB queued to slow readers: flushed, exits', async () => {
  const { expected } = await compareChild(selfExitScript(`
const totals = [];
const server = net.createServer((c) => {
  let got = 0;
  c.pause();
  setTimeout(() => c.resume(), 100);
  c.on('data', (d) => (got += d.length));
  c.on('end', () => c.end());
  c.on('close', () => {
    totals.push(got);
    if (totals.length < 50) return;
    server.close(() => finish('flushed ' + totals.filter((n) => n === 1024 * 1024).length));
  });
});
server.listen(0, '127.0.0.1', () => {
  for (let i = 0; i < 50; i++) {
    const c = net.connect(server.address().port, '127.0.0.1', () => {
      c.write(Buffer.alloc(1024 * 1024, 'd'));
      c.destroySoon();
    });
  }
});
`), { limitMs: 8000 });
  assert.deepEqual([expected.code, expected.stdout], [0, 'flushed 50\nexit 0 promptly\n']);
});
