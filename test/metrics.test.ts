/**
 * Metrics against Keras's formulas written out here, on fixed data: each metric streams over the batches
 * of an evaluation (batch size 7 over 50 samples) and must equal the formula over all the data at once.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Activation, Dense, InputLayer, Input, Layer, loadModel, metrics, Model, Rescaling, Sequential, SGD, tensor } from '../lib';
import type { CompileArgs } from '../lib';
import { getMetric } from '../lib/metrics';
import { seededRandom } from './helpers';

const EPSILON = 1e-7;
const f32 = Math.fround;
const sum = (list: number[]): number => list.reduce((a, b) => a + b, 0);
const divideNoNan = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** A model whose output is its input through `last`, so the test chooses the predictions. */
function passThrough(units: number, last: Layer, compile: Omit<CompileArgs, 'optimizer'>): Sequential {
  const model = new Sequential([new InputLayer({ inputShape: [units] }), last]);
  model.compile({ optimizer: new SGD({ learningRate: 0 }), ...compile });
  return model;
}

const COUNT = 50;
const next = seededRandom(16);
/** Scores in (0, 1), as float32 (what the model sees), and labels that agree with them more often than not. */
const scores = Array.from({ length: COUNT }, () => f32(next()));
const labels = scores.map((p) => (next() < 0.3 + 0.5 * p ? 1 : 0));
const weights = Array.from({ length: COUNT }, () => f32(0.25 + next() * 2));

async function evaluateBinary(metricList: CompileArgs['metrics'], sampleWeight?: number[], batchSize = 7): Promise<Record<string, number>> {
  const model = passThrough(1, new Rescaling(1), { loss: 'binary_crossentropy', metrics: metricList });
  return (await model.evaluate(tensor(scores.map((p) => [p])), tensor(labels.map((y) => [y])), {
    batchSize,
    verbose: 0,
    returnDict: true,
    ...(sampleWeight ? { sampleWeight: tensor(sampleWeight) } : {}),
  })) as Record<string, number>;
}

/** Keras's confusion counts at its AUC thresholds (float32 comparisons, as Keras makes them). */
function confusion(predictions: number[], truth: number[], weight: number[], count = 200) {
  const thresholds = [f32(-EPSILON), ...Array.from({ length: count - 2 }, (_, i) => f32((i + 1) / (count - 1))), f32(1 + EPSILON)];
  const at = (test: (p: number, y: number, t: number) => boolean) =>
    thresholds.map((t) => sum(predictions.map((p, i) => (test(p, truth[i], t) ? weight[i] : 0))));
  return {
    tp: at((p, y, t) => p > t && y === 1),
    fp: at((p, y, t) => p > t && y === 0),
    tn: at((p, y, t) => p <= t && y === 0),
    fn: at((p, y, t) => p <= t && y === 1),
  };
}

/** Keras's AUC.result, written out. */
function kerasAuc(predictions: number[], truth: number[], weight: number[], curve: 'ROC' | 'PR', summation = 'interpolation'): number {
  const { tp, fp, tn, fn } = confusion(predictions, truth, weight);
  const n = tp.length;
  let total = 0;
  if (curve === 'PR' && summation === 'interpolation') {
    for (let i = 0; i < n - 1; i++) {
      const dtp = tp[i] - tp[i + 1];
      const p0 = tp[i] + fp[i];
      const p1 = tp[i + 1] + fp[i + 1];
      const slope = divideNoNan(dtp, Math.max(p0 - p1, 0));
      const intercept = tp[i + 1] - slope * p1;
      const ratio = p0 > 0 && p1 > 0 ? divideNoNan(p0, Math.max(p1, 0)) : 1;
      total += divideNoNan(slope * (dtp + intercept * Math.log(ratio)), Math.max(tp[i + 1] + fn[i + 1], 0));
    }
    return total;
  }
  const recall = tp.map((v, i) => divideNoNan(v, v + fn[i]));
  const x = curve === 'ROC' ? fp.map((v, i) => divideNoNan(v, v + tn[i])) : recall;
  const y = curve === 'ROC' ? recall : tp.map((v, i) => divideNoNan(v, v + fp[i]));
  for (let i = 0; i < n - 1; i++) {
    const height = summation === 'minoring' ? Math.min(y[i], y[i + 1]) : summation === 'majoring' ? Math.max(y[i], y[i + 1]) : (y[i] + y[i + 1]) / 2;
    total += (x[i] - x[i + 1]) * height;
  }
  return total;
}

/** The exact ROC AUC (the probability that a positive outranks a negative), for a sanity bound on Keras's. */
function exactRocAuc(predictions: number[], truth: number[]): number {
  let wins = 0;
  let pairs = 0;
  predictions.forEach((p, i) => {
    if (truth[i] !== 1) return;
    predictions.forEach((q, j) => {
      if (truth[j] !== 0) return;
      pairs += 1;
      wins += p > q ? 1 : p === q ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('streaming binary metrics (evaluate in batches of 7 equals the formula over all 50 samples)', () => {
  const ones = scores.map(() => 1);

  test("'AUC', 'Precision', 'Recall' by name: keys auc, precision, recall; ROC AUC by Keras's 200-threshold interpolation", async () => {
    const logs = await evaluateBinary(['accuracy', 'AUC', 'Precision', 'Recall']);
    expect(Object.keys(logs)).toEqual(['loss', 'accuracy', 'auc', 'precision', 'recall']);
    const predicted = scores.map((p) => (p > 0.5 ? 1 : 0));
    const tp = sum(predicted.map((p, i) => p * labels[i]));
    const fp = sum(predicted.map((p, i) => p * (1 - labels[i])));
    const fn = sum(predicted.map((p, i) => (1 - p) * labels[i]));
    expect(Math.abs(logs.precision - tp / (tp + fp))).toBeLessThan(1e-6);
    expect(Math.abs(logs.recall - tp / (tp + fn))).toBeLessThan(1e-6);
    expect(Math.abs(logs.accuracy - sum(predicted.map((p, i) => (p === labels[i] ? 1 : 0))) / COUNT)).toBeLessThan(1e-6);
    expect(Math.abs(logs.auc - kerasAuc(scores, labels, ones, 'ROC'))).toBeLessThan(1e-6);
    // Keras's interpolation is close to the exact AUC with 200 thresholds.
    expect(Math.abs(logs.auc - exactRocAuc(scores, labels))).toBeLessThan(0.02);
  });

  test('the epoch value is not the mean of batch values', async () => {
    const streamed = (await evaluateBinary(['AUC'], undefined, 7)).auc;
    let batchMean = 0;
    for (let start = 0; start < COUNT; start += 7) {
      const end = Math.min(COUNT, start + 7);
      batchMean += kerasAuc(scores.slice(start, end), labels.slice(start, end), ones.slice(start, end), 'ROC') * (end - start);
    }
    batchMean /= COUNT;
    expect(Math.abs(streamed - kerasAuc(scores, labels, ones, 'ROC'))).toBeLessThan(1e-6);
    expect(Math.abs(streamed - batchMean)).toBeGreaterThan(1e-3);
  });

  test('AUC objects: PR curve (interpolated, minoring, majoring), ROC majoring, fewer thresholds named', async () => {
    const logs = await evaluateBinary([
      new metrics.AUC({ curve: 'PR' }),
      new metrics.AUC({ curve: 'PR', summationMethod: 'minoring', name: 'pr_min' }),
      new metrics.AUC({ curve: 'PR', summationMethod: 'majoring', name: 'pr_max' }),
      new metrics.AUC({ summationMethod: 'majoring', name: 'roc_max' }),
    ]);
    expect(Object.keys(logs)).toEqual(['loss', 'auc', 'pr_min', 'pr_max', 'roc_max']);
    expect(Math.abs(logs.auc - kerasAuc(scores, labels, ones, 'PR'))).toBeLessThan(1e-6);
    expect(Math.abs(logs.pr_min - kerasAuc(scores, labels, ones, 'PR', 'minoring'))).toBeLessThan(1e-6);
    expect(Math.abs(logs.pr_max - kerasAuc(scores, labels, ones, 'PR', 'majoring'))).toBeLessThan(1e-6);
    expect(Math.abs(logs.roc_max - kerasAuc(scores, labels, ones, 'ROC', 'majoring'))).toBeLessThan(1e-6);
  });

  test('sample weights weigh every metric and the loss', async () => {
    const logs = await evaluateBinary(['accuracy', 'AUC', new metrics.Precision({ thresholds: 0.3 }), new metrics.Recall({ thresholds: [0.6] })], weights);
    const weighted = (test: (p: number, y: number) => boolean) => sum(scores.map((p, i) => (test(p, labels[i]) ? weights[i] : 0)));
    expect(Math.abs(logs.accuracy - weighted((p, y) => (p > 0.5 ? 1 : 0) === y) / sum(weights))).toBeLessThan(1e-6);
    expect(Math.abs(logs.precision - weighted((p, y) => p > f32(0.3) && y === 1) / weighted((p) => p > f32(0.3)))).toBeLessThan(1e-6);
    expect(Math.abs(logs.recall - weighted((p, y) => p > f32(0.6) && y === 1) / weighted((_, y) => y === 1))).toBeLessThan(1e-6);
    expect(Math.abs(logs.auc - kerasAuc(scores, labels, weights, 'ROC'))).toBeLessThan(1e-6);
    // Keras's loss: the weighted per-sample losses over the number of samples.
    const bce = scores.map((p, i) => -(labels[i] * Math.log(p) + (1 - labels[i]) * Math.log(1 - p)));
    expect(logs.loss).toBeCloseTo(sum(bce.map((l, i) => l * weights[i])) / COUNT, 5);
  });

  test('BinaryAccuracy with a threshold; AUC fromLogits on a linear output', async () => {
    const logs = await evaluateBinary([new metrics.BinaryAccuracy({ threshold: 0.7 })]);
    expect(Math.abs(logs.binary_accuracy - sum(scores.map((p, i) => ((p > f32(0.7) ? 1 : 0) === labels[i] ? 1 : 0))) / COUNT)).toBeLessThan(1e-6);
    const logits = scores.map((p) => f32(Math.log(p / (1 - p))));
    const model = passThrough(1, new Rescaling(1), { loss: 'mse', metrics: [new metrics.AUC({ fromLogits: true })] });
    const result = (await model.evaluate(tensor(logits.map((z) => [z])), tensor(labels.map((y) => [y])), { batchSize: 7, verbose: 0, returnDict: true })) as Record<string, number>;
    // The sigmoid of the logits gives back the scores to within float32 rounding.
    expect(Math.abs(result.auc - kerasAuc(scores, labels, ones, 'ROC'))).toBeLessThan(1e-6);
  });

  test('with the sigmoid folded into the loss, metrics see probabilities', async () => {
    const logits = scores.map((p) => f32(Math.log(p / (1 - p))));
    const model = passThrough(1, new Activation('sigmoid'), { loss: 'binary_crossentropy', metrics: ['AUC', new metrics.BinaryAccuracy({ threshold: 0.7 })] });
    const logs = (await model.evaluate(tensor(logits.map((z) => [z])), tensor(labels.map((y) => [y])), { batchSize: 7, verbose: 0, returnDict: true })) as Record<string, number>;
    expect(Math.abs(logs.auc - kerasAuc(scores, labels, ones, 'ROC'))).toBeLessThan(1e-6);
    expect(Math.abs(logs.binary_accuracy - sum(scores.map((p, i) => ((p > 0.7 ? 1 : 0) === labels[i] ? 1 : 0))) / COUNT)).toBeLessThan(1e-6);
  });
});

describe('multi-class metrics', () => {
  const CLASSES = 4;
  const rows = Array.from({ length: 30 }, () => Array.from({ length: CLASSES }, () => f32(next())));
  const truth = rows.map((row) => (next() < 0.6 ? row.indexOf(Math.max(...row)) : Math.floor(next() * CLASSES)));
  const oneHot = truth.map((c) => Array.from({ length: CLASSES }, (_, k) => (k === c ? 1 : 0)));
  const argmax = (row: number[]) => row.indexOf(Math.max(...row));

  async function evaluateRows(loss: string, metricList: CompileArgs['metrics'], y: number[] | number[][], sampleWeight?: number[]) {
    const model = passThrough(CLASSES, new Rescaling(1), { loss, metrics: metricList });
    return (await model.evaluate(tensor(rows), tensor(y), { batchSize: 7, verbose: 0, returnDict: true, ...(sampleWeight ? { sampleWeight } : {}) })) as Record<string, number>;
  }

  test('top-k accuracies (k = 2), categorical and sparse', async () => {
    const inTopTwo = rows.map((row, i) => (row.filter((v) => v > row[truth[i]]).length < 2 ? 1 : 0));
    const dense = await evaluateRows('categorical_crossentropy', [new metrics.TopKCategoricalAccuracy({ k: 2 }), 'categorical_accuracy'], oneHot);
    expect(Math.abs(dense.top_k_categorical_accuracy - sum(inTopTwo) / rows.length)).toBeLessThan(1e-6);
    expect(Math.abs(dense.categorical_accuracy - sum(rows.map((row, i) => (argmax(row) === truth[i] ? 1 : 0))) / rows.length)).toBeLessThan(1e-6);
    const sparse = await evaluateRows('sparse_categorical_crossentropy', [new metrics.SparseTopKCategoricalAccuracy({ k: 2 }), 'sparse_categorical_accuracy'], truth);
    expect(Math.abs(sparse.sparse_top_k_categorical_accuracy - sum(inTopTwo) / rows.length)).toBeLessThan(1e-6);
  });

  test("F1Score: macro, micro and weighted, Keras's formula with its epsilon", async () => {
    const predicted = rows.map(argmax);
    const counts = Array.from({ length: CLASSES }, (_, k) => ({
      tp: sum(predicted.map((p, i) => (p === k && truth[i] === k ? 1 : 0))),
      fp: sum(predicted.map((p, i) => (p === k && truth[i] !== k ? 1 : 0))),
      fn: sum(predicted.map((p, i) => (p !== k && truth[i] === k ? 1 : 0))),
      support: sum(truth.map((t) => (t === k ? 1 : 0))),
    }));
    const f1 = (tp: number, fp: number, fn: number) => {
      const precision = tp / (tp + fp + EPSILON);
      const recall = tp / (tp + fn + EPSILON);
      return ((precision * recall) / (precision + recall + EPSILON)) * 2;
    };
    const perClass = counts.map((c) => f1(c.tp, c.fp, c.fn));
    const totalSupport = sum(counts.map((c) => c.support));
    const logs = await evaluateRows('categorical_crossentropy', [
      new metrics.F1Score(),
      new metrics.F1Score({ average: 'micro', name: 'f1_micro' }),
      new metrics.F1Score({ average: 'weighted', name: 'f1_weighted' }),
      new metrics.FBetaScore({ beta: 2, threshold: 0.5 }),
    ], oneHot);
    expect(Math.abs(logs.f1_score - sum(perClass) / CLASSES)).toBeLessThan(1e-6);
    expect(Math.abs(logs.f1_micro - f1(sum(counts.map((c) => c.tp)), sum(counts.map((c) => c.fp)), sum(counts.map((c) => c.fn))))).toBeLessThan(1e-6);
    expect(Math.abs(logs.f1_weighted - sum(perClass.map((f, k) => (f * counts[k].support) / (totalSupport + EPSILON))))).toBeLessThan(1e-6);
    // F-beta with a threshold: every score above 0.5 counts as predicted.
    const fbeta = Array.from({ length: CLASSES }, (_, k) => {
      const tp = sum(rows.map((row, i) => (row[k] > f32(0.5) && truth[i] === k ? 1 : 0)));
      const fp = sum(rows.map((row, i) => (row[k] > f32(0.5) && truth[i] !== k ? 1 : 0)));
      const fn = sum(rows.map((row, i) => (row[k] <= f32(0.5) && truth[i] === k ? 1 : 0)));
      const precision = tp / (tp + fp + EPSILON);
      const recall = tp / (tp + fn + EPSILON);
      return ((precision * recall) / (4 * precision + recall + EPSILON)) * 5;
    });
    expect(Math.abs(logs.fbeta_score - sum(fbeta) / CLASSES)).toBeLessThan(1e-6);
  });

  test('MeanIoU over class-index predictions, weighted', async () => {
    const predicted = rows.map(argmax);
    const sampleWeight = truth.map((_, i) => (i % 3) + 1);
    const cell = (t: number, p: number) => sum(truth.map((tt, i) => (tt === t && predicted[i] === p ? sampleWeight[i] : 0)));
    const ious: number[] = [];
    for (let k = 0; k < CLASSES; k++) {
      let row = 0;
      let column = 0;
      for (let j = 0; j < CLASSES; j++) {
        row += cell(k, j);
        column += cell(j, k);
      }
      const denominator = row + column - cell(k, k);
      if (denominator > 0) ious.push(cell(k, k) / denominator);
    }
    const model = passThrough(1, new Rescaling(1), { loss: 'mse', metrics: [new metrics.MeanIoU({ numClasses: CLASSES })] });
    const logs = (await model.evaluate(tensor(predicted.map((p) => [p])), tensor(truth.map((t) => [t])), { batchSize: 7, verbose: 0, returnDict: true, sampleWeight })) as Record<string, number>;
    expect(Math.abs(logs.mean_io_u - sum(ious) / ious.length)).toBeLessThan(1e-6);
    // Scores per class, argmax taken.
    const dense = await evaluateRows('categorical_crossentropy', [new metrics.MeanIoU({ numClasses: CLASSES, sparseYPred: false, sparseYTrue: false })], oneHot, sampleWeight);
    expect(Math.abs(dense.mean_io_u - sum(ious) / ious.length)).toBeLessThan(1e-6);
  });

  test('regression and cross-entropy metrics by name: means of their per-sample values', async () => {
    const soft = rows.map((row) => row.map((v) => v / sum(row)));
    const model = passThrough(CLASSES, new Rescaling(1), { loss: 'mse', metrics: ['mse', 'mae', 'mape', 'categorical_crossentropy', 'kl_divergence', 'CosineSimilarity'] });
    const targets = oneHot.map((row) => row.map((v) => v * 0.8 + 0.05));
    const logs = (await model.evaluate(tensor(soft), tensor(targets), { batchSize: 7, verbose: 0, returnDict: true })) as Record<string, number>;
    const mean = (perSample: (p: number[], t: number[]) => number) => sum(soft.map((p, i) => perSample(p, targets[i]))) / soft.length;
    const norm = (v: number[]) => Math.sqrt(sum(v.map((a) => a * a)));
    expect(Object.keys(logs)).toEqual(['loss', 'mse', 'mae', 'mape', 'categorical_crossentropy', 'kl_divergence', 'cosine_similarity']);
    expect(logs.mse).toBeCloseTo(mean((p, t) => sum(p.map((v, k) => (v - t[k]) ** 2)) / CLASSES), 6);
    expect(logs.mae).toBeCloseTo(mean((p, t) => sum(p.map((v, k) => Math.abs(v - t[k]))) / CLASSES), 6);
    expect(logs.mape).toBeCloseTo(mean((p, t) => sum(p.map((v, k) => (100 * Math.abs(t[k] - v)) / Math.max(Math.abs(t[k]), EPSILON))) / CLASSES), 4);
    expect(logs.categorical_crossentropy).toBeCloseTo(mean((p, t) => -sum(t.map((v, k) => v * Math.log(p[k] / sum(p))))), 5);
    expect(logs.kl_divergence).toBeCloseTo(mean((p, t) => sum(t.map((v, k) => v * Math.log(v / p[k])))), 5);
    expect(logs.cosine_similarity).toBeCloseTo(mean((p, t) => sum(p.map((v, k) => v * t[k])) / (norm(p) * norm(t))), 5);
  });
});

describe('naming, several outputs, persistence and bad options', () => {
  test('each output has its own metrics, logged as <output>_<metric>', async () => {
    const input = Input({ shape: [2] });
    const score = new Rescaling(1, { name: 'score' }).apply(input);
    const value = new Rescaling(1, { name: 'value' }).apply(input);
    const model = new Model({ inputs: input, outputs: [score, value] });
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: ['binary_crossentropy', 'mse'], metrics: { score: ['AUC', 'precision'], value: ['mae'] } });
    const x = scores.slice(0, 20).map((p, i) => [p, scores[20 + i]]);
    const y0 = labels.slice(0, 20).map((l) => [l, 1 - l]);
    const y1 = x.map((row) => row.map((v) => v / 2));
    const logs = (await model.evaluate(tensor(x), [tensor(y0), tensor(y1)], { batchSize: 6, verbose: 0, returnDict: true })) as Record<string, number>;
    expect(Object.keys(logs)).toEqual(['loss', 'score_loss', 'value_loss', 'score_auc', 'score_precision', 'value_mae']);
    expect(Math.abs(logs.score_auc - kerasAuc(x.flat(), y0.flat(), x.flat().map(() => 1), 'ROC'))).toBeLessThan(1e-6);
    expect(logs.value_mae).toBeCloseTo(sum(x.flat().map((v) => v / 2)) / 40, 6);
  });

  test('fit logs streaming metrics per epoch, training and validation separately', async () => {
    const model = passThrough(1, new Rescaling(1), { loss: 'binary_crossentropy', metrics: ['AUC'] });
    const x = tensor(scores.slice(0, 30).map((p) => [p]));
    const y = tensor(labels.slice(0, 30).map((l) => [l]));
    const vx = tensor(scores.slice(30).map((p) => [p]));
    const vy = tensor(labels.slice(30).map((l) => [l]));
    const history = await model.fit(x, y, { batchSize: 4, epochs: 2, verbose: 0, validationData: [vx, vy] });
    const ones = scores.map(() => 1);
    for (const epoch of [0, 1]) {
      expect(Math.abs(history.history.auc[epoch] - kerasAuc(scores.slice(0, 30), labels.slice(0, 30), ones, 'ROC'))).toBeLessThan(1e-6);
      expect(Math.abs(history.history.val_auc[epoch] - kerasAuc(scores.slice(30), labels.slice(30), ones, 'ROC'))).toBeLessThan(1e-6);
    }
  });

  test('evaluations queued side by side keep their totals apart', async () => {
    const model = passThrough(1, new Rescaling(1), { loss: 'binary_crossentropy', metrics: ['AUC'] });
    const ones = scores.map(() => 1);
    const run = (start: number, end: number) =>
      model.evaluate(tensor(scores.slice(start, end).map((p) => [p])), tensor(labels.slice(start, end).map((l) => [l])), { batchSize: 3, verbose: 0, returnDict: true });
    // Their batches interleave in the model's queue.
    const [first, second] = (await Promise.all([run(0, 25), run(25, 50)])) as Record<string, number>[];
    expect(Math.abs(first.auc - kerasAuc(scores.slice(0, 25), labels.slice(0, 25), ones, 'ROC'))).toBeLessThan(1e-6);
    expect(Math.abs(second.auc - kerasAuc(scores.slice(25), labels.slice(25), ones, 'ROC'))).toBeLessThan(1e-6);
  });

  test('metric and loss objects survive save and load', async () => {
    const { losses } = await import('../lib');
    const model = new Sequential([new InputLayer({ inputShape: [3] }), new Dense(1, { activation: 'sigmoid' })]);
    model.compile({ optimizer: 'sgd', loss: new losses.BinaryCrossentropy({ labelSmoothing: 0.1 }), metrics: ['accuracy', new metrics.AUC({ curve: 'PR', name: 'pr_auc' }), new metrics.Precision({ thresholds: 0.3 })] });
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-metrics-'));
    try {
      const file = path.join(directory, 'model.safetensors');
      await model.save(file);
      const loaded = await loadModel(file);
      const x = tensor(scores.slice(0, 24).map((p, i) => [p, scores[24 + i], 1 - p]));
      const y = tensor(labels.slice(0, 24).map((l) => [l]));
      const before = await model.evaluate(x, y, { verbose: 0, returnDict: true, batchSize: 5 });
      const after = await loaded.evaluate(x, y, { verbose: 0, returnDict: true, batchSize: 5 });
      expect(Object.keys(after)).toEqual(['loss', 'accuracy', 'pr_auc', 'precision']);
      expect(after).toEqual(before);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  test("names log as Keras logs them: a class name under its default name, any other name as given", () => {
    const names = (list: string[]) => list.map((identifier) => getMetric(identifier).name);
    expect(names(['AUC', 'auc', 'Precision', 'F1Score', 'MSE', 'mse', 'mean_squared_error', 'MeanSquaredError', 'bce', 'acc'])).toEqual([
      'auc', 'auc', 'precision', 'f1_score', 'MSE', 'mse', 'mean_squared_error', 'mean_squared_error', 'bce', 'acc',
    ]);
    expect(getMetric({ className: 'AUC', config: { curve: 'PR', name: 'pr' } }).getConfig()).toEqual({ name: 'pr', numThresholds: 200, curve: 'PR', summationMethod: 'interpolation', fromLogits: false });
  });

  test('bad metric options and names are errors that name them', () => {
    expect(() => new metrics.AUC({ curve: 'DET' as never })).toThrow("AUC: expected curve to be one of 'ROC', 'PR' but received \"DET\"");
    expect(() => new metrics.AUC({ numThresholds: 1 })).toThrow('AUC: expected numThresholds to be at least 2 but received 1');
    expect(() => new metrics.Precision({ thresholds: [0.2, 0.5] as never })).toThrow(/Precision: expected thresholds to be one number in \[0, 1\]/);
    expect(() => new metrics.TopKCategoricalAccuracy({ k: 0 })).toThrow('TopKCategoricalAccuracy: expected k to be a positive integer but received 0');
    expect(() => new metrics.MeanIoU({} as never)).toThrow('MeanIoU: expected numClasses (the number of classes) but received undefined');
    expect(() => new metrics.F1Score({ average: 'samples' as never })).toThrow(/F1Score: expected average to be one of 'micro', 'macro', 'weighted'/);
    expect(() => new metrics.AUC({ curv: 'PR' } as never)).toThrow(/AUC: expected options among .* but received "curv"/);
    const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1)]);
    expect(() => model.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['f1'] })).toThrow(/compile: expected metrics to hold 'accuracy', a Keras metric name .* but received "f1"/);
    expect(() => model.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['AUC', 'auc'] })).toThrow(/compile: expected metrics with distinct names .* but received 'auc' twice/);
    expect(() => model.compile({ optimizer: 'sgd', loss: 'mse', metrics: [new metrics.Precision({ classId: 1 })] })).toThrow(
      "Precision: expected classId below the output's 1 units but received 1",
    );
  });

  test('labels a metric cannot read are errors from the step, naming the metric; one-unit F1', async () => {
    const model = passThrough(1, new Rescaling(1), { loss: 'mse', metrics: [new metrics.MeanIoU({ numClasses: 3 })] });
    await expect(model.evaluate(tensor([[0], [1], [2]]), tensor([[0], [3], [1]]), { verbose: 0 })).rejects.toThrow(
      /mean_iou: expected class indices in \[0, 2\] but received values from 0 to 3/,
    );
    // One class: without a threshold each row's highest score (its only one) counts as predicted.
    const f1 = passThrough(1, new Rescaling(1), { loss: 'mse', metrics: ['f1_score'] });
    const [, score] = (await f1.evaluate(tensor([[0.2], [0.9]]), tensor([[1], [0]]), { verbose: 0 })) as number[];
    const precision = 1 / (2 + EPSILON);
    const recall = 1 / (1 + EPSILON);
    expect(Math.abs(score - ((precision * recall) / (precision + recall + EPSILON)) * 2)).toBeLessThan(1e-6);
  });
});
