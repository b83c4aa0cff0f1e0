'use strict';
// ESLint 9 flat config for the JS side: `npm run lint` (also the first step of `npm test`)
// checks index.js, index.mjs, lib/, __test__/, bench/ and scripts/ with the recommended rules.

const js = require('@eslint/js');
const globals = require('globals');

module.exports = [
  {
    // Generated at build time, third-party, or caches: never linted.
    ignores: ['binding.js', 'binding.d.ts', 'target/**', 'node_modules/**', '.node-versions/**'],
  },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { ...globals.node },
    },
  },
];
