/**
 * model.export(file, { format: 'onnx' }): the file, run in onnxruntime-node (the reference ONNX runtime),
 * gives predict's outputs within 1e-4, at batch sizes 1 and 3 (the batch axis is dynamic): the seed CNN, a
 * residual network trained so that its BatchNormalization statistics moved, MobileNetV2, and one small
 * model for every layer kind (the weights set to random values first, so that every weight shows), plus the
 * file's declared opset, inputs and outputs, and the errors for what cannot be exported.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ACTIVATIONS,
  Activation,
  ActivityRegularization,
  Add,
  applications,
  Average,
  AveragePooling1D,
  AveragePooling2D,
  BatchNormalization,
  CenterCrop,
  Concatenate,
  Conv1D,
  Conv2D,
  Conv2DTranspose,
  Cropping2D,
  Dense,
  DepthwiseConv2D,
  Dropout,
  ELU,
  Flatten,
  GaussianNoise,
  GlobalAveragePooling1D,
  GlobalAveragePooling2D,
  GlobalMaxPooling1D,
  GlobalMaxPooling2D,
  Input,
  InputLayer,
  Layer,
  LayerNormalization,
  LeakyReLU,
  Maximum,
  MaxPooling1D,
  MaxPooling2D,
  Minimum,
  Model,
  Multiply,
  Normalization,
  Permute,
  PReLU,
  RandomBrightness,
  RandomContrast,
  RandomCrop,
  RandomFlip,
  RandomRotation,
  RandomTranslation,
  RandomZoom,
  ReLU,
  Rescaling,
  Reshape,
  Resizing,
  SeparableConv2D,
  Sequential,
  Softmax,
  SpatialDropout2D,
  Subtract,
  Tensor,
  tensor,
  UpSampling2D,
  ZeroPadding2D,
} from '../../lib';
import { expectClose, seedModel, seededRandom } from '../helpers';
import { closeOnnxRuntime, OnnxFeed, runOnnx } from '../helpers/onnxruntime';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-onnx-'));
});
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await closeOnnxRuntime();
});

function randomValues(count: number, seed: number, [low, high]: [number, number] = [-2, 2]): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => low + (high - low) * random());
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Sets every weight of `model` to random values of a sensible scale: kernels uniform within sqrt(3 / fan-in)
 * (activations keep their size through deep models), scales and variances in [0.5, 1.5], the rest in
 * [-0.5, 0.5]; so that no weight sits at an initial value (a zero bias, a unit variance) that hides a mistake.
 */
function randomizeWeights(model: Model, seed: number): void {
  const weights = model.weightInfo().map((weight, i) => {
    const { name, shape } = weight;
    const count = size(shape);
    if (name === 'count') return tensor(new Float32Array(count), shape);
    if (name.endsWith('kernel')) {
      const fanIn = name === 'depthwise_kernel' ? shape[0] * shape[1] : count / shape[shape.length - 1];
      const limit = Math.sqrt(3 / fanIn);
      return tensor(randomValues(count, seed + i, [-limit, limit]), shape);
    }
    const positive = ['gamma', 'moving_variance', 'variance'].includes(name);
    return tensor(randomValues(count, seed + i, positive ? [0.5, 1.5] : [-0.5, 0.5]), shape);
  });
  model.setWeights(weights);
}

/** The model's inputs for `batch` samples: seeded random values in `range`. */
function inputsFor(model: Model, batch: number, seed: number, range?: [number, number]): Tensor[] {
  return model.inputs.map((input, i) => {
    const shape = [batch, ...input.sampleShape];
    return tensor(randomValues(size(shape), seed + 101 * i, range), shape);
  });
}

/** The model's inputs as the file's feeds, keyed by the model's input names. */
function feedsOf(model: Model, inputs: Tensor[]): Record<string, OnnxFeed> {
  return Object.fromEntries(model.inputNames.map((name, i) => [name, { data: inputs[i].dataSync() as Float32Array, dims: inputs[i].shape }]));
}

/** predict's outputs, one flat array per model output. */
async function predicted(model: Model, inputs: Tensor[]): Promise<Float32Array[]> {
  const prediction = (await model.predict(inputs.length === 1 ? inputs[0] : inputs)) as Tensor | Tensor[] | Record<string, Tensor>;
  const list = prediction instanceof Tensor ? [prediction] : Array.isArray(prediction) ? prediction : Object.values(prediction);
  return list.map((t) => t.dataSync() as Float32Array);
}

/** Exports `model`, runs the file at batch sizes 1 and 3 and compares each output with predict's. */
async function expectExportMatches(model: Model, { seed = 1, range, opset }: { seed?: number; range?: [number, number]; opset?: number } = {}): Promise<Buffer> {
  const bytes = await model.export(undefined, opset === undefined ? { format: 'onnx' } : { format: 'onnx', opset });
  const batches = [1, 3].map((batch) => inputsFor(model, batch, seed + batch, range));
  const run = await runOnnx(bytes, batches.map((inputs) => feedsOf(model, inputs)));
  for (const [i, inputs] of batches.entries()) {
    const expected = await predicted(model, inputs);
    // Each output under the name predict keys it by.
    expect(Object.keys(run.outputs[i]).sort()).toEqual([...model.outputNames].sort());
    model.outputNames.forEach((name, j) => expectClose(run.outputs[i][name].data, expected[j], 1e-4));
  }
  return bytes;
}

/** A Sequential of `layers` on inputs of `inputShape`. */
function stack(inputShape: number[], ...layers: Layer[]): Sequential {
  return new Sequential([new InputLayer({ inputShape }), ...layers]);
}

/** A functional model merging two inputs of the given shapes with `layer`. */
function merged(layer: Layer, first: number[], second: number[]): Model {
  const a = Input({ shape: first });
  const b = Input({ shape: second });
  return new Model({ inputs: [a, b], outputs: layer.apply([a, b]) });
}

interface ExportCase {
  title: string;
  model: () => Model | Promise<Model>;
  /** The range of the random inputs. Default [-2, 2]. */
  range?: [number, number];
}

const IMAGE = [6, 7, 4];

/** One small model per layer kind and per option that changes what is written. */
const CASES: ExportCase[] = [
  { title: 'Dense on features, relu', model: () => stack([5], new Dense(3, { activation: 'relu' })) },
  { title: 'Dense on sequences, no bias', model: () => stack([4, 5], new Dense(3, { useBias: false })) },
  { title: 'Dense on images, softmax', model: () => stack(IMAGE, new Dense(3, { activation: 'softmax' })) },
  { title: 'Conv2D valid, relu', model: () => stack(IMAGE, new Conv2D(3, 3, { activation: 'relu' })) },
  { title: "Conv2D 'same' with strides 2 (padding more at the bottom and right)", model: () => stack(IMAGE, new Conv2D(5, [3, 2], { strides: 2, padding: 'same' })) },
  { title: 'Conv2D with groups and dilation', model: () => stack([9, 9, 4], new Conv2D(6, 3, { groups: 2, dilationRate: 2, padding: 'same' })) },
  { title: 'Conv1D valid with strides', model: () => stack([9, 4], new Conv1D(3, 3, { strides: 2, activation: 'tanh' })) },
  { title: "Conv1D 'causal' with dilation and groups", model: () => stack([9, 4], new Conv1D(6, 2, { padding: 'causal', dilationRate: 2, groups: 2 })) },
  { title: "Conv1D 'same'", model: () => stack([8, 3], new Conv1D(2, 4, { padding: 'same', useBias: false })) },
  { title: 'DepthwiseConv2D with a depth multiplier', model: () => stack(IMAGE, new DepthwiseConv2D(3, { depthMultiplier: 2, strides: 2, padding: 'same' })) },
  { title: 'SeparableConv2D', model: () => stack(IMAGE, new SeparableConv2D(5, 3, { depthMultiplier: 2, padding: 'same', activation: 'relu' })) },
  { title: "Conv2DTranspose 'same' with strides 2", model: () => stack(IMAGE, new Conv2DTranspose(3, 3, { strides: 2, padding: 'same' })) },
  { title: 'Conv2DTranspose valid with outputPadding', model: () => stack(IMAGE, new Conv2DTranspose(3, [3, 2], { strides: [2, 3], outputPadding: [1, 2] })) },
  { title: 'Conv2DTranspose with a kernel smaller than its strides', model: () => stack(IMAGE, new Conv2DTranspose(2, 2, { strides: 3 })) },
  { title: 'MaxPooling2D valid', model: () => stack(IMAGE, new MaxPooling2D(2)) },
  { title: "MaxPooling2D 'same' with strides", model: () => stack(IMAGE, new MaxPooling2D({ poolSize: 3, strides: 2, padding: 'same' })) },
  { title: "AveragePooling2D 'same' (the padded cells uncounted)", model: () => stack(IMAGE, new AveragePooling2D({ poolSize: 3, strides: 2, padding: 'same' })) },
  { title: 'AveragePooling2D valid', model: () => stack(IMAGE, new AveragePooling2D([2, 3])) },
  { title: "MaxPooling1D 'same'", model: () => stack([7, 3], new MaxPooling1D({ poolSize: 3, strides: 2, padding: 'same' })) },
  { title: "AveragePooling1D 'same'", model: () => stack([7, 3], new AveragePooling1D({ poolSize: 2, padding: 'same' })) },
  { title: 'GlobalAveragePooling2D', model: () => stack(IMAGE, new GlobalAveragePooling2D()) },
  { title: 'GlobalMaxPooling2D keepdims', model: () => stack(IMAGE, new GlobalMaxPooling2D({ keepdims: true })) },
  { title: 'GlobalAveragePooling1D keepdims', model: () => stack([5, 3], new GlobalAveragePooling1D({ keepdims: true })) },
  { title: 'GlobalMaxPooling1D', model: () => stack([5, 3], new GlobalMaxPooling1D()) },
  { title: 'BatchNormalization on channels', model: () => stack(IMAGE, new BatchNormalization()) },
  { title: 'BatchNormalization on axis 1 of images', model: () => stack(IMAGE, new BatchNormalization({ axis: 1, epsilon: 0.01 })) },
  { title: 'BatchNormalization on features without center and scale', model: () => stack([5], new BatchNormalization({ center: false, scale: false })) },
  { title: 'LayerNormalization on the last axis', model: () => stack([4, 5], new LayerNormalization()) },
  { title: 'LayerNormalization on the trailing axes of images', model: () => stack(IMAGE, new LayerNormalization({ axis: [2, 3], epsilon: 0.01 })) },
  { title: 'LayerNormalization on a leading axis, without center', model: () => stack([4, 5], new LayerNormalization({ axis: 1, center: false })) },
  { title: 'LayerNormalization without scale', model: () => stack([5], new LayerNormalization({ scale: false })) },
  ...ACTIVATIONS.map((name) => ({ title: `Activation '${name}'`, model: () => stack([2, 5], new Activation(name)) })),
  { title: 'ReLU with maxValue 6', model: () => stack([8], new ReLU({ maxValue: 6 })), range: [-8, 8] },
  { title: 'ReLU with maxValue, negativeSlope and threshold', model: () => stack([8], new ReLU({ maxValue: 1.5, negativeSlope: 0.1, threshold: 0.5 })) },
  { title: 'ReLU with negativeSlope', model: () => stack([8], new ReLU({ negativeSlope: 0.2 })) },
  { title: 'ReLU with threshold', model: () => stack([8], new ReLU({ threshold: 1 })) },
  { title: 'LeakyReLU', model: () => stack([8], new LeakyReLU({ negativeSlope: 0.25 })) },
  { title: 'PReLU shared over height and width', model: () => stack(IMAGE, new PReLU({ sharedAxes: [1, 2] })) },
  { title: 'ELU with alpha', model: () => stack([8], new ELU({ alpha: 0.5 })) },
  { title: 'Softmax on axis 1', model: () => stack([3, 4], new Softmax({ axis: 1 })) },
  { title: 'Softmax on two axes', model: () => stack([3, 4, 2], new Softmax({ axis: [1, 3] })) },
  { title: 'Flatten', model: () => stack(IMAGE, new Flatten()) },
  { title: 'Reshape', model: () => stack(IMAGE, new Reshape([-1, 6])) },
  { title: 'Permute', model: () => stack(IMAGE, new Permute([3, 1, 2])) },
  { title: 'Dropout', model: () => stack([8], new Dropout(0.5)) },
  { title: 'SpatialDropout2D', model: () => stack(IMAGE, new SpatialDropout2D(0.5)) },
  { title: 'GaussianNoise', model: () => stack([8], new GaussianNoise(0.5)) },
  { title: 'ActivityRegularization', model: () => stack([8], new ActivityRegularization({ l2: 0.1 })) },
  { title: 'ZeroPadding2D', model: () => stack(IMAGE, new ZeroPadding2D([[1, 2], [0, 3]])) },
  { title: 'Cropping2D', model: () => stack(IMAGE, new Cropping2D([[1, 0], [2, 1]])) },
  { title: 'UpSampling2D nearest', model: () => stack(IMAGE, new UpSampling2D([2, 3])) },
  { title: 'UpSampling2D bilinear', model: () => stack(IMAGE, new UpSampling2D({ size: 2, interpolation: 'bilinear' })) },
  { title: 'Rescaling', model: () => stack(IMAGE, new Rescaling(1 / 127.5, { offset: -1 })), range: [0, 255] },
  {
    title: 'Normalization adapted',
    model: async () => {
      const layer = new Normalization();
      await layer.adapt(tensor(randomValues(40, 7, [0, 10]), [10, 4]));
      return stack([3, 4], layer);
    },
  },
  { title: 'Normalization given mean and variance, on axis 1', model: () => stack([3, 4], new Normalization({ axis: 1, mean: [1, 2, 3], variance: [4, 0, 0.25] })) },
  { title: 'Normalization inverted', model: () => stack([4], new Normalization({ mean: 2, variance: 9, invert: true })) },
  { title: 'Resizing bilinear down', model: () => stack([9, 8, 3], new Resizing(5, 3)), range: [0, 255] },
  { title: 'Resizing bilinear up', model: () => stack([4, 5, 3], new Resizing(7, 11)), range: [0, 255] },
  { title: 'Resizing nearest', model: () => stack([7, 8, 3], new Resizing(5, 11, { interpolation: 'nearest' })), range: [0, 255] },
  { title: 'Resizing bicubic', model: () => stack([7, 8, 3], new Resizing(5, 11, { interpolation: 'bicubic' })), range: [0, 255] },
  { title: 'Resizing area', model: () => stack([9, 8, 3], new Resizing(4, 3, { interpolation: 'area' })), range: [0, 255] },
  { title: 'Resizing bilinear antialiased', model: () => stack([13, 8, 3], new Resizing(5, 11, { antialias: true })), range: [0, 255] },
  { title: 'Resizing bicubic antialiased', model: () => stack([13, 8, 3], new Resizing(5, 3, { interpolation: 'bicubic', antialias: true })), range: [0, 255] },
  { title: 'Resizing cropToAspectRatio', model: () => stack([9, 6, 3], new Resizing(4, 4, { cropToAspectRatio: true })), range: [0, 255] },
  { title: 'Resizing padToAspectRatio', model: () => stack([9, 4, 3], new Resizing(4, 4, { padToAspectRatio: true, fillValue: 7 })), range: [0, 255] },
  { title: 'CenterCrop', model: () => stack([9, 8, 3], new CenterCrop(4, 5)) },
  { title: 'CenterCrop larger than the image (smart resize)', model: () => stack([5, 8, 3], new CenterCrop(6, 6)) },
  { title: 'RandomFlip', model: () => stack(IMAGE, new RandomFlip()) },
  { title: 'RandomRotation', model: () => stack(IMAGE, new RandomRotation(0.2)) },
  { title: 'RandomZoom', model: () => stack(IMAGE, new RandomZoom(0.2)) },
  { title: 'RandomTranslation', model: () => stack(IMAGE, new RandomTranslation(0.2, 0.1)) },
  { title: 'RandomContrast', model: () => stack(IMAGE, new RandomContrast(0.3)), range: [0, 255] },
  { title: 'RandomBrightness', model: () => stack(IMAGE, new RandomBrightness(0.3)), range: [0, 255] },
  { title: 'RandomCrop (its centred resize)', model: () => stack([9, 7, 3], new RandomCrop(4, 5)), range: [0, 255] },
  { title: 'Add', model: () => merged(new Add(), [3, 4], [3, 4]) },
  { title: 'Subtract', model: () => merged(new Subtract(), [3, 4], [3, 4]) },
  { title: 'Multiply, broadcasting', model: () => merged(new Multiply(), [3, 4], [1, 4]) },
  { title: 'Average', model: () => merged(new Average(), IMAGE, IMAGE) },
  { title: 'Maximum', model: () => merged(new Maximum(), [5], [5]) },
  { title: 'Minimum', model: () => merged(new Minimum(), [5], [5]) },
  { title: 'Concatenate on channels', model: () => merged(new Concatenate(), IMAGE, [6, 7, 2]) },
  { title: 'Concatenate on axis 1', model: () => merged(new Concatenate({ axis: 1 }), [2, 4], [3, 4]) },
  {
    title: 'a nested model and a shared layer',
    model: () => {
      const base = stack(IMAGE, new Conv2D(3, 3, { padding: 'same', activation: 'relu' }), new BatchNormalization());
      const input = Input({ shape: IMAGE });
      const shared = new Dense(2);
      const features = base.apply(input);
      return new Model({ inputs: input, outputs: new Add().apply([shared.apply(features), shared.apply(new Conv2D(3, 1).apply(input))]) });
    },
  },
];

describe('ONNX export: every layer kind matches predict in onnxruntime-node', () => {
  let ran = 0;
  afterAll(() => {
    // Every case ran (a table that silently skips rows would pass).
    expect(ran).toBe(CASES.length);
  });

  test.each(CASES.map((c, i) => [c.title, c, i] as const))('%s', async (_title, c, i) => {
    const model = await c.model();
    randomizeWeights(model, 1000 * (i + 1));
    await expectExportMatches(model, { seed: i, range: c.range });
    ran++;
  });
});

describe('ONNX export: whole models', () => {
  test('the seed CNN: a file that onnxruntime runs with predict’s results, its input and output named and shaped as the model’s', async () => {
    const model = seedModel();
    const file = path.join(tmp, 'seed.onnx');
    await expect(model.export(file, { format: 'onnx' })).resolves.toBeUndefined();
    const bytes = await expectExportMatches(model, { seed: 5 });
    // The file holds the bytes export() without a path resolves.
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    // Read from the file this time: its input and output named and shaped as the model's, the batch axis symbolic.
    const run = await runOnnx(file, [feedsOf(model, inputsFor(model, 2, 3))]);
    expect(run.inputInfo).toEqual([{ name: model.inputNames[0], type: 'float32', shape: ['batch', 64, 64, 3] }]);
    expect(run.outputInfo).toEqual([{ name: model.outputNames[0], type: 'float32', shape: ['batch', 1] }]);
    expect(run.outputs[0][model.outputNames[0]].dims).toEqual([2, 1]);
  });

  test('a residual network trained a few steps: BatchNormalization in its inference form, on the moving statistics training left', async () => {
    const input = Input({ shape: [8, 8, 3], name: 'image' });
    let x = new Conv2D(8, 3, { padding: 'same', useBias: false }).apply(input);
    x = new BatchNormalization({ momentum: 0.5 }).apply(x);
    x = new Activation('relu').apply(x);
    let y = new Conv2D(8, 3, { padding: 'same', useBias: false }).apply(x);
    y = new BatchNormalization({ momentum: 0.5 }).apply(y);
    x = new Activation('relu').apply(new Add().apply([x, y]));
    const output = new Dense(4, { activation: 'softmax' }).apply(new GlobalAveragePooling2D().apply(x));
    const model = new Model({ inputs: input, outputs: output });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const labels = tensor(Float32Array.from({ length: 32 }, (_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0)), [8, 4]);
    for (let step = 0; step < 3; step++) await model.trainOnBatch(tensor(randomValues(8 * 8 * 8 * 3, step, [0, 3]), [8, 8, 8, 3]), labels);
    // The moving statistics moved far from their initial 0 and 1.
    const info = model.weightInfo();
    const weights = model.getWeights();
    const movingMean = weights[info.findIndex((w) => w.name === 'moving_mean')].dataSync() as Float32Array;
    expect(Math.max(...Array.from(movingMean, Math.abs))).toBeGreaterThan(0.1);
    await expectExportMatches(model, { seed: 9, range: [0, 3] });
  });

  test('MobileNetV2 (alpha 0.35, 32x32)', async () => {
    const model = await applications.MobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], weights: null, classes: 10, classifierActivation: null });
    randomizeWeights(model, 77);
    await expectExportMatches(model, { seed: 11, range: [-1, 1] });
  });

  test('several inputs and outputs, keyed by the model’s input and output names', async () => {
    const image = Input({ shape: [6, 6, 2], name: 'image' });
    const features = Input({ shape: [5], name: 'features' });
    const pooled = new GlobalAveragePooling2D().apply(new Conv2D(3, 3, { name: 'conv' }).apply(image));
    const joined = new Concatenate().apply([pooled, new Dense(4, { name: 'embed' }).apply(features)]);
    const score = new Dense(1, { activation: 'sigmoid', name: 'score' }).apply(joined);
    const classes = new Dense(3, { activation: 'softmax', name: 'classes' }).apply(joined);
    const model = new Model({ inputs: [image, features], outputs: [score, classes, pooled] });
    randomizeWeights(model, 3);
    const bytes = await expectExportMatches(model, { seed: 13 });
    const run = await runOnnx(bytes, []);
    expect(run.inputInfo.map((info) => [info.name, info.shape])).toEqual([['image', ['batch', 6, 6, 2]], ['features', ['batch', 5]]]);
    expect(run.outputInfo.map((info) => [info.name, info.shape])).toEqual(model.outputNames.map((name, i) => [name, ['batch', [1, 3, 3][i]]]));
  });

  test.each([13, 17, 18, 21])('opset %i: the file declares it, and the ops whose form changed with it run', async (opset) => {
    // Reductions took their axes as an attribute before opset 18 and as an input since; LayerNormalization is an op from 17.
    const model = stack([4, 6], new LayerNormalization(), new Softmax({ axis: [1, 2] }), new LayerNormalization({ axis: 1 }), new GlobalMaxPooling1D());
    randomizeWeights(model, opset);
    const header = readModelHeader(await expectExportMatches(model, { opset }));
    expect(header.opsets).toEqual([opset]);
    expect(header.irVersion).toBe(opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10);
    expect(header.producer).toBe('keras-torch');
  });
});

describe('ONNX export: what it refuses', () => {
  test('options: a format other than onnx, a bad opset, an unknown option, a file path that is not a string', async () => {
    const model = stack([3], new Dense(2));
    await expect(model.export(path.join(tmp, 'a.onnx'), { format: 'tf_saved_model' as 'onnx' })).rejects.toThrow(
      "export: expected format to be one of 'onnx' but received \"tf_saved_model\"",
    );
    await expect(model.export(undefined, { opset: 12 })).rejects.toThrow('export: expected opset to be an integer from 13 to 21 but received 12');
    await expect(model.export(undefined, { opset: '17' as unknown as number })).rejects.toThrow('export: expected opset to be an integer from 13 to 21 but received "17"');
    await expect(model.export(undefined, { verbose: true } as never)).rejects.toThrow('export: expected options among format, opset but received "verbose"');
    await expect(model.export(42 as unknown as string)).rejects.toThrow('export: expected a file path but received 42');
    expect(fs.existsSync(path.join(tmp, 'a.onnx'))).toBe(false);
  });

  test('a path that cannot be written: the error names it, and nothing is left behind', async () => {
    const model = stack([3], new Dense(2));
    const missing = path.join(tmp, 'no-such-directory', 'model.onnx');
    await expect(model.export(missing)).rejects.toThrow(`${missing}: cannot write the model file (ENOENT`);
    await expect(model.export(tmp)).rejects.toThrow(`${tmp}: expected a path to a model file but it is a directory`);
  });

  test('layers applied with training: true have no inference form: one error names them all', async () => {
    const input = Input({ shape: [4] });
    const noisy = new GaussianNoise(0.1, { name: 'always_noisy' }).apply(input, { training: true });
    const dropped = new Dropout(0.5, { name: 'always_dropping' }).apply(new Dense(4).apply(noisy), { training: true });
    const model = new Model({ inputs: input, outputs: new Dense(1).apply(dropped) });
    await expect(model.export()).rejects.toThrow(
      "export: these layers cannot be written to ONNX: 'always_noisy' (GaussianNoise applied with training: true, which has no inference form); " +
        "'always_dropping' (Dropout applied with training: true, which has no inference form)",
    );
  });

  test('a model without an input shape, or disposed', async () => {
    await expect(new Sequential([new Dense(2)]).export()).rejects.toThrow('export: the model does not know its input shape yet');
    const model = stack([3], new Dense(2));
    model.dispose();
    await expect(model.export()).rejects.toThrow("export: model 'sequential");
  });
});

/**
 * The ModelProto fields the opset test reads, decoded from the file's bytes: ir_version (field 1),
 * producer_name (2) and each opset_import's version (field 8, its field 2).
 */
function readModelHeader(bytes: Uint8Array): { irVersion: number; producer: string; opsets: number[] } {
  const fieldsOf = (from: number, to: number) => {
    const found: { field: number; value: number; start: number; end: number }[] = [];
    let at = from;
    const varint = () => {
      let value = 0;
      for (let shift = 1; ; shift *= 128) {
        const byte = bytes[at++];
        value += (byte & 0x7f) * shift;
        if (byte < 0x80) return value;
      }
    };
    while (at < to) {
      const key = varint();
      const [field, wire] = [Math.floor(key / 8), key % 8];
      if (wire === 0) found.push({ field, value: varint(), start: at, end: at });
      else if (wire === 2) {
        const length = varint();
        found.push({ field, value: length, start: at, end: at + length });
        at += length;
      } else if (wire === 5) at += 4;
      else if (wire === 1) at += 8;
      else throw new Error(`unexpected wire type ${wire}`);
    }
    return found;
  };
  const top = fieldsOf(0, bytes.length);
  const producer = top.find((f) => f.field === 2)!;
  return {
    irVersion: top.find((f) => f.field === 1)!.value,
    producer: Buffer.from(bytes.subarray(producer.start, producer.end)).toString('utf8'),
    opsets: top.filter((f) => f.field === 8).map((f) => fieldsOf(f.start, f.end).find((g) => g.field === 2)!.value),
  };
}
