/**
 * The functional API: graphs of layers with Keras's parameter counts and shapes, several inputs and
 * outputs, shared layers, nested models, freezing, persistence, and the errors Keras gives on bad graphs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Activation,
  Dropout,
  Reshape,
  Add,
  BatchNormalization,
  Concatenate,
  Conv2D,
  Dense,
  Flatten,
  GlobalAveragePooling2D,
  Input,
  loadModel,
  Maximum,
  Model,
  Multiply,
  SGD,
  Sequential,
  setSeed,
  Subtract,
  SymbolicTensor,
  Tensor,
  tensor,
} from '../../lib';
import { expectClose, seededRandom, values } from '../helpers';
import { pythonHas, torchPredictions } from '../helpers/python';
import { describeIf } from '../helpers/peers';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-functional-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function randomTensor(shape: number[], seed: number): Tensor {
  const random = seededRandom(seed);
  const count = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: count }, () => random() * 2 - 1), shape);
}

/** Keras's parameter count of a Conv2D: kernel kh*kw*in*out, plus out biases. */
const convParams = (k: number, inC: number, out: number, bias = true) => k * k * inC * out + (bias ? out : 0);

/** A ResNet basic block on 8x8x4, as in Keras's applications (conv-BN-relu-conv-BN, add, relu). */
function residualModel(name = 'residual'): Model<SymbolicTensor> {
  const input = Input({ shape: [8, 8, 4], name: `${name}_image` });
  let x = new Conv2D(4, 3, { padding: 'same', useBias: false, name: `${name}_conv1` }).apply(input);
  x = new BatchNormalization({ name: `${name}_bn1` }).apply(x);
  x = new Activation('relu', { name: `${name}_relu1` }).apply(x);
  x = new Conv2D(4, 3, { padding: 'same', useBias: false, name: `${name}_conv2` }).apply(x);
  x = new BatchNormalization({ name: `${name}_bn2` }).apply(x);
  x = new Add({ name: `${name}_add` }).apply([x, input]);
  x = new Activation('relu', { name: `${name}_relu2` }).apply(x);
  x = new GlobalAveragePooling2D({ name: `${name}_pool` }).apply(x);
  const output = new Dense(3, { activation: 'softmax', name: `${name}_out` }).apply(x);
  return new Model({ inputs: input, outputs: output, name });
}

describe('graphs: shapes and parameter counts as Keras computes them', () => {
  test('a residual block', () => {
    const model = residualModel('res_a');
    const bn = 4 * 4; // gamma, beta, moving mean, moving variance
    expect(model.countParams()).toBe(2 * convParams(3, 4, 4, false) + 2 * bn + (4 * 3 + 3));
    expect(model.outputShape).toEqual([3]);
    expect(model.getLayer('res_a_add').className).toBe('Add');
    expect(model.layers[0].name).toBe('res_a_image');
    expect(model.getLayer(0)).toBe(model.layers[0]);
    expect(model.inputs[0].shape).toEqual([null, 8, 8, 4]);
    expect(model.outputs[0].shape).toEqual([null, 3]);
    const summary = model.summary({ printFn: () => undefined });
    expect(summary).toMatch(/Connected to/);
    expect(summary).toMatch(/res_a_add \(Add\)\s+│ \(None, 8, 8, 4\)\s+│\s+0 │ res_a_bn2\[0\]\[0\]/);
    expect(summary).toMatch(/│\s+│\s+│\s+│ res_a_image\[0\]\[0\]/);
    expect(summary).toMatch(/Non-trainable params: 16 /);
  });

  test('two inputs joined by Concatenate, and each merge layer', async () => {
    const image = Input({ shape: [4, 4, 2], name: 'pixels' });
    const features = Input({ shape: [3], name: 'features' });
    const flat = new Flatten().apply(image);
    const joined = new Concatenate().apply([flat, features]);
    expect(joined.shape).toEqual([null, 35]);
    const out = new Dense(1, { name: 'score' }).apply(joined);
    const model = new Model({ inputs: [image, features], outputs: out });
    expect(model.countParams()).toBe(36);
    // Element-wise merges against plain arithmetic.
    const a = Input({ shape: [3] });
    const b = Input({ shape: [3] });
    const merged = new Model({
      inputs: [a, b],
      outputs: [new Subtract().apply([a, b]), new Multiply().apply([a, b]), new Maximum().apply([a, b])],
    });
    const av = [1, -2, 3, 0.5, 4, -1];
    const bv = [2, 2, -1, 0.5, -3, 5];
    const [difference, product, maximum] = await merged.predict([tensor(av, [2, 3]), tensor(bv, [2, 3])]);
    expectClose(values(difference), av.map((v, i) => v - bv[i]));
    expectClose(values(product), av.map((v, i) => v * bv[i]));
    expectClose(values(maximum), av.map((v, i) => Math.max(v, bv[i])));
  });

  test('a model applied as a layer (nested) counts its weights once and runs its graph', async () => {
    setSeed(1);
    const base = residualModel('base_a');
    const input = Input({ shape: [8, 8, 4] });
    const features = base.apply(input);
    const head = new Dense(1, { activation: 'sigmoid', name: 'head_a' }).apply(features);
    const model = new Model({ inputs: input, outputs: head });
    expect(model.countParams()).toBe(base.countParams() + 3 + 1);
    expect(model.layers.map((l) => l.className)).toEqual(['InputLayer', 'Functional', 'Dense']);
    const x = randomTensor([2, 8, 8, 4], 2);
    const probabilities = values((await base.predict(x)) as Tensor);
    const [w, b] = (model.getLayer('head_a') as Dense) && model.getWeights().slice(-2).map(values);
    const expected = [0, 1].map((n) => 1 / (1 + Math.exp(-(probabilities.slice(n * 3, n * 3 + 3).reduce((s, p, j) => s + p * w[j], 0) + b[0]))));
    expectClose(values((await model.predict(x)) as Tensor), expected, 1e-5);
  });
});

describe('inference writes only into tensors nothing else reads', () => {
  test("a ReLU on the model's input leaves the caller's data alone; a sum reused later is not overwritten", async () => {
    const a = Input({ shape: [3] });
    const b = Input({ shape: [3] });
    const relu = new Activation('relu').apply(a);
    const ab = new Add().apply([relu, b]); // relu is read again below: not a scratch tensor here
    const again = new Add().apply([ab, relu]); // ab is read only here: summed in place
    const out = new Activation('relu').apply(again);
    const model = new Model({ inputs: [a, b], outputs: [out, relu] });
    const av = [-1, 2, -3, 4, -5, 6];
    const bv = [0.5, -0.5, 1, -1, 2, -2];
    const x = tensor(av, [2, 3]);
    const [result, relued] = await model.predict([x, tensor(bv, [2, 3])]);
    const r = av.map((v) => Math.max(v, 0));
    expectClose(values(relued), r);
    expectClose(values(result), r.map((v, i) => Math.max(v + bv[i] + v, 0)));
    expect(values(x)).toEqual(av);
  });

  test('layers that return their input or a view of it (Flatten, Dropout and Reshape in inference, a linear activation) hand a ReLU no tensor to overwrite', async () => {
    const a = Input({ shape: [2, 3] });
    const flat = new Flatten().apply(a);
    const dropped = new Dropout({ rate: 0.5 }).apply(flat);
    const linear = new Activation('linear').apply(dropped);
    const reshaped = new Reshape({ targetShape: [3, 2] }).apply(linear);
    const relu = new Activation('relu').apply(new Flatten().apply(reshaped));
    const model = new Model({ inputs: a, outputs: [relu, flat, dropped] });
    const av = [-1, 2, -3, 4, -5, 6, -7, 8, -9, 10, -11, 12];
    const x = tensor(av, [2, 2, 3]);
    const [relued, flattened, afterDropout] = await model.predict(x);
    expect(values(relued)).toEqual(av.map((v) => Math.max(v, 0)));
    expect(values(flattened)).toEqual(av);
    expect(values(afterDropout)).toEqual(av);
    expect(values(x)).toEqual(av);
  });
});

describe('training graphs', () => {
  test('a shared layer has one weight set and receives the gradients of both its uses', async () => {
    const a = Input({ shape: [2] });
    const b = Input({ shape: [2] });
    const shared = new Dense(1, { useBias: false, name: 'shared' });
    const sum = new Add().apply([shared.apply(a), shared.apply(b)]);
    const model = new Model({ inputs: [a, b], outputs: sum });
    expect(model.getWeights()).toHaveLength(1);
    const w = [0.5, -0.25];
    model.setWeights([tensor(w, [2, 1])]);
    const lr = 0.1;
    model.compile({ optimizer: new SGD({ learningRate: lr }), loss: 'mse' });
    const av = [1, 2, -1, 0.5];
    const bv = [0.5, -1, 2, 1];
    const target = [1, -1];
    await model.trainOnBatch([tensor(av, [2, 2]), tensor(bv, [2, 2])], tensor(target, [2, 1]));
    // d/dw of mean((w·(a+b) - t)^2) = 2/N Σ (w·(a+b) - t)(a+b): both uses contribute.
    const grad = [0, 0];
    for (let n = 0; n < 2; n++) {
      const s = [av[2 * n] + bv[2 * n], av[2 * n + 1] + bv[2 * n + 1]];
      const error = w[0] * s[0] + w[1] * s[1] - target[n];
      grad[0] += (2 / 2) * error * s[0];
      grad[1] += (2 / 2) * error * s[1];
    }
    expectClose(values(model.getWeights()[0]), [w[0] - lr * grad[0], w[1] - lr * grad[1]], 1e-6);
  });

  test('two outputs train with per-output losses, loss weights and metrics, logged under Keras names', async () => {
    setSeed(4);
    const input = Input({ shape: [4] });
    const hidden = new Dense(8, { activation: 'relu' }).apply(input);
    const label = new Dense(1, { activation: 'sigmoid', name: 'label' }).apply(hidden);
    const amount = new Dense(1, { name: 'amount' }).apply(hidden);
    const model = new Model({ inputs: input, outputs: { label, amount } });
    model.compile({
      optimizer: 'adam',
      loss: { label: 'binary_crossentropy', amount: 'mse' },
      lossWeights: { label: 1, amount: 0.5 },
      metrics: { label: ['accuracy'] },
    });
    const x = randomTensor([16, 4], 5);
    const yLabel = tensor(Array.from({ length: 16 }, (_, i) => i % 2), [16, 1]);
    const yAmount = randomTensor([16, 1], 6);
    const history = await model.fit(x, { label: yLabel, amount: yAmount }, { epochs: 2, batchSize: 8, verbose: 0, validationData: [x, [yLabel, yAmount]] });
    expect(Object.keys(history.history).sort()).toEqual(
      ['amount_loss', 'label_accuracy', 'label_loss', 'loss', 'val_amount_loss', 'val_label_accuracy', 'val_label_loss', 'val_loss'].sort(),
    );
    const [loss, labelLoss, amountLoss, accuracy] = (await model.evaluate(x, [yLabel, yAmount], { verbose: 0 })) as number[];
    expect(loss).toBeCloseTo(labelLoss + 0.5 * amountLoss, 5);
    // The losses from the predictions, with Keras's formulas.
    const predicted = (await model.predict(x)) as Record<string, Tensor>;
    const p = values(predicted.label);
    const q = values(predicted.amount);
    const labels = values(yLabel);
    const amounts = values(yAmount);
    const bce = p.reduce((s, v, i) => s - (labels[i] * Math.log(v) + (1 - labels[i]) * Math.log(1 - v)), 0) / 16;
    const mse = q.reduce((s, v, i) => s + (v - amounts[i]) ** 2, 0) / 16;
    expect(labelLoss).toBeCloseTo(bce, 4);
    expect(amountLoss).toBeCloseTo(mse, 5);
    expect(accuracy).toBeCloseTo(p.filter((v, i) => (v > 0.5 ? 1 : 0) === labels[i]).length / 16, 6);
  });

  test('freezing a nested model keeps its weights through fit; its BatchNormalization statistics too', async () => {
    setSeed(7);
    const base = residualModel('base_f');
    const input = Input({ shape: [8, 8, 4] });
    const output = new Dense(1, { activation: 'sigmoid', name: 'head_f' }).apply(base.apply(input));
    const model = new Model({ inputs: input, outputs: output });
    base.trainable = false;
    expect(base.layers.every((layer) => !layer.trainable)).toBe(true);
    model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
    const before = base.getWeights().map(values);
    const headBefore = values(model.getWeights().slice(-2)[0]);
    const x = randomTensor([8, 8, 8, 4], 8);
    const y = tensor([0, 1, 0, 1, 1, 0, 1, 0], [8, 1]);
    await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
    expect(base.getWeights().map(values)).toHaveLength(before.length);
    base.getWeights().map(values).forEach((weight, i) => expect(weight).toEqual(before[i]));
    expect(values(model.getWeights().slice(-2)[0])).not.toEqual(headBefore);
    const summary = model.summary({ printFn: () => undefined });
    expect(summary).toMatch(new RegExp(`Trainable params: ${3 + 1} `));
    // Unfrozen, the base trains again, and the base model itself sees the new weights (they are shared).
    base.trainable = true;
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    expect(values(base.getWeights()[0])).not.toEqual(before[0]);
  });

  test("apply(x, {training: false}) keeps a base's BatchNormalization on its moving statistics while the head trains", async () => {
    setSeed(8);
    const base = residualModel('base_t');
    const input = Input({ shape: [8, 8, 4] });
    const output = new Dense(1, { activation: 'sigmoid', name: 'head_t' }).apply(base.apply(input, { training: false }));
    const model = new Model({ inputs: input, outputs: output });
    model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
    const statistics = () => base.getWeights().slice(1, 5).map(values); // bn1: gamma, beta, moving mean, variance
    const before = statistics();
    const x = randomTensor([8, 8, 8, 4], 15);
    const y = tensor([0, 1, 0, 1, 1, 0, 1, 0], [8, 1]);
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const after = statistics();
    // gamma and beta train (the base is trainable); the moving mean and variance stay as they were.
    expect(after[2]).toEqual(before[2]);
    expect(after[3]).toEqual(before[3]);
    expect(after[0]).not.toEqual(before[0]);
    // The same model without training: false updates them.
    const free = new Model({ inputs: input, outputs: new Dense(1, { name: 'head_t2' }).apply(base.apply(input)) });
    free.compile({ optimizer: 'adam', loss: 'mse' });
    await free.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    expect(statistics()[2]).not.toEqual(after[2]);
    // The argument survives a save and load.
    const file = path.join(tmp, 'training-false.safetensors');
    await model.save(file);
    const config = (await loadModel(file)).getConfig() as { layers: { name: string; inboundNodes: unknown[][][] }[] };
    expect(config.layers.find((layer) => layer.name === 'base_t')!.inboundNodes[0][0][3]).toEqual({ training: false });
  });

  test('trainable: false on a layer freezes it in a Sequential', async () => {
    const frozen = new Dense(3, { inputShape: [2], trainable: false });
    const model = new Sequential([frozen, new Dense(1)]);
    model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'mse' });
    const before = model.getWeights().map(values);
    await model.trainOnBatch(randomTensor([4, 2], 9), randomTensor([4, 1], 10));
    const after = model.getWeights().map(values);
    expect(after[0]).toEqual(before[0]);
    expect(after[1]).toEqual(before[1]);
    expect(after[2]).not.toEqual(before[2]);
  });
});

describe('save and load', () => {
  test('a two-input, two-output model round-trips its graph, weights, compile options and optimizer state', async () => {
    setSeed(11);
    const image = Input({ shape: [4, 4, 1], name: 'img' });
    const extra = Input({ shape: [2], name: 'extra' });
    const joined = new Concatenate({ name: 'joined' }).apply([new Flatten({ name: 'flat' }).apply(image), extra]);
    const a = new Dense(1, { activation: 'sigmoid', name: 'out_a' }).apply(joined);
    const b = new Dense(2, { activation: 'softmax', name: 'out_b' }).apply(joined);
    const model = new Model({ inputs: [image, extra], outputs: [a, b], name: 'two_by_two' });
    model.compile({ optimizer: 'adam', loss: ['binary_crossentropy', 'categorical_crossentropy'], lossWeights: [1, 2], metrics: [['accuracy'], []] });
    const xs = { img: randomTensor([6, 4, 4, 1], 12), extra: randomTensor([6, 2], 13) };
    const ys = [tensor([1, 0, 1, 0, 1, 0], [6, 1]), tensor([1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1], [6, 2])];
    await model.fit(xs, ys, { epochs: 1, batchSize: 3, verbose: 0 });
    const file = path.join(tmp, 'two.safetensors');
    await model.save(file);
    const loaded = await loadModel<SymbolicTensor[]>(file);
    expect(loaded.name).toBe('two_by_two');
    expect(loaded.inputNames).toEqual(['img', 'extra']);
    expect(loaded.outputNames).toEqual(['out_a', 'out_b']);
    const ours = (await model.predict(xs)).map(values);
    const theirs = (await loaded.predict(xs)).map(values);
    expect(theirs).toHaveLength(ours.length);
    theirs.forEach((output, i) => expectClose(output, ours[i], 1e-6));
    // The same next step on both: optimizer state and compile options came back.
    const [lossA] = (await model.trainOnBatch(xs, ys)) as number[];
    const [lossB] = (await loaded.trainOnBatch(xs, ys)) as number[];
    expect(lossB).toBeCloseTo(lossA, 6);
  });

  test('a nested model and a shared layer round-trip', async () => {
    setSeed(12);
    const base = residualModel('base_s');
    const input = Input({ shape: [8, 8, 4] });
    const model = new Model({ inputs: input, outputs: new Dense(2, { name: 'head_s' }).apply(base.apply(input)) });
    const file = path.join(tmp, 'nested.safetensors');
    await model.save(file);
    const loaded = await loadModel(file);
    expect(loaded.getLayer('base_s').className).toBe('Functional');
    const x = randomTensor([2, 8, 8, 4], 14);
    expectClose(values(await loaded.predict(x)), values(await model.predict(x)), 1e-6);
  });
});

describe('errors name the layer and the shapes', () => {
  test('incompatible merge shapes', () => {
    const a = Input({ shape: [3] });
    const b = Input({ shape: [4] });
    expect(() => new Add({ name: 'bad_add' }).apply([a, b])).toThrow(
      "Add 'bad_add': expected inputs of compatible shapes (equal sizes, or 1 where they broadcast) but received shapes [None, 3], [None, 4]",
    );
    expect(() => new Concatenate({ name: 'bad_cat', axis: 1 }).apply([Input({ shape: [2, 3] }), Input({ shape: [3, 4] })])).toThrow(
      "Concatenate 'bad_cat': expected inputs whose shapes agree except along axis 1 but received shapes [None, 2, 3], [None, 3, 4]",
    );
    expect(() => new Subtract().apply([a, a, a])).toThrow(/expected exactly 2 inputs but received 3/);
  });

  test('outputs that do not depend on the inputs, an unused input, duplicate names, a concrete tensor', () => {
    const a = Input({ shape: [3], name: 'in_a' });
    const b = Input({ shape: [3], name: 'in_b' });
    const fromB = new Dense(1, { name: 'from_b' }).apply(b);
    expect(() => new Model({ inputs: a, outputs: fromB })).toThrow(
      /graph disconnected: layer 'from_b' reads input 'in_b' \(shape \[None, 3\]\), which is not among the model's inputs \['in_a'\]/,
    );
    const fromA = new Dense(1, { name: 'from_a' }).apply(a);
    expect(() => new Model({ inputs: [a, b], outputs: fromA })).toThrow(/input 'in_b' is not used: no output depends on it/);
    const twin = new Dense(1, { name: 'from_a' }).apply(b);
    expect(() => new Model({ inputs: [a, b], outputs: [fromA, twin] })).toThrow(/layer names must be unique, but two layers are named 'from_a'/);
    expect(() => new Dense(1, { name: 'eager' }).apply(tensor([1, 2, 3], [1, 3]) as never)).toThrow(
      /Dense 'eager'.apply: expected its input to be a symbolic tensor \(from Input\(\) or another layer's apply; to run a model on data use predict\) but received a Tensor/,
    );
    expect(() => new Model({ inputs: fromA, outputs: fromA })).toThrow(/expected inputs\[0\] to be a tensor made by Input\(\) but received the output of layer 'from_a'/);
  });

  test('data for the wrong inputs', async () => {
    const a = Input({ shape: [2], name: 'left' });
    const b = Input({ shape: [2], name: 'right' });
    const model = new Model({ inputs: [a, b], outputs: new Add().apply([a, b]) });
    await expect(model.predict(tensor([1, 2], [1, 2]))).rejects.toThrow(/x for each of the model's 2 inputs \('left', 'right'\)/);
    await expect(model.predict({ left: tensor([1, 2], [1, 2]), wrong: tensor([1, 2], [1, 2]) })).rejects.toThrow(/keys 'left', 'wrong'/);
    await expect(model.predict([tensor([1, 2], [1, 2]), tensor([1, 2, 3], [1, 3])])).rejects.toThrow(
      /expected x\[1\] \(input 'right'\) of shape \[\*, 2\] but received \[1, 3\]/,
    );
  });
});

describeIf(pythonHas('torch'), 'the PyTorch interoperability tests need python3-torch (apt-get install python3-torch)')('interoperability with PyTorch', () => {
  test("a residual model's file loads into the equivalent hand-written torch.nn.Module and reproduces its predictions", async () => {
    setSeed(21);
    const model = residualModel('interop');
    model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
    const x = randomTensor([6, 8, 8, 4], 22);
    await model.fit(x, tensor([0, 1, 2, 0, 1, 2], [6]), { epochs: 2, batchSize: 3, verbose: 0 });
    const file = path.join(tmp, 'interop.safetensors');
    const inputs = path.join(tmp, 'interop.f32');
    await model.save(file);
    fs.writeFileSync(inputs, Buffer.from((x.dataSync() as Float32Array).buffer));
    const ours = values((await model.predict(x)) as Tensor);
    const theirs = torchPredictions(`
class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.interop_conv1 = torch.nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.interop_bn1 = torch.nn.BatchNorm2d(4, eps=1e-3)
        self.interop_conv2 = torch.nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.interop_bn2 = torch.nn.BatchNorm2d(4, eps=1e-3)
        self.interop_out = torch.nn.Linear(4, 3)
    def forward(self, x):
        y = torch.relu(self.interop_bn1(self.interop_conv1(x)))
        y = torch.relu(self.interop_bn2(self.interop_conv2(y)) + x)
        return torch.softmax(self.interop_out(y.mean((2, 3))), -1)
model = Block()`, file, inputs, [6, 8, 8, 4]);
    expectClose(theirs, ours, 1e-5);
  });
});
