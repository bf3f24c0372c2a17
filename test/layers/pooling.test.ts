import {
  AveragePooling1D,
  Conv1D,
  AveragePooling2D,
  GlobalAveragePooling1D,
  GlobalAveragePooling2D,
  GlobalMaxPooling1D,
  GlobalMaxPooling2D,
  MaxPooling1D,
  MaxPooling2D,
  tensor,
} from '../../lib';
import { expectClose, values } from '../helpers';
import { describeLayer, fixedModel } from './harness';
import { describeAgainstTorch } from './torch-reference';

describeLayer('MaxPooling2D', {
  shapes: [
    { title: 'seed 2x2 on 62x62x32', make: () => new MaxPooling2D({ poolSize: [2, 2] }), inputShape: [62, 62, 32], outputShape: [31, 31, 32], params: 0, weightShapes: [] },
    { title: 'default pool on odd input (floor)', make: () => new MaxPooling2D(), inputShape: [5, 7, 2], outputShape: [2, 3, 2], params: 0, weightShapes: [] },
    { title: "3x3 stride 2 'same'", make: () => new MaxPooling2D(3, { strides: 2, padding: 'same' }), inputShape: [7, 7, 4], outputShape: [4, 4, 4], params: 0, weightShapes: [] },
    { title: 'rectangular pool, stride 1', make: () => new MaxPooling2D({ poolSize: [1, 3], strides: 1 }), inputShape: [4, 5, 1], outputShape: [4, 3, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'poolSize 0', make: () => new MaxPooling2D({ poolSize: 0 }), error: /MaxPooling2D 'max_pooling2d(_\d+)?': expected poolSize to be a positive integer or a pair of positive integers but received 0/ },
    { title: 'strides [2, 0]', make: () => new MaxPooling2D(2, { strides: [2, 0] }), error: /expected strides to be a positive integer or a pair of positive integers but received \[2, 0\]/ },
    { title: "padding 'causal'", make: () => new MaxPooling2D(2, { padding: 'causal' as 'same' }), error: /expected padding to be one of 'valid', 'same' but received "causal"/ },
  ],
  badInputs: [
    { title: 'rank 1', make: () => new MaxPooling2D({ name: 'pool_flat' }), inputShape: [8], error: /MaxPooling2D 'pool_flat': expected input of rank 3 \(\[height, width, channels\]\) but received \[\*, 8\]/ },
    { title: 'smaller than the pool', make: () => new MaxPooling2D({ name: 'pool_small', poolSize: 3 }), inputShape: [2, 5, 1], error: /MaxPooling2D 'pool_small': expected input of at least the pool's size 3x3 in height and width but received \[\*, 2, 5, 1\]/ },
  ],
});

describeLayer('AveragePooling2D', {
  shapes: [
    { title: 'valid 2x2', make: () => new AveragePooling2D(2), inputShape: [5, 5, 3], outputShape: [2, 2, 3], params: 0, weightShapes: [] },
    { title: "'same' 2x2", make: () => new AveragePooling2D({ poolSize: [2, 2], padding: 'same' }), inputShape: [5, 5, 3], outputShape: [3, 3, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'dataFormat', make: () => new AveragePooling2D(2, { dataFormat: 'channels_first' as 'channels_last' }), error: /expected dataFormat 'channels_last' but received "channels_first"/ }],
});

describeLayer('GlobalAveragePooling2D', {
  shapes: [
    { title: 'to channels', make: () => new GlobalAveragePooling2D(), inputShape: [4, 5, 6], outputShape: [6], params: 0, weightShapes: [] },
    { title: 'keepdims', make: () => new GlobalAveragePooling2D({ keepdims: true }), inputShape: [4, 5, 6], outputShape: [1, 1, 6], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'keepdims 1', make: () => new GlobalAveragePooling2D({ keepdims: 1 as unknown as boolean }), error: /expected keepdims to be a boolean but received 1/ }],
  badInputs: [{ title: 'rank 1', make: () => new GlobalAveragePooling2D({ name: 'gap_flat' }), inputShape: [6], error: /GlobalAveragePooling2D 'gap_flat': expected input of rank 3 .* but received \[\*, 6\]/ }],
});

// A 3x3 single-channel image with only negative values, so that a padded zero would win a max.
//  -1 -2 -3
//  -4 -5 -6
//  -7 -8 -9
const negative = (): ReturnType<typeof tensor> => tensor(new Float32Array([-1, -2, -3, -4, -5, -6, -7, -8, -9]), [1, 3, 3, 1]);

describe('pooling numerics', () => {
  test('max pooling, valid', async () => {
    const x = tensor(new Float32Array([1, 5, 2, 0, 3, 4, 9, 1, 7, 8, 6, 2, 0, 1, 3, 4]), [1, 4, 4, 1]);
    const y = await fixedModel([4, 4, 1], [new MaxPooling2D()]).predict(x);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expectClose(values(y), [5, 9, 8, 6]);
  });

  test("max pooling 'same' ignores the padded cells (bottom/right padding on an odd input)", async () => {
    const y = await fixedModel([3, 3, 1], [new MaxPooling2D(2, { padding: 'same' })]).predict(negative());
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expectClose(values(y), [-1, -3, -7, -9]);
  });

  test('max pooling keeps channels apart', async () => {
    // Two channels: channel 1 is channel 0 negated.
    const x = tensor(new Float32Array([1, -1, 2, -2, 3, -3, 4, -4]), [1, 2, 2, 2]);
    expectClose(values(await fixedModel([2, 2, 2], [new MaxPooling2D()]).predict(x)), [4, -1]);
  });

  test('average pooling, valid', async () => {
    const y = await fixedModel([3, 3, 1], [new AveragePooling2D(2, { strides: 1 })]).predict(negative());
    expectClose(values(y), [-3, -4, -6, -7]);
  });

  test("average pooling 'same' averages over the cells inside the image only, as Keras", async () => {
    const y = await fixedModel([3, 3, 1], [new AveragePooling2D(2, { padding: 'same' })]).predict(negative());
    // windows: rows 0-1 x cols 0-1, rows 0-1 x col 2, row 2 x cols 0-1, row 2 x col 2
    expectClose(values(y), [(-1 - 2 - 4 - 5) / 4, (-3 - 6) / 2, (-7 - 8) / 2, -9]);
  });

  test("average pooling 'same' with symmetric padding also excludes the padding", async () => {
    // 3x3 pool, stride 1, 'same' on 3x3: one cell of padding on every side.
    const y = values(await fixedModel([3, 3, 1], [new AveragePooling2D(3, { strides: 1, padding: 'same' })]).predict(negative()));
    expectClose(y, [
      (-1 - 2 - 4 - 5) / 4, (-1 - 2 - 3 - 4 - 5 - 6) / 6, (-2 - 3 - 5 - 6) / 4,
      (-1 - 2 - 4 - 5 - 7 - 8) / 6, -45 / 9, (-2 - 3 - 5 - 6 - 8 - 9) / 6,
      (-4 - 5 - 7 - 8) / 4, (-4 - 5 - 6 - 7 - 8 - 9) / 6, (-5 - 6 - 8 - 9) / 4,
    ]);
  });

  test('global average pooling is the mean of each channel', async () => {
    // [2, 3, 2]: channel 0 = 0..5, channel 1 = 10 * (0..5)
    const data: number[] = [];
    for (let i = 0; i < 6; i++) data.push(i, 10 * i);
    const x = tensor(new Float32Array([...data, ...data.map((v) => v + 1)]), [2, 2, 3, 2]);
    const y = await fixedModel([2, 3, 2], [new GlobalAveragePooling2D()]).predict(x);
    expect(y.shape).toEqual([2, 2]);
    expectClose(values(y), [2.5, 25, 3.5, 26]);
    const kept = await fixedModel([2, 3, 2], [new GlobalAveragePooling2D({ keepdims: true })]).predict(x);
    expect(kept.shape).toEqual([2, 1, 1, 2]);
    expectClose(values(kept), [2.5, 25, 3.5, 26]);
  });
});

describeLayer('GlobalMaxPooling2D', {
  shapes: [
    { title: 'to channels', make: () => new GlobalMaxPooling2D(), inputShape: [4, 5, 6], outputShape: [6], params: 0, weightShapes: [] },
    { title: 'keepdims', make: () => new GlobalMaxPooling2D({ keepdims: true }), inputShape: [4, 5, 6], outputShape: [1, 1, 6], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'keepdims "yes"', make: () => new GlobalMaxPooling2D({ keepdims: 'yes' as unknown as boolean }), error: /GlobalMaxPooling2D 'global_max_pooling2d(_\d+)?': expected keepdims to be a boolean but received "yes"/ },
    { title: 'misspelt option', make: () => new GlobalMaxPooling2D({ keepDims: true } as unknown as { keepdims: boolean }), error: /GlobalMaxPooling2D: expected options among .*keepdims.* but received "keepDims"/ },
  ],
  badInputs: [{ title: 'rank 2', make: () => new GlobalMaxPooling2D({ name: 'gmp_seq' }), inputShape: [5, 6], error: /GlobalMaxPooling2D 'gmp_seq': expected input of rank 3 \(\[height, width, channels\]\) but received \[\*, 5, 6\]/ }],
});

describeLayer('GlobalAveragePooling1D', {
  shapes: [
    { title: 'to channels', make: () => new GlobalAveragePooling1D(), inputShape: [5, 3], outputShape: [3], params: 0, weightShapes: [] },
    { title: 'keepdims', make: () => new GlobalAveragePooling1D({ keepdims: true }), inputShape: [5, 3], outputShape: [1, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'dataFormat', make: () => new GlobalAveragePooling1D({ dataFormat: 'channels_first' as 'channels_last' }), error: /expected dataFormat 'channels_last' but received "channels_first"/ }],
  badInputs: [{ title: 'rank 3', make: () => new GlobalAveragePooling1D({ name: 'gap1_image' }), inputShape: [2, 5, 3], error: /GlobalAveragePooling1D 'gap1_image': expected input of rank 2 \(\[steps, channels\]\) but received \[\*, 2, 5, 3\]/ }],
});

describeLayer('GlobalMaxPooling1D', {
  shapes: [
    { title: 'to channels', make: () => new GlobalMaxPooling1D(), inputShape: [5, 3], outputShape: [3], params: 0, weightShapes: [] },
    { title: 'keepdims', make: () => new GlobalMaxPooling1D({ keepdims: true }), inputShape: [5, 3], outputShape: [1, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'keepdims 0', make: () => new GlobalMaxPooling1D({ keepdims: 0 as unknown as boolean }), error: /expected keepdims to be a boolean but received 0/ }],
});

describeLayer('MaxPooling1D', {
  shapes: [
    { title: 'default pool 2 on an odd length (floor)', make: () => new MaxPooling1D(), inputShape: [7, 3], outputShape: [3, 3], params: 0, weightShapes: [] },
    { title: "pool 3, stride 2, 'same'", make: () => new MaxPooling1D(3, { strides: 2, padding: 'same' }), inputShape: [7, 2], outputShape: [4, 2], params: 0, weightShapes: [] },
    { title: 'options object, stride 1', make: () => new MaxPooling1D({ poolSize: [2], strides: 1 }), inputShape: [4, 1], outputShape: [3, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'poolSize pair', make: () => new MaxPooling1D([2, 2] as unknown as number), error: /MaxPooling1D 'max_pooling1d(_\d+)?': expected poolSize to be a positive integer \(or an array of one\) but received \[2, 2\]/ },
    { title: "padding 'causal'", make: () => new MaxPooling1D(2, { padding: 'causal' as 'same' }), error: /expected padding to be one of 'valid', 'same' but received "causal"/ },
  ],
  badInputs: [
    { title: 'rank 3', make: () => new MaxPooling1D(2, { name: 'mp1_image' }), inputShape: [4, 4, 1], error: /MaxPooling1D 'mp1_image': expected input of rank 2 \(\[steps, channels\]\) but received \[\*, 4, 4, 1\]/ },
    { title: 'shorter than the pool', make: () => new MaxPooling1D(3, { name: 'mp1_short' }), inputShape: [2, 1], error: /MaxPooling1D 'mp1_short': expected input of at least the pool's size 3 in steps but received \[\*, 2, 1\]/ },
  ],
});

describeLayer('AveragePooling1D', {
  shapes: [
    { title: 'valid 2', make: () => new AveragePooling1D(2), inputShape: [5, 3], outputShape: [2, 3], params: 0, weightShapes: [] },
    { title: "'same' 2", make: () => new AveragePooling1D({ poolSize: 2, padding: 'same' }), inputShape: [5, 3], outputShape: [3, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'strides 0', make: () => new AveragePooling1D(2, { strides: 0 }), error: /expected strides to be a positive integer \(or an array of one\) but received 0/ }],
});

describeAgainstTorch('1D and global pooling against PyTorch', [
  { title: 'MaxPooling1D valid, odd length', make: () => new MaxPooling1D(2), inputShape: [7, 2], op: 'max_pooling1d', options: { poolSize: 2, strides: 2, padding: 'valid' } },
  { title: "MaxPooling1D 'same', pool 3, stride 2", make: () => new MaxPooling1D(3, { strides: 2, padding: 'same' }), inputShape: [6, 3], op: 'max_pooling1d', options: { poolSize: 3, strides: 2, padding: 'same' } },
  { title: "AveragePooling1D 'same' excludes the padding", make: () => new AveragePooling1D(2, { padding: 'same' }), inputShape: [5, 2], op: 'average_pooling1d', options: { poolSize: 2, strides: 2, padding: 'same' } },
  { title: "AveragePooling1D 'same', pool 3, stride 1", make: () => new AveragePooling1D(3, { strides: 1, padding: 'same' }), inputShape: [4, 2], op: 'average_pooling1d', options: { poolSize: 3, strides: 1, padding: 'same' } },
  { title: 'GlobalMaxPooling2D', make: () => new GlobalMaxPooling2D(), inputShape: [3, 4, 2], op: 'global_max_pooling2d' },
  { title: 'GlobalAveragePooling1D', make: () => new GlobalAveragePooling1D(), inputShape: [5, 3], op: 'global_average_pooling1d' },
  { title: 'GlobalMaxPooling1D', make: () => new GlobalMaxPooling1D(), inputShape: [5, 3], op: 'global_max_pooling1d' },
  {
    title: 'gradients through MaxPooling1D, AveragePooling1D and GlobalMaxPooling1D: the SGD step of the Conv1D before them',
    make: () => [new Conv1D(3, 2), new MaxPooling1D(2, { padding: 'same' }), new AveragePooling1D(3, { strides: 1, padding: 'same' }), new GlobalMaxPooling1D()],
    inputShape: [8, 2],
    op: [
      { op: 'conv1d', options: { strides: 1, dilationRate: 1, padding: 'valid' } },
      { op: 'max_pooling1d', options: { poolSize: 2, strides: 2, padding: 'same' } },
      { op: 'average_pooling1d', options: { poolSize: 3, strides: 1, padding: 'same' } },
      { op: 'global_max_pooling1d' },
    ],
    train: true,
  },
  {
    title: 'gradients through GlobalAveragePooling1D',
    make: () => [new Conv1D(2, 3, { padding: 'causal' }), new GlobalAveragePooling1D()],
    inputShape: [5, 2],
    op: [{ op: 'conv1d', options: { strides: 1, dilationRate: 1, padding: 'causal' } }, { op: 'global_average_pooling1d' }],
    train: true,
  },
]);

describe('global pooling keepdims', () => {
  test('GlobalMaxPooling2D keeps [1, 1, channels]; the 1D ones [1, channels]', async () => {
    const image = tensor(new Float32Array([1, -5, 3, 2, -1, 7, 0, 4]), [1, 2, 2, 2]);
    const kept = await fixedModel([2, 2, 2], [new GlobalMaxPooling2D({ keepdims: true })]).predict(image);
    expect(kept.shape).toEqual([1, 1, 1, 2]);
    expectClose(values(kept), [3, 7]);
    const sequence = tensor(new Float32Array([1, -5, 3, 2, -1, 9]), [1, 3, 2]);
    const maximum = await fixedModel([3, 2], [new GlobalMaxPooling1D({ keepdims: true })]).predict(sequence);
    expect(maximum.shape).toEqual([1, 1, 2]);
    expectClose(values(maximum), [3, 9]);
    const mean = await fixedModel([3, 2], [new GlobalAveragePooling1D({ keepdims: true })]).predict(sequence);
    expectClose(values(mean), [1, 2]);
  });
});
