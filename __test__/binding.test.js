'use strict';
// The native binding, its generated typings (binding.d.ts) and the JS layer's use of it must
// agree, so that none of the three can drift from the others unnoticed.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const binding = require('../binding.js');

const root = path.resolve(__dirname, '..');
const dts = fs.readFileSync(path.join(root, 'binding.d.ts'), 'utf8');

/** Members declared for `class Name` in binding.d.ts (methods and getters). */
function declaredMembers(name) {
  const start = dts.indexOf(`export declare class ${name} {`);
  assert.notEqual(start, -1, `binding.d.ts declares ${name}`);
  const body = dts.slice(start, dts.indexOf('\n}\n', start));
  const members = new Set();
  for (const m of body.matchAll(/^ {2}(?:get )?([a-zA-Z_]\w*)\(/gm)) {
    if (m[1] !== 'constructor') members.add(m[1]);
  }
  return members;
}

/** Members the native class really has. */
function nativeMembers(cls) {
  return new Set(Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor'));
}

/** `native.x(` / `.native.x(` calls in lib/, and `binding.x` uses. */
function usedByLib() {
  const calls = new Set();
  const bindingUses = new Set();
  for (const file of fs.readdirSync(path.join(root, 'lib'))) {
    const src = fs.readFileSync(path.join(root, 'lib', file), 'utf8');
    for (const m of src.matchAll(/\bnative\.([a-zA-Z_]\w*)\b/g)) calls.add(m[1]);
    for (const m of src.matchAll(/(?<![\w/.])binding\.([a-zA-Z_]\w*)\b/g)) bindingUses.add(m[1]);
  }
  return { calls, bindingUses };
}

test('binding.d.ts declares exactly the members the native classes have', () => {
  for (const name of ['SocketHandle', 'ServerHandle']) {
    assert.deepEqual([...declaredMembers(name)].sort(), [...nativeMembers(binding[name])].sort(), name);
  }
});

test('every native method lib/ calls exists on a native class', () => {
  const { calls, bindingUses } = usedByLib();
  const all = new Set([...nativeMembers(binding.SocketHandle), ...nativeMembers(binding.ServerHandle)]);
  const missing = [...calls].filter((m) => !all.has(m));
  assert.deepEqual(missing, [], 'methods called on native handles that do not exist');
  for (const name of bindingUses) {
    assert.notEqual(binding[name], undefined, `binding.${name} is used by lib/ but not exported`);
    assert.match(dts, new RegExp(`export declare (function|class|const enum|enum) ${name}\\b`), `binding.d.ts declares ${name}`);
  }
});

test('the event kinds lib/ dispatches on are the ones the engine sends', () => {
  const src = fs.readFileSync(path.join(root, 'lib', 'socket.js'), 'utf8') + fs.readFileSync(path.join(root, 'lib', 'server.js'), 'utf8');
  const used = new Set([...src.matchAll(/EventKind\.([A-Za-z]+)/g)].map((m) => m[1]));
  for (const kind of used) assert.equal(typeof binding.EventKind[kind], 'number', `EventKind.${kind}`);
});
