import {
  Activation, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D, Input, InputLayer, Layer, Model, Multiply, Permute, Reshape, setSeed, SGD,
  SpatialDropout2D, SymbolicTensor, tensor, Tensor,
} from '../../lib';
import { expectClose, range, seededRandom, values } from '../helpers';
import { describeIf } from '../helpers/peers';
import { pythonHas, runPython } from '../helpers/python';
import { describeLayer, fixedModel } from './harness';

describeLayer('Dense', {
  shapes: [
    {
      title: 'seed hidden layer 128 on 30752 features',
      make: () => new Dense(128, { activation: 'relu' }),
      inputShape: [30752],
      outputShape: [128],
      params: 3936384,
      weightShapes: [[30752, 128], [128]],
    },
    { title: 'seed output layer', make: () => new Dense(1, { activation: 'sigmoid' }), inputShape: [128], outputShape: [1], params: 129, weightShapes: [[128, 1], [1]] },
    { title: 'without bias', make: () => new Dense(5, { useBias: false }), inputShape: [10], outputShape: [5], params: 50, weightShapes: [[10, 5]] },
    { title: 'on a sequence: the last axis', make: () => new Dense(3), inputShape: [5, 4], outputShape: [5, 3], params: 15, weightShapes: [[4, 3], [3]] },
    { title: 'on images: the channels', make: () => new Dense(6, { activation: 'relu' }), inputShape: [2, 3, 4], outputShape: [2, 3, 6], params: 30, weightShapes: [[4, 6], [6]] },
    { title: 'options object with Keras 1 outputDim', make: () => new Dense({ outputDim: 4 }), inputShape: [3], outputShape: [4], params: 16, weightShapes: [[3, 4], [4]] },
    {
      title: 'initializers with arguments',
      make: () => new Dense(2, { kernelInitializer: { name: 'random_normal', stddev: 0.01 }, biasInitializer: { name: 'constant', value: 0.5 } }),
      inputShape: [3],
      outputShape: [2],
      params: 8,
      weightShapes: [[3, 2], [2]],
    },
  ],
  badOptions: [
    { title: 'units -1', make: () => new Dense(-1), error: /Dense 'dense(_\d+)?': expected units to be a positive integer but received -1/ },
    { title: 'units 1.5', make: () => new Dense(1.5), error: /expected units to be a positive integer but received 1\.5/ },
    { title: 'no units', make: () => new Dense({}), error: /expected units to be a positive integer but received undefined/ },
    { title: 'units and outputDim', make: () => new Dense({ units: 2, outputDim: 2 }), error: /expected either units or outputDim, not both/ },
    { title: 'unknown activation', make: () => new Dense(2, { activation: 'Relu' as 'relu' }), error: /expected activation to be one of .*'leaky_relu'.* but received "Relu"/ },
    {
      title: 'non-finite initializer argument',
      make: () => new Dense(2, { kernelInitializer: { name: 'random_normal', stddev: NaN } }),
      error: /expected kernelInitializer\.stddev to be a finite number but received NaN/,
    },
    { title: 'unknown option', make: () => new Dense(2, { activaton: 'relu' } as unknown as {}), error: /Dense: expected options among .* but received "activaton"/ },
  ],
});

describeLayer('Flatten', {
  shapes: [
    { title: 'seed feature maps', make: () => new Flatten(), inputShape: [31, 31, 32], outputShape: [30752], params: 0, weightShapes: [] },
    { title: 'already flat', make: () => new Flatten(), inputShape: [7], outputShape: [7], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'unknown option', make: () => new Flatten({ dataFormat: 'channels_first' } as unknown as {}), error: /Flatten: expected options among .* but received "dataFormat"/ }],
});

describeLayer('Dropout', {
  shapes: [
    { title: 'on features', make: () => new Dropout(0.5), inputShape: [10], outputShape: [10], params: 0, weightShapes: [] },
    { title: 'on images, options object', make: () => new Dropout({ rate: 0.25 }), inputShape: [4, 4, 2], outputShape: [4, 4, 2], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'rate 1', make: () => new Dropout(1), error: /Dropout 'dropout(_\d+)?': expected rate to be a number in \[0, 1\) but received 1/ },
    { title: 'rate -0.1', make: () => new Dropout(-0.1), error: /expected rate to be a number in \[0, 1\) but received -0\.1/ },
    { title: 'no rate', make: () => new Dropout({}), error: /expected rate to be a number in \[0, 1\) but received undefined/ },
  ],
});

describeLayer('Activation', {
  shapes: [
    { title: 'relu on images', make: () => new Activation('relu'), inputShape: [3, 4, 2], outputShape: [3, 4, 2], params: 0, weightShapes: [] },
    { title: 'softmax on features', make: () => new Activation({ activation: 'softmax' }), inputShape: [5], outputShape: [5], params: 0, weightShapes: [] },
    { title: 'camelCase leakyRelu', make: () => new Activation('leakyRelu'), inputShape: [5], outputShape: [5], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'unknown name', make: () => new Activation('swish2' as 'relu'), error: /Activation 'activation(_\d+)?': expected activation to be one of .* but received "swish2"/ },
    { title: 'missing', make: () => new Activation({}), error: /Activation 'activation(_\d+)?': expected an activation but received undefined/ },
  ],
});

describeLayer('InputLayer', {
  shapes: [],
  badOptions: [
    { title: 'no shape', make: () => new InputLayer({}), error: /InputLayer: expected inputShape \(or shape\) but received \{\}/ },
    { title: 'bad shape', make: () => new InputLayer({ shape: [-1] }), error: /InputLayer: expected inputShape to be a non-empty array of positive integers but received \[-1\]/ },
  ],
});

describe('InputLayer', () => {
  test('declares the shape and passes inputs through unchanged', () => {
    const layer = new InputLayer({ inputShape: [8, 8, 3] });
    expect(layer.computeOutputShape([8, 8, 3])).toEqual([8, 8, 3]);
    expect(() => layer.computeOutputShape([8, 8, 1])).toThrow(/InputLayer '.*': expected input of shape \[\*, 8, 8, 3\] but received \[\*, 8, 8, 1\]/);
    expect(new InputLayer(JSON.parse(JSON.stringify(layer.getConfig()))).getConfig()).toEqual(layer.getConfig());
  });

  test("Keras 3's shape spelling declares the model's input", () => {
    const model = fixedModel([2, 2, 1], [new InputLayer({ shape: [2, 2, 1] }), new Flatten()]);
    expect(model.inputShape).toEqual([2, 2, 1]);
    expect(model.outputShape).toEqual([4]);
  });
});

describe('Dense numerics', () => {
  test('x . kernel + bias with the kernel in Keras layout [in, out]', async () => {
    const model = fixedModel([3], [new Dense(2)], [[[1, 2], [3, 4], [5, 6]], [0.5, -1]]);
    const y = await model.predict(tensor([[1, 2, 3], [0, -1, 0.5]]));
    expect(y.shape).toEqual([2, 2]);
    // [1*1 + 2*3 + 3*5 + 0.5, 1*2 + 2*4 + 3*6 - 1], [0 - 3 + 2.5 + 0.5, 0 - 4 + 3 - 1]
    expectClose(values(y), [22.5, 27, 0, -2]);
  });

  test('activation applied to x . kernel + bias', async () => {
    const model = fixedModel([2], [new Dense(2, { activation: 'sigmoid', useBias: false })], [[[1, 0], [0, -1]]]);
    const y = values(await model.predict(tensor([[2, 3]])));
    expectClose(y, [1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(3))]);
  });
});

describe('Flatten numerics', () => {
  test('flattens channels-last: features come out in [h][w][c] order', async () => {
    const x = tensor(new Float32Array(range(12)), [1, 2, 2, 3]);
    // Through a convolution first, so the native side holds an NCHW feature map before Flatten.
    const identity3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    const flat = fixedModel([2, 2, 3], [new Conv2D(3, 1, { useBias: false }), new Flatten()], [tensor(new Float32Array(identity3), [1, 1, 3, 3])]);
    expectClose(values(await flat.predict(x)), range(12));
  });

  test('a Dense after Flatten sees feature k = (h * W + w) * C + c', async () => {
    // Dense kernel column j picks feature j*2+1 (odd features), so outputs reveal the flattening order.
    const kernel = Array.from({ length: 12 }, (_, k) => Array.from({ length: 6 }, (_, j) => (k === j * 2 + 1 ? 1 : 0)));
    const identity3 = tensor(new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), [1, 1, 3, 3]);
    const model = fixedModel([2, 2, 3], [new Conv2D(3, 1, { useBias: false }), new Flatten(), new Dense(6, { useBias: false })], [identity3, kernel]);
    // Input value at [h][w][c] is 100h + 10w + c.
    const input: number[] = [];
    for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) for (let c = 0; c < 3; c++) input.push(100 * h + 10 * w + c);
    const y = values(await model.predict(tensor(new Float32Array(input), [1, 2, 2, 3])));
    // features 1, 3, 5, 7, 9, 11 -> (h,w,c) = (0,0,1), (0,1,0), (0,1,2), (1,0,1), (1,1,0), (1,1,2)
    expectClose(y, [1, 10, 12, 101, 110, 112]);
  });
});

describe('Dropout numerics', () => {
  test('is the identity at predict time and in evaluation', async () => {
    const model = fixedModel([6], [new Dropout(0.9), new Dense(1, { useBias: false })], [[[1], [1], [1], [1], [1], [1]]], {
      optimizer: new SGD({ learningRate: 0 }),
      loss: 'mse',
    });
    const x = tensor([[1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1]]);
    for (let i = 0; i < 3; i++) expectClose(values(await model.predict(x)), [21, 6]);
    // mse against the undropped sums is exactly 0 when dropout is off.
    expect(await model.testOnBatch(x, tensor([[21], [6]]))).toBeCloseTo(0, 6);
  });

  test('drops and rescales by 1/(1-rate) during training', async () => {
    const ones = Array.from({ length: 200 }, () => [1]);
    const model = fixedModel([200], [new Dropout(0.5), new Dense(1, { useBias: false })], [ones], {
      optimizer: new SGD({ learningRate: 0 }),
      loss: 'mse',
    });
    const x = tensor(new Float32Array(8 * 200).fill(1), [8, 200]);
    const y = tensor(new Float32Array(8).fill(200), [8, 1]);
    // Each output is 2 * Binomial(200, 0.5): mean 200, variance 200; the mse is far from 0 but finite.
    const losses = [];
    for (let i = 0; i < 4; i++) losses.push((await model.trainOnBatch(x, y)) as number);
    for (const loss of losses) expect(loss).toBeGreaterThan(1);
    const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
    expect(mean).toBeGreaterThan(50);
    expect(mean).toBeLessThan(800);
    // With the learning rate 0 nothing was learnt: predict is still the plain sum.
    expectClose(values(await model.predict(x.reshape([8, 200]))).slice(0, 1), [200]);
  });
});

describeLayer('Reshape', {
  shapes: [
    { title: 'pooled features to a 1x1 image', make: () => new Reshape([1, 1, 8]), inputShape: [8], outputShape: [1, 1, 8], params: 0, weightShapes: [] },
    { title: 'image to a sequence, options object with -1', make: () => new Reshape({ targetShape: [-1, 3] }), inputShape: [2, 4, 3], outputShape: [8, 3], params: 0, weightShapes: [] },
    { title: 'image to image', make: () => new Reshape([4, 2, 3]), inputShape: [2, 4, 3], outputShape: [4, 2, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'two -1', make: () => new Reshape([-1, -1]), error: /Reshape 'reshape(_\d+)?': expected targetShape to be a non-empty array of positive integers with at most one -1 but received \[-1, -1\]/ },
    { title: 'zero', make: () => new Reshape([0, 3]), error: /expected targetShape to be .* but received \[0, 3\]/ },
    { title: 'missing', make: () => new Reshape({}), error: /expected targetShape to be .* but received undefined/ },
  ],
  badInputs: [
    { title: 'element count', make: () => new Reshape([5, 3], { name: 'rs' }), inputShape: [4, 4], error: /Reshape 'rs': expected input of 15 elements per sample \(targetShape \[5, 3\]\) but received \[\*, 4, 4\]/ },
    {
      title: 'not divisible',
      make: () => new Reshape([-1, 3], { name: 'rs2' }),
      inputShape: [7],
      error: /Reshape 'rs2': expected input of a number of elements per sample divisible by 3 \(targetShape \[-1, 3\]\) but received \[\*, 7\]/,
    },
  ],
});

describeLayer('Permute', {
  shapes: [
    { title: 'swap two axes', make: () => new Permute([2, 1]), inputShape: [3, 4], outputShape: [4, 3], params: 0, weightShapes: [] },
    { title: 'channels first, options object', make: () => new Permute({ dims: [3, 1, 2] }), inputShape: [2, 3, 4], outputShape: [4, 2, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'from 0', make: () => new Permute([0, 1]), error: /Permute 'permute(_\d+)?': expected dims to be a permutation of 1, \.\.\., n \(the axes after the batch axis\) but received \[0, 1\]/ },
    { title: 'repeated', make: () => new Permute([1, 1]), error: /expected dims to be a permutation .* but received \[1, 1\]/ },
  ],
  badInputs: [{ title: 'rank', make: () => new Permute([2, 1], { name: 'pm' }), inputShape: [2, 3, 4], error: /Permute 'pm': expected input of rank 2 \(dims \[2, 1\]\) but received \[\*, 2, 3, 4\]/ }],
});

/** A 1x1 convolution that copies its `channels` channels: the native side then holds NCHW tensors. */
function identityConv(channels: number): [Conv2D, number[][][][]] {
  const kernel = [[Array.from({ length: channels }, (_, i) => Array.from({ length: channels }, (_, j) => (i === j ? 1 : 0)))]];
  return [new Conv2D(channels, 1, { useBias: false }), kernel];
}

describe('Reshape and Permute numerics (channels-last, as Keras)', () => {
  // Keras reshapes each sample's elements in channels-last order: the flat values stay as they are.
  test('an image reshaped to another image keeps the channels-last element order, through NCHW tensors on both sides', async () => {
    const [before, k1] = identityConv(3);
    const [after, k2] = identityConv(2);
    const model = fixedModel([2, 2, 3], [before, new Reshape([3, 2, 2]), after], [k1, k2]);
    const x = range(24, 1);
    expectClose(values(await model.predict(tensor(new Float32Array(x), [2, 2, 2, 3]))), x);
  });

  test('features reshaped to a 1x1 image multiply an image per channel (squeeze-and-excitation)', async () => {
    const input = Input({ shape: [2, 2, 3] });
    const pooled = new GlobalAveragePooling2D().apply(input);
    const scale = new Reshape([1, 1, 3]).apply(pooled);
    const model = new Model({ inputs: input, outputs: new Multiply().apply([input, scale]) });
    const x = range(12, 1);
    const means = [0, 1, 2].map((c) => (x[c] + x[3 + c] + x[6 + c] + x[9 + c]) / 4);
    expectClose(values(await model.predict(tensor(new Float32Array(x), [1, 2, 2, 3]))), x.map((v, i) => v * means[i % 3]));
  });

  test('Permute moves axis dims[i] to position i', async () => {
    const [before, k1] = identityConv(4);
    const [after, k2] = identityConv(3);
    const model = fixedModel([2, 3, 4], [before, new Permute([3, 1, 2]), after], [k1, k2]);
    // in[h][w][c] = 100h + 10w + c; out[c][h][w] = in[h][w][c].
    const x: number[] = [];
    for (let h = 0; h < 2; h++) for (let w = 0; w < 3; w++) for (let c = 0; c < 4; c++) x.push(100 * h + 10 * w + c);
    const expected: number[] = [];
    for (let c = 0; c < 4; c++) for (let h = 0; h < 2; h++) for (let w = 0; w < 3; w++) expected.push(100 * h + 10 * w + c);
    const y = await model.predict(tensor(new Float32Array(x), [1, 2, 3, 4]));
    expect(y.shape).toEqual([1, 4, 2, 3]);
    expectClose(values(y), expected);
  });

  test('Permute on sequences transposes', async () => {
    const model = fixedModel([2, 3], [new Permute([2, 1])]);
    expectClose(values(await model.predict(tensor([[[1, 2, 3], [4, 5, 6]]]))), [1, 4, 2, 5, 3, 6]);
  });
});

/** `layer` applied in training mode whatever the step (Keras's `training=True`), so predict shows its masks. */
function alwaysTraining(inputShape: number[], layer: Layer): Model<SymbolicTensor> {
  const input = Input({ shape: inputShape });
  return new Model({ inputs: input, outputs: layer.apply(input, { training: true }) });
}

function ones(shape: number[]): Tensor {
  return tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape);
}

describeLayer('Dropout with noiseShape', {
  shapes: [
    { title: 'stochastic depth: one draw per sample', make: () => new Dropout(0.2, { noiseShape: [null, 1, 1, 1] }), inputShape: [4, 4, 2], outputShape: [4, 4, 2], params: 0, weightShapes: [] },
    { title: 'one draw per channel', make: () => new Dropout({ rate: 0.5, noiseShape: [null, 1, 1, 2], seed: 3 }), inputShape: [4, 4, 2], outputShape: [4, 4, 2], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'a string', make: () => new Dropout(0.5, { noiseShape: 'batch' as unknown as number[] }), error: /Dropout 'dropout(_\d+)?': expected noiseShape to be an array of positive integers or null \(with the batch axis\) but received "batch"/ },
    { title: 'zero', make: () => new Dropout(0.5, { noiseShape: [null, 0] }), error: /expected noiseShape to be .* but received \[null, 0\]/ },
  ],
  badInputs: [
    {
      title: 'rank',
      make: () => new Dropout(0.5, { noiseShape: [null, 1, 1], name: 'drop_rank' }),
      inputShape: [4, 4, 2],
      error: /Dropout 'drop_rank': expected input of a shape that fits noiseShape \[None, 1, 1\]: rank 2 after the batch axis, each axis 1 or the input's size but received \[\*, 4, 4, 2\]/,
    },
    { title: 'size', make: () => new Dropout(0.5, { noiseShape: [null, 3], name: 'drop_size' }), inputShape: [4], error: /Dropout 'drop_size': expected input of a shape that fits noiseShape \[None, 3\]/ },
    { title: 'batch axis', make: () => new Dropout(0.5, { noiseShape: [8, 1], name: 'drop_batch' }), inputShape: [4], error: /Dropout 'drop_batch': expected noiseShape\[0\] \(the batch axis\) to be null or 1 but received 8/ },
  ],
});

describeLayer('SpatialDropout2D', {
  shapes: [
    { title: 'on feature maps', make: () => new SpatialDropout2D(0.3), inputShape: [4, 4, 8], outputShape: [4, 4, 8], params: 0, weightShapes: [] },
    { title: 'options object with a seed', make: () => new SpatialDropout2D({ rate: 0.1, seed: 5 }), inputShape: [2, 2, 1], outputShape: [2, 2, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'rate 1', make: () => new SpatialDropout2D(1), error: /SpatialDropout2D 'spatial_dropout2d(_\d+)?': expected rate to be a number in \[0, 1\) but received 1/ },
    { title: 'seed -1', make: () => new SpatialDropout2D(0.5, { seed: -1 }), error: /expected seed to be a non-negative integer but received -1/ },
    { title: 'noiseShape', make: () => new SpatialDropout2D({ rate: 0.5, noiseShape: [null, 1] } as never), error: /SpatialDropout2D: expected options among .* but received "noiseShape"/ },
  ],
  badInputs: [{ title: 'features', make: () => new SpatialDropout2D(0.5, { name: 'sd' }), inputShape: [8], error: /SpatialDropout2D 'sd': expected input of rank 3 \(\[height, width, channels\]\) but received \[\*, 8\]/ }],
});

describe('Dropout noiseShape and SpatialDropout2D numerics', () => {
  /** Each sample's values, for `samples` samples of `size` elements. */
  function split(flat: number[], samples: number): number[][] {
    const size = flat.length / samples;
    return Array.from({ length: samples }, (_, i) => flat.slice(i * size, (i + 1) * size));
  }

  test('noiseShape [null, 1, 1, 1] keeps or drops whole samples, at the rate, scaled by 1/(1-rate)', async () => {
    const samples = 400;
    const model = alwaysTraining([3, 2, 2], new Dropout(0.3, { noiseShape: [null, 1, 1, 1], seed: 1 }));
    const y = split(values(await model.predict(ones([samples, 3, 2, 2]))), samples);
    for (const sample of y) expect(new Set(sample.map((v) => v.toFixed(5))).size).toBe(1);
    const dropped = y.filter((sample) => sample[0] === 0).length / samples;
    // Binomial(400, 0.3): standard deviation 0.023; four of them either side.
    expect(Math.abs(dropped - 0.3)).toBeLessThan(0.092);
    for (const sample of y) if (sample[0] !== 0) expect(sample[0]).toBeCloseTo(1 / 0.7, 5);
  });

  test("noiseShape [null, 1, 1, null] draws once per sample and channel, as SpatialDropout2D, whose rate it keeps", async () => {
    for (const layer of [new Dropout(0.4, { noiseShape: [null, 1, 1, null], seed: 2 }), new SpatialDropout2D(0.4, { seed: 2 })]) {
      const samples = 100;
      const channels = 8;
      const model = alwaysTraining([3, 3, channels], layer);
      const y = split(values(await model.predict(ones([samples, 3, 3, channels]))), samples);
      let dropped = 0;
      for (const sample of y) {
        for (let c = 0; c < channels; c++) {
          const channel = sample.filter((_, i) => i % channels === c);
          expect(new Set(channel).size).toBe(1);
          if (channel[0] === 0) dropped++;
          else expect(channel[0]).toBeCloseTo(1 / 0.6, 5);
        }
      }
      // 800 draws: standard deviation 0.017.
      expect(Math.abs(dropped / (samples * channels) - 0.4)).toBeLessThan(0.07);
    }
  });

  test('the same seed gives the same masks, in a Dropout and a SpatialDropout2D alike', async () => {
    const masks = async (layer: Layer): Promise<number[]> => values(await alwaysTraining([2, 2, 4], layer).predict(ones([16, 2, 2, 4])));
    expect(await masks(new SpatialDropout2D(0.5, { seed: 9 }))).toEqual(await masks(new Dropout(0.5, { noiseShape: [null, 1, 1, null], seed: 9 })));
    expect(await masks(new SpatialDropout2D(0.5, { seed: 9 }))).not.toEqual(await masks(new SpatialDropout2D(0.5, { seed: 10 })));
    setSeed(4);
    const first = await masks(new SpatialDropout2D(0.5));
    setSeed(4);
    expect(await masks(new SpatialDropout2D(0.5))).toEqual(first);
  });

  test('inactive in predict and evaluate, active in fit', async () => {
    for (const layer of [new Dropout(0.5, { noiseShape: [null, 1, 1, 1] }), new SpatialDropout2D(0.5)]) {
      const model = fixedModel([2, 2, 4], [layer, new Flatten(), new Dense(1, { useBias: false, kernelInitializer: 'ones' })], [], {
        optimizer: new SGD({ learningRate: 0 }),
        loss: 'mse',
      });
      const x = ones([32, 2, 2, 4]);
      const sums = tensor(new Float32Array(32).fill(16), [32, 1]);
      expectClose(values(await model.predict(x)), new Array(32).fill(16));
      expect(await model.testOnBatch(x, sums)).toBeCloseTo(0, 6);
      // In training the sums move away from 16: whole samples or channels are dropped or doubled.
      expect((await model.trainOnBatch(x, sums)) as number).toBeGreaterThan(1);
    }
  });
});

describeIf(pythonHas('torch'), 'the Dense comparisons need python3-torch (apt-get install python3-torch)')('Dense on the last axis against PyTorch', () => {
  const next = seededRandom(41);
  const data = Array.from({ length: 48 }, () => Math.round((next() * 4 - 2) * 1000) / 1000);
  const kernel = Array.from({ length: 12 }, () => Math.round((next() - 0.5) * 1000) / 1000);
  const bias = [0.1, -0.2, 0.3];
  const SHAPES: Record<string, number[]> = { images: [2, 2, 3, 4], sequences: [2, 6, 4], features: [12, 4] };
  let reference: Record<string, { y: number[]; kernel: number[]; bias: number[] }>;

  beforeAll(() => {
    reference = JSON.parse(
      runPython(`
import json, torch
out = {}
for name, shape in ${JSON.stringify(SHAPES)}.items():
    x = torch.tensor(${JSON.stringify(data)}).reshape(shape)
    kernel = torch.tensor(${JSON.stringify(kernel)}).reshape(4, 3).requires_grad_()
    bias = torch.tensor(${JSON.stringify(bias)}).requires_grad_()
    y = x @ kernel + bias
    ((y - 0.5) ** 2).mean().backward()
    out[name] = {'y': y.flatten().tolist(), 'kernel': (kernel - 0.1 * kernel.grad).flatten().tolist(), 'bias': (bias - 0.1 * bias.grad).tolist()}
print(json.dumps(out))
`),
    );
  });

  test.each(Object.keys(SHAPES))('%s: x . kernel + bias on the last axis, and one SGD step', async (name) => {
    const shape = SHAPES[name];
    const model = fixedModel(shape.slice(1), [new Dense(3)], [tensor(new Float32Array(kernel), [4, 3]), bias], { optimizer: new SGD({ learningRate: 0.1 }), loss: 'mse' });
    const x = tensor(new Float32Array(data), shape);
    const y = await model.predict(x);
    expect(y.shape).toEqual([...shape.slice(0, -1), 3]);
    expectClose(values(y), reference[name].y, 1e-5);
    await model.trainOnBatch(x, tensor(new Float32Array(y.shape.reduce((a, b) => a * b, 1)).fill(0.5), [...y.shape]));
    const [newKernel, newBias] = model.getWeights().map(values);
    expectClose(newKernel, reference[name].kernel, 1e-5);
    expectClose(newBias, reference[name].bias, 1e-5);
  });
});
