/**
 * Worker threads that load the addon, decode image folders, train and predict, ended at many points of
 * that work (while loading the addon, mid-decode, mid-step): the main process must stay alive and its
 * own model must still work. Each schedule runs in a child process, which must exit cleanly.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

const dist = path.resolve(__dirname, '../../dist/index.js');

let images: string;
beforeAll(async () => {
  images = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-workers-'));
  for (const [name, level] of [['dark', 40], ['light', 200]] as const) {
    fs.mkdirSync(path.join(images, name));
    for (let i = 0; i < 40; i++) {
      const pixels = Buffer.alloc(48 * 48 * 3, level + (i % 30));
      await sharp(pixels, { raw: { width: 48, height: 48, channels: 3 } }).jpeg().toFile(path.join(images, name, `${i}.jpg`));
    }
  }
});
afterAll(() => fs.rmSync(images, { recursive: true, force: true }));

function runSchedule(workerBody: string, rounds: number): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const script = `
    const { Worker } = require('worker_threads');
    const dist = ${JSON.stringify(dist)};
    const body = ${JSON.stringify(`const k = require(${JSON.stringify(dist)});\nconst { parentPort } = require('worker_threads');\n(async () => {\nparentPort.postMessage('started');\n${workerBody}\n})();`)};
    (async () => {
      for (let round = 0; round < ${rounds}; round++) {
        const worker = new Worker(body, { eval: true, stdout: true, stderr: true });
        worker.on('error', () => undefined);
        // Every third round ends the thread while it may still be loading the addon; the others once it
        // has started its work, after a delay that walks through the work's phases.
        if (round % 3 !== 0) await new Promise((resolve) => worker.once('message', resolve));
        await new Promise((resolve) => setTimeout(resolve, (round * 37) % 180));
        await worker.terminate();
      }
      const k = require(dist);
      const model = new k.Sequential([new k.Dense(2, { inputShape: [3] })]);
      const result = await model.predict(k.tensor(new Float32Array([1, 2, 3]), [1, 3]));
      console.log('alive ' + JSON.stringify(result.shape));
    })();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 180_000 });
  return { status: result.status, signal: result.signal, stdout: result.stdout.trim(), stderr: result.stderr };
}

describe('worker threads ended at any point', () => {
  test('while decoding and augmenting an image folder (30 rounds)', () => {
    const result = runSchedule(`
      const it = new k.ImageDataGenerator({ rescale: 1 / 255, zoomRange: 0.2, horizontalFlip: true })
        .flowFromDirectory("IMAGES", { targetSize: [48, 48], batchSize: 16 });
      for (let epoch = 0; epoch < 100; epoch++) for (let i = 0; i < it.length; i++) { const [x] = await it.get(i); x.dispose(); }`.replace('"IMAGES"', JSON.stringify(images)), 30);
    expect(result).toEqual({ status: 0, signal: null, stdout: expect.stringMatching(/alive \[1,2\]$/), stderr: '' });
  });

  test('while training and predicting (30 rounds)', () => {
    const result = runSchedule(`
      const model = new k.Sequential([new k.Conv2D(8, 3, { inputShape: [24, 24, 3], activation: 'relu' }), new k.Flatten(), new k.Dense(1, { activation: 'sigmoid' })]);
      model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
      const x = k.tensor(new Float32Array(16 * 24 * 24 * 3).fill(0.3), [16, 24, 24, 3]);
      const y = k.tensor(new Float32Array(16).fill(1), [16, 1]);
      const fit = model.fit(x, y, { epochs: 1000, batchSize: 4, verbose: 0 });
      for (let i = 0; i < 1000; i++) (await model.predict(x)).dispose();
      await fit;`, 30);
    expect(result).toEqual({ status: 0, signal: null, stdout: expect.stringMatching(/alive \[1,2\]$/), stderr: '' });
  });
});
