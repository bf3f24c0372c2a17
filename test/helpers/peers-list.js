'use strict';
// The reference peers and tools scripts/setup.sh installs for the tests, and how to tell each is there: read
// by test/global-setup.js (a CI run fails without them) and by test/helpers/peers.ts (a local run skips the
// tests that need a missing one, saying why).
const { spawnSync } = require('child_process');
const fs = require('fs');

const DEBIAN_PYTHON = '/usr/bin/python3';

function pythonImports(modules) {
  return () => fs.existsSync(DEBIAN_PYTHON) && spawnSync(DEBIAN_PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore', timeout: 60000 }).status === 0;
}

const PEERS = [
  { name: 'PyTorch (python3-torch)', present: pythonImports('torch'), install: 'apt-get install python3-torch' },
  { name: "torchvision's models (python3-torchvision)", present: pythonImports('torchvision'), install: 'apt-get install python3-torchvision' },
  {
    name: "Keras's preprocessing with PIL and scipy (python3-keras-preprocessing, python3-pil, python3-scipy)",
    present: pythonImports('keras_preprocessing, PIL, scipy'),
    install: 'apt-get install python3-keras-preprocessing python3-pil python3-scipy',
  },
  {
    name: 'clang with libFuzzer (clang, libclang-rt-dev)',
    present: () => spawnSync('clang++', ['--version'], { stdio: 'ignore', timeout: 30000 }).status === 0,
    install: 'apt-get install clang libclang-rt-dev',
  },
  { name: 'Fashion-MNIST (dataset-fashion-mnist)', present: () => fs.existsSync('/usr/share/datasets/fashion-mnist'), install: 'apt-get install dataset-fashion-mnist' },
];

module.exports = { PEERS, DEBIAN_PYTHON };
