import { concat, expandDims, ones, Tensor, tensor, zeros } from '../lib';

describe('tensor from typed arrays', () => {
  test.each([
    ['float32', new Float32Array([1.5, -2, 3.25, 0])],
    ['float64', new Float64Array([1e-300, -2.5, 1e300, 0])],
    ['int32', new Int32Array([-(2 ** 31), -1, 0, 2 ** 31 - 1])],
    ['uint8', new Uint8Array([0, 1, 128, 255])],
  ] as const)('%s round trips values and dtype', async (dtype, data) => {
    const t = tensor(data, [2, 2]);
    expect(t.dtype).toBe(dtype);
    expect(t.shape).toEqual([2, 2]);
    expect(t.size).toBe(4);
    expect(t.rank).toBe(2);
    expect(t.device).toBe('cpu');
    const out = t.dataSync();
    expect(Object.prototype.toString.call(out)).toBe(Object.prototype.toString.call(data));
    expect(Array.from(out as ArrayLike<number>)).toEqual(Array.from(data));
    expect(Array.from((await t.data()) as ArrayLike<number>)).toEqual(Array.from(data));
  });

  test('int64 from a BigInt64Array round trips beyond 2^53', () => {
    const big = 2n ** 62n + 3n;
    const t = tensor(new BigInt64Array([big, -big, 0n]));
    expect(t.dtype).toBe('int64');
    expect(Array.from(t.dataSync() as BigInt64Array)).toEqual([big, -big, 0n]);
    expect(t.arraySync()).toEqual([big, -big, 0n]);
  });

  test('bool from nested booleans and from a Uint8Array', () => {
    const t = tensor([[true, false], [false, true]]);
    expect(t.dtype).toBe('bool');
    expect(t.arraySync()).toEqual([[true, false], [false, true]]);
    const u = tensor(new Uint8Array([1, 0, 1]), [3], 'bool');
    expect(u.dtype).toBe('bool');
    expect(u.arraySync()).toEqual([true, false, true]);
  });

  test('zero-copy: a subarray with a nonzero byteOffset is read from its own window of the buffer', () => {
    const buffer = new Float32Array(16).map((_, i) => i);
    const window = buffer.subarray(5, 11); // byteOffset 20
    expect(window.byteOffset).toBe(20);
    const t = tensor(window, [2, 3]);
    expect(t.arraySync()).toEqual([[5, 6, 7], [8, 9, 10]]);
    // The tensor borrows the memory: a change to the window shows (documented: keep it unchanged in use).
    window[0] = 42;
    expect(Array.from(t.dataSync() as Float32Array)).toEqual([42, 6, 7, 8, 9, 10]);
    // ...and the data read back is a copy that does not alias the input.
    const copy = t.dataSync() as Float32Array;
    copy[1] = -1;
    expect((t.dataSync() as Float32Array)[1]).toBe(6);
  });

  test('zero-copy from a Node Buffer slice (a window on the shared pool) for uint8 and float64', () => {
    const pool = Buffer.alloc(64);
    for (let i = 0; i < 64; i++) pool[i] = i;
    const bytes = new Uint8Array(pool.buffer, pool.byteOffset + 3, 6);
    expect(Array.from(tensor(bytes, [2, 3]).dataSync() as Uint8Array)).toEqual([3, 4, 5, 6, 7, 8]);
    const doubles = new Float64Array(10).map((_, i) => i / 2);
    expect(Array.from(tensor(doubles.subarray(7), [3]).dataSync() as Float64Array)).toEqual([3.5, 4, 4.5]);
  });

  test('a typed array of another kind than dtype is converted', () => {
    const t = tensor(new Float64Array([1.5, 2.5]), [2], 'float32');
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.dataSync() as Float32Array)).toEqual([1.5, 2.5]);
    const i = tensor(new Float32Array([3.9, -2.9]), undefined, 'int64');
    expect(Array.from(i.dataSync() as BigInt64Array)).toEqual([3n, -2n]);
  });
});

describe('tensor from nested arrays', () => {
  test('infers the shape and defaults to float32', () => {
    const t = tensor([[[1, 2], [3, 4], [5, 6]]]);
    expect(t.shape).toEqual([1, 3, 2]);
    expect(t.dtype).toBe('float32');
    expect(t.arraySync()).toEqual([[[1, 2], [3, 4], [5, 6]]]);
  });

  test('a scalar', () => {
    const t = tensor(3.5);
    expect(t.shape).toEqual([]);
    expect(t.arraySync()).toBe(3.5);
  });

  test('an explicit shape and dtype', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    expect(t.dtype).toBe('int32');
    expect(t.arraySync()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(tensor([1, 2, 3, 4], [-1, 2]).shape).toEqual([2, 2]);
  });

  test('ragged arrays are an error that says where', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor: expected values\[1\] to be an array of length 2 \(the array is ragged\) but received \[3\]/);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(/tensor: expected values\[1\] to be an array of length 2 \(the array is ragged\) but received 3/);
    expect(() => tensor([[1, 'a']] as never)).toThrow(/tensor: expected a number at values\[0\]\[1\] but received "a"/);
  });
});

describe('tensor validation', () => {
  test('shape and length mismatch', () => {
    expect(() => tensor(new Float32Array(6), [2, 4])).toThrow(/tensor: expected a shape that holds 6 values \(this one holds 8\) but received \[2, 4\]/);
    expect(() => tensor([1, 2, 3], [2, -1])).toThrow(/tensor: expected a shape that can hold 3 values but received \[2, -1\]/);
    expect(() => tensor([1, 2], [2.5] as never)).toThrow(/tensor: expected shape to be an array of non-negative integers \(and at most one -1\) but received \[2\.5\]/);
  });

  test('unsupported dtypes and value kinds', () => {
    expect(() => tensor([1], undefined, 'float16' as never)).toThrow(/tensor: expected dtype to be one of float32, float64, int32, int64, uint8, bool but received "float16"/);
    expect(() => tensor(new Int16Array(2) as never)).toThrow(/tensor: expected values as a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array or nested arrays but received a Int16Array of length 2/);
    expect(() => tensor('abc' as never)).toThrow(/tensor: expected values as a typed array, a number or nested arrays of numbers but received "abc"/);
  });

  test('reshape checks the size', () => {
    const t = tensor(new Float32Array(12));
    expect(t.reshape([3, -1]).shape).toEqual([3, 4]);
    expect(() => t.reshape([5, -1])).toThrow(/reshape: expected a shape that can hold 12 values but received \[5, -1\]/);
  });
});

describe('dispose', () => {
  test('using a disposed tensor is an error; dispose twice is fine', async () => {
    const t = tensor([1, 2, 3]);
    expect(t.isDisposed).toBe(false);
    t.dispose();
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(() => t.dataSync()).toThrow(/Tensor\.dataSync: the Tensor has been disposed; it cannot be used any more/);
    expect(() => t.arraySync()).toThrow(/has been disposed/);
    expect(() => t.reshape([3, 1])).toThrow(/Tensor\.reshape: the Tensor has been disposed/);
    expect(() => t.device).toThrow(/Tensor\.device: the Tensor has been disposed/);
    await expect(t.data()).rejects.toThrow(/Tensor\.data: the Tensor has been disposed/);
    expect(() => expandDims(t, 0)).toThrow(/has been disposed/);
    expect(String(t)).toBe('Tensor(shape=[3], dtype=float32, disposed)');
  });

  test('a view made before dispose stays usable', () => {
    const t = tensor([1, 2, 3, 4]);
    const view = t.reshape([2, 2]);
    t.dispose();
    expect(view.arraySync()).toEqual([[1, 2], [3, 4]]);
  });
});

describe('helpers', () => {
  test('zeros and ones', () => {
    expect(zeros([2, 2]).arraySync()).toEqual([[0, 0], [0, 0]]);
    expect(ones([3], 'int32').arraySync()).toEqual([1, 1, 1]);
    expect(ones([2], 'int64').arraySync()).toEqual([1n, 1n]);
    expect(ones([1], 'bool').arraySync()).toEqual([true]);
    expect(() => zeros([2, -1])).toThrow(/zeros: expected shape to be an array of non-negative integers but received \[2, -1\]/);
  });

  test('expandDims inserts an axis, negative axes count from the end', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(expandDims(t, 0).shape).toEqual([1, 2, 3]);
    expect(expandDims(t, 1).shape).toEqual([2, 1, 3]);
    expect(expandDims(t, -1).shape).toEqual([2, 3, 1]);
    expect(expandDims(t).arraySync()).toEqual([[[1, 2, 3], [4, 5, 6]]]);
    expect(() => expandDims(t, 3)).toThrow(/expandDims: expected axis to be an integer in \[-3, 2\] but received 3/);
    expect(() => expandDims([1, 2] as never)).toThrow(/expandDims: expected a Tensor but received \[1, 2\]/);
  });

  test('arraySync nests by shape', () => {
    const t = tensor(new Int32Array([0, 1, 2, 3, 4, 5, 6, 7]), [2, 2, 2]);
    expect(t.arraySync()).toEqual([[[0, 1], [2, 3]], [[4, 5], [6, 7]]]);
    expect(tensor(new Float32Array(0), [0, 3]).arraySync()).toEqual([]);
  });

  test('concat joins along the first axis', () => {
    const joined = concat([tensor([[1, 2]]), tensor([[3, 4], [5, 6]])]);
    expect(joined).toBeInstanceOf(Tensor);
    expect(joined.arraySync()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(() => concat([])).toThrow(/concat: expected a non-empty array of Tensors but received \[\]/);
  });

  test('tensor(Tensor) reshapes or converts', () => {
    const t = tensor([1, 2, 3, 4]);
    expect(tensor(t, [2, 2]).arraySync()).toEqual([[1, 2], [3, 4]]);
    const ints = tensor(t, undefined, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(ints.arraySync()).toEqual([1, 2, 3, 4]);
  });

  test('many tensors are freed by the garbage collector without running out of memory', () => {
    // 400 MB in total if nothing were freed; each is unreachable right away.
    for (let i = 0; i < 100; i++) {
      const t = zeros([1024, 1024]);
      expect(t.shape[0]).toBe(1024);
    }
  });
});
