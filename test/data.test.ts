import { Callback, Conv2D, data, Dense, Flatten, Sequential, setSeed, SGD, Tensor, tensor } from '../lib';
import { expectClose, range, seededRandom, values } from './helpers';

async function collect<T>(dataset: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const element of dataset) out.push(element);
  return out;
}

describe('Dataset', () => {
  test('batch stacks each leaf into one tensor with a batch axis, keeping {xs, ys} and [x, y] structure and dtypes', async () => {
    const samples = range(5).map((i) => ({ xs: Float32Array.of(i, i + 0.5), ys: i % 2, ids: Int32Array.of(i * 10) }));
    const batches = await collect(data.array(samples).batch(2));
    expect(batches).toHaveLength(3);
    expect(batches[0].xs.shape).toEqual([2, 2]);
    expect(values(batches[0].xs)).toEqual([0, 0.5, 1, 1.5]);
    expect(batches[0].ys.shape).toEqual([2]);
    expect(values(batches[1].ys)).toEqual([0, 1]);
    expect(batches[2].xs.shape).toEqual([1, 2]);
    expect(batches[0].ids.dtype).toBe('int32');
    expect(values(batches[1].ids)).toEqual([20, 30]);

    const pairs = await collect(data.array([[[1, 2], [3]], [[4, 5], [6]]]).batch(2));
    expect(pairs[0][0].shape).toEqual([2, 2]);
    expect(values(pairs[0][0])).toEqual([1, 2, 4, 5]);
    expect(values(pairs[0][1])).toEqual([3, 6]);

    const fromTensors = await collect(data.array([tensor([[1, 2]]), tensor([[3, 4]])]).batch(2));
    expect(fromTensors[0].shape).toEqual([2, 1, 2]);
    expect(values(fromTensors[0])).toEqual([1, 2, 3, 4]);
  });

  test('size follows the chain: batch, dropRemainder, take, skip, repeat, and unknown for generators', () => {
    const ten = data.array(range(10));
    expect(ten.size).toBe(10);
    expect(ten.batch(4).size).toBe(3);
    expect(ten.batch(4, { dropRemainder: true }).size).toBe(2);
    expect(ten.take(3).size).toBe(3);
    expect(ten.skip(8).size).toBe(2);
    expect(ten.skip(12).size).toBe(0);
    expect(ten.repeat(3).size).toBe(30);
    expect(ten.repeat().size).toBe(Infinity);
    expect(ten.repeat().take(7).size).toBe(7);
    expect(data.fromGenerator(function* () { yield 1; }).size).toBeUndefined();
  });

  test('take, skip, repeat and map give the elements in order; dropRemainder drops the short batch', async () => {
    const ten = data.array(range(10));
    expect(await ten.skip(2).take(3).toArray()).toEqual([2, 3, 4]);
    expect(await ten.take(3).repeat(2).toArray()).toEqual([0, 1, 2, 0, 1, 2]);
    expect(await ten.repeat().skip(9).take(3).toArray()).toEqual([9, 0, 1]);
    expect(await ten.map(async (v) => v * v).take(4).toArray()).toEqual([0, 1, 4, 9]);
    expect(await ten.filter((v) => v % 3 === 0).toArray()).toEqual([0, 3, 6, 9]);
    const batches = await ten.batch(4, { dropRemainder: true }).toArray();
    expect(batches.map((b) => values(b))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  test('fromGenerator starts a fresh pass of the generator each time, sync or async', async () => {
    let calls = 0;
    const dataset = data.fromGenerator(async function* () {
      calls += 1;
      for (let i = 0; i < 3; i++) yield i + calls * 10;
    });
    expect(await dataset.toArray()).toEqual([10, 11, 12]);
    expect(await dataset.toArray()).toEqual([20, 21, 22]);
    expect(await data.fromGenerator(() => [1, 2][Symbol.iterator]()).toArray()).toEqual([1, 2]);
  });

  test('shuffle with a buffer of k: a permutation where no element moves more than k - 1 places earlier', async () => {
    const count = 50;
    for (const bufferSize of [1, 5, 50]) {
      const order = await data.array(range(count)).shuffle(bufferSize, { seed: 3 }).toArray();
      expect([...order].sort((a, b) => a - b)).toEqual(range(count));
      order.forEach((element, position) => expect(position).toBeGreaterThanOrEqual(element - (bufferSize - 1)));
      if (bufferSize === 1) expect(order).toEqual(range(count));
    }
  });

  test('shuffle: a seed fixes the orders; each pass reshuffles unless told not to; setSeed fixes an unseeded shuffle', async () => {
    const make = (args = {}) => data.array(range(30)).shuffle(30, { seed: 9, ...args });
    const a = make();
    const b = make();
    const firstA = await a.toArray();
    expect(await b.toArray()).toEqual(firstA);
    expect(firstA).not.toEqual(range(30));
    const secondA = await a.toArray();
    expect(secondA).not.toEqual(firstA);
    expect(await b.toArray()).toEqual(secondA);
    const fixed = make({ reshuffleEachIteration: false });
    expect(await fixed.toArray()).toEqual(await fixed.toArray());
    setSeed(4);
    const unseeded1 = await data.array(range(30)).shuffle(30).toArray();
    setSeed(4);
    expect(await data.array(range(30)).shuffle(30).toArray()).toEqual(unseeded1);
  });

  test('prefetch asks the source ahead of the consumer and keeps the order', async () => {
    let produced = 0;
    const source = data.fromGenerator(async function* () {
      for (let i = 0; i < 10; i++) {
        produced += 1;
        yield i;
      }
    });
    const iterator = source.prefetch(3)[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe(0);
    // Let the requests made ahead run.
    await new Promise((resolve) => setImmediate(resolve));
    expect(produced).toBeGreaterThanOrEqual(4);
    const rest: number[] = [];
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest.push(r.value);
    expect(rest).toEqual(range(9, 1));
  });

  test('fromTensorSlices yields each sample of tensors and typed arrays in the given structure; batch puts them back', async () => {
    const images = tensor(Float32Array.from(range(24)), [4, 2, 3]);
    const labels = Int32Array.of(7, 8, 9, 10);
    const samples = data.fromTensorSlices({ xs: images, ys: labels });
    expect(samples.size).toBe(4);
    const all = await samples.toArray();
    expect(Array.from(all[1].xs as Float32Array)).toEqual(range(6, 6));
    expect(all.map((s) => s.ys)).toEqual([7, 8, 9, 10]);
    const [batch] = await samples.batch(4).toArray();
    expect(values(batch.xs)).toEqual(range(24));
    expect(batch.xs.shape).toEqual([4, 6]);
    const pairs = await data.fromTensorSlices([images, labels]).take(1).toArray();
    expect(pairs[0][1]).toBe(7);
    expect(() => data.fromTensorSlices({ xs: images, ys: Int32Array.of(1) })).toThrow(
      'data.fromTensorSlices: expected tensors.ys with 4 samples, as the first tensor but received a Int32Array of length 1',
    );
    expect(() => data.fromTensorSlices({ xs: 'a' })).toThrow('data.fromTensorSlices: expected tensors.xs to be a Tensor, a typed array, or an array or object of them but received "a"');
  });

  test('bad arguments and mismatched samples are named', async () => {
    const ten = data.array(range(10));
    expect(() => ten.batch(0)).toThrow('Dataset.batch: expected batchSize to be a positive integer but received 0');
    expect(() => ten.shuffle(-1)).toThrow('Dataset.shuffle: expected bufferSize to be a positive integer but received -1');
    expect(() => ten.shuffle(4, { sed: 1 } as never)).toThrow(/Dataset.shuffle: .*sed/);
    expect(() => ten.prefetch(1.5)).toThrow('Dataset.prefetch: expected count to be a positive integer but received 1.5');
    expect(() => ten.take(-2)).toThrow('Dataset.take: expected count to be a non-negative integer but received -2');
    expect(() => data.fromGenerator((function* () { yield 1; })() as never)).toThrow(/data.fromGenerator: expected a function that returns a generator/);
    await expect(data.array([Float32Array.of(1, 2), Float32Array.of(3)]).batch(2).toArray()).rejects.toThrow(
      'Dataset.batch: expected every element of the same kind and size as the first (a Float32Array of length 2) but received a Float32Array of length 1',
    );
    await expect(data.array([{ xs: 1 }, { ys: 2 }]).batch(2).toArray()).rejects.toThrow("Dataset.batch: expected every element to have the key 'xs'");
    await expect(data.array(['a']).batch(1).toArray()).rejects.toThrow(/Dataset.batch: expected each element to be a number/);
    await expect(data.array(range(3)).repeat().toArray()).rejects.toThrow('Dataset.toArray: expected a finite Dataset but received Infinity');
  });
});

/** Linear regression data: 4 features, 12 samples. */
function regression(): { x: Float32Array; y: Float32Array } {
  const next = seededRandom(5);
  const x = Float32Array.from({ length: 48 }, () => next() * 2 - 1);
  const y = Float32Array.from({ length: 12 }, (_, i) => x[i * 4] - 0.5 * x[i * 4 + 2] + 0.1);
  return { x, y };
}

function linearModel(): Sequential {
  setSeed(11);
  const model = new Sequential([new Dense(1, { inputShape: [4] })]);
  model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'mse' });
  return model;
}

/** Keras's SGD step on mse for Dense(1), written out: w -= lr * 2/n * X^T (Xw + b - y), b likewise. */
function sgdSteps(weights: number[], bias: number, batches: [Float32Array, Float32Array][], learningRate: number): number[] {
  const w = [...weights];
  let b = bias;
  for (const [x, y] of batches) {
    const n = y.length;
    const gradient = [0, 0, 0, 0];
    let gradientBias = 0;
    for (let i = 0; i < n; i++) {
      let error = b - y[i];
      for (let j = 0; j < 4; j++) error += x[i * 4 + j] * w[j];
      for (let j = 0; j < 4; j++) gradient[j] += (2 / n) * error * x[i * 4 + j];
      gradientBias += (2 / n) * error;
    }
    for (let j = 0; j < 4; j++) w[j] -= learningRate * gradient[j];
    b -= learningRate * gradientBias;
  }
  return [...w, b];
}

describe('fit, evaluate and predict on iterables', () => {
  const { x, y } = regression();
  const batchOf = (start: number, count: number): [Float32Array, Float32Array] => [x.subarray(start * 4, (start + count) * 4), y.subarray(start, start + count)];

  test('an async generator of [x, y] typed-array batches trains as SGD steps on those batches', async () => {
    const model = linearModel();
    const initial = model.getWeights().flatMap((w) => values(w));
    async function* batches() {
      for (let start = 0; start < 12; start += 4) yield batchOf(start, 4);
    }
    const history = await model.fit(batches(), { stepsPerEpoch: 3, epochs: 1, verbose: 0 });
    expect(history.history.loss).toHaveLength(1);
    const expected = sgdSteps(initial.slice(0, 4), initial[4], [batchOf(0, 4), batchOf(4, 4), batchOf(8, 4)], 0.1);
    expectClose(model.getWeights().flatMap((w) => values(w)), expected, 1e-5);
  });

  test('a generator yielding its own Tensors again and again: fit views them and leaves them alive', async () => {
    const model = linearModel();
    const xs = tensor(x, [12, 4]);
    const ys = tensor(y, [12, 1]);
    function* forever() {
      for (;;) yield { xs, ys };
    }
    await model.fit(forever(), { stepsPerEpoch: 2, epochs: 2, verbose: 0 });
    expect(xs.isDisposed || ys.isDisposed).toBe(false);
    expect(values(xs)).toEqual(Array.from(x));
  });

  test('a Dataset of known size needs no stepsPerEpoch: each epoch is a fresh pass', async () => {
    const model = linearModel();
    const samples = data.array(range(12).map((i) => ({ xs: x.subarray(i * 4, i * 4 + 4), ys: y.subarray(i, i + 1) }))).batch(5);
    const seen: number[] = [];
    const counter = new (class extends Callback {
      onBatchEnd(_batch: number, logs: Record<string, number> = {}) {
        seen.push(logs.size);
      }
    })();
    const history = await model.fit(samples, { epochs: 2, verbose: 0, callbacks: [counter] });
    expect(seen).toEqual([5, 5, 2, 5, 5, 2]);
    expect(history.epoch).toEqual([0, 1]);
  });

  test('a source that runs dry before stepsPerEpoch * epochs stops training with a warning, as Keras does', async () => {
    const model = linearModel();
    function* five() {
      for (let i = 0; i < 5; i++) yield batchOf(i * 2, 2);
    }
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const history = await model.fit(five(), { stepsPerEpoch: 2, epochs: 4, verbose: 0 });
      expect(history.epoch).toEqual([0, 1, 2]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/ran out of batches at epoch 3, after 1 of 2 steps; interrupting training/);
    } finally {
      warn.mockRestore();
    }
  });

  test('validationData as an iterable: val_loss is the loss evaluate computes on the same data', async () => {
    const model = linearModel();
    const validation = data.array([batchOf(8, 2), batchOf(10, 2)]);
    const history = await model.fit(data.array([batchOf(0, 4), batchOf(4, 4)]), { epochs: 2, verbose: 0, validationData: validation });
    const loss = (await model.evaluate(tensor(x.slice(32), [4, 4]), tensor(y.slice(8), [4, 1]), { verbose: 0 })) as number;
    expect(history.history.val_loss[1]).toBeCloseTo(loss, 6);
    // validationSteps takes the first batches of each pass.
    const one = await model.fit(data.array([batchOf(0, 4)]), { epochs: 1, verbose: 0, validationData: validation, validationSteps: 1 });
    const first = (await model.evaluate(tensor(x.slice(32, 40), [2, 4]), tensor(y.slice(8, 10), [2, 1]), { verbose: 0 })) as number;
    expect(one.history.val_loss[0]).toBeCloseTo(first, 6);
  });

  test('evaluate and predict take iterables: the same numbers as on tensors', async () => {
    const model = linearModel();
    const xs = tensor(x, [12, 4]);
    const ys = tensor(y, [12, 1]);
    const batches = [batchOf(0, 5), batchOf(5, 5), batchOf(10, 2)];
    const fromTensors = (await model.evaluate(xs, ys, { verbose: 0 })) as number;
    expect((await model.evaluate(data.array(batches), { verbose: 0 })) as number).toBeCloseTo(fromTensors, 6);
    function* generator() {
      yield* batches;
    }
    expect((await model.evaluate(generator(), { verbose: 0 })) as number).toBeCloseTo(fromTensors, 6);
    const predicted = values((await model.predict(xs)) as Tensor);
    expectClose(values((await model.predict(data.array(batches.map(([bx]) => bx)))) as Tensor), predicted, 1e-6);
    expectClose(values((await model.predict(data.array(batches))) as Tensor), predicted, 1e-6);
    expect(((await model.predict(data.array(batches), { steps: 1 })) as Tensor).shape).toEqual([5, 1]);
  });

  test('batched flat samples take the model\'s sample shape', async () => {
    setSeed(2);
    const model = new Sequential([new Conv2D(2, 3, { inputShape: [4, 4, 1] }), new Flatten(), new Dense(1)]);
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    const samples = data.array(range(6).map((i) => [Float32Array.from({ length: 16 }, (_, k) => (i + k) / 16), [i / 6]])).batch(3);
    const history = await model.fit(samples, { epochs: 1, verbose: 0 });
    expect(Number.isFinite(history.history.loss[0])).toBe(true);
    expect(((await model.predict(samples)) as Tensor).shape).toEqual([6, 1]);
  });

  test("a source's own error rejects fit, after the batches before it trained; a Dataset's map error rejects as well", async () => {
    const model = linearModel();
    let trained = 0;
    const counter = new (class extends Callback {
      onBatchEnd() {
        trained += 1;
      }
    })();
    async function* failing() {
      yield batchOf(0, 4);
      yield batchOf(4, 4);
      throw new Error('the database went away');
    }
    await expect(model.fit(failing(), { stepsPerEpoch: 3, verbose: 0, callbacks: [counter] })).rejects.toThrow('the database went away');
    expect(trained).toBe(2);
    const broken = data.array([0, 1]).map((index) => {
      if (index === 1) throw new Error('cannot decode record 2');
      return batchOf(0, 4);
    }).prefetch(2);
    await expect(model.evaluate(broken, { verbose: 0 })).rejects.toThrow('cannot decode record 2');
    // The model is fine afterwards.
    expect(Number.isFinite((await model.evaluate(data.array([batchOf(0, 4)]), { verbose: 0 })) as number)).toBe(true);
  });

  test('what fit cannot use from an iterable is named', async () => {
    const model = linearModel();
    function* batches() {
      yield batchOf(0, 4);
    }
    await expect(model.fit(batches(), { epochs: 1, verbose: 0 })).rejects.toThrow(
      'fit: expected stepsPerEpoch when x is an iterable of unknown or infinite length (a generator, a repeated Dataset) but received undefined',
    );
    await expect(model.fit(data.array([batchOf(0, 4)]).repeat(), { verbose: 0 })).rejects.toThrow(/fit: expected stepsPerEpoch/);
    function* weighted() {
      yield [...batchOf(0, 4), new Float32Array(4)];
    }
    await expect(model.fit(weighted(), { stepsPerEpoch: 1, verbose: 0 })).rejects.toThrow(
      'fit: x yielded [x, y, sampleWeight]; sample weights from iterables are not supported: yield [x, y] or {xs, ys}',
    );
    function* inputsOnly() {
      yield { xs: batchOf(0, 4)[0] };
    }
    await expect(model.fit(inputsOnly(), { stepsPerEpoch: 1, verbose: 0 })).rejects.toThrow(/fit: expected x to yield targets with each batch/);
    function* numbers() {
      yield 3;
    }
    await expect(model.fit(numbers(), { stepsPerEpoch: 1, verbose: 0 })).rejects.toThrow('fit: expected x to yield [x, y] or {xs, ys} batches but received 3');
    await expect(model.fit(batches(), { stepsPerEpoch: 0, verbose: 0 })).rejects.toThrow('fit: expected stepsPerEpoch to be a positive integer but received 0');
    await expect(model.fit(data.array([batchOf(0, 4)]), { validationSplit: 0.5, verbose: 0 })).rejects.toThrow(/validationSplit works on tensors only/);
    await expect(model.predict(data.array([]))).rejects.toThrow('predict: expected x to yield at least one batch but received an empty iterable');
    await expect(model.predict((function* () {})())).rejects.toThrow('predict: expected x to yield at least one batch but received none');
    await expect(model.fit(data.array([]), { verbose: 0 })).rejects.toThrow('fit: expected training data with at least one sample but received 0');
    await expect(model.evaluate(data.array([batchOf(0, 4)]).repeat(), { verbose: 0 })).rejects.toThrow(
      'evaluate: expected steps when x is an infinite iterable (a repeated Dataset) but received undefined',
    );
  });
});
