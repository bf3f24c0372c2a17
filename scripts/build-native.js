'use strict';
// Builds the addon with cmake-js against the libtorch that find-libtorch.js finds, into build/Release.
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch } = require('./find-libtorch');

function buildNative({ env = process.env, debug = false } = {}) {
  const libtorch = findLibtorch(env);
  console.log(`keras-torch: building the addon against libtorch from ${libtorch.source} (${libtorch.torchDir})`);
  const root = path.resolve(__dirname, '..');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const args = [cmakeJs, 'compile', '--directory', root, `--CDTorch_DIR=${libtorch.torchDir}`];
  // An rpath to libtorch's folder lets the addon load without LD_LIBRARY_PATH (pytorch.org and pip layouts).
  args.push(`--CDCMAKE_BUILD_RPATH=${libtorch.libDir}`);
  if (debug) args.push('--debug');
  const jobs = env.CMAKE_BUILD_PARALLEL_LEVEL || String(require('os').availableParallelism?.() ?? 2);
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...env, CMAKE_BUILD_PARALLEL_LEVEL: jobs },
  });
  if (result.status !== 0) throw new Error(`keras-torch: the native build failed (cmake-js exited ${result.status})`);
}

module.exports = { buildNative };

if (require.main === module) {
  try {
    buildNative({ debug: process.argv.includes('--debug') });
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
