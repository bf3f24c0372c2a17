import { BatchNormalization, Dense, Layer, LayerNormalization, SGD, tensor } from '../../lib';
import { expectClose, seededRandom, values } from '../helpers';
import { describeIf } from '../helpers/peers';
import { pythonHas, runPython } from '../helpers/python';
import { describeLayer, fixedModel } from './harness';

describeLayer('BatchNormalization', {
  shapes: [
    { title: 'on feature maps', make: () => new BatchNormalization(), inputShape: [4, 4, 8], outputShape: [4, 4, 8], params: 32, weightShapes: [[8], [8], [8], [8]] },
    { title: 'on features', make: () => new BatchNormalization({ momentum: 0.9, epsilon: 1e-5 }), inputShape: [10], outputShape: [10], params: 40, weightShapes: [[10], [10], [10], [10]] },
    { title: 'without center and scale', make: () => new BatchNormalization({ center: false, scale: false }), inputShape: [3, 3, 5], outputShape: [3, 3, 5], params: 10, weightShapes: [[5], [5]] },
    { title: 'on sequences', make: () => new BatchNormalization(), inputShape: [6, 3], outputShape: [6, 3], params: 12, weightShapes: [[3], [3], [3], [3]] },
    { title: 'axis 1 of images: per row', make: () => new BatchNormalization({ axis: 1 }), inputShape: [5, 3, 2], outputShape: [5, 3, 2], params: 20, weightShapes: [[5], [5], [5], [5]] },
    { title: 'axis -2 of images, scale only', make: () => new BatchNormalization({ axis: -2, center: false }), inputShape: [5, 3, 2], outputShape: [5, 3, 2], params: 9, weightShapes: [[3], [3], [3]] },
  ],
  badOptions: [
    { title: 'momentum 1.5', make: () => new BatchNormalization({ momentum: 1.5 }), error: /BatchNormalization 'batch_normalization(_\d+)?': expected momentum to be a number in \[0, 1\] but received 1\.5/ },
    { title: 'epsilon 0', make: () => new BatchNormalization({ epsilon: 0 }), error: /expected epsilon to be a number in \(0, Infinity\] but received 0/ },
    { title: 'axis 0 (the batch)', make: () => new BatchNormalization({ axis: 0 }), error: /expected axis to be a non-zero integer \(counted with the batch axis 0, negative from the end\) but received 0/ },
    { title: 'several axes', make: () => new BatchNormalization({ axis: [1, 2] as unknown as number }), error: /expected axis to be a non-zero integer .* but received \[1, 2\]/ },
  ],
  badInputs: [{ title: 'axis beyond the rank', make: () => new BatchNormalization({ axis: 3, name: 'bn_axis' }), inputShape: [3, 4], error: /BatchNormalization 'bn_axis': expected input of a rank with distinct axes 3 after the batch axis 0 but received \[\*, 3, 4\]/ }],
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

describeLayer('LayerNormalization', {
  shapes: [
    { title: 'on features', make: () => new LayerNormalization(), inputShape: [6], outputShape: [6], params: 12, weightShapes: [[6], [6]] },
    { title: 'on the channels of images', make: () => new LayerNormalization({ epsilon: 1e-5 }), inputShape: [4, 4, 3], outputShape: [4, 4, 3], params: 6, weightShapes: [[3], [3]] },
    { title: 'over whole images', make: () => new LayerNormalization({ axis: [1, 2, 3] }), inputShape: [2, 3, 4], outputShape: [2, 3, 4], params: 48, weightShapes: [[2, 3, 4], [2, 3, 4]] },
    { title: 'over a sequence, axes given from the end', make: () => new LayerNormalization({ axis: [-1, -2] }), inputShape: [5, 3], outputShape: [5, 3], params: 30, weightShapes: [[5, 3], [5, 3]] },
    { title: 'scale only', make: () => new LayerNormalization({ center: false }), inputShape: [4], outputShape: [4], params: 4, weightShapes: [[4]] },
    { title: 'neither, initialisers given', make: () => new LayerNormalization({ center: false, scale: false, gammaInitializer: 'zeros', betaInitializer: 'ones' }), inputShape: [4], outputShape: [4], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'epsilon 0', make: () => new LayerNormalization({ epsilon: 0 }), error: /LayerNormalization 'layer_normalization(_\d+)?': expected epsilon to be a number in \(0, Infinity\] but received 0/ },
    { title: 'axis a string', make: () => new LayerNormalization({ axis: 'channels' as unknown as number }), error: /expected axis to be a non-zero integer or a list of distinct ones .* but received "channels"/ },
    { title: 'center a number', make: () => new LayerNormalization({ center: 1 as unknown as boolean }), error: /expected center to be a boolean but received 1/ },
    { title: "Keras's rmsScaling", make: () => new LayerNormalization({ rmsScaling: true } as never), error: /LayerNormalization: expected options among .* but received "rmsScaling"/ },
  ],
  badInputs: [{ title: 'axes that repeat once canonical', make: () => new LayerNormalization({ axis: [2, -1], name: 'ln' }), inputShape: [3, 4], error: /LayerNormalization 'ln': expected input of a rank with distinct axes \[2,-1\] after the batch axis 0 but received \[\*, 3, 4\]/ }],
});

// Inputs of shape [batch 2, 2, 3, 4] (images) or [batch 2, 3, 4] (sequences); the layer follows an identity
// Dense on the last axis, and one SGD step (learning rate 0.1) on the mse against 0.5 moves every weight.
const IMAGE_SHAPE = [2, 2, 3, 4];
const nextValue = seededRandom(27);
const DATA = Array.from({ length: 48 }, () => Math.round((nextValue() * 6 - 2) * 1000) / 1000);

interface NormCase {
  make: () => Layer;
  /** The input's shape with the batch axis. */
  shape: number[];
  /** Keras's axes, counted with the batch axis. */
  axes: number[];
  /** gamma and beta to start from (Keras's shape, flattened). */
  gamma: number[];
  beta: number[];
}

const gammaOf = (n: number): number[] => Array.from({ length: n }, (_, i) => 0.5 + 0.25 * i);
const betaOf = (n: number): number[] => Array.from({ length: n }, (_, i) => 0.1 * i - 0.2);

const LAYER_NORMS: Record<string, NormCase> = {
  image_channels: { make: () => new LayerNormalization(), shape: IMAGE_SHAPE, axes: [3], gamma: gammaOf(4), beta: betaOf(4) },
  image_whole: { make: () => new LayerNormalization({ axis: [1, 2, 3], epsilon: 0.01 }), shape: IMAGE_SHAPE, axes: [1, 2, 3], gamma: gammaOf(24), beta: betaOf(24) },
  image_space: { make: () => new LayerNormalization({ axis: [2, 1] }), shape: IMAGE_SHAPE, axes: [1, 2], gamma: gammaOf(6), beta: betaOf(6) },
  sequence_last: { make: () => new LayerNormalization(), shape: [2, 6, 4], axes: [2], gamma: gammaOf(4), beta: betaOf(4) },
  sequence_both: { make: () => new LayerNormalization({ axis: [-2, -1] }), shape: [2, 6, 4], axes: [1, 2], gamma: gammaOf(24), beta: betaOf(24) },
};

const BATCH_NORMS: Record<string, NormCase> = {
  image_rows: { make: () => new BatchNormalization({ axis: 1 }), shape: IMAGE_SHAPE, axes: [1], gamma: gammaOf(2), beta: betaOf(2) },
  image_columns: { make: () => new BatchNormalization({ axis: -2, momentum: 0.9 }), shape: IMAGE_SHAPE, axes: [2], gamma: gammaOf(3), beta: betaOf(3) },
  sequence_features: { make: () => new BatchNormalization(), shape: [2, 6, 4], axes: [2], gamma: gammaOf(4), beta: betaOf(4) },
  sequence_steps: { make: () => new BatchNormalization({ axis: 1, epsilon: 0.01 }), shape: [2, 6, 4], axes: [1], gamma: gammaOf(6), beta: betaOf(6) },
};

const TORCH_NORMS = `
import json, sys, torch
import torch.nn.functional as F
data = torch.tensor(${JSON.stringify(DATA)})
def step(case, forward):
    x = data.reshape(case['shape'])
    bias = torch.zeros(x.shape[-1], requires_grad=True)
    gamma = torch.tensor(case['gamma']).requires_grad_()
    beta = torch.tensor(case['beta']).requires_grad_()
    y, extra = forward(x + bias, gamma, beta, case)
    ((y - 0.5) ** 2).mean().backward()
    result = {'y': y.flatten().tolist(), 'bias': (-0.1 * bias.grad).tolist(),
              'gamma': (gamma - 0.1 * gamma.grad).tolist(), 'beta': (beta - 0.1 * beta.grad).tolist()}
    result.update(extra)
    return result
def broadcast(weight, case):
    shape = [1] * len(case['shape'])
    for a in case['axes']:
        shape[a] = case['shape'][a]
    return weight.reshape(shape)
def layer_norm(v, gamma, beta, case):
    variance, mean = torch.var_mean(v, case['axes'], unbiased=False, keepdim=True)
    return (v - mean) / torch.sqrt(variance + case['epsilon']) * broadcast(gamma, case) + broadcast(beta, case), {}
def batch_norm(v, gamma, beta, case):
    axis = case['axes'][0]
    mean = torch.zeros(case['shape'][axis])
    var = torch.ones(case['shape'][axis])
    moved = v.movedim(axis, 1)
    y = F.batch_norm(moved, mean, var, gamma, beta, training=True, momentum=1 - case['momentum'], eps=case['epsilon']).movedim(1, axis)
    return y, {'moving_mean': mean.tolist(), 'moving_variance': var.tolist()}
cases = json.loads(sys.argv[1])
out = {}
for name, case in cases['layer'].items():
    out[name] = step(case, layer_norm)
for name, case in cases['batch'].items():
    out[name] = step(case, batch_norm)
print(json.dumps(out))
`;

/** The options of the case's layer that the reference needs. */
function referenceCase(c: NormCase): Record<string, unknown> {
  const layer = c.make() as LayerNormalization | BatchNormalization;
  return { shape: c.shape, axes: c.axes, gamma: c.gamma, beta: c.beta, epsilon: layer.epsilon, momentum: (layer as BatchNormalization).momentum ?? 0 };
}

describeIf(pythonHas('torch'), 'the normalization comparisons need python3-torch (apt-get install python3-torch)')('normalization layers against PyTorch', () => {
  let reference: Record<string, Record<string, number[]>>;
  beforeAll(() => {
    const cases = {
      layer: Object.fromEntries(Object.entries(LAYER_NORMS).map(([name, c]) => [name, referenceCase(c)])),
      batch: Object.fromEntries(Object.entries(BATCH_NORMS).map(([name, c]) => [name, referenceCase(c)])),
    };
    reference = JSON.parse(runPython(TORCH_NORMS, [JSON.stringify(cases)]));
  });

  function modelFor(c: NormCase, extra: number[][] = []): ReturnType<typeof fixedModel> {
    const features = c.shape[c.shape.length - 1];
    const identity = Array.from({ length: features }, (_, i) => Array.from({ length: features }, (_, j) => (i === j ? 1 : 0)));
    const paramShape = c.axes.map((a) => c.shape[a]);
    return fixedModel(c.shape.slice(1), [new Dense(features), c.make()], [identity, new Array(features).fill(0), tensor(new Float32Array(c.gamma), paramShape), tensor(new Float32Array(c.beta), paramShape), ...extra], {
      optimizer: new SGD({ learningRate: 0.1 }),
      loss: 'mse',
    });
  }
  const x = (c: NormCase) => tensor(new Float32Array(DATA.slice(0, c.shape.reduce((a, b) => a * b, 1))), c.shape);
  const halves = (c: NormCase) => tensor(new Float32Array(c.shape.reduce((a, b) => a * b, 1)).fill(0.5), c.shape);

  test.each(Object.keys(LAYER_NORMS))('LayerNormalization %s: values and one SGD step for gamma, beta and the input', async (name) => {
    const c = LAYER_NORMS[name];
    const model = modelFor(c);
    expectClose(values(await model.predict(x(c))), reference[name].y, 1e-5);
    await model.trainOnBatch(x(c), halves(c));
    const [, bias, gamma, beta] = model.getWeights().map(values);
    expectClose(bias, reference[name].bias, 1e-5);
    expectClose(gamma, reference[name].gamma, 1e-5);
    expectClose(beta, reference[name].beta, 1e-5);
  });

  test.each(Object.keys(BATCH_NORMS))('BatchNormalization %s: one training step (batch statistics, gradients, moving statistics), then inference', async (name) => {
    const c = BATCH_NORMS[name];
    const size = c.gamma.length;
    const model = modelFor(c, [new Array(size).fill(0), new Array(size).fill(1)]);
    await model.trainOnBatch(x(c), halves(c));
    const [, bias, gamma, beta, movingMean, movingVariance] = model.getWeights().map(values);
    expectClose(bias, reference[name].bias, 1e-5);
    expectClose(gamma, reference[name].gamma, 1e-5);
    expectClose(beta, reference[name].beta, 1e-5);
    expectClose(movingMean, reference[name].moving_mean, 1e-5);
    expectClose(movingVariance, reference[name].moving_variance, 1e-5);
    // Inference normalises by the moving statistics along the same axis: Keras's formula written out.
    const axis = c.axes[0];
    const strides = c.shape.map((_, i) => c.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const weights = model.getWeights().map(values);
    const input = DATA.slice(0, c.shape.reduce((a, b) => a * b, 1));
    const features = c.shape[c.shape.length - 1];
    const [kernel, denseBias] = weights;
    const expected = input.map((_, i) => {
      const channel = i % features;
      let dense = denseBias[channel];
      for (let j = 0; j < features; j++) dense += input[i - channel + j] * kernel[j * features + channel];
      const k = Math.floor(i / strides[axis]) % c.shape[axis];
      return ((dense - movingMean[k]) / Math.sqrt(movingVariance[k] + (c.make() as BatchNormalization).epsilon)) * gamma[k] + beta[k];
    });
    expectClose(values(await model.predict(x(c))), expected, 1e-4);
  });
});
