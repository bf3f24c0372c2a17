/**
 * Models' memory: dispose() frees a model's weights and optimizer state at once, V8 is told what models
 * hold (so building and training models in a loop stays bounded without dispose: V8 does not show that
 * count in process.memoryUsage(), so the loop's peak RSS is what is checked), and a disposed model is an
 * error to use while what it shared with another model stays.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Dense, Input, Model, Sequential, tensor } from '../../lib';

const dist = path.resolve(__dirname, '../../dist/index.js');

test("dispose() frees the weights and the optimizer's state at once", async () => {
  // The native memory in use is counted in a process of its own: in a jest worker, tensors of earlier test
  // files that V8 collects meanwhile would move the count by as much as the model holds.
  const script = `
    const k = require(${JSON.stringify(dist)});
    (async () => {
      const x = k.tensor(new Float32Array(4 * 1024).fill(0.5), [4, 1024]);
      const y = k.tensor(new Float32Array(4 * 1024).fill(0.25), [4, 1024]);
      const inUse = () => k.backendInfo().cpuMemory.inUseBytes;
      const before = inUse();
      const model = new k.Sequential([new k.Dense(1024, { inputShape: [1024] })]); // a 4 MiB kernel
      model.compile({ optimizer: 'adam', loss: 'mse' }); // 8 MiB of state after a step
      await model.trainOnBatch(x, y);
      const trained = inUse() - before;
      model.dispose();
      process.stdout.write(JSON.stringify({ trained, disposed: inUse() - before }));
    })();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(result.stderr).toBe('');
  const { trained, disposed } = JSON.parse(result.stdout) as { trained: number; disposed: number };
  // Kernel, its gradient and Adam's two moments: at least 16 MiB held natively, and all of it gone at once.
  expect(trained).toBeGreaterThanOrEqual(16 * 2 ** 20);
  expect(disposed).toBeLessThan(2 ** 20);

  const x = tensor([1, 2, 3], [1, 3]);
  const model = new Sequential([new Dense(2, { inputShape: [3] })]);
  model.compile({ optimizer: 'adam', loss: 'mse' });
  await model.trainOnBatch(x, tensor([0, 1], [1, 2]));
  model.dispose();
  expect(model.isDisposed).toBe(true);
  await expect(model.predict(x)).rejects.toThrow(/predict: model 'sequential(_\d+)?' was disposed/);
  expect(() => model.getWeights()).toThrow(/getWeights: model 'sequential(_\d+)?' was disposed/);
  model.dispose(); // twice: nothing happens
});

test('disposing a model keeps the weights another live model shares (a base under a head)', async () => {
  const input = Input({ shape: [3] });
  const base = new Model({ inputs: input, outputs: new Dense(4, { name: 'shared_base_dense' }).apply(input) });
  const x = tensor([1, 2, 3], [1, 3]);
  const expected = Array.from(((await base.predict(x)) as never as { dataSync(): Float32Array }).dataSync());
  const outer = new Model({ inputs: input, outputs: new Dense(1).apply(base.apply(input)) });
  await outer.predict(x);
  outer.dispose();
  expect(Array.from(((await base.predict(x)) as never as { dataSync(): Float32Array }).dataSync())).toEqual(expected);
  base.dispose();
  // Now nothing uses the base's layer: building another model on it is an error naming it.
  const again = new Model({ inputs: input, outputs: base.getLayer('shared_base_dense').apply(input) });
  expect(() => again.getWeights()).toThrow(/Dense 'shared_base_dense': its weights were freed when the model holding it was disposed/);
});

test('models built and trained in a loop without dispose stay within a bound (V8 collects them)', () => {
  // 40 models of 24 MiB each (kernel, gradient, Adam): ~960 MiB more than the first if nothing were collected.
  // The growth over the RSS after the first model is what is bounded: the RSS the process starts at depends on
  // the libtorch it loads (a CUDA build's libraries add hundreds of MB).
  const script = `
    const k = require(${JSON.stringify(dist)});
    (async () => {
      const x = k.tensor(new Float32Array(8 * 2048).fill(0.1), [8, 2048]);
      const y = k.tensor(new Float32Array(8 * 1024).fill(0.2), [8, 1024]);
      let first = 0;
      let peak = 0;
      for (let i = 0; i < 40; i++) {
        const model = new k.Sequential([new k.Dense(1024, { inputShape: [2048] })]);
        model.compile({ optimizer: 'adam', loss: 'mse' });
        await model.trainOnBatch(x, y);
        if (i === 0) first = process.memoryUsage().rss;
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      process.stdout.write(JSON.stringify({ first, peak }));
    })();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(result.stderr).toBe('');
  const { first, peak } = JSON.parse(result.stdout) as { first: number; peak: number };
  // 100-130 MB on libtorch 1.13; a third of the models left uncollected would pass 320.
  expect((peak - first) / 2 ** 20).toBeLessThan(320);
});
