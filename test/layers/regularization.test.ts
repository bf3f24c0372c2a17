/**
 * Weight and activity regularizers and weight constraints: the objects, the layers' options, the loss
 * fit and evaluate report (Keras's formulas written out here), the gradient step against PyTorch minimising
 * the same penalised loss, each constraint's projection against its formula, and persistence.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ActivityRegularization,
  BatchNormalization,
  constraints,
  Conv2D,
  Dense,
  Flatten,
  Input,
  InputLayer,
  loadModel,
  MaxPooling2D,
  Model,
  regularizers,
  SGD,
  Sequential,
  Tensor,
  tensor,
} from '../../lib';
import { expectClose, seededRandom, values } from '../helpers';
import { describeIf } from '../helpers/peers';
import { pythonHas, runPython } from '../helpers/python';
import { describeLayer } from './harness';

const sum = (list: number[], f: (v: number) => number) => list.reduce((total, v) => total + f(v), 0);
const l2Of = (list: number[], factor: number) => factor * sum(list, (v) => v * v);
const l1Of = (list: number[], factor: number) => factor * sum(list, Math.abs);

/** `count` seeded values in [-1, 1). */
function randomValues(count: number, seed: number): number[] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, () => next() * 2 - 1);
}

function randomTensor(shape: number[], seed: number): Tensor {
  return tensor(Float32Array.from(randomValues(shape.reduce((a, b) => a * b, 1), seed)), shape);
}

/** Sets every weight of `model` to seeded values (so that no initializer decides a test's numbers). */
function setSeededWeights(model: Model, seed: number): number[][] {
  const shapes = model.getWeights().map((w) => [...w.shape]);
  const weights = shapes.map((shape, i) => randomValues(shape.reduce((a, b) => a * b, 1), seed + i));
  model.setWeights(weights.map((w, i) => tensor(Float32Array.from(w), shapes[i])));
  return weights;
}

function meanSquaredError(predictions: number[], targets: number[]): number {
  return sum(predictions.map((p, i) => p - targets[i]), (d) => d * d) / predictions.length;
}

describe('regularizers', () => {
  test("Keras's classes, factories and string names, with Keras's defaults", () => {
    expect(regularizers.l2(0.1).serialize()).toEqual({ className: 'L2', config: { l2: 0.1 } });
    expect(regularizers.l2({ l2: 0.1 }).serialize()).toEqual({ className: 'L2', config: { l2: 0.1 } });
    expect(new regularizers.L1().serialize()).toEqual({ className: 'L1', config: { l1: 0.01 } });
    expect(regularizers.l1l2({ l1: 0.1 }).serialize()).toEqual({ className: 'L1L2', config: { l1: 0.1, l2: 0 } });
    expect(regularizers.get('l2')?.serialize()).toEqual({ className: 'L2', config: { l2: 0.01 } });
    expect(regularizers.get('l1')?.serialize()).toEqual({ className: 'L1', config: { l1: 0.01 } });
    expect(regularizers.get('l1_l2')?.serialize()).toEqual({ className: 'L1L2', config: { l1: 0.01, l2: 0.01 } });
    expect(regularizers.get('l1l2')?.serialize()).toEqual({ className: 'L1L2', config: { l1: 0.01, l2: 0.01 } });
    expect(regularizers.get({ className: 'L1L2', config: { l1: 0.5, l2: 0.25 } })?.serialize()).toEqual({
      className: 'L1L2',
      config: { l1: 0.5, l2: 0.25 },
    });
    expect(regularizers.get(null)).toBeNull();
  });

  test('bad factors and identifiers are refused with messages naming them', () => {
    expect(() => regularizers.l2(-1)).toThrow('L2: expected l2 to be a non-negative finite number but received -1');
    expect(() => regularizers.l1(NaN)).toThrow('L1: expected l1 to be a non-negative finite number but received NaN');
    expect(() => regularizers.l1l2({ l1: 0.1, l3: 2 } as never)).toThrow('L1L2: expected options among l1, l2 but received "l3"');
    expect(() => new Dense(2, { kernelRegularizer: 'l3' as never, name: 'd' })).toThrow(
      /Dense 'd': expected kernelRegularizer to be one of 'l1', 'l2', 'l1_l2', .* but received "l3"/,
    );
    expect(() => new Dense(2, { biasRegularizer: { className: 'L2', config: { l2: 'big' } } as never, name: 'd' })).toThrow(
      /Dense 'd': expected biasRegularizer to be a valid L2 \(L2: expected l2 to be a non-negative finite number but received "big"\)/,
    );
    expect(() => new Conv2D(2, 3, { activityRegularizer: 3 as never, name: 'c' })).toThrow(
      /Conv2D 'c': expected activityRegularizer to be one of .* but received 3/,
    );
  });
});

describe('constraints', () => {
  test("Keras's classes, factories and string names, with Keras's defaults", () => {
    expect(constraints.maxNorm({ maxValue: 3, axis: [0, 1, 2] }).serialize()).toEqual({ className: 'MaxNorm', config: { maxValue: 3, axis: [0, 1, 2] } });
    expect(new constraints.MaxNorm().serialize()).toEqual({ className: 'MaxNorm', config: { maxValue: 2, axis: 0 } });
    expect(constraints.maxNorm(4, 1).serialize()).toEqual({ className: 'MaxNorm', config: { maxValue: 4, axis: 1 } });
    expect(constraints.unitNorm().serialize()).toEqual({ className: 'UnitNorm', config: { axis: 0 } });
    expect(constraints.nonNeg().serialize()).toEqual({ className: 'NonNeg', config: {} });
    expect(constraints.minMaxNorm().serialize()).toEqual({ className: 'MinMaxNorm', config: { minValue: 0, maxValue: 1, rate: 1, axis: 0 } });
    for (const [name, className] of [['max_norm', 'MaxNorm'], ['nonNeg', 'NonNeg'], ['unit_norm', 'UnitNorm'], ['minMaxNorm', 'MinMaxNorm']]) {
      expect(constraints.get(name as never)?.className).toBe(className);
    }
  });

  test('bad arguments are refused with messages naming them', () => {
    expect(() => constraints.maxNorm({ maxValue: -2 })).toThrow('MaxNorm: expected maxValue to be a non-negative finite number but received -2');
    expect(() => constraints.unitNorm({ axis: 0.5 })).toThrow('UnitNorm: expected axis to be an integer or a non-empty array of integers but received 0.5');
    expect(() => constraints.minMaxNorm({ minValue: 2, maxValue: 1 })).toThrow('MinMaxNorm: expected maxValue to be at least minValue (2) but received 1');
    expect(() => constraints.maxNorm({ maxvalue: 2 } as never)).toThrow('MaxNorm: expected options among maxValue, axis but received "maxvalue"');
    expect(() => new Dense(2, { kernelConstraint: 'max' as never, name: 'd' })).toThrow(
      /Dense 'd': expected kernelConstraint to be one of 'max_norm', 'non_neg', 'unit_norm', 'min_max_norm', .* but received "max"/,
    );
    // An axis the weight does not have is refused when the layer meets its input, naming the layer.
    const dense = new Dense(2, { kernelConstraint: constraints.maxNorm({ axis: 2 }), name: 'dense_axis' });
    expect(() => new Sequential([new InputLayer({ inputShape: [3] }), dense])).toThrow(
      "Dense 'dense_axis': expected kernelConstraint.axis to be within the weight's 2 axes ([-2, 1]) but received 2",
    );
    expect(() => new InputLayer({ inputShape: [3], activityRegularizer: 'l2' } as never)).toThrow(/InputLayer: expected options among/);
  });
});

describeLayer('Dense and Conv2D with regularizers and constraints', {
  shapes: [
    {
      title: 'Dense with every option',
      make: () =>
        new Dense(3, {
          kernelRegularizer: regularizers.l1l2({ l1: 0.01, l2: 0.02 }),
          biasRegularizer: 'l2',
          activityRegularizer: regularizers.l1(0.03),
          kernelConstraint: constraints.maxNorm({ maxValue: 1.5 }),
          biasConstraint: 'non_neg',
        }),
      inputShape: [4],
      outputShape: [3],
      params: 15,
      weightShapes: [[4, 3], [3]],
    },
    {
      title: 'Conv2D with a kernel constraint over each filter',
      make: () => new Conv2D(2, 3, { kernelRegularizer: 'l2', kernelConstraint: constraints.unitNorm({ axis: [0, 1, 2] }), activityRegularizer: 'l1_l2' }),
      inputShape: [5, 5, 2],
      outputShape: [3, 3, 2],
      params: 38,
      weightShapes: [[3, 3, 2, 2], [2]],
    },
    {
      title: 'ActivityRegularization',
      make: () => new ActivityRegularization({ l1: 0.1, l2: 0.2 }),
      inputShape: [2, 3],
      outputShape: [2, 3],
      params: 0,
      weightShapes: [],
    },
    {
      title: 'BatchNormalization with gamma and beta options',
      make: () => new BatchNormalization({ gammaRegularizer: 'l2', betaRegularizer: 'l1', gammaConstraint: 'non_neg', betaConstraint: 'max_norm' }),
      inputShape: [4],
      outputShape: [4],
      params: 16,
      weightShapes: [[4], [4], [4], [4]],
    },
  ],
  badOptions: [
    { title: 'a negative ActivityRegularization factor', make: () => new ActivityRegularization({ l2: -0.1 }), error: /ActivityRegularization: expected l2 to be a number in \[0, Infinity\] but received -0.1/ },
    { title: 'a typo in an option name', make: () => new Dense(2, { kernelRegulariser: 'l2' } as never), error: /Dense: expected options among .*kernelRegularizer.* but received "kernelRegulariser"/ },
    { title: 'a negative factor', make: () => new Conv2D(2, 3, { kernelRegularizer: { className: 'L1', config: { l1: -1 } } }), error: /expected kernelRegularizer to be a valid L1/ },
    { title: 'an unknown constraint', make: () => new BatchNormalization({ gammaConstraint: 'positive' as never }), error: /expected gammaConstraint to be one of/ },
  ],
});

describe('the penalties in the loss', () => {
  test('evaluate, trainOnBatch and fit report the data loss plus l2 * sum(kernel²) + l1 * sum(|bias|), as Keras', async () => {
    const model = new Sequential([
      new InputLayer({ inputShape: [3] }),
      new Dense(2, { kernelRegularizer: regularizers.l2(0.05), biasRegularizer: regularizers.l1(0.2) }),
    ]);
    model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'mse' });
    setSeededWeights(model, 11);
    const x = randomTensor([4, 3], 1);
    const y = randomTensor([4, 2], 2);
    const expectedLoss = async () => {
      const [kernel, bias] = model.getWeights().map(values);
      return meanSquaredError(values(await model.predict(x)), values(y)) + l2Of(kernel, 0.05) + l1Of(bias, 0.2);
    };
    const expected = await expectedLoss();
    expectClose([(await model.evaluate(x, y, { verbose: 0 })) as number], [expected]);
    expectClose([(await model.testOnBatch(x, y)) as number], [expected]);
    // trainOnBatch and fit report the loss of the weights each step started from.
    expectClose([(await model.trainOnBatch(x, y)) as number], [expected]);
    const next = await expectedLoss();
    expect(Math.abs(next - expected)).toBeGreaterThan(1e-3);
    const history = await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    expectClose(history.history.loss, [next]);
  });

  test("an activity regularizer adds its penalty on the layer's output (after its activation) divided by the batch size", async () => {
    const model = new Sequential([
      new InputLayer({ inputShape: [4] }),
      new Dense(3, { activation: 'relu', activityRegularizer: regularizers.l1l2({ l1: 0.1, l2: 0.3 }) }),
      new Dense(1),
    ]);
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    setSeededWeights(model, 21);
    const x = randomTensor([5, 4], 3);
    const y = randomTensor([5, 1], 4);
    const [kernel, bias] = model.getWeights().slice(0, 2).map(values);
    const hidden: number[] = [];
    const input = values(x);
    for (let n = 0; n < 5; n++) {
      for (let u = 0; u < 3; u++) {
        let total = bias[u];
        for (let i = 0; i < 4; i++) total += input[n * 4 + i] * kernel[i * 3 + u];
        hidden.push(Math.max(0, total));
      }
    }
    const penalty = (l1Of(hidden, 0.1) + l2Of(hidden, 0.3)) / 5;
    const expected = meanSquaredError(values(await model.predict(x)), values(y)) + penalty;
    expectClose([(await model.evaluate(x, y, { verbose: 0 })) as number], [expected]);
  });

  test('ActivityRegularization adds (l1 * sum(|x|) + l2 * sum(x²)) / batch size of what passes through it', async () => {
    const layer = new ActivityRegularization({ l1: 0.2, l2: 0.1 });
    expect(layer.getConfig()).toEqual({ name: layer.name, trainable: true, l1: 0.2, l2: 0.1 });
    const model = new Sequential([new InputLayer({ inputShape: [3] }), new Dense(2), layer]);
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    setSeededWeights(model, 25);
    const x = randomTensor([4, 3], 15);
    const y = randomTensor([4, 2], 16);
    const outputs = values(await model.predict(x));
    const expected = meanSquaredError(outputs, values(y)) + (l1Of(outputs, 0.2) + l2Of(outputs, 0.1)) / 4;
    expectClose([(await model.evaluate(x, y, { verbose: 0 })) as number], [expected]);
  });

  test("a frozen layer's weight penalty counts neither in the loss nor in the gradients (Keras 3's trainable_weights)", async () => {
    const frozen = new Dense(3, { kernelRegularizer: regularizers.l2(0.5), trainable: false });
    const head = new Dense(1, { kernelRegularizer: regularizers.l2(0.1) });
    const model = new Sequential([new InputLayer({ inputShape: [2] }), frozen, head]);
    model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'mse' });
    const weights = setSeededWeights(model, 31);
    const x = randomTensor([4, 2], 5);
    const y = randomTensor([4, 1], 6);
    const dataLoss = meanSquaredError(values(await model.predict(x)), values(y));
    expectClose([(await model.evaluate(x, y, { verbose: 0 })) as number], [dataLoss + l2Of(weights[2], 0.1)]);
    await model.trainOnBatch(x, y);
    expect(values(model.getWeights()[0])).toEqual(Array.from(Float32Array.from(weights[0])));
    // Unfrozen, it counts again.
    frozen.trainable = true;
    expectClose([(await model.evaluate(x, y, { verbose: 0 })) as number], [
      meanSquaredError(values(await model.predict(x)), values(y)) + l2Of(values(model.getWeights()[0]), 0.5) + l2Of(values(model.getWeights()[2]), 0.1),
    ]);
  });
});

/** The weights after one SGD step of a model without constraints, and of the same model with them. */
async function stepWithAndWithout(
  make: (constrained: boolean) => Sequential,
  inputShape: number[],
): Promise<{ free: number[][]; constrained: number[][]; shapes: number[][] }> {
  const results: number[][][] = [];
  let shapes: number[][] = [];
  for (const constrained of [false, true]) {
    const model = make(constrained);
    model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'mse' });
    setSeededWeights(model, 41);
    await model.trainOnBatch(randomTensor([4, ...inputShape], 7), randomTensor([4, ...model.outputShape as number[]], 8));
    results.push(model.getWeights().map(values));
    shapes = model.getWeights().map((w) => [...w.shape]);
  }
  return { free: results[0], constrained: results[1], shapes };
}

/** The norm of each slice of a row-major `shape` tensor over `axes`, with the index of each element's slice. */
function sliceNorms(list: number[], shape: number[], axes: number[]): { norms: number[]; sliceOf: number[] } {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const sliceOf = list.map((_, flat) => kept.reduce((index, axis) => index * shape[axis] + (Math.floor(flat / strides[axis]) % shape[axis]), 0));
  const squares: number[] = [];
  list.forEach((v, i) => (squares[sliceOf[i]] = (squares[sliceOf[i]] ?? 0) + v * v));
  return { norms: squares.map(Math.sqrt), sliceOf };
}

// Keras's backend.epsilon(), in its constraints' divisors.
const EPSILON = 1e-7;

describe('constraints after each optimizer step', () => {
  test("maxNorm scales each Dense unit's incoming weights (axis 0) to at most maxValue; nonNeg zeroes negative biases", async () => {
    const { free, constrained, shapes } = await stepWithAndWithout(
      (on) =>
        new Sequential([
          new InputLayer({ inputShape: [6] }),
          new Dense(4, on ? { kernelConstraint: constraints.maxNorm({ maxValue: 1.2 }), biasConstraint: constraints.nonNeg() } : {}),
        ]),
      [6],
    );
    const { norms, sliceOf } = sliceNorms(free[0], shapes[0], [0]);
    expect(norms.some((n) => n > 1.2) && norms.some((n) => n < 1.2)).toBe(true); // both cases occur
    expectClose(constrained[0], free[0].map((w, i) => w * (Math.min(norms[sliceOf[i]], 1.2) / (EPSILON + norms[sliceOf[i]]))));
    expect(free[1].some((b) => b < 0)).toBe(true);
    expectClose(constrained[1], free[1].map((b) => Math.max(b, 0)));
  });

  test("unitNorm over a Conv2D kernel's [0, 1, 2] (each filter), minMaxNorm with a rate over axis 1", async () => {
    const { free, constrained, shapes } = await stepWithAndWithout(
      (on) =>
        new Sequential([
          new InputLayer({ inputShape: [4, 4, 2] }),
          new Conv2D(3, 2, on ? { kernelConstraint: constraints.unitNorm({ axis: [0, 1, 2] }) } : {}),
          new Flatten(),
          new Dense(2, on ? { kernelConstraint: constraints.minMaxNorm({ minValue: 0.5, maxValue: 0.8, rate: 0.7, axis: -1 }) } : {}),
        ]),
      [4, 4, 2],
    );
    const conv = sliceNorms(free[0], shapes[0], [0, 1, 2]);
    expect(conv.norms).toHaveLength(3);
    expectClose(constrained[0], free[0].map((w, i) => w / (EPSILON + conv.norms[conv.sliceOf[i]])));
    const dense = sliceNorms(free[2], shapes[2], [1]);
    expect(dense.norms.some((n) => n < 0.5) && dense.norms.some((n) => n > 0.8)).toBe(true);
    const desired = dense.norms.map((n) => 0.7 * Math.min(Math.max(n, 0.5), 0.8) + 0.3 * n);
    expectClose(constrained[2], free[2].map((w, i) => w * (desired[dense.sliceOf[i]] / (EPSILON + dense.norms[dense.sliceOf[i]]))));
    // Unconstrained weights are untouched.
    expect(constrained[1]).toEqual(free[1]);
  });

  test('a frozen layer keeps its weights as they are, constraint or not', async () => {
    const model = new Sequential([new InputLayer({ inputShape: [3] }), new Dense(2, { kernelConstraint: 'unit_norm', trainable: false }), new Dense(1)]);
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    const weights = setSeededWeights(model, 51);
    await model.trainOnBatch(randomTensor([2, 3], 9), randomTensor([2, 1], 10));
    expect(values(model.getWeights()[0])).toEqual(Array.from(Float32Array.from(weights[0])));
  });
});

describe('persistence', () => {
  test('save and loadModel keep the regularizers and constraints: same configs, same penalised loss, same next step', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-regularization-'));
    try {
      const input = Input({ shape: [4, 4, 1] });
      const conv = new Conv2D(2, 3, { kernelRegularizer: regularizers.l2(0.02), activityRegularizer: 'l1', kernelConstraint: constraints.maxNorm({ maxValue: 0.5, axis: [0, 1, 2] }) }).apply(input);
      const output = new Dense(1, { biasRegularizer: regularizers.l1l2({ l1: 0.1, l2: 0.2 }), biasConstraint: 'non_neg' }).apply(new Flatten().apply(conv));
      const model = new Model({ inputs: input, outputs: output });
      model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'mse' });
      setSeededWeights(model, 61);
      const x = randomTensor([3, 4, 4, 1], 11);
      const y = randomTensor([3, 1], 12);
      const file = path.join(tmp, 'model.safetensors');
      await model.save(file);
      const loaded = await loadModel(file);
      expect(loaded.layers.map((l) => l.getConfig())).toEqual(model.layers.map((l) => l.getConfig()));
      expect(loaded.layers[1].getConfig()).toMatchObject({
        kernelRegularizer: { className: 'L2', config: { l2: 0.02 } },
        biasRegularizer: null,
        activityRegularizer: { className: 'L1', config: { l1: 0.01 } },
        kernelConstraint: { className: 'MaxNorm', config: { maxValue: 0.5, axis: [0, 1, 2] } },
        biasConstraint: null,
      });
      expect(await loaded.evaluate(x, y, { verbose: 0 })).toBe(await model.evaluate(x, y, { verbose: 0 }));
      await model.trainOnBatch(x, y);
      await loaded.trainOnBatch(x, y);
      expect(loaded.getWeights().map(values)).toEqual(model.getWeights().map(values));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

const describeWithTorch = describeIf(pythonHas('torch'), 'the comparison with PyTorch needs python3-torch (apt-get install python3-torch)');

describeWithTorch('the penalised gradient step against PyTorch', () => {
  test('Conv2D (relu, max-pooled) and Dense with weight and activity regularizers: the losses and weights of three SGD steps', async () => {
    const model = new Sequential([
      new InputLayer({ inputShape: [5, 5, 2] }),
      new Conv2D(3, 2, {
        activation: 'relu',
        kernelRegularizer: regularizers.l2(0.03),
        biasRegularizer: regularizers.l1(0.02),
        activityRegularizer: regularizers.l1l2({ l1: 0.01, l2: 0.02 }),
      }),
      new MaxPooling2D({ poolSize: 2 }),
      new Flatten(),
      new Dense(2, { kernelRegularizer: 'l1_l2', activityRegularizer: regularizers.l2(0.05) }),
    ]);
    model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'mse' });
    const initial = setSeededWeights(model, 71);
    const x = randomTensor([4, 5, 5, 2], 13);
    const y = randomTensor([4, 2], 14);
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) losses.push((await model.trainOnBatch(x, y)) as number);
    const script = `
import json, sys, torch
data = json.loads(sys.stdin.read())
kernel, bias, dense_kernel, dense_bias = [torch.tensor(w, dtype=torch.float32) for w in data['weights']]
conv_w = kernel.reshape(2, 2, 2, 3).permute(3, 2, 0, 1).clone().requires_grad_()   # Keras [kh, kw, in, out]
conv_b = bias.clone().requires_grad_()
dense_w = dense_kernel.reshape(12, 2).clone().requires_grad_()                         # Keras [in, out]
dense_b = dense_bias.clone().requires_grad_()
x = torch.tensor(data['x'], dtype=torch.float32).reshape(4, 5, 5, 2).permute(0, 3, 1, 2)
y = torch.tensor(data['y'], dtype=torch.float32).reshape(4, 2)
params = [conv_w, conv_b, dense_w, dense_b]
opt = torch.optim.SGD(params, lr=0.1)
losses = []
for step in range(3):
    opt.zero_grad()
    a = torch.relu(torch.nn.functional.conv2d(x, conv_w, conv_b))
    h = torch.nn.functional.max_pool2d(a, 2).permute(0, 2, 3, 1).flatten(1)
    out = h @ dense_w + dense_b
    batch = x.shape[0]
    loss = ((out - y) ** 2).mean()
    loss = loss + 0.03 * (conv_w ** 2).sum() + 0.02 * conv_b.abs().sum()
    loss = loss + (0.01 * a.abs().sum() + 0.02 * (a ** 2).sum()) / batch
    loss = loss + 0.01 * dense_w.abs().sum() + 0.01 * (dense_w ** 2).sum()
    loss = loss + 0.05 * (out ** 2).sum() / batch
    losses.append(loss.item())
    loss.backward()
    opt.step()
print(json.dumps({'losses': losses, 'weights': [
    conv_w.detach().permute(2, 3, 1, 0).flatten().tolist(), conv_b.detach().tolist(),
    dense_w.detach().flatten().tolist(), dense_b.detach().tolist()]}))
`;
    const reference = JSON.parse(
      runPythonWithInput(script, JSON.stringify({ weights: initial, x: values(x), y: values(y) })),
    ) as { losses: number[]; weights: number[][] };
    expectClose(losses, reference.losses, 1e-5);
    model.getWeights().forEach((w, i) => expectClose(values(w), reference.weights[i], 1e-5));
  });
});

/** runPython with `input` on its stdin. */
function runPythonWithInput(script: string, input: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-reference-')), 'input.json');
  fs.writeFileSync(file, input);
  try {
    return runPython(`import sys\nsys.stdin = open(sys.argv[1])\n${script}`, [file]);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}
