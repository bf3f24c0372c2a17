import { BatchNormalization, SGD, tensor } from '../../lib';
import { expectClose, values } from '../helpers';
import { describeLayer, fixedModel } from './harness';

describeLayer('BatchNormalization', {
  shapes: [
    { title: 'on feature maps', make: () => new BatchNormalization(), inputShape: [4, 4, 8], outputShape: [4, 4, 8], params: 32, weightShapes: [[8], [8], [8], [8]] },
    { title: 'on features', make: () => new BatchNormalization({ momentum: 0.9, epsilon: 1e-5 }), inputShape: [10], outputShape: [10], params: 40, weightShapes: [[10], [10], [10], [10]] },
    { title: 'without center and scale', make: () => new BatchNormalization({ center: false, scale: false }), inputShape: [3, 3, 5], outputShape: [3, 3, 5], params: 10, weightShapes: [[5], [5]] },
  ],
  badOptions: [
    { title: 'momentum 1.5', make: () => new BatchNormalization({ momentum: 1.5 }), error: /BatchNormalization 'batch_normalization(_\d+)?': expected momentum to be a number in \[0, 1\] but received 1\.5/ },
    { title: 'epsilon 0', make: () => new BatchNormalization({ epsilon: 0 }), error: /expected epsilon to be a number in \(0, Infinity\] but received 0/ },
    { title: 'axis 1', make: () => new BatchNormalization({ axis: 1 }), error: /expected axis -1 \(the channels axis\) but received 1/ },
  ],
  badInputs: [{ title: 'rank 2', make: () => new BatchNormalization({ name: 'bn_rank2' }), inputShape: [3, 4], error: /BatchNormalization 'bn_rank2': expected input of rank 1 \(\[features\]\) or 3 \(\[height, width, channels\]\) but received \[\*, 3, 4\]/ }],
});

describe('BatchNormalization numerics', () => {
  // Four samples of two features: feature 0 is 1, 3, 5, 7 (mean 4), feature 1 is 2, 4, 6, 8 (mean 5);
  // both have biased variance 5 and unbiased variance 20/3.
  const x = (): ReturnType<typeof tensor> => tensor([[1, 2], [3, 4], [5, 6], [7, 8]]);
  const compile = { optimizer: new SGD({ learningRate: 0 }), loss: 'mse' };

  test('at inference, before any training, uses moving mean 0, variance 1 and epsilon 1e-3', async () => {
    const model = fixedModel([2], [new BatchNormalization()], [], compile);
    const y = values(await model.predict(x()));
    expectClose(y, [1, 2, 3, 4, 5, 6, 7, 8].map((v) => v / Math.sqrt(1 + 1e-3)));
  });

  test('in training, normalises by the batch statistics (biased variance) and updates the moving statistics with Keras momentum 0.99', async () => {
    const model = fixedModel([2], [new BatchNormalization()], [], { optimizer: new SGD({ learningRate: 0 }), loss: 'mse' });
    // mse against 0 is the mean squared normalised value: variance / (variance + epsilon).
    const loss = (await model.trainOnBatch(x(), tensor([[0, 0], [0, 0], [0, 0], [0, 0]]))) as number;
    expect(loss).toBeCloseTo(5 / (5 + 1e-3), 5);
    const [gamma, beta, movingMean, movingVariance] = model.getWeights().map(values);
    expectClose(gamma, [1, 1]);
    expectClose(beta, [0, 0]);
    // Keras: moving = 0.99 * moving + 0.01 * batch.
    expectClose(movingMean, [0.99 * 0 + 0.01 * 4, 0.99 * 0 + 0.01 * 5]);
    // The variance that feeds the moving average is the unbiased one, as PyTorch does (documented).
    expectClose(movingVariance, [0.99 + 0.01 * (20 / 3), 0.99 + 0.01 * (20 / 3)]);
    // Inference now uses the moving statistics.
    const y = values(await model.predict(x()));
    const expected = [1, 2, 3, 4, 5, 6, 7, 8].map((v, i) => (v - movingMean[i % 2]) / Math.sqrt(movingVariance[i % 2] + 1e-3));
    expectClose(y, expected);
    // testOnBatch is inference too: mse of those values against 0.
    const mse = expected.reduce((a, b) => a + b * b, 0) / expected.length;
    expect(await model.testOnBatch(x(), tensor([[0, 0], [0, 0], [0, 0], [0, 0]]))).toBeCloseTo(mse, 4);
  });

  test('gamma, beta and moving statistics set with setWeights give gamma * (x - mean) / sqrt(variance + epsilon) + beta', async () => {
    const model = fixedModel([2], [new BatchNormalization({ epsilon: 0.01 })], [[2, -1], [0.5, 1], [1, 2], [4, 0.99]]);
    const y = values(await model.predict(x()));
    const gamma = [2, -1], beta = [0.5, 1], mean = [1, 2], variance = [4, 0.99];
    expectClose(y, [1, 2, 3, 4, 5, 6, 7, 8].map((v, i) => (gamma[i % 2] * (v - mean[i % 2])) / Math.sqrt(variance[i % 2] + 0.01) + beta[i % 2]));
  });

  test('on images, statistics are per channel (the last axis)', async () => {
    const model = fixedModel([2, 2, 2], [new BatchNormalization({ momentum: 0.9 })], [], { optimizer: new SGD({ learningRate: 0 }), loss: 'mse' });
    // channel 0 holds 0..7 over the batch of 2, channel 1 holds 100 + 0..7.
    const data: number[] = [];
    for (let i = 0; i < 8; i++) data.push(i, 100 + i);
    await model.trainOnBatch(tensor(new Float32Array(data), [2, 2, 2, 2]), tensor(new Float32Array(16), [2, 2, 2, 2]));
    const movingMean = values(model.getWeights()[2]);
    expectClose(movingMean, [0.1 * 3.5, 0.1 * 103.5]);
  });

  test('without center and scale, only the moving statistics are weights', async () => {
    const model = fixedModel([2], [new BatchNormalization({ center: false, scale: false })], [[1, 2], [4, 9]]);
    expectClose(values(await model.predict(tensor([[3, 8]]))), [2 / Math.sqrt(4.001), 6 / Math.sqrt(9.001)]);
  });
});
