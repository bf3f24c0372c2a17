'use strict';
// npm's install step: find libtorch, pick the prebuilt binary built against it and check that it loads
// (in a child process, so a bad binary cannot take npm down), and only when none fits build from source
// with cmake-js. Nothing is ever downloaded, so it works offline and behind proxies.
//
//   KERAS_TORCH_SKIP_INSTALL=1   do nothing (the loader still tries the prebuilt binaries at run time)
// `npx keras-torch build` runs the same steps on request (npm 11+ may never run this install script).
//   KERAS_TORCH_BUILD_FROM_SOURCE=1   ignore the prebuilt binaries
//   LIBTORCH / Torch_DIR / KERAS_TORCH_PYTHON   where libtorch is (see find-libtorch.js)
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch } = require('./find-libtorch');

const root = path.resolve(__dirname, '..');
const prebuildsDir = path.join(root, 'prebuilds');
const platformKey = `${process.platform}-${process.arch}`;
const selectedRecord = path.join(prebuildsDir, 'selected.json');

const say = (message) => console.log(`keras-torch: ${message}`);

// Loads the binary in a fresh Node process and asks libtorch who it is. Any failure (missing library,
// undefined symbol, even a crash) becomes a reason instead of taking the caller down.
const CHECK_SCRIPT = `
  const info = require(process.argv[1]).backendInfo();
  process.stdout.write(JSON.stringify({ libtorchVersion: info.libtorchVersion, cuda: info.cudaAvailable }));`;

/** {ok: true, info} or {ok: false, reason} for one .node file. */
function checkLoads(binary, env = process.env) {
  const result = spawnSync(process.execPath, ['-e', CHECK_SCRIPT, binary], {
    encoding: 'utf8',
    env,
    timeout: 120000,
  });
  if (result.status === 0) {
    try {
      return { ok: true, info: JSON.parse(result.stdout) };
    } catch {
      return { ok: false, reason: `unexpected output: ${result.stdout.slice(0, 200)}` };
    }
  }
  const lines = `${result.stderr || ''}`.split('\n').map((line) => line.trim());
  const reason = lines.find((line) => /Error|error:|cannot open|undefined symbol/.test(line))
    || (result.signal ? `killed by ${result.signal}` : `exited ${result.status}`);
  return { ok: false, reason: reason.replace(/^Error: /, '') };
}

function readManifest() {
  try {
    return JSON.parse(fs.readFileSync(path.join(prebuildsDir, 'manifest.json'), 'utf8'));
  } catch {
    return { prebuilds: [] };
  }
}

const minor = (version) => version.split('.').slice(0, 2).join('.');

/**
 * The prebuilt binaries for this platform built against a libtorch like the one found: same CUDA-ness and
 * C++ ABI, same major.minor version (libtorch keeps no ABI across minor versions); the exact version first.
 */
function matchingPrebuilds(libtorch, manifest = readManifest()) {
  return manifest.prebuilds
    .filter((entry) => entry.platform === process.platform && entry.arch === process.arch)
    .filter((entry) => entry.libtorch.cuda === libtorch.cuda && entry.libtorch.abi === libtorch.abi)
    .filter((entry) => minor(entry.libtorch.version) === minor(libtorch.version))
    .sort((a, b) => Number(b.libtorch.version === libtorch.version) - Number(a.libtorch.version === libtorch.version))
    .map((entry) => ({ ...entry, path: path.join(prebuildsDir, entry.file) }));
}

function describe(libtorch) {
  return `libtorch ${libtorch.version} (${libtorch.cuda ? 'CUDA' : 'CPU'}, ${libtorch.abi} ABI) from ${libtorch.source}`;
}

/** A checkout of the repository, or a tree without its compiled JavaScript: scripts/setup.sh builds it. */
function isDevelopmentCheckout() {
  return fs.existsSync(path.join(root, '.git')) || !fs.existsSync(path.join(root, 'dist', 'index.js'));
}

/**
 * `requested`: run by `keras-torch build` rather than by npm, so neither KERAS_TORCH_SKIP_INSTALL nor a
 * development checkout skips it.
 */
function install(env = process.env, { requested = false } = {}) {
  if (env.KERAS_TORCH_SKIP_INSTALL === '1' && !requested) {
    say('KERAS_TORCH_SKIP_INSTALL=1: skipping the install step');
    return;
  }
  if (isDevelopmentCheckout() && !requested) {
    say('development checkout: skipping the install step (scripts/setup.sh or `npm run build:all` builds the addon)');
    return;
  }
  fs.rmSync(selectedRecord, { force: true });
  if (env.KERAS_TORCH_BINARY) {
    const check = checkLoads(path.resolve(env.KERAS_TORCH_BINARY), env);
    if (!check.ok) throw new Error(`keras-torch: KERAS_TORCH_BINARY=${env.KERAS_TORCH_BINARY} does not load: ${check.reason}`);
    say(`using KERAS_TORCH_BINARY=${env.KERAS_TORCH_BINARY} (libtorch ${check.info.libtorchVersion})`);
    return;
  }
  // Throws the message listing the ways to get libtorch when there is none.
  const libtorch = findLibtorch(env);
  say(`found ${describe(libtorch)}`);

  const failures = [];
  if (env.KERAS_TORCH_BUILD_FROM_SOURCE === '1') {
    failures.push('KERAS_TORCH_BUILD_FROM_SOURCE=1');
  } else {
    const candidates = matchingPrebuilds(libtorch);
    if (candidates.length === 0) failures.push(`no prebuilt binary for ${platformKey} and ${describe(libtorch)}`);
    for (const candidate of candidates) {
      const check = checkLoads(candidate.path, env);
      if (check.ok) {
        const record = { binary: candidate.file, libtorch, loadedLibtorch: check.info.libtorchVersion };
        fs.writeFileSync(selectedRecord, `${JSON.stringify(record, null, 2)}\n`);
        say(`using the prebuilt binary ${candidate.file}`);
        return;
      }
      failures.push(`${candidate.file}: ${check.reason}`);
    }
  }

  say(`building from source (${failures.join('; ')})`);
  let binary;
  try {
    ({ binary } = require('./build-native').buildNative({ env, libtorch, out: path.join(root, 'build') }));
  } catch (error) {
    throw new Error([
      `keras-torch: no prebuilt binary fits ${describe(libtorch)}, and building from source failed.`,
      ...failures.map((line) => `  - ${line}`),
      `  - build from source: ${error.message}`,
      'Building needs cmake (3.18+), make or ninja, and a C++17 compiler (apt-get install cmake g++ make).',
      'Or point LIBTORCH at a libtorch a prebuilt binary fits (prebuilds/manifest.json lists them).',
    ].join('\n'));
  }
  const check = checkLoads(binary, env);
  if (!check.ok) throw new Error(`keras-torch: the addon built from source does not load: ${check.reason}`);
  say(`built ${path.relative(root, binary)} against libtorch ${check.info.libtorchVersion}`);
}

module.exports = { install, checkLoads, matchingPrebuilds, isDevelopmentCheckout };

if (require.main === module) {
  try {
    install();
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
