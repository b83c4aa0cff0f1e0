#!/usr/bin/env node
'use strict';
// Benchmark harness: compares this module ("ours") with node:net ("node").
//
// Each run starts a server process (bench/server.js) and a client process (bench/client.js),
// both using the same implementation, on 127.0.0.1. The side that measures warms up, times a
// fixed window with process.hrtime.bigint() and reports one number over IPC; then both
// processes are killed and reaped before the next run starts. For every workload the runs
// alternate node, ours, node, ours, ... for several rounds, and the summary gives each
// implementation's median, the ratio of the medians, and the median of the per-round ratios.
//
// Usage: node bench/run.js [--quick] [--only=w1,w2] [--impls=node,ours] [--rounds=N]
//                          [--warmup=MS] [--duration=MS] [--json=FILE]
// (see --help)

const { fork, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { IMPLS, WORKLOADS, OURS_PATH } = require('./common');

// Run lengths. The quick mode keeps a full node-vs-ours comparison under a minute.
const MODES = {
  default: { rounds: 5, warmupMs: 1000, durationMs: 3000 },
  quick: { rounds: 3, warmupMs: 300, durationMs: 1000 },
};
// A run that has not reported this long after its window should have ended is killed
// and counted as failed: this bounds the total time even if an implementation hangs.
const RUN_GRACE_MS = 10000;
// After this many failed runs in a row, an implementation sits out the rest of a workload.
const MAX_CONSECUTIVE_FAILURES = 2;
// Pause between runs, after both processes of the previous run have exited.
const SETTLE_MS = 100;

const HELP = `\
Usage: node bench/run.js [options]     (or: npm run bench -- [options])

Compares node:net ("node") with this module ("ours") on four workloads:
${Object.entries(WORKLOADS)
  .map(([name, w]) => `  ${name.padEnd(12)} ${w.title}, in ${w.unit}`)
  .join('\n')}

Options:
  --quick            short runs (${MODES.quick.rounds} rounds, ${MODES.quick.warmupMs} ms warm-up, ${MODES.quick.durationMs} ms timed); under a minute in all
  --only=LIST        comma-separated workloads to run (default: all)
  --impls=LIST       comma-separated implementations: node, ours (default: both)
  --rounds=N         rounds per workload (default ${MODES.default.rounds})
  --warmup=MS        untimed warm-up per run (default ${MODES.default.warmupMs})
  --duration=MS      timed window per run (default ${MODES.default.durationMs})
  --json=FILE        also write every run's result and the summary to FILE
  --help             show this help
`;

// ---------------------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const flags = {};
  for (const arg of argv) {
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (!m) usageError(`unexpected argument ${JSON.stringify(arg)}`);
    flags[m[1]] = m[2] === undefined ? true : m[2];
  }
  const known = ['quick', 'only', 'impls', 'rounds', 'warmup', 'duration', 'json', 'help'];
  for (const name of Object.keys(flags)) {
    if (!known.includes(name)) usageError(`unknown option --${name}`);
  }
  if (flags.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }

  const mode = flags.quick ? MODES.quick : MODES.default;
  const opts = {
    quick: Boolean(flags.quick),
    rounds: intFlag(flags, 'rounds', mode.rounds, 1),
    warmupMs: intFlag(flags, 'warmup', mode.warmupMs, 0),
    durationMs: intFlag(flags, 'duration', mode.durationMs, 1),
    workloads: listFlag(flags, 'only', Object.keys(WORKLOADS)),
    impls: listFlag(flags, 'impls', IMPLS),
    json: typeof flags.json === 'string' ? flags.json : null,
  };
  // Keep the canonical order whatever order the flags gave.
  opts.impls = IMPLS.filter((i) => opts.impls.includes(i));
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

/** Kill a child (if still running) and resolve once it has exited. */
function killAndReap(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
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
 * One run: start the server, then the client on the port it reports, and wait for the
 * measuring side's result. Resolves to { value } or { error }, after both processes have
 * exited.
 */
function runOnce(impl, workload, opts) {
  const measuredBy = WORKLOADS[workload].measuredBy;
  const env = {
    ...process.env,
    BENCH_IMPL: impl,
    BENCH_WORKLOAD: workload,
    BENCH_WARMUP_MS: String(opts.warmupMs),
    BENCH_DURATION_MS: String(opts.durationMs),
  };
  return new Promise((resolve) => {
    const children = [];
    let settled = false;
    const limitMs = opts.warmupMs + opts.durationMs + RUN_GRACE_MS;
    const timer = setTimeout(() => finish({ error: `no result after ${limitMs / 1000} s, killed` }), limitMs);

    function finish(outcome) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      Promise.all(children.map(killAndReap)).then(() => resolve(outcome));
    }

    function start(role, extraEnv = {}) {
      const child = fork(path.join(__dirname, `${role}.js`), [], {
        env: { ...env, ...extraEnv },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      liveChildren.add(child);
      child.on('exit', (code, signal) => {
        liveChildren.delete(child);
        finish({ error: `${role} exited (code ${code}, signal ${signal}) before a result` });
      });
      child.on('error', (err) => finish({ error: `${role}: ${err.message}` }));
      child.on('message', (msg) => {
        if (msg.type === 'listening' && role === 'server') {
          if (!settled) start('client', { BENCH_PORT: String(msg.port) });
        } else if (msg.type === 'result' && role === measuredBy) {
          finish({ value: msg.value });
        } else if (msg.type === 'error') {
          finish({ error: msg.message });
        }
      });
      return child;
    }

    start('server');
  });
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
  if (value === null || value === undefined) return '-';
  const digits = unit === 'MB/s' ? 1 : 0;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const formatRatio = (r) => (r === null ? '-' : `${r.toFixed(3)}x`);

/**
 * Run-to-run spread of one implementation's results: half the range as a percentage of the
 * median. It shows how much of a ratio could be noise.
 */
function spread(values) {
  const v = values.filter((x) => Number.isFinite(x));
  const m = median(v);
  if (v.length < 2 || !m) return '-';
  return `±${((50 * (Math.max(...v) - Math.min(...v))) / m).toFixed(0)}%`;
}

/** The first few lines of an error message (stacks from the children can be long). */
function shorten(message, maxLines = 4) {
  const lines = message.split('\n');
  return lines.length > maxLines ? [...lines.slice(0, maxLines), '...'].join('\n') : message;
}

function printTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
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
  console.log('');

  // results[workload][impl] = one entry per round: a number, or null when the run failed.
  const results = {};
  const failures = [];
  for (const workload of opts.workloads) {
    const { title, unit } = WORKLOADS[workload];
    console.log(`${workload}: ${title}`);
    results[workload] = Object.fromEntries(opts.impls.map((i) => [i, []]));
    const failedInARow = Object.fromEntries(opts.impls.map((i) => [i, 0]));
    for (let round = 1; round <= opts.rounds; round++) {
      const cells = [];
      for (const impl of opts.impls) {
        if (failedInARow[impl] >= MAX_CONSECUTIVE_FAILURES) {
          results[workload][impl].push(null);
          cells.push(`${impl} skipped`);
          continue;
        }
        const outcome = await runOnce(impl, workload, opts);
        if (outcome.error) {
          results[workload][impl].push(null);
          failures.push(`${workload} round ${round} ${impl}: ${shorten(outcome.error)}`);
          cells.push(`${impl} FAILED`);
          failedInARow[impl]++;
        } else {
          results[workload][impl].push(outcome.value);
          cells.push(`${impl} ${formatValue(outcome.value, unit)}`);
          failedInARow[impl] = 0;
        }
        await sleep(SETTLE_MS);
      }
      console.log(`  round ${round}/${opts.rounds}: ${cells.join(', ')} ${unit}`);
    }
  }

  // Summary table.
  const summary = {};
  const rows = [];
  for (const workload of opts.workloads) {
    const { unit } = WORKLOADS[workload];
    const node = results[workload].node || [];
    const ours = results[workload].ours || [];
    const nodeMedian = median(node);
    const oursMedian = median(ours);
    const ratio = nodeMedian && oursMedian !== null ? oursMedian / nodeMedian : null;
    // Pair each round's two runs, which ran back to back, and take the median of their ratios.
    const roundRatios = node.map((n, i) => (n && ours[i] != null ? ours[i] / n : null));
    const roundRatio = median(roundRatios);
    summary[workload] = { unit, nodeMedian, oursMedian, ratio, roundRatio };
    rows.push([
      workload,
      unit,
      formatValue(nodeMedian, unit),
      spread(node),
      formatValue(oursMedian, unit),
      spread(ours),
      formatRatio(ratio),
      formatRatio(roundRatio),
    ]);
  }
  console.log('\nMedians (higher is better; ± is half the min-max range, relative to the median):\n');
  printTable(['workload', 'unit', 'node', '±', 'ours', '±', 'ours/node', 'per-round ratio (median)'], rows);

  if (failures.length) {
    console.log(`\n${failures.length} run(s) failed (left out of the medians):`);
    for (const f of failures) console.log(`  ${f.replace(/\n/g, '\n    ')}`);
  }

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`\nTotal time: ${seconds.toFixed(1)} s`);

  if (opts.json) {
    const doc = { info, options: opts, results, summary, failures, seconds };
    fs.writeFileSync(opts.json, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`Wrote ${opts.json}`);
  }
  process.exitCode = failures.length ? 1 : 0;
}

main();
