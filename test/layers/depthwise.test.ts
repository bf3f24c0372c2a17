import { DepthwiseConv2D, SeparableConv2D } from '../../lib';
import { describeLayer } from './harness';
import { describeAgainstTorch } from './torch-reference';

describeLayer('DepthwiseConv2D', {
  shapes: [
    {
      title: '3x3, multiplier 1',
      make: () => new DepthwiseConv2D(3),
      inputShape: [8, 8, 4],
      outputShape: [6, 6, 4],
      params: 40,
      weightShapes: [[3, 3, 4, 1], [4]],
    },
    {
      title: "multiplier 2, 'same', stride 2, even input",
      make: () => new DepthwiseConv2D(3, { depthMultiplier: 2, strides: 2, padding: 'same' }),
      inputShape: [8, 6, 3],
      outputShape: [4, 3, 6],
      params: 60,
      weightShapes: [[3, 3, 3, 2], [6]],
    },
    {
      title: 'rectangular dilated kernel without bias (MobileNet has none)',
      make: () => new DepthwiseConv2D({ kernelSize: [2, 3], dilationRate: 2, useBias: false }),
      inputShape: [7, 7, 2],
      outputShape: [5, 3, 2],
      params: 12,
      weightShapes: [[2, 3, 2, 1]],
    },
    {
      title: "relu6, MobileNetV2's first depthwise convolution (Keras: 288 parameters at any image size)",
      make: () => new DepthwiseConv2D(3, { padding: 'same', useBias: false, activation: 'relu6' }),
      inputShape: [6, 6, 32],
      outputShape: [6, 6, 32],
      params: 288,
      weightShapes: [[3, 3, 32, 1]],
    },
  ],
  badOptions: [
    {
      title: 'depthMultiplier 0',
      make: () => new DepthwiseConv2D(3, { depthMultiplier: 0 }),
      error: /DepthwiseConv2D 'depthwise_conv2d(_\d+)?': expected depthMultiplier to be a positive integer but received 0/,
    },
    { title: 'no kernelSize', make: () => new DepthwiseConv2D({}), error: /expected kernelSize to be a positive integer or a pair of positive integers but received undefined/ },
    {
      title: 'strides and dilation together',
      make: () => new DepthwiseConv2D(3, { strides: 2, dilationRate: 2 }),
      error: /expected strides of 1 when dilationRate is above 1 \(as Keras requires\) but received 2/,
    },
    {
      title: 'unknown depthwiseInitializer',
      make: () => new DepthwiseConv2D(3, { depthwiseInitializer: 'glorot' as 'glorot_uniform' }),
      error: /expected depthwiseInitializer to be one of glorot_uniform, .* but received "glorot"/,
    },
    {
      title: "Conv2D's kernelInitializer",
      make: () => new DepthwiseConv2D(3, { kernelInitializer: 'zeros' } as unknown as { padding: 'same' }),
      error: /DepthwiseConv2D: expected options among .*depthwiseInitializer.* but received "kernelInitializer"/,
    },
    {
      title: "padding 'causal'",
      make: () => new DepthwiseConv2D(3, { padding: 'causal' as 'same' }),
      error: /expected padding to be one of 'valid', 'same' but received "causal"/,
    },
    {
      title: 'dataFormat channels_first',
      make: () => new DepthwiseConv2D(3, { dataFormat: 'channels_first' as 'channels_last' }),
      error: /expected dataFormat 'channels_last' .* but received "channels_first"/,
    },
  ],
  badInputs: [
    {
      title: 'rank 2',
      make: () => new DepthwiseConv2D(3, { name: 'dw_rank' }),
      inputShape: [10, 3],
      error: /DepthwiseConv2D 'dw_rank': expected input of rank 3 \(\[height, width, channels\]\) but received \[\*, 10, 3\]/,
    },
    {
      title: 'smaller than the kernel',
      make: () => new DepthwiseConv2D(5, { name: 'dw_small' }),
      inputShape: [4, 8, 1],
      error: /DepthwiseConv2D 'dw_small': expected input of at least the kernel's extent 5x5 in height and width but received \[\*, 4, 8, 1\]/,
    },
  ],
});

const WINDOW = { strides: [1, 1], dilationRate: [1, 1], padding: 'valid' };

// Valid and same, strides 1 and 2, dilation, odd and even inputs: TensorFlow's "same" pads the odd cell
// at the bottom/right, which a symmetric torch padding would get wrong for stride 2 on even inputs.
describeAgainstTorch('DepthwiseConv2D against PyTorch (grouped convolution)', [
  { title: 'valid, stride 1, odd input', make: () => new DepthwiseConv2D(3), inputShape: [5, 5, 3], op: 'depthwise_conv2d', options: WINDOW },
  {
    title: "'same', stride 2, even input (asymmetric padding), multiplier 2",
    make: () => new DepthwiseConv2D(3, { strides: 2, padding: 'same', depthMultiplier: 2 }),
    inputShape: [6, 4, 2],
    op: 'depthwise_conv2d',
    options: { ...WINDOW, strides: [2, 2], padding: 'same' },
    train: true,
  },
  {
    title: "'same', stride 2, odd input",
    make: () => new DepthwiseConv2D(3, { strides: 2, padding: 'same', activation: 'relu6' }),
    inputShape: [7, 5, 3],
    op: 'depthwise_conv2d',
    options: { ...WINDOW, strides: [2, 2], padding: 'same', activation: 'relu6' },
  },
  {
    title: "'same', stride 1, even kernel",
    make: () => new DepthwiseConv2D([2, 4], { padding: 'same', useBias: false }),
    inputShape: [4, 5, 2],
    op: 'depthwise_conv2d',
    options: { ...WINDOW, padding: 'same' },
  },
  {
    title: "valid, strides [2, 1], multiplier 3, relu",
    make: () => new DepthwiseConv2D(3, { strides: [2, 1], depthMultiplier: 3, activation: 'relu' }),
    inputShape: [8, 5, 2],
    op: 'depthwise_conv2d',
    options: { ...WINDOW, strides: [2, 1], activation: 'relu' },
    train: true,
  },
  {
    title: "dilation 2, 'same' and valid",
    make: () => new DepthwiseConv2D(3, { dilationRate: 2, padding: 'same', depthMultiplier: 2 }),
    inputShape: [6, 7, 2],
    op: 'depthwise_conv2d',
    options: { ...WINDOW, dilationRate: [2, 2], padding: 'same' },
    train: true,
  },
  {
    title: 'dilation [1, 2], valid',
    make: () => new DepthwiseConv2D(2, { dilationRate: [1, 2] }),
    inputShape: [4, 6, 3],
    op: 'depthwise_conv2d',
    options: { ...WINDOW, dilationRate: [1, 2] },
  },
]);

describeLayer('SeparableConv2D', {
  shapes: [
    {
      title: '16 filters 3x3',
      make: () => new SeparableConv2D(16, 3),
      inputShape: [8, 8, 4],
      outputShape: [6, 6, 16],
      params: 116,
      weightShapes: [[3, 3, 4, 1], [1, 1, 4, 16], [16]],
    },
    {
      title: "multiplier 2, 'same', stride 2, without bias",
      make: () => new SeparableConv2D({ filters: 5, kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', useBias: false }),
      inputShape: [8, 6, 3],
      outputShape: [4, 3, 5],
      params: 84,
      weightShapes: [[3, 3, 3, 2], [1, 1, 6, 5]],
    },
  ],
  badOptions: [
    { title: 'filters 0', make: () => new SeparableConv2D(0, 3), error: /SeparableConv2D 'separable_conv2d(_\d+)?': expected filters to be a positive integer but received 0/ },
    {
      title: 'depthMultiplier 1.5',
      make: () => new SeparableConv2D(4, 3, { depthMultiplier: 1.5 }),
      error: /expected depthMultiplier to be a positive integer but received 1\.5/,
    },
    {
      title: 'unknown pointwiseInitializer',
      make: () => new SeparableConv2D(4, 3, { pointwiseInitializer: 'one' as 'ones' }),
      error: /expected pointwiseInitializer to be one of glorot_uniform, .* but received "one"/,
    },
  ],
  badInputs: [
    {
      title: 'rank 1',
      make: () => new SeparableConv2D(4, 3, { name: 'sep_rank' }),
      inputShape: [9],
      error: /SeparableConv2D 'sep_rank': expected input of rank 3 \(\[height, width, channels\]\) but received \[\*, 9\]/,
    },
  ],
});

describeAgainstTorch('SeparableConv2D against PyTorch (depthwise, then 1x1 convolution)', [
  {
    title: "multiplier 2, 'same', stride 2, even input, relu",
    make: () => new SeparableConv2D(3, 3, { depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu' }),
    inputShape: [6, 6, 2],
    op: 'separable_conv2d',
    options: { ...WINDOW, strides: [2, 2], padding: 'same', activation: 'relu' },
    train: true,
  },
  {
    title: 'valid, dilation 2, without bias',
    make: () => new SeparableConv2D(4, [3, 2], { dilationRate: 2, useBias: false }),
    inputShape: [7, 6, 3],
    op: 'separable_conv2d',
    options: { ...WINDOW, dilationRate: [2, 2] },
    train: true,
  },
]);
