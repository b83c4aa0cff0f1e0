'use strict';
// Node version matrix: runs the JS suite (scripts/js-suite.js: __test__/*.test.js without the
// packaging test) with Node 22 and 24, next to the main run on the machine's own Node.
//
//   node scripts/node-matrix.js          # Node 22 and 24
//   node scripts/node-matrix.js 24       # only the majors given
//
// Each Node comes from the npm registry as the official binary package node-<os>-<arch>@<major>
// and is kept in .node-versions/<major>/ (gitignored) for the next run; delete that folder to
// fetch the newest release of the major again. The native addon is N-API: the same build loads
// on every version, nothing is rebuilt.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT, runSuite } = require('./js-suite');
const { npmEnv } = require('./npm-env');

const DEFAULT_MAJORS = [22, 24];
const CACHE_DIR = path.join(ROOT, '.node-versions');
const PKG = `node-${process.platform}-${process.arch}`;
const INSTALL_TIMEOUT_MS = 5 * 60 * 1000;
const SUITE_TIMEOUT_MS = 8 * 60 * 1000;

function nodeBinIn(dir) {
  const exe = process.platform === 'win32' ? 'node.exe' : path.join('bin', 'node');
  return path.join(dir, 'node_modules', PKG, exe);
}

/** The version a node binary reports, or null if it does not run. */
function versionOf(bin) {
  if (!fs.existsSync(bin)) return null;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Path of a working Node `major` binary, installed into the cache when missing. */
function ensureNode(major) {
  const dir = path.join(CACHE_DIR, String(major));
  const bin = nodeBinIn(dir);
  const have = versionOf(bin);
  if (have && have.startsWith(`v${major}.`)) {
    console.log(`node-matrix: using cached Node ${have} (${path.relative(ROOT, bin)})`);
    return bin;
  }
  // Install next to the final folder and move it in place only once complete, so an
  // interrupted download never leaves a cache entry that looks usable.
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  console.log(`node-matrix: installing ${PKG}@${major} into ${path.relative(ROOT, dir)}/ ...`);
  const started = Date.now();
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(
    npm,
    [
      'install',
      '--prefix',
      tmp,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `${PKG}@${major}`,
    ],
    { cwd: tmp, env: npmEnv(), stdio: 'inherit', timeout: INSTALL_TIMEOUT_MS },
  );
  const tmpBin = nodeBinIn(tmp);
  const got = r.status === 0 ? versionOf(tmpBin) : null;
  if (!got || !got.startsWith(`v${major}.`)) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const why = r.error ? r.error.message : `npm exited with ${r.status ?? r.signal}`;
    throw new Error(`could not install ${PKG}@${major} (${why}; node reports ${got})`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  console.log(`node-matrix: installed Node ${got} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return bin;
}

async function main() {
  const majors = process.argv.slice(2).map(Number);
  for (const m of majors) {
    if (!Number.isInteger(m) || m <= 0) throw new Error(`not a Node major version: ${m}`);
  }
  const results = [];
  for (const major of majors.length ? majors : DEFAULT_MAJORS) {
    let version = `v${major}`;
    try {
      const bin = ensureNode(major);
      version = versionOf(bin);
      console.log(`\nnode-matrix: running the JS suite with Node ${version}\n`);
      // The binary's folder goes first on PATH, so anything that runs `node` by name gets it too.
      const env = { ...process.env, PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH}` };
      const r = await runSuite(bin, { env, timeoutMs: SUITE_TIMEOUT_MS });
      const ok = r.code === 0 && !r.timedOut;
      let note = r.timedOut ? `timed out after ${SUITE_TIMEOUT_MS / 1000} s` : '';
      if (!ok && !note) note = `exit ${r.code ?? r.signal}`;
      results.push({ version, ok, ms: r.ms, counts: r.counts, note });
    } catch (err) {
      console.error(`node-matrix: Node ${major}: ${err.message}`);
      results.push({ version, ok: false, ms: 0, counts: {}, note: err.message });
    }
  }

  console.log('\nnode-matrix summary (JS suite per Node version):');
  for (const r of results) {
    const c = r.counts;
    const tally = c.tests === undefined ? '' : `${c.pass ?? 0}/${c.tests} tests passed, ${c.fail ?? 0} failed`;
    const status = r.ok ? 'ok  ' : 'FAIL';
    const time = r.ms ? `${(r.ms / 1000).toFixed(1)} s` : '';
    console.log(`  ${status} Node ${r.version.padEnd(9)} ${tally}  ${time}  ${r.note}`.trimEnd());
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`node-matrix: ${results.length - failed} versions passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
