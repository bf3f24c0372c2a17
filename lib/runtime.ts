/** Devices, threads, seeds and what libtorch was built with. */
import { invalidArgument } from './errors';
import type { CpuMemoryInfo, CudaLibraryInfo } from './native/binding';
import { loadBinding } from './native/loader';
import { reseed } from './random';
import { checkNonNegativeInteger, checkPositiveInteger } from './validation';

let requestedDevice = 'auto';

/** Sets the device new models are built on: 'cpu', 'cuda', 'cuda:N', or 'auto' (CUDA where libtorch sees a GPU). */
export function setDevice(device: string): void {
  if (typeof device !== 'string') throw invalidArgument('setDevice', "'cpu', 'cuda', 'cuda:N' or 'auto'", device);
  if (device !== 'auto') usableDevice('setDevice', device, "a usable device ('cpu', 'cuda', 'cuda:N' or 'auto')");
  requestedDevice = device;
}

/** `device` as libtorch names it ('cuda' becomes 'cuda:0'), or an error for `operation` saying why it is unusable. */
export function usableDevice(operation: string, device: string, expected = 'a usable device'): string {
  try {
    return loadBinding().checkDevice(device);
  } catch (error) {
    throw invalidArgument(operation, `${expected}; ${(error as Error).message}`, device);
  }
}

/** The device new models are built on, resolved: 'cpu' or 'cuda' / 'cuda:N'. */
export function device(): string {
  if (requestedDevice !== 'auto') return requestedDevice;
  return loadBinding().cudaIsAvailable() ? 'cuda' : 'cpu';
}

export const cuda = {
  /** Whether libtorch was built with CUDA and sees a GPU. */
  isAvailable(): boolean {
    return loadBinding().cudaIsAvailable();
  },
  deviceCount(): number {
    return loadBinding().cudaDeviceCount();
  },
};

/** libtorch's intra-op threads (defaults to the machine's cores; OMP_NUM_THREADS overrides). */
export function setNumThreads(threads: number): void {
  loadBinding().setNumThreads(checkPositiveInteger('setNumThreads', 'threads', threads));
}

export function getNumThreads(): number {
  return loadBinding().getNumThreads();
}

/** Seeds libtorch's generators (initial weights, dropout) and lib/'s (shuffling): same seed, same run on CPU. */
export function setSeed(seed: number): void {
  checkNonNegativeInteger('setSeed', 'seed', seed);
  loadBinding().setSeed(seed);
  reseed(seed);
}

export interface BackendInfo {
  libtorchVersion: string;
  cuda: { available: boolean; deviceCount: number; cudnn: boolean };
  /** A CUDA libtorch's GPU library: whether this is a CUDA build, whether it loaded, and if not, why. */
  cudaLibrary: CudaLibraryInfo;
  device: string;
  numThreads: number;
  /** The BLAS libtorch calls, as its build configuration and the loaded libraries say. */
  blas: string;
  parallelInfo: string;
  buildConfig: string;
  cxx11Abi: boolean;
  /** The cache of freed tensor memory that train steps reuse (KERAS_TORCH_CPU_CACHE_MB sets its limit). */
  cpuMemory: CpuMemoryInfo;
}

function loadedBlas(): string {
  // Debian's libtorch uses whichever libblas.so.3 the alternatives system points to; /proc tells which.
  try {
    const maps = require('fs').readFileSync('/proc/self/maps', 'utf8') as string;
    const match = maps.match(/\S*\/(libopenblas[^\s/]*|libblas[^\s/]*|libmkl_rt[^\s/]*|libblis[^\s/]*)/);
    if (match) return require('fs').realpathSync(match[0]) as string;
  } catch {
    // Not Linux: fall back to the build configuration.
  }
  return 'unknown';
}

export function backendInfo(): BackendInfo {
  const info = loadBinding().backendInfo();
  const configured = info.buildConfig.match(/BLAS_INFO=([^,\s]+)/)?.[1] ?? 'unknown';
  return {
    libtorchVersion: info.libtorchVersion,
    cuda: { available: info.cudaAvailable, deviceCount: info.cudaDeviceCount, cudnn: info.cudnnAvailable },
    cudaLibrary: info.cudaLibrary,
    device: device(),
    numThreads: info.numThreads,
    blas: `${configured} (loaded: ${loadedBlas()})`,
    parallelInfo: info.parallelInfo,
    buildConfig: info.buildConfig,
    cxx11Abi: info.cxx11Abi,
    cpuMemory: info.cpuMemory,
  };
}
