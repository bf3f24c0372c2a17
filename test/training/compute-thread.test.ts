/**
 * Steps run on the addon's compute thread and come back through a thread-safe function (native/train.cc):
 * libuv's pool, which Node's fs, dns and zlib share, stays free while a model trains, and a pending call
 * still keeps the process alive. Run in child processes on the built package (dist/) so that the pool
 * can be cut to one thread.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const dist = path.join(__dirname, '..', '..', 'dist', 'index.js');

function run(script: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  if (result.signal) throw new Error(`the child was killed by ${result.signal} (a 60 s timeout): ${result.stderr}`);
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

test("train steps finish while libuv's only pool thread is held by fs", () => {
  // The pool is cut to one thread, and that thread is held by an fs open of a named pipe that no writer has
  // opened yet: open(2) blocks there until the test opens the write end. Ten steps are then awaited. Were
  // steps run on libuv's pool, they would queue behind the held open for ever (and the child's timeout would
  // fail the test); on the compute thread they all finish first. The pipe, not a clock, holds the thread.
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-pool-'));
  const pipe = path.join(folder, 'gate');
  try {
    expect(spawnSync('mkfifo', [pipe], { timeout: 10_000 }).status).toBe(0);
    const output = run(
      `
const k = require(${JSON.stringify(dist)});
const fs = require('fs');
async function main() {
${CONV_MODEL_AND_BATCH}
  const events = [];
  const held = fs.promises.open(${JSON.stringify(pipe)}, 'r').then((handle) => { events.push('pipe opened'); return handle; });
  for (let i = 0; i < 10; i++) await model.trainOnBatch(x, y);
  events.push('ten steps done');
  // The reader is waiting in open(2), so this open of the write end returns at once and lets it go.
  const writer = fs.openSync(${JSON.stringify(pipe)}, 'w');
  const reader = await held;
  fs.closeSync(writer);
  await reader.close();
  console.log(JSON.stringify(events));
}
main().catch((error) => { console.error(error); process.exit(1); });
`,
      { UV_THREADPOOL_SIZE: '1' },
    );
    expect(JSON.parse(output)).toEqual(['ten steps done', 'pipe opened']);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
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
