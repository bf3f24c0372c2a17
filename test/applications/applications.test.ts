/**
 * Keras's applications: parameter counts equal to Keras's published figures, Keras's layer names and
 * shapes, outputs equal to the same architecture written in torch.nn (bench/keras_applications.py) on the
 * same weights, preprocessInput against Keras's formulas, save/load, and the options' checks.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Adam, applications, Dense, GlobalAveragePooling2D, Input, loadModel, losses, Model, modelToSvg, Rescaling, setSeed, SGD, SymbolicTensor, tensor, Tensor } from '../../lib';
import { seededRandom } from '../helpers';
import { describeIf } from '../helpers/peers';
import { LOAD_STATE, pythonHas, runPython, torchPredictions } from '../helpers/python';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-applications-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function randomImages(shape: number[], seed: number, scale = 1): Tensor {
  const next = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: size }, () => (next() * 2 - 1) * scale), shape);
}

/** Random moving statistics, so that inference-mode BatchNormalization is not the identity. */
function randomizeBatchNormStatistics(model: Model<SymbolicTensor>, seed: number): void {
  const next = seededRandom(seed);
  const { names } = model.weightFileNames();
  const size = (w: Tensor) => w.shape.reduce((a, b) => a * b, 1);
  const weights = model.getWeights().map((w, i) => {
    if (names[i].endsWith('running_mean')) return tensor(Float32Array.from({ length: size(w) }, () => (next() - 0.5) * 0.2), [...w.shape]);
    if (names[i].endsWith('running_var')) return tensor(Float32Array.from({ length: size(w) }, () => 0.5 + next()), [...w.shape]);
    return w;
  });
  model.setWeights(weights);
}

// Keras's published parameter counts (keras.io/api/applications and model.summary() of Keras's definitions).
describe('parameter counts and shapes are Keras\'s', () => {
  test.each([
    ['MobileNetV2', () => applications.MobileNetV2(), 3_538_984, [1000]],
    ['MobileNetV2 without the top', () => applications.MobileNetV2({ includeTop: false }), 2_257_984, [7, 7, 1280]],
    ['ResNet50', () => applications.ResNet50(), 25_636_712, [1000]],
    ['ResNet50 without the top, avg pooling', () => applications.ResNet50({ includeTop: false, pooling: 'avg' }), 23_587_712, [2048]],
    ['VGG16', () => applications.VGG16(), 138_357_544, [1000]],
    ['VGG16 without the top at 64x64', () => applications.VGG16({ includeTop: false, inputShape: [64, 64, 3] }), 14_714_688, [2, 2, 512]],
    ['EfficientNetB0', () => applications.EfficientNetB0(), 5_330_571, [1000]],
    ['EfficientNetB0 without the top, max pooling', () => applications.EfficientNetB0({ includeTop: false, pooling: 'max' }), 4_049_571, [1280]],
  ])('%s', async (_title, make, params, outputShape) => {
    const model = await make();
    expect(model.countParams()).toBe(params);
    expect(model.outputShape).toEqual(outputShape);
  });

  test("Keras's layer names and model names", async () => {
    const mobilenet = await applications.MobileNetV2({ inputShape: [96, 96, 3], alpha: 0.5 });
    expect(mobilenet.name).toBe('mobilenetv2_0.50_96');
    const names = mobilenet.layers.map((l) => l.name);
    for (const name of ['Conv1', 'bn_Conv1', 'Conv1_relu', 'expanded_conv_depthwise', 'expanded_conv_project_BN', 'block_1_pad', 'block_2_add', 'block_16_project_BN', 'Conv_1', 'Conv_1_bn', 'out_relu', 'predictions']) {
      expect(names).toContain(name);
    }
    const resnet = await applications.ResNet50({ includeTop: false, inputShape: [64, 64, 3] });
    expect(resnet.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['conv1_pad', 'conv1_conv', 'pool1_pool', 'conv2_block1_0_conv', 'conv4_block6_out', 'conv5_block3_out']));
    expect(resnet.layers).toHaveLength(175); // Keras's ResNet50 has 177 layers, the input included; without the top 175
    const vgg = await applications.VGG16({ includeTop: false, inputShape: [32, 32, 3] });
    expect(vgg.layers.map((l) => l.name).slice(1)).toEqual([
      'block1_conv1', 'block1_conv2', 'block1_pool', 'block2_conv1', 'block2_conv2', 'block2_pool',
      'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_pool', 'block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_pool',
      'block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_pool',
    ]);
    const efficientnet = await applications.EfficientNetB0({ includeTop: false, inputShape: [64, 64, 3] });
    expect(efficientnet.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['stem_conv_pad', 'block1a_se_excite', 'block2b_drop', 'block2b_add', 'block7a_project_bn', 'top_activation']));
    [mobilenet, resnet, vgg, efficientnet].forEach((m) => m.dispose());
  });
});

test("plotModel draws an application's whole graph, one arrow per connection, shortcuts included", async () => {
  const resnet = await applications.ResNet50({ includeTop: false, inputShape: [32, 32, 3] });
  const svg = modelToSvg(resnet);
  for (const name of ['conv1_pad (ZeroPadding2D)', 'conv2_block1_0_conv (Conv2D)', 'conv5_block3_add (Add)', 'conv5_block3_out (Activation)']) expect(svg).toContain(name);
  // 174 layers after the input read one tensor each, and the 16 Add layers a second one.
  expect(svg.match(/data-to="/g)).toHaveLength(174 + 16);
  resnet.dispose();
});

describe('options are checked as Keras checks them', () => {
  test.each([
    ['ImageNet weights (nothing is downloaded)', () => applications.MobileNetV2({ weights: 'imagenet' }), /MobileNetV2: expected weights to be null or the path of a weights file .* but received "imagenet"/],
    ['input smaller than 32x32', () => applications.ResNet50({ includeTop: false, inputShape: [31, 64, 3] }), /ResNet50: expected inputShape of at least 32x32 in height and width but received \[31, 64, 3\]/],
    ['pooling "min"', () => applications.VGG16({ includeTop: false, pooling: 'min' as 'max' }), /VGG16: expected pooling to be one of 'avg', 'max' but received "min"/],
    ['classes 0', () => applications.EfficientNetB0({ classes: 0 }), /EfficientNetB0: expected classes to be a positive integer but received 0/],
    ['alpha -1', () => applications.MobileNetV2({ alpha: -1 }), /MobileNetV2: expected alpha to be a positive number but received -1/],
    ['an unknown option', () => applications.ResNet50({ include_top: false } as never), /ResNet50: .*include_top/],
    ['an unknown classifier activation', () => applications.ResNet50({ classifierActivation: 'softermax' as 'softmax' }), /ResNet50: expected classifierActivation to be null or one of .* but received "softermax"/],
    ['a weights file that does not exist', () => applications.MobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], includeTop: false, weights: path.join(tmp, 'missing.safetensors') }), /MobileNetV2: could not load weights from .*missing\.safetensors/],
  ])('%s', async (_title, make, error) => {
    await expect(make()).rejects.toThrow(error);
  });
});

describe('preprocessInput follows Keras\'s modes', () => {
  const pixels = [[0, 127.5, 255], [10, 20, 30]];
  test("mobilenetV2 ('tf'): x / 127.5 - 1", () => {
    expect(Array.from(applications.mobilenetV2.preprocessInput(tensor(pixels)).dataSync() as Float32Array)).toEqual([-1, 0, 1, 10 / 127.5 - 1, 20 / 127.5 - 1, 30 / 127.5 - 1].map(Math.fround));
  });
  test.each([['resnet50', applications.resnet50.preprocessInput], ['vgg16', applications.vgg16.preprocessInput]])("%s ('caffe'): RGB to BGR, minus ImageNet's BGR mean", (_name, preprocess) => {
    const expected = [255 - 103.939, 127.5 - 116.779, 0 - 123.68, 30 - 103.939, 20 - 116.779, 10 - 123.68].map(Math.fround);
    expect(Array.from(preprocess(tensor(pixels)).dataSync() as Float32Array)).toEqual(expected);
  });
  test('efficientnet: the model preprocesses its inputs itself, so this passes them through', () => {
    expect(Array.from(applications.efficientnet.preprocessInput(tensor(pixels)).dataSync() as Float32Array)).toEqual(pixels.flat());
  });
  test('a tensor without 3 channels is refused', () => {
    expect(() => applications.resnet50.preprocessInput(tensor([[1, 2]]))).toThrow(/resnet50\.preprocessInput: expected images with 3 channels last/);
  });
});

describeIf(pythonHas('torch'), 'the application reference tests need python3-torch (apt-get install python3-torch)')('outputs equal the same architecture written in torch.nn', () => {

  async function compare(model: Model<SymbolicTensor>, definition: string, shape: number[], name: string, tolerance: number): Promise<void> {
    randomizeBatchNormStatistics(model, 17);
    const x = randomImages(shape, 5);
    const file = path.join(tmp, `${name}.safetensors`);
    const inputs = path.join(tmp, `${name}.f32`);
    await model.saveWeights(file);
    fs.writeFileSync(inputs, Buffer.from((x.dataSync() as Float32Array).buffer));
    const ours = Array.from((await model.predict(x)).dataSync() as Float32Array);
    const theirs = torchPredictions(
      `sys.path.insert(0, ${JSON.stringify(path.resolve(__dirname, '../../bench'))})
from keras_applications import KerasMobileNetV2, KerasResNet50
model = ${definition}
# A DepthwiseConv2D's kernel is a grouped torch.nn.Conv2d's weight.
state = {k.replace('.depthwise_kernel', '.weight'): v for k, v in state.items()}`,
      file,
      inputs,
      shape,
    );
    expect(theirs).toHaveLength(ours.length);
    const scale = Math.max(...theirs.map(Math.abs));
    theirs.forEach((value, i) => expect(Math.abs(value - ours[i])).toBeLessThan(tolerance * Math.max(1, scale)));
    model.dispose();
  }

  test('MobileNetV2 (alpha 1.0, 96x96, with the top, logits)', async () => {
    setSeed(1);
    const model = await applications.MobileNetV2({ inputShape: [96, 96, 3], classes: 10, classifierActivation: null });
    await compare(model, 'KerasMobileNetV2(size=96, alpha=1.0, classes=10)', [2, 96, 96, 3], 'mobilenet', 1e-4);
  });

  test('MobileNetV2 (alpha 0.35, odd 75x75 input: the other padding of the strided blocks), features', async () => {
    setSeed(2);
    const model = await applications.MobileNetV2({ inputShape: [75, 75, 3], alpha: 0.35, includeTop: false });
    await compare(model, 'KerasMobileNetV2(size=75, alpha=0.35, include_top=False)', [2, 75, 75, 3], 'mobilenet-odd', 1e-4);
  });

  test('a training step of MobileNetV2 nested in a functional model: the moving statistics and weights torch.nn reaches from the same weights and batch', async () => {
    setSeed(5);
    const base = await applications.MobileNetV2({ inputShape: [32, 32, 3], alpha: 0.35, includeTop: false, pooling: 'avg' });
    const inputs = Input({ shape: [32, 32, 3] });
    const outputs = new Dense({ units: 4, activation: 'softmax', name: 'head' }).apply(base.apply(new Rescaling({ scale: 1 / 127.5, offset: -1 }).apply(inputs)));
    const model = new Model({ inputs, outputs });
    const learningRate = 1e-3;
    model.compile({ optimizer: new SGD({ learningRate }), loss: 'sparseCategoricalCrossentropy' });
    const file = path.join(tmp, 'mobilenet-step.safetensors');
    const inputsFile = path.join(tmp, 'mobilenet-step.f32');
    await model.saveWeights(file);
    const x = randomImages([16, 32, 32, 3], 6, 127.5);
    fs.writeFileSync(inputsFile, Buffer.from((x.dataSync() as Float32Array).buffer));
    const labels = Array.from({ length: 16 }, (_, i) => i % 4);
    await model.fit(x, tensor(Float32Array.from(labels), [16, 1]), { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    const trainedFile = path.join(tmp, 'mobilenet-step-trained.safetensors');
    await model.saveWeights(trainedFile);
    model.dispose();
    // Keras's momentum 0.999 is torch's 0.001 (bench/keras_applications.py's keras_bn). For each tensor of the
    // files (torch's layouts): its value before the step, ours after it and torch's after it.
    const tensors = JSON.parse(runPython(`${LOAD_STATE}
sys.path.insert(0, ${JSON.stringify(path.resolve(__dirname, '../../bench'))})
from keras_applications import KerasMobileNetV2
prefix = '${base.name}.'
to_torch = lambda k: k[len(prefix):].replace('.depthwise_kernel', '.weight')
net = KerasMobileNetV2(size=32, alpha=0.35, include_top=False)
missing, unexpected = net.load_state_dict({to_torch(k): v for k, v in state.items() if k.startswith(prefix)}, strict=False)
assert not unexpected, unexpected
head = torch.nn.Linear(state['head.weight'].shape[1], 4)
head.load_state_dict({'weight': state['head.weight'], 'bias': state['head.bias']})
x = torch.frombuffer(bytearray(open(sys.argv[2], 'rb').read()), dtype=torch.float32).reshape(16, 32, 32, 3).permute(0, 3, 1, 2)
net.train()
optimizer = torch.optim.SGD(list(net.parameters()) + list(head.parameters()), lr=${learningRate})
torch.nn.functional.cross_entropy(head(net(x / 127.5 - 1).mean((2, 3))), torch.tensor(${JSON.stringify(labels)})).backward()
optimizer.step()
theirs = dict(net.state_dict())
theirs.update({'head.' + k: v for k, v in head.state_dict().items()})
ours = load_state(sys.argv[3])
print(json.dumps({k: [state[k].flatten().tolist(), v.flatten().tolist(), theirs[to_torch(k) if k.startswith(prefix) else k].flatten().tolist()] for k, v in ours.items()}))
`, [file, inputsFile, trainedFile])) as Record<string, [number[], number[], number[]]>;
    expect(Object.keys(tensors).filter((name) => name.endsWith('.running_var'))).toHaveLength(52);
    const largest = (values: number[], f: (value: number, j: number) => number) => values.reduce((m, value, j) => Math.max(m, Math.abs(f(value, j))), 0);
    const failures: string[] = [];
    for (const [name, [before, ours, theirs]] of Object.entries(tensors)) {
      expect(ours).toHaveLength(theirs.length);
      const discrepancy = largest(theirs, (value, j) => value - ours[j]);
      // Moving statistics: each layer's training-mode batch statistics, folded in with the converted momentum.
      // Weights: the step (learning rate times the gradient) within 1% of torch's largest change of the tensor.
      const tolerance = /\.running_(mean|var)$/.test(name) ? 1e-5 : 1e-2 * largest(theirs, (value, j) => value - before[j]) + 1e-7;
      if (!(discrepancy < tolerance)) failures.push(`${name}: ${discrepancy} (tolerance ${tolerance})`);
    }
    expect(failures).toEqual([]);
  });

  test('ResNet50 (64x64, with the top, logits)', async () => {
    setSeed(3);
    const model = await applications.ResNet50({ inputShape: [64, 64, 3], classes: 7, classifierActivation: null });
    await compare(model, 'KerasResNet50(classes=7)', [2, 64, 64, 3], 'resnet', 1e-4);
  });
});

describe('transfer learning, as Keras\'s guide does it', () => {
  test('a frozen base applied with training: false keeps its weights and BatchNormalization statistics through fit; fine-tuning changes the weights but not the statistics', async () => {
    setSeed(4);
    const base = await applications.MobileNetV2({ inputShape: [32, 32, 3], alpha: 0.35, includeTop: false });
    randomizeBatchNormStatistics(base, 3);
    base.trainable = false;
    
    const inputs = Input({ shape: [32, 32, 3] });
    let x = base.apply(inputs, { training: false });
    x = new GlobalAveragePooling2D().apply(x);
    const outputs = new Dense(1).apply(x);
    const model = new Model({ inputs, outputs });
    model.compile({ optimizer: new Adam({ learningRate: 1e-2 }), loss: new losses.BinaryCrossentropy({ fromLogits: true }), metrics: ['accuracy'] });
    const before = base.getWeights().map((w) => Array.from(w.dataSync() as Float32Array));
    const x0 = randomImages([8, 32, 32, 3], 9);
    const y0 = tensor(Float32Array.from({ length: 8 }, (_, i) => i % 2), [8, 1]);
    // The head's Dense kernel: the model's weights end with its kernel and bias.
    const headWeights = () => Array.from(model.getWeights().slice(-2)[0].dataSync() as Float32Array);
    const headBefore = headWeights();
    await model.fit(x0, y0, { epochs: 2, batchSize: 4, verbose: 0 });
    base.getWeights().forEach((w, i) => expect(Array.from(w.dataSync() as Float32Array)).toEqual(before[i]));
    expect(headWeights()).not.toEqual(headBefore);

    // Fine-tuning: the base trains, its BatchNormalization still runs on (and keeps) its moving statistics.
    base.trainable = true;
    model.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: new losses.BinaryCrossentropy({ fromLogits: true }) });
    await model.fit(x0, y0, { epochs: 1, batchSize: 4, verbose: 0 });
    const { names } = base.weightFileNames();
    const after = base.getWeights().map((w) => Array.from(w.dataSync() as Float32Array));
    const statistics = names.filter((name) => name.endsWith('running_mean') || name.endsWith('running_var'));
    expect(statistics).toHaveLength(2 * 52); // the 52 BatchNormalization layers of MobileNetV2
    names.forEach((name, i) => {
      if (statistics.includes(name)) expect(after[i]).toEqual(before[i]);
    });
    expect(names.some((name, i) => name.endsWith('.weight') && JSON.stringify(after[i]) !== JSON.stringify(before[i]))).toBe(true);
    model.dispose();
  });
});

describe('save and load', () => {
  const small = { inputShape: [32, 32, 3] };
  test.each([
    ['MobileNetV2', (extra: object) => applications.MobileNetV2({ ...small, alpha: 0.35, classes: 3, ...extra })],
    ['ResNet50', (extra: object) => applications.ResNet50({ ...small, includeTop: false, pooling: 'avg', ...extra })],
    ['VGG16', (extra: object) => applications.VGG16({ ...small, includeTop: false, ...extra })],
    ['EfficientNetB0', (extra: object) => applications.EfficientNetB0({ ...small, classes: 4, ...extra })],
  ])('%s: loadModel predicts what the saved model predicts; `weights` loads the file into a new one', async (name, make) => {
    setSeed(6);
    const model = await make({});
    randomizeBatchNormStatistics(model, 8);
    const file = path.join(tmp, `${name}-saved.safetensors`);
    await model.save(file);
    const x = randomImages([2, 32, 32, 3], 12, 100);
    const expected = Array.from((await model.predict(x)).dataSync() as Float32Array);
    model.dispose();
    const loaded = await loadModel(file);
    expect(Array.from((await loaded.predict(x)).dataSync() as Float32Array)).toEqual(expected);
    loaded.dispose();
    // The same architecture built again with its weights from the file, as Keras's `weights=path`.
    const fromWeights = await make({ weights: file });
    expect(Array.from((await fromWeights.predict(x)).dataSync() as Float32Array)).toEqual(expected);
    fromWeights.dispose();
  });
});
