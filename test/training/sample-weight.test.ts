/**
 * Keras's sample_weight: each sample's share of the loss (sum of weighted losses over the batch size) and
 * of the metrics (weighted means), from tensors, iterators that yield [x, y, w], and times classWeight.
 */
import { BatchIterator, Dense, InputLayer, Rescaling, Sequential, SGD, tensor, Tensor } from '../../lib';

const probabilities = [0.2, 0.7, 0.4, 0.9, 0.55, 0.1];
const labels = [0, 1, 1, 0, 1, 0];
const weights = [1, 0.5, 2, 0, 3, 1.5];
const bce = (p: number, y: number): number => -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
const sum = (list: number[]): number => list.reduce((a, b) => a + b, 0);
const weightedLoss = (w: number[]) => sum(probabilities.map((p, i) => bce(p, labels[i]) * w[i])) / probabilities.length;
const weightedAccuracy = (w: number[]) => sum(probabilities.map((p, i) => ((p > 0.5 ? 1 : 0) === labels[i] ? w[i] : 0))) / sum(w);

/** Predictions are the inputs: the test chooses them. */
function passThrough(): Sequential {
  const model = new Sequential([new InputLayer({ inputShape: [1] }), new Rescaling(1)]);
  model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'binary_crossentropy', metrics: ['accuracy'] });
  return model;
}

const x = () => tensor(probabilities.map((p) => [p]));
const y = () => tensor(labels.map((l) => [l]));

/** Batches of 4 and 2 samples from the fixed data, each with its weights. */
function weightedIterator(): BatchIterator {
  const bounds = [[0, 4], [4, 6]];
  return {
    length: 2,
    async get(index: number) {
      const [start, end] = bounds[index];
      const slice = <T>(list: T[]) => list.slice(start, end);
      return [tensor(slice(probabilities).map((p) => [p])), tensor(slice(labels).map((l) => [l])), tensor(slice(weights))] as [Tensor, Tensor, Tensor];
    },
  };
}

describe('sampleWeight', () => {
  test('evaluate: the loss is the weighted sum over the sample count, metrics are weighted means', async () => {
    const [loss, accuracy] = (await passThrough().evaluate(x(), y(), { sampleWeight: tensor(weights), batchSize: 4, verbose: 0 })) as number[];
    expect(loss).toBeCloseTo(weightedLoss(weights), 5);
    expect(Math.abs(accuracy - weightedAccuracy(weights))).toBeLessThan(1e-6);
    // A plain array and a [N, 1] shape are accepted too.
    const [arrayLoss] = (await passThrough().evaluate(x(), y(), { sampleWeight: weights.map((w) => [w]), batchSize: 6, verbose: 0 })) as number[];
    expect(arrayLoss).toBeCloseTo(weightedLoss(weights), 5);
  });

  test('an iterator yielding [x, y, sampleWeight] batches, in evaluate and in fit', async () => {
    const [loss, accuracy] = (await passThrough().evaluate(weightedIterator(), { verbose: 0 })) as number[];
    // The loss is averaged over batches by their sizes (Keras's loss tracker); each batch divides by its own size.
    const batchLoss = (start: number, end: number) => sum(probabilities.slice(start, end).map((p, i) => bce(p, labels[start + i]) * weights[start + i])) / (end - start);
    expect(loss).toBeCloseTo((batchLoss(0, 4) * 4 + batchLoss(4, 6) * 2) / 6, 5);
    expect(Math.abs(accuracy - weightedAccuracy(weights))).toBeLessThan(1e-6);
    const history = await passThrough().fit(weightedIterator(), { epochs: 1, verbose: 0 });
    expect(Math.abs(history.history.accuracy[0] - weightedAccuracy(weights))).toBeLessThan(1e-6);
  });

  test('fit: zero-weighted samples take no part, the rest count over the whole batch size', async () => {
    const build = (learningRate: number) => {
      const model = new Sequential([new InputLayer({ inputShape: [2] }), new Dense(1, { activation: 'sigmoid' })]);
      model.compile({ optimizer: new SGD({ learningRate }), loss: 'binary_crossentropy' });
      model.setWeights([[[0.3], [-0.2]], [0.1]]);
      return model;
    };
    const features = [[1, 2], [-1, 0.5], [3, -1], [0.2, 0.2]];
    const targets = [[1], [0], [1], [1]];
    // Weights [1, 1, 0, 0] over 4 samples: half the gradient of the first two alone.
    const weighted = build(0.2);
    await weighted.fit(tensor(features), tensor(targets), { sampleWeight: [1, 1, 0, 0], batchSize: 4, epochs: 1, verbose: 0, shuffle: false });
    const alone = build(0.1);
    await alone.fit(tensor(features.slice(0, 2)), tensor(targets.slice(0, 2)), { batchSize: 2, epochs: 1, verbose: 0 });
    const kernel = (model: Sequential) => Array.from(model.getWeights()[0].dataSync() as Float32Array);
    kernel(weighted).forEach((w, i) => expect(w).toBeCloseTo(kernel(alone)[i], 6));
  });

  test('fit with shuffling keeps each weight with its sample; validationData takes [x, y, sampleWeight]', async () => {
    const model = passThrough();
    const history = await model.fit(x(), y(), { sampleWeight: weights, batchSize: 2, epochs: 2, verbose: 0, validationData: [x(), y(), weights] });
    for (const epoch of [0, 1]) {
      expect(history.history.loss[epoch]).toBeCloseTo(sum(probabilities.map((p, i) => bce(p, labels[i]) * weights[i])) / 6, 5);
      expect(Math.abs(history.history.accuracy[epoch] - weightedAccuracy(weights))).toBeLessThan(1e-6);
      expect(Math.abs(history.history.val_accuracy[epoch] - weightedAccuracy(weights))).toBeLessThan(1e-6);
    }
  });

  test('classWeight multiplies sampleWeight, as Keras does', async () => {
    const classWeight = { 0: 0.5, 1: 3 };
    const combined = weights.map((w, i) => w * (labels[i] === 1 ? 3 : 0.5));
    const loss = await passThrough().trainOnBatch(x(), y(), { sampleWeight: weights, classWeight });
    expect((loss as number[])[0]).toBeCloseTo(weightedLoss(combined), 5);
    const tested = await passThrough().testOnBatch(x(), y(), { sampleWeight: weights });
    expect((tested as number[])[0]).toBeCloseTo(weightedLoss(weights), 5);
  });

  test('bad sample weights are errors that name the argument and the shapes', async () => {
    await expect(passThrough().evaluate(x(), y(), { sampleWeight: [1, 2], verbose: 0 })).rejects.toThrow(
      'evaluate: expected sampleWeight of shape [6] (one weight per sample) but received shape [2]',
    );
    await expect(passThrough().fit(x(), y(), { sampleWeight: [[1, 2, 3, 4, 5, 6]], verbose: 0 })).rejects.toThrow(
      'fit: expected sampleWeight of shape [6] (one weight per sample) but received shape [1, 6]',
    );
    await expect(passThrough().fit(weightedIterator(), { sampleWeight: weights, verbose: 0 } as never)).rejects.toThrow(
      /fit: expected sample weights from the iterator \(its batches as \[x, y, sampleWeight\]\)/,
    );
    await expect(passThrough().trainOnBatch(x(), y(), { sampleWeights: weights } as never)).rejects.toThrow(
      /trainOnBatch: expected options among sampleWeight, classWeight but received "sampleWeights"/,
    );
  });
});
