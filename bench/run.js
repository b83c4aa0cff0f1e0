#!/usr/bin/env node
'use strict';
// Benchmark harness: compares this module ("ours") with node:net ("node") in three set-ups,
// so that only the module under test varies:
//
//   server  the module under test is the server (bench/server.js); the client is the native
//           load generator (bench/loadgen, Rust + tokio, built here with cargo)
//   client  the module under test is the client (bench/client.js); the server is the native
//           load generator's server
//   both    server and client both use the module under test
//
// plus the pure-tokio ceiling: the load generator on both sides. Each run starts fresh
// processes on 127.0.0.1; the side that measures warms up, times a fixed window with a
// monotonic clock and reports one number; then every process of the run is killed and
// reaped before the next run starts. For every set-up and workload the runs alternate node,
// ours, node, ours, ... for several rounds, and the tables give each implementation's
// median, the ratio of the medians, and the median and range of the per-round ratios.
//
// Usage: node bench/run.js [--quick] [--setups=LIST] [--only=LIST] [--impls=LIST]
//                          [--rounds=N] [--warmup=MS] [--duration=MS] [--idle=N]
//                          [--idle-rounds=N] [--no-ceiling] [--json=FILE]   (see --help)

const { fork, spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { IMPLS, WORKLOADS, OURS_PATH } = require('./common');

// Run lengths. The quick mode runs every set-up and workload in under a minute.
const MODES = {
  default: { rounds: 5, warmupMs: 500, durationMs: 1500, idle: 10000, idleRounds: 3, ceilingRounds: 3 },
  quick: { rounds: 2, warmupMs: 100, durationMs: 300, idle: 10000, idleRounds: 1, ceilingRounds: 1 },
};

const SETUPS = {
  server: {
    title: 'Set-up 1, server side: the module under test serves; the client is the native load generator',
    server: 'impl',
    client: 'tokio',
  },
  client: {
    title: 'Set-up 2, client side: the module under test is the client, against the native server',
    server: 'tokio',
    client: 'impl',
  },
  both: {
    title: 'Set-up 3, both sides: the server and the client both use the module under test',
    server: 'impl',
    client: 'impl',
  },
};

// Where the native load generator is built: its own target directory (the root crate's
// target/ is locked by cargo while the addon builds, which would make one build wait for
// the other).
const LOADGEN_DIR = path.join(__dirname, 'loadgen');
const LOADGEN_TARGET = path.join(LOADGEN_DIR, 'target');
const LOADGEN_BIN = path.join(LOADGEN_TARGET, 'release', 'loadgen');
const BUILD_TIMEOUT_MS = 10 * 60 * 1000;

// A rate run that has not reported this long after its window should have ended is killed
// and counted as failed: this bounds the total time even if an implementation hangs.
const RUN_GRACE_MS = 10000;
// An idle run may take this long plus IDLE_MS_PER_CONN per connection.
const IDLE_BASE_MS = 15000;
const IDLE_MS_PER_CONN = 4;
// After this many failed runs in a row, an implementation sits out the rest of a workload.
const MAX_CONSECUTIVE_FAILURES = 2;
// Pause between runs, after every process of the previous run has exited.
const SETTLE_MS = 50;

const HELP = `\
Usage: node bench/run.js [options]     (or: npm run bench -- [options])

Compares node:net ("node") with this module ("ours") in three set-ups:
${Object.entries(SETUPS)
  .map(([name, s]) => `  ${name.padEnd(12)} ${s.title.replace(/^Set-up \d, [a-z ]+: /, '')}`)
  .join('\n')}
plus the pure-tokio ceiling (the native load generator on both sides), on these workloads:
${Object.entries(WORKLOADS)
  .map(([name, w]) => `  ${name.padEnd(12)} ${w.title}, in ${w.unit}`)
  .join('\n')}

Options:
  --quick            short runs: ${MODES.quick.rounds} rounds of ${MODES.quick.warmupMs} ms warm-up + ${MODES.quick.durationMs} ms timed, ${MODES.quick.idle} idle
                     connections in ${MODES.quick.idleRounds} round, ${MODES.quick.ceilingRounds} ceiling round; under a minute in all
  --setups=LIST      comma-separated set-ups: server, client, both (default: all)
  --only=LIST        comma-separated workloads (default: all; "bulk" means both bulk ones)
  --impls=LIST       comma-separated implementations: node, ours (default: both)
  --rounds=N         rounds per rate workload (default ${MODES.default.rounds})
  --warmup=MS        untimed warm-up per run (default ${MODES.default.warmupMs})
  --duration=MS      timed window per run (default ${MODES.default.durationMs})
  --idle=N           connections in the idle workload (default ${MODES.default.idle})
  --idle-rounds=N    rounds of the idle workload (default ${MODES.default.idleRounds})
  --ceiling-rounds=N rounds of the tokio ceiling per workload (default ${MODES.default.ceilingRounds})
  --no-ceiling       skip the tokio ceiling
  --json=FILE        also write every run's result and the summary to FILE
  --help             show this help
`;

// ---------------------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const flags = {};
  for (const arg of argv) {
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(arg);
    if (!m) usageError(`unexpected argument ${JSON.stringify(arg)}`);
    flags[m[1]] = m[2] === undefined ? true : m[2];
  }
  const known = [
    'quick', 'setups', 'only', 'impls', 'rounds', 'warmup', 'duration', 'idle', 'idle-rounds',
    'ceiling-rounds', 'no-ceiling', 'json', 'help',
  ];
  for (const name of Object.keys(flags)) {
    if (!known.includes(name)) usageError(`unknown option --${name}`);
  }
  if (flags.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  // "bulk" (the name of the single bulk workload before there were two) selects both.
  if (typeof flags.only === 'string') {
    flags.only = flags.only.split(',').flatMap((w) => (w.trim() === 'bulk' ? ['bulk-send', 'bulk-recv'] : [w])).join(',');
  }

  const mode = flags.quick ? MODES.quick : MODES.default;
  const opts = {
    quick: Boolean(flags.quick),
    rounds: intFlag(flags, 'rounds', mode.rounds, 1),
    warmupMs: intFlag(flags, 'warmup', mode.warmupMs, 0),
    durationMs: intFlag(flags, 'duration', mode.durationMs, 1),
    idleConns: intFlag(flags, 'idle', mode.idle, 1),
    idleRounds: intFlag(flags, 'idle-rounds', mode.idleRounds, 1),
    ceilingRounds: intFlag(flags, 'ceiling-rounds', mode.ceilingRounds, 1),
    ceiling: !flags['no-ceiling'],
    setups: listFlag(flags, 'setups', Object.keys(SETUPS)),
    workloads: listFlag(flags, 'only', Object.keys(WORKLOADS)),
    impls: listFlag(flags, 'impls', IMPLS),
    json: typeof flags.json === 'string' ? flags.json : null,
  };
  // Keep the canonical order whatever order the flags gave.
  opts.impls = IMPLS.filter((i) => opts.impls.includes(i));
  opts.setups = Object.keys(SETUPS).filter((s) => opts.setups.includes(s));
  opts.workloads = Object.keys(WORKLOADS).filter((w) => opts.workloads.includes(w));
  return opts;
}

function intFlag(flags, name, fallback, min) {
  if (flags[name] === undefined) return fallback;
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < min) usageError(`--${name} must be an integer >= ${min}`);
  return n;
}

function listFlag(flags, name, allowed) {
  if (flags[name] === undefined) return allowed;
  if (flags[name] === true) usageError(`--${name} needs a value, e.g. --${name}=${allowed[0]}`);
  const list = flags[name].split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of list) {
    if (!allowed.includes(item)) usageError(`--${name}: unknown ${JSON.stringify(item)} (choose from ${allowed.join(', ')})`);
  }
  if (list.length === 0) usageError(`--${name} is empty`);
  return list;
}

function usageError(message) {
  process.stderr.write(`bench: ${message}\n\n${HELP}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Child processes

/** Every child process still alive, so that any way of exiting can kill them. */
const liveChildren = new Set();

function killAllChildren() {
  for (const child of liveChildren) child.kill('SIGKILL');
}

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping\n`);
    killAllChildren();
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  process.stderr.write(`bench: ${err && err.stack ? err.stack : err}\n`);
  killAllChildren();
  process.exit(1);
});

/** Kill a child (if still running) and resolve once it has exited and its pipes closed. */
function killAndReap(child) {
  return new Promise((resolve) => {
    if (child.closed) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * Check in a throwaway process that our module loads and looks like `net`, so a missing
 * build or a crash while loading cannot take the harness down. Returns null when it is
 * usable, otherwise a short explanation.
 */
function probeOurs() {
  const script = `
    const net = require(${JSON.stringify(OURS_PATH)});
    const missing = ['createServer', 'connect', 'Socket', 'Server'].filter((k) => typeof net[k] !== 'function');
    if (missing.length) { console.error('missing exports: ' + missing.join(', ')); process.exit(1); }
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
  if (r.status === 0) return null;
  const why = (r.error && r.error.message) || (r.stderr || '').trim() || `exit code ${r.status}, signal ${r.signal}`;
  // A require failure prints source context and a long stack: keep the message lines,
  // starting from the error itself when it can be found.
  const lines = why.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
  const first = lines.findIndex((l) => /^\w*Error\b|^missing exports/.test(l));
  return lines.slice(Math.max(first, 0)).slice(0, 3).join('\n');
}

/**
 * Build the native load generator with cargo (a no-op when it is up to date). Returns null
 * on success, otherwise why it failed.
 */
function buildLoadgen() {
  const started = process.hrtime.bigint();
  process.stdout.write('  loadgen: cargo build --release (bench/loadgen) ... ');
  const r = spawnSync(
    'cargo',
    ['build', '--release', '--quiet', '--manifest-path', path.join(LOADGEN_DIR, 'Cargo.toml')],
    {
      env: { ...process.env, CARGO_TARGET_DIR: LOADGEN_TARGET },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: BUILD_TIMEOUT_MS,
    },
  );
  const seconds = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
  if (r.status === 0 && fs.existsSync(LOADGEN_BIN)) {
    console.log(`ok (${seconds} s)`);
    return null;
  }
  console.log('FAILED');
  if (r.error) return r.error.code === 'ENOENT' ? 'cargo not found (a Rust toolchain is needed)' : r.error.message;
  return `${(r.stderr || '').trim().split('\n').slice(-12).join('\n')}\n(exit code ${r.status}, signal ${r.signal})`;
}

/**
 * Start one side of a run. `kind` is 'node' or 'ours' (a JS child, server.js or client.js,
 * talking over IPC) or 'tokio' (the load generator, one JSON object per line on stdout).
 * Either way the child emits 'message' with the same objects: {type: 'listening', port},
 * {type: 'result', value, ...} or {type: 'error', message}.
 */
function startSide(role, kind, workload, opts, limitMs, port) {
  let child;
  if (kind === 'tokio') {
    const args = [
      role,
      `--workload=${workload}`,
      `--warmup=${opts.warmupMs}`,
      `--duration=${opts.durationMs}`,
      `--deadline=${limitMs + 5000}`,
      '--watch-stdin',
    ];
    if (workload === 'idle') args.push(`--conns=${opts.idleConns}`);
    if (port !== undefined) args.push(`--port=${port}`);
    child = spawn(LOADGEN_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // stdin stays open and unused: the load generator exits when it closes (our exit).
    child.stdin.on('error', () => {});
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = { type: 'error', message: `loadgen ${role}: unexpected output ${JSON.stringify(line)}` };
      }
      child.emit('message', msg);
    });
    // Keep the end of stderr, for when it fails.
    child.stderrTail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s) => {
      child.stderrTail = (child.stderrTail + s).slice(-2000);
    });
  } else {
    const env = {
      ...process.env,
      BENCH_IMPL: kind,
      BENCH_WORKLOAD: workload,
      BENCH_WARMUP_MS: String(opts.warmupMs),
      BENCH_DURATION_MS: String(opts.durationMs),
      BENCH_CONNS: String(opts.idleConns),
    };
    if (port !== undefined) env.BENCH_PORT = String(port);
    child = fork(path.join(__dirname, `${role}.js`), [], {
      env,
      // The idle workload reads RSS after a full GC.
      execArgv: workload === 'idle' ? ['--expose-gc'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  }
  child.closed = false;
  liveChildren.add(child);
  child.on('close', () => {
    child.closed = true;
    liveChildren.delete(child);
  });
  return child;
}

/**
 * One run: start the server, then the client on the port it reports, and wait for the
 * results the workload needs (the measuring side's; both sides' for idle). Resolves to
 * { values: { server?, client? }, details } or { error }, after every process has exited.
 */
function runOnce(serverKind, clientKind, workload, opts) {
  const { measuredBy } = WORKLOADS[workload];
  const needed = measuredBy === 'both' ? ['server', 'client'] : [measuredBy];
  const limitMs =
    workload === 'idle'
      ? IDLE_BASE_MS + IDLE_MS_PER_CONN * opts.idleConns
      : opts.warmupMs + opts.durationMs + RUN_GRACE_MS;
  return new Promise((resolve) => {
    const children = [];
    const values = {};
    const details = {};
    let settled = false;
    const timer = setTimeout(() => finish({ error: `no result after ${limitMs / 1000} s, killed` }), limitMs);

    function finish(outcome) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      Promise.all(children.map(killAndReap)).then(() => resolve(outcome));
    }

    function start(role, kind, port) {
      const child = startSide(role, kind, workload, opts, limitMs, port);
      const who = `${role} (${kind})`;
      children.push(child);
      child.on('close', (code, signal) => {
        const tail = child.stderrTail ? `: ${child.stderrTail.trim()}` : '';
        finish({ error: `${who} exited (code ${code}, signal ${signal}) before a result${tail}` });
      });
      child.on('error', (err) => finish({ error: `${who}: ${err.message}` }));
      child.on('message', (msg) => {
        if (settled) return;
        if (msg.type === 'listening' && role === 'server') {
          start('client', clientKind, msg.port);
        } else if (msg.type === 'result' && needed.includes(role)) {
          values[role] = msg.value;
          details[role] = msg;
          if (needed.every((r) => r in values)) finish({ values, details });
        } else if (msg.type === 'error') {
          finish({ error: `${who}: ${msg.message}` });
        }
      });
    }

    start('server', serverKind);
  });
}

/**
 * The number a set-up reports for a run: the measuring side's; for idle, the RSS growth of
 * the side(s) under test (in set-up 3 the client's and the server's together).
 */
function valueFor(setup, workload, values) {
  const { measuredBy } = WORKLOADS[workload];
  if (measuredBy !== 'both') return values[measuredBy];
  if (setup === 'server') return values.server;
  if (setup === 'client') return values.client;
  return values.server + values.client;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------
// Statistics and output

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function formatValue(value, unit) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const digits = unit === 'MB/s' ? 1 : 0;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const formatRatio = (r) => (r === null || !Number.isFinite(r) ? '-' : `${r.toFixed(2)}x`);

/**
 * Run-to-run spread of one implementation's results: half the range as a percentage of the
 * median. It shows how much of a ratio could be noise.
 */
function spread(values) {
  const v = values.filter((x) => Number.isFinite(x));
  const m = median(v);
  if (v.length < 2 || !m) return '-';
  return `±${((50 * (Math.max(...v) - Math.min(...v))) / Math.abs(m)).toFixed(0)}%`;
}

/** Lowest and highest per-round ratio. */
function ratioRange(ratios) {
  const v = ratios.filter((x) => Number.isFinite(x));
  if (v.length < 2) return '-';
  return `${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)}`;
}

/** The first few lines of an error message (stacks from the children can be long). */
function shorten(message, maxLines = 4) {
  const lines = message.split('\n');
  return lines.length > maxLines ? [...lines.slice(0, maxLines), '...'].join('\n') : message;
}

function printTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function machineInfo() {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: OURS_PATH,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // Not a git checkout; the commit is only informative.
  }
  return {
    cpu: cpus.length ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    commit,
    date: new Date().toISOString(),
  };
}

/** The extra a progress line shows for a run: how long the idle connections took. */
function runNote(workload, outcome) {
  if (workload !== 'idle' || !outcome.details) return '';
  const secs = Object.values(outcome.details).map((d) => d.seconds).filter(Number.isFinite);
  return secs.length ? ` (open: ${Math.max(...secs).toFixed(1)} s)` : '';
}

// ---------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = process.hrtime.bigint();

  const info = machineInfo();
  console.log('net benchmark: node:net vs ours');
  console.log(`  cpu:     ${info.cpu} (${info.cores} cores)`);
  console.log(`  node:    ${info.node}`);
  console.log(`  os:      ${info.os}, load average ${info.loadavg}`);
  console.log(`  commit:  ${info.commit}`);
  console.log(`  date:    ${info.date}`);
  console.log(
    `  runs:    ${opts.rounds} round(s) x ${opts.impls.join(', ')}, ` +
      `${opts.warmupMs} ms warm-up + ${opts.durationMs} ms timed each${opts.quick ? ' (--quick)' : ''}`,
  );
  if (opts.workloads.includes('idle')) {
    console.log(`  idle:    ${opts.idleConns.toLocaleString('en-US')} connections, ${opts.idleRounds} round(s)`);
  }

  if (opts.impls.includes('ours')) {
    const problem = probeOurs();
    if (problem) {
      console.log(`\n  ! could not load ours from ${OURS_PATH}:`);
      console.log(problem.replace(/^/gm, '      '));
      console.log('  ! benchmarking node:net only.');
      opts.impls = opts.impls.filter((i) => i !== 'ours');
      if (opts.impls.length === 0) opts.impls = ['node'];
    }
  }

  const needsLoadgen = opts.ceiling || opts.setups.some((s) => s !== 'both');
  if (needsLoadgen) {
    const problem = buildLoadgen();
    if (problem) {
      console.log(problem.replace(/^/gm, '      '));
      console.log('  ! without the load generator: set-up 3 (both sides) only, no tokio ceiling.');
      opts.setups = opts.setups.filter((s) => s === 'both');
      opts.ceiling = false;
      if (opts.setups.length === 0) {
        process.exitCode = 1;
        return;
      }
    }
  }
  console.log('');

  const roundsOf = (workload) => (workload === 'idle' ? opts.idleRounds : opts.rounds);
  const failures = [];
  const runs = [];

  // The tokio ceiling: the load generator on both sides. One run serves every set-up.
  // ceiling[workload] = one { server, client } entry per round (null when it failed).
  const ceiling = {};
  if (opts.ceiling) {
    console.log('Pure-tokio ceiling: native load generator on both sides');
    for (const workload of opts.workloads) {
      const { unit } = WORKLOADS[workload];
      ceiling[workload] = [];
      const rounds = Math.min(opts.ceilingRounds, roundsOf(workload));
      const cells = [];
      for (let round = 1; round <= rounds; round++) {
        const outcome = await runOnce('tokio', 'tokio', workload, opts);
        runs.push({ setup: 'ceiling', workload, impl: 'tokio', round, ...outcome });
        if (outcome.error) {
          ceiling[workload].push(null);
          failures.push(`ceiling ${workload} round ${round}: ${shorten(outcome.error)}`);
          cells.push('FAILED');
          if (round === 1 && rounds > 1) break;
        } else {
          ceiling[workload].push(outcome.values);
          const v = workload === 'idle' ? outcome.values.server : outcome.values[WORKLOADS[workload].measuredBy];
          cells.push(`${formatValue(v, unit)}${runNote(workload, outcome)}`);
        }
        await sleep(SETTLE_MS);
      }
      const what = workload === 'idle' ? `${unit} (server side)` : unit;
      console.log(`  ${workload.padEnd(12)} ${cells.join(', ')} ${what}`);
    }
    console.log('');
  }

  // results[setup][workload][impl] = one entry per round: a number, or null when it failed.
  const results = {};
  for (const setup of opts.setups) {
    const s = SETUPS[setup];
    console.log(s.title);
    results[setup] = {};
    for (const workload of opts.workloads) {
      const { unit } = WORKLOADS[workload];
      results[setup][workload] = Object.fromEntries(opts.impls.map((i) => [i, []]));
      const failedInARow = Object.fromEntries(opts.impls.map((i) => [i, 0]));
      const rounds = roundsOf(workload);
      for (let round = 1; round <= rounds; round++) {
        const cells = [];
        for (const impl of opts.impls) {
          if (failedInARow[impl] >= MAX_CONSECUTIVE_FAILURES) {
            results[setup][workload][impl].push(null);
            cells.push(`${impl} skipped`);
            continue;
          }
          const serverKind = s.server === 'impl' ? impl : 'tokio';
          const clientKind = s.client === 'impl' ? impl : 'tokio';
          const outcome = await runOnce(serverKind, clientKind, workload, opts);
          runs.push({ setup, workload, impl, round, ...outcome });
          if (outcome.error) {
            results[setup][workload][impl].push(null);
            failures.push(`${setup} ${workload} round ${round} ${impl}: ${shorten(outcome.error)}`);
            cells.push(`${impl} FAILED`);
            failedInARow[impl]++;
          } else {
            const value = valueFor(setup, workload, outcome.values);
            results[setup][workload][impl].push(value);
            cells.push(`${impl} ${formatValue(value, unit)}${runNote(workload, outcome)}`);
            failedInARow[impl] = 0;
          }
          await sleep(SETTLE_MS);
        }
        console.log(`  ${workload.padEnd(12)} round ${round}/${rounds}: ${cells.join(', ')} ${unit}`);
      }
    }
    console.log('');
  }

  // One table per set-up.
  const summary = {};
  for (const setup of opts.setups) {
    summary[setup] = {};
    const rows = [];
    for (const workload of opts.workloads) {
      const { unit, lowerIsBetter } = WORKLOADS[workload];
      const node = results[setup][workload].node || [];
      const ours = results[setup][workload].ours || [];
      const nodeMedian = median(node);
      const oursMedian = median(ours);
      const ratio = nodeMedian && oursMedian !== null ? oursMedian / nodeMedian : null;
      // Pair each round's two runs, which ran back to back, and take the median of their ratios.
      const roundRatios = node.map((n, i) => (n && ours[i] != null ? ours[i] / n : null));
      const roundRatio = median(roundRatios);
      const tokio = opts.ceiling
        ? median((ceiling[workload] || []).map((v) => (v ? valueFor(setup, workload, v) : null)))
        : null;
      summary[setup][workload] = { unit, nodeMedian, oursMedian, ratio, roundRatio, roundRatios, tokio };
      rows.push([
        workload,
        lowerIsBetter ? `${unit} (lower wins)` : unit,
        formatValue(nodeMedian, unit),
        spread(node),
        formatValue(oursMedian, unit),
        spread(ours),
        formatRatio(ratio),
        formatRatio(roundRatio),
        ratioRange(roundRatios),
        ...(opts.ceiling ? [formatValue(tokio, unit)] : []),
      ]);
    }
    console.log(`${SETUPS[setup].title}\n`);
    printTable(
      ['workload', 'unit', 'node', '±', 'ours', '±', 'ours/node', 'per-round', 'range', ...(opts.ceiling ? ['tokio'] : [])],
      rows,
    );
    console.log('');
  }
  const legend = [
    'node, ours: medians over the rounds; ±: half the min-max range, relative to the median.',
    'ours/node: ratio of the medians; per-round: median of the per-round ratios ours/node (each',
    'round runs node and ours back to back); range: the lowest and highest per-round ratio.',
  ];
  if (opts.ceiling) legend.push('tokio: the pure-tokio ceiling (the native load generator on both sides).');
  legend.push('Higher is better, except idle: lower is better.');
  if (opts.workloads.includes('idle')) {
    legend.push(
      `idle: RSS growth per connection with ${opts.idleConns.toLocaleString('en-US')} connections open, ` +
        'after a GC (set-up 3: client and server together).',
    );
  }
  console.log(legend.join('\n'));

  if (failures.length) {
    console.log(`\n${failures.length} run(s) failed (left out of the medians):`);
    for (const f of failures) console.log(`  ${f.replace(/\n/g, '\n    ')}`);
  }

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`\nTotal time: ${seconds.toFixed(1)} s`);

  if (opts.json) {
    const doc = { info, options: opts, results, ceiling, summary, runs, failures, seconds };
    fs.writeFileSync(opts.json, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`Wrote ${opts.json}`);
  }
  process.exitCode = failures.length ? 1 : 0;
}

main();
