'use strict';
// Packaging test: what a user gets from `npm install rsnet`.
//
// Packs the repo with `npm pack`, installs the tarball into a fresh, empty project (its install
// script builds the addon from source there, as it would for a user), then in that project
// runs an echo over loopback through `require('rsnet')` (CommonJS) and through
// `import { createServer } from 'rsnet'` (ESM), and type-checks both import styles with tsc.
//
// The release build reuses the repo's target/ (CARGO_TARGET_DIR), so only this crate is
// compiled again. Not part of the Node version matrix: it runs once, with the machine's Node.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { npmEnv } = require('../scripts/npm-env');

const ROOT = path.resolve(__dirname, '..');
const PKG = require('../package.json');
const NAME = PKG.name;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Run a command to completion; fail the test with its output when it does not exit 0. */
function run(t, cmd, args, { cwd, env = npmEnv(), timeout = 60_000 } = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const shown = `${path.basename(cmd)} ${args.map((a, i) => (args[i - 1] === '-e' ? '<script>' : a)).join(' ')}`;
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    assert.fail(`${shown} (in ${cwd}) failed after ${secs} s: ${why}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  t.diagnostic(`${shown}: ${secs} s`);
  return r;
}

// The script both module styles run: echo one message over 127.0.0.1 and exit 0.
const ECHO = `
  if (net.Socket === nodeNet.Socket || typeof net.createServer !== 'function') {
    throw new Error('not rsnet');
  }
  const server = net.createServer((socket) => socket.pipe(socket));
  const timer = setTimeout(() => { console.error('echo timed out'); process.exit(2); }, 20000);
  server.listen(0, '127.0.0.1', () => {
    const client = net.connect(server.address().port, '127.0.0.1', () => client.end('hello rsnet'));
    let got = '';
    client.setEncoding('utf8');
    client.on('data', (d) => { got += d; });
    client.on('error', (err) => { console.error(err); process.exit(3); });
    client.on('close', () => {
      server.close();
      clearTimeout(timer);
      if (!(client instanceof net.Socket)) { console.error('client is not an rsnet Socket'); process.exit(4); }
      if (got !== 'hello rsnet') { console.error('echoed', JSON.stringify(got)); process.exit(5); }
      console.log('echo ok');
    });
  });
`;

const CJS_SCRIPT = `
  const net = require(${JSON.stringify(NAME)});
  const nodeNet = require('node:net');
  const where = require.resolve(${JSON.stringify(NAME)});
  if (!where.endsWith(require('node:path').join('node_modules', ${JSON.stringify(NAME)}, 'index.js'))) {
    throw new Error('resolved to ' + where);
  }
  ${ECHO}
`;

const ESM_SCRIPT = `
  import { createServer, createConnection, connect, Server, Socket, Stream, isIP, isIPv4, isIPv6,
    BlockList, SocketAddress, getDefaultAutoSelectFamily, setDefaultAutoSelectFamily,
    getDefaultAutoSelectFamilyAttemptTimeout, setDefaultAutoSelectFamilyAttemptTimeout } from ${JSON.stringify(NAME)};
  import net from ${JSON.stringify(NAME)};
  import * as nodeNet from 'node:net';
  import { createRequire } from 'node:module';
  const where = import.meta.resolve(${JSON.stringify(NAME)});
  if (!where.endsWith('/node_modules/${NAME}/index.mjs')) throw new Error('resolved to ' + where);
  // The ESM entry re-exports the CommonJS module: same objects, one engine.
  const cjs = createRequire(process.cwd() + '/')(${JSON.stringify(NAME)});
  if (net !== cjs) throw new Error('default export is not the CommonJS module');
  const named = { createServer, createConnection, connect, Server, Socket, Stream, isIP, isIPv4, isIPv6,
    BlockList, SocketAddress, getDefaultAutoSelectFamily, setDefaultAutoSelectFamily,
    getDefaultAutoSelectFamilyAttemptTimeout, setDefaultAutoSelectFamilyAttemptTimeout };
  for (const [k, v] of Object.entries(named)) {
    if (v === undefined || v !== cjs[k]) throw new Error('named export ' + k + ' differs');
  }
  if (isIPv4('127.0.0.1') !== true) throw new Error('isIPv4');
  ${ECHO.replace('net.createServer(', 'createServer(').replace('net.connect(', 'connect(')}
`;

// Type-checks the installed package the way a user's TypeScript project sees it.
const TS_ESM = `
import net, { createServer, connect, Socket, type AddressInfo } from '${NAME}';
const server = createServer((socket: Socket) => socket.pipe(socket));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const client: Socket = connect(port, '127.0.0.1', () => client.end('hi'));
  const viaDefault: typeof createServer = net.createServer;
  void viaDefault;
});
`;
const TS_CJS = `
import net = require('${NAME}');
const server: net.Server = net.createServer();
server.listen(0, () => server.close());
// @ts-expect-error: port must be a number or options
net.connect({ port: 'x' });
export {};
`;

test('npm pack + npm install into a fresh project: require and import both work', { timeout: 9 * 60 * 1000 }, (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rsnet-package-'));
  try {
    // 1. The tarball: only what building from source needs.
    const packDir = path.join(tmp, 'pack');
    fs.mkdirSync(packDir);
    const packed = run(t, NPM, ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT, timeout: 120_000 });
    const [info] = JSON.parse(packed.stdout);
    const tarball = path.join(packDir, info.filename);
    assert.ok(fs.existsSync(tarball), `no tarball at ${tarball}`);
    const files = info.files.map((f) => f.path).sort();
    for (const need of ['package.json', 'README.md', 'index.js', 'index.mjs', 'index.d.ts', 'build.rs', 'Cargo.toml', 'Cargo.lock', 'src/lib.rs', 'lib/socket.js']) {
      assert.ok(files.includes(need), `${need} missing from the tarball: ${files.join(', ')}`);
    }
    for (const f of files) {
      assert.doesNotMatch(
        f,
        /^(target|node_modules|__test__|bench|scripts|\.node-versions)\/|^binding\.|\.node$|^eslint\.config/,
        `${f} must not be in the tarball`,
      );
    }

    // 2. A fresh project that installs it: the install script compiles the addon.
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'rsnet-package-check', version: '1.0.0', private: true }, null, 2),
    );
    const env = npmEnv({ CARGO_TARGET_DIR: path.join(ROOT, 'target') });
    run(t, NPM, ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball], {
      cwd: app,
      env,
      timeout: 8 * 60 * 1000,
    });
    const installed = path.join(app, 'node_modules', NAME);
    const built = fs.readdirSync(installed);
    assert.ok(built.includes('binding.js'), `no generated binding.js in the installed package: ${built.join(', ')}`);
    assert.ok(built.includes('binding.d.ts'), `no generated binding.d.ts in the installed package: ${built.join(', ')}`);
    assert.ok(built.some((f) => f.endsWith('.node')), `no compiled addon in the installed package: ${built.join(', ')}`);

    // 3. CommonJS and ESM users, each in a process of its own.
    const nodeEnv = { ...process.env, NODE_OPTIONS: '' };
    const cjs = run(t, process.execPath, ['-e', CJS_SCRIPT], { cwd: app, env: nodeEnv, timeout: 60_000 });
    assert.match(cjs.stdout, /echo ok/);
    const esm = run(t, process.execPath, ['--input-type=module', '-e', ESM_SCRIPT], { cwd: app, env: nodeEnv, timeout: 60_000 });
    assert.match(esm.stdout, /echo ok/);

    // 4. The `types` entries: both import styles type-check in a nodenext project.
    fs.writeFileSync(path.join(app, 'esm.mts'), TS_ESM);
    fs.writeFileSync(path.join(app, 'cjs.cts'), TS_CJS);
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
          skipLibCheck: false,
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    run(t, process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], {
      cwd: app,
      env: nodeEnv,
      timeout: 120_000,
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
