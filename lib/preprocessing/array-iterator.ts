/**
 * ArrayIterator: batches of augmented images from a tensor held in memory, as Keras's `NumpyArrayIterator`
 * (what `ImageDataGenerator.flow(x, y)` returns).
 */
import type { TensorBatch } from '../data';
import { invalidArgument, ValueError } from '../errors';
import { Tensor, tensor, TypedArray, TYPED_ARRAYS } from '../tensor';
import { checkKnownOptions, checkOneOf, checkPlainObject } from '../validation';
import type { ImageDataGenerator } from './image-data-generator';
import { ImageIterator, IteratorOptions } from './iterator';

export interface FlowOptions extends IteratorOptions {
  /** 'training' or 'validation' when the generator has a validationSplit. */
  subset?: 'training' | 'validation' | null;
}


type Rows = { values: TypedArray; shape: number[]; dtype: Tensor['dtype'] };

function gatherRows(rows: Rows, indices: Int32Array): Tensor {
  const rowSize = rows.shape.slice(1).reduce((a, b) => a * b, 1);
  // This realm's constructor: arrays read back from the addon may come from another one (as under jest).
  const Kind = TYPED_ARRAYS[rows.dtype];
  const out = new Kind(indices.length * rowSize);
  indices.forEach((row, i) => {
    (out as Float32Array).set((rows.values as Float32Array).subarray(row * rowSize, (row + 1) * rowSize), i * rowSize);
  });
  return tensor(out, [indices.length, ...rows.shape.slice(1)], rows.dtype);
}

function sliceRows(rows: Rows, start: number, end: number): Rows {
  const rowSize = rows.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = new TYPED_ARRAYS[rows.dtype]((end - start) * rowSize);
  (values as Float32Array).set((rows.values as Float32Array).subarray(start * rowSize, end * rowSize));
  return { values, shape: [end - start, ...rows.shape.slice(1)], dtype: rows.dtype };
}

export class ArrayIterator extends ImageIterator {
  readonly samples: number;
  readonly inputShape: readonly number[];
  readonly subset: 'training' | 'validation' | null;
  private readonly x: Float32Array;
  private readonly y: Rows | null;

  constructor(x: Tensor, y: Tensor | ArrayLike<number> | null, readonly imageDataGenerator: ImageDataGenerator, options: FlowOptions = {}) {
    const context = 'flow';
    checkPlainObject(context, 'options', options);
    checkKnownOptions(context, options, ['batchSize', 'shuffle', 'seed', 'subset']);
    super(context, options);
    if (!(x instanceof Tensor) || x.rank !== 4) {
      throw invalidArgument(context, 'x to be a tensor of rank 4 [n, height, width, channels]', x instanceof Tensor ? x.shape : x);
    }
    let labels: Rows | null = null;
    if (y !== null) {
      const yTensor = y instanceof Tensor ? y : tensor(Float32Array.from(y as ArrayLike<number>));
      if (yTensor.rank === 0 || yTensor.shape[0] !== x.shape[0]) {
        throw new ValueError(
          `flow: expected x (images) and y (labels) to have the same length but received x of shape [${x.shape.join(', ')}] and y of shape [${yTensor.shape.join(', ')}]`,
        );
      }
      labels = { values: yTensor.dataSync(), shape: [...yTensor.shape], dtype: yTensor.dtype };
    }
    let images: Rows = { values: Float32Array.from(x.dataSync() as ArrayLike<number>), shape: [...x.shape], dtype: 'float32' };
    this.subset = options.subset == null ? null : checkOneOf(context, 'subset', options.subset, ['training', 'validation'] as const);
    if (this.subset !== null) {
      const n = x.shape[0];
      const splitIndex = Math.trunc(n * imageDataGenerator.validationSplit);
      if (labels !== null) {
        const distinct = (r: Rows) => [...new Set(Array.from(r.values as ArrayLike<number>, Number))].sort((a, b) => a - b).join();
        if (distinct(sliceRows(labels, 0, splitIndex)) !== distinct(sliceRows(labels, splitIndex, n))) {
          throw new ValueError(
            'flow: training and validation subsets have different classes after the split; if x is sorted by label, shuffle it first',
          );
        }
      }
      const [start, end] = this.subset === 'validation' ? [0, splitIndex] : [splitIndex, n];
      images = sliceRows(images, start, end);
      labels = labels && sliceRows(labels, start, end);
    }
    if (![1, 3, 4].includes(x.shape[3])) {
      process.emitWarning(`flow: expected images with 1, 3 or 4 channels on the last axis but received shape [${x.shape.join(', ')}]`);
    }
    this.x = images.values as Float32Array;
    this.y = labels;
    this.samples = images.shape[0];
    this.inputShape = x.shape.slice(1);
  }

  protected async batch(indices: Int32Array, seed: number): Promise<TensorBatch> {
    const [height, width, channels] = this.inputShape;
    const size = height * width * channels;
    const pixels = new Float32Array(indices.length * size);
    indices.forEach((row, i) => pixels.set(this.x.subarray(row * size, (row + 1) * size), i * size));
    const x = await this.imageDataGenerator.transformBatch(pixels, [indices.length, height, width, channels], seed);
    return [x, this.y ? gatherRows(this.y, indices) : null];
  }
}
