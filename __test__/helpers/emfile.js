'use strict';
// An accept that runs out of descriptors (EMFILE), observed from outside: a child process with
// a low descriptor limit runs an echo server of the module under test (NET_MODULE), fills its
// descriptor table up to a few free slots, and reports over IPC what its server and accepted
// sockets emit. The parent (this module, with plain node:net clients) connects more clients
// than there are free descriptors, measures the child's CPU time while it sits at the limit,
// has the child close its accepted connections, and connects once more.
//
// `runEmfileScenario(netModule, { errorListener })` resolves with a plain outcome object, so
// the outcomes with node:net and with the module under test can be compared.

const { spawn } = require('node:child_process');
const nodeNet = require('node:net');

const FD_LIMIT = 64;
const FREE_SLOTS = 2;
const EXTRA_CLIENTS = 2;

const CHILD = `
const net = require(process.env.NET_MODULE);
const fs = require('node:fs');
const send = (...m) => process.send(m);
const conns = [];
const server = net.createServer((c) => {
  conns.push(c);
  send('connection');
  c.on('error', (e) => send('socket error', e.code, e.syscall));
  c.pipe(c);
});
if (process.env.ERROR_LISTENER === '1') {
  server.on('error', (e) => send('server error', e.code, e.syscall, e.errno));
}
server.listen(0, '127.0.0.1', () => {
  const filler = [];
  for (;;) {
    try {
      filler.push(fs.openSync('/dev/null', 'r'));
    } catch (e) {
      send('filled', e.code);
      break;
    }
  }
  for (let i = 0; i < ${FREE_SLOTS}; i++) fs.closeSync(filler.pop());
  send('ready', server.address().port);
});
process.on('message', (m) => {
  if (m === 'cpu') {
    const u = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    setTimeout(() => {
      const v = process.cpuUsage(u);
      send('cpu', (v.user + v.system) / 1000, Number(process.hrtime.bigint() - t0) / 1e6);
    }, 1000);
  } else if (m === 'free') {
    const closing = conns.splice(0).map((c) => new Promise((r) => c.destroy().once('close', r)));
    Promise.all(closing).then(() => send('freed', closing.length));
  } else if (m === 'exit') {
    process.exit(0);
  }
});
`;

/**
 * A node:net client that records what it sees; it sends 'ping' if `ping` (a client closed by
 * the server before the ping arrives would see a reset instead of an end: a race).
 */
function pingClient(port, ping = true) {
  const c = nodeNet.connect(port, '127.0.0.1');
  const seen = { events: [], echo: '' };
  c.setEncoding('latin1');
  c.on('connect', () => seen.events.push('connect'));
  c.on('data', (d) => (seen.echo += d));
  c.on('end', () => seen.events.push('end'));
  c.on('error', (e) => seen.events.push(`error ${e.code}`));
  c.on('close', () => seen.events.push('close'));
  if (ping) c.write('ping');
  return { socket: c, seen };
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Run the scenario with `netModule` in the child. Resolves with:
 * - `accepted`: connections accepted before the limit, `acceptedAfterFree`: after freeing;
 * - `serverErrors`: distinct server 'error's (as "code syscall"), `serverErrorCount`;
 * - `clients`: each client's events and whether its ping was echoed, in connection order
 *   (FREE_SLOTS that fit, EXTRA_CLIENTS beyond the limit, then the one made after freeing);
 * - `cpuMs`/`wallMs`: the child's CPU time over ~1 s at the limit;
 * - `exit`: how the child ended ('exited 0' when told to, or what killed it early).
 */
async function runEmfileScenario(netModule, { errorListener = true, limitMs = 10000 } = {}) {
  // The limit is set by the shell, which then becomes node (ulimit is POSIX; no prlimit needed).
  const args = ['-c', `ulimit -n ${FD_LIMIT} && exec "$@"`, 'sh', process.execPath, '-e', CHILD];
  const child = spawn('sh', args, {
    env: { ...process.env, NET_MODULE: netModule, ERROR_LISTENER: errorListener ? '1' : '0' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.on('error', () => {});
  const tell = (m) => {
    if (child.connected) child.send(m);
  };
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (stderr += d));
  const out = {
    accepted: 0,
    acceptedAfterFree: 0,
    serverErrors: [],
    serverErrorCount: 0,
    socketErrors: [],
    clients: [],
    cpuMs: null,
    wallMs: null,
    exit: null,
  };
  let freed = false;
  const waiters = [];
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      out.exit = signal ? `killed ${signal}` : `exited ${code}`;
      resolve();
    });
  });
  const safety = setTimeout(() => child.kill('SIGKILL'), limitMs);
  child.on('message', (m) => {
    const [kind, ...rest] = m;
    if (kind === 'connection') {
      if (freed) out.acceptedAfterFree++;
      else out.accepted++;
    } else if (kind === 'server error') {
      out.serverErrorCount++;
      const d = `${rest[0]} ${rest[1]}`;
      if (!out.serverErrors.includes(d)) out.serverErrors.push(d);
    } else if (kind === 'socket error') {
      out.socketErrors.push(`${rest[0]} ${rest[1]}`);
    }
    for (const w of waiters.splice(0)) {
      if (w.kind === kind) w.resolve(rest);
      else waiters.push(w);
    }
  });
  const next = (kind, ms = 5000) =>
    Promise.race([
      new Promise((resolve) => waiters.push({ kind, resolve })),
      exited.then(() => null),
      delay(ms).then(() => null),
    ]);
  const clients = [];
  try {
    const ready = await next('ready');
    if (!ready) return out;
    const [port] = ready;
    // Connections that fit, then more than there are descriptors for.
    for (let i = 0; i < FREE_SLOTS + EXTRA_CLIENTS; i++) {
      clients.push(pingClient(port, i < FREE_SLOTS));
      await delay(100);
    }
    // At the limit for about a second (with one more connection arriving): CPU time used.
    tell('cpu');
    clients.push(pingClient(port, false));
    const cpu = await next('cpu');
    if (cpu) [out.cpuMs, out.wallMs] = cpu;
    // Free descriptors: the server must accept again.
    freed = true;
    tell('free');
    if (!(await next('freed'))) return out;
    const late = pingClient(port);
    clients.push(late);
    const served = Date.now() + 1500;
    while (late.seen.echo !== 'ping' && Date.now() < served && out.exit === null) await delay(10);
    await delay(100);
    tell('exit');
    await exited;
  } finally {
    clearTimeout(safety);
    if (out.exit === null) {
      child.kill('SIGKILL');
      await exited;
    }
    // The child is gone, so every client gets an end or a reset and closes by itself: record
    // their events once all have (stragglers are destroyed after a while).
    const closing = clients.map(({ socket }) =>
      socket.closed ? null : new Promise((resolve) => socket.once('close', resolve)),
    );
    const stragglers = setTimeout(() => clients.forEach(({ socket }) => socket.destroy()), 2000);
    await Promise.all(closing);
    clearTimeout(stragglers);
    out.clients = clients.map(({ seen }) => ({
      events: seen.events.slice(),
      echoed: seen.echo === 'ping',
    }));
    out.stderr = stderr;
  }
  return out;
}

module.exports = { runEmfileScenario, FD_LIMIT, FREE_SLOTS, EXTRA_CLIENTS };
