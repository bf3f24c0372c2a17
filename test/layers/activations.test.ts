import { Dense, ELU, Layer, LeakyReLU, PReLU, ReLU, Sequential, SGD, Softmax, tensor, Tensor } from '../../lib';
import { expectClose, seededRandom, values } from '../helpers';
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

describeLayer('LeakyReLU', {
  shapes: [
    { title: "Keras 3's default slope 0.3", make: () => new LeakyReLU(), inputShape: [5], outputShape: [5], params: 0, weightShapes: [] },
    { title: "Keras 2's alpha, on images", make: () => new LeakyReLU({ alpha: 0.1 }), inputShape: [2, 2, 3], outputShape: [2, 2, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'negative slope', make: () => new LeakyReLU({ negativeSlope: -1 }), error: /LeakyReLU 'leaky_re_lu(_\d+)?': expected negativeSlope to be a number in \[0, Infinity\] but received -1/ },
    { title: 'both spellings', make: () => new LeakyReLU({ negativeSlope: 0.1, alpha: 0.1 }), error: /expected either negativeSlope or alpha \(its Keras 2 name\), not both/ },
    { title: 'alpha a string', make: () => new LeakyReLU({ alpha: '0.1' as unknown as number }), error: /expected alpha to be a number in \[0, Infinity\] but received "0\.1"/ },
  ],
});

describeLayer('ELU', {
  shapes: [
    { title: 'default alpha', make: () => new ELU(), inputShape: [5], outputShape: [5], params: 0, weightShapes: [] },
    { title: 'alpha 0.5 on images', make: () => new ELU({ alpha: 0.5 }), inputShape: [2, 2, 3], outputShape: [2, 2, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'alpha NaN', make: () => new ELU({ alpha: NaN }), error: /ELU 'elu(_\d+)?': expected alpha to be a finite number but received NaN/ }],
});

describeLayer('PReLU', {
  shapes: [
    { title: 'one alpha per element', make: () => new PReLU(), inputShape: [4, 4, 8], outputShape: [4, 4, 8], params: 128, weightShapes: [[4, 4, 8]] },
    { title: 'shared over space: one per channel', make: () => new PReLU({ sharedAxes: [1, 2] }), inputShape: [4, 4, 8], outputShape: [4, 4, 8], params: 8, weightShapes: [[1, 1, 8]] },
    { title: 'on features, initialised', make: () => new PReLU({ alphaInitializer: { name: 'constant', value: 0.25 }, sharedAxes: 1 }), inputShape: [6], outputShape: [6], params: 1, weightShapes: [[1]] },
  ],
  badOptions: [
    { title: 'sharedAxes 0', make: () => new PReLU({ sharedAxes: [0] }), error: /PReLU 'p_re_lu(_\d+)?': expected sharedAxes to be a positive integer or a list of them .* but received \[0\]/ },
    { title: 'unknown initializer', make: () => new PReLU({ alphaInitializer: 'half' as 'zeros' }), error: /expected alphaInitializer to be one of .* but received "half"/ },
  ],
  badInputs: [{ title: 'shared axis beyond the rank', make: () => new PReLU({ sharedAxes: [3], name: 'pr' }), inputShape: [4, 4], error: /PReLU 'pr': expected input of a rank with sharedAxes \[3\] \(counted from 1 after the batch axis\) but received \[\*, 4, 4\]/ }],
});

describeLayer('Softmax', {
  shapes: [
    { title: 'default: the last axis', make: () => new Softmax(), inputShape: [5], outputShape: [5], params: 0, weightShapes: [] },
    { title: 'over the height of images', make: () => new Softmax({ axis: 1 }), inputShape: [3, 4, 2], outputShape: [3, 4, 2], params: 0, weightShapes: [] },
    { title: 'over height and width', make: () => new Softmax({ axis: [1, 2] }), inputShape: [3, 4, 2], outputShape: [3, 4, 2], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'axis 0', make: () => new Softmax({ axis: 0 }), error: /Softmax 'softmax(_\d+)?': expected axis to be a non-zero integer or a list of distinct ones \(counted with the batch axis 0, negative from the end\) but received 0/ },
    { title: 'repeated axes', make: () => new Softmax({ axis: [1, 1] }), error: /expected axis to be .* but received \[1, 1\]/ },
  ],
  badInputs: [{ title: 'axis beyond the rank', make: () => new Softmax({ axis: 3, name: 'sm' }), inputShape: [4, 4], error: /Softmax 'sm': expected input of a rank with distinct axes 3 after the batch axis 0 but received \[\*, 4, 4\]/ }],
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

const IMAGE_SHAPE = [2, 2, 3, 4];
const nextValue = seededRandom(14);
const IMAGE = Array.from({ length: 48 }, () => Math.round((nextValue() * 4 - 2) * 1000) / 1000);
const PRELU_ALPHA = [0.1, -0.2, 0.3, 0.5];

const TORCH_REFERENCES = `
import json, torch
import torch.nn.functional as F
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
for name, f in {'leaky_default': lambda v: F.leaky_relu(v, 0.3), 'leaky_alpha': lambda v: F.leaky_relu(v, 0.1),
                'elu_default': F.elu, 'elu_half': lambda v: F.elu(v, 0.5)}.items():
    bias = torch.zeros(${INPUT.length}, requires_grad=True)
    y = f(x + bias)
    ((y - 0.5) ** 2).mean().backward()
    out[name] = {'y': y.tolist(), 'bias': (-0.1 * bias.grad).tolist()}
# Images [batch, height, width, channels] through an identity Dense on the channels, then the layer.
image = torch.tensor(${JSON.stringify(IMAGE)}).reshape(${IMAGE_SHAPE.join(', ')})
softmaxes = {'softmax_last': lambda v: torch.softmax(v, -1), 'softmax_height': lambda v: torch.softmax(v, 1),
             'softmax_space': lambda v: torch.exp(v - torch.logsumexp(v, (1, 2), keepdim=True))}
for name, f in softmaxes.items():
    bias = torch.zeros(${IMAGE_SHAPE[3]}, requires_grad=True)
    y = f(image + bias)
    ((y - 0.5) ** 2).mean().backward()
    out[name] = {'y': y.flatten().tolist(), 'bias': (-0.1 * bias.grad).tolist()}
bias = torch.zeros(${IMAGE_SHAPE[3]}, requires_grad=True)
alpha = torch.tensor(${JSON.stringify(PRELU_ALPHA)}).reshape(1, 1, ${IMAGE_SHAPE[3]}).requires_grad_()
v = image + bias
y = F.relu(v) - alpha * F.relu(-v)
((y - 0.5) ** 2).mean().backward()
out['prelu'] = {'y': y.flatten().tolist(), 'bias': (-0.1 * bias.grad).tolist(), 'alpha': (alpha - 0.1 * alpha.grad).flatten().tolist()}
print(json.dumps(out))
`;

describeIf(pythonHas('torch'), 'the activation layer comparisons need python3-torch (apt-get install python3-torch)')('activation layers against PyTorch', () => {
  let reference: Record<string, { y: number[]; bias: number[]; alpha?: number[] }>;
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

  const ELEMENTWISE: Record<string, () => Layer> = {
    leaky_default: () => new LeakyReLU(),
    leaky_alpha: () => new LeakyReLU({ alpha: 0.1 }),
    elu_default: () => new ELU(),
    elu_half: () => new ELU({ alpha: 0.5 }),
  };

  test.each(Object.keys(ELEMENTWISE))('%s: values and one SGD step', async (name) => {
    const size = INPUT.length;
    const identity = Array.from({ length: size }, (_, i) => Array.from({ length: size }, (_, j) => (i === j ? 1 : 0)));
    const model = fixedModel([size], [new Dense(size), ELEMENTWISE[name]()], [identity, new Array(size).fill(0)], {
      optimizer: new SGD({ learningRate: 0.1 }),
      loss: 'mse',
    });
    expectClose(values(await model.predict(tensor([INPUT]))), reference[name].y, 1e-6);
    await model.trainOnBatch(tensor([INPUT]), tensor([new Array(size).fill(0.5)]));
    expectClose(values(model.getWeights()[1]), reference[name].bias, 1e-6);
  });

  /** An identity Dense on the channels of IMAGE_SHAPE images (NCHW inside), then `layer`, trained by SGD on the mse against 0.5. */
  function imageModel(layer: Layer, extraWeights: number[][][][] = []): Sequential {
    const channels = IMAGE_SHAPE[3];
    const identity = Array.from({ length: channels }, (_, i) => Array.from({ length: channels }, (_, j) => (i === j ? 1 : 0)));
    return fixedModel(IMAGE_SHAPE.slice(1), [new Dense(channels), layer], [identity, new Array(channels).fill(0), ...extraWeights], {
      optimizer: new SGD({ learningRate: 0.1 }),
      loss: 'mse',
    });
  }
  const imageBatch = (): Tensor => tensor(new Float32Array(IMAGE), IMAGE_SHAPE);
  const halves = (): Tensor => tensor(new Float32Array(IMAGE.length).fill(0.5), IMAGE_SHAPE);

  const SOFTMAXES: Record<string, () => Layer> = {
    softmax_last: () => new Softmax(),
    softmax_height: () => new Softmax({ axis: 1 }),
    softmax_space: () => new Softmax({ axis: [-3, 2] }),
  };

  test.each(Object.keys(SOFTMAXES))('%s on images: values and one SGD step', async (name) => {
    const model = imageModel(SOFTMAXES[name]());
    expectClose(values(await model.predict(imageBatch())), reference[name].y, 1e-5);
    await model.trainOnBatch(imageBatch(), halves());
    expectClose(values(model.getWeights()[1]), reference[name].bias, 1e-5);
  });

  test('PReLU shared over space: values, and one SGD step for alpha and for what comes before', async () => {
    const model = imageModel(new PReLU({ sharedAxes: [1, 2] }), [[[PRELU_ALPHA]]]);
    expectClose(values(await model.predict(imageBatch())), reference.prelu.y, 1e-6);
    await model.trainOnBatch(imageBatch(), halves());
    const [, bias, alpha] = model.getWeights();
    expect(alpha.shape).toEqual([1, 1, 4]);
    expectClose(values(bias), reference.prelu.bias, 1e-6);
    expectClose(values(alpha), reference.prelu.alpha!, 1e-6);
  });

  test('ReLU on images (NCHW inside) is element-wise in channels-last order', async () => {
    const model = fixedModel([1, INPUT.length, 1], [new ReLU(RELU_CASES.everything)]);
    const y = values(await model.predict(tensor(new Float32Array(INPUT), [1, 1, INPUT.length, 1])));
    expectClose(y, reference.everything.y, 1e-6);
  });
});
