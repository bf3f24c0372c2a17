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

/** Returns {torchDir, source, libDir} or throws an Error listing what was tried and how to get libtorch. */
function findLibtorch(env = process.env) {
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
  for (const dir of SYSTEM_CMAKE_DIRS) {
    if (hasConfig(dir)) return withLibDir({ torchDir: dir, source: 'system' });
  }
  tried.push(`system folders ${SYSTEM_CMAKE_DIRS.join(', ')}`);
  throw new Error(`${HOW_TO_GET_LIBTORCH}\n\nLooked in: ${tried.join('; ')}`);
}

// <prefix>/share/cmake/Torch -> <prefix>/lib; Debian: /usr/lib/<triplet>/cmake/Torch -> /usr/lib/<triplet>.
function withLibDir(found) {
  const up = (levels) => path.resolve(found.torchDir, ...Array(levels).fill('..'));
  const candidates = [path.join(up(3), 'lib'), up(2)];
  const libDir = candidates.find((dir) => fs.existsSync(path.join(dir, 'libtorch_cpu.so'))) || candidates[0];
  return { ...found, libDir };
}

module.exports = { findLibtorch, HOW_TO_GET_LIBTORCH };

if (require.main === module) {
  try {
    const found = findLibtorch();
    console.log(JSON.stringify(found, null, 2));
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
