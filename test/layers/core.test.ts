import { Activation, Conv2D, Dense, Dropout, Flatten, InputLayer, SGD, tensor } from '../../lib';
import { expectClose, range, values } from '../helpers';
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
  badInputs: [
    {
      title: 'image input without Flatten',
      make: () => new Dense(2, { name: 'dense_on_image' }),
      inputShape: [4, 4, 3],
      error: /Dense 'dense_on_image': expected input of rank 1 \(\[features\]; add a Flatten layer before Dense\) but received \[\*, 4, 4, 3\]/,
    },
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
