import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  BatchNormalization, Conv2D, Dense, Dropout, ELU, GaussianNoise, LayerNormalization, LeakyReLU, loadModel, Permute, PReLU, ReLU, Reshape, Sequential,
  Softmax, SpatialDropout2D, tensor,
} from '../../lib';
import { seededRandom, values } from '../helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-layers-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every layer of this family in one model, with options away from their defaults. */
function everyLayer(): Sequential {
  return new Sequential([
    new Conv2D(6, 1, { inputShape: [4, 5, 3], name: 'conv' }),
    new BatchNormalization({ axis: 1, name: 'bn_rows' }),
    new ReLU({ maxValue: 6, name: 'relu6' }),
    new PReLU({ sharedAxes: [1, 2], alphaInitializer: { name: 'constant', value: 0.2 }, name: 'prelu' }),
    new LayerNormalization({ axis: [1, 2, 3], center: false, name: 'ln' }),
    new Dropout(0.2, { noiseShape: [null, 1, 1, 1], seed: 1, name: 'stochastic_depth' }),
    new SpatialDropout2D(0.1, { seed: 2, name: 'spatial' }),
    new GaussianNoise(0.1, { seed: 3, name: 'noise' }),
    new Permute([2, 1, 3], { name: 'transpose' }),
    new Reshape([-1, 6], { name: 'to_sequence' }),
    new Dense(4, { name: 'dense_steps' }),
    new LeakyReLU({ negativeSlope: 0.1, name: 'leaky' }),
    new ReLU({ threshold: 0.1, negativeSlope: 0.05, name: 'relu_threshold' }),
    new ELU({ alpha: 0.5, name: 'elu' }),
    new Softmax({ axis: 1, name: 'softmax_steps' }),
  ]);
}

describe('the layers in one model', () => {
  test('summary rows: names, classes, output shapes and Keras parameter counts', () => {
    const summary = everyLayer().summary({ printFn: () => undefined });
    const rows: [string, string, string, number][] = [
      ['bn_rows', 'BatchNormalization', '(None, 4, 5, 6)', 16],
      ['relu6', 'ReLU', '(None, 4, 5, 6)', 0],
      ['prelu', 'PReLU', '(None, 4, 5, 6)', 6],
      ['ln', 'LayerNormalization', '(None, 4, 5, 6)', 120],
      ['stochastic_depth', 'Dropout', '(None, 4, 5, 6)', 0],
      ['spatial', 'SpatialDropout2D', '(None, 4, 5, 6)', 0],
      ['noise', 'GaussianNoise', '(None, 4, 5, 6)', 0],
      ['transpose', 'Permute', '(None, 5, 4, 6)', 0],
      ['to_sequence', 'Reshape', '(None, 20, 6)', 0],
      ['dense_steps', 'Dense', '(None, 20, 4)', 28],
      ['leaky', 'LeakyReLU', '(None, 20, 4)', 0],
      ['relu_threshold', 'ReLU', '(None, 20, 4)', 0],
      ['elu', 'ELU', '(None, 20, 4)', 0],
      ['softmax_steps', 'Softmax', '(None, 20, 4)', 0],
    ];
    for (const [name, className, shape, params] of rows) {
      expect(summary).toMatch(new RegExp(`${name} \\(${className}\\)\\s+│ ${shape.replace(/[()]/g, '\\$&')}\\s+│\\s+${params} │`));
    }
    expect(summary).toMatch(/Total params: 194 /);
    expect(summary).toMatch(/Non-trainable params: 8 /);
  });

  test('save and loadModel: the same config, weights and predictions', async () => {
    const model = everyLayer();
    model.compile({ optimizer: 'adam', loss: 'mse' });
    const next = seededRandom(3);
    const x = tensor(Float32Array.from({ length: 2 * 60 }, () => next() * 2 - 1), [2, 4, 5, 3]);
    await model.fit(x, tensor(new Float32Array(2 * 80).fill(0.05), [2, 20, 4]), { epochs: 1, verbose: 0 });
    const file = path.join(tmp, 'layers.safetensors');
    await model.save(file);
    const loaded = await loadModel(file);
    expect(loaded.layers.map((layer) => layer.getConfig())).toEqual(model.layers.map((layer) => layer.getConfig()));
    expect(loaded.getWeights().map(values)).toEqual(model.getWeights().map(values));
    expect(values(await loaded.predict(x))).toEqual(values(await model.predict(x)));
  });
});
