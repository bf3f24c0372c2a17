/**
 * Data-parallel throughput: the seed CNN trained by 1 process, then by 2 processes over Gloo on loopback
 * (each with half the threads, so both runs use the same cores), on the same synthetic 64x64x3 images.
 *   node build-ts/bench/distributed.js [--steps N]
 * Prints images per second for each and the ratio, and writes bench/results/distributed.json.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const steps = Number(process.argv[process.argv.indexOf('--steps') + 1] || 20);
const cores = os.cpus().length;

// One rank's work: `steps` train steps of batch 32 on random images; prints its own images/s.
const rankScript = `
const { distributed, Sequential, Conv2D, MaxPooling2D, Flatten, Dense, tensor } = require('keras-torch');
(async () => {
  if (process.env.WORLD_SIZE) await distributed.init({ seed: 1 });
  const model = new Sequential([
    new Conv2D(32, 3, { inputShape: [64, 64, 3], activation: 'relu' }), new MaxPooling2D(), new Flatten(),
    new Dense(128, { activation: 'relu' }), new Dense(1, { activation: 'sigmoid' })]);
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
  const batch = 32, count = batch * ${steps} * (Number(process.env.WORLD_SIZE) || 1);
  const x = tensor(new Float32Array(count * 64 * 64 * 3).map(Math.random), [count, 64, 64, 3]);
  const y = tensor(new Float32Array(count).map(() => Math.round(Math.random())), [count, 1]);
  await model.fit(x, y, { epochs: 1, batchSize: batch, verbose: 0, stepsPerEpoch: 2 }); // warm-up
  const started = performance.now();
  await model.fit(x, y, { epochs: 1, batchSize: batch, verbose: 0 });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ images: count / (Number(process.env.WORLD_SIZE) || 1), seconds }));
  if (process.env.WORLD_SIZE) distributed.destroy();
})();`;

function run(env: Record<string, string>): { images: number; seconds: number } {
  const result = spawnSync(process.execPath, ['-e', rankScript], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: path.resolve(__dirname, '..', '..') });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

async function main(): Promise<void> {
  const single = run({ OMP_NUM_THREADS: String(cores) });
  const port = String(29000 + Math.floor(Math.random() * 1000));
  const ranks = await Promise.all(
    [0, 1].map(
      (rank) =>
        new Promise<{ images: number; seconds: number }>((resolve, reject) => {
          const { spawn } = require('child_process') as typeof import('child_process');
          const child = spawn(process.execPath, ['-e', rankScript], {
            cwd: path.resolve(__dirname, '..', '..'),
            env: { ...process.env, OMP_NUM_THREADS: String(Math.max(1, cores / 2)), RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: port },
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (c: Buffer) => (out += c));
          child.stderr.on('data', (c: Buffer) => (err += c));
          child.on('exit', (code: number) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
        }),
    ),
  );
  const singleRate = single.images / single.seconds;
  const parallelRate = ranks.reduce((total, r) => total + r.images, 0) / Math.max(...ranks.map((r) => r.seconds));
  const result = { cores, steps, single: singleRate, twoProcesses: parallelRate, ratio: parallelRate / singleRate, load: fs.readFileSync('/proc/loadavg', 'utf8').trim() };
  console.log(`seed CNN training, ${cores} cores: 1 process ${singleRate.toFixed(0)} img/s, 2 processes over Gloo ${parallelRate.toFixed(0)} img/s (${result.ratio.toFixed(2)}x); load ${result.load}`);
  fs.mkdirSync(path.join(__dirname, '..', '..', 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, '..', '..', 'bench', 'results', 'distributed.json'), JSON.stringify(result, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
