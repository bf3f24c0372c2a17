/**
 * native/cpu_allocator.cc: freed tensor memory is kept and handed out again, the cache stays under its
 * limit, blocks left unused for KERAS_TORCH_CPU_CACHE_IDLE_SECONDS go back to the system,
 * KERAS_TORCH_CPU_CACHE_MB sets or switches it off, and training computes the same numbers with or
 * without it. The environment variable is read when the addon loads, so those cases run in child
 * processes on the built package (dist/).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { CpuMemoryInfo } from '../lib';

const dist = path.join(__dirname, '..', 'dist', 'index.js');

// A conv net whose activations and gradients (8x30x30x16 floats, 460 KB) take the large-block path.
const TRAIN = `
const k = require(${JSON.stringify(dist)});
async function main() {
  k.setNumThreads(1);
  k.setSeed(7);
  const model = new k.Sequential([
    new k.Conv2D(16, [3, 3], { inputShape: [32, 32, 3], activation: 'relu' }),
    new k.Flatten(),
    new k.Dense(1, { activation: 'sigmoid' }),
  ]);
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
  const x = k.tensor(Float32Array.from({ length: 8 * 32 * 32 * 3 }, (_, i) => Math.sin(i * 0.37)), [8, 32, 32, 3]);
  const y = k.tensor(Float32Array.from({ length: 8 }, (_, i) => i % 2), [8, 1]);
  const losses = [];
  const counts = [];
  for (let step = 0; step < 12; step++) {
    losses.push(await model.trainOnBatch(x, y));
    const memory = k.backendInfo().cpuMemory;
    counts.push({ fresh: memory.fresh, reused: memory.reused });
  }
  const memory = k.backendInfo().cpuMemory;
  // Then a prediction: its allocations are when blocks idle for too long are let go.
  (await model.predict(x)).dispose();
  console.log(JSON.stringify({ losses, counts, memory, afterIdle: k.backendInfo().cpuMemory }));
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

interface Run {
  losses: number[];
  counts: { fresh: number; reused: number }[];
  memory: CpuMemoryInfo;
  afterIdle: CpuMemoryInfo;
}

function train(cacheMegabytes?: string, idleSeconds?: string): Run {
  const env = { ...process.env };
  delete env.KERAS_TORCH_CPU_CACHE_MB;
  delete env.KERAS_TORCH_CPU_CACHE_IDLE_SECONDS;
  if (cacheMegabytes !== undefined) env.KERAS_TORCH_CPU_CACHE_MB = cacheMegabytes;
  if (idleSeconds !== undefined) env.KERAS_TORCH_CPU_CACHE_IDLE_SECONDS = idleSeconds;
  const run = spawnSync(process.execPath, ['-e', TRAIN], { encoding: 'utf8', env, timeout: 60_000 });
  if (run.status !== 0) throw new Error(`the training process failed (status ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Run;
}

let cached: Run;
let uncached: Run;
let tiny: Run;
let forgetful: Run;

beforeAll(() => {
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: build it first with npm run build:ts`);
  cached = train();
  uncached = train('0');
  tiny = train('1');
  forgetful = train(undefined, '0');
}, 120_000);

test('after the first steps every large block comes from the cache; the default limit is 1 GiB until more was in use', () => {
  expect(cached.memory.caching).toBe(true);
  expect(cached.memory.cacheLimitBytes).toBe(1024 * 1024 * 1024);
  const { counts } = cached;
  // Steps 4 to 12 map no new memory and reuse several blocks each.
  expect(counts[11].fresh).toBe(counts[3].fresh);
  expect(counts[11].reused - counts[3].reused).toBeGreaterThanOrEqual(8 * 4);
  expect(cached.memory.cachedBytes).toBeGreaterThan(0);
  expect(cached.memory.cachedBytes).toBeLessThanOrEqual(cached.memory.cacheLimitBytes);
  // Between steps no large block is held: every weight here is under 128 KB, and nothing of a step leaks.
  expect(cached.memory.inUseBytes).toBe(0);
});

test("KERAS_TORCH_CPU_CACHE_MB=0 keeps libtorch's allocator and trains to the same losses", () => {
  expect(uncached.memory).toEqual({ caching: false, inUseBytes: 0, cachedBytes: 0, cacheLimitBytes: 0, reused: 0, fresh: 0, smallBlocksInUse: 0 });
  expect(uncached.losses).toHaveLength(12);
  expect(uncached.losses).toHaveLength(cached.losses.length);
  uncached.losses.forEach((loss, i) => expect(loss).toBeCloseTo(cached.losses[i], 6));
});

test('KERAS_TORCH_CPU_CACHE_MB=1 keeps at most 1 MB cached and trains to the same losses', () => {
  expect(tiny.memory.caching).toBe(true);
  expect(tiny.memory.cacheLimitBytes).toBe(1024 * 1024);
  expect(tiny.memory.cachedBytes).toBeLessThanOrEqual(1024 * 1024);
  // With room for about two blocks, later steps still map some memory anew.
  expect(tiny.counts[11].fresh).toBeGreaterThan(tiny.counts[3].fresh);
  expect(tiny.losses).toHaveLength(cached.losses.length);
  tiny.losses.forEach((loss, i) => expect(loss).toBeCloseTo(cached.losses[i], 6));
});

test('blocks unused for KERAS_TORCH_CPU_CACHE_IDLE_SECONDS go back to the system; by default (10 s) they stay', () => {
  // No clock decides it: with a limit of 0 s every cached block is past it when the prediction allocates,
  // so the prediction maps fresh memory; with the default 10 s, which the run is far from, it reuses all.
  expect(forgetful.memory.cachedBytes).toBeGreaterThan(0);
  expect(forgetful.afterIdle.fresh).toBeGreaterThan(forgetful.memory.fresh);
  expect(forgetful.afterIdle.reused).toBe(forgetful.memory.reused);
  expect(cached.afterIdle.cachedBytes).toBe(cached.memory.cachedBytes);
  expect(cached.afterIdle.fresh).toBe(cached.memory.fresh);
  expect(forgetful.losses).toHaveLength(cached.losses.length);
  forgetful.losses.forEach((loss, i) => expect(loss).toBeCloseTo(cached.losses[i], 6));
});

test('a cache setting that is not a number is reported and the default used', () => {
  const env = { ...process.env, KERAS_TORCH_CPU_CACHE_MB: '512MB', KERAS_TORCH_CPU_CACHE_IDLE_SECONDS: '-1' };
  const run = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(dist)}).backendInfo().cpuMemory))`], { encoding: 'utf8', env, timeout: 60_000 });
  expect(run.status).toBe(0);
  expect(run.stderr).toMatch(/expected KERAS_TORCH_CPU_CACHE_MB to be a number of megabytes \(0 switches the cache off\); using the default \(twice the most in use at once, at least 1024\), but received "512MB"/);
  expect(run.stderr).toMatch(/expected KERAS_TORCH_CPU_CACHE_IDLE_SECONDS to be a number of seconds; using 10, but received "-1"/);
  expect(JSON.parse(run.stdout).cacheLimitBytes).toBe(1024 * 1024 * 1024);
});

test('without KERAS_TORCH_CPU_CACHE_MB the limit follows the most memory in use at once (twice it): a 1.1 GB result stays cached once freed', () => {
  // UpSampling2D by 32 turns 22 images of 64x64x3 into 22 of 2048x2048x3: 1.1 GB, more than 1 GiB. A train
  // step whose tensors outgrow the cache would otherwise give part of them back to the kernel every step.
  const script = `
const k = require(${JSON.stringify(dist)});
async function main() {
  const model = new k.Sequential([new k.UpSampling2D({ size: [32, 32], inputShape: [64, 64, 3] })]);
  const x = k.tensor(new Float32Array(22 * 64 * 64 * 3).fill(0.5), [22, 64, 64, 3]);
  const y = await model.predict(x);
  const whileHeld = k.backendInfo().cpuMemory;
  y.dispose();
  console.log(JSON.stringify({ whileHeld, afterFree: k.backendInfo().cpuMemory, shape: y.shape }));
}
main().catch((error) => { console.error(error); process.exit(1); });
`;
  const env = { ...process.env };
  delete env.KERAS_TORCH_CPU_CACHE_MB;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env, timeout: 60_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const { whileHeld, afterFree, shape } = JSON.parse(run.stdout.trim()) as { whileHeld: CpuMemoryInfo; afterFree: CpuMemoryInfo; shape: number[] };
  expect(shape).toEqual([22, 2048, 2048, 3]);
  const bytes = 22 * 2048 * 2048 * 3 * 4;
  expect(whileHeld.inUseBytes).toBeGreaterThanOrEqual(bytes);
  expect(afterFree.cacheLimitBytes).toBeGreaterThanOrEqual(2 * bytes);
  expect(afterFree.cachedBytes).toBeGreaterThanOrEqual(bytes);
  expect(afterFree.cachedBytes).toBeLessThanOrEqual(afterFree.cacheLimitBytes);
});
