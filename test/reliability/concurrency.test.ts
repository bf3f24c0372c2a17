/**
 * Concurrency, cancellation and divergence. Calls on one model are queued (predict or evaluate during fit
 * run between two training steps); separate models train side by side; an HTTP server answers many
 * concurrent predictions correctly without starving the event loop; an aborted fit leaves a usable,
 * savable model; a NaN loss is reported with its epoch and batch.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Conv2D, Dense, Flatten, loadModel, Sequential, SGD, Tensor, tensor, TerminateOnNaN } from '../../lib';
import { expectClose, loopTurnsWhile, seededRandom, values } from '../helpers';

function data(samples: number, features: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: samples * features }, () => random() * 2 - 1);
}

function mlp(seed: number, learningRate = 0.05): Sequential {
  const model = new Sequential([new Dense(16, { inputShape: [8], activation: 'tanh' }), new Dense(4, { activation: 'softmax' })]);
  model.compile({ optimizer: new SGD({ learningRate }), loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  // Deterministic weights, independent of the global seed and of other tests.
  const random = seededRandom(seed);
  model.setWeights(model.getWeights().map((w) => tensor(Float32Array.from({ length: w.size }, () => random() - 0.5), [...w.shape])));
  return model;
}

function oneHot(samples: number, seed: number): Tensor {
  const random = seededRandom(seed);
  const labels = new Float32Array(samples * 4);
  for (let i = 0; i < samples; i++) labels[i * 4 + Math.floor(random() * 4)] = 1;
  return tensor(labels, [samples, 4]);
}

const X = tensor(data(256, 8, 1), [256, 8]);
const Y = oneHot(256, 2);

describe('predict and evaluate during fit', () => {
  test('are queued between steps and return exactly what the weights give', async () => {
    // A learning rate of 0 keeps the weights fixed, so every prediction during fit has one right answer.
    const model = mlp(3, 0);
    const probe = tensor(data(5, 8, 9), [5, 8]);
    const expected = values(await model.predict(probe));
    const expectedLoss = (await model.evaluate(X, Y, { verbose: 0 })) as number[];
    const events: string[] = [];
    const fitting = model.fit(X, Y, {
      epochs: 3, batchSize: 8, verbose: 0, shuffle: true,
      callbacks: [{ onBatchEnd: (batch: number) => void events.push(`batch ${batch}`) }],
    });
    const during: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      during.push(model.predict(probe).then((p) => { events.push('predict'); expectClose(values(p), expected, 1e-6); }));
      during.push(model.evaluate(X, Y, { verbose: 0 }).then((e) => { events.push('evaluate'); expectClose(e as number[], expectedLoss, 1e-5); }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(during);
    const history = await fitting;
    expect(history.history.loss).toHaveLength(3);
    // The queued calls ran while fit was still running (interleaved with its batches), not after it.
    const lastBatch = events.lastIndexOf(events.filter((e) => e.startsWith('batch')).pop()!);
    expect(events.indexOf('predict')).toBeLessThan(lastBatch);
    expect(events.filter((e) => e === 'predict')).toHaveLength(20);
  });

  test('an input disposed as soon as predict returns still gives what the weights give, run at once or queued', async () => {
    const model = mlp(5);
    // Keras's Dense formulas on the model's own weights: tanh(x W1 + b1), then softmax(h W2 + b2).
    const [w1, b1, w2, b2] = model.getWeights().map(values);
    const dense = (x: number[], w: number[], b: number[], units: number) =>
      Array.from({ length: units }, (_, j) => b[j] + x.reduce((sum, xi, i) => sum + xi * w[i * units + j], 0));
    const expectedRows = (flat: Float32Array) =>
      Array.from({ length: flat.length / 8 }, (_, r) => {
        const hidden = dense(Array.from(flat.subarray(r * 8, r * 8 + 8)), w1, b1, 16).map(Math.tanh);
        const logits = dense(hidden, w2, b2, 4);
        const exps = logits.map((v) => Math.exp(v - Math.max(...logits)));
        return exps.map((e) => e / exps.reduce((a, b) => a + b, 0));
      }).flat();
    // Nothing queued: the native call starts inside predict().
    const aloneData = data(3, 8, 21);
    const alone = tensor(aloneData, [3, 8]);
    const aloneCall = model.predict(alone);
    alone.dispose();
    expectClose(values(await aloneCall), expectedRows(aloneData), 1e-5);
    // Queued behind an evaluate: the call waits its turn after the caller disposed its input.
    const queuedData = data(4, 8, 22);
    const queued = tensor(queuedData, [4, 8]);
    const evaluating = model.evaluate(X, Y, { verbose: 0 });
    const queuedCall = model.predict(queued);
    queued.dispose();
    expectClose(values(await queuedCall), expectedRows(queuedData), 1e-5);
    await evaluating;
  });

  test('a second fit on the same model rejects at once; the first completes', async () => {
    const model = mlp(4);
    const first = model.fit(X, Y, { epochs: 2, batchSize: 32, verbose: 0 });
    await expect(model.fit(X, Y, { verbose: 0 })).rejects.toThrow(/fit: another fit\(\) call is ongoing on this model; await it first/);
    await expect(model.trainOnBatch(X, Y)).rejects.toThrow(/trainOnBatch: a fit\(\) call is ongoing/);
    expect((await first).history.loss).toHaveLength(2);
  });
});

describe('two models training at once', () => {
  test('reach the same weights as when each trains alone', async () => {
    const options = { epochs: 3, batchSize: 16, verbose: 0 as const, shuffle: false };
    const aloneA = mlp(10);
    await aloneA.fit(X, Y, options);
    const aloneB = mlp(11);
    await aloneB.fit(X, Y, options);

    const [a, b] = [mlp(10), mlp(11)];
    const [historyA, historyB] = await Promise.all([a.fit(X, Y, options), b.fit(X, Y, options)]);
    expect(historyA.history.loss).toHaveLength(3);
    expect(historyB.history.loss).toHaveLength(3);
    expect(a.getWeights()).toHaveLength(aloneA.getWeights().length);
    a.getWeights().forEach((w, i) => expectClose(values(w), values(aloneA.getWeights()[i]), 1e-5));
    expect(b.getWeights()).toHaveLength(aloneB.getWeights().length);
    b.getWeights().forEach((w, i) => expectClose(values(w), values(aloneB.getWeights()[i]), 1e-5));
  });
});

describe('an HTTP server serving predictions', () => {
  test('answers 200 concurrent requests correctly', async () => {
    const model = mlp(20);
    const requests = 200;
    const inputs = data(requests, 8, 21);
    const reference = values(await model.predict(tensor(inputs, [requests, 8])));

    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const features = JSON.parse(Buffer.concat(chunks).toString('utf8')) as number[];
        model.predict(tensor([features])).then(
          (output) => { response.setHeader('content-type', 'application/json'); response.end(JSON.stringify(values(output))); },
          (error: Error) => { response.statusCode = 400; response.end(error.message); },
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

    try {
      const answers = await Promise.all(
        Array.from({ length: requests }, (_, i) =>
          new Promise<{ status: number; body: string }>((resolve, reject) => {
            const body = JSON.stringify(Array.from(inputs.subarray(i * 8, i * 8 + 8)));
            const request = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/predict', agent }, (response) => {
              const parts: Buffer[] = [];
              response.on('data', (chunk: Buffer) => parts.push(chunk));
              response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
            });
            request.on('error', reject);
            request.end(body);
          }),
        ),
      );
      answers.forEach((answer, i) => {
        expect(answer.status).toBe(200);
        expectClose(JSON.parse(answer.body) as number[], reference.slice(i * 4, i * 4 + 4), 1e-5);
      });
    } finally {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('the event loop turns while a predict computes', async () => {
    // The event-loop delay itself is a measurement (bench row e1); here only the order: a predict of
    // hundreds of milliseconds against one turn of the loop, which runs before it resolves unless the
    // predict held the loop.
    const model = new Sequential([new Conv2D(32, 3, { inputShape: [64, 64, 3], activation: 'relu' }), new Conv2D(32, 3), new Flatten(), new Dense(1)]);
    const inputs = tensor(new Float32Array(64 * 64 * 64 * 3).fill(0.5), [64, 64, 64, 3]);
    await model.predict(inputs);
    const order: string[] = [];
    const prediction = model.predict(inputs).then(() => order.push('predict'));
    setImmediate(() => order.push('turn'));
    await prediction;
    expect(order).toEqual(['turn', 'predict']);
  });

  test('the event loop keeps turning while a training step computes', async () => {
    // Counted, not timed: a step that held the loop would let no turn through before it resolved (every
    // turn below is a setImmediate, which waits for the loop); one off the loop lets them all through.
    const model = new Sequential([new Conv2D(32, 3, { inputShape: [64, 64, 3], activation: 'relu' }), new Conv2D(32, 3), new Flatten(), new Dense(1)]);
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    const x = tensor(new Float32Array(32 * 64 * 64 * 3).fill(0.5), [32, 64, 64, 3]);
    const y = tensor(new Float32Array(32).fill(1), [32, 1]);
    await model.trainOnBatch(x, y);
    // Up to 10 turns, counted only while the step is pending.
    expect((await loopTurnsWhile(() => model.trainOnBatch(x, y))).turns).toBe(10);
  });
});

describe('cancellation', () => {
  test('an AbortSignal aborted mid-epoch rejects with an AbortError; the model still predicts and saves', async () => {
    const model = mlp(30);
    const controller = new AbortController();
    let batches = 0;
    const fitting = model.fit(X, Y, {
      epochs: 5, batchSize: 8, verbose: 0, signal: controller.signal,
      callbacks: [{ onBatchEnd: (batch: number) => { batches += 1; if (batch === 3) controller.abort(); } }],
    });
    const error = await fitting.then(() => undefined, (e: Error) => e);
    expect(error?.name).toBe('AbortError');
    // It stopped after the batch during which it was aborted, in the first epoch of 32 batches.
    expect(batches).toBe(4);

    const probe = tensor(data(3, 8, 31), [3, 8]);
    const prediction = values(await model.predict(probe));
    expect(prediction.every(Number.isFinite)).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-abort-'));
    try {
      const file = path.join(dir, 'aborted.safetensors');
      await model.save(file);
      const restored = await loadModel(file);
      expectClose(values(await restored.predict(probe)), prediction, 1e-6);
      // And it trains again.
      expect((await model.fit(X, Y, { epochs: 1, verbose: 0 })).history.loss).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a signal aborted before fit starts trains nothing', async () => {
    const model = mlp(32);
    const before = values(model.getWeights()[0]);
    const error = await model.fit(X, Y, { verbose: 0, signal: AbortSignal.abort() }).then(() => undefined, (e: Error) => e);
    expect(error?.name).toBe('AbortError');
    expect(values(model.getWeights()[0])).toEqual(before);
  });
});

describe('divergence', () => {
  // Sample 5 is NaN: with batches of 2 in order, the loss of batch 3 (1-based) is NaN.
  const x = () => { const d = data(8, 8, 40); d[5 * 8] = NaN; return tensor(d, [8, 8]); };

  test('a NaN loss rejects naming the epoch and the batch', async () => {
    const model = mlp(41);
    await expect(model.fit(x(), oneHot(8, 42), { epochs: 2, batchSize: 2, shuffle: false, verbose: 0 })).rejects.toThrow(
      /fit: the loss became NaN at epoch 1, batch 3/,
    );
  });

  test('TerminateOnNaN ends training quietly at that batch', async () => {
    const model = mlp(43);
    const printed: string[] = [];
    const history = await model.fit(x(), oneHot(8, 44), {
      epochs: 2, batchSize: 2, shuffle: false, verbose: 0,
      callbacks: [new TerminateOnNaN({ write: (text: string) => printed.push(text) })],
    });
    expect(printed.join('')).toMatch(/Batch 2: Invalid loss, terminating training/);
    expect(history.history.loss).toHaveLength(1);
    expect(Number.isNaN(history.history.loss[0])).toBe(true);
  });
});
