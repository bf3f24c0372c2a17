/**
 * Tensor: an n-dimensional array living in libtorch. Created from typed arrays without a copy (the JS
 * buffer is kept alive while libtorch uses it), read back with a copy. The garbage collector frees
 * tensors (V8 is told how much memory libtorch holds for them); `dispose()` frees one at once.
 */
import { described, invalidArgument, ValueError } from './errors';
import type { NativeDtype, NativeTensor, NativeTypedArray } from './native/binding';
import { loadBinding } from './native/loader';

export type DType = NativeDtype;
export type TypedArray = NativeTypedArray;
/** Nested JS arrays of numbers (or booleans for dtype 'bool'). */
export type NestedArray = number | boolean | NestedArray[];
export type TensorLike = Tensor | TypedArray | NestedArray;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'];

/** The typed array that holds each dtype's values (bool as bytes). */
export const TYPED_ARRAYS: Record<DType, { new (length: number): TypedArray; new (buffer: ArrayBuffer): TypedArray }> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/**
 * The typed array's kind by its tag rather than instanceof, so that arrays from another realm (a vm
 * context, a test runner's sandbox, the addon's own context) are recognised too.
 */
function typedArrayKind(values: ArrayBufferView): string | undefined {
  return (values as unknown as { [Symbol.toStringTag]?: string })[Symbol.toStringTag];
}

export function dtypeOfTypedArray(values: ArrayBufferView): DType | undefined {
  switch (typedArrayKind(values)) {
    case 'Float32Array': return 'float32';
    case 'Float64Array': return 'float64';
    case 'Int32Array': return 'int32';
    case 'BigInt64Array': return 'int64';
    case 'Uint8Array':
    case 'Uint8ClampedArray': return 'uint8';
    default: return undefined;
  }
}

/** The first leaf of nested arrays, to tell booleans from numbers. */
function firstLeaf(values: NestedArray): NestedArray | undefined {
  let level: NestedArray = values;
  while (Array.isArray(level)) {
    if (level.length === 0) return undefined;
    level = level[0];
  }
  return level;
}

export class Tensor {
  /** @internal */
  readonly native: NativeTensor;
  /** The size of each axis. */
  readonly shape: readonly number[];
  readonly dtype: DType;

  /** @internal Use `tensor()`, `zeros()` or `ones()`. */
  constructor(native: NativeTensor) {
    this.native = native;
    this.shape = Object.freeze(native.shape());
    this.dtype = native.dtype();
  }

  /** 'cpu', 'cuda:0', ... */
  get device(): string {
    this.checkAlive('device');
    return this.native.device();
  }

  /** The number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** The number of values. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get isDisposed(): boolean {
    return this.native.isDisposed();
  }

  /** A copy of the values, flat, in row-major order; off the event loop. */
  async data(): Promise<TypedArray> {
    this.checkAlive('data');
    return this.native.data();
  }

  /** A copy of the values, flat, in row-major order. */
  dataSync(): TypedArray {
    this.checkAlive('dataSync');
    return this.native.dataSync();
  }

  /** The values as nested JS arrays (numbers; booleans for 'bool'; bigints for 'int64'). */
  arraySync(): NestedArray {
    const flat = Array.from(this.dataSync() as ArrayLike<number>, (v) => (this.dtype === 'bool' ? v !== 0 : v));
    if (this.shape.length === 0) return flat[0];
    const build = (axis: number, offset: number): { value: NestedArray[]; next: number } => {
      const value: NestedArray[] = [];
      let next = offset;
      for (let i = 0; i < this.shape[axis]; i++) {
        if (axis === this.shape.length - 1) {
          value.push(flat[next++] as NestedArray);
        } else {
          const inner = build(axis + 1, next);
          value.push(inner.value);
          next = inner.next;
        }
      }
      return { value, next };
    };
    return build(0, 0).value;
  }

  /** The same values seen with another shape (a view when the layout allows; -1 infers one axis). */
  reshape(shape: number[]): Tensor {
    this.checkAlive('reshape');
    const resolved = resolveShape('reshape', shape, this.size);
    return new Tensor(this.native.reshape(resolved));
  }

  /** A copy on another device: 'cpu', 'cuda', 'cuda:1'. */
  to(device: string): Tensor {
    this.checkAlive('to');
    return new Tensor(this.native.to(device));
  }

  /** Frees the tensor's memory now; the tensor cannot be used afterwards. Safe to call twice. */
  dispose(): void {
    this.native.dispose();
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}${this.isDisposed ? ', disposed' : ''})`;
  }

  private checkAlive(operation: string): void {
    if (this.native.isDisposed()) {
      throw new ValueError(`Tensor.${operation}: the Tensor has been disposed; it cannot be used any more`);
    }
  }
}

function resolveShape(context: string, shape: unknown, size: number): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= -1)) {
    throw invalidArgument(context, 'shape to be an array of non-negative integers (and at most one -1)', shape);
  }
  const unknown = shape.filter((d) => d === -1).length;
  const known = shape.filter((d) => d !== -1).reduce((a: number, b: number) => a * b, 1);
  if (unknown > 1 || (unknown === 1 && (known === 0 || size % known !== 0))) {
    throw invalidArgument(context, `a shape that can hold ${size} values`, shape);
  }
  const resolved = shape.map((d) => (d === -1 ? size / known : d));
  const count = resolved.reduce((a: number, b: number) => a * b, 1);
  if (count !== size) {
    throw invalidArgument(context, `a shape that holds ${size} values (this one holds ${count})`, shape);
  }
  return resolved;
}

function inferShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flatten(values: NestedArray, shape: number[], out: number[], axis = 0, path = ''): void {
  if (axis === shape.length) {
    if (typeof values === 'boolean') out.push(values ? 1 : 0);
    else if (typeof values === 'number') out.push(values);
    else throw invalidArgument('tensor', `a number at values${path}`, values);
    return;
  }
  if (!Array.isArray(values) || values.length !== shape[axis]) {
    throw invalidArgument('tensor', `values${path} to be an array of length ${shape[axis]} (the array is ragged)`, values);
  }
  values.forEach((v, i) => flatten(v, shape, out, axis + 1, `${path}[${i}]`));
}

function toTypedArray(values: ArrayLike<number> | ArrayLike<bigint>, dtype: DType): TypedArray {
  const out = new TYPED_ARRAYS[dtype](values.length);
  if (dtype === 'int64') {
    const target = out as BigInt64Array;
    for (let i = 0; i < values.length; i++) {
      const value = Number(values[i]);
      // BigInt() throws a bare RangeError on NaN and infinities.
      if (!Number.isFinite(value)) throw invalidArgument('tensor', `finite values for dtype int64 (values[${i}])`, value);
      target[i] = BigInt(Math.trunc(value));
    }
  } else if (dtype === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]) !== 0 ? 1 : 0;
  } else {
    const target = out as Exclude<TypedArray, BigInt64Array>;
    for (let i = 0; i < values.length; i++) target[i] = Number(values[i]);
  }
  return out;
}

/**
 * Creates a tensor. A typed array of the matching kind is used without a copy (keep it unchanged while
 * the tensor is in use); nested arrays and other kinds are copied. `dtype` defaults to the typed array's
 * kind, or float32 for JS numbers.
 */
export function tensor(values: TensorLike, shape?: number[], dtype?: DType): Tensor {
  if (dtype !== undefined && !DTYPES.includes(dtype)) {
    throw invalidArgument('tensor', `dtype to be one of ${DTYPES.join(', ')}`, dtype);
  }
  if (values instanceof Tensor) {
    const reshaped = shape ? values.reshape(shape) : values;
    if (dtype && dtype !== values.dtype) return tensor(reshaped.dataSync(), [...reshaped.shape], dtype);
    return reshaped;
  }
  let flat: TypedArray;
  let inferred: number[];
  if (ArrayBuffer.isView(values)) {
    const kind = dtypeOfTypedArray(values);
    if (kind === undefined) {
      throw invalidArgument(
        'tensor',
        'values as a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array or nested arrays',
        values,
      );
    }
    const target = dtype ?? kind;
    const view = values as ArrayBufferView & ArrayLike<number>;
    flat = typedArrayKind(values) === 'Uint8ClampedArray' ? new Uint8Array(view.buffer, view.byteOffset, view.length) : (values as TypedArray);
    if (target !== kind && !(target === 'bool' && kind === 'uint8')) {
      flat = toTypedArray(flat as unknown as ArrayLike<number>, target);
    }
    // Memory another thread may write at any time is not borrowed: the tensor takes a copy.
    if (typeof SharedArrayBuffer !== 'undefined' && flat.buffer instanceof SharedArrayBuffer) flat = flat.slice() as TypedArray;
    inferred = [flat.length];
    dtype = target;
  } else if (typeof values === 'number' || typeof values === 'boolean' || Array.isArray(values)) {
    inferred = inferShape(values);
    const numbers: number[] = [];
    flatten(values, inferred, numbers);
    dtype = dtype ?? (typeof firstLeaf(values) === 'boolean' ? 'bool' : 'float32');
    flat = toTypedArray(numbers, dtype);
  } else {
    throw invalidArgument('tensor', 'values as a typed array, a number or nested arrays of numbers', values);
  }
  const finalShape = shape === undefined ? inferred : resolveShape('tensor', shape, flat.length);
  return new Tensor(new (loadBinding().NativeTensor)(flat, finalShape, dtype));
}

function filled(context: string, shape: number[], dtype: DType, value: number): Tensor {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw invalidArgument(context, 'shape to be an array of non-negative integers', shape);
  }
  if (!DTYPES.includes(dtype)) throw invalidArgument(context, `dtype to be one of ${DTYPES.join(', ')}`, dtype);
  const size = shape.reduce((a, b) => a * b, 1);
  let values: TypedArray;
  try {
    values = new TYPED_ARRAYS[dtype](size);
  } catch (error) {
    // V8 refuses typed arrays past its length limit (or without the memory) with a RangeError.
    throw invalidArgument(context, `a shape whose ${size} values fit in memory (${(error as Error).message})`, shape);
  }
  if (value !== 0) (values as { fill(v: number | bigint): unknown }).fill(dtype === 'int64' ? BigInt(value) : value);
  return new Tensor(new (loadBinding().NativeTensor)(values, shape, dtype));
}

export function zeros(shape: number[], dtype: DType = 'float32'): Tensor {
  return filled('zeros', shape, dtype, 0);
}

export function ones(shape: number[], dtype: DType = 'float32'): Tensor {
  return filled('ones', shape, dtype, 1);
}

/** Inserts an axis of size 1 at `axis` (negative counts from the end), as Keras's `expand_dims`. */
export function expandDims(input: Tensor, axis = 0): Tensor {
  if (!(input instanceof Tensor)) throw invalidArgument('expandDims', 'a Tensor', input);
  const rank = input.rank;
  if (!Number.isInteger(axis) || axis < -rank - 1 || axis > rank) {
    throw invalidArgument('expandDims', `axis to be an integer in [${-rank - 1}, ${rank}]`, axis);
  }
  const position = axis < 0 ? rank + 1 + axis : axis;
  const shape = [...input.shape];
  shape.splice(position, 0, 1);
  return input.reshape(shape);
}

/** Joins tensors along the first axis. */
export function concat(tensors: Tensor[]): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0 || !tensors.every((t) => t instanceof Tensor)) {
    throw invalidArgument('concat', 'a non-empty array of Tensors', tensors);
  }
  tensors.forEach((t, i) => {
    if (t.isDisposed) throw invalidArgument('concat', `tensors[${i}] to be a live Tensor`, described('a disposed Tensor'));
  });
  const first = tensors[0].shape;
  tensors.forEach((t, i) => {
    if (t.rank !== first.length || t.shape.some((d, axis) => axis > 0 && d !== first[axis])) {
      throw invalidArgument('concat', `tensors[${i}] of shape [*, ${first.slice(1).join(', ')}] (as tensors[0])`, described(`shape [${t.shape.join(', ')}]`));
    }
  });
  return new Tensor(loadBinding().concat(tensors.map((t) => t.native)));
}
