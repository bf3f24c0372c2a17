import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Dense, Flatten, InputLayer, loadModel, Normalization, Sequential, tensor } from '../../lib';
import { expectClose, seededRandom, values } from '../helpers';
import { describeIf } from '../helpers/peers';
import { pythonHas, runPython } from '../helpers/python';
import { describeLayer, fixedModel } from './harness';

describeLayer('Normalization', {
  shapes: [
    { title: 'per channel (axis -1)', make: () => new Normalization(), inputShape: [8, 8, 3], outputShape: [8, 8, 3], params: 7, weightShapes: [[3], [3], []] },
    { title: 'axis [1, 2]', make: () => new Normalization({ axis: [1, 2] }), inputShape: [4, 5, 3], outputShape: [4, 5, 3], params: 41, weightShapes: [[4, 5], [4, 5], []] },
    { title: 'axis null', make: () => new Normalization({ axis: null }), inputShape: [6], outputShape: [6], params: 3, weightShapes: [[], [], []] },
    { title: 'mean and variance given', make: () => new Normalization({ mean: [1, 2, 3], variance: [4, 5, 6] }), inputShape: [2, 2, 3], outputShape: [2, 2, 3], params: 0, weightShapes: [] },
    { title: 'inverted, scalar statistics', make: () => new Normalization({ mean: 2, variance: 9, invert: true }), inputShape: [5], outputShape: [5], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'axis a string', make: () => new Normalization({ axis: 'channels' as unknown as number }), error: /Normalization 'normalization(_\d+)?': expected axis to be an integer, an array of distinct integers, or null but received "channels"/ },
    { title: 'mean without variance', make: () => new Normalization({ mean: [1, 2] }), error: /expected both mean and variance, or neither but received mean given and variance absent/ },
    { title: 'negative variance', make: () => new Normalization({ mean: [1, 2], variance: [1, -1] }), error: /expected variance to be non-negative/ },
    { title: 'mean and variance of different shapes', make: () => new Normalization({ mean: [1, 2], variance: [1, 2, 3] }), error: /expected variance of mean's shape \[2\] but received shape \[3\]/ },
    { title: 'mean of higher rank than the kept axes', make: () => new Normalization({ mean: [[1, 2]], variance: [[1, 2]] }), error: /expected mean of rank at most 1 \(the number of kept axes\) but received shape \[1, 2\]/ },
    { title: 'invert not a boolean', make: () => new Normalization({ invert: 1 as unknown as boolean }), error: /expected invert to be a boolean but received 1/ },
  ],
  badInputs: [
    { title: 'axis past the rank', make: () => new Normalization({ axis: 2 }), inputShape: [4], error: /expected axis values in \[-1, 2\) other than the batch axis \(-2 or 0\) for inputs of rank 2 but received 2/ },
    { title: 'the batch axis kept', make: () => new Normalization({ axis: 0 }), inputShape: [4], error: /other than the batch axis/ },
    { title: 'mean for 4 channels on 3', make: () => new Normalization({ mean: [0, 0, 0, 0], variance: [1, 1, 1, 1] }), inputShape: [2, 2, 3], error: /expected input of kept axes that mean \[4\] broadcasts to but received \[\*, 2, 2, 3\]/ },
  ],
});

/** Keras's formula, written out: (x - mean) / max(sqrt(variance), 1e-7) on the last axis. */
function normalized(x: number[], mean: number[], variance: number[]): number[] {
  return x.map((v, i) => (v - mean[i % mean.length]) / Math.max(Math.sqrt(variance[i % mean.length]), 1e-7));
}

describe('Normalization numerics', () => {
  test("Keras's docstring example: adapt, then normalize and invert", async () => {
    const adaptData = tensor([[0, 7, 4], [2, 9, 6], [0, 7, 4], [2, 9, 6]]);
    const forward = new Normalization();
    await forward.adapt(adaptData);
    expectClose(values(await fixedModel([3], [forward]).predict(tensor([[1, 2, 3]]))), [0, -6, -2]);
    const inverse = new Normalization({ invert: true });
    await inverse.adapt(adaptData);
    expectClose(values(await fixedModel([3], [inverse]).predict(tensor([[1, 2, 3]]))), [2, 10, 8]);
  });

  test('given statistics broadcast over the kept axes; zero variance divides by epsilon, not by zero', async () => {
    const layer = new Normalization({ mean: [1, 2, 3], variance: [4, 0, 0.25] });
    const x = [5, 2, 4, 1, 2.5, 3];
    const y = await fixedModel([1, 2, 3], [layer]).predict(tensor(x, [1, 1, 2, 3]));
    expectClose(values(y), normalized(x, [1, 2, 3], [4, 0, 0.25]), 1e-4);
  });

  test('uint8 pixels are normalized as floats', async () => {
    const y = await fixedModel([2, 1], [new Normalization({ mean: 100, variance: 400 })]).predict(tensor(new Uint8Array([120, 60]), [1, 2, 1]));
    expect(y.dtype).toBe('float32');
    expectClose(values(y), [1, -2]);
  });

  test('adapting a built layer updates the weights the model holds; save and load keep them', async () => {
    const layer = new Normalization();
    const model = new Sequential([new InputLayer({ inputShape: [2, 2, 3] }), layer, new Flatten(), new Dense(1)]);
    expect(values(model.getWeights()[0])).toEqual([0, 0, 0]);
    const next = seededRandom(3);
    const data = Array.from({ length: 5 * 12 }, () => next() * 10);
    await layer.adapt(tensor(data, [5, 2, 2, 3]));
    const [mean, variance, count] = model.getWeights();
    const channel = (c: number) => data.filter((_, i) => i % 3 === c);
    for (let c = 0; c < 3; c++) {
      const list = channel(c);
      const m = list.reduce((a, b) => a + b, 0) / list.length;
      expect(values(mean)[c]).toBeCloseTo(m, 4);
      expect(values(variance)[c]).toBeCloseTo(list.reduce((a, b) => a + (b - m) ** 2, 0) / list.length, 3);
    }
    expect(count.shape).toEqual([]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'normalization-'));
    try {
      await model.save(path.join(dir, 'm.safetensors'));
      const loaded = await loadModel(path.join(dir, 'm.safetensors'));
      expect(loaded.getWeights().slice(0, 2).map(values)).toEqual([values(mean), values(variance)]);
      const x = tensor(data.slice(0, 24), [2, 2, 2, 3]);
      expect(values(await loaded.predict(x))).toEqual(values(await model.predict(x)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('adapt refuses data whose kept axes do not fit, and a layer given its statistics', async () => {
    const layer = new Normalization();
    fixedModel([4, 3], [layer]);
    await expect(layer.adapt(tensor(new Float32Array(8), [2, 4]))).rejects.toThrow(/Normalization 'normalization(_\d+)?'.adapt: expected data of \[3\] on the kept axes but received shape \[2, 4\]/);
    await expect(layer.adapt(tensor(new Float32Array(3), [3]))).rejects.toThrow(/expected data with a batch axis and at least one more/);
    await expect(new Normalization({ mean: 0, variance: 1 }).adapt(tensor([[1]]))).rejects.toThrow(/the layer was given mean and variance/);
    const adapted = new Normalization();
    await adapted.adapt(tensor(new Float32Array(6), [2, 3]));
    expect(() => fixedModel([4], [adapted])).toThrow(/expected input of the shape adapt\(\) saw on the kept axes \(\[3\]\) but received \[\*, 4\]/);
    await expect(new Normalization().adapt('pixels' as unknown as number[])).rejects.toThrow(/expected data to be a Tensor, a typed array or nested arrays of numbers but received "pixels"/);
    await expect(new Normalization().adapt((function* () {})())).rejects.toThrow(/expected at least one batch but received an empty iterable/);
  });
});

describeIf(pythonHas('numpy'), 'the adapt comparisons need python3-numpy')('Normalization.adapt against numpy', () => {
  const next = seededRandom(11);
  const data = Array.from({ length: 7 * 3 * 4 * 2 }, () => next() * 6 - 1 + (next() < 0.1 ? 40 : 0));
  const shape = [7, 3, 4, 2];
  function numpyMoments(axis: string): { mean: number[]; variance: number[] } {
    const script = `
import json, sys, numpy as np
x = np.array(json.loads(sys.argv[1]), dtype=np.float64).reshape(${shape.join(', ')})
axis = ${axis}
print(json.dumps({'mean': np.mean(x, axis=axis).ravel().tolist(), 'variance': np.var(x, axis=axis).ravel().tolist()}))
`;
    return JSON.parse(runPython(script, [JSON.stringify(data)])) as { mean: number[]; variance: number[] };
  }

  test('from one tensor, per channel', async () => {
    const layer = new Normalization();
    await layer.adapt(tensor(data, shape));
    const model = fixedModel(shape.slice(1), [layer]);
    const reference = numpyMoments('(0, 1, 2)');
    expectClose(values(model.getWeights()[0]), reference.mean, 1e-5);
    expectClose(values(model.getWeights()[1]), reference.variance, 1e-4);
  });

  test('from an async iterable of [x, y] batches of uneven sizes, kept axes [1, 3]', async () => {
    const layer = new Normalization({ axis: [1, 3] });
    const perSample = 3 * 4 * 2;
    async function* batches() {
      for (const [start, end] of [[0, 3], [3, 4], [4, 7]]) {
        yield [tensor(data.slice(start * perSample, end * perSample), [end - start, 3, 4, 2]), tensor(new Float32Array(end - start))];
      }
    }
    await layer.adapt(batches());
    const model = fixedModel(shape.slice(1), [layer]);
    expect(model.getWeights()[0].shape).toEqual([3, 2]);
    const reference = numpyMoments('(0, 2)');
    expectClose(values(model.getWeights()[0]), reference.mean, 1e-5);
    expectClose(values(model.getWeights()[1]), reference.variance, 1e-4);
    // and the model normalizes with them
    const x = data.slice(0, perSample);
    const y = values(await model.predict(tensor(x, [1, 3, 4, 2])));
    const expected = x.map((v, i) => {
      const k = Math.floor(i / 8) * 2 + (i % 2);
      return (v - reference.mean[k]) / Math.sqrt(reference.variance[k]);
    });
    expectClose(y, expected, 1e-4);
  });
});
