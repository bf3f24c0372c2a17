/**
 * loadLayersModel against TensorFlow.js itself: models built and saved in this test by TensorFlow.js (its
 * Layers format, written as its file handler writes it), loaded into keras-torch, and their predictions
 * compared with TensorFlow.js's `model.predict` on the same inputs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Adam, loadLayersModel, loadModel, Model, Sequential, setSeed, SymbolicTensor, tensor, Tensor } from '../../lib';
import { expectClose, seededRandom } from '../helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-tfjs-layers-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let folders = 0;
function folder(): string {
  const dir = path.join(tmp, String(folders++));
  fs.mkdirSync(dir);
  return dir;
}

const random = seededRandom(15);
function uniform(count: number, low: number, high: number, rng = random): Float32Array {
  return Float32Array.from({ length: count }, () => low + (high - low) * rng());
}

/** Seeded weights for every variable (biases and batch statistics included, so none is trivial). */
function randomizeWeights(model: tf.LayersModel, rng = random): void {
  for (const weight of model.weights) {
    const size = (weight.shape as number[]).reduce((a, b) => a * b, 1);
    const values = /moving_variance/.test(weight.originalName) ? uniform(size, 0.5, 1.5, rng) : uniform(size, -0.5, 0.5, rng);
    weight.write(tf.tensor(values, weight.shape as number[]));
  }
}

interface Saved {
  dir: string;
  json: { modelTopology: unknown; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; [key: string]: unknown };
  weightData: ArrayBuffer;
  specs: tf.io.WeightsManifestEntry[];
}

/** Saves as tfjs-node's file handler does: model.json with a weightsManifest, and weights.bin beside it. */
async function saveTfjs(model: tf.LayersModel, dir = folder()): Promise<Saved> {
  let saved: Saved | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const specs = artifacts.weightSpecs ?? [];
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: ['./weights.bin'], weights: specs }],
      };
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(weightData));
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      saved = { dir, json, weightData, specs };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

/** Seeded inputs for each of the model's inputs. */
function inputsFor(model: tf.LayersModel, low = -1, high = 1): { shape: number[]; values: Float32Array }[] {
  return model.inputs.map((input) => {
    const shape = [3, ...(input.shape.slice(1) as number[])];
    return { shape, values: uniform(shape.reduce((a, b) => a * b, 1), low, high) };
  });
}

async function tfjsPrediction(model: tf.LayersModel, inputs: { shape: number[]; values: Float32Array }[]): Promise<Float32Array> {
  const xs = inputs.map((input) => tf.tensor(input.values, input.shape));
  const output = model.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor;
  return output.data() as Promise<Float32Array>;
}

async function ourPrediction(model: Model, inputs: { shape: number[]; values: Float32Array }[]): Promise<Float32Array> {
  const xs = inputs.map((input) => tensor(input.values, input.shape));
  const output = (await model.predict(xs.length === 1 ? xs[0] : xs)) as Tensor;
  return output.dataSync() as Float32Array;
}

/** Keras's result computed from TensorFlow.js's ops, where TensorFlow.js's layer computes something else. */
type Reference = (x: tf.Tensor, model: tf.LayersModel) => tf.Tensor;

/** Loads the saved model and compares its predictions with TensorFlow.js's (or `reference`'s) within 1e-4. */
async function expectSamePredictions(model: tf.LayersModel, source: string, reference?: Reference): Promise<Model> {
  const loaded = await loadLayersModel(source);
  const inputs = inputsFor(model);
  const expected = reference ? ((await reference(tf.tensor(inputs[0].values, inputs[0].shape), model).data()) as Float32Array) : await tfjsPrediction(model, inputs);
  expectClose(await ourPrediction(loaded, inputs), expected, 1e-4);
  return loaded;
}

const L = tf.layers;

/** The seed tutorial's kind of CNN, small: Conv2D, MaxPooling2D, Flatten, Dense, Dropout. */
function tfjsCnn(rng = random): tf.Sequential {
  const model = tf.sequential();
  model.add(L.conv2d({ inputShape: [12, 12, 3], filters: 6, kernelSize: 3, activation: 'relu' }));
  model.add(L.maxPooling2d({ poolSize: [2, 2] }));
  model.add(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  model.add(L.flatten());
  model.add(L.dense({ units: 16, activation: 'relu' }));
  model.add(L.dropout({ rate: 0.5 }));
  model.add(L.dense({ units: 1, activation: 'sigmoid' }));
  randomizeWeights(model, rng);
  return model;
}

/** MobileNetV2's inverted residual block: expand, depthwise, project, add; batch norms with set statistics. */
function tfjsMobileNetBlock(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3], name: 'image' });
  let x = L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }).apply(input) as tf.SymbolicTensor;
  x = L.batchNormalization({ name: 'bn_Conv1', epsilon: 1e-3, momentum: 0.999 }).apply(x) as tf.SymbolicTensor;
  const stem = L.reLU({ maxValue: 6, name: 'Conv1_relu' }).apply(x) as tf.SymbolicTensor;
  x = L.conv2d({ filters: 24, kernelSize: 1, useBias: false, name: 'block_1_expand' }).apply(stem) as tf.SymbolicTensor;
  x = L.batchNormalization({ name: 'block_1_expand_BN' }).apply(x) as tf.SymbolicTensor;
  x = L.activation({ activation: 'relu6', name: 'block_1_expand_relu' }).apply(x) as tf.SymbolicTensor;
  x = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'block_1_depthwise' }).apply(x) as tf.SymbolicTensor;
  x = L.batchNormalization({ name: 'block_1_depthwise_BN' }).apply(x) as tf.SymbolicTensor;
  x = L.reLU({ maxValue: 6, name: 'block_1_depthwise_relu' }).apply(x) as tf.SymbolicTensor;
  x = L.conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'block_1_project' }).apply(x) as tf.SymbolicTensor;
  x = L.batchNormalization({ name: 'block_1_project_BN' }).apply(x) as tf.SymbolicTensor;
  x = L.add({ name: 'block_1_add' }).apply([stem, x]) as tf.SymbolicTensor;
  x = L.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
  const output = L.dense({ units: 5, activation: 'softmax', name: 'predictions' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output, name: 'mobilenetv2_block' });
  randomizeWeights(model);
  return model;
}

describe('loadLayersModel: models TensorFlow.js saved', () => {
  test('a Sequential CNN (Conv2D, MaxPooling2D, Flatten, Dense, Dropout) predicts as in TensorFlow.js', async () => {
    const model = tfjsCnn();
    const saved = await saveTfjs(model);
    const loaded = await expectSamePredictions(model, path.join(saved.dir, 'model.json'));
    expect(loaded).toBeInstanceOf(Sequential);
    expect(loaded.layers.map((layer) => layer.className)).toEqual(['Conv2D', 'MaxPooling2D', 'Conv2D', 'Flatten', 'Dense', 'Dropout', 'Dense']);
    expect(loaded.countParams()).toBe(model.countParams());
  });

  test('a MobileNetV2-style functional graph (BatchNormalization statistics, ReLU6, DepthwiseConv2D, Add) predicts as in TensorFlow.js', async () => {
    const model = tfjsMobileNetBlock();
    const bn = model.getLayer('block_1_depthwise_BN').getWeights();
    const [mean, variance] = [await bn[2].data(), await bn[3].data()];
    expect(Math.max(...Array.from(mean).map(Math.abs))).toBeGreaterThan(0.1);
    expect(Math.min(...Array.from(variance))).toBeGreaterThan(0.5);
    const saved = await saveTfjs(model);
    // The folder, and a file:// URL, name the same model.
    const loaded = await expectSamePredictions(model, saved.dir);
    await expectSamePredictions(model, `file://${path.join(saved.dir, 'model.json')}`);
    expect(loaded.className).toBe('Functional');
    expect(loaded.inputNames).toEqual(['image']);
    expect(loaded.countParams()).toBe(model.countParams());
  });

  test('a nested Sequential inside a functional model (TensorFlow.js numbers its nodes from 1) and two outputs', async () => {
    const inner = tf.sequential({ name: 'inner', layers: [L.dense({ units: 5, inputShape: [4], activation: 'tanh' }), L.batchNormalization()] });
    const input = tf.input({ shape: [4] });
    const features = inner.apply(input) as tf.SymbolicTensor;
    const first = L.dense({ units: 2, activation: 'softmax' }).apply(features) as tf.SymbolicTensor;
    const second = L.add().apply([features, L.dense({ units: 5 }).apply(features) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [first, second] });
    randomizeWeights(model);
    const saved = await saveTfjs(model);
    const loaded = await loadLayersModel<SymbolicTensor[]>(saved.dir);
    const inputs = inputsFor(model);
    const expected = (model.predict(tf.tensor(inputs[0].values, inputs[0].shape)) as tf.Tensor[]).map((t) => t.dataSync());
    const ours = await loaded.predict(tensor(inputs[0].values, inputs[0].shape));
    expect(ours).toHaveLength(2);
    ours.forEach((output, i) => expectClose(output.dataSync() as Float32Array, expected[i], 1e-4));
  });

  test("regularizers and constraints reach the layers (they change training); a layer that takes none refuses them by name", async () => {
    const model = tf.sequential({
      layers: [
        L.dense({ inputShape: [6], units: 4, kernelRegularizer: tf.regularizers.l1l2({ l1: 0.01, l2: 0.02 }), kernelConstraint: tf.constraints.maxNorm({ maxValue: 2, axis: 0 }), name: 'hidden' }),
        L.dense({ units: 1, biasConstraint: tf.constraints.nonNeg(), name: 'out' }),
      ],
    });
    randomizeWeights(model);
    const saved = await saveTfjs(model);
    const loaded = await expectSamePredictions(model, saved.dir);
    expect(loaded.getLayer('hidden').getConfig()).toMatchObject({
      kernelRegularizer: { className: 'L1L2', config: { l1: 0.01, l2: 0.02 } },
      kernelConstraint: { className: 'MaxNorm', config: { maxValue: 2, axis: 0 } },
    });
    expect(loaded.getLayer('out').getConfig()).toMatchObject({ biasConstraint: { className: 'NonNeg' } });

    const conv = await saveTfjs(tf.sequential({ layers: [L.conv1d({ inputShape: [8, 3], filters: 2, kernelSize: 3, kernelRegularizer: 'l1l2' })] }));
    await expect(loadLayersModel(conv.dir)).rejects.toThrow(/Conv1D: expected options among .* but received "kernelRegularizer"/);
  });

  test('model artifacts in memory (as a withSaveHandler receives them) load as the files do', async () => {
    const model = tfjsCnn();
    const saved = await saveTfjs(model);
    const loaded = await loadLayersModel({ modelTopology: saved.json.modelTopology, weightSpecs: saved.specs, weightData: saved.weightData });
    const inputs = inputsFor(model);
    expectClose(await ourPrediction(loaded, inputs), await tfjsPrediction(model, inputs), 1e-4);
  });
});

interface LayerCase {
  name: string;
  build: () => tf.LayersModel;
  /**
   * Keras's result where TensorFlow.js's layer computes something else: its bilinear resizes do not use
   * Keras's half-pixel centres, and its BatchNormalization on an axis other than the last broadcasts the
   * statistics along the wrong axis.
   */
  reference?: Reference;
}

function oneLayer(inputShape: number[], layer: tf.layers.Layer): () => tf.LayersModel {
  return () => {
    const model = tf.sequential({ layers: [L.inputLayer({ inputShape }), layer] });
    randomizeWeights(model);
    return model;
  };
}

function merge(layer: tf.layers.Layer, shapes = [[3, 4], [3, 4]]): () => tf.LayersModel {
  return () => {
    const inputs = shapes.map((shape) => tf.input({ shape }));
    return tf.model({ inputs, outputs: layer.apply(inputs) as tf.SymbolicTensor });
  };
}

const ACTIVATIONS = ['relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus', 'softsign', 'swish', 'gelu', 'softmax', 'linear'] as const;

const CASES: LayerCase[] = [
  { name: 'Dense', build: oneLayer([6], L.dense({ units: 3, activation: 'tanh' })) },
  { name: 'Dense on a sequence', build: oneLayer([4, 6], L.dense({ units: 3, useBias: false })) },
  { name: 'Conv2D', build: oneLayer([7, 7, 3], L.conv2d({ filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'same' })) },
  { name: 'Conv2D dilated', build: oneLayer([9, 9, 2], L.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2 })) },
  { name: 'Conv1D', build: oneLayer([8, 3], L.conv1d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })) },
  { name: 'DepthwiseConv2D', build: oneLayer([7, 7, 3], L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same' })) },
  { name: 'SeparableConv2D', build: oneLayer([8, 8, 3], L.separableConv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same' })) },
  { name: 'Conv2DTranspose', build: oneLayer([5, 5, 3], L.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' })) },
  { name: 'MaxPooling2D', build: oneLayer([7, 7, 2], L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' })) },
  { name: 'AveragePooling2D', build: oneLayer([7, 7, 2], L.averagePooling2d({ poolSize: 2, padding: 'same' })) },
  { name: 'MaxPooling1D', build: oneLayer([9, 2], L.maxPooling1d({ poolSize: 3 })) },
  { name: 'AveragePooling1D', build: oneLayer([9, 2], L.averagePooling1d({ poolSize: 2, padding: 'same' })) },
  { name: 'GlobalAveragePooling2D', build: oneLayer([5, 4, 3], L.globalAveragePooling2d({})) },
  { name: 'GlobalMaxPooling2D', build: oneLayer([5, 4, 3], L.globalMaxPooling2d({})) },
  { name: 'GlobalAveragePooling1D', build: oneLayer([6, 3], L.globalAveragePooling1d()) },
  { name: 'GlobalMaxPooling1D', build: oneLayer([6, 3], L.globalMaxPooling1d()) },
  { name: 'Flatten', build: oneLayer([3, 4, 2], L.flatten()) },
  { name: 'Dropout', build: oneLayer([5], L.dropout({ rate: 0.4 })) },
  ...ACTIVATIONS.map((activation) => ({ name: `Activation ${activation}`, build: oneLayer([2, 5], L.activation({ activation })) })),
  { name: 'Reshape', build: oneLayer([4, 6], L.reshape({ targetShape: [3, 2, 4] })) },
  { name: 'Permute', build: oneLayer([3, 4, 2], L.permute({ dims: [3, 1, 2] })) },
  { name: 'BatchNormalization', build: oneLayer([4, 4, 3], L.batchNormalization({ epsilon: 0.01 })) },
  {
    name: 'BatchNormalization on axis 1',
    build: oneLayer([3, 4], L.batchNormalization({ axis: 1, center: false })),
    reference: (x, model) => {
      const [gamma, mean, variance] = model.getWeights().map((w) => w.reshape([1, 3, 1]));
      return x.sub(mean).div(variance.add(1e-3).sqrt()).mul(gamma);
    },
  },
  { name: 'LayerNormalization', build: oneLayer([3, 6], L.layerNormalization({ epsilon: 1e-5 })) },
  { name: 'ReLU', build: oneLayer([8], L.reLU({ maxValue: 0.3 })) },
  { name: 'LeakyReLU', build: oneLayer([8], L.leakyReLU({ alpha: 0.2 })) },
  { name: 'PReLU', build: oneLayer([4, 4, 3], L.prelu({ sharedAxes: [1, 2] })) },
  { name: 'ELU', build: oneLayer([8], L.elu()) },
  { name: 'Softmax', build: oneLayer([3, 5], L.softmax({ axis: -1 })) },
  { name: 'ZeroPadding2D', build: oneLayer([3, 4, 2], L.zeroPadding2d({ padding: [[1, 2], [0, 1]] })) },
  { name: 'Cropping2D', build: oneLayer([6, 5, 2], L.cropping2D({ cropping: [[1, 2], [0, 1]] })) },
  { name: 'UpSampling2D', build: oneLayer([3, 4, 2], L.upSampling2d({ size: [2, 3] })) },
  {
    name: 'UpSampling2D bilinear',
    build: oneLayer([3, 4, 2], L.upSampling2d({ size: [2, 2], interpolation: 'bilinear' })),
    reference: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [6, 8], false, true),
  },
  { name: 'Add', build: merge(L.add()) },
  { name: 'Multiply', build: merge(L.multiply()) },
  { name: 'Average', build: merge(L.average()) },
  { name: 'Maximum', build: merge(L.maximum()) },
  { name: 'Minimum', build: merge(L.minimum()) },
  { name: 'Concatenate', build: merge(L.concatenate({ axis: 1 }), [[3, 4], [2, 4]]) },
  { name: 'GaussianNoise', build: oneLayer([6], L.gaussianNoise({ stddev: 0.5 })) },
  { name: 'Rescaling', build: oneLayer([4, 4, 3], L.rescaling({ scale: 1 / 127.5, offset: -1 })) },
  { name: 'CenterCrop', build: oneLayer([6, 5, 3], L.centerCrop({ height: 3, width: 2 })) },
  {
    name: 'Resizing',
    build: oneLayer([6, 5, 2], L.resizing({ height: 4, width: 7 })),
    reference: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [4, 7], false, true),
  },
];

describe('loadLayersModel: one model per layer kind that TensorFlow.js and keras-torch share', () => {
  let ran = 0;
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, layerCase) => {
    const model = layerCase.build();
    const saved = await saveTfjs(model);
    await expectSamePredictions(model, path.join(saved.dir, 'model.json'), layerCase.reference);
    ran++;
  });

  test('every case ran', () => {
    expect(CASES.length).toBe(54);
    expect(ran).toBe(CASES.length);
  });
});

/** IEEE 754 binary16 bits of `value`, rounded to nearest even (the test writes float16 weights with it). */
function toHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (exponent >= 31) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (rest > midpoint || (rest === midpoint && half & 1) ? half + 1 : half);
  }
  const half = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half);
}

/** The value of binary16 bits: sign, 5 exponent bits (bias 15), 10 fraction bits. */
function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = (bits & 0x3ff) / 1024;
  if (exponent === 0) return sign * Math.pow(2, -14) * fraction;
  return sign * Math.pow(2, exponent - 15) * (1 + fraction);
}

type Quantization = 'uint8' | 'uint16' | 'float16';

/**
 * Rewrites a saved model's weights quantized as TensorFlow.js's converter stores them
 * (`value = q * scale + min` for uint8/uint16, IEEE half floats for float16), split over two shards.
 */
function quantize(saved: Saved, dtype: Quantization): { specs: tf.io.WeightsManifestEntry[]; data: Buffer; dequantized: Float32Array[] } {
  const all = new Float32Array(saved.weightData);
  let offset = 0;
  const parts: Buffer[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  const dequantized: Float32Array[] = [];
  saved.specs.forEach((spec, i) => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = all.subarray(offset, offset + size);
    offset += size;
    if (dtype === 'float16') {
      const halves = Uint16Array.from(values, toHalf);
      parts.push(Buffer.from(halves.buffer));
      specs.push({ ...spec, quantization: { dtype: 'float16' } });
      dequantized.push(Float32Array.from(halves, fromHalf));
      return;
    }
    const levels = dtype === 'uint8' ? 255 : 65535;
    const min = Math.min(...values);
    const max = Math.max(...values);
    const scale = max > min ? (max - min) / levels : 1;
    const levelsOf = (v: number) => Math.round((v - min) / scale);
    const q = dtype === 'uint8' ? Uint8Array.from(values, levelsOf) : Uint16Array.from(values, levelsOf);
    parts.push(Buffer.from(q.buffer));
    // Newer converters add original_dtype; older ones leave it out. Both are read.
    const quantization = i % 2 === 0 ? { dtype, min, scale, original_dtype: 'float32' } : { dtype, min, scale };
    specs.push({ ...spec, quantization } as tf.io.WeightsManifestEntry);
    dequantized.push(Float32Array.from(q as ArrayLike<number>, (v) => v * scale + min));
  });
  return { specs, data: Buffer.concat(parts), dequantized };
}

describe('loadLayersModel: quantized weights', () => {
  test.each(['uint8', 'uint16', 'float16'] as const)('%s weights decode as TensorFlow.js decodes them, and predict as TensorFlow.js does with them', async (dtype) => {
    const model = tfjsMobileNetBlock();
    const saved = await saveTfjs(model);
    const { specs, data, dequantized } = quantize(saved, dtype);
    const split = Math.floor(data.length / 2);
    fs.writeFileSync(path.join(saved.dir, 'group1-shard1of2.bin'), data.subarray(0, split));
    fs.writeFileSync(path.join(saved.dir, 'group1-shard2of2.bin'), data.subarray(split));
    const json = { ...saved.json, weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs }] };
    fs.writeFileSync(path.join(saved.dir, 'model.json'), JSON.stringify(json));

    // TensorFlow.js's own decoder is the reference, and agrees with the format's formula.
    const decoded = tf.io.decodeWeights(new Uint8Array(data).buffer, specs);
    specs.forEach((spec, i) => expectClose(decoded[spec.name].dataSync() as Float32Array, dequantized[i], 1e-6));
    model.setWeights(model.weights.map((weight) => decoded[weight.originalName]));

    const loaded = await expectSamePredictions(model, saved.dir);
    // Our weights, in Keras's order, are the decoded values (dtype by dtype, not just close in the output).
    const ours = loaded.getWeights();
    const byName = new Map(specs.map((spec, i) => [spec.name, dequantized[i]]));
    const names = model.weights.map((w) => w.originalName);
    // keras-torch orders each layer's weights as Keras does; TensorFlow.js lists trainable ones first.
    const layerOrder = loaded.topology
      .leafLayers()
      .flatMap((leaf) => leaf.weights.map((w) => `${leaf.layer.name}/${w.name}`));
    expect([...layerOrder].sort()).toEqual([...names].sort());
    layerOrder.forEach((name, i) => expectClose(ours[i].dataSync() as Float32Array, byName.get(name)!, 1e-7));
  });
});

describe('loadLayersModel: Keras 3 spellings', () => {
  const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  const initializer = (className: string) => ({ module: 'keras.initializers', class_name: className, config: { seed: null }, registered_name: null });
  const tensorRef = (name: string, shape: (number | null)[]) => ({
    class_name: '__keras_tensor__',
    config: { shape, dtype: 'float32', keras_history: [name, 0, 0] },
  });
  const layer = (className: string, name: string, config: Record<string, unknown>, args: unknown[], kwargs: Record<string, unknown> = {}) => ({
    module: 'keras.layers',
    class_name: className,
    config: { name, trainable: true, dtype: policy, ...config },
    registered_name: null,
    build_config: { input_shape: [null, 8, 8, 3] },
    name,
    inbound_nodes: args.length === 0 ? [] : [{ args, kwargs }],
  });

  /** A functional model as Keras 3's config writes it, with a nested Sequential, and the same model built by TensorFlow.js. */
  function keras3Functional() {
    const nested = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 'head',
        trainable: true,
        dtype: policy,
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 4], dtype: 'float32', sparse: false, ragged: false, name: 'head_input' }, registered_name: null },
          {
            module: 'keras.layers',
            class_name: 'Dense',
            config: {
              name: 'logits', trainable: true, dtype: policy, units: 3, activation: 'softmax', use_bias: true,
              kernel_initializer: initializer('GlorotUniform'), bias_initializer: { module: 'keras.initializers', class_name: 'Zeros', config: {}, registered_name: null },
              kernel_regularizer: null, bias_regularizer: null, kernel_constraint: null, bias_constraint: null, quantization_config: null,
            },
            registered_name: null,
            build_config: { input_shape: [null, 4] },
          },
        ],
        build_input_shape: [null, 4],
      },
      registered_name: null,
      build_config: { input_shape: [null, 4] },
      name: 'head',
      inbound_nodes: [{ args: [tensorRef('pool', [null, 4])], kwargs: {} }],
    };
    const config = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'keras3_model',
        trainable: true,
        layers: [
          layer('InputLayer', 'input_layer', { batch_shape: [null, 8, 8, 3], sparse: false, ragged: false, optional: false, dtype: 'float32' }, []),
          layer('Conv2D', 'conv', {
            filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], groups: 1,
            activation: 'relu', use_bias: true, kernel_initializer: initializer('HeNormal'), bias_initializer: initializer('Zeros'),
            kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
          }, [tensorRef('input_layer', [null, 8, 8, 3])]),
          layer('BatchNormalization', 'bn', {
            axis: -1, momentum: 0.99, epsilon: 0.001, center: true, scale: true, beta_initializer: initializer('Zeros'), gamma_initializer: initializer('Ones'),
            moving_mean_initializer: initializer('Zeros'), moving_variance_initializer: initializer('Ones'), beta_regularizer: null, gamma_regularizer: null,
            beta_constraint: null, gamma_constraint: null, synchronized: false,
          }, [tensorRef('conv', [null, 8, 8, 4])], { training: false, mask: null }),
          layer('DepthwiseConv2D', 'depthwise', {
            kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], depth_multiplier: 1,
            activation: 'linear', use_bias: false, depthwise_initializer: initializer('GlorotUniform'), depthwise_regularizer: null, depthwise_constraint: null,
            bias_initializer: initializer('Zeros'), bias_regularizer: null, activity_regularizer: null, bias_constraint: null,
          }, [tensorRef('bn', [null, 8, 8, 4])]),
          layer('Add', 'add', {}, [[tensorRef('bn', [null, 8, 8, 4]), tensorRef('depthwise', [null, 8, 8, 4])]]),
          layer('GlobalAveragePooling2D', 'pool', { data_format: 'channels_last', keepdims: false }, [tensorRef('add', [null, 8, 8, 4])]),
          nested,
        ],
        // Keras 3.0 wrote one input as a bare reference; later versions as a list of one.
        input_layers: ['input_layer', 0, 0],
        output_layers: [['head', 0, 0]],
      },
      registered_name: 'Functional',
      build_config: { input_shape: null },
    };
    const specs = [
      { name: 'conv/kernel', shape: [3, 3, 3, 4] },
      { name: 'conv/bias', shape: [4] },
      { name: 'bn/gamma', shape: [4] },
      { name: 'bn/beta', shape: [4] },
      { name: 'bn/moving_mean', shape: [4] },
      { name: 'bn/moving_variance', shape: [4] },
      { name: 'depthwise/depthwise_kernel', shape: [3, 3, 4, 1] },
      { name: 'head/logits/kernel', shape: [4, 3] },
      { name: 'head/logits/bias', shape: [3] },
    ].map((spec) => ({ ...spec, dtype: 'float32' as const }));
    const values = specs.map((spec) => {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      return spec.name.endsWith('moving_variance') ? uniform(size, 0.5, 1.5) : uniform(size, -0.5, 0.5);
    });

    const input = tf.input({ shape: [8, 8, 3] });
    const conv = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' });
    const bn = L.batchNormalization({ name: 'bn' });
    const depthwise = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'depthwise' });
    const logits = L.dense({ units: 3, activation: 'softmax', name: 'logits' });
    const normalized = bn.apply(conv.apply(input)) as tf.SymbolicTensor;
    const added = L.add().apply([normalized, depthwise.apply(normalized) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const reference = tf.model({ inputs: input, outputs: logits.apply(L.globalAveragePooling2d({}).apply(added)) as tf.SymbolicTensor });
    const [k, b, gamma, beta, mean, variance, dk, lk, lb] = values.map((v, i) => tf.tensor(v, specs[i].shape));
    conv.setWeights([k, b]);
    bn.setWeights([gamma, beta, mean, variance]);
    depthwise.setWeights([dk]);
    logits.setWeights([lk, lb]);
    return { config, specs, values, reference };
  }

  function write(topology: unknown, specs: { name: string; shape: number[]; dtype: string }[], values: Float32Array[]): string {
    const dir = folder();
    fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.concat(values.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength))));
    const json = {
      format: 'layers-model',
      generatedBy: 'keras v3.5.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: { keras_version: '3.5.0', backend: 'tensorflow', model_config: topology },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }],
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    return path.join(dir, 'model.json');
  }

  test('a functional config (module and registered_name, DTypePolicy, batch_shape, {args, kwargs} nodes, a nested Sequential) predicts as the same model in TensorFlow.js', async () => {
    const { config, specs, values, reference } = keras3Functional();
    const loaded = await expectSamePredictions(reference, write(config, specs, values));
    expect(loaded.layers.map((l) => l.name)).toEqual(['input_layer', 'conv', 'bn', 'depthwise', 'add', 'pool', 'head']);
  });

  test('a Sequential config with its InputLayer and Keras 3 weight names by position (dense/0, dense/vars/1)', async () => {
    const topology = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        trainable: true,
        dtype: policy,
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 6], dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null },
          { module: 'keras.layers', class_name: 'Dense', config: { name: 'dense', units: 4, activation: 'gelu', use_bias: true, dtype: policy, kernel_regularizer: null }, registered_name: null },
          { module: 'keras.layers', class_name: 'LayerNormalization', config: { name: 'norm', axis: -1, epsilon: 0.001, center: true, scale: true, rms_scaling: false, dtype: policy }, registered_name: null },
        ],
        build_input_shape: [null, 6],
      },
      registered_name: null,
    };
    const specs = [
      { name: 'dense/0', shape: [6, 4], dtype: 'float32' },
      { name: 'dense/vars/1', shape: [4], dtype: 'float32' },
      { name: 'norm/gamma', shape: [4], dtype: 'float32' },
      { name: 'norm/beta', shape: [4], dtype: 'float32' },
    ];
    const values = specs.map((spec) => uniform(spec.shape.reduce((a, b) => a * b, 1), -1, 1));
    const reference = tf.sequential({ layers: [L.dense({ inputShape: [6], units: 4, activation: 'gelu' }), L.layerNormalization()] });
    reference.setWeights(values.map((v, i) => tf.tensor(v, specs[i].shape)));
    await expectSamePredictions(reference, write(topology, specs, values));
  });
});

describe('loadLayersModel: the loaded model is a keras-torch model', () => {
  test('it trains (the loss goes down) and saves and loads in keras-torch\'s own format', async () => {
    // Its own generator: the weights and data do not depend on which tests ran before.
    const rng = seededRandom(7);
    setSeed(15);
    const saved = await saveTfjs(tfjsCnn(rng));
    const model = await loadLayersModel(saved.dir);
    model.compile({ optimizer: new Adam({ learningRate: 0.005 }), loss: 'binary_crossentropy', metrics: ['accuracy'] });
    const x = tensor(uniform(32 * 12 * 12 * 3, 0, 1, rng), [32, 12, 12, 3]);
    const labels = Float32Array.from({ length: 32 }, (_, i) => i % 2);
    // A learnable signal: the positive samples are brighter.
    const pixels = x.dataSync() as Float32Array;
    labels.forEach((label, i) => {
      if (label) for (let j = i * 432; j < (i + 1) * 432; j++) pixels[j] += 0.5;
    });
    const xs = tensor(pixels, [32, 12, 12, 3]);
    const ys = tensor(labels, [32, 1]);
    // Evaluated without dropout, before and after: the training loss of an epoch moves with Dropout's masks.
    const [before] = (await model.evaluate(xs, ys, { verbose: 0 })) as number[];
    await model.fit(xs, ys, { epochs: 10, batchSize: 8, verbose: 0 });
    const [after] = (await model.evaluate(xs, ys, { verbose: 0 })) as number[];
    expect(after).toBeLessThan(before * 0.7);

    const file = path.join(folder(), 'model.safetensors');
    await model.save(file);
    const restored = await loadModel(file);
    expectClose((await restored.predict(xs)).dataSync() as Float32Array, (await model.predict(xs)).dataSync() as Float32Array, 1e-6);
  });
});

describe('loadLayersModel: errors name what was expected and what was received', () => {
  async function rejection(source: Parameters<typeof loadLayersModel>[0]): Promise<string> {
    try {
      await loadLayersModel(source);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected loadLayersModel to reject');
  }

  test('layer kinds keras-torch lacks are named together, in one error', async () => {
    const model = tf.sequential({
      layers: [L.embedding({ inputDim: 10, outputDim: 4, inputLength: 5 }), L.lstm({ units: 3 }), L.dense({ units: 1 })],
    });
    const saved = await saveTfjs(model);
    const message = await rejection(saved.dir);
    expect(message).toContain('Embedding');
    expect(message).toContain('LSTM');
    expect(message).toMatch(/no layer kinds Embedding \('embedding_Embedding\d+'\), LSTM \('lstm_LSTM\d+'\)/);
  });

  test('a missing model.json, a missing weight file, a short shard, a shape that disagrees', async () => {
    const missing = path.join(tmp, 'nowhere', 'model.json');
    expect(await rejection(missing)).toBe(`loadLayersModel: expected a TensorFlow.js model.json at ${missing} but it cannot be read (ENOENT)`);

    const saved = await saveTfjs(tfjsCnn());
    const bin = path.join(saved.dir, 'weights.bin');
    const bytes = fs.readFileSync(bin);
    fs.rmSync(bin);
    expect(await rejection(saved.dir)).toContain(`expected the weight file ${bin} (weightsManifest[0].paths[0]) but it cannot be read (ENOENT)`);

    fs.writeFileSync(bin, bytes.subarray(0, bytes.length - 2));
    const last = saved.specs[saved.specs.length - 1].name;
    expect(await rejection(saved.dir)).toContain(
      `expected the weight files of weightsManifest[0] (${bin}) to hold ${bytes.length} bytes (the ${saved.specs.length} weights of its manifest) but they hold ${bytes.length - 2}, which ends within weight '${last}'`,
    );

    fs.writeFileSync(bin, bytes);
    const json = JSON.parse(fs.readFileSync(path.join(saved.dir, 'model.json'), 'utf8'));
    const kernel = json.weightsManifest[0].weights.find((w: { shape: number[] }) => w.shape.length === 2);
    const shape = [...kernel.shape];
    kernel.shape = [shape[1], shape[0]];
    fs.writeFileSync(path.join(saved.dir, 'model.json'), JSON.stringify(json));
    expect(await rejection(saved.dir)).toContain(
      `expected weight '${kernel.name}' of layer '${kernel.name.split('/')[0]}' (Dense) to have shape [${shape.join(', ')}] (from the config) but the manifest gives [${shape[1]}, ${shape[0]}]`,
    );
  });

  test('weights the config lacks, and weights the manifest lacks', async () => {
    const saved = await saveTfjs(tfjsCnn());
    const extra = { ...saved.json, weightsManifest: [{ paths: ['./weights.bin'], weights: [...saved.specs, { name: 'stray/kernel', shape: [1], dtype: 'float32' }] }] };
    fs.appendFileSync(path.join(saved.dir, 'weights.bin'), Buffer.alloc(4));
    fs.writeFileSync(path.join(saved.dir, 'model.json'), JSON.stringify(extra));
    expect(await rejection(saved.dir)).toContain("the manifest has a weight 'stray/kernel' that no layer of the config takes");

    const bias = saved.specs.find((spec) => spec.name.endsWith('/bias'))!;
    const fewer = { ...saved.json, weightsManifest: [{ paths: ['./weights.bin'], weights: saved.specs.map((s) => (s === bias ? { ...s, name: 'renamed/bias' } : s)) }] };
    fs.writeFileSync(path.join(saved.dir, 'model.json'), JSON.stringify(fewer));
    expect(await rejection(saved.dir)).toContain(`expected a weight named '${bias.name}' (the bias of Conv2D '${bias.name.split('/')[0]}', shape [6]) but the manifest has none`);
  });

  test('config fields keras-torch does not support are refused by name', async () => {
    const saved = await saveTfjs(tfjsMobileNetBlock());
    const original = fs.readFileSync(path.join(saved.dir, 'model.json'), 'utf8');
    const edit = (change: (layers: { class_name: string; config: Record<string, unknown> }[]) => void) => {
      const json = JSON.parse(original);
      change(json.modelTopology.config.layers);
      fs.writeFileSync(path.join(saved.dir, 'model.json'), JSON.stringify(json));
      return rejection(saved.dir);
    };
    const byName = (layers: { config: Record<string, unknown> }[], name: string) => layers.find((l) => l.config.name === name)!.config;

    expect(await edit((layers) => (byName(layers, 'Conv1').dtype = { class_name: 'DTypePolicy', config: { name: 'mixed_float16' } }))).toContain(
      "layer 'Conv1' (Conv2D): expected dtype 'float32' (keras-torch computes in float32) but received \"mixed_float16\"",
    );
    expect(await edit((layers) => (byName(layers, 'bn_Conv1').renorm = true))).toContain(
      "layer 'bn_Conv1' (BatchNormalization): expected renorm to be false (keras-torch has no batch renormalization) but received true",
    );
    expect(await edit((layers) => (byName(layers, 'Conv1').data_format = 'channels_first'))).toContain(
      `layer 'Conv1' (Conv2D): expected data_format to be "channels_last" (keras-torch's layers are channels-last) but received "channels_first"`,
    );
    expect(await edit((layers) => (byName(layers, 'predictions').activation = 'hard_sigmoid'))).toContain('but received "hard_sigmoid"');
    expect(await edit((layers) => (byName(layers, 'image').batch_input_shape = [null, null, null, 3]))).toContain(
      'expected batch_input_shape to give every axis after the batch axis a size (keras-torch fixes input shapes) but received [null, null, null, 3]',
    );
  });

  test('a graph model and bad sources', async () => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    expect(await rejection(dir)).toContain("expected a Layers model (format 'layers-model') but received a graph model");
    const malformed = {
      class_name: 'Functional',
      config: {
        name: 'broken',
        layers: [
          { class_name: 'InputLayer', name: 'in', config: { batch_shape: [null, 3], name: 'in' }, inbound_nodes: [] },
          { class_name: 'Dense', name: 'out', config: { units: 2, name: 'out' }, inbound_nodes: [{ args: [{ class_name: '__keras_tensor__' }], kwargs: {} }] },
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['out', 0, 0]],
      },
    };
    expect(await rejection({ modelTopology: malformed })).toBe(
      'loadLayersModel the model artifacts: expected an input of layer \'out\' to be a tensor reference [layer name, node index, tensor index] but received undefined',
    );
    expect(await rejection(42 as never)).toBe('loadLayersModel: expected a path to a model.json or model artifacts ({ modelTopology, weightSpecs, weightData }) but received 42');
  });
});
