import { backendInfo, cuda, device, getNumThreads, setDevice, setNumThreads, setSeed } from '../lib';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { findLibtorch } = require('../scripts/find-libtorch');
/** The libtorch the addon was built against (Debian 12's 1.13, Debian 13's 2.6, ...): what the build found. */
const builtAgainst: string = findLibtorch().version;

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

  test('no CUDA on this machine: isAvailable is false, no devices, auto resolves to cpu', () => {
    expect(cuda.isAvailable()).toBe(false);
    expect(cuda.deviceCount()).toBe(0);
    expect(device()).toBe('cpu');
  });

  test("setDevice('cuda') fails with a clear message and leaves the device unchanged", () => {
    expect(() => setDevice('cuda')).toThrow(/setDevice: expected a usable device \('cpu', 'cuda', 'cuda:N' or 'auto'\); .*CUDA is not available.* but received "cuda"/);
    expect(() => setDevice('cuda:1')).toThrow(/setDevice: .*but received "cuda:1"/);
    expect(() => setDevice('tpu')).toThrow(/setDevice: expected a usable device .* but received "tpu"/);
    expect(() => setDevice(3 as unknown as string)).toThrow(/setDevice: expected 'cpu', 'cuda', 'cuda:N' or 'auto' but received 3/);
    expect(device()).toBe('cpu');
  });

  test("setDevice('cpu') and back to 'auto'", () => {
    setDevice('cpu');
    expect(device()).toBe('cpu');
    setDevice('auto');
    expect(device()).toBe('cpu');
  });

  test('backendInfo reports the libtorch version and the build', () => {
    const info = backendInfo();
    expect(info.libtorchVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.libtorchVersion.slice(0, builtAgainst.length)).toBe(builtAgainst);
    expect(info.cuda).toEqual({ available: false, deviceCount: 0, cudnn: false });
    expect(info.device).toBe('cpu');
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
