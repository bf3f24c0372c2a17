import * as fs from 'fs';
import { backendInfo, cuda, device, getNumThreads, setDevice, setNumThreads, setSeed } from '../lib';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { findLibtorch } = require('../scripts/find-libtorch');
/** The libtorch the addon was built against (Debian 12's 1.13, Debian 13's 2.6, ...): what the build found. */
const builtAgainst: string = findLibtorch().version;

/**
 * GPUs as the NVIDIA driver lists them, read without libtorch; CUDA is usable where there are some and the
 * addon was built against a CUDA libtorch that loaded.
 */
const driverGpus = (() => {
  try {
    return fs.readdirSync('/proc/driver/nvidia/gpus').length;
  } catch {
    return 0;
  }
})();
const cudaLibrary = backendInfo().cudaLibrary;
const cudaUsable = driverGpus > 0 && cudaLibrary.build && cudaLibrary.loaded;

describe('runtime', () => {
  test('setNumThreads / getNumThreads', () => {
    const before = getNumThreads();
    expect(before).toBeGreaterThanOrEqual(1);
    try {
      setNumThreads(1);
      expect(getNumThreads()).toBe(1);
      expect(backendInfo().numThreads).toBe(1);
      setNumThreads(2);
      expect(getNumThreads()).toBe(2);
    } finally {
      setNumThreads(before);
    }
    expect(getNumThreads()).toBe(before);
    expect(() => setNumThreads(0)).toThrow(/setNumThreads: expected threads to be a positive integer but received 0/);
    expect(() => setNumThreads(1.5)).toThrow(/setNumThreads: expected threads to be a positive integer but received 1\.5/);
  });

  test(`CUDA as this machine has it (${driverGpus} GPUs listed by the driver, ${cudaLibrary.build ? 'a CUDA' : 'a CPU'} build): availability, device count, what auto resolves to`, () => {
    expect(cuda.isAvailable()).toBe(cudaUsable);
    expect(cuda.deviceCount()).toBe(cudaUsable ? driverGpus : 0);
    expect(device()).toBe(cudaUsable ? 'cuda' : 'cpu');
  });

  test('setDevice refuses devices this machine lacks with a clear message and leaves the device unchanged', () => {
    const before = device();
    if (!cudaUsable) expect(() => setDevice('cuda')).toThrow(/setDevice: expected a usable device \('cpu', 'cuda', 'cuda:N' or 'auto'\); .*CUDA is not available.* but received "cuda"/);
    expect(() => setDevice(`cuda:${driverGpus}`)).toThrow(new RegExp(`setDevice: .*but received "cuda:${driverGpus}"`));
    expect(() => setDevice('tpu')).toThrow(/setDevice: expected a usable device .* but received "tpu"/);
    expect(() => setDevice(3 as unknown as string)).toThrow(/setDevice: expected 'cpu', 'cuda', 'cuda:N' or 'auto' but received 3/);
    expect(device()).toBe(before);
  });

  test("setDevice('cpu') and back to 'auto'", () => {
    setDevice('cpu');
    expect(device()).toBe('cpu');
    setDevice('auto');
    expect(device()).toBe(cudaUsable ? 'cuda' : 'cpu');
  });

  test('backendInfo reports the libtorch version and the build', () => {
    const info = backendInfo();
    expect(info.libtorchVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.libtorchVersion.slice(0, builtAgainst.length)).toBe(builtAgainst);
    expect(info.cuda).toMatchObject({ available: cudaUsable, deviceCount: cudaUsable ? driverGpus : 0 });
    expect(info.device).toBe(cudaUsable ? 'cuda' : 'cpu');
    expect(info.numThreads).toBe(getNumThreads());
    expect(info.blas).toMatch(/\(loaded: .+\)$/);
    expect(info.buildConfig.length).toBeGreaterThan(0);
    expect(info.parallelInfo).toMatch(/ATen\/Parallel/);
    expect(typeof info.cxx11Abi).toBe('boolean');
  });

  test('setSeed validates its argument', () => {
    expect(() => setSeed(-1)).toThrow(/setSeed: expected seed to be a non-negative integer but received -1/);
    expect(() => setSeed(0.5)).toThrow(/setSeed: expected seed to be a non-negative integer but received 0\.5/);
  });
});
