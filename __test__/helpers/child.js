'use strict';
// Child processes for the load and teardown tests: a script run with `node -e`, the module
// under test named by NET_MODULE (node:net or this module), its outcome collected so that a
// crash, an abort or a hang of the child fails a test without taking the test runner down.

const { spawn } = require('node:child_process');
const path = require('node:path');

/** What NET_MODULE is for "ours" (node:net when RSNET_ORACLE_ONLY is set). */
const OURS = process.env.RSNET_ORACLE_ONLY ? 'node:net' : path.resolve(__dirname, '..', '..');

/** Lines a crashing runtime writes: a Rust panic, a C++ abort, a V8 fatal error, a signal. */
const CRASH = /panicked|panic|Aborted|FATAL|Segmentation|core dumped|Assertion|SIGABRT|SIGSEGV/;

/** Helpers every child script starts with: `net`, `log`, `fdCount`. */
const PRELUDE = `
const net = require(process.env.NET_MODULE);
const fs = require('node:fs');
const log = (...a) => process.stdout.write(a.join(' ') + '\\n');
const fdCount = () => fs.readdirSync('/proc/self/fd').length - 1;
`;

/**
 * Run `script` with `node -e` and NET_MODULE set. The child is killed (SIGKILL, `killed: true`)
 * after `limitMs`. `nofile` lowers its descriptor limit (through `sh -c 'ulimit -n N'`).
 * Resolves to { code, signal, stdout, stderr, killed, ms }.
 */
function runChild(script, netModule, { limitMs = 15000, nofile, execArgv = [], env = {} } = {}) {
  const nodeArgs = [...execArgv, '-e', script];
  const [cmd, args] = nofile
    ? ['/bin/sh', ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env, NET_MODULE: netModule },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const safety = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(safety);
      resolve({ code, signal, stdout, stderr, killed, ms: Date.now() - started });
    });
  });
}

/** The last line of stdout that parses as JSON (a child's report), or null. */
function report(result) {
  const lines = result.stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l);
    } catch {
      // not the report
    }
  }
  return null;
}

/** The parts of an outcome that two runs of one scenario must agree on. */
function outcome(result) {
  return {
    code: result.code,
    signal: result.signal,
    killed: result.killed,
    crashed: CRASH.test(result.stderr),
    stdout: result.stdout,
  };
}

module.exports = { OURS, CRASH, PRELUDE, runChild, report, outcome };
