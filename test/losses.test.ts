import { Activation, CompileArgs, Dense, InputLayer, Layer, LOSSES, losses, Rescaling, Sequential, SGD, tensor } from '../lib';
import { getLoss } from '../lib/losses';
import { getMetric } from '../lib/metrics';
import { seededRandom } from './helpers';
import { describeIf } from './helpers/peers';
import { pythonHas, runPython } from './helpers/python';

const EPSILON = 1e-7;
// Computed in float32 as Keras and libtorch do: 1 - 1e-7 rounds to 1 - 1.19e-7.
const clip = (p: number): number => Math.min(Math.max(p, EPSILON), Math.fround(1 - EPSILON));
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const mean = (list: number[]): number => list.reduce((a, b) => a + b, 0) / list.length;
/** Binary crossentropy on logits, computed stably. */
const bceLogits = (z: number, y: number): number => Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
const bceProbability = (p: number, y: number): number => -(y * Math.log(clip(p)) + (1 - y) * Math.log(1 - clip(p)));
function logSoftmax(row: number[]): number[] {
  const max = Math.max(...row);
  const logSum = Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
  return row.map((v) => v - logSum);
}

/** A model without weights whose output is its input passed through `last` (so outputs are chosen by the test). */
function passThrough(units: number, last: Layer, compile: Omit<CompileArgs, 'optimizer'>): Sequential {
  const model = new Sequential([new InputLayer({ inputShape: [units] }), last]);
  model.compile({ optimizer: new SGD({ learningRate: 0 }), ...compile });
  return model;
}

/** Like passThrough, but through a trainable Dense with an identity kernel (training needs a weight). */
function identityDense(units: number, activation: 'linear' | 'sigmoid' | 'softmax', compile: Omit<CompileArgs, 'optimizer'>): Sequential {
  const model = new Sequential([new InputLayer({ inputShape: [units] }), new Dense(units, { activation, useBias: false })]);
  model.compile({ optimizer: new SGD({ learningRate: 0 }), ...compile });
  model.setWeights([Array.from({ length: units }, (_, i) => Array.from({ length: units }, (_, j) => (i === j ? 1 : 0)))]);
  return model;
}

describe('binary_crossentropy', () => {
  const logits = [-3, -0.5, 0, 0.7, 2.5, 20];
  const labels = [0, 1, 1, 0, 1, 0];

  test('with the sigmoid folded in (last layer Activation sigmoid): computed on the logits, stable for large logits', async () => {
    const model = passThrough(1, new Activation('sigmoid'), { loss: 'binary_crossentropy' });
    const loss = await model.evaluate(tensor(logits.map((z) => [z])), tensor(labels.map((y) => [y])), { verbose: 0 });
    // The logit 20 with label 0 costs 20, not the clipped -log(1e-7) = 16.1 of probability space.
    expect(loss).toBeCloseTo(mean(logits.map((z, i) => bceLogits(z, labels[i]))), 5);
    // predict still returns probabilities.
    const p = Array.from((await model.predict(tensor([[0], [2]]))).dataSync() as Float32Array);
    expect(p[0]).toBeCloseTo(0.5, 6);
    expect(p[1]).toBeCloseTo(sigmoid(2), 6);
  });

  test("with a Dense(1, {activation: 'sigmoid'}) output: folded as well", async () => {
    const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1, { activation: 'sigmoid', useBias: false })]);
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'binary_crossentropy' });
    model.setWeights([[[1]]]);
    const loss = await model.evaluate(tensor(logits.map((z) => [z])), tensor(labels), { verbose: 0 });
    expect(loss).toBeCloseTo(mean(logits.map((z, i) => bceLogits(z, labels[i]))), 5);
  });

  test('on probabilities from a linear last layer: not folded, clipped to [1e-7, 1 - 1e-7]', async () => {
    const probabilities = [0.1, 0.4, 0.5, 0.65, 0.99, 1];
    const model = passThrough(1, new Rescaling(1), { loss: 'binary_crossentropy' });
    const loss = await model.evaluate(tensor(probabilities.map((p) => [p])), tensor(labels.map((y) => [y])), { verbose: 0 });
    expect(loss).toBeCloseTo(mean(probabilities.map((p, i) => bceProbability(p, labels[i]))), 4);
  });

  test('on probabilities from a relu last layer: not folded', async () => {
    const probabilities = [0.2, 0.9, 0.3];
    const model = passThrough(1, new Activation('relu'), { loss: 'binary_crossentropy' });
    const loss = await model.evaluate(tensor(probabilities.map((p) => [p])), tensor([[0], [1], [1]]), { verbose: 0 });
    expect(loss).toBeCloseTo(mean([bceProbability(0.2, 0), bceProbability(0.9, 1), bceProbability(0.3, 1)]), 5);
  });

  test('averages over several outputs per sample', async () => {
    const model = passThrough(2, new Rescaling(1), { loss: 'binary_crossentropy' });
    const loss = await model.evaluate(tensor([[0.2, 0.6], [0.9, 0.5]]), tensor([[0, 1], [1, 1]]), { verbose: 0 });
    expect(loss).toBeCloseTo(mean([bceProbability(0.2, 0), bceProbability(0.6, 1), bceProbability(0.9, 1), bceProbability(0.5, 1)]), 5);
  });
});

describe('categorical losses', () => {
  const logits = [[1, 2, 3], [0.5, -1, 0], [10, -10, 0]];
  const oneHot = [[0, 0, 1], [1, 0, 0], [0, 1, 0]];
  const indices = [2, 0, 1];

  test('categorical_crossentropy with softmax folded in', async () => {
    const model = passThrough(3, new Activation('softmax'), { loss: 'categorical_crossentropy' });
    const loss = await model.evaluate(tensor(logits), tensor(oneHot), { verbose: 0 });
    // The third sample's -log softmax = 20 + log(1 + e^-10 + e^-20), beyond what clipping allows.
    expect(loss).toBeCloseTo(mean(logits.map((row, i) => -logSoftmax(row)[indices[i]])), 4);
  });

  test('categorical_crossentropy with soft labels', async () => {
    const model = passThrough(3, new Activation('softmax'), { loss: 'categorical_crossentropy' });
    const soft = [[0.2, 0.3, 0.5], [0.5, 0.5, 0], [1, 0, 0]];
    const loss = await model.evaluate(tensor(logits), tensor(soft), { verbose: 0 });
    expect(loss).toBeCloseTo(mean(logits.map((row, i) => -logSoftmax(row).reduce((a, l, k) => a + soft[i][k] * l, 0))), 4);
  });

  test('categorical_crossentropy on probabilities: renormalised, then clipped', async () => {
    const probabilities = [[0.2, 0.2, 0.4], [0.7, 0.2, 0.1]]; // the first row sums to 0.8
    const model = passThrough(3, new Rescaling(1), { loss: 'categorical_crossentropy' });
    const loss = await model.evaluate(tensor(probabilities), tensor([[0, 0, 1], [0, 1, 0]]), { verbose: 0 });
    expect(loss).toBeCloseTo(mean([-Math.log(0.4 / 0.8), -Math.log(0.2)]), 5);
  });

  test('sparse_categorical_crossentropy with softmax folded in, labels as indices ([N] or [N, 1])', async () => {
    const model = passThrough(3, new Activation('softmax'), { loss: 'sparse_categorical_crossentropy' });
    const expected = mean(logits.map((row, i) => -logSoftmax(row)[indices[i]]));
    expect(await model.evaluate(tensor(logits), tensor(indices), { verbose: 0 })).toBeCloseTo(expected, 4);
    expect(await model.evaluate(tensor(logits), tensor(indices.map((i) => [i])), { verbose: 0 })).toBeCloseTo(expected, 4);
    expect(await model.evaluate(tensor(logits), tensor(new Int32Array(indices)), { verbose: 0 })).toBeCloseTo(expected, 4);
  });

  test('sparse_categorical_crossentropy on probabilities', async () => {
    const model = passThrough(3, new Rescaling(1), { loss: 'sparse_categorical_crossentropy' });
    const loss = await model.evaluate(tensor([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]), tensor([1, 2]), { verbose: 0 });
    expect(loss).toBeCloseTo(mean([-Math.log(0.6), -Math.log(0.25)]), 5);
  });

  test('labels of the wrong shape or out of range are errors that name the shapes', async () => {
    const model = passThrough(3, new Activation('softmax'), { loss: 'categorical_crossentropy' });
    await expect(model.evaluate(tensor(logits), tensor([[1, 0], [0, 1], [1, 0]]), { verbose: 0 })).rejects.toThrow(
      /categorical_crossentropy: expected labels y of shape \[3, 3\] but received \[3, 2\]/,
    );
    const sparse = passThrough(3, new Activation('softmax'), { loss: 'sparse_categorical_crossentropy' });
    await expect(sparse.evaluate(tensor(logits), tensor([0, 3, 1]), { verbose: 0 })).rejects.toThrow(
      /sparse_categorical_crossentropy: expected class indices in \[0, 2\] but received values from 0 to 3/,
    );
  });
});

describe('regression losses', () => {
  const outputs = [[0.5, -1], [2, 3], [0, 0.25]];
  const targets = [[1, -1], [0, 3.5], [-1, 0]];
  const errors = outputs.flatMap((row, i) => row.map((v, j) => v - targets[i][j]));

  test('mse', async () => {
    const model = passThrough(2, new Rescaling(1), { loss: 'mse' });
    expect(await model.evaluate(tensor(outputs), tensor(targets), { verbose: 0 })).toBeCloseTo(mean(errors.map((e) => e * e)), 5);
  });

  test('mae', async () => {
    const model = passThrough(2, new Rescaling(1), { loss: 'mae' });
    expect(await model.evaluate(tensor(outputs), tensor(targets), { verbose: 0 })).toBeCloseTo(mean(errors.map(Math.abs)), 5);
  });

  test('mse on a sigmoid output uses the probabilities (nothing folds into mse)', async () => {
    const model = passThrough(1, new Activation('sigmoid'), { loss: 'mean_squared_error' });
    const loss = await model.evaluate(tensor([[0], [1]]), tensor([[1], [0]]), { verbose: 0 });
    expect(loss).toBeCloseTo(mean([(0.5 - 1) ** 2, sigmoid(1) ** 2]), 5);
  });
});

describe('classWeight', () => {
  test("scales each sample's loss by its class weight, divided by the batch size (Keras's sum over batch size)", async () => {
    const probabilities = [0.2, 0.7, 0.4, 0.9];
    const labels = [0, 1, 1, 0];
    const model = identityDense(1, 'linear', { loss: 'binary_crossentropy' });
    const perSample = probabilities.map((p, i) => bceProbability(p, labels[i]));
    const weights = labels.map((y) => (y === 1 ? 3 : 0.5));
    const x = tensor(probabilities.map((p) => [p]));
    const y = tensor(labels.map((v) => [v]));
    expect(await model.trainOnBatch(x, y)).toBeCloseTo(mean(perSample), 5);
    const weighted = await model.trainOnBatch(x, y, { classWeight: { 0: 0.5, 1: 3 } });
    expect(weighted).toBeCloseTo(perSample.reduce((a, l, i) => a + weights[i] * l, 0) / 4, 5);
  });

  test('works with one-hot and index labels, classes without a weight count 1', async () => {
    const logits = [[2, 0, 0], [0, 2, 0], [0, 0, 2]];
    const model = identityDense(3, 'softmax', { loss: 'categorical_crossentropy' });
    const perSample = logits.map((row, i) => -logSoftmax(row)[i]);
    const expected = (2 * perSample[0] + 1 * perSample[1] + 0 * perSample[2]) / 3;
    expect(await model.trainOnBatch(tensor(logits), tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), { classWeight: { 0: 2, 2: 0 } })).toBeCloseTo(expected, 5);
    const sparse = identityDense(3, 'softmax', { loss: 'sparse_categorical_crossentropy' });
    expect(await sparse.trainOnBatch(tensor(logits), tensor([0, 1, 2]), { classWeight: { 0: 2, 2: 0 } })).toBeCloseTo(expected, 5);
  });

  test('bad class weights are rejected', async () => {
    const model = identityDense(1, 'linear', { loss: 'binary_crossentropy' });
    await expect(model.trainOnBatch(tensor([[0.5]]), tensor([[1]]), { classWeight: { 0: -1 } })).rejects.toThrow(
      /trainOnBatch: expected classWeight\[0\] to be a number in \[0, Infinity\] but received -1/,
    );
    await expect(model.trainOnBatch(tensor([[0.5]]), tensor([[1]]), { classWeight: { cat: 1 } })).rejects.toThrow(
      /trainOnBatch: expected classWeight keys to be class indices but received "cat"/,
    );
  });
});

describe('accuracy resolved from the loss, as Keras does', () => {
  test('binary_crossentropy -> binary accuracy (threshold 0.5), folded or not', async () => {
    const labels = tensor([[0], [1], [0], [0]]);
    const probabilities = passThrough(1, new Rescaling(1), { loss: 'binary_crossentropy', metrics: ['accuracy'] });
    const [lossP, accuracyP] = (await probabilities.evaluate(tensor([[0.2], [0.7], [0.6], [0.4]]), labels, { verbose: 0 })) as number[];
    expect(accuracyP).toBeCloseTo(0.75, 6);
    expect(lossP).toBeCloseTo(mean([bceProbability(0.2, 0), bceProbability(0.7, 1), bceProbability(0.6, 0), bceProbability(0.4, 0)]), 5);
    const logits = passThrough(1, new Activation('sigmoid'), { loss: 'binary_crossentropy', metrics: ['acc', 'mae'] });
    const [, accuracyL, mae] = (await logits.evaluate(tensor([[-1], [2], [0.5], [-0.3]]), labels, { verbose: 0 })) as number[];
    expect(accuracyL).toBeCloseTo(0.75, 6);
    // Metrics other than accuracy see the probabilities.
    expect(mae).toBeCloseTo(mean([sigmoid(-1), 1 - sigmoid(2), sigmoid(0.5), sigmoid(-0.3)]), 5);
  });

  test('categorical_crossentropy -> categorical accuracy, sparse -> sparse accuracy', async () => {
    const logits = tensor([[1, 2, 3], [3, 0, 0], [0, 5, 1], [1, 0, 0]]);
    const categorical = passThrough(3, new Activation('softmax'), { loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    const [, accuracy] = (await categorical.evaluate(logits, tensor([[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]]), { verbose: 0 })) as number[];
    expect(accuracy).toBeCloseTo(0.5, 6);
    const sparse = passThrough(3, new Activation('softmax'), { loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    const [, sparseAccuracy] = (await sparse.evaluate(logits, tensor([2, 0, 1, 1]), { verbose: 0 })) as number[];
    expect(sparseAccuracy).toBeCloseTo(0.75, 6);
  });

  test('other losses: binary accuracy for one output unit, categorical otherwise', () => {
    const kind = (metric: string, loss: string, outputUnits: number) => getMetric(metric).toSpec({ loss: getLoss(loss), outputUnits }).kind;
    expect(kind('accuracy', 'mse', 1)).toBe('binary_accuracy');
    expect(kind('accuracy', 'mae', 4)).toBe('categorical_accuracy');
    expect(kind('accuracy', 'binary_crossentropy', 1)).toBe('binary_accuracy');
    expect(kind('accuracy', 'categorical_crossentropy', 5)).toBe('categorical_accuracy');
    expect(kind('accuracy', 'sparse_categorical_crossentropy', 5)).toBe('sparse_categorical_accuracy');
    expect(kind('meanAbsoluteError', 'mse', 1)).toBe('mae');
    expect(getMetric('meanAbsoluteError').name).toBe('meanAbsoluteError');
    expect(getMetric('MeanAbsoluteError').name).toBe('mean_absolute_error');
  });

  test('unknown metrics and losses are rejected, listing the valid names', () => {
    const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1)]);
    expect(() => model.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['f1'] })).toThrow(/compile: expected metrics to hold 'accuracy', a Keras metric name .* but received "f1"/);
    expect(() => getLoss('hinge_loss')).toThrow(new RegExp(`compile: expected loss to be one of ${LOSSES.map((l) => `'${l}'`).join(', ')} or a Loss object but received "hinge_loss"`));
    expect(getLoss('binaryCrossentropy').name).toBe('binary_crossentropy');
    expect(getLoss('sparseCategoricalCrossentropy').name).toBe('sparse_categorical_crossentropy');
    expect(getLoss('mean_absolute_error').name).toBe('mae');
    expect(getLoss('Huber')).toBeInstanceOf(losses.Huber);
    expect(getLoss('kld').name).toBe('kl_divergence');
  });
});

describeIf(pythonHas('torch'), 'the loss gradient comparisons need python3-torch (apt-get install python3-torch)')('Keras losses and their gradients against PyTorch', () => {
  const UNITS = 3;
  const BATCH = 4;
  const next = seededRandom(7);
  const x = Array.from({ length: BATCH }, () => Array.from({ length: UNITS }, () => Math.fround(next() * 4 - 2)));
  const binary = x.map((row) => row.map(() => (next() > 0.5 ? 1 : 0)));
  const signs = binary.map((row) => row.map((v) => 2 * v - 1));
  const classes = x.map(() => Math.floor(next() * UNITS));
  const oneHot = classes.map((c) => Array.from({ length: UNITS }, (_, k) => (k === c ? 1 : 0)));
  const soft = x.map(() => {
    const row = Array.from({ length: UNITS }, () => next() + 0.1);
    return row.map((v) => v / row.reduce((a, b) => a + b, 0));
  });
  const real = x.map((row) => row.map(() => Math.fround(next() * 2 - 1)));
  const sampleWeight = [0.5, 2, 1, 0];

  // Each case: our loss, the model's last activation, the labels, and the per-sample loss in PyTorch over
  // z (the logits), p (the activated output) and y.
  const cases: { title: string; loss: losses.Loss; activation: 'linear' | 'sigmoid' | 'softmax'; y: number[] | number[][]; torch: string; weighted?: boolean }[] = [
    { title: 'Huber({ delta: 0.5 })', loss: new losses.Huber({ delta: 0.5 }), activation: 'linear', y: real, torch: "F.huber_loss(p, y, delta=0.5, reduction='none').mean(-1)" },
    { title: 'LogCosh', loss: new losses.LogCosh(), activation: 'linear', y: real, torch: 'torch.log(torch.cosh(p - y)).mean(-1)', weighted: true },
    { title: 'Hinge (0/1 labels become -1/1)', loss: new losses.Hinge(), activation: 'linear', y: binary, torch: 'torch.relu(1 - (2 * y - 1) * p).mean(-1)' },
    { title: 'SquaredHinge', loss: new losses.SquaredHinge(), activation: 'linear', y: signs, torch: 'torch.relu(1 - y * p).pow(2).mean(-1)' },
    { title: 'CategoricalHinge', loss: new losses.CategoricalHinge(), activation: 'linear', y: oneHot, torch: 'torch.relu(((1 - y) * p).max(-1).values - (y * p).sum(-1) + 1)' },
    { title: 'KLDivergence', loss: new losses.KLDivergence(), activation: 'softmax', y: soft, torch: "F.kl_div(torch.log(p.clamp(1e-7, 1)), y.clamp(1e-7, 1), reduction='none').sum(-1)" },
    { title: 'Poisson', loss: new losses.Poisson(), activation: 'softmax', y: soft, torch: "F.poisson_nll_loss(p, y, log_input=False, eps=1e-7, reduction='none').mean(-1)", weighted: true },
    { title: 'CosineSimilarity', loss: new losses.CosineSimilarity(), activation: 'linear', y: real, torch: '-F.cosine_similarity(p, y, dim=-1)' },
    { title: "'mape'", loss: getLoss('mape'), activation: 'linear', y: real, torch: '(100 * (y - p).abs() / y.abs().clamp(min=1e-7)).mean(-1)' },
    { title: "'msle'", loss: getLoss('msle'), activation: 'softmax', y: soft, torch: '(torch.log1p(p.clamp(min=1e-7)) - torch.log1p(y.clamp(min=1e-7))).pow(2).mean(-1)' },
    {
      title: 'BinaryCrossentropy({ fromLogits, labelSmoothing: 0.2 }) on a linear output',
      loss: new losses.BinaryCrossentropy({ fromLogits: true, labelSmoothing: 0.2 }),
      activation: 'linear',
      y: binary,
      torch: "F.binary_cross_entropy_with_logits(z, y * 0.8 + 0.1, reduction='none').mean(-1)",
      weighted: true,
    },
    {
      title: 'BinaryCrossentropy({ labelSmoothing: 0.1 }) with the sigmoid folded in',
      loss: new losses.BinaryCrossentropy({ labelSmoothing: 0.1 }),
      activation: 'sigmoid',
      y: binary,
      torch: "F.binary_cross_entropy_with_logits(z, y * 0.9 + 0.05, reduction='none').mean(-1)",
    },
    {
      title: 'CategoricalCrossentropy({ fromLogits, labelSmoothing: 0.1 })',
      loss: new losses.CategoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1 }),
      activation: 'linear',
      y: oneHot,
      torch: "F.cross_entropy(z, y, label_smoothing=0.1, reduction='none')",
    },
    {
      title: 'CategoricalCrossentropy({ labelSmoothing: 0.2 }) with the softmax folded in',
      loss: new losses.CategoricalCrossentropy({ labelSmoothing: 0.2 }),
      activation: 'softmax',
      y: oneHot,
      torch: "F.cross_entropy(z, y, label_smoothing=0.2, reduction='none')",
      weighted: true,
    },
    {
      title: 'SparseCategoricalCrossentropy({ fromLogits })',
      loss: new losses.SparseCategoricalCrossentropy({ fromLogits: true }),
      activation: 'linear',
      y: classes,
      torch: "F.cross_entropy(z, y.long(), reduction='none')",
    },
    {
      title: 'BinaryFocalCrossentropy({ gamma: 2, alpha: 0.3, applyClassBalancing, labelSmoothing: 0.1 }), sigmoid folded in',
      loss: new losses.BinaryFocalCrossentropy({ gamma: 2, alpha: 0.3, applyClassBalancing: true, labelSmoothing: 0.1 }),
      activation: 'sigmoid',
      y: binary,
      torch: `focal(z, y * 0.9 + 0.05, 2.0, 0.3)`,
    },
    {
      title: 'BinaryFocalCrossentropy({ gamma: 1.5, fromLogits })',
      loss: new losses.BinaryFocalCrossentropy({ gamma: 1.5, fromLogits: true }),
      activation: 'linear',
      y: binary,
      torch: 'focal(z, y, 1.5, None)',
    },
    { title: "'mse'", loss: getLoss('mse'), activation: 'linear', y: real, torch: '(p - y).pow(2).mean(-1)', weighted: true },
    { title: "'mae'", loss: getLoss('mae'), activation: 'linear', y: real, torch: '(p - y).abs().mean(-1)' },
    // The crossentropies on probabilities: an activation that does not fold into the loss, so the loss
    // clips (and categorical_crossentropy renormalises) the probabilities as Keras's backend does.
    {
      title: "'binary_crossentropy' on the probabilities of a softmax (not folded)",
      loss: getLoss('binary_crossentropy'),
      activation: 'softmax',
      y: binary,
      torch: '-(y * torch.log(clip(p)) + (1 - y) * torch.log(1 - clip(p))).mean(-1)',
      weighted: true,
    },
    {
      title: "'categorical_crossentropy' on the probabilities of a sigmoid (renormalised, not folded)",
      loss: getLoss('categorical_crossentropy'),
      activation: 'sigmoid',
      y: oneHot,
      torch: '-(y * torch.log(clip(p / p.sum(-1, keepdim=True)))).sum(-1)',
    },
    {
      title: "'sparse_categorical_crossentropy' with the softmax folded in",
      loss: getLoss('sparse_categorical_crossentropy'),
      activation: 'softmax',
      y: classes,
      torch: "F.cross_entropy(z, y.long(), reduction='none')",
      weighted: true,
    },
    {
      title: "'sparse_categorical_crossentropy' on the probabilities of a sigmoid (clipped, not renormalised)",
      loss: getLoss('sparse_categorical_crossentropy'),
      activation: 'sigmoid',
      y: classes,
      torch: '-torch.log(clip(p)).gather(-1, y.long().unsqueeze(-1)).squeeze(-1)',
    },
    {
      title: "'binary_focal_crossentropy' on the probabilities of a softmax (not folded)",
      loss: getLoss('binary_focal_crossentropy'),
      activation: 'softmax',
      y: binary,
      torch: '((1 - (y * p + (1 - y) * (1 - p))) ** 2 * -(y * torch.log(clip(p)) + (1 - y) * torch.log(1 - clip(p)))).mean(-1)',
    },
  ];

  test('every loss compile accepts has a gradient case here', () => {
    expect([...new Set(cases.map((c) => c.loss.name))].sort()).toEqual([...LOSSES].sort());
  });

  // Computed before the tests run, not while jest collects them: a skipped describe's body still runs.
  let reference: { loss: number; gradient: number[] }[];
  beforeAll(() => {
    reference = JSON.parse(
      runPython(
        `
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
def focal(z, y, gamma, alpha):
    p = torch.sigmoid(z)
    bce = F.binary_cross_entropy_with_logits(z, y, reduction='none')
    truth = y * p + (1 - y) * (1 - p)
    loss = (1 - truth) ** gamma * bce
    if alpha is not None:
        loss = (y * alpha + (1 - y) * (1 - alpha)) * loss
    return loss.mean(-1)
def clip(p):
    return p.clamp(1e-7, 1 - 1e-7)
activations = {'linear': lambda z: z, 'sigmoid': torch.sigmoid, 'softmax': lambda z: torch.softmax(z, -1)}
cases = json.loads(sys.argv[1])
results = []
for case in cases:
    x = torch.tensor(case['x'])
    W = torch.eye(x.shape[1], requires_grad=True)
    z = x @ W
    p = activations[case['activation']](z)
    y = torch.tensor(case['y'], dtype=torch.float64)
    per_sample = eval(case['torch'])
    w = torch.tensor(case['weights']) if case['weights'] else torch.ones(x.shape[0])
    loss = (per_sample * w).sum() / x.shape[0]
    loss.backward()
    results.append({'loss': loss.item(), 'gradient': W.grad.flatten().tolist()})
print(json.dumps(results))
`,
        [JSON.stringify(cases.map((c) => ({ x, activation: c.activation, y: c.y, torch: c.torch, weights: c.weighted ? sampleWeight : null })))],
      ),
    ) as { loss: number; gradient: number[] }[];
  });

  test.each(cases.map((c, i) => [c.title, i]))('%s: the loss and one SGD step match', async (_, index) => {
    const c = cases[index as number];
    const model = new Sequential([new InputLayer({ inputShape: [UNITS] }), new Dense(UNITS, { activation: c.activation, useBias: false })]);
    model.compile({ optimizer: new SGD({ learningRate: 1 }), loss: c.loss });
    const identity = Array.from({ length: UNITS }, (_, i) => Array.from({ length: UNITS }, (__, j) => (i === j ? 1 : 0)));
    model.setWeights([identity]);
    const loss = await model.trainOnBatch(tensor(x), tensor(c.y), c.weighted ? { sampleWeight } : {});
    // float32 against float64: relative to the value's size.
    const expectNear = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected)));
    expectNear(loss as number, reference[index as number].loss);
    // SGD with learning rate 1 leaves identity - gradient.
    const kernel = Array.from(model.getWeights()[0].dataSync() as Float32Array);
    const gradient = kernel.map((w, i) => identity.flat()[i] - w);
    expect(gradient).toHaveLength(reference[index as number].gradient.length);
    reference[index as number].gradient.forEach((g, i) => expectNear(gradient[i], g));
  });

  test('bad loss options are errors that name them', () => {
    expect(() => new losses.Huber({ delta: 0 })).toThrow('Huber: expected delta to be a number in (0, Infinity] but received 0');
    expect(() => new losses.BinaryCrossentropy({ labelSmoothing: 1.5 })).toThrow('BinaryCrossentropy: expected labelSmoothing to be a number in [0, 1] but received 1.5');
    expect(() => new losses.BinaryCrossentropy({ fromLogits: 'yes' as never })).toThrow('BinaryCrossentropy: expected fromLogits to be a boolean but received "yes"');
    expect(() => new losses.BinaryFocalCrossentropy({ alpha: 2 })).toThrow('BinaryFocalCrossentropy: expected alpha to be a number in [0, 1] but received 2');
    expect(() => new losses.Huber({ delt: 1 } as never)).toThrow(/Huber: expected options among delta but received "delt"/);
  });
});
