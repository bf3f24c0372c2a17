/**
 * Models of many layers: building and loading take work linear in the number of layers (counted, not
 * timed), and a model file may declare at most MAX_LAYERS layers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Activation, Dense, Input, Layer, loadModel, Model, Sequential, SymbolicTensor } from '../../lib';
import { writeSafetensors } from '../../lib/io/safetensors';
import { FORMAT_NAME, FORMAT_VERSION, MAX_LAYERS } from '../../lib/models/persistence';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-large-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** How often `Layer.apply` runs during `work`. */
async function countApplies(work: () => Promise<unknown> | unknown): Promise<number> {
  const original = Layer.prototype.apply;
  let calls = 0;
  Layer.prototype.apply = function (this: Layer, ...args: Parameters<Layer['apply']>) {
    calls++;
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    Layer.prototype.apply = original;
  }
  return calls;
}

test('adding n layers to a Sequential applies each once, and a saved one loads the same way', async () => {
  const n = 3000;
  const model = new Sequential([new Dense(2, { inputShape: [2] })]);
  const adds = await countApplies(() => {
    for (let i = 0; i < n; i++) model.add(new Activation('linear'));
  });
  expect(adds).toBe(n);
  expect(model.layers).toHaveLength(n + 1);
  const file = path.join(tmp, 'deep.safetensors');
  await model.save(file);
  let loaded: Model<SymbolicTensor> | undefined;
  const loads = await countApplies(async () => (loaded = await loadModel(file)));
  expect(loads).toBe(n + 1);
  expect(loaded!.layers).toHaveLength(n + 1);
});

test('a deep functional model is built, saved and loaded with one application per node', async () => {
  const n = 3000;
  const input = Input({ shape: [2] });
  let x = new Dense(2).apply(input);
  for (let i = 0; i < n; i++) x = new Activation('linear').apply(x);
  const model = new Model({ inputs: input, outputs: x });
  expect(model.layers).toHaveLength(n + 2);
  const file = path.join(tmp, 'deep-functional.safetensors');
  await model.save(file);
  const loads = await countApplies(() => loadModel(file));
  expect(loads).toBe(n + 1);
});

test(`a model file declaring more than ${MAX_LAYERS} layers is refused before any is built`, async () => {
  const file = path.join(tmp, 'too-many.safetensors');
  const layers = Array.from({ length: MAX_LAYERS + 1 }, () => ({ className: 'Flatten', config: {} }));
  const config = { className: 'Sequential', name: 'huge', inputShape: [2], layers };
  await writeSafetensors(file, new Map(), { format: FORMAT_NAME, format_version: FORMAT_VERSION, config: JSON.stringify(config) });
  const built = await countApplies(() => expect(loadModel(file)).rejects.toThrow(`expected a config of at most ${MAX_LAYERS} layers but received one of ${MAX_LAYERS + 1}`));
  expect(built).toBe(0);
});
