'use strict';
// The JS test suite: every __test__/*.test.js except the packaging test (which builds the
// package from a tarball and runs separately). `node scripts/js-suite.js` runs it with this
// Node; scripts/node-matrix.js runs the same files with other Node versions.

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const TEST_DIR = path.join(ROOT, '__test__');

/** Test files run by the suite on every Node version, relative to the repo root. */
const EXCLUDED = new Set(['package.test.js']);

function suiteFiles() {
  return fs
    .readdirSync(TEST_DIR)
    .filter((name) => name.endsWith('.test.js') && !EXCLUDED.has(name))
    .sort()
    .map((name) => path.join('__test__', name));
}

/**
 * Run the suite with the given node binary. Output is passed through; the summary counts of
 * the test runner (tap `# pass N` or spec `ℹ pass N`) are collected from it.
 * Resolves to { code, signal, ms, counts, timedOut }.
 */
function runSuite(nodeBin, { env = process.env, timeoutMs = 8 * 60 * 1000 } = {}) {
  const files = suiteFiles();
  const args = ['--test', '--test-concurrency=1', ...files];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const counts = {};
    const scan = (text) => {
      tail += text;
      const lines = tail.split('\n');
      tail = lines.pop();
      for (const line of lines) {
        const m = /^(?:#|ℹ)\s+(tests|pass|fail|cancelled|skipped|todo)\s+(\d+)\s*$/.exec(line);
        if (m) counts[m[1]] = Number(m[2]);
      }
    };
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      scan(chunk.toString('utf8'));
    });
    child.stderr.on('data', (chunk) => process.stderr.write(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      scan('\n');
      resolve({ code, signal, ms: Date.now() - started, counts, timedOut });
    });
  });
}

module.exports = { ROOT, suiteFiles, runSuite };

if (require.main === module) {
  runSuite(process.execPath).then(
    (r) => {
      if (r.timedOut) console.error(`js-suite: timed out after ${(r.ms / 1000).toFixed(0)} s`);
      process.exitCode = r.code === 0 ? 0 : 1;
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
