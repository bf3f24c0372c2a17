import { Cropping2D, DepthwiseConv2D, GlobalMaxPooling2D, tensor, UpSampling2D, ZeroPadding2D } from '../../lib';
import { expectClose, values } from '../helpers';
import { describeLayer, fixedModel } from './harness';
import { describeAgainstTorch, randomValues } from './torch-reference';

describeLayer('ZeroPadding2D', {
  shapes: [
    { title: 'default 1 on every side', make: () => new ZeroPadding2D(), inputShape: [3, 4, 2], outputShape: [5, 6, 2], params: 0, weightShapes: [] },
    { title: '[rows, columns]', make: () => new ZeroPadding2D([1, 2]), inputShape: [3, 4, 2], outputShape: [5, 8, 2], params: 0, weightShapes: [] },
    {
      title: "[[top, bottom], [left, right]] (MobileNetV2's correct_pad)",
      make: () => new ZeroPadding2D({ padding: [[0, 1], [2, 3]] }),
      inputShape: [3, 4, 2],
      outputShape: [4, 9, 2],
      params: 0,
      weightShapes: [],
    },
    { title: 'zero padding', make: () => new ZeroPadding2D(0), inputShape: [2, 2, 1], outputShape: [2, 2, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [
    {
      title: 'negative',
      make: () => new ZeroPadding2D(-1),
      error: /ZeroPadding2D 'zero_padding2d(_\d+)?': expected padding to be a non-negative integer, \[rows, columns\] or \[\[top, bottom\], \[left, right\]\] but received -1/,
    },
    { title: 'pairs of one', make: () => new ZeroPadding2D([[1], [2]] as unknown as [number, number]), error: /expected padding to be .* but received \[\[1\], \[2\]\]/ },
    { title: "'same'", make: () => new ZeroPadding2D('same' as unknown as number), error: /expected padding to be .* but received "same"/ },
    { title: 'dataFormat', make: () => new ZeroPadding2D(1, { dataFormat: 'channels_first' as 'channels_last' }), error: /expected dataFormat 'channels_last' but received "channels_first"/ },
  ],
  badInputs: [
    { title: 'rank 2', make: () => new ZeroPadding2D(1, { name: 'pad_rank' }), inputShape: [4, 3], error: /ZeroPadding2D 'pad_rank': expected input of rank 3 \(\[height, width, channels\]\) but received \[\*, 4, 3\]/ },
  ],
});

describeLayer('Cropping2D', {
  shapes: [
    { title: 'default crops nothing', make: () => new Cropping2D(), inputShape: [3, 4, 2], outputShape: [3, 4, 2], params: 0, weightShapes: [] },
    { title: 'int', make: () => new Cropping2D(1), inputShape: [3, 4, 2], outputShape: [1, 2, 2], params: 0, weightShapes: [] },
    { title: '[[top, bottom], [left, right]]', make: () => new Cropping2D({ cropping: [[0, 2], [1, 0]] }), inputShape: [5, 4, 1], outputShape: [3, 3, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'fractional', make: () => new Cropping2D([1.5, 1]), error: /Cropping2D 'cropping2d(_\d+)?': expected cropping to be a non-negative integer, .* but received \[1\.5, 1\]/ },
  ],
  badInputs: [
    {
      title: 'cropped to nothing',
      make: () => new Cropping2D([[1, 1], [0, 0]], { name: 'crop_all' }),
      inputShape: [2, 4, 1],
      error: /Cropping2D 'crop_all': expected input of more than the cropping's 2 rows and 0 columns but received \[\*, 2, 4, 1\]/,
    },
  ],
});

describeLayer('UpSampling2D', {
  shapes: [
    { title: 'default 2, nearest', make: () => new UpSampling2D(), inputShape: [3, 4, 2], outputShape: [6, 8, 2], params: 0, weightShapes: [] },
    { title: '[2, 3], bilinear', make: () => new UpSampling2D({ size: [2, 3], interpolation: 'bilinear' }), inputShape: [3, 2, 1], outputShape: [6, 6, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: "interpolation 'bicubic'", make: () => new UpSampling2D(2, { interpolation: 'bicubic' as 'bilinear' }), error: /UpSampling2D 'up_sampling2d(_\d+)?': expected interpolation to be one of 'nearest', 'bilinear' but received "bicubic"/ },
    { title: 'size 0', make: () => new UpSampling2D(0), error: /expected size to be a positive integer or a pair of positive integers but received 0/ },
  ],
  badInputs: [
    { title: 'rank 1', make: () => new UpSampling2D(2, { name: 'up_rank' }), inputShape: [4], error: /UpSampling2D 'up_rank': expected input of rank 3 .* but received \[\*, 4\]/ },
  ],
});

describeAgainstTorch('ZeroPadding2D, Cropping2D and nearest UpSampling2D against PyTorch', [
  {
    title: 'ZeroPadding2D [[top, bottom], [left, right]]',
    make: () => new ZeroPadding2D([[0, 1], [2, 1]]),
    inputShape: [3, 2, 2],
    op: 'zero_padding2d',
    options: { padding: [[0, 1], [2, 1]] },
  },
  { title: 'ZeroPadding2D int', make: () => new ZeroPadding2D(2), inputShape: [2, 3, 1], op: 'zero_padding2d', options: { padding: [[2, 2], [2, 2]] } },
  { title: 'Cropping2D', make: () => new Cropping2D([[1, 0], [0, 2]]), inputShape: [4, 5, 2], op: 'cropping2d', options: { cropping: [[1, 0], [0, 2]] } },
  { title: 'UpSampling2D nearest [2, 3]', make: () => new UpSampling2D([2, 3]), inputShape: [2, 3, 2], op: 'up_sampling2d_nearest', options: { size: [2, 3] } },
  {
    title: 'gradients through padding, cropping, both upsamplings and GlobalMaxPooling2D: the SGD step of the convolution before them',
    make: () => [
      new DepthwiseConv2D(2, { depthMultiplier: 2 }),
      new ZeroPadding2D([[1, 0], [0, 2]]),
      new Cropping2D([[0, 1], [1, 0]]),
      new UpSampling2D([2, 1]),
      new UpSampling2D({ size: 2, interpolation: 'bilinear' }),
      new GlobalMaxPooling2D(),
    ],
    inputShape: [4, 3, 2],
    op: [
      { op: 'depthwise_conv2d', options: { strides: [1, 1], dilationRate: [1, 1], padding: 'valid' } },
      { op: 'zero_padding2d', options: { padding: [[1, 0], [0, 2]] } },
      { op: 'cropping2d', options: { cropping: [[0, 1], [1, 0]] } },
      { op: 'up_sampling2d_nearest', options: { size: [2, 1] } },
      { op: 'up_sampling2d_bilinear', options: { size: [2, 2] } },
      { op: 'global_max_pooling2d' },
    ],
    train: true,
  },
]);

/**
 * TensorFlow's bilinear resize with half-pixel centres (tf.image.resize, which Keras's UpSampling2D
 * calls), written out: source coordinate (i + 0.5) / scale - 0.5, the two neighbours clamped into the image.
 */
function tensorflowBilinear(x: number[], [n, h, w, c]: number[], [sh, sw]: number[]): number[] {
  const axis = (i: number, size: number, scale: number): [number, number, number] => {
    const source = (i + 0.5) / scale - 0.5;
    const low = Math.floor(source);
    return [Math.max(low, 0), Math.min(Math.ceil(source), size - 1), source - low];
  };
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h * sh; i++)
      for (let j = 0; j < w * sw; j++)
        for (let ch = 0; ch < c; ch++) {
          const [top, bottom, dy] = axis(i, h, sh);
          const [left, right, dx] = axis(j, w, sw);
          const at = (row: number, col: number): number => x[((b * h + row) * w + col) * c + ch];
          const upper = at(top, left) + (at(top, right) - at(top, left)) * dx;
          const lower = at(bottom, left) + (at(bottom, right) - at(bottom, left)) * dx;
          out.push(upper + (lower - upper) * dy);
        }
  return out;
}

describe('UpSampling2D bilinear', () => {
  test.each([
    [[2, 2], [3, 4, 2]],
    [[3, 2], [2, 3, 1]],
    [[1, 4], [3, 3, 2]],
  ])('size %j on %j matches TensorFlow\'s half-pixel formula', async (size, shape) => {
    const x = randomValues(2 * shape[0] * shape[1] * shape[2], size[0] * 10 + shape[1]);
    const y = await fixedModel(shape, [new UpSampling2D({ size: size as [number, number], interpolation: 'bilinear' })]).predict(tensor(Float32Array.from(x), [2, ...shape]));
    expect(y.shape).toEqual([2, shape[0] * size[0], shape[1] * size[1], shape[2]]);
    expectClose(values(y), tensorflowBilinear(x, [2, ...shape], size), 1e-5);
  });

  test('interpolates between pixels: [0, 4] doubled is [0, 1, 3, 4]', async () => {
    const y = await fixedModel([1, 2, 1], [new UpSampling2D({ size: [1, 2], interpolation: 'bilinear' })]).predict(tensor(new Float32Array([0, 4]), [1, 1, 2, 1]));
    expectClose(values(y), [0, 1, 3, 4]);
  });
});
