import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import {
  BatchNormalization,
  Conv2D,
  Dense,
  Flatten,
  loadModel,
  MaxPooling2D,
  Sequential,
  SGD,
  setSeed,
  tensor,
  Tensor,
} from '../../lib';
import { parseSafetensors } from '../../lib/io/safetensors';
import { LOAD_STATE, pythonHas, runPython, torchPredictions } from '../helpers/python';
import { describeIf } from '../helpers/peers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-persistence-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function smallCnn(): Sequential {
  const model = new Sequential();
  model.add(new Conv2D(4, 3, { inputShape: [8, 8, 3], activation: 'relu', padding: 'same', name: 'conv' }));
  model.add(new BatchNormalization({ name: 'norm' }));
  model.add(new MaxPooling2D({ poolSize: 2, name: 'pool' }));
  model.add(new Flatten({ name: 'flat' }));
  model.add(new Dense(5, { activation: 'relu', name: 'hidden' }));
  model.add(new Dense(1, { activation: 'sigmoid', name: 'out' }));
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  return model;
}

function data(count: number, seed: number): [Tensor, Tensor] {
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const x = new Float32Array(count * 8 * 8 * 3).map(() => next());
  const y = new Float32Array(count).map((_, i) => i % 2);
  return [tensor(x, [count, 8, 8, 3]), tensor(y, [count, 1])];
}

describe('save and loadModel', () => {
  test('a loaded model predicts identically and resumes training with its optimizer state', async () => {
    setSeed(7);
    const model = smallCnn();
    model.classIndices = { ankle_boot: 0, sneaker: 1 };
    const [x, y] = data(32, 1);
    await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, shuffle: false });
    const file = path.join(tmp, 'model.safetensors');
    await model.save(file);

    const loaded = await loadModel(file);
    expect(loaded.layers.map((l) => l.name)).toEqual(['conv', 'norm', 'pool', 'flat', 'hidden', 'out']);
    expect(loaded.classIndices).toEqual({ ankle_boot: 0, sneaker: 1 });
    expect(Array.from((await loaded.predict(x)).dataSync() as Float32Array)).toEqual(Array.from((await model.predict(x)).dataSync() as Float32Array));

    // Same optimizer state: one more identical step gives identical weights.
    await model.trainOnBatch(x, y);
    await loaded.trainOnBatch(x, y);
    const after = model.getWeights().map((w) => Array.from(w.dataSync() as Float32Array));
    const afterLoaded = loaded.getWeights().map((w) => Array.from(w.dataSync() as Float32Array));
    expect(afterLoaded).toEqual(after);
  });

  test('the file is standard safetensors with weights named after layers and optimizer state under optimizer/', async () => {
    const model = smallCnn();
    const [x, y] = data(8, 2);
    await model.trainOnBatch(x, y);
    const file = path.join(tmp, 'layout.safetensors');
    await model.save(file);
    const { tensors, metadata } = parseSafetensors(fs.readFileSync(file), file);
    expect(tensors.get('conv.weight')!.shape).toEqual([4, 3, 3, 3]);
    expect(tensors.get('hidden.weight')!.shape).toEqual([5, 64]);
    expect(tensors.get('norm.running_var')!.shape).toEqual([4]);
    expect(tensors.get('optimizer/conv.weight/exp_avg')!.shape).toEqual([4, 3, 3, 3]);
    expect(Number((tensors.get('optimizer/conv.weight/step')!.data as BigInt64Array)[0])).toBe(1);
    expect(JSON.parse(metadata.compile)).toMatchObject({ loss: 'binary_crossentropy', metrics: ['accuracy'] });
    expect(JSON.parse(metadata.config).layers[0]).toMatchObject({ className: 'Conv2D', config: { filters: 4, padding: 'same' } });
  });

  test('saveWeights/loadWeights round trip, and a mismatching model is refused by name and shape', async () => {
    const model = smallCnn();
    const file = path.join(tmp, 'weights.safetensors');
    await model.saveWeights(file);
    const other = smallCnn();
    await other.loadWeights(file);
    expect(other.getWeights().map((w) => Array.from(w.dataSync() as Float32Array))).toEqual(model.getWeights().map((w) => Array.from(w.dataSync() as Float32Array)));

    const different = new Sequential([new Dense(3, { inputShape: [4], name: 'hidden' })]);
    await expect(different.loadWeights(file)).rejects.toThrow(/expected weight 'hidden.weight' of shape \[3, 4\] but received \[5, 64\]/);
  });

  test('a corrupt file is a clear error', async () => {
    const file = path.join(tmp, 'corrupt.safetensors');
    fs.writeFileSync(file, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123]));
    await expect(loadModel(file)).rejects.toThrow(/header length 200 exceeds the 1 bytes after it/);
    await expect(loadModel(path.join(tmp, 'missing.safetensors'))).rejects.toThrow(/cannot read the model file/);
  });
});

describeIf(pythonHas('torch'), 'the PyTorch interoperability tests need python3-torch (apt-get install python3-torch)')('interoperability with PyTorch', () => {
  test("Python's torch loads the file into the equivalent torch.nn.Sequential and reproduces our predictions", async () => {
    setSeed(3);
    const model = smallCnn();
    const [x, y] = data(16, 3);
    await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 });
    const file = path.join(tmp, 'interop.safetensors');
    const inputs = path.join(tmp, 'inputs.f32');
    await model.save(file);
    fs.writeFileSync(inputs, Buffer.from((x.dataSync() as Float32Array).buffer));
    const ours = Array.from((await model.predict(x)).dataSync() as Float32Array);
    const theirs = torchPredictions(`
model = torch.nn.Sequential(OrderedDict([
    ('conv', torch.nn.Conv2d(3, 4, 3, padding=1)), ('relu', torch.nn.ReLU()),
    ('norm', torch.nn.BatchNorm2d(4, eps=1e-3)), ('pool', torch.nn.MaxPool2d(2)),
    ('flat', ChannelsLastFlatten()), ('hidden', torch.nn.Linear(64, 5)), ('relu2', torch.nn.ReLU()),
    ('out', torch.nn.Linear(5, 1)), ('sigmoid', torch.nn.Sigmoid())]))`, file, inputs, [16, 8, 8, 3]);
    expect(theirs).toHaveLength(ours.length);
    theirs.forEach((value, i) => expect(Math.abs(value - ours[i])).toBeLessThan(1e-5));
  });

  // The native model applies a ReLU after the max pooling that follows it (native/model.cc); the tanh
  // stays where it is. torch's Sequential, in the order the layers were written, is the reference.
  test('Conv2D activations before MaxPooling2D train step for step as torch.nn.Sequential does', async () => {
    setSeed(5);
    const model = new Sequential();
    model.add(new Conv2D(4, 3, { inputShape: [8, 8, 3], activation: 'relu', name: 'conv' }));
    model.add(new MaxPooling2D({ poolSize: 2, name: 'pool' }));
    model.add(new Conv2D(3, 2, { activation: 'tanh', name: 'conv2' }));
    model.add(new MaxPooling2D({ poolSize: 2, name: 'pool2' }));
    model.add(new Flatten({ name: 'flat' }));
    model.add(new Dense(1, { activation: 'sigmoid', name: 'out' }));
    model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'binary_crossentropy' });
    const [x, y] = data(16, 11);
    const before = path.join(tmp, 'order-before.safetensors');
    const after = path.join(tmp, 'order-after.safetensors');
    const inputs = path.join(tmp, 'order-inputs.f32');
    await model.save(before);
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) losses.push((await model.trainOnBatch(x, y)) as number);
    await model.save(after);
    fs.writeFileSync(inputs, Buffer.from((x.dataSync() as Float32Array).buffer));
    const script = `${LOAD_STATE}
model = torch.nn.Sequential(OrderedDict([
    ('conv', torch.nn.Conv2d(3, 4, 3)), ('relu', torch.nn.ReLU()), ('pool', torch.nn.MaxPool2d(2)),
    ('conv2', torch.nn.Conv2d(4, 3, 2)), ('tanh', torch.nn.Tanh()), ('pool2', torch.nn.MaxPool2d(2)),
    ('flat', ChannelsLastFlatten()), ('out', torch.nn.Linear(3, 1))]))
model.load_state_dict(state)
x = torch.frombuffer(bytearray(open(sys.argv[3], 'rb').read()), dtype=torch.float32).reshape(16, 8, 8, 3).permute(0, 3, 1, 2)
y = torch.tensor([float(i % 2) for i in range(16)]).reshape(16, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
losses = []
for step in range(3):
    optimizer.zero_grad()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
trained = load_state(sys.argv[2])
difference = max((model.state_dict()[name] - value).abs().max().item() for name, value in trained.items())
print(json.dumps({'losses': losses, 'difference': difference}))
`;
    const theirs = JSON.parse(runPython(script, [before, after, inputs])) as { losses: number[]; difference: number };
    expect(theirs.losses).toHaveLength(losses.length);
    theirs.losses.forEach((loss, i) => expect(loss).toBeCloseTo(losses[i], 5));
    expect(theirs.difference).toBeLessThan(1e-5);
  });
});

// These run the compiled package in child processes, as a user's program would.
const dist = path.resolve(__dirname, '../../dist/index.js');

describe('model files across processes', () => {
  test('a model saved here is loaded by a fresh process and predicts identically', async () => {
    setSeed(11);
    const model = smallCnn();
    const [x, y] = data(8, 4);
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const file = path.join(tmp, 'fresh.safetensors');
    await model.save(file);
    const inputs = path.join(tmp, 'fresh-inputs.f32');
    fs.writeFileSync(inputs, Buffer.from((x.dataSync() as Float32Array).buffer));
    const script = `
      const fs = require('fs');
      const { loadModel, tensor } = require(${JSON.stringify(dist)});
      (async () => {
        const model = await loadModel(${JSON.stringify(file)});
        const raw = fs.readFileSync(${JSON.stringify(inputs)});
        const x = tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4), [8, 8, 8, 3]);
        process.stdout.write(JSON.stringify(Array.from((await model.predict(x)).dataSync())));
      })();`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(Array.from((await model.predict(x)).dataSync() as Float32Array));
  });

  test('a process killed while saving leaves the previous file intact', () => {
    const file = path.join(tmp, 'atomic.safetensors');
    // A first save of a small model, then a child that starts saving a 64 MB one over it and is killed mid-write.
    const script = (units: number, kill: boolean) => `
      const { Sequential, Dense } = require(${JSON.stringify(dist)});
      const model = new Sequential([new Dense(${units}, { inputShape: [${units}] })]);
      model.save(${JSON.stringify(file)}).then(() => process.stdout.write('saved'));
      ${kill ? `
      // Killed once the new file is half written: the temporary file exists and holds data.
      const fs = require('fs');
      const timer = setInterval(() => {
        for (const name of fs.readdirSync(${JSON.stringify(tmp)})) {
          if (name.startsWith('.keras-torch-') && fs.statSync(${JSON.stringify(tmp)} + '/' + name).size > 1 << 20) {
            fs.writeSync(1, 'writing');
            process.kill(process.pid, 'SIGKILL');
          }
        }
      }, 1);` : ''}`;
    expect(spawnSync(process.execPath, ['-e', script(8, false)], { encoding: 'utf8', timeout: 60_000 }).stdout).toBe('saved');
    const before = fs.readFileSync(file);
    // A child that outlives the timeout is killed with SIGTERM, which fails the signal check below with a message.
    const killed = spawnSync(process.execPath, ['-e', script(4096, true)], { encoding: 'utf8', timeout: 60_000 });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toBe('writing');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(parseSafetensors(fs.readFileSync(file), file).tensors.get('dense.weight')?.shape ?? null).not.toBeNull();
  });
});
