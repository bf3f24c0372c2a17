import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Callback, Conv2D, Dense, Dropout, Flatten, ImageDataGenerator, InputLayer, Logs, MaxPooling2D, Sequential, setSeed, SGD, Tensor, tensor } from '../../lib';
import { expectClose, seededRandom, values } from '../helpers';

/** A linearly separable binary task on 4 features. */
function binaryData(count: number, seed: number): [Tensor, Tensor] {
  const next = seededRandom(seed);
  const x = new Float32Array(count * 4);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < 4; j++) x[i * 4 + j] = next() * 2 - 1;
    y[i] = x[i * 4] + 0.5 * x[i * 4 + 1] > 0 ? 1 : 0;
  }
  return [tensor(x, [count, 4]), tensor(y, [count, 1])];
}

function binaryModel(): Sequential {
  const model = new Sequential([new InputLayer({ inputShape: [4] }), new Dense(8, { activation: 'relu' }), new Dense(1, { activation: 'sigmoid' })]);
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  return model;
}

describe('fit', () => {
  test('returns a History with Keras keys, with validationSplit', async () => {
    const [x, y] = binaryData(50, 1);
    const history = await binaryModel().fit(x, y, { epochs: 3, batchSize: 16, validationSplit: 0.2, verbose: 0 });
    expect(Object.keys(history.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    expect(history.epoch).toEqual([0, 1, 2]);
    for (const key of Object.keys(history.history)) {
      expect(history.history[key]).toHaveLength(3);
      expect(history.history[key].length).toBeGreaterThan(0);
      history.history[key].forEach((v) => expect(Number.isFinite(v)).toBe(true));
    }
    expect(history.history.accuracy.length).toBeGreaterThan(0);
    history.history.accuracy.forEach((a) => expect(a >= 0 && a <= 1).toBe(true));
  });

  test('validationData is evaluated after each epoch with the final weights of that epoch', async () => {
    const [x, y] = binaryData(40, 2);
    const [vx, vy] = binaryData(20, 3);
    const model = binaryModel();
    const history = await model.fit(x, y, { epochs: 2, batchSize: 8, validationData: [vx, vy], verbose: 0 });
    expect(Object.keys(history.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    const [loss, accuracy] = (await model.evaluate(vx, vy, { verbose: 0 })) as number[];
    expect(history.history.val_loss[1]).toBeCloseTo(loss, 5);
    expect(history.history.val_accuracy[1]).toBeCloseTo(accuracy, 5);
  });

  test('without metrics the History has loss only', async () => {
    const [x, y] = binaryData(20, 4);
    const model = new Sequential([new InputLayer({ inputShape: [4] }), new Dense(1)]);
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    const history = await model.fit(x, y, { epochs: 2, verbose: 0 });
    expect(Object.keys(history.history)).toEqual(['loss']);
  });

  test('the epoch loss is the sample-weighted mean of the batch losses (learning rate 0)', async () => {
    const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1, { useBias: false })]);
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'mse' });
    model.setWeights([[[1]]]);
    // errors 1, 2, 3, 4, 5 -> mse 11 whatever the batching.
    const history = await model.fit(tensor([[1], [2], [3], [4], [5]]), tensor([[0], [0], [0], [0], [0]]), { batchSize: 2, epochs: 1, verbose: 0, shuffle: false });
    expect(history.history.loss[0]).toBeCloseTo(11, 5);
  });

  test('verbose 0 prints nothing; verbose 2 prints one line per epoch', async () => {
    const [x, y] = binaryData(20, 5);
    const model = binaryModel();
    const writes: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      writes.push(args.join(' '));
    });
    try {
      await model.fit(x, y, { epochs: 2, verbose: 0 });
      await model.evaluate(x, y, { verbose: 0 });
      expect(writes).toEqual([]);
      await model.fit(x, y, { epochs: 2, verbose: 2 });
    } finally {
      stdout.mockRestore();
      log.mockRestore();
    }
    const text = writes.join('');
    expect(text).toMatch(/Epoch 1\/2/);
    expect(text).toMatch(/Epoch 2\/2/);
    expect(text).toMatch(/loss: \d+\.\d{4}/);
    expect(text).toMatch(/accuracy: \d\.\d{4}/);
  });

  test('callback hooks are called in order, and async hooks are awaited', async () => {
    const [x, y] = binaryData(8, 6);
    const events: string[] = [];
    const recorder = {
      onTrainBegin: () => void events.push('trainBegin'),
      onEpochBegin: (epoch: number) => void events.push(`epochBegin ${epoch}`),
      onBatchBegin: (batch: number) => void events.push(`batchBegin ${batch}`),
      onBatchEnd: (batch: number, logs?: Logs) => void events.push(`batchEnd ${batch} ${typeof logs?.loss}`),
      onEpochEnd: async (epoch: number, logs?: Logs) => {
        events.push(`epochEnd ${epoch} ${Object.keys(logs ?? {}).sort().join(',')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        events.push(`epochEnd done ${epoch}`);
      },
      onTrainEnd: () => void events.push('trainEnd'),
    };
    await binaryModel().fit(x, y, { epochs: 2, batchSize: 4, callbacks: [recorder], verbose: 0 });
    expect(events).toEqual([
      'trainBegin',
      'epochBegin 0',
      'batchBegin 0',
      'batchEnd 0 number',
      'batchBegin 1',
      'batchEnd 1 number',
      'epochEnd 0 accuracy,loss',
      'epochEnd done 0',
      'epochBegin 1',
      'batchBegin 0',
      'batchEnd 0 number',
      'batchBegin 1',
      'batchEnd 1 number',
      'epochEnd 1 accuracy,loss',
      'epochEnd done 1',
      'trainEnd',
    ]);
  });

  test('a Callback subclass gets the model and the params', async () => {
    const [x, y] = binaryData(10, 7);
    class Probe extends Callback {
      seen?: { epochs: number; steps: number; metrics: string[]; hasModel: boolean };
      onTrainBegin(): void {
        this.seen = { epochs: this.params!.epochs, steps: this.params!.steps, metrics: this.params!.metrics, hasModel: this.model !== undefined };
      }
    }
    const probe = new Probe();
    await binaryModel().fit(x, y, { epochs: 3, batchSize: 4, validationSplit: 0.2, callbacks: [probe], verbose: 0 });
    expect(probe.seen).toEqual({ epochs: 3, steps: 2, metrics: ['loss', 'accuracy', 'val_loss', 'val_accuracy'], hasModel: true });
  });

  test('model.stopTraining set by a callback stops after that epoch', async () => {
    const [x, y] = binaryData(8, 8);
    const model = binaryModel();
    const history = await model.fit(x, y, {
      epochs: 10,
      verbose: 0,
      callbacks: [{ onEpochEnd: (epoch: number) => { if (epoch === 1) model.stopTraining = true; } }],
    });
    expect(history.epoch).toEqual([0, 1]);
    expect(history.history.loss).toHaveLength(2);
  });

  test('an abort during validation stops it at the next batch, and the epoch does not end', async () => {
    const [x, y] = binaryData(16, 9);
    const model = binaryModel();
    const controller = new AbortController();
    const [vx, vy] = binaryData(40, 10);
    let fetched = 0;
    // Validation batches of 4 from an iterator that aborts when its second batch is fetched.
    const validation = {
      length: 10,
      samples: 40,
      async get(i: number) {
        fetched += 1;
        if (i === 1) controller.abort();
        return [new Tensor(vx.native.narrow(i * 4, 4)), new Tensor(vy.native.narrow(i * 4, 4))] as [Tensor, Tensor];
      },
    };
    const ended: number[] = [];
    const fit = model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, signal: controller.signal, validationData: validation, callbacks: [{ onEpochEnd: (epoch) => { ended.push(epoch); } }] });
    await expect(fit).rejects.toMatchObject({ name: 'AbortError' });
    expect(fetched).toBeLessThanOrEqual(3); // the batch being fetched ahead, at most
    expect(ended).toEqual([]);
  });

  test('an AbortSignal stops fit with an AbortError', async () => {
    const [x, y] = binaryData(40, 9);
    const model = binaryModel();
    const controller = new AbortController();
    let batches = 0;
    const fit = model.fit(x, y, {
      epochs: 5,
      batchSize: 4,
      verbose: 0,
      signal: controller.signal,
      callbacks: [{ onBatchEnd: () => { batches += 1; if (batches === 3) controller.abort(); } }],
    });
    await expect(fit).rejects.toMatchObject({ name: 'AbortError' });
    expect(batches).toBe(3);
    // The model is usable again afterwards.
    const history = await model.fit(x, y, { epochs: 1, verbose: 0 });
    expect(history.history.loss).toHaveLength(1);
  });

  test('a second fit while one runs is rejected', async () => {
    const [x, y] = binaryData(64, 10);
    const model = binaryModel();
    const first = model.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0 });
    await expect(model.fit(x, y, { epochs: 1, verbose: 0 })).rejects.toThrow(/fit: another fit\(\) call is ongoing on this model; await it first/);
    await expect(model.trainOnBatch(x, y)).rejects.toThrow(/trainOnBatch: a fit\(\) call is ongoing on this model/);
    expect(() => model.add(new Dense(1))).toThrow(/Sequential\.add: the model is training; wait for fit to finish/);
    // compile() would swap the optimizer and metrics under the running fit.
    expect(() => model.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['mae'] })).toThrow(/compile: the model is training; wait for fit to finish/);
    const history = await first;
    expect(history.history.loss).toHaveLength(3);
    expect(Object.keys(history.history).sort()).toEqual(['accuracy', 'loss']);
  });

  test('predict during fit waits its turn and returns correct results', async () => {
    const [x, y] = binaryData(64, 11);
    const model = new Sequential([new InputLayer({ inputShape: [4] }), new Dense(1, { activation: 'sigmoid', useBias: false })]);
    // Learning rate 0: the weights stay put, so the right answer during fit is known.
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'binary_crossentropy' });
    model.setWeights([[[1], [2], [-1], [0.5]]]);
    const probe = tensor([[1, 0, 0, 0], [0, 1, 1, 0]]);
    const expected = [1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(-1))];
    const fit = model.fit(x, y, { epochs: 3, batchSize: 2, verbose: 0 });
    const predictions = await Promise.all([model.predict(probe), model.predict(probe), model.predictOnBatch(probe)]);
    await fit;
    for (const p of predictions) expectClose(values(p), expected, 1e-6);
  });

  test('the event loop turns during every training step of a fit', async () => {
    // Counted, not timed: each batch's step is in flight from onBatchBegin to onBatchEnd, and turns of the
    // loop (setImmediates) are counted for the batch in flight; a step that held the loop would let through
    // none but those the fit's own waits allow. The steps (a convolution over 16 images of 32x32) outlast
    // a few turns.
    const model = new Sequential([new InputLayer({ inputShape: [32, 32, 3] }), new Conv2D(16, 3, { activation: 'relu' }), new Flatten(), new Dense(1, { activation: 'sigmoid' })]);
    model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
    const x = tensor(Float32Array.from({ length: 64 * 32 * 32 * 3 }, (_, i) => Math.sin(i)), [64, 32, 32, 3]);
    const y = tensor(Float32Array.from({ length: 64 }, (_, i) => i % 2), [64, 1]);
    // For each batch, a chain of up to 3 setImmediates (each queued by the last) from its onBatchBegin,
    // counted while that batch's step is in flight.
    const turnsPerBatch: number[] = [];
    let inFlight: number | null = null;
    const turn = (batch: number) => {
      if (inFlight !== batch || turnsPerBatch[batch] === 3) return;
      turnsPerBatch[batch] += 1;
      setImmediate(turn, batch);
    };
    await model.fit(x, y, {
      epochs: 1,
      batchSize: 16,
      verbose: 0,
      callbacks: [{
        onBatchBegin: (batch: number) => {
          turnsPerBatch[batch] = 0;
          inFlight = batch;
          setImmediate(turn, batch);
        },
        onBatchEnd: () => {
          inFlight = null;
        },
      }],
    });
    expect(turnsPerBatch).toHaveLength(4);
    expect(turnsPerBatch).toEqual([3, 3, 3, 3]);
  });

  test('setSeed gives identical initial weights and identical loss curves', async () => {
    const [x, y] = binaryData(48, 13);
    const run = async (): Promise<{ weights: number[][]; losses: number[] }> => {
      setSeed(2024);
      const model = binaryModel();
      const weights = model.getWeights().map(values);
      const history = await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, shuffle: true });
      return { weights, losses: history.history.loss };
    };
    const a = await run();
    const b = await run();
    expect(b.weights).toEqual(a.weights);
    expect(b.losses).toEqual(a.losses);
    setSeed(2025);
    const c = binaryModel().getWeights().map(values);
    expect(c[0]).not.toEqual(a.weights[0]);
  });
});

describe('training converges on synthetic image tasks', () => {
  /** Images of `size` x `size` x 1 with a bright bar whose position encodes the class, plus noise. */
  function images(classes: number, count: number, size: number, seed: number): { x: Tensor; labels: number[] } {
    const next = seededRandom(seed);
    const data = new Float32Array(count * size * size);
    const labels: number[] = [];
    for (let n = 0; n < count; n++) {
      const label = n % classes;
      labels.push(label);
      for (let i = 0; i < size; i++)
        for (let j = 0; j < size; j++) {
          // class 0: horizontal bar at the top, 1: vertical bar at the left, 2: bottom bar, 3: right bar
          const on =
            (label === 0 && i < 3) || (label === 1 && j < 3) || (label === 2 && i >= size - 3) || (label === 3 && j >= size - 3);
          data[(n * size + i) * size + j] = (on ? 0.8 : 0.1) + 0.3 * (next() - 0.5);
        }
    }
    return { x: tensor(data, [count, size, size, 1]), labels };
  }

  function cnn(outputs: Dense): Sequential {
    return new Sequential([
      new Conv2D(4, 3, { inputShape: [12, 12, 1], activation: 'relu' }),
      new MaxPooling2D(),
      new Flatten(),
      new Dense(16, { activation: 'relu' }),
      outputs,
    ]);
  }

  test('binary (sigmoid, binary_crossentropy)', async () => {
    setSeed(1);
    const train = images(2, 160, 12, 21);
    const test = images(2, 60, 12, 22);
    const model = cnn(new Dense(1, { activation: 'sigmoid' }));
    model.compile({ optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }), loss: 'binary_crossentropy', metrics: ['accuracy'] });
    const history = await model.fit(train.x, tensor(train.labels.map((l) => [l])), { epochs: 6, batchSize: 16, verbose: 0 });
    expect(history.history.loss[5]).toBeLessThan(history.history.loss[0]);
    const [, accuracy] = (await model.evaluate(test.x, tensor(test.labels.map((l) => [l])), { verbose: 0 })) as number[];
    expect(accuracy).toBeGreaterThan(0.9);
    // predict agrees with the labels through the probabilities.
    const p = values(await model.predict(test.x));
    const correct = p.filter((v, i) => (v > 0.5 ? 1 : 0) === test.labels[i]).length;
    expect(correct / p.length).toBeCloseTo(accuracy, 5);
  });

  test('multi-class (softmax, categorical and sparse categorical crossentropy)', async () => {
    setSeed(2);
    const train = images(4, 200, 12, 23);
    const test = images(4, 80, 12, 24);
    const oneHot = (labels: number[]): Tensor => tensor(labels.map((l) => [0, 1, 2, 3].map((k) => (k === l ? 1 : 0))));
    const categorical = cnn(new Dense(4, { activation: 'softmax' }));
    categorical.compile({ optimizer: 'adam', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
    categorical.optimizer!.learningRate = 0.01;
    await categorical.fit(train.x, oneHot(train.labels), { epochs: 6, batchSize: 16, verbose: 0 });
    const [, accuracy] = (await categorical.evaluate(test.x, oneHot(test.labels), { verbose: 0 })) as number[];
    expect(accuracy).toBeGreaterThan(0.9);

    const sparse = cnn(new Dense(4, { activation: 'softmax' }));
    sparse.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    sparse.optimizer!.learningRate = 0.01;
    await sparse.fit(train.x, tensor(new Int32Array(train.labels)), { epochs: 6, batchSize: 16, verbose: 0 });
    const [, sparseAccuracy] = (await sparse.evaluate(test.x, tensor(new Int32Array(test.labels)), { verbose: 0 })) as number[];
    expect(sparseAccuracy).toBeGreaterThan(0.9);
  });
});

describe('random streams do not depend on what else runs', () => {
  // Each fit shuffles every epoch; the shuffles must come from the fit's own stream, not from whichever
  // model reaches the end of an epoch first; Dropout's masks from the layer's own stream.
  test('a seeded model trains to the same weights alone and while another model trains at the same time', async () => {
    const [x, y] = binaryData(48, 21);
    setSeed(11);
    const alone = binaryModel();
    await alone.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
    setSeed(11);
    const again = binaryModel();
    const other = binaryModel();
    await Promise.all([
      again.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 }),
      other.fit(x, y, { epochs: 5, batchSize: 4, verbose: 0 }),
    ]);
    const expected = alone.getWeights().map(values);
    expect(again.getWeights().map(values)).toHaveLength(expected.length);
    again.getWeights().map(values).forEach((weight, i) => expect(weight).toEqual(expected[i]));
  });

  test("Dropout masks come from each layer's own stream: the same weights alone and beside a flowFromDirectory model", async () => {
    const [x, y] = binaryData(48, 22);
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-streams-'));
    try {
      for (const label of ['a', 'b']) {
        fs.mkdirSync(path.join(tree, label));
        for (let i = 0; i < 6; i++) {
          await sharp({ create: { width: 10, height: 10, channels: 3, background: { r: 30 * i, g: label === 'a' ? 20 : 220, b: 90 } } }).png().toFile(path.join(tree, label, `${i}.png`));
        }
      }
      const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      const run = async (beside: boolean): Promise<number[][]> => {
        setSeed(7);
        const model = new Sequential([new InputLayer({ inputShape: [4] }), new Dense(16, { activation: 'relu' }), new Dropout(0.5), new Dense(1, { activation: 'sigmoid' })]);
        model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
        const images = new Sequential([new InputLayer({ inputShape: [8, 8, 3] }), new Flatten(), new Dropout(0.3), new Dense(1, { activation: 'sigmoid' })]);
        images.compile({ optimizer: 'sgd', loss: 'binary_crossentropy' });
        const flow = new ImageDataGenerator({ rescale: 1 / 255, rotationRange: 20, horizontalFlip: true }).flowFromDirectory(tree, { targetSize: [8, 8], batchSize: 3, classMode: 'binary' });
        const fits: Promise<unknown>[] = [model.fit(x, y, { epochs: 4, batchSize: 6, verbose: 0 })];
        if (beside) fits.push(images.fit(flow, { epochs: 3, verbose: 0 }));
        await Promise.all(fits);
        return model.getWeights().map(values);
      };
      const alone = await run(false);
      // Steps of the two models interleave on the compute thread differently from run to run.
      for (let i = 0; i < 3; i++) expect(await run(true)).toEqual(alone);
      log.mockRestore();
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  });

  test('Dropout({ seed }) fixes the masks whatever setSeed says, and is kept in the config', async () => {
    // The Dense sums what Dropout keeps (2 for each kept 1): each training step's loss measures its masks.
    const masks = async (globalSeed: number, seed?: number): Promise<number[]> => {
      setSeed(globalSeed);
      const model = new Sequential([new InputLayer({ inputShape: [64] }), new Dropout({ rate: 0.5, seed }), new Dense(1, { kernelInitializer: 'ones', useBias: false })]);
      model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'mse' });
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        losses.push((await model.trainOnBatch(tensor(new Float32Array(8 * 64).fill(1), [8, 64]), tensor(new Float32Array(8), [8, 1]))) as number);
      }
      return losses;
    };
    expect(await masks(1, 1234)).toEqual(await masks(2, 1234));
    expect(await masks(1)).not.toEqual(await masks(2));
    expect(await masks(1)).toEqual(await masks(1));
    expect(new Dropout({ rate: 0.5, seed: 1234 }).getConfig()).toMatchObject({ rate: 0.5, seed: 1234 });
    expect(new Dropout(0.5).getConfig()).toMatchObject({ seed: null });
  });
});
