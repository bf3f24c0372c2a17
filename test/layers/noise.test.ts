import { Dense, Flatten, GaussianNoise, Input, Model, SGD, setSeed, SymbolicTensor, tensor, Tensor } from '../../lib';
import { expectClose, moments, values } from '../helpers';
import { describeLayer, fixedModel } from './harness';

describeLayer('GaussianNoise', {
  shapes: [
    { title: 'on features', make: () => new GaussianNoise(0.1), inputShape: [10], outputShape: [10], params: 0, weightShapes: [] },
    { title: 'on images, options object with a seed', make: () => new GaussianNoise({ stddev: 0.5, seed: 3 }), inputShape: [4, 4, 3], outputShape: [4, 4, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'stddev 2', make: () => new GaussianNoise(2), error: /GaussianNoise 'gaussian_noise(_\d+)?': expected stddev to be a number in \[0, 1\] but received 2/ },
    { title: 'no stddev', make: () => new GaussianNoise({}), error: /expected stddev to be a number in \[0, 1\] but received undefined/ },
    { title: 'seed 1.5', make: () => new GaussianNoise(0.1, { seed: 1.5 }), error: /expected seed to be a non-negative integer but received 1\.5/ },
  ],
});

/** The layer applied in training mode whatever the step (Keras's `training=True`), so predict shows the noise. */
function alwaysTraining(shape: number[], layer: GaussianNoise): Model<SymbolicTensor> {
  const input = Input({ shape });
  return new Model({ inputs: input, outputs: layer.apply(input, { training: true }) });
}

function filled(shape: number[], value: number): Tensor {
  return tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape);
}

describe('GaussianNoise numerics', () => {
  test('in training it adds zero-mean noise of the given standard deviation, on images (NCHW inside) too', async () => {
    const y = values(await alwaysTraining([8, 8, 4], new GaussianNoise(0.3, { seed: 1 })).predict(filled([40, 8, 8, 4], 2)));
    const { mean, variance } = moments(y.map((v) => v - 2));
    // 10240 draws: the mean's standard error is 0.003, the standard deviation's about 0.0021.
    expect(Math.abs(mean)).toBeLessThan(0.012);
    expect(Math.abs(Math.sqrt(variance) - 0.3)).toBeLessThan(0.009);
  });

  test('the same seed gives the same noise; setSeed fixes the seed of a layer made without one', async () => {
    const noise = async (layer: GaussianNoise): Promise<number[]> => values(await alwaysTraining([6], layer).predict(filled([4, 6], 0)));
    expect(await noise(new GaussianNoise(0.5, { seed: 7 }))).toEqual(await noise(new GaussianNoise(0.5, { seed: 7 })));
    expect(await noise(new GaussianNoise(0.5, { seed: 7 }))).not.toEqual(await noise(new GaussianNoise(0.5, { seed: 8 })));
    setSeed(5);
    const first = await noise(new GaussianNoise(0.5));
    setSeed(5);
    expect(await noise(new GaussianNoise(0.5))).toEqual(first);
    expect(new GaussianNoise(0.5, { seed: 7 }).getConfig()).toMatchObject({ stddev: 0.5, seed: 7 });
  });

  test('inactive in predict and evaluate, active in fit', async () => {
    const model = fixedModel([2, 2, 3], [new GaussianNoise(1), new Flatten(), new Dense(1, { useBias: false, kernelInitializer: 'ones' })], [], {
      optimizer: new SGD({ learningRate: 0 }),
      loss: 'mse',
    });
    const x = filled([64, 2, 2, 3], 1);
    const sums = filled([64, 1], 12);
    expectClose(values(await model.predict(x)), new Array(64).fill(12));
    expect(await model.testOnBatch(x, sums)).toBeCloseTo(0, 6);
    // Each sum gains the sum of 12 draws of N(0, 1): the mse is near 12 (a chi-squared of 64 degrees over 64, times 12).
    const loss = (await model.trainOnBatch(x, sums)) as number;
    expect(loss).toBeGreaterThan(12 * 0.4);
    expect(loss).toBeLessThan(12 * 1.8);
  });
});
