/**
 * Keras 3's preprocessing layers that run inside the model: Normalization (with `adapt`), and the image
 * layers in lib/layers/image-preprocessing.ts.
 */
import { described, invalidArgument, ValueError } from '../errors';
import type { LayerSpec, NativeTensor } from '../native/binding';
import { loadBinding } from '../native/loader';
import { Tensor, tensor, TensorLike } from '../tensor';
import { isBatchSource } from '../training/iterable-batches';
import { checkBoolean, checkKnownOptions } from '../validation';
import { Layer, LayerArgs, LAYER_ARG_KEYS, WeightInfo } from './layer';

export interface NormalizationArgs extends LayerArgs {
  /**
   * The axis or axes that keep their own mean and variance (Keras counts the batch axis as 0); the others
   * are reduced. `null`: one mean and variance for everything. Default -1 (per channel).
   */
  axis?: number | number[] | null;
  /** The mean to use instead of adapting: a number, or values for the kept axes (broadcast as numpy does). */
  mean?: TensorLike | null;
  /** The variance, with `mean`. */
  variance?: TensorLike | null;
  /** Undo the normalization: `mean + x * sqrt(variance)`. Default false. */
  invert?: boolean;
}

/** A statistic as values for the kept axes: a flat array and its shape. */
interface Statistic {
  values: Float64Array;
  shape: number[];
}

/** What `adapt` accepts: one tensor of data, or an (async) iterable of batches (`[x, y]` batches give x). */
export type AdaptData = Tensor | TensorLike | Iterable<unknown> | AsyncIterable<unknown>;

/**
 * Keras's Normalization: `(x - mean) / sqrt(variance)` per position of the kept axes (per channel by
 * default), with the statistics given or computed by `await layer.adapt(data)`. Adapted statistics are
 * the layer's non-trainable weights `mean`, `variance` and `count` (Keras's, saved with the model; Keras 3
 * never updates `count`); given ones are constants, as in Keras.
 */
export class Normalization extends Layer {
  readonly className = 'Normalization';
  readonly axis: number | number[] | null;
  readonly invert: boolean;
  /** The statistics given to the constructor, as given (for getConfig). */
  private readonly givenMean: TensorLike | null;
  private readonly givenVariance: TensorLike | null;
  private readonly given?: { mean: Statistic; variance: Statistic };
  /** Adapted before the layer was built: the values its weights start from. */
  private adapted?: { mean: Float64Array; variance: Float64Array; keptShape: number[] };

  constructor(args: NormalizationArgs = {}) {
    checkKnownOptions('Normalization', args, [...LAYER_ARG_KEYS, 'axis', 'mean', 'variance', 'invert']);
    super(args, 'Normalization');
    const context = `Normalization '${this.name}'`;
    const axis = args.axis === undefined ? -1 : args.axis;
    const axes = axis === null ? [] : Array.isArray(axis) ? axis : [axis];
    if (!axes.every((a) => typeof a === 'number' && Number.isInteger(a)) || new Set(axes).size !== axes.length) {
      throw invalidArgument(context, 'axis to be an integer, an array of distinct integers, or null', axis);
    }
    this.axis = Array.isArray(axis) ? [...axis] : axis;
    this.invert = checkBoolean(context, 'invert', args.invert ?? false);
    const mean = args.mean ?? null;
    const variance = args.variance ?? null;
    if ((mean === null) !== (variance === null)) {
      throw invalidArgument(context, 'both mean and variance, or neither', described(`mean ${mean === null ? 'absent' : 'given'} and variance ${variance === null ? 'absent' : 'given'}`));
    }
    this.givenMean = mean;
    this.givenVariance = variance;
    if (mean !== null && variance !== null) {
      const m = statisticOf(context, 'mean', mean);
      const v = statisticOf(context, 'variance', variance);
      if (shapeText(m.shape) !== shapeText(v.shape)) {
        throw invalidArgument(context, `variance of mean's shape ${shapeText(m.shape)}`, described(`shape ${shapeText(v.shape)}`));
      }
      if (m.shape.length > axes.length) {
        throw invalidArgument(context, `mean of rank at most ${axes.length} (the number of kept axes)`, described(`shape ${shapeText(m.shape)}`));
      }
      this.given = { mean: m, variance: v };
    }
  }

  /** The kept axes, counted with the batch axis, for inputs of `sampleRank` axes after the batch. */
  private keptAxes(sampleRank: number): number[] {
    const rank = sampleRank + 1;
    const axes = this.axis === null ? [] : Array.isArray(this.axis) ? this.axis : [this.axis];
    const kept = axes.map((a) => (a < 0 ? a + rank : a));
    kept.forEach((a, i) => {
      if (a < 1 || a >= rank) {
        throw new ValueError(
          `Normalization '${this.name}': expected axis values in [${1 - rank}, ${rank}) other than the batch axis (${-rank} or 0) ` +
            `for inputs of rank ${rank} but received ${axes[i]}`,
        );
      }
    });
    return kept.sort((a, b) => a - b);
  }

  /** The statistics' shape (Keras's weight shape) for samples of `inputShape`. */
  private keptShape(inputShape: readonly number[]): number[] {
    return this.keptAxes(inputShape.length).map((a) => inputShape[a - 1]);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    const kept = this.keptShape(inputShape);
    if (this.adapted && shapeText(kept) !== shapeText(this.adapted.keptShape)) {
      throw this.inputError(`the shape adapt() saw on the kept axes (${shapeText(this.adapted.keptShape)})`, inputShape);
    }
    if (this.given) broadcastStatistic(this.given.mean, kept, () => this.inputError(`kept axes that mean ${shapeText(this.given!.mean.shape)} broadcasts to`, inputShape));
    return [...inputShape];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const weightShape = this.keptShape(inputShape);
    const kept = this.keptAxes(inputShape.length);
    const broadcastShape = [1, ...inputShape.map((d, i) => (kept.includes(i + 1) ? d : 1))];
    const count = weightShape.reduce((a, b) => a * b, 1);
    let mean: Float64Array;
    let variance: Float64Array;
    if (this.given) {
      const fail = () => this.inputError('kept axes that mean broadcasts to', inputShape);
      mean = broadcastStatistic(this.given.mean, weightShape, fail);
      variance = broadcastStatistic(this.given.variance, weightShape, fail);
    } else {
      mean = this.adapted?.mean ?? new Float64Array(count);
      variance = this.adapted?.variance ?? new Float64Array(count).fill(1);
    }
    return [
      {
        kind: 'normalization',
        weightShape,
        broadcastShape,
        mean: Array.from(mean),
        variance: Array.from(variance),
        invert: this.invert,
        adaptable: !this.given,
      },
    ];
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    if (this.given) return [];
    const shape = this.keptShape(inputShape);
    return [
      { name: 'mean', shape, trainable: false },
      { name: 'variance', shape: [...shape], trainable: false },
      { name: 'count', shape: [], trainable: false },
    ];
  }

  /**
   * Computes the mean and variance of `data` for each position of the kept axes, as Keras's adapt: from
   * one tensor at once, or batch by batch from an iterable (Keras's running combination of the batches'
   * means and variances). Works before or after the layer is built into a model.
   */
  async adapt(data: AdaptData): Promise<void> {
    const context = `Normalization '${this.name}'.adapt`;
    if (this.given) throw new ValueError(`${context}: the layer was given mean and variance; adapt computes them for a layer given neither`);
    let total: { mean: Float64Array; variance: Float64Array; count: number; keptShape: number[] } | undefined;
    const addBatch = async (value: unknown, what: string) => {
      const batch = this.batchTensor(context, what, value);
      const sampleShape = batch.shape.slice(1);
      const kept = this.keptAxes(sampleShape.length);
      const keptShape = kept.map((a) => batch.shape[a]);
      const expected = total?.keptShape ?? this.builtKeptShape();
      if (expected && shapeText(expected) !== shapeText(keptShape)) {
        throw invalidArgument(context, `${what} of ${shapeText(expected)} on the kept axes`, described(`shape ${shapeText(batch.shape)}`));
      }
      const reduced = batch.shape.map((_, i) => i).filter((i) => !kept.includes(i));
      const [meanNative, varianceNative] = await loadBinding().moments(batch.native, reduced);
      const batchMean = (await meanNative.data()) as Float64Array;
      const batchVariance = (await varianceNative.data()) as Float64Array;
      const batchCount = reduced.reduce((n, i) => n * batch.shape[i], 1);
      if (!total) {
        total = { mean: batchMean, variance: batchVariance, count: batchCount, keptShape };
        return;
      }
      // Keras's combination (the lack-of-fit sum of squares), weighted by each side's count.
      const count = total.count + batchCount;
      const batchWeight = batchCount / count;
      const existingWeight = 1 - batchWeight;
      for (let i = 0; i < total.mean.length; i++) {
        const mean = total.mean[i] * existingWeight + batchMean[i] * batchWeight;
        total.variance[i] =
          (total.variance[i] + (total.mean[i] - mean) ** 2) * existingWeight + (batchVariance[i] + (batchMean[i] - mean) ** 2) * batchWeight;
        total.mean[i] = mean;
      }
      total.count = count;
    };
    if (isBatchSource(data) && !(data instanceof Tensor)) {
      let index = 0;
      for await (const item of data as AsyncIterable<unknown>) await addBatch(firstOfBatch(item), `batch ${index++}`);
      if (index === 0) throw invalidArgument(context, 'at least one batch', described('an empty iterable'));
    } else {
      await addBatch(data, 'data');
    }
    const result = total!;
    const natives = [...this.builtNatives()];
    if (natives.length === 0) {
      this.adapted = { mean: result.mean, variance: result.variance, keptShape: result.keptShape };
      return;
    }
    const asFloat = (values: Float64Array) => tensor(Float32Array.from(values), [...result.keptShape]).native;
    const weights: NativeTensor[] = [asFloat(result.mean), asFloat(result.variance), tensor(new Float32Array(1), []).native];
    for (const native of natives) native.setWeights(weights);
  }

  /** The kept axes' shape the layer's weights were made for, once it is built. */
  private builtKeptShape(): number[] | undefined {
    const shapes = this.inputShapes;
    if (shapes) return this.keptShape(shapes[0]);
    return this.adapted?.keptShape;
  }

  private batchTensor(context: string, what: string, value: unknown): Tensor {
    let batch: Tensor;
    try {
      batch = value instanceof Tensor ? value : tensor(value as TensorLike);
    } catch {
      throw invalidArgument(context, `${what} to be a Tensor, a typed array or nested arrays of numbers`, value);
    }
    if (batch.isDisposed) throw invalidArgument(context, `${what} to be a live Tensor`, described('a disposed Tensor'));
    if (batch.shape.length < 2 && this.axis !== null) {
      throw invalidArgument(context, `${what} with a batch axis and at least one more (shape [batch, ...])`, described(`shape ${shapeText(batch.shape)}`));
    }
    if (batch.shape[0] === 0) throw invalidArgument(context, `${what} with at least one sample`, described(`shape ${shapeText(batch.shape)}`));
    return batch;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: Array.isArray(this.axis) ? [...this.axis] : this.axis,
      invert: this.invert,
      mean: this.givenMean instanceof Tensor ? this.givenMean.arraySync() : this.givenMean,
      variance: this.givenVariance instanceof Tensor ? this.givenVariance.arraySync() : this.givenVariance,
    };
  }
}

/** A batch's inputs: `[x, y]` and `[x, y, sampleWeight]` batches (from the iterators, Datasets) give x. */
function firstOfBatch(item: unknown): unknown {
  if (Array.isArray(item) && item.length > 0 && (item[0] instanceof Tensor || ArrayBuffer.isView(item[0]))) return item[0];
  return item;
}

function statisticOf(context: string, name: string, value: TensorLike): Statistic {
  let t: Tensor;
  try {
    t = value instanceof Tensor ? value : tensor(value, undefined, 'float64');
  } catch {
    throw invalidArgument(context, `${name} to be a number or an array of numbers`, value);
  }
  const values = Float64Array.from(t.dataSync() as ArrayLike<number>);
  if (!values.every(Number.isFinite)) throw invalidArgument(context, `${name} to hold finite numbers`, value);
  if (name === 'variance' && !values.every((v) => v >= 0)) throw invalidArgument(context, 'variance to be non-negative', value);
  return { values, shape: [...t.shape] };
}

/** The statistic broadcast (numpy's rules, aligned on the last axes) to `shape`, or `fail()`'s error. */
function broadcastStatistic(statistic: Statistic, shape: readonly number[], fail: () => Error): Float64Array {
  const { values, shape: from } = statistic;
  if (from.length > shape.length) throw fail();
  const offset = shape.length - from.length;
  from.forEach((d, i) => {
    if (d !== 1 && d !== shape[offset + i]) throw fail();
  });
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(count);
  for (let flat = 0; flat < count; flat++) {
    let rest = flat;
    let source = 0;
    let stride = 1;
    for (let axis = shape.length - 1; axis >= offset; axis--) {
      const index = rest % shape[axis];
      rest = Math.floor(rest / shape[axis]);
      const d = from[axis - offset];
      if (d !== 1) source += index * stride;
      stride *= d;
    }
    out[flat] = values[source];
  }
  return out;
}

/** A whole shape, batch axis included when it has one: `[2, 4]`. */
function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
