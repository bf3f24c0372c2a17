/**
 * A model used from worker_threads: each worker loads the same saved file and predicts; the results equal
 * the main thread's, and the thread count is one setting for the whole process (README, Serving).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { Conv2D, Dense, Flatten, getNumThreads, loadModel, MaxPooling2D, Sequential, setNumThreads, setSeed, tensor } from '../../lib';

const dist = path.resolve(__dirname, '../../dist/index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-worker-predict-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const k = require(workerData.dist);
(async () => {
  k.setNumThreads(workerData.threads);
  const model = await k.loadModel(workerData.file);
  const x = k.tensor(new Float32Array(workerData.values), workerData.shape);
  const results = [];
  for (let i = 0; i < 5; i++) results.push(Array.from((await model.predict(x)).dataSync()));
  parentPort.postMessage({ results, threads: k.getNumThreads() });
})().catch((error) => parentPort.postMessage({ error: error.message }));
`;

function runWorker(data: object): Promise<{ results?: number[][]; threads?: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: data });
    worker.once('message', (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test('two workers predict with the same model file and get the main thread\'s results', async () => {
  setSeed(21);
  const model = new Sequential([
    new Conv2D(6, 3, { inputShape: [10, 10, 3], activation: 'relu' }),
    new MaxPooling2D({ poolSize: 2 }),
    new Flatten(),
    new Dense(2, { activation: 'softmax' }),
  ]);
  const file = path.join(tmp, 'model.safetensors');
  await model.save(file);
  const values = Array.from({ length: 4 * 10 * 10 * 3 }, (_, i) => Math.cos(i * 0.21));
  const x = tensor(Float32Array.from(values), [4, 10, 10, 3]);
  const before = getNumThreads();
  try {
    setNumThreads(1);
    const mainThread = Array.from((await (await loadModel(file)).predict(x)).dataSync() as Float32Array);
    const results = await Promise.all([1, 1].map((threads) => runWorker({ dist, file, values, shape: [4, 10, 10, 3], threads })));
    for (const result of results) {
      expect(result.error).toBeUndefined();
      expect(result.threads).toBe(1);
      for (const prediction of result.results!) expect(prediction).toEqual(mainThread);
    }
  } finally {
    setNumThreads(before);
  }
});
