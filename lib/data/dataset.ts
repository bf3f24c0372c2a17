/**
 * Dataset: a chainable, re-iterable async iterable, as tf.data's Dataset and TensorFlow.js's tf.data are:
 * `fromGenerator(...).map(...).shuffle(1000).batch(32).prefetch(2)`. Each `for await` over a Dataset
 * starts a fresh pass from its source. fit, evaluate and predict take any Iterable or AsyncIterable of
 * batches; a Dataset is one that knows its size when it can, so fit needs no stepsPerEpoch for it.
 *
 * `batch` stacks samples into one typed array per leaf (numbers, number arrays, typed arrays, Tensors),
 * written once: the batch reaches libtorch without a further copy.
 */
import { invalidArgument } from '../errors';
import { random, SeededRandom } from '../random';
import { dtypeOfTypedArray, Tensor, tensor, TypedArray, TYPED_ARRAYS } from '../tensor';
import { checkBoolean, checkKnownOptions, checkNonNegativeInteger, checkPlainObject, checkPositiveInteger } from '../validation';

type AnyIterator<T> = Iterator<T> | AsyncIterator<T>;
type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

/** A stacked sample: each leaf becomes a Tensor with a leading batch axis, structure kept. */
export type Batched<T> = T extends number | boolean | readonly number[] | TypedArray | Tensor
  ? Tensor
  : T extends readonly unknown[]
    ? { [K in keyof T]: Batched<T[K]> }
    : T extends object
      ? { [K in keyof T]: Batched<T[K]> }
      : Tensor;

export interface BatchArgs {
  /** Leave out a last batch smaller than batchSize. Default false. */
  dropRemainder?: boolean;
}

export interface ShuffleArgs {
  /** Seed of the shuffle's own stream. Default: drawn from the global stream (setSeed) when shuffle() is called. */
  seed?: number;
  /** A new order on every pass. Default true. */
  reshuffleEachIteration?: boolean;
}

/** Tensors that a Dataset made and nobody else holds: fit may dispose them once their step is done. */
const consumable = new WeakSet<Tensor>();

/** @internal Whether fit may dispose `value` after its step (a tensor `batch` made) rather than view it. */
export function isConsumable(value: Tensor): boolean {
  return consumable.has(value);
}

/** A fresh iterator of a sync or async iterable. */
export function openIterator<T>(source: AnyIterable<T>): AnyIterator<T> {
  const asyncOpen = (source as AsyncIterable<T>)[Symbol.asyncIterator];
  return asyncOpen ? asyncOpen.call(source) : (source as Iterable<T>)[Symbol.iterator]();
}

export class Dataset<T> implements AsyncIterable<T> {
  /**
   * The number of elements of one pass: Infinity after `repeat()`, undefined when the source does not say
   * (a generator).
   */
  readonly size?: number;
  private readonly open: () => AnyIterable<T>;

  /** @internal Use `fromGenerator`, `array` or a Dataset's methods. */
  constructor(open: () => AnyIterable<T>, size?: number) {
    this.open = open;
    this.size = size;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    const iterator = openIterator(this.open());
    try {
      for (;;) {
        const result = await iterator.next();
        if (result.done) return;
        yield result.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  /** Applies `transform` (sync or async) to each element. */
  map<U>(transform: (element: T) => U | Promise<U>): Dataset<U> {
    if (typeof transform !== 'function') throw invalidArgument('Dataset.map', 'transform to be a function', transform);
    return this.derive(async function* (source) {
      for await (const element of source) yield await transform(element);
    }, this.size);
  }

  /** Keeps the elements for which `predicate` (sync or async) holds. */
  filter(predicate: (element: T) => boolean | Promise<boolean>): Dataset<T> {
    if (typeof predicate !== 'function') throw invalidArgument('Dataset.filter', 'predicate to be a function', predicate);
    return this.derive(async function* (source) {
      for await (const element of source) if (await predicate(element)) yield element;
    }, this.size === Infinity ? Infinity : undefined);
  }

  /**
   * Stacks `batchSize` consecutive elements into one: each leaf (a number, an array of numbers, a typed
   * array, a Tensor) becomes one Tensor with a batch axis; arrays and objects of leaves keep their
   * structure (`{xs, ys}`, `[x, y]`).
   */
  batch(batchSize: number, args: BatchArgs = {}): Dataset<Batched<T>> {
    checkPositiveInteger('Dataset.batch', 'batchSize', batchSize);
    checkPlainObject('Dataset.batch', 'options', args);
    checkKnownOptions('Dataset.batch', args, ['dropRemainder']);
    const dropRemainder = checkBoolean('Dataset.batch', 'dropRemainder', args.dropRemainder ?? false);
    const size = this.size === undefined || this.size === Infinity
      ? this.size
      : dropRemainder ? Math.floor(this.size / batchSize) : Math.ceil(this.size / batchSize);
    return this.derive(async function* (source) {
      let pending: T[] = [];
      for await (const element of source) {
        pending.push(element);
        if (pending.length === batchSize) {
          yield stack(pending) as Batched<T>;
          pending = [];
        }
      }
      if (pending.length > 0 && !dropRemainder) yield stack(pending) as Batched<T>;
    }, size);
  }

  /**
   * Shuffles through a buffer of `bufferSize` elements, as tf.data does: each element comes out from a
   * random slot of the buffer, which the next element refills. A buffer as large as the data shuffles
   * it uniformly.
   */
  shuffle(bufferSize: number, args: ShuffleArgs = {}): Dataset<T> {
    checkPositiveInteger('Dataset.shuffle', 'bufferSize', bufferSize);
    checkPlainObject('Dataset.shuffle', 'options', args);
    checkKnownOptions('Dataset.shuffle', args, ['seed', 'reshuffleEachIteration']);
    const seed = args.seed === undefined ? Math.floor(random().next() * 2 ** 32) : checkNonNegativeInteger('Dataset.shuffle', 'seed', args.seed);
    const reshuffle = checkBoolean('Dataset.shuffle', 'reshuffleEachIteration', args.reshuffleEachIteration ?? true);
    // Each pass gets its own stream, forked from this one: pass k's order depends only on the seed and k.
    const passes = new SeededRandom(seed);
    return this.derive(async function* (source) {
      const rng = new SeededRandom(reshuffle ? Math.floor(passes.next() * 2 ** 32) : seed);
      const buffer: T[] = [];
      for await (const element of source) {
        if (buffer.length < bufferSize) {
          buffer.push(element);
          continue;
        }
        const slot = rng.nextInt(bufferSize);
        yield buffer[slot];
        buffer[slot] = element;
      }
      while (buffer.length > 0) {
        const slot = rng.nextInt(buffer.length);
        yield buffer[slot];
        buffer[slot] = buffer[buffer.length - 1];
        buffer.pop();
      }
    }, this.size);
  }

  /**
   * Asks the source for up to `count` elements ahead of the consumer, so that reading and decoding (files,
   * a database) overlap with training.
   */
  prefetch(count: number): Dataset<T> {
    checkPositiveInteger('Dataset.prefetch', 'count', count);
    return this.derive(async function* (source) {
      const iterator = source[Symbol.asyncIterator]();
      const ahead: Promise<IteratorResult<T>>[] = [];
      try {
        for (;;) {
          while (ahead.length <= count) ahead.push(iterator.next());
          const result = await ahead.shift()!;
          if (result.done) return;
          yield result.value;
        }
      } finally {
        // Requests already made settle before the source is closed; their failures are of no interest now.
        await Promise.allSettled(ahead);
        await iterator.return?.(undefined);
      }
    }, this.size);
  }

  /** The first `count` elements. */
  take(count: number): Dataset<T> {
    checkNonNegativeInteger('Dataset.take', 'count', count);
    return this.derive(async function* (source) {
      if (count === 0) return;
      let taken = 0;
      for await (const element of source) {
        yield element;
        if (++taken >= count) return;
      }
    }, this.size === undefined ? undefined : Math.min(this.size, count));
  }

  /** All but the first `count` elements. */
  skip(count: number): Dataset<T> {
    checkNonNegativeInteger('Dataset.skip', 'count', count);
    return this.derive(async function* (source) {
      let skipped = 0;
      for await (const element of source) {
        if (skipped++ < count) continue;
        yield element;
      }
    }, this.size === undefined ? undefined : Math.max(0, this.size - count));
  }

  /** `count` passes over the data, each a fresh pass of the source (a reshuffle, new augmentation). Default: forever. */
  repeat(count = Infinity): Dataset<T> {
    if (count !== Infinity) checkNonNegativeInteger('Dataset.repeat', 'count', count);
    const size = this.size === undefined ? (count === Infinity ? Infinity : undefined) : this.size === 0 ? 0 : this.size * count;
    return this.derive(async function* (source) {
      for (let pass = 0; pass < count; pass++) {
        let any = false;
        for await (const element of source) {
          any = true;
          yield element;
        }
        // An empty source would otherwise spin forever.
        if (!any) return;
      }
    }, size);
  }

  /** Every element of one pass (for a finite Dataset). */
  async toArray(): Promise<T[]> {
    if (this.size === Infinity) throw invalidArgument('Dataset.toArray', 'a finite Dataset', this.size);
    const elements: T[] = [];
    for await (const element of this) elements.push(element);
    return elements;
  }

  /** A Dataset whose every pass runs `pass` over this one. */
  private derive<U>(pass: (source: Dataset<T>) => AsyncGenerator<U>, size: number | undefined): Dataset<U> {
    return new Dataset<U>(() => pass(this), size);
  }
}

/**
 * A Dataset whose every pass calls `generator` for a fresh (sync or async) iterator, as tf.data's
 * `from_generator` calls its function: `fromGenerator(async function* () { for (...) yield [x, y]; })`.
 */
export function fromGenerator<T>(generator: () => AnyIterable<T> | AnyIterator<T>): Dataset<T> {
  if (typeof generator !== 'function') {
    throw invalidArgument('data.fromGenerator', 'a function that returns a generator (function* () {...}), not the generator itself', generator);
  }
  return new Dataset<T>(() => {
    const made = generator();
    if (made && (typeof (made as AsyncIterable<T>)[Symbol.asyncIterator] === 'function' || typeof (made as Iterable<T>)[Symbol.iterator] === 'function')) {
      return made as AnyIterable<T>;
    }
    if (made && typeof (made as AnyIterator<T>).next === 'function') {
      return { [Symbol.asyncIterator]: () => made as AsyncIterator<T> } as AsyncIterable<T>;
    }
    throw invalidArgument('data.fromGenerator', 'the function to return an iterator or iterable', made);
  });
}

/** A Dataset of the elements of `elements`, in order. */
export function array<T>(elements: readonly T[]): Dataset<T> {
  if (!Array.isArray(elements)) throw invalidArgument('data.array', 'an array of elements', elements);
  return new Dataset<T>(() => elements, elements.length);
}

/** A sample of `fromTensorSlices`: a number from a [n] tensor, the flat values of one sample otherwise. */
export type Sliced<T> = T extends Tensor | TypedArray
  ? number | TypedArray
  : T extends readonly unknown[]
    ? { [K in keyof T]: Sliced<T[K]> }
    : { [K in keyof T]: Sliced<T[K]> };

/**
 * The samples of tensors (or typed arrays) along their first axis, as tf.data's `from_tensor_slices`:
 * `fromTensorSlices({ xs: images, ys: labels })` yields `{ xs, ys }` per sample, the same structure. A [n]
 * tensor gives numbers; larger ones give each sample's values as a flat typed array, a view of one copy
 * of the tensor read once (fit gives flat samples the model's input shape).
 */
class SlicedLeaf {
  constructor(
    readonly values: ArrayLike<number | bigint>,
    /** Values per sample. */
    readonly per: number,
    /** A [n] tensor: its samples are numbers. */
    readonly scalar: boolean,
  ) {}
}

export function fromTensorSlices<T>(tensors: T): Dataset<Sliced<T>> {
  let count: number | undefined;
  const describeLeaves = (value: unknown, where: string): unknown => {
    if (value instanceof Tensor || (ArrayBuffer.isView(value) && !(value instanceof DataView))) {
      const shape = value instanceof Tensor ? value.shape : [(value as TypedArray).length];
      if (shape.length === 0) throw invalidArgument('data.fromTensorSlices', `${where} with a first axis to slice`, value);
      if (count !== undefined && shape[0] !== count) {
        throw invalidArgument('data.fromTensorSlices', `${where} with ${count} samples, as the first tensor`, value);
      }
      count = shape[0];
      const values = value instanceof Tensor ? (value.dataSync() as ArrayLike<number | bigint>) : (value as TypedArray);
      return new SlicedLeaf(values, shape.slice(1).reduce((a, b) => a * b, 1), shape.length === 1);
    }
    if (Array.isArray(value)) return value.map((item, i) => describeLeaves(item, `${where}[${i}]`));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, describeLeaves(item, `${where}.${key}`)]));
    }
    throw invalidArgument('data.fromTensorSlices', `${where} to be a Tensor, a typed array, or an array or object of them`, value);
  };
  const layout = describeLeaves(tensors, 'tensors');
  const sample = (index: number, part: unknown): unknown => {
    if (part instanceof SlicedLeaf) {
      if (part.scalar) return Number(part.values[index]);
      return (part.values as TypedArray).subarray(index * part.per, (index + 1) * part.per);
    }
    if (Array.isArray(part)) return part.map((item) => sample(index, item));
    return Object.fromEntries(Object.entries(part as object).map(([key, item]) => [key, sample(index, item)]));
  };
  return new Dataset<Sliced<T>>(function* () {
    for (let i = 0; i < (count ?? 0); i++) yield sample(i, layout) as Sliced<T>;
  }, count ?? 0);
}

// ---- batching ------------------------------------------------------------------------------------

type Leaf = number | boolean | readonly number[] | TypedArray | Tensor;

function isLeaf(value: unknown): value is Leaf {
  return (
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    value instanceof Tensor ||
    (ArrayBuffer.isView(value) && !(value instanceof DataView)) ||
    (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number'))
  );
}

/** The elements of one batch, stacked leaf by leaf. */
function stack(elements: unknown[], where = 'element'): unknown {
  const first = elements[0];
  if (isLeaf(first)) return stackLeaves(elements, where);
  if (Array.isArray(first)) {
    return first.map((_, i) =>
      stack(
        elements.map((element) => {
          if (!Array.isArray(element) || element.length !== first.length) {
            throw invalidArgument('Dataset.batch', `every ${where} to be an array of ${first.length} parts, as the first`, element);
          }
          return element[i];
        }),
        `${where}[${i}]`,
      ),
    );
  }
  if (typeof first === 'object' && first !== null) {
    return Object.fromEntries(
      Object.keys(first).map((key) => [
        key,
        stack(
          elements.map((element) => {
            if (typeof element !== 'object' || element === null || !Object.hasOwn(element, key)) {
              throw invalidArgument('Dataset.batch', `every ${where} to have the key '${key}', as the first`, element);
            }
            return (element as Record<string, unknown>)[key];
          }),
          `${where}.${key}`,
        ),
      ]),
    );
  }
  throw invalidArgument('Dataset.batch', `each ${where} to be a number, an array of numbers, a typed array, a Tensor, or an array or object of them`, first);
}

/** Leaves of one kind and shape, written once into one typed array. */
function stackLeaves(leaves: unknown[], where: string): Tensor {
  const first = leaves[0] as Leaf;
  const count = leaves.length;
  const mismatch = (leaf: unknown) => invalidArgument('Dataset.batch', `every ${where} of the same kind and size as the first (${describeLeaf(first)})`, leaf);
  if (typeof first === 'number' || typeof first === 'boolean') {
    const values = new Float32Array(count);
    leaves.forEach((leaf, i) => {
      if (typeof leaf !== 'number' && typeof leaf !== 'boolean') throw mismatch(leaf);
      values[i] = Number(leaf);
    });
    return consumed(tensor(values, [count]));
  }
  if (first instanceof Tensor) {
    const per = first.size;
    const values = new TYPED_ARRAYS[first.dtype](per * count);
    leaves.forEach((leaf, i) => {
      if (!(leaf instanceof Tensor) || leaf.dtype !== first.dtype || leaf.shape.length !== first.shape.length || leaf.shape.some((d, k) => d !== first.shape[k])) throw mismatch(leaf);
      (values as Float32Array).set(leaf.dataSync() as Float32Array, i * per);
    });
    return consumed(tensor(values, [count, ...first.shape], first.dtype === 'bool' ? 'bool' : undefined));
  }
  if (Array.isArray(first)) {
    const per = first.length;
    const values = new Float32Array(per * count);
    leaves.forEach((leaf, i) => {
      if (!Array.isArray(leaf) || leaf.length !== per) throw mismatch(leaf);
      values.set(leaf as number[], i * per);
    });
    return consumed(tensor(values, [count, per]));
  }
  const typed = first as TypedArray;
  const dtype = dtypeOfTypedArray(typed);
  if (dtype === undefined) throw invalidArgument('Dataset.batch', `${where} as a Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array`, first);
  const per = typed.length;
  const values = new TYPED_ARRAYS[dtype](per * count);
  leaves.forEach((leaf, i) => {
    if (!ArrayBuffer.isView(leaf) || leaf.constructor !== typed.constructor || (leaf as TypedArray).length !== per) throw mismatch(leaf);
    (values as Float32Array).set(leaf as Float32Array, i * per);
  });
  return consumed(tensor(values, [count, per]));
}

function describeLeaf(leaf: Leaf): string {
  if (leaf instanceof Tensor) return `a ${leaf.dtype} Tensor of shape [${leaf.shape.join(', ')}]`;
  if (Array.isArray(leaf)) return `an array of ${leaf.length} numbers`;
  if (ArrayBuffer.isView(leaf)) return `a ${leaf.constructor.name} of length ${(leaf as TypedArray).length}`;
  return `a ${typeof leaf}`;
}

function consumed(made: Tensor): Tensor {
  consumable.add(made);
  return made;
}
