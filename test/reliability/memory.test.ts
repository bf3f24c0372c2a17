/**
 * Memory soak, measured in a child process running the built package (dist/) with --expose-gc, so that
 * RSS belongs to the soak alone and not to jest. RSS bounds are generous (the point is "bounded"); the
 * addon's count of small tensor blocks in use is exact, so its bounds catch one leaked tensor per call.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const dist = path.join(root, 'dist', 'index.js');
const MB = 1024 * 1024;

interface Soak {
  predictions: number;
  steps: number;
  rss: { warm: number; afterPredict: number; afterTrain: number };
  nativeInUse: { warm: number; afterPredict: number; afterTrain: number };
  bigResults: { count: number; bytesEach: number; pressureBase: number; pressurePeak: number; disposeBase: number; disposePeak: number };
}

let soak: Soak;

beforeAll(() => {
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: build it first with npm run build:ts`);
  const run = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'soak-child.js'), dist, '10000', '1000', '100'], {
    encoding: 'utf8',
    timeout: 150_000,
  });
  if (run.status !== 0) throw new Error(`the soak process failed (status ${run.status}, signal ${run.signal}): ${run.stderr}`);
  soak = JSON.parse(run.stdout.trim().split('\n').pop()!) as Soak;
  // eslint-disable-next-line no-console
  console.log(
    `soak: RSS ${(soak.rss.warm / MB).toFixed(1)} MB after warm-up, ${(soak.rss.afterPredict / MB).toFixed(1)} MB after ` +
      `${soak.predictions} predicts, ${(soak.rss.afterTrain / MB).toFixed(1)} MB after ${soak.steps} train steps; ` +
      `${soak.bigResults.count} results of ${soak.bigResults.bytesEach / MB} MB: peak +${((soak.bigResults.pressurePeak - soak.bigResults.pressureBase) / MB).toFixed(1)} MB ` +
      `left to the collector, +${((soak.bigResults.disposePeak - soak.bigResults.disposeBase) / MB).toFixed(1)} MB disposed at once; ` +
      `small tensor blocks in use: ${soak.nativeInUse.warm} warm, ${soak.nativeInUse.afterPredict} after the predicts, ${soak.nativeInUse.afterTrain} after the steps`,
  );
}, 160_000);

// Each predict's input and output are small tensors, one block each from the addon's allocator: one tensor
// leaked per call would leave 10,000 more blocks in use, a hundred times the bound.
test('10,000 predictions without dispose(): every input and output tensor is freed, RSS bounded', () => {
  expect(soak.predictions).toBe(10000);
  expect(soak.nativeInUse.afterPredict - soak.nativeInUse.warm).toBeLessThan(100);
  expect(soak.rss.afterPredict - soak.rss.warm).toBeLessThan(64 * MB);
});

test('1,000 training steps without dispose(): every batch tensor is freed, RSS bounded', () => {
  expect(soak.steps).toBe(1000);
  expect(soak.nativeInUse.afterTrain - soak.nativeInUse.afterPredict).toBeLessThan(100);
  expect(soak.rss.afterTrain - soak.rss.warm).toBeLessThan(64 * MB);
});

test("libtorch's memory is reported to V8: dropped big results are collected without gc() calls", () => {
  const { count, bytesEach, pressureBase, pressurePeak } = soak.bigResults;
  // 100 results of 8 MB: were V8 blind to them it would let all 800 MB pile up before collecting.
  expect(pressurePeak - pressureBase).toBeLessThan((count * bytesEach) / 3);
});

// dispose() drops the wrapper's reference and the External's (native/tensor.cc) at once: the memory goes
// back to the CPU cache for the next result rather than waiting for the collector.
test('dispose() frees a big result at once', () => {
  const { count, bytesEach, disposeBase, disposePeak } = soak.bigResults;
  expect(disposePeak - disposeBase).toBeLessThan((count * bytesEach) / 3);
});
