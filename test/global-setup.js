'use strict';
// Runs once before the suite. Builds dist/ (what `npm run build:ts` builds), so that the tests that run the
// package in child processes (worker threads, exits, memory bounds, the CLI, the bench) run the current
// sources, and no test rebuilds it while other test files read it. In a CI run (`jest --ci`, as
// scripts/test.sh runs it) the peers that scripts/setup.sh installs must be present: a missing one fails the
// run here instead of silently skipping the tests that compare against it (KERAS_TORCH_PEERS=0, as
// setup.sh takes it, runs without them).
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { PEERS } = require('./helpers/peers-list');

const root = path.join(__dirname, '..');

function run(args) {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 300000 });
  if (result.status !== 0) {
    throw new Error(`test set-up: node ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  }
}

module.exports = async function globalSetup(globalConfig) {
  run([path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
  run([path.join(root, 'scripts', 'write-esm-entry.js')]);
  if (globalConfig.ci && process.env.KERAS_TORCH_PEERS !== '0') {
    const missing = PEERS.filter((peer) => !peer.present()).map((peer) => `  - ${peer.name}: ${peer.install}`);
    if (missing.length > 0) {
      throw new Error(`test set-up: peers the suite compares against are missing (bash scripts/setup.sh installs them):\n${missing.join('\n')}`);
    }
  }
};
