/** Conv2D with groups, Conv2DTranspose and Conv1D: the harness, and padding/stride/dilation tables against PyTorch. */
import { Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D } from '../../lib';
import { values } from '../helpers';
import { describeLayer, fixedModel } from './harness';
import { describeAgainstTorch } from './torch-reference';

describeLayer('Conv2D with groups', {
  shapes: [
    {
      title: '2 groups',
      make: () => new Conv2D(6, 3, { groups: 2 }),
      inputShape: [5, 5, 4],
      outputShape: [3, 3, 6],
      params: 114,
      weightShapes: [[3, 3, 2, 6], [6]],
    },
    {
      title: "one group per channel, 'same' stride 2",
      make: () => new Conv2D({ filters: 3, kernelSize: 3, groups: 3, padding: 'same', strides: 2, useBias: false }),
      inputShape: [6, 5, 3],
      outputShape: [3, 3, 3],
      params: 27,
      weightShapes: [[3, 3, 1, 3]],
    },
  ],
  badOptions: [
    { title: 'filters not divisible by groups', make: () => new Conv2D(5, 3, { groups: 2 }), error: /Conv2D 'conv2d(_\d+)?': expected filters divisible by groups \(2\) but received 5/ },
    { title: 'groups 0', make: () => new Conv2D(4, 3, { groups: 0 }), error: /expected groups to be a positive integer but received 0/ },
  ],
  badInputs: [
    {
      title: 'channels not divisible by groups',
      make: () => new Conv2D(4, 1, { groups: 2, name: 'grouped' }),
      inputShape: [3, 3, 3],
      error: /Conv2D 'grouped': expected input of channels divisible by groups \(2\) but received \[\*, 3, 3, 3\]/,
    },
  ],
});

const WINDOW = { strides: [1, 1], dilationRate: [1, 1], padding: 'valid' };

describeAgainstTorch('Conv2D padding, strides, dilation and groups against PyTorch', [
  { title: 'valid, stride 1, odd input', make: () => new Conv2D(2, 3), inputShape: [5, 5, 2], op: 'conv2d', options: WINDOW },
  { title: 'valid, stride 2, even input', make: () => new Conv2D(2, 3, { strides: 2 }), inputShape: [6, 6, 2], op: 'conv2d', options: { ...WINDOW, strides: [2, 2] } },
  {
    title: "'same', stride 2, even input, 2 groups",
    make: () => new Conv2D(4, 3, { strides: 2, padding: 'same', groups: 2 }),
    inputShape: [6, 4, 4],
    op: 'conv2d',
    options: { ...WINDOW, strides: [2, 2], padding: 'same', groups: 2 },
    train: true,
  },
  {
    title: "'same', stride 2, odd input",
    make: () => new Conv2D(3, [3, 2], { strides: 2, padding: 'same' }),
    inputShape: [7, 5, 2],
    op: 'conv2d',
    options: { ...WINDOW, strides: [2, 2], padding: 'same' },
  },
  {
    title: "dilation 2, 'same', even input",
    make: () => new Conv2D(2, 3, { dilationRate: 2, padding: 'same' }),
    inputShape: [6, 5, 2],
    op: 'conv2d',
    options: { ...WINDOW, dilationRate: [2, 2], padding: 'same' },
  },
]);

describeLayer('Conv2DTranspose', {
  shapes: [
    {
      title: 'valid, stride 1',
      make: () => new Conv2DTranspose(4, 3),
      inputShape: [5, 5, 2],
      outputShape: [7, 7, 4],
      params: 76,
      weightShapes: [[3, 3, 4, 2], [4]],
    },
    {
      title: "'same', stride 2 doubles the size",
      make: () => new Conv2DTranspose(2, 3, { strides: 2, padding: 'same' }),
      inputShape: [4, 3, 3],
      outputShape: [8, 6, 2],
      params: 56,
      weightShapes: [[3, 3, 2, 3], [2]],
    },
    {
      title: 'valid, stride 3 over a 2x2 kernel (cells no input reaches)',
      make: () => new Conv2DTranspose({ filters: 1, kernelSize: 2, strides: 3, useBias: false }),
      inputShape: [3, 3, 1],
      outputShape: [9, 9, 1],
      params: 4,
      weightShapes: [[2, 2, 1, 1]],
    },
    {
      title: 'valid, stride 2, outputPadding 1',
      make: () => new Conv2DTranspose(2, 3, { strides: 2, outputPadding: 1 }),
      inputShape: [3, 4, 1],
      outputShape: [8, 10, 2],
      params: 20,
      weightShapes: [[3, 3, 2, 1], [2]],
    },
  ],
  badOptions: [
    {
      title: 'outputPadding not below strides',
      make: () => new Conv2DTranspose(2, 3, { strides: 2, outputPadding: [1, 2] }),
      error: /Conv2DTranspose 'conv2d_transpose(_\d+)?': expected outputPadding less than strides \(2, 2\), as Keras requires but received \[1, 2\]/,
    },
    { title: 'outputPadding -1', make: () => new Conv2DTranspose(2, 3, { outputPadding: -1 }), error: /expected outputPadding to be a non-negative integer but received -1/ },
    { title: 'filters missing', make: () => new Conv2DTranspose({ kernelSize: 3 }), error: /expected filters to be a positive integer but received undefined/ },
  ],
  badInputs: [
    { title: 'rank 2', make: () => new Conv2DTranspose(2, 3, { name: 'up_conv' }), inputShape: [4, 4], error: /Conv2DTranspose 'up_conv': expected input of rank 3 .* but received \[\*, 4, 4\]/ },
    {
      title: "an empty output ('same', even kernel, outputPadding 0, one row)",
      make: () => new Conv2DTranspose(2, 2, { padding: 'same', outputPadding: 0, name: 'up_empty' }),
      inputShape: [1, 3, 1],
      error: /Conv2DTranspose 'up_empty': expected input of a size giving a non-empty output \(this one gives 0x2\) but received \[\*, 1, 3, 1\]/,
    },
  ],
});

describeAgainstTorch('Conv2DTranspose against the gradient of a convolution (TensorFlow\'s definition), in PyTorch', [
  { title: 'valid, stride 1', make: () => new Conv2DTranspose(2, 3), inputShape: [3, 4, 2], op: 'conv2d_transpose', options: WINDOW, train: true },
  {
    title: "'same', stride 2, even input",
    make: () => new Conv2DTranspose(3, 3, { strides: 2, padding: 'same' }),
    inputShape: [2, 4, 2],
    op: 'conv2d_transpose',
    options: { ...WINDOW, strides: [2, 2], padding: 'same' },
    train: true,
  },
  {
    title: "'same', stride 2, even kernel, odd input",
    make: () => new Conv2DTranspose(2, [4, 2], { strides: 2, padding: 'same' }),
    inputShape: [3, 3, 1],
    op: 'conv2d_transpose',
    options: { ...WINDOW, strides: [2, 2], padding: 'same' },
  },
  {
    title: 'valid, stride 3 over a 2x2 kernel: the bias alone where no input reaches',
    make: () => new Conv2DTranspose(2, 2, { strides: 3 }),
    inputShape: [2, 3, 2],
    op: 'conv2d_transpose',
    options: { ...WINDOW, strides: [3, 3] },
    train: true,
  },
  {
    title: "'same', stride 2, outputPadding 0",
    make: () => new Conv2DTranspose(2, 3, { strides: 2, padding: 'same', outputPadding: 0 }),
    inputShape: [3, 2, 2],
    op: 'conv2d_transpose',
    options: { ...WINDOW, strides: [2, 2], padding: 'same', outputPadding: [0, 0] },
  },
  {
    title: 'valid, strides [2, 3], outputPadding [1, 2], relu',
    make: () => new Conv2DTranspose(2, 3, { strides: [2, 3], outputPadding: [1, 2], activation: 'relu' }),
    inputShape: [2, 3, 1],
    op: 'conv2d_transpose',
    options: { ...WINDOW, strides: [2, 3], outputPadding: [1, 2], activation: 'relu' },
  },
  {
    title: "dilation 2, 'same'",
    make: () => new Conv2DTranspose(2, 3, { dilationRate: 2, padding: 'same' }),
    inputShape: [4, 3, 2],
    op: 'conv2d_transpose',
    options: { ...WINDOW, dilationRate: [2, 2], padding: 'same' },
  },
]);

describeLayer('Conv1D', {
  shapes: [
    { title: 'valid', make: () => new Conv1D(8, 3), inputShape: [10, 4], outputShape: [8, 8], params: 104, weightShapes: [[3, 4, 8], [8]] },
    {
      title: 'causal, dilation 2 keeps the length',
      make: () => new Conv1D(2, 3, { padding: 'causal', dilationRate: 2 }),
      inputShape: [10, 1],
      outputShape: [10, 2],
      params: 8,
      weightShapes: [[3, 1, 2], [2]],
    },
    { title: "'same', stride 2, odd length", make: () => new Conv1D({ filters: 3, kernelSize: [4], strides: 2, padding: 'same' }), inputShape: [9, 2], outputShape: [5, 3], params: 27, weightShapes: [[4, 2, 3], [3]] },
    { title: '2 groups', make: () => new Conv1D(6, 3, { groups: 2, useBias: false }), inputShape: [5, 4], outputShape: [3, 6], params: 36, weightShapes: [[3, 2, 6]] },
  ],
  badOptions: [
    { title: "padding 'full'", make: () => new Conv1D(2, 3, { padding: 'full' as 'same' }), error: /Conv1D 'conv1d(_\d+)?': expected padding to be one of 'valid', 'same', 'causal' but received "full"/ },
    { title: 'kernelSize pair', make: () => new Conv1D(2, [3, 3] as unknown as number), error: /expected kernelSize to be a positive integer \(or an array of one\) but received \[3, 3\]/ },
    { title: 'strides with dilation', make: () => new Conv1D(2, 3, { strides: 2, dilationRate: 2 }), error: /expected strides of 1 when dilationRate is above 1/ },
  ],
  badInputs: [
    { title: 'rank 3 (an image)', make: () => new Conv1D(2, 3, { name: 'seq' }), inputShape: [4, 4, 1], error: /Conv1D 'seq': expected input of rank 2 \(\[steps, channels\]\) but received \[\*, 4, 4, 1\]/ },
    { title: 'shorter than the kernel', make: () => new Conv1D(2, 3, { name: 'seq_short' }), inputShape: [2, 1], error: /Conv1D 'seq_short': expected input of at least the kernel's extent 3 in steps but received \[\*, 2, 1\]/ },
    { title: 'channels not divisible by groups', make: () => new Conv1D(2, 1, { groups: 2, name: 'seq_groups' }), inputShape: [4, 3], error: /expected input of channels divisible by groups \(2\) but received \[\*, 4, 3\]/ },
  ],
});

const STEPS = { strides: 1, dilationRate: 1, padding: 'valid' };

describeAgainstTorch('Conv1D against PyTorch', [
  { title: 'valid, stride 1', make: () => new Conv1D(3, 3), inputShape: [6, 2], op: 'conv1d', options: STEPS, train: true },
  { title: "'same', stride 2, even length", make: () => new Conv1D(2, 3, { strides: 2, padding: 'same' }), inputShape: [8, 3], op: 'conv1d', options: { ...STEPS, strides: 2, padding: 'same' } },
  { title: "'same', stride 2, odd length, even kernel", make: () => new Conv1D(2, 4, { strides: 2, padding: 'same' }), inputShape: [7, 1], op: 'conv1d', options: { ...STEPS, strides: 2, padding: 'same' } },
  {
    title: 'causal, dilation 2',
    make: () => new Conv1D(2, 3, { padding: 'causal', dilationRate: 2 }),
    inputShape: [7, 2],
    op: 'conv1d',
    options: { ...STEPS, dilationRate: 2, padding: 'causal' },
    train: true,
  },
  {
    title: '2 groups, softmax over the channels',
    make: () => new Conv1D(4, 2, { groups: 2, activation: 'softmax' }),
    inputShape: [5, 4],
    op: 'conv1d',
    options: { ...STEPS, groups: 2, activation: 'softmax' },
    train: true,
  },
]);

describe("initializers draw with Keras's fans of each kernel's Keras shape", () => {
  // he_uniform's limit is sqrt(6 / fanIn), with fanIn = (product of all axes but the last two) * the
  // second-to-last axis of the Keras kernel shape. Enough draws come close to the limit.
  test.each([
    ['DepthwiseConv2D [3, 3, 32, 1]: fanIn 288', () => new DepthwiseConv2D(3, { depthwiseInitializer: 'he_uniform' }), [4, 4, 32], 288, 0],
    ['Conv2D with 4 groups [3, 3, 2, 32]: fanIn 18', () => new Conv2D(32, 3, { groups: 4, kernelInitializer: 'he_uniform' }), [4, 4, 8], 18, 0],
    ['Conv2DTranspose [3, 3, 32, 16]: fanIn 288', () => new Conv2DTranspose(32, 3, { kernelInitializer: 'he_uniform' }), [4, 4, 16], 288, 0],
    ['Conv1D [3, 4, 64]: fanIn 12', () => new Conv1D(64, 3, { kernelInitializer: 'he_uniform' }), [5, 4], 12, 0],
    ['SeparableConv2D pointwise [1, 1, 6, 64]: fanIn 6', () => new SeparableConv2D(64, 3, { depthMultiplier: 2, pointwiseInitializer: 'he_uniform' }), [4, 4, 3], 6, 1],
  ] as const)('%s', (_title, make, inputShape, fanIn, weightIndex) => {
    const kernel = values(fixedModel([...inputShape], [make()]).getWeights()[weightIndex]);
    const limit = Math.sqrt(6 / fanIn);
    const largest = Math.max(...kernel.map(Math.abs));
    expect(largest).toBeLessThanOrEqual(limit);
    expect(largest).toBeGreaterThan(0.9 * limit);
  });
});
