import { Dense, ReLU, SGD, tensor } from '../../lib';
import { expectClose, values } from '../helpers';
import { describeIf } from '../helpers/peers';
import { pythonHas, runPython } from '../helpers/python';
import { describeLayer, fixedModel } from './harness';

describeLayer('ReLU', {
  shapes: [
    { title: 'plain, on features', make: () => new ReLU(), inputShape: [5], outputShape: [5], params: 0, weightShapes: [] },
    { title: 'ReLU6 on images', make: () => new ReLU({ maxValue: 6 }), inputShape: [3, 4, 2], outputShape: [3, 4, 2], params: 0, weightShapes: [] },
    {
      title: 'every option, on a sequence',
      make: () => new ReLU({ maxValue: 4, negativeSlope: 0.2, threshold: 0.5 }),
      inputShape: [3, 4],
      outputShape: [3, 4],
      params: 0,
      weightShapes: [],
    },
  ],
  badOptions: [
    { title: 'negative maxValue', make: () => new ReLU({ maxValue: -1 }), error: /ReLU 're_lu(_\d+)?': expected maxValue to be a number in \[0, Infinity\] but received -1/ },
    { title: 'negative slope', make: () => new ReLU({ negativeSlope: -0.1 }), error: /expected negativeSlope to be a number in \[0, Infinity\] but received -0\.1/ },
    { title: 'threshold NaN', make: () => new ReLU({ threshold: NaN }), error: /expected threshold to be a number in \[0, Infinity\] but received NaN/ },
    { title: "Keras's snake_case", make: () => new ReLU({ max_value: 6 } as unknown as {}), error: /ReLU: expected options among .*maxValue.* but received "max_value"/ },
  ],
});

// Inputs away from the edges (0, the threshold, maxValue), where every definition agrees on the gradient.
const INPUT = [-7, -3, -1.5, -0.5, -0.1, 0.25, 0.7, 1.3, 3, 4.5, 7];

// Keras's activations.relu (keras/src/layers/activations/relu.py and ops/nn.py), written in PyTorch; autograd
// gives the gradient. An identity Dense before the layer takes one SGD step (learning rate 0.1) on the mean
// squared error against 0.5, so its bias moves by -0.1 * f'(x) * dLoss/dy.
const RELU_CASES: Record<string, { maxValue?: number; negativeSlope?: number; threshold?: number }> = {
  plain: {},
  relu6: { maxValue: 6 },
  maxValue: { maxValue: 2.5 },
  leaky: { negativeSlope: 0.1 },
  threshold: { threshold: 1 },
  everything: { maxValue: 4, negativeSlope: 0.2, threshold: 0.5 },
};

const TORCH_REFERENCES = `
import json, torch
x = torch.tensor([${INPUT.join(', ')}])
cases = json.loads('${JSON.stringify(RELU_CASES)}')
def keras_relu(v, maxValue=None, negativeSlope=0.0, threshold=0.0):
    negative = torch.relu(threshold - v)
    y = torch.where(v > threshold, v, torch.zeros_like(v))
    if maxValue is not None:
        y = torch.clamp(y, 0, maxValue)
    return y - negativeSlope * negative
out = {}
for name, options in cases.items():
    bias = torch.zeros(${INPUT.length}, requires_grad=True)
    y = keras_relu(x + bias, **options)
    ((y - 0.5) ** 2).mean().backward()
    out[name] = {'y': y.tolist(), 'bias': (-0.1 * bias.grad).tolist()}
print(json.dumps(out))
`;

describeIf(pythonHas('torch'), 'the ReLU comparisons need python3-torch (apt-get install python3-torch)')('activation layers against PyTorch', () => {
  let reference: Record<string, { y: number[]; bias: number[] }>;
  beforeAll(() => {
    reference = JSON.parse(runPython(TORCH_REFERENCES));
  });

  test.each(Object.keys(RELU_CASES))('ReLU %s: values and one SGD step', async (name) => {
    const size = INPUT.length;
    const identity = Array.from({ length: size }, (_, i) => Array.from({ length: size }, (_, j) => (i === j ? 1 : 0)));
    const model = fixedModel([size], [new Dense(size), new ReLU(RELU_CASES[name])], [identity, new Array(size).fill(0)], {
      optimizer: new SGD({ learningRate: 0.1 }),
      loss: 'mse',
    });
    expectClose(values(await model.predict(tensor([INPUT]))), reference[name].y, 1e-6);
    await model.trainOnBatch(tensor([INPUT]), tensor([new Array(size).fill(0.5)]));
    expectClose(values(model.getWeights()[1]), reference[name].bias, 1e-6);
  });

  test('ReLU on images (NCHW inside) is element-wise in channels-last order', async () => {
    const model = fixedModel([1, INPUT.length, 1], [new ReLU(RELU_CASES.everything)]);
    const y = values(await model.predict(tensor(new Float32Array(INPUT), [1, 1, INPUT.length, 1])));
    expectClose(y, reference.everything.y, 1e-6);
  });
});
