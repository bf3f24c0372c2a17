'use strict';
// Finds the libtorch to build against and load: LIBTORCH / Torch_DIR, then a Python torch install,
// then the system's (Debian's libtorch-dev). Used by the build, the installer and setup.sh.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const SYSTEM_CMAKE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/local/share/cmake/Torch',
  '/usr/share/cmake/Torch',
];

const HOW_TO_GET_LIBTORCH = [
  'keras-torch needs libtorch (the C++ library of PyTorch), and none was found. Any one of these works:',
  '  - Debian/Ubuntu:  sudo apt-get install libtorch-dev libopenblas0-openmp',
  '  - pytorch.org\'s libtorch: unzip it and set LIBTORCH=/path/to/libtorch',
  '  - pip install torch  (found through python3, or set KERAS_TORCH_PYTHON to the interpreter)',
  '  - set Torch_DIR to the folder that holds TorchConfig.cmake',
].join('\n');

function hasConfig(dir) {
  return Boolean(dir) && fs.existsSync(path.join(dir, 'TorchConfig.cmake'));
}

function fromEnvironment(env) {
  const tried = [];
  if (env.Torch_DIR) {
    tried.push(`Torch_DIR=${env.Torch_DIR}`);
    if (hasConfig(env.Torch_DIR)) return { torchDir: env.Torch_DIR, source: 'Torch_DIR', tried };
  }
  if (env.LIBTORCH) {
    const dir = path.join(env.LIBTORCH, 'share', 'cmake', 'Torch');
    tried.push(`LIBTORCH=${env.LIBTORCH} (looked for ${dir})`);
    if (hasConfig(dir)) return { torchDir: dir, source: 'LIBTORCH', tried };
  }
  return { tried };
}

function fromPython(env) {
  const python = env.KERAS_TORCH_PYTHON || 'python3';
  try {
    const out = execFileSync(python, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60000,
    }).trim();
    const dir = path.join(out, 'share', 'cmake', 'Torch');
    if (hasConfig(dir)) return { torchDir: dir, source: `${python} (torch at ${out})` };
    return { note: `${python}: torch at ${out} has no share/cmake/Torch` };
  } catch {
    return { note: `${python}: no importable torch` };
  }
}

/** Returns {torchDir, source, libDir, version, cuda, abi} or throws an Error listing what was tried and how to get libtorch. */
function findLibtorch(env = process.env, { systemDirs = SYSTEM_CMAKE_DIRS } = {}) {
  const explicit = fromEnvironment(env);
  if (explicit.torchDir) return withLibDir(explicit);
  const tried = explicit.tried.slice();
  // An explicit setting that points nowhere is a mistake to report, not something to paper over.
  if (tried.length > 0) {
    throw new Error(`libtorch not found where the environment says: ${tried.join('; ')}\n\n${HOW_TO_GET_LIBTORCH}`);
  }
  const python = fromPython(env);
  if (python.torchDir) return withLibDir(python);
  tried.push(python.note);
  for (const dir of systemDirs) {
    if (hasConfig(dir)) return withLibDir({ torchDir: dir, source: 'system' });
  }
  tried.push(`system folders ${systemDirs.join(', ')}`);
  throw new Error(`${HOW_TO_GET_LIBTORCH}\n\nLooked in: ${tried.join('; ')}`);
}

// <prefix>/share/cmake/Torch -> <prefix>/lib; Debian: /usr/lib/<triplet>/cmake/Torch -> /usr/lib/<triplet>.
function withLibDir(found) {
  const up = (levels) => path.resolve(found.torchDir, ...Array(levels).fill('..'));
  const candidates = [path.join(up(3), 'lib'), up(2)];
  const libDir = candidates.find((dir) => fs.existsSync(path.join(dir, 'libtorch_cpu.so'))) || candidates[0];
  return { ...found, libDir, ...describeLibtorch(found.torchDir, libDir) };
}

function readIfThere(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * What a binary built against this libtorch depends on: its version (major.minor.patch), whether it is a
 * CUDA build, and its C++ ABI (`cxx11`, or `precxx11` for -D_GLIBCXX_USE_CXX11_ABI=0, as older pip wheels
 * and pytorch.org's "pre-cxx11" zips are built).
 */
function describeLibtorch(torchDir, libDir) {
  const up = (levels) => path.resolve(torchDir, ...Array(levels).fill('..'));
  // torch/version.h is exact; TorchConfigVersion.cmake is the fallback (Debian's says 1.13.0 as well).
  let version;
  const headerRoots = [path.join(up(3), 'include'), path.join(up(4), 'include'), '/usr/include', '/usr/local/include'];
  for (const root of headerRoots) {
    const header = readIfThere(path.join(root, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'));
    const part = (name) => header && (header.match(new RegExp(`#define TORCH_VERSION_${name} (\\d+)`)) || [])[1];
    if (part('MAJOR') && part('MINOR') && part('PATCH')) {
      version = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
      break;
    }
  }
  if (!version) {
    const config = readIfThere(path.join(torchDir, 'TorchConfigVersion.cmake')) || '';
    const match = config.match(/set\(PACKAGE_VERSION "(\d+\.\d+\.\d+)/);
    version = match ? match[1] : 'unknown';
  }
  // CUDA: libtorch_cuda next to libtorch_cpu, or Caffe2Config.cmake saying so.
  const caffe2 = readIfThere(path.join(torchDir, '..', 'Caffe2', 'Caffe2Config.cmake')) || '';
  const cuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so')) || /set\(CAFFE2_USE_CUDA ON\)/.test(caffe2);
  // The ABI flag TorchConfig.cmake hands to dependent builds (TORCH_CXX_FLAGS).
  const torchConfig = readIfThere(path.join(torchDir, 'TorchConfig.cmake')) || '';
  const abiMatch = torchConfig.match(/_GLIBCXX_USE_CXX11_ABI=([01])/);
  const abi = abiMatch && abiMatch[1] === '0' ? 'precxx11' : 'cxx11';
  return { version, cuda, abi };
}

/** The file name of a prebuilt binary for this libtorch, e.g. keras-torch.libtorch-1.13.0.cpu.cxx11.node. */
function prebuildName(libtorch) {
  return `keras-torch.libtorch-${libtorch.version}.${libtorch.cuda ? 'cuda' : 'cpu'}.${libtorch.abi}.node`;
}

module.exports = { findLibtorch, describeLibtorch, prebuildName, HOW_TO_GET_LIBTORCH };

if (require.main === module) {
  try {
    const found = findLibtorch();
    console.log(JSON.stringify(found, null, 2));
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
