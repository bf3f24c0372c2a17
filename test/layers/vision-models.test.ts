/** Models made of the convolution, padding, resizing and pooling layers: save/load, summary, training. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Activation,
  AveragePooling1D,
  Conv1D,
  Conv2D,
  Conv2DTranspose,
  Cropping2D,
  Dense,
  DepthwiseConv2D,
  Flatten,
  GlobalAveragePooling1D,
  GlobalMaxPooling1D,
  GlobalMaxPooling2D,
  Input,
  InputLayer,
  loadModel,
  MaxPooling1D,
  Model,
  SeparableConv2D,
  Sequential,
  setSeed,
  tensor,
  Tensor,
  UpSampling2D,
  ZeroPadding2D,
} from '../../lib';
import { parseSafetensors } from '../../lib/io/safetensors';
import { values } from '../helpers';
import { randomValues } from './torch-reference';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-vision-layers-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function imageModel(): Sequential {
  const model = new Sequential([
    new InputLayer({ inputShape: [8, 8, 3] }),
    new ZeroPadding2D([[0, 1], [0, 1]], { name: 'pad' }),
    new Conv2D(4, 3, { strides: 2, name: 'stem' }),
    new DepthwiseConv2D(3, { padding: 'same', depthMultiplier: 2, activation: 'relu6', name: 'dw' }),
    new Conv2D(4, 1, { groups: 2, name: 'grouped' }),
    new SeparableConv2D(4, 3, { padding: 'same', activation: 'relu', name: 'sep' }),
    new Conv2DTranspose(2, 3, { strides: 2, padding: 'same', name: 'up_conv' }),
    new Cropping2D(1, { name: 'crop' }),
    new UpSampling2D({ interpolation: 'bilinear', name: 'up' }),
    new GlobalMaxPooling2D({ name: 'gmp' }),
    new Dense(2, { activation: 'softmax', name: 'out' }),
  ]);
  model.compile({ optimizer: 'adam', loss: 'categorical_crossentropy' });
  return model;
}

function sequenceModel(pooling: 'average' | 'max'): Sequential {
  const model = new Sequential([
    new InputLayer({ inputShape: [12, 3] }),
    new Conv1D(4, 3, { padding: 'causal', activation: 'relu', name: 'conv' }),
    new MaxPooling1D(2, { name: 'max' }),
    new AveragePooling1D(2, { padding: 'same', name: 'avg' }),
    pooling === 'average' ? new GlobalAveragePooling1D({ name: 'global' }) : new GlobalMaxPooling1D({ name: 'global' }),
    new Dense(1, { name: 'out' }),
  ]);
  model.compile({ optimizer: 'adam', loss: 'mse' });
  return model;
}

const images = (): ReturnType<typeof tensor> => tensor(Float32Array.from(randomValues(4 * 8 * 8 * 3, 11)), [4, 8, 8, 3]);
const labels = (): ReturnType<typeof tensor> => tensor(new Float32Array([1, 0, 0, 1, 1, 0, 0, 1]), [4, 2]);

describe('models of the vision layers', () => {
  test('summary lists each layer with its output shape and Keras parameter count', () => {
    const summary = imageModel().summary({ printFn: () => undefined });
    expect(summary).toMatch(/pad \(ZeroPadding2D\)\s+│ \(None, 9, 9, 3\)\s+│\s+0/);
    expect(summary).toMatch(/dw \(DepthwiseConv2D\)\s+│ \(None, 4, 4, 8\)\s+│\s+80/);
    expect(summary).toMatch(/grouped \(Conv2D\)\s+│ \(None, 4, 4, 4\)\s+│\s+20/);
    expect(summary).toMatch(/sep \(SeparableConv2D\)\s+│ \(None, 4, 4, 4\)\s+│\s+56/);
    expect(summary).toMatch(/up_conv \(Conv2DTranspose\)\s+│ \(None, 8, 8, 2\)\s+│\s+74/);
    expect(summary).toMatch(/crop \(Cropping2D\)\s+│ \(None, 6, 6, 2\)/);
    expect(summary).toMatch(/up \(UpSampling2D\)\s+│ \(None, 12, 12, 2\)/);
    expect(summary).toMatch(/gmp \(GlobalMaxPooling2D\)\s+│ \(None, 2\)/);
    const sequence = sequenceModel('average').summary({ printFn: () => undefined });
    expect(sequence).toMatch(/conv \(Conv1D\)\s+│ \(None, 12, 4\)\s+│\s+40/);
    expect(sequence).toMatch(/max \(MaxPooling1D\)\s+│ \(None, 6, 4\)/);
    expect(sequence).toMatch(/avg \(AveragePooling1D\)\s+│ \(None, 3, 4\)/);
    expect(sequence).toMatch(/global \(GlobalAveragePooling1D\)\s+│ \(None, 4\)/);
  });

  test('save and loadModel: identical predictions, and training resumes identically', async () => {
    setSeed(3);
    const model = imageModel();
    await model.fit(images(), labels(), { epochs: 2, batchSize: 2, verbose: 0, shuffle: false });
    const file = path.join(tmp, 'image.safetensors');
    await model.save(file);
    const loaded = await loadModel(file);
    expect(loaded.layers.map((l) => l.className)).toEqual(model.layers.map((l) => l.className));
    expect(loaded.layers.map((l) => l.getConfig())).toEqual(model.layers.map((l) => l.getConfig()));
    expect(values(await loaded.predict(images()))).toEqual(values(await model.predict(images())));
    await model.trainOnBatch(images(), labels());
    await loaded.trainOnBatch(images(), labels());
    expect(loaded.getWeights().map(values)).toEqual(model.getWeights().map(values));

    // The file holds torch's layouts: a depthwise kernel as a grouped convolution's weight.
    const { tensors } = parseSafetensors(fs.readFileSync(file), file);
    expect(tensors.get('dw.depthwise_kernel')!.shape).toEqual([8, 1, 3, 3]);
    expect(tensors.get('up_conv.weight')!.shape).toEqual([4, 2, 3, 3]);
    expect(tensors.get('grouped.weight')!.shape).toEqual([4, 4, 1, 1]);
  });

  test.each(['average', 'max'] as const)('a Conv1D sequence model with global %s pooling saves, loads and trains', async (pooling) => {
    setSeed(5);
    const model = sequenceModel(pooling);
    const x = tensor(Float32Array.from(randomValues(6 * 12 * 3, 13)), [6, 12, 3]);
    const y = tensor(Float32Array.from(randomValues(6, 17)), [6, 1]);
    const history = await model.fit(x, y, { epochs: 8, batchSize: 6, verbose: 0 });
    expect(history.history.loss[7]).toBeLessThan(history.history.loss[0]);
    const file = path.join(tmp, `sequence-${pooling}.safetensors`);
    await model.save(file);
    const loaded = await loadModel(file);
    expect(values(await loaded.predict(x))).toEqual(values(await model.predict(x)));
    const { tensors } = parseSafetensors(fs.readFileSync(file), file);
    expect(tensors.get('conv.weight')!.shape).toEqual([4, 3, 3]);
  });
});

describe('views in inference', () => {
  test("an activation after Cropping2D leaves the cropped tensor's other readers unchanged", async () => {
    // relu after the crop may run in place in predict; the crop must not hand it a view of x, which
    // GlobalMaxPooling2D reads afterwards (x is all negative: its maxima are negative).
    const image = Input({ shape: [4, 4, 1] });
    const x = new Conv2D(1, 1, { kernelInitializer: 'ones', biasInitializer: { name: 'constant', value: -10 } }).apply(image);
    const cropped = new Activation('relu').apply(new Cropping2D(1).apply(x));
    const model = new Model({ inputs: image, outputs: [new Flatten().apply(cropped), new GlobalMaxPooling2D().apply(x)] });
    const input = tensor(Float32Array.from({ length: 16 }, (_, i) => i / 16), [1, 4, 4, 1]);
    const [, maxima] = (await model.predict(input)) as Tensor[];
    expect(values(maxima)[0]).toBeCloseTo(15 / 16 - 10, 5);
  });
});
