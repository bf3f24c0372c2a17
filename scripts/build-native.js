'use strict';
// Builds the addon with cmake-js against the libtorch that find-libtorch.js finds, into build/Release
// (or `--out DIR`). Nothing is downloaded: package.json's "binary.napi_versions" makes cmake-js take the
// Node-API headers from the node-api-headers package instead of fetching Node's headers.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch } = require('./find-libtorch');

const root = path.resolve(__dirname, '..');

/** Builds and returns {binary, libtorch}; throws when libtorch is missing or the build fails. */
function buildNative({ env = process.env, debug = false, out = path.join(root, 'build'), libtorch = findLibtorch(env) } = {}) {
  console.log(`keras-torch: building the addon against libtorch ${libtorch.version} (${libtorch.cuda ? 'CUDA' : 'CPU'}, ${libtorch.abi}) from ${libtorch.source} (${libtorch.torchDir})`);
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  } catch {
    throw new Error('keras-torch: cmake-js is not installed; run `npm install` first');
  }
  const args = [cmakeJs, 'compile', '--directory', root, '--out', path.resolve(out), `--CDTorch_DIR=${libtorch.torchDir}`];
  // An rpath to libtorch's folder lets the addon load without LD_LIBRARY_PATH (pytorch.org and pip layouts).
  args.push(`--CDCMAKE_BUILD_RPATH=${libtorch.libDir}`);
  if (debug) args.push('--debug');
  const jobs = env.CMAKE_BUILD_PARALLEL_LEVEL || String(require('os').availableParallelism?.() ?? 2);
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...env, CMAKE_BUILD_PARALLEL_LEVEL: jobs },
  });
  if (result.error) throw new Error(`keras-torch: could not run cmake-js: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`keras-torch: the native build failed (cmake-js exited ${result.status})`);
  const binary = path.join(path.resolve(out), debug ? 'Debug' : 'Release', 'keras_torch.node');
  if (!fs.existsSync(binary)) throw new Error(`keras-torch: the build finished but ${binary} is not there`);
  return { binary, libtorch };
}

module.exports = { buildNative };

if (require.main === module) {
  const outIndex = process.argv.indexOf('--out');
  try {
    buildNative({
      debug: process.argv.includes('--debug'),
      ...(outIndex > 0 ? { out: process.argv[outIndex + 1] } : {}),
    });
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
