/**
 * CUDA: real training on the GPU when libtorch sees one (scripts/gpu-check.sh runs this on a GPU machine);
 * skipped with a message otherwise.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Conv2D, Dense, Flatten, MaxPooling2D, Sequential, Tensor, backendInfo, cuda, device, loadModel, setDevice, setSeed, tensor,
} from '../lib';
import { describeIf } from './helpers/peers';

async function valuesOf(t: Tensor): Promise<number[]> {
  return Array.from((await t.data()) as Float32Array);
}

const { libtorchVersion, cudaLibrary } = backendInfo();
const describeCuda = describeIf(
  cuda.isAvailable(),
  `the CUDA tests need a GPU: ${cudaLibrary.problem || `libtorch ${libtorchVersion} sees no CUDA GPU on this machine`} (scripts/gpu-check.sh runs them on a machine with an NVIDIA GPU)`,
);

/** Two separable classes of 16x16x3 images: bright top half vs bright bottom half, with noise. */
function dataset(count: number, seed: number): { x: Float32Array; y: Float32Array } {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const x = new Float32Array(count * 16 * 16 * 3);
  const y = new Float32Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % 2;
    y[n] = label;
    for (let row = 0; row < 16; row++) {
      const bright = (row < 8) === (label === 0);
      for (let i = 0; i < 16 * 3; i++) x[(n * 16 + row) * 48 + i] = (bright ? 0.8 : 0.2) + 0.2 * (random() - 0.5);
    }
  }
  return { x, y };
}

function smallCnn(): Sequential {
  const model = new Sequential();
  model.add(new Conv2D(8, [3, 3], { inputShape: [16, 16, 3], activation: 'relu' }));
  model.add(new MaxPooling2D({ poolSize: [2, 2] }));
  model.add(new Flatten());
  model.add(new Dense(16, { activation: 'relu' }));
  model.add(new Dense(1, { activation: 'sigmoid' }));
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  return model;
}

describeCuda('CUDA', () => {
  afterAll(() => setDevice('auto'));

  test("'auto' resolves to CUDA; devices are counted and named", () => {
    expect(cuda.deviceCount()).toBeGreaterThanOrEqual(1);
    expect(backendInfo().cuda.available).toBe(true);
    setDevice('auto');
    expect(device()).toBe('cuda');
    setDevice('cuda:0');
    expect(device()).toBe('cuda:0');
    expect(() => setDevice(`cuda:${cuda.deviceCount()}`)).toThrow(/setDevice: expected a usable device/);
    setDevice('cuda');
  });

  test('a CNN trains on the GPU: the loss falls and it separates the classes', async () => {
    setSeed(1);
    setDevice('cuda');
    const model = smallCnn();
    const { x, y } = dataset(256, 7);
    const xs = tensor(x, [256, 16, 16, 3]);
    const ys = tensor(y, [256, 1]);
    const history = await model.fit(xs, ys, { epochs: 5, batchSize: 32, verbose: 0 });
    expect(model.device).toMatch(/^cuda/);
    const losses = history.history.loss as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.5);
    expect((history.history.accuracy as number[]).at(-1)).toBeGreaterThan(0.95);

    const test = dataset(64, 99);
    const prediction = await model.predict(tensor(test.x, [64, 16, 16, 3]));
    expect(prediction.shape).toEqual([64, 1]);
    const values = await valuesOf(prediction);
    let correct = 0;
    for (let i = 0; i < 64; i++) correct += Number((values[i] > 0.5) === (test.y[i] === 1));
    expect(correct / 64).toBeGreaterThan(0.95);
  });

  test('the same weights predict the same on CPU and GPU, and a GPU model saves and loads', async () => {
    setSeed(2);
    setDevice('cuda');
    const model = smallCnn();
    const { x, y } = dataset(64, 3);
    await model.fit(tensor(x, [64, 16, 16, 3]), tensor(y, [64, 1]), { epochs: 1, batchSize: 16, verbose: 0 });
    const input = tensor(dataset(8, 5).x, [8, 16, 16, 3]);
    const onGpu = await valuesOf(await model.predict(input));

    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-cuda-')), 'model.safetensors');
    try {
      await model.save(file);
      setDevice('cpu');
      const restored = await loadModel(file);
      expect(restored.device).toBe('cpu');
      const onCpu = await valuesOf(await restored.predict(input));
      for (let i = 0; i < onGpu.length; i++) expect(onCpu[i]).toBeCloseTo(onGpu[i], 4);

      model.to('cpu');
      expect(model.device).toBe('cpu');
      const moved = await valuesOf(await model.predict(input));
      for (let i = 0; i < onGpu.length; i++) expect(moved[i]).toBeCloseTo(onGpu[i], 4);
      // Training resumes on the CPU with the optimizer state that was on the GPU.
      const loss = await model.trainOnBatch(tensor(x, [64, 16, 16, 3]), tensor(y, [64, 1]));
      expect(Number.isFinite(Array.isArray(loss) ? loss[0] : loss)).toBe(true);
    } finally {
      setDevice('cuda');
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});

