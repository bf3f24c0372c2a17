'use strict';
// Builds the addon against the libtorch find-libtorch.js finds and files it under
// prebuilds/<platform>-<arch>/keras-torch.libtorch-<version>.<cpu|cuda>.<cxx11|precxx11>.node, with an entry in
// prebuilds/manifest.json (what it was built against and from which sources) that install.js matches against.
//
//   node scripts/prebuild.js              build (incrementally, in build-prebuild/) and file the binary
//   node scripts/prebuild.js --if-needed  only when the binary for this libtorch is missing or its sources changed
//
// An up-to-date `npm run build:native` output (build/Release) built against the same libtorch is reused
// instead of compiling everything a second time.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, prebuildName } = require('./find-libtorch');
const { buildNative } = require('./build-native');
const { checkLoads } = require('./install');

const root = path.resolve(__dirname, '..');
const prebuildsDir = path.join(root, 'prebuilds');
const manifestFile = path.join(prebuildsDir, 'manifest.json');
const say = (message) => console.log(`keras-torch prebuild: ${message}`);

function sourceFiles() {
  const nativeDir = path.join(root, 'native');
  const files = fs.readdirSync(nativeDir).filter((name) => /\.(cc|h)$/.test(name)).sort().map((name) => path.join(nativeDir, name));
  return [path.join(root, 'CMakeLists.txt'), ...files];
}

/** One hash over the native sources and CMakeLists.txt: what decides whether a binary is stale. */
function sourceHash() {
  const hash = crypto.createHash('sha256');
  for (const file of sourceFiles()) {
    hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function readManifest() {
  try {
    return JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch {
    return { prebuilds: [] };
  }
}

/** build/Release when `npm run build:native` left it newer than every source, built against this libtorch. */
function reusableLocalBuild(libtorch) {
  const binary = path.join(root, 'build', 'Release', 'keras_torch.node');
  try {
    const cache = fs.readFileSync(path.join(root, 'build', 'CMakeCache.txt'), 'utf8');
    const torchDir = (cache.match(/^Torch_DIR:[A-Z]+=(.*)$/m) || [])[1];
    if (!torchDir || path.resolve(torchDir) !== path.resolve(libtorch.torchDir)) return undefined;
    const built = fs.statSync(binary).mtimeMs;
    if (sourceFiles().some((file) => fs.statSync(file).mtimeMs > built)) return undefined;
    return binary;
  } catch {
    return undefined;
  }
}

/**
 * The binaries built against other libtorches (Debian 13's 2.6 CPU and CUDA, filed by
 * `KERAS_TORCH_PREBUILD=1 bash scripts/check-libtorch2.sh cpu|cuda`) cannot be rebuilt here: say which are
 * missing or older than the native sources, so that a pack does not ship them stale unawares.
 */
function reportOthers(manifest, hash, file) {
  for (const other of manifest.prebuilds) {
    if (other.file === file) continue;
    const mode = other.libtorch.cuda ? 'cuda' : 'cpu';
    if (!fs.existsSync(path.join(prebuildsDir, other.file))) continue;
    if (other.sourceHash !== hash) {
      say(`warning: prebuilds/${other.file} was built from older native sources; file it again with `
        + `KERAS_TORCH_PREBUILD=1 bash scripts/check-libtorch2.sh ${mode} (libtorch ${other.libtorch.version})`);
    }
  }
}

function prebuild({ ifNeeded = false, env = process.env } = {}) {
  const libtorch = findLibtorch(env);
  const platformKey = `${process.platform}-${process.arch}`;
  const file = `${platformKey}/${prebuildName(libtorch)}`;
  const target = path.join(prebuildsDir, file);
  const hash = sourceHash();
  const manifest = readManifest();
  reportOthers(manifest, hash, file);
  const existing = manifest.prebuilds.find((entry) => entry.file === file);
  if (ifNeeded && existing && existing.sourceHash === hash && fs.existsSync(target)) {
    say(`${file} is up to date`);
    return target;
  }

  let binary = reusableLocalBuild(libtorch);
  if (binary) say(`reusing the up-to-date local build ${path.relative(root, binary)}`);
  else ({ binary } = buildNative({ env, libtorch, out: path.join(root, 'build-prebuild') }));

  fs.mkdirSync(path.dirname(target), { recursive: true });
  // A .node name, so that require() loads it as an addon while it is checked.
  const staging = target.replace(/\.node$/, '.staging.node');
  fs.copyFileSync(binary, staging);
  // Symbols only a debugger wants; the dynamic ones the addon needs stay.
  const strip = spawnSync('strip', ['--strip-unneeded', staging], { stdio: 'ignore' });
  if (strip.error || strip.status !== 0) say('strip is not available; the binary keeps its symbols');
  const check = checkLoads(staging, env);
  if (!check.ok) {
    fs.rmSync(staging, { force: true });
    throw new Error(`keras-torch prebuild: the binary does not load: ${check.reason}`);
  }
  fs.renameSync(staging, target);

  const bytes = fs.readFileSync(target);
  const entry = {
    file,
    platform: process.platform,
    arch: process.arch,
    libtorch: { version: libtorch.version, cuda: libtorch.cuda, abi: libtorch.abi },
    napiVersion: 8,
    sourceHash: hash,
    sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
  const others = manifest.prebuilds.filter((other) => other.file !== file && fs.existsSync(path.join(prebuildsDir, other.file)));
  const next = { package: 'keras-torch', prebuilds: [...others, entry].sort((a, b) => a.file.localeCompare(b.file)) };
  fs.writeFileSync(manifestFile, `${JSON.stringify(next, null, 2)}\n`);
  say(`wrote prebuilds/${file} (${(bytes.length / 1024).toFixed(0)} KiB, loads against libtorch ${check.info.libtorchVersion})`);
  return target;
}

module.exports = { prebuild, sourceHash };

if (require.main === module) {
  try {
    prebuild({ ifNeeded: process.argv.includes('--if-needed') });
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
