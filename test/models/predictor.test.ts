/**
 * Dynamic batching: concurrent calls joined into one native predict, each caller getting exactly the rows
 * a plain predict of its own input gives.
 */
import { Conv2D, Dense, Flatten, Input, MaxPooling2D, Model, Predictor, Sequential, setSeed, SymbolicTensor, tensor, Tensor } from '../../lib';

function seedLikeCnn(): Sequential {
  const model = new Sequential();
  model.add(new Conv2D(4, 3, { inputShape: [8, 8, 3], activation: 'relu' }));
  model.add(new MaxPooling2D({ poolSize: 2 }));
  model.add(new Flatten());
  model.add(new Dense(3, { activation: 'softmax' }));
  return model;
}

function images(rows: number, seed: number): Tensor {
  return tensor(Float32Array.from({ length: rows * 8 * 8 * 3 }, (_, i) => Math.sin(seed * 7.1 + i * 0.13)), [rows, 8, 8, 3]);
}

function expectClose(actual: Tensor, expected: Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync() as Float32Array;
  const b = expected.dataSync() as Float32Array;
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-6);
}

setSeed(5);
const model = seedLikeCnn();

describe('Predictor', () => {
  test('concurrent callers with different row counts get the rows a plain predict gives, from fewer native predicts', async () => {
    const rowCounts = [1, 3, 2, 5, 1, 4];
    const inputs = rowCounts.map((rows, i) => images(rows, i));
    const expected = await Promise.all(inputs.map((x) => model.predict(x)));
    const predictor = new Predictor(model, { maxBatchSize: 32, maxDelayMs: 20 });
    const results = await Promise.all(inputs.map((x) => predictor.predict(x)));
    results.forEach((result, i) => expectClose(result as Tensor, expected[i]));
    expect(predictor.stats).toEqual({ calls: 6, batches: 1, rows: 16, largestBatch: 16, waiting: 0 });
    // Arrays work as predict's do.
    expectClose((await predictor.predict(inputs[0].arraySync() as number[][][][])) as Tensor, expected[0]);
  });

  test('a bad call is refused alone; the others get their rows', async () => {
    const predictor = new Predictor(model, { maxDelayMs: 10 });
    const good = [images(2, 1), images(1, 2)];
    const expected = await Promise.all(good.map((x) => model.predict(x)));
    const wrongShape = tensor(new Float32Array(7 * 7 * 3), [1, 7, 7, 3]);
    const disposed = images(1, 3);
    const calls = [predictor.predict(good[0]), predictor.predict(wrongShape), predictor.predict(disposed), predictor.predict(good[1])];
    disposed.dispose(); // after it was accepted, before its batch runs
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason.message).toMatch(/Predictor\.predict: .*\[\*, 8, 8, 3\].*\[1, 7, 7, 3\]/);
    expect((settled[2] as PromiseRejectedResult).reason.message).toMatch(/disposed/);
    expectClose((settled[0] as PromiseFulfilledResult<Tensor>).value, expected[0]);
    expectClose((settled[3] as PromiseFulfilledResult<Tensor>).value, expected[1]);
    expect(predictor.stats.calls).toBe(3); // the wrong shape never joined
  });

  test('maxBatchSize bounds every native predict, and a call larger than it still works', async () => {
    const predictor = new Predictor(model, { maxBatchSize: 4, maxDelayMs: 5 });
    const singles = Array.from({ length: 10 }, (_, i) => images(1, 10 + i));
    const expected = await Promise.all(singles.map((x) => model.predict(x)));
    const results = await Promise.all(singles.map((x) => predictor.predict(x)));
    results.forEach((result, i) => expectClose(result as Tensor, expected[i]));
    expect(predictor.stats.largestBatch).toBe(4);
    expect(predictor.stats.batches).toBe(3);

    const large = images(10, 99);
    expectClose((await predictor.predict(large)) as Tensor, await model.predict(large));
    expect(predictor.stats.largestBatch).toBe(4);
    expect(predictor.stats.batches).toBe(6);
  });

  test('close() runs the waiting calls, then refuses new ones with a clear error', async () => {
    const predictor = new Predictor(model, { maxDelayMs: 1000 });
    const x = images(2, 4);
    const pending = predictor.predict(x);
    await predictor.close(); // long before the window ends
    expectClose((await pending) as Tensor, await model.predict(x));
    expect(predictor.isClosed).toBe(true);
    await expect(predictor.predict(x)).rejects.toThrow(/Predictor\.predict: the predictor of model '.+' was closed; make a new Predictor/);
    await expect(predictor.close()).resolves.toBeUndefined();
  });

  test('a model disposed while calls wait rejects them with its error', async () => {
    const own = seedLikeCnn();
    await own.predict(images(1, 0));
    const predictor = new Predictor(own, { maxDelayMs: 10 });
    const calls = [predictor.predict(images(1, 1)), predictor.predict(images(2, 2))];
    own.dispose();
    for (const result of await Promise.allSettled(calls)) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason.message).toMatch(/was disposed/);
    }
    await expect(predictor.predict(images(1, 3))).rejects.toThrow(/Predictor\.predict: model '.+' was disposed/);
  });

  test('several outputs come back in the form predict gives them; model.predictBatched batches too', async () => {
    const input = Input({ shape: [4] });
    const first = new Dense(2).apply(input) as SymbolicTensor;
    const second = new Dense(3, { activation: 'sigmoid' }).apply(input) as SymbolicTensor;
    const twoHeads = new Model({ inputs: input, outputs: [first, second] });
    const xs = [1, 3].map((rows, k) => tensor(Float32Array.from({ length: rows * 4 }, (_, i) => i - k), [rows, 4]));
    const expected = await Promise.all(xs.map((x) => twoHeads.predict(x)));
    const results = await Promise.all(xs.map((x) => twoHeads.predictBatched(x)));
    results.forEach((result, i) => {
      expect(result).toHaveLength(2);
      expectClose(result[0], expected[i][0]);
      expectClose(result[1], expected[i][1]);
    });
  });

  test('bad options are refused', () => {
    expect(() => new Predictor(model, { maxBatchSize: 0 })).toThrow(/Predictor: expected maxBatchSize to be a positive integer/);
    expect(() => new Predictor(model, { maxDelayMs: -1 })).toThrow(/Predictor: expected maxDelayMs to be a number of milliseconds >= 0 but received -1/);
    expect(() => new Predictor(model, { batchSize: 3 } as never)).toThrow(/batchSize/);
    expect(() => new Predictor({} as never)).toThrow(/Predictor: expected a Model/);
  });
});
