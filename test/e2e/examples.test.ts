/**
 * The README's functional examples train from their scripts on real images (Fashion-MNIST sneakers vs
 * ankle boots as 64x64 JPEG class folders): a residual network, and a two-input model.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run as runResidual } from '../../examples/residual';
import { run as runTwoInputs } from '../../examples/two-inputs';
import { setSeed } from '../../lib';
import { testIf } from '../helpers/peers';

const source = '/usr/share/datasets/fashion-mnist';
const haveData = fs.existsSync(source);
const withData = testIf(haveData, "the examples' end-to-end tests need dataset-fashion-mnist (apt-get install dataset-fashion-mnist)");

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-examples-'));
  if (!haveData) return;
  execFileSync(process.execPath, [
    path.resolve(__dirname, '../../scripts/make-fashion-mnist-folders.js'),
    '--out', path.join(root, 'data'), '--classes', 'sneaker,ankle_boot', '--train-per-class', '1000', '--test-per-class', '300', '--size', '64',
  ], { stdio: 'ignore', timeout: 300_000 });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

withData('examples/residual.ts trains a residual network and writes the model and its diagram', async () => {
  setSeed(7);
  const accuracy = await runResidual(path.join(root, 'data'), 3, { verbose: 0, outDir: path.join(root, 'out') });
  expect(accuracy).toBeGreaterThanOrEqual(0.8);
  expect(fs.statSync(path.join(root, 'out', 'residual-model.safetensors')).size).toBeGreaterThan(50_000);
  expect(fs.readFileSync(path.join(root, 'out', 'residual-model.svg'), 'utf8')).toMatch(/block2_add \(Add\)/);
}, 600000);

withData('examples/two-inputs.ts trains an image-plus-features model from data keyed by input name', async () => {
  setSeed(7);
  const accuracy = await runTwoInputs(path.join(root, 'data'), 2, { verbose: 0 });
  expect(accuracy).toBeGreaterThanOrEqual(0.9);
}, 600000);
