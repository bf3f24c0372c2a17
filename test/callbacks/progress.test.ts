import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Dense, Sequential, tensor } from '../../lib';
import { ProgressLogger } from '../../lib/callbacks/progress';

/** Captures what the logger writes, as a terminal or as a pipe. */
function output(isTTY: boolean): { write(text: string): boolean; isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  return { write: (text: string) => chunks.push(text) > 0, isTTY, text: () => chunks.join('') };
}

async function fitWith(logger: ProgressLogger): Promise<void> {
  const model = new Sequential([new Dense(1, { inputShape: [2], activation: 'sigmoid' })]);
  model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  const x = tensor(new Float32Array(64).map((_, i) => i % 3), [32, 2]);
  const y = tensor(new Float32Array(32).map((_, i) => i % 2), [32, 1]);
  await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, callbacks: [logger], validationData: [x, y] });
}

test('verbose 1 off a terminal prints one finished bar per epoch, Keras-style, without escape codes', async () => {
  const out = output(false);
  await fitWith(new ProgressLogger(1, out));
  const lines = out.text().split('\n');
  expect(lines[0]).toBe('Epoch 1/2');
  expect(lines[1]).toMatch(/^4\/4 ━{20} \d+s \d+(ms|us)\/step - accuracy: \d\.\d{4} - loss: \d\.\d{4} - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}$/);
  expect(lines[2]).toBe('Epoch 2/2');
  expect(out.text()).not.toMatch(/\x1b|\r/);
});

test('verbose 1 on a terminal redraws the bar in place', async () => {
  const out = output(true);
  await fitWith(new ProgressLogger(1, out));
  expect(out.text()).toMatch(/\r\x1b\[K4\/4 ━{20} /);
  expect(out.text()).toMatch(/Epoch 1\/2\n/);
});

test('verbose 2 prints one line per epoch', async () => {
  const out = output(true);
  await fitWith(new ProgressLogger(2, out));
  const epochLines = out.text().split('\n').filter((line) => line.startsWith('4/4 - '));
  expect(epochLines).toHaveLength(2);
  expect(out.text()).not.toMatch(/━/);
});

test('fit with the default verbose, its stdout a pipe (a CI log): one summary line per epoch, no redraws', () => {
  // dist/ is what users run; scripts/setup.sh and `npm run build:ts` build it.
  const dist = path.resolve(__dirname, '../../dist/index.js');
  const script = `
    const { Dense, Sequential, tensor } = require(${JSON.stringify(dist)});
    const model = new Sequential([new Dense(1, { inputShape: [2], activation: 'sigmoid' })]);
    model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy' });
    const x = tensor(new Float32Array(400).map((_, i) => i % 3), [200, 2]);
    const y = tensor(new Float32Array(200).map((_, i) => i % 2), [200, 1]);
    model.fit(x, y, { epochs: 3, batchSize: 4 }).catch((e) => { console.error(e); process.exit(1); });`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(run.stderr).toBe('');
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(6);
  lines.forEach((line, i) => {
    if (i % 2 === 0) expect(line).toBe(`Epoch ${i / 2 + 1}/3`);
    else expect(line).toMatch(/^50\/50 ━{20} \d+s \d+(ms|us)\/step - loss: \d\.\d{4}$/);
  });
  expect(run.stdout).not.toMatch(/\x1b|\r/);
});
