'use strict';
// The environment for an npm command started from inside an npm script (`npm test`).
//
// `npm run` exports its own state as npm_* variables; a nested npm command would take some of
// them as configuration. npm_config_local_prefix in particular would make `npm install` in
// another folder install into this repo instead. Drop the run's state and the location
// settings, keep the rest of the user's npm_config_* (cache, registry, certificates, ...).

const DROP_CONFIG = new Set([
  'npm_config_local_prefix',
  'npm_config_prefix',
  'npm_config_global_prefix',
  'npm_config_global',
  'npm_config_location',
  'npm_config_workspace',
  'npm_config_workspaces',
  'npm_config_include_workspace_root',
]);

function npmEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('npm_')) {
      if (!lower.startsWith('npm_config_') || DROP_CONFIG.has(lower)) continue;
    }
    if (key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

module.exports = { npmEnv };
