import { Activation, ACTIVATIONS, Dense, SGD, tensor } from '../lib';
import { expectClose, values } from './helpers';
import { describeIf } from './helpers/peers';
import { pythonHas, runPython } from './helpers/python';
import { fixedModel } from './layers/harness';

/** erf to 1.5e-7 (Abramowitz and Stegun 7.1.26). */
function erf(x: number): number {
  const sign = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return sign * y;
}
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** Keras's definitions (keras.activations), element-wise. */
const REFERENCES: Record<string, (x: number) => number> = {
  relu: (x) => Math.max(x, 0),
  sigmoid,
  tanh: Math.tanh,
  linear: (x) => x,
  elu: (x) => (x > 0 ? x : Math.exp(x) - 1),
  selu: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * (Math.exp(x) - 1)),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  leaky_relu: (x) => (x > 0 ? x : 0.2 * x),
  softplus: (x) => Math.log(1 + Math.exp(x)),
  softsign: (x) => x / (1 + Math.abs(x)),
  swish: (x) => x * sigmoid(x),
  silu: (x) => x * sigmoid(x),
  exponential: Math.exp,
  relu6: (x) => Math.min(Math.max(x, 0), 6),
};

const INPUT = [-7, -3, -1, -0.5, 0, 0.25, 1, 3, 7];

describe('activations', () => {
  test('every listed activation has a reference here (softmax is checked on its own)', () => {
    expect([...ACTIVATIONS].sort()).toEqual([...Object.keys(REFERENCES), 'softmax'].sort());
  });

  test.each(Object.keys(REFERENCES))('%s matches Keras\'s formula', async (name) => {
    const model = fixedModel([INPUT.length], [new Activation(name as 'relu')]);
    const y = values(await model.predict(tensor([INPUT])));
    expectClose(y, INPUT.map(REFERENCES[name]), 1e-5);
  });

  test.each(Object.keys(REFERENCES))('%s works on images too', async (name) => {
    const model = fixedModel([1, 3, 3], [new Activation(name as 'relu')]);
    const y = values(await model.predict(tensor(new Float32Array(INPUT), [1, 1, 3, 3])));
    expectClose(y, INPUT.map(REFERENCES[name]), 1e-5);
  });

  test('softmax normalises over the last axis of features', async () => {
    const model = fixedModel([3], [new Activation('softmax')]);
    const rows = [[1, 2, 3], [-1, 0, 1000]];
    const y = values(await model.predict(tensor(rows)));
    const expected = rows.flatMap((row) => {
      const max = Math.max(...row);
      const exps = row.map((v) => Math.exp(v - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      return exps.map((e) => e / sum);
    });
    expectClose(y, expected, 1e-6);
  });

  test('softmax on images normalises over channels (channels-last)', async () => {
    const model = fixedModel([1, 2, 2], [new Activation('softmax')]);
    // pixel 0: channels [0, ln 3], pixel 1: channels [1, 1]
    const y = values(await model.predict(tensor(new Float32Array([0, Math.log(3), 1, 1]), [1, 1, 2, 2])));
    expectClose(y, [0.25, 0.75, 0.5, 0.5]);
  });

  test("a layer's activation option uses the same functions", async () => {
    const model = fixedModel([1], [new Dense(1, { activation: 'elu', useBias: false })], [[[1]]]);
    expectClose(values(await model.predict(tensor([[-2], [2]]))), [Math.exp(-2) - 1, 2]);
  });

  test('null and undefined mean linear; bad names list the valid ones', () => {
    expect(new Dense(1, { activation: null }).activation).toBe('linear');
    expect(new Dense(1).activation).toBe('linear');
    expect(() => new Dense(1, { activation: 3 as unknown as 'relu' })).toThrow(
      new RegExp(`expected activation to be one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')} but received 3`),
    );
  });
});

// PyTorch's autograd through each activation: an identity Dense before it takes one SGD step on the mean
// squared error, so its bias moves by -lr * activation'(x) * dLoss/dy, element by element.
const TORCH_GRADIENTS = `
import json, torch
import torch.nn.functional as F
x = torch.tensor([${INPUT.join(', ')}])
functions = {
  'relu': F.relu, 'sigmoid': torch.sigmoid, 'tanh': torch.tanh, 'linear': lambda v: v, 'elu': F.elu, 'selu': F.selu,
  'gelu': F.gelu, 'leaky_relu': lambda v: F.leaky_relu(v, 0.2), 'softplus': F.softplus, 'softsign': F.softsign,
  'swish': F.silu, 'silu': F.silu, 'exponential': torch.exp, 'relu6': F.relu6, 'softmax': lambda v: torch.softmax(v, -1),
}
out = {}
for name, f in functions.items():
    bias = torch.zeros(${INPUT.length}, requires_grad=True)
    loss = ((f(x + bias) - 0.5) ** 2).mean()
    loss.backward()
    out[name] = (-0.1 * bias.grad).tolist()
print(json.dumps(out))
`;

describeIf(pythonHas('torch'), 'the activation gradient comparisons need python3-torch (apt-get install python3-torch)')('activation gradients', () => {
  let reference: Record<string, number[]>;
  beforeAll(() => {
    reference = JSON.parse(runPython(TORCH_GRADIENTS));
  });

  test.each([...ACTIVATIONS])("%s: one training step moves the weights as PyTorch's gradient says", async (name) => {
    const size = INPUT.length;
    const identity = Array.from({ length: size }, (_, i) => Array.from({ length: size }, (_, j) => (i === j ? 1 : 0)));
    const model = fixedModel([size], [new Dense(size), new Activation(name)], [identity, new Array(size).fill(0)], {
      optimizer: new SGD({ learningRate: 0.1 }),
      loss: 'mse',
    });
    await model.trainOnBatch(tensor([INPUT]), tensor([new Array(size).fill(0.5)]));
    expectClose(values(model.getWeights()[1]), reference[name], 1e-6);
  });
});
