/**
 * Steps run on the addon's compute thread and come back through a thread-safe function (native/train.cc):
 * libuv's pool, which Node's fs, dns and zlib share, stays free while a model trains, and a pending call
 * still keeps the process alive. Run in child processes on the built package (dist/) so that the pool
 * can be cut to one thread.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const dist = path.join(__dirname, '..', '..', 'dist', 'index.js');

function run(script: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  if (result.status !== 0) throw new Error(`the child failed (status ${result.status}): ${result.stderr}`);
  return result.stdout.trim();
}

// Child-script lines (after `const k = require(...)`): a conv net whose train step takes tens of
// milliseconds, and a batch for it.
const CONV_MODEL_AND_BATCH = `
const model = new k.Sequential([
  new k.Conv2D(32, [3, 3], { inputShape: [64, 64, 3], activation: 'relu' }),
  new k.Flatten(),
  new k.Dense(1, { activation: 'sigmoid' }),
]);
model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
const x = k.tensor(new Float32Array(32 * 64 * 64 * 3).fill(0.5), [32, 64, 64, 3]);
const y = k.tensor(new Float32Array(32).fill(1), [32, 1]);
`;

beforeAll(() => {
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: build it first with npm run build:ts`);
});

test("train steps leave libuv's only pool thread to fs", () => {
  // Ten steps are queued, then a stat. Were steps run on libuv's pool, its one thread would take the stat
  // after all ten (each tens of milliseconds); on the compute thread, the stat is answered while they run.
  // No sleep decides the outcome: only the ten steps' hundreds of milliseconds against one stat call.
  const output = run(
    `
const k = require(${JSON.stringify(dist)});
const fs = require('fs');
async function main() {
${CONV_MODEL_AND_BATCH}
  await model.trainOnBatch(x, y);
  const order = [];
  const steps = Array.from({ length: 10 }, (_, i) => model.trainOnBatch(x, y).then(() => order.push('step' + i)));
  const stat = fs.promises.stat(${JSON.stringify(dist)}).then(() => order.push('stat'));
  await Promise.all([...steps, stat]);
  console.log(JSON.stringify(order));
}
main().catch((error) => { console.error(error); process.exit(1); });
`,
    { UV_THREADPOOL_SIZE: '1' },
  );
  const order = JSON.parse(output) as string[];
  expect(order).toHaveLength(11);
  expect(order.indexOf('stat')).toBeLessThan(10);
});

test('a pending predict keeps the process alive until it resolves, an idle model does not', () => {
  const output = run(`
const k = require(${JSON.stringify(dist)});
const model = new k.Sequential([new k.Dense(2, { inputShape: [3] })]);
model.predict(k.tensor(new Float32Array([1, 2, 3]), [1, 3])).then((result) => console.log(JSON.stringify(result.shape)));
`);
  expect(output).toBe('[1,2]');
});

test('a worker thread ended with steps running and queued leaves the process and the addon working', () => {
  const output = run(`
const { Worker } = require('worker_threads');
const dist = ${JSON.stringify(dist)};
const worker = \`
const k = require(\${JSON.stringify(dist)});
const { parentPort } = require('worker_threads');
${CONV_MODEL_AND_BATCH}
// Once the first step has settled, the second is running and the others are queued: the thread ends then.
model.trainOnBatch(x, y).then(() => parentPort.postMessage('first step done'));
for (let i = 0; i < 4; i++) model.trainOnBatch(x, y);
\`;
async function main() {
  for (let round = 0; round < 3; round++) {
    const thread = new Worker(worker, { eval: true });
    await new Promise((resolve) => thread.once('message', resolve));
    await thread.terminate();
  }
  // This predict queues on the same compute thread, behind whatever the ended threads left there.
  const k = require(dist);
  const model = new k.Sequential([new k.Dense(2, { inputShape: [3] })]);
  const result = await model.predict(k.tensor(new Float32Array([1, 2, 3]), [1, 3]));
  console.log(JSON.stringify(result.shape));
}
main().catch((error) => { console.error(error); process.exit(1); });
`);
  expect(output).toBe('[1,2]');
});
