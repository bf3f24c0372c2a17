/**
 * Finds and loads the compiled addon, in this order: KERAS_TORCH_BINARY, a local build (development, or a
 * build from source at install time), the prebuilt binary the install step chose for the installed libtorch
 * (prebuilds/selected.json), then the other prebuilt binaries for this platform. When nothing loads, one
 * error lists every candidate and why it failed, with the ways to fix it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isMainThread } from 'worker_threads';
import type { NativeBinding } from './binding';

const packageRoot = path.resolve(__dirname, '..', '..');

interface Candidate {
  file: string;
  /** Why it is on the list, for the error message. */
  origin: string;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function prebuiltCandidates(): Candidate[] {
  const prebuilds = path.join(packageRoot, 'prebuilds');
  const platformKey = `${process.platform}-${process.arch}`;
  const list: Candidate[] = [];
  const selected = readJson(path.join(prebuilds, 'selected.json')) as { binary?: string } | undefined;
  if (selected && typeof selected.binary === 'string') {
    list.push({ file: path.join(prebuilds, selected.binary), origin: 'prebuilt, chosen at install time' });
  }
  const platformDir = path.join(prebuilds, platformKey);
  if (fs.existsSync(platformDir)) {
    for (const entry of fs.readdirSync(platformDir).sort()) {
      const file = path.join(platformDir, entry);
      if (entry.endsWith('.node') && !list.some((candidate) => candidate.file === file)) {
        list.push({ file, origin: 'prebuilt' });
      }
    }
  } else {
    list.push({ file: platformDir, origin: `prebuilt binaries for ${platformKey}` });
  }
  return list;
}

function candidates(): Candidate[] {
  const list: Candidate[] = [];
  if (process.env.KERAS_TORCH_BINARY) {
    list.push({ file: path.resolve(process.env.KERAS_TORCH_BINARY), origin: 'KERAS_TORCH_BINARY' });
  }
  list.push({ file: path.join(packageRoot, 'build', 'Release', 'keras_torch.node'), origin: 'local build' });
  list.push({ file: path.join(packageRoot, 'build', 'Debug', 'keras_torch.node'), origin: 'local debug build' });
  return list.concat(prebuiltCandidates());
}

/** What the packaged prebuilt binaries were built against, from prebuilds/manifest.json. */
function prebuiltLibtorches(): string {
  const manifest = readJson(path.join(packageRoot, 'prebuilds', 'manifest.json')) as
    | { prebuilds?: { platform: string; arch: string; libtorch: { version: string; cuda: boolean } }[] }
    | undefined;
  const fitting = (manifest?.prebuilds ?? [])
    .filter((entry) => entry.platform === process.platform && entry.arch === process.arch)
    .map((entry) => `libtorch ${entry.libtorch.version} (${entry.libtorch.cuda ? 'CUDA' : 'CPU'})`);
  return fitting.length > 0 ? fitting.join(', ') : `no libtorch on ${process.platform}-${process.arch} (none are packaged)`;
}

let binding: NativeBinding | undefined;
let loadedFrom: string | undefined;

/** The file the addon was loaded from (after the first loadBinding()). */
export function bindingPath(): string | undefined {
  return loadedFrom;
}

/**
 * The addon reads its CPU cache settings when it loads and falls back to the defaults on a value it cannot
 * use; this says so rather than letting a typo pass unnoticed.
 */
function checkCacheSettings(): void {
  const settings: [string, string][] = [
    ['KERAS_TORCH_CPU_CACHE_MB', 'a number of megabytes (0 switches the cache off); using the default (twice the most in use at once, at least 1024)'],
    ['KERAS_TORCH_CPU_CACHE_IDLE_SECONDS', 'a number of seconds; using 10'],
  ];
  for (const [name, expected] of settings) {
    const value = process.env[name];
    if (value === undefined || value === '') continue;
    if (!Number.isFinite(Number(value)) || Number(value) < 0 || value.trim() !== value) {
      process.emitWarning(`keras-torch: expected ${name} to be ${expected}, but received ${JSON.stringify(value)}`);
    }
  }
}

export function loadBinding(): NativeBinding {
  if (binding) return binding;
  checkCacheSettings();
  const failures: string[] = [];
  for (const { file, origin } of candidates()) {
    if (!fs.existsSync(file)) {
      failures.push(`${file} (${origin}): not there`);
      continue;
    }
    try {
      binding = require(file) as NativeBinding;
      loadedFrom = file;
      // On the way out of the process (process.exit, an uncaught exception, the end of the script), the
      // step running on the compute thread finishes and the queued ones are dropped before libtorch's
      // static objects are destroyed. Only the main thread's exit ends the process.
      if (isMainThread) {
        const loaded = binding;
        process.once('exit', () => loaded.stopComputeForExit());
      }
      return binding;
    } catch (error) {
      // dlopen's reason is the useful part: a missing libtorch, or an undefined symbol from another libtorch.
      failures.push(`${file} (${origin}): ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    [
      'keras-torch: could not load its native addon. Tried:',
      ...failures.map((line) => `  - ${line}`),
      `The prebuilt binaries fit ${prebuiltLibtorches()} (Debian's libtorch-dev or libtorch-cuda-dev of that`,
      'version: apt-get install libtorch-dev). For another libtorch (LIBTORCH=/path/to/libtorch, Torch_DIR, or',
      'pip install torch), build against it with one command:',
      '  npx keras-torch build        (needs cmake and a C++17 compiler; picks a prebuilt binary when one fits)',
      'The package\'s install script does the same on its own, but npm 11 and later may not run it: approve it with',
      '`npm install-scripts approve keras-torch` (npm 11.16/11.17: `npm approve-scripts keras-torch`) and run',
      '`npm rebuild keras-torch`. In a checkout, `npm run build:native`; KERAS_TORCH_BINARY=/path/to/keras_torch.node',
      'picks a binary.',
    ].join('\n'),
  );
}
