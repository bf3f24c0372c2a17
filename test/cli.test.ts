import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

// The command line as users run it: the compiled dist/cli.js (scripts/setup.sh builds it).
const cli = path.resolve(__dirname, '..', 'dist', 'cli.js');

// A training run takes seconds on an idle machine and minutes on a loaded one: the bound only stops a hang.
const RUN_TIMEOUT_MS = 300_000;
/** The tests that train through the CLI: a few runs of up to RUN_TIMEOUT_MS each. */
const TRAINING_TEST_TIMEOUT_MS = 900_000;

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  // A killed run reads as a null status; its stderr says why.
  const killed = result.signal ? `\nkilled by ${result.signal} (timeout ${RUN_TIMEOUT_MS / 1000} s)` : '';
  return { status: result.status, stdout: result.stdout, stderr: `${result.stderr}${killed}` };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Two classes told apart by brightness: dark and light 16x16 images. */
async function makeFolders(root: string): Promise<void> {
  for (const [name, level] of [['dark', 40], ['light', 215]] as const) {
    const folder = path.join(root, name);
    fs.mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 12; i++) {
      const pixels = Buffer.alloc(16 * 16 * 3, level + ((i * 7) % 20));
      await sharp(pixels, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(path.join(folder, `${name}_${i}.png`));
    }
  }
}

describe('keras-torch command line', () => {
  test('no command prints the usage and exits 2; unknown commands and options are usage errors', () => {
    const bare = run();
    expect(bare.status).toBe(2);
    expect(bare.stdout).toMatch(/Usage: keras-torch <command>/);
    const unknown = run('fly');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command fly/);
    const badOption = run('train', tmp, '--epochs', 'zero');
    expect(badOption.status).toBe(2);
    expect(badOption.stderr).toMatch(/--epochs: expected a positive integer but received zero/);
    expect(badOption.stderr).toMatch(/Usage: keras-torch train DIR/);
    expect(run('predict', '--help').stdout).toMatch(/Usage: keras-torch predict MODEL IMAGE/);
  });

  test('info names the libtorch version, device and threads', () => {
    const info = run('info');
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/^libtorch \d+\.\d+/m);
    expect(info.stdout).toMatch(/^device: (cpu|cuda)/m);
    expect(info.stdout).toMatch(/^threads: \d+/m);
  });

  test('train saves a model and a plot; predict and evaluate use them', async () => {
    const data = path.join(tmp, 'data');
    await makeFolders(data);
    const model = path.join(tmp, 'out', 'model.safetensors');
    const trained = run('train', data, '--epochs', '15', '--image-size', '16', '--batch-size', '8', '--seed', '1', '--no-augment', '--out', model);
    expect(trained.stderr).toBe('');
    expect(trained.status).toBe(0);
    expect(trained.stdout).toMatch(/Found 20 images belonging to 2 classes\./);
    expect(trained.stdout).toMatch(/Epoch 15\/15/);
    expect(fs.existsSync(model)).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'out', 'model-training.png'))).toBe(true);

    const images = [path.join(data, 'dark', 'dark_0.png'), path.join(data, 'light', 'light_0.png')];
    const predicted = run('predict', model, ...images, '--json');
    expect(predicted.status).toBe(0);
    const results = JSON.parse(predicted.stdout) as { image: string; class: string; probability: number }[];
    expect(results.map((r) => r.class)).toEqual(['dark', 'light']);
    expect(results.length).toBeGreaterThan(0);
    results.forEach((r) => expect(r.probability).toBeGreaterThan(0.5));
    expect(run('predict', model, images[0]).stdout).toMatch(/dark\s+0\.\d{4}/);

    const evaluated = run('evaluate', model, data);
    expect(evaluated.status).toBe(0);
    expect(evaluated.stdout).toMatch(/loss: \d\.\d{4} - accuracy: 1\.0000/);

    const missing = run('predict', path.join(tmp, 'nope.safetensors'), images[0]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.safetensors: cannot read the model file/);
  }, TRAINING_TEST_TIMEOUT_MS);

  test('launch starts N ranks with torchrun\'s environment and reports a failing rank', () => {
    const script = path.join(tmp, 'rank.js');
    fs.writeFileSync(script, `
      const fs = require('fs');
      const { RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT } = process.env;
      fs.writeFileSync(${JSON.stringify(tmp)} + '/rank-' + RANK + '.json', JSON.stringify({ RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, args: process.argv.slice(2) }));
      if (process.argv[2] === 'fail' && RANK === '1') process.exit(3);
    `);
    const ok = run('launch', '--nproc', '2', script, 'hello');
    expect(ok.status).toBe(0);
    const ranks = [0, 1].map((r) => JSON.parse(fs.readFileSync(path.join(tmp, `rank-${r}.json`), 'utf8')));
    expect(ranks.map((r) => r.RANK)).toEqual(['0', '1']);
    expect(ranks.map((r) => r.LOCAL_RANK)).toEqual(['0', '1']);
    expect(ranks.length).toBeGreaterThan(0);
    ranks.forEach((r) => expect(r).toMatchObject({ WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', args: ['hello'] }));
    expect(ranks[0].MASTER_PORT).toBe(ranks[1].MASTER_PORT);
    const failed = run('launch', '--nproc', '2', script, 'fail');
    expect(failed.status).toBe(3);
    expect(failed.stderr).toMatch(/rank 1 exited with code 3/);
    expect(run('launch', script).stderr).toMatch(/launch needs --nproc N/);
  });
});


test('predict and evaluate refuse, by name, a model with two inputs', async () => {
  const { Input, Dense, Concatenate, Flatten, Model } = await import('../lib');
  const image = Input({ shape: [16, 16, 3], name: 'photo' });
  const extra = Input({ shape: [2], name: 'extra' });
  const output = new Dense(1, { activation: 'sigmoid' }).apply(new Concatenate().apply([new Flatten().apply(image), extra]));
  const file = path.join(tmp, 'two-inputs.safetensors');
  await new Model({ inputs: [image, extra], outputs: output }).save(file);
  const folder = path.join(tmp, 'refused');
  await makeFolders(folder);
  const predicted = run('predict', file, path.join(folder, 'dark', 'dark_0.png'));
  expect(predicted.status).toBe(1);
  expect(predicted.stderr).toMatch(/takes models with one image input and one output; this one has inputs photo, extra and outputs dense/);
  expect(run('evaluate', file, folder).stderr).toMatch(/this one has inputs photo, extra/);
});

test("names of Object's own properties are not commands", () => {
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const result = run(name);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`unknown command ${name}`));
  }
});

/** `classes` folders of 16x16 images of one grey level each, under `root`. */
async function greyFolders(root: string, classes: [string, number][], count: number): Promise<void> {
  for (const [name, level] of classes) {
    fs.mkdirSync(path.join(root, name), { recursive: true });
    for (let i = 0; i < count; i++) {
      const pixels = Buffer.alloc(16 * 16 * 3, level + ((i * 5) % 12));
      await sharp(pixels, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(path.join(root, name, `${name}_${i}.png`));
    }
  }
}

test("train validates on test_set with the training set's class indices when test_set lacks a class", async () => {
  const data = path.join(tmp, 'missing-class');
  await greyFolders(path.join(data, 'training_set'), [['a_dark', 30], ['b_mid', 120], ['c_light', 220]], 12);
  await greyFolders(path.join(data, 'test_set'), [['a_dark', 30], ['c_light', 220]], 6);
  const model = path.join(tmp, 'missing-class.safetensors');
  const trained = run('train', data, '--epochs', '30', '--image-size', '16', '--batch-size', '8', '--seed', '2', '--no-augment', '--out', model);
  expect({ status: trained.status, stderr: trained.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  // Keras's count with `classes`: the test set is read by the three training classes.
  expect(trained.stdout).toMatch(/Found 12 images belonging to 3 classes\./);
  const accuracy = Number(/Validation accuracy (\d\.\d+)/.exec(trained.stdout)?.[1]);
  // With test_set's own indices, c_light would be label 1 (b_mid's) and half the images wrong.
  expect(accuracy).toBeGreaterThanOrEqual(0.99);
}, TRAINING_TEST_TIMEOUT_MS);

test('evaluate reads images in the channels of the model: a grayscale model', async () => {
  const { Sequential, Flatten, Dense, Rescaling } = await import('../lib');
  const data = path.join(tmp, 'grey-eval');
  await greyFolders(data, [['dark', 30], ['light', 220]], 4);
  const model = new Sequential([new Rescaling(1 / 255, { inputShape: [16, 16, 1] }), new Flatten(), new Dense(1, { activation: 'sigmoid' })]);
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  model.classIndices = { dark: 0, light: 1 };
  const file = path.join(tmp, 'grey.safetensors');
  await model.save(file);
  const evaluated = run('evaluate', file, data);
  expect(evaluated.stderr).toBe('');
  expect(evaluated.status).toBe(0);
  expect(evaluated.stdout).toMatch(/^loss: \d+\.\d{4} - accuracy: \d\.\d{4}$/m);
});
