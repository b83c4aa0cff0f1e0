'use strict';
// Soak: many connect/write/close cycles against a server in the same process, printing the
// curve of descriptors and memory as it goes, then checking that both return to baseline.
//
//   node scripts/soak.js [--cycles=100000] [--impl=ours|node] [--concurrency=50]
//                        [--every=N] [--rss-bound=MiB] [--late-bound=MiB] [--payload=bytes]
//
// Each cycle connects to an echo server on 127.0.0.1 (port 0), writes a payload and reads it
// back, then closes: every other cycle by end() (the half-close travels to the server, which
// ends too), the others by destroy() once the echo is complete. `--concurrency` cycles are in
// flight at once. After a warm-up (JIT, allocator pools, the runtime thread), the figures are
// taken as the baseline; at every `--every` cycles a line of the curve is printed after a forced
// GC: cycles done, elapsed time, rate, open descriptors (/proc/self/fd), RSS, heapUsed,
// external and, for ours, the native handles holding a descriptor.
//
// At the end all sockets are closed, GC is forced and the figures are compared with the
// baseline. Exit code 0 when: every cycle echoed its payload without an error, the descriptor
// count is back to the baseline, heapUsed and external are back within 8 MiB of it, RSS grew by
// less than `--rss-bound` MiB over the baseline (default 160) and by less than `--late-bound`
// MiB (default 24) over the second half of the run, and (ours) no native handle is left but
// the server's. RSS is a step curve that plateaus: V8's pages and the allocators' pools grow in
// steps during the first ~40,000 cycles, by 25-30 MiB on Node 20 and by ~100 MiB on Node 24,
// with node:net as with this module, and a late step of ~13 MiB was seen with node:net on
// Node 22. A leak grows steadily instead: 500 bytes per cycle show as ~24 MiB over the second
// half of 100,000 cycles (the summary prints the late growth per cycle).
// Exit code 1 otherwise, 2 if the run stalled. The script re-spawns itself with --expose-gc.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

if (typeof global.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status === null ? 1 : r.status);
}

function parseArgs(argv) {
  const opts = {
    cycles: 100000,
    impl: 'ours',
    concurrency: 50,
    every: 0,
    rssBound: 160,
    lateBound: 24,
    payload: 512,
  };
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}`);
    const key = m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in opts)) throw new Error(`unknown option --${m[1]}`);
    opts[key] = key === 'impl' ? m[2] : Number(m[2]);
    if (key !== 'impl' && !(opts[key] > 0)) throw new Error(`--${m[1]} must be a positive number`);
  }
  if (opts.impl !== 'ours' && opts.impl !== 'node') throw new Error('--impl must be ours or node');
  if (!opts.every) opts.every = Math.max(1000, Math.round(opts.cycles / 20));
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const net = opts.impl === 'node' ? require('node:net') : require(path.resolve(__dirname, '..'));
const LIVE = Symbol.for('rsnet.liveHandles');
const liveHandles = () => (typeof net[LIVE] === 'function' ? net[LIVE]() : null);

const MiB = 1024 * 1024;
const fdCount = () => fs.readdirSync('/proc/self/fd').length - 1; // minus readdir's own
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

async function collect() {
  // A few rounds: finalizers and weak callbacks run between them, freeing external memory.
  for (let i = 0; i < 3; i++) {
    global.gc();
    await delay(20);
  }
}

function sample() {
  const m = process.memoryUsage();
  return {
    fds: fdCount(),
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    live: liveHandles(),
  };
}

const mb = (n) => (n / MiB).toFixed(1);
const pad = (v, n) => String(v).padStart(n);

function header() {
  console.log(
    `${pad('cycles', 8)} ${pad('elapsed', 8)} ${pad('cyc/s', 7)} ${pad('fds', 5)}` +
      ` ${pad('rss', 7)} ${pad('heap', 6)} ${pad('ext', 6)} ${pad('native', 6)}`,
  );
}

function line(cycles, elapsedMs, rate, s) {
  console.log(
    `${pad(cycles, 8)} ${pad((elapsedMs / 1000).toFixed(1) + 's', 8)} ${pad(Math.round(rate), 7)}` +
      ` ${pad(s.fds, 5)} ${pad(mb(s.rss), 7)} ${pad(mb(s.heapUsed), 6)} ${pad(mb(s.external), 6)}` +
      ` ${pad(s.live === null ? '-' : s.live, 6)}`,
  );
}

async function main() {
  const payload = Buffer.alloc(opts.payload);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;

  const start = sample();
  const server = net.createServer((c) => {
    c.on('error', () => {}); // counted on the client side
    c.pipe(c);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, resolve);
  });
  const port = server.address().port;

  let started = 0;
  let done = 0;
  let errors = 0;
  let mismatches = 0;
  let firstError = null;
  let lastProgress = Date.now();

  function cycle(i) {
    return new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      const chunks = [];
      let got = 0;
      const byDestroy = i % 2 === 1;
      c.on('data', (d) => {
        chunks.push(d);
        got += d.length;
        if (byDestroy && got >= payload.length) c.destroy();
      });
      c.on('error', (err) => {
        errors++;
        if (!firstError) firstError = err;
      });
      c.on('close', () => {
        if (!Buffer.concat(chunks, got).equals(payload)) mismatches++;
        resolve();
      });
      c.on('connect', () => {
        if (byDestroy) c.write(payload);
        else c.end(payload);
      });
    });
  }

  /** Run cycles until `target` are done, `opts.concurrency` at a time; `onDone` after each. */
  function runUntil(target, onDone) {
    return new Promise((resolve) => {
      let inFlight = 0;
      const next = () => {
        while (inFlight < opts.concurrency && started < target) {
          inFlight++;
          cycle(started++).then(() => {
            inFlight--;
            done++;
            lastProgress = Date.now();
            if (onDone) onDone();
            if (done === target) resolve();
            else next();
          });
        }
      };
      next();
    });
  }

  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > 30000) {
      console.log(`STALLED: no cycle completed for 30 s (done ${done}, started ${started})`);
      console.log('sample', sample());
      process.exit(2);
    }
  }, 1000);
  watchdog.unref();

  const warmup = Math.min(opts.cycles, Math.max(500, Math.round(opts.cycles / 50)));
  console.log(
    `soak: impl=${opts.impl} node=${process.version} cycles=${opts.cycles} ` +
      `concurrency=${opts.concurrency} payload=${opts.payload} B warm-up=${warmup}`,
  );
  console.log(`start: fds ${start.fds}, rss ${mb(start.rss)} MiB`);
  await runUntil(warmup);
  await collect();
  const base = sample();
  console.log(
    `baseline after warm-up: fds ${base.fds}, rss ${mb(base.rss)} MiB, heapUsed ` +
      `${mb(base.heapUsed)} MiB, external ${mb(base.external)} MiB, native ${base.live ?? '-'}`,
  );
  header();

  const t0 = Date.now();
  let lastT = t0;
  let lastDone = done;
  let peakRss = base.rss;
  let midRss = null;
  let midDone = null;
  const mid = warmup + Math.floor((opts.cycles - warmup) / 2);
  const points = [];

  // A checkpoint pauses new cycles (the in-flight ones finish), forces GC and prints a line.
  async function checkpoint() {
    const now = Date.now();
    const rate = ((done - lastDone) * 1000) / Math.max(1, now - lastT);
    await collect();
    const s = sample();
    peakRss = Math.max(peakRss, s.rss);
    points.push({ done, rss: s.rss });
    line(done, now - t0, rate, s);
    lastT = Date.now();
    lastDone = done;
  }

  let target = warmup;
  while (target < opts.cycles) {
    target = Math.min(opts.cycles, target + opts.every);
    await runUntil(target, () => {
      if (done % 100 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    });
    await checkpoint();
    if (midRss === null && done >= mid) {
      midRss = points[points.length - 1].rss;
      midDone = done;
    }
  }
  const elapsed = Date.now() - t0;
  const measured = opts.cycles - warmup;

  // Everything of the cycles is closed; let the last closes settle.
  const settleEnd = Date.now() + 3000;
  await collect();
  while (Date.now() < settleEnd && (fdCount() > base.fds || (liveHandles() ?? 1) > 1)) {
    await delay(20);
  }
  await collect();
  const end = sample();
  await new Promise((r) => server.close(r));
  await collect();
  const closed = sample();
  clearInterval(watchdog);

  const rssGrowth = end.rss - base.rss;
  const lateGrowth = end.rss - (midRss ?? base.rss);
  const lateCycles = Math.max(1, opts.cycles - (midDone ?? warmup));
  const failures = `${errors} errors, ${mismatches} mismatches`;
  const checks = [
    [
      'every cycle echoed its payload',
      errors === 0 && mismatches === 0,
      failures + (firstError ? ` (first: ${firstError.message})` : ''),
    ],
    ['descriptors back to baseline', end.fds <= base.fds, `${end.fds} vs ${base.fds}`],
    [
      `RSS growth under ${opts.rssBound} MiB`,
      rssGrowth < opts.rssBound * MiB,
      `${mb(rssGrowth)} MiB`,
    ],
    [
      `RSS growth over the second half under ${opts.lateBound} MiB`,
      lateGrowth < opts.lateBound * MiB,
      `${mb(lateGrowth)} MiB (${Math.round(lateGrowth / lateCycles)} bytes per cycle)`,
    ],
    [
      'heapUsed and external back within 8 MiB of the baseline',
      end.heapUsed - base.heapUsed < 8 * MiB && end.external - base.external < 8 * MiB,
      `${mb(end.heapUsed - base.heapUsed)} / ${mb(end.external - base.external)} MiB`,
    ],
  ];
  if (end.live !== null) {
    checks.push(['native handles: only the server', end.live === 1, `${end.live}`]);
    checks.push(['native handles after server.close(): none', closed.live === 0, `${closed.live}`]);
  }

  console.log('');
  console.log(
    `${measured} cycles in ${(elapsed / 1000).toFixed(1)} s: ` +
      `${Math.round((measured * 1000) / elapsed)} cycles/s (checkpoints included)`,
  );
  console.log(
    `rss: start ${mb(start.rss)}, baseline ${mb(base.rss)}, peak ${mb(peakRss)}, ` +
      `end ${mb(end.rss)} MiB (after server.close: ${mb(closed.rss)})`,
  );
  console.log(
    `fds: start ${start.fds}, baseline ${base.fds}, end ${end.fds} ` +
      `(after server.close: ${closed.fds})`,
  );
  console.log(
    `heapUsed: baseline ${mb(base.heapUsed)}, end ${mb(end.heapUsed)} MiB; ` +
      `external: baseline ${mb(base.external)}, end ${mb(end.external)} MiB`,
  );
  let ok = true;
  for (const [name, pass, detail] of checks) {
    console.log(`${pass ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
    if (!pass) ok = false;
  }
  console.log(`verdict: ${ok ? 'PASS' : 'FAIL'}`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
