/**
 * A CUDA libtorch's GPU half (libtorch_cuda) is loaded by the addon itself when it loads (native/runtime.cc):
 * where it loads, it is in the process and the CPU trains as usual; where it cannot (Debian's libtorch-cuda
 * without the cuDNN that nvidia-cudnn downloads), CUDA is off with the reason, naming nvidia-cudnn, and the CPU
 * still works. `scripts/check-libtorch2.sh cuda` runs the suite against Debian 13's CUDA libtorch with a
 * stand-in cuDNN (test/helpers/make-cudnn-stand-in.sh, KERAS_TORCH_TEST_CUDNN_STAND_IN) on LD_LIBRARY_PATH.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { backendInfo, setDevice } from '../lib';
import { bindingPath } from '../lib/native/loader';

const info = backendInfo();
const standIn = process.env.KERAS_TORCH_TEST_CUDNN_STAND_IN;

const describeCpuBuild = info.cudaLibrary.build ? describe.skip : describe;
const describeCudaBuild = info.cudaLibrary.build ? describe : describe.skip;

describeCpuBuild('a CPU libtorch', () => {
  test('has no CUDA library to load', () => {
    expect(info.cudaLibrary).toEqual({ build: false, loaded: false, path: '', problem: '' });
  });
});

describeCudaBuild('a CUDA libtorch', () => {
  test('the addon links libtorch_cpu, not libtorch_cuda (which would need cuDNN to load at all)', () => {
    const dynamic = spawnSync('readelf', ['-d', bindingPath() as string], { encoding: 'utf8', timeout: 60_000 });
    if (dynamic.error) return void console.log(`readelf is not installed: ${dynamic.error.message}`);
    expect(dynamic.stdout).toMatch(/Shared library: \[libtorch_cpu\.so/);
    expect(dynamic.stdout).not.toMatch(/libtorch_cuda|libcudnn|libcudart/);
  });

  test('libtorch_cuda is beside libtorch_cpu, and when it loaded it is in the process', () => {
    expect(path.basename(info.cudaLibrary.path)).toMatch(/^libtorch_cuda\.so/);
    if (info.cudaLibrary.loaded) {
      expect(info.cudaLibrary.problem).toBe('');
      expect(fs.readFileSync('/proc/self/maps', 'utf8')).toContain(info.cudaLibrary.path);
    } else {
      expect(info.cudaLibrary.problem).toMatch(/libtorch's CUDA library did not load/);
      expect(info.cuda.available).toBe(false);
      expect(() => setDevice('cuda')).toThrow(/CUDA is not available: libtorch's CUDA library did not load/);
    }
  });

  (standIn ? test : test.skip)('with the stand-in cuDNN it loads; without cuDNN the CPU trains and CUDA says nvidia-cudnn', () => {
    expect(info.cudaLibrary.loaded).toBe(true);
    // A child without the stand-in: no cuDNN at all. dist/ is the compiled lib (scripts/setup.sh builds it).
    const kept = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((dir) => dir && path.resolve(dir) !== path.resolve(standIn!));
    const env = { ...process.env, LD_LIBRARY_PATH: kept.join(':') };
    const script = `
      const k = require(${JSON.stringify(path.resolve(__dirname, '..', 'dist'))});
      const info = k.backendInfo();
      let deviceError = '';
      try { k.setDevice('cuda'); } catch (error) { deviceError = error.message; }
      const model = new k.Sequential([new k.Dense(1, { inputShape: [2] })]);
      model.compile({ optimizer: 'sgd', loss: 'mse' });
      model.fit(k.tensor([[0, 1], [1, 0]]), k.tensor([[1], [0]]), { epochs: 2, verbose: 0 }).then((history) => {
        console.log(JSON.stringify({ library: info.cudaLibrary, available: info.cuda.available, deviceError, losses: history.history.loss.length }));
      });`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env, timeout: 120000 });
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout.trim());
    expect(out.library.build).toBe(true);
    expect(out.library.loaded).toBe(false);
    expect(out.library.problem).toMatch(/libcudnn\.so[.\d]*: cannot open shared object file/);
    expect(out.library.problem).toMatch(/nvidia-cudnn/);
    expect(out.available).toBe(false);
    expect(out.deviceError).toMatch(/CUDA is not available: .*nvidia-cudnn/);
    expect(out.losses).toBe(2);
  });
});
