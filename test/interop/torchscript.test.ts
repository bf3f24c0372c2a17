/**
 * loadTorchScript: modules scripted and traced by PyTorch in this test (torchvision's ResNet18 and
 * MobileNetV2 with random weights, small modules of our own), predicted and trained here and compared with
 * what PyTorch computes for the same weights and batches.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTorchScript, losses, SGD, Tensor, tensor, TorchScriptModel } from '../../lib';
import { expectClose, loopTurnsWhile, values } from '../helpers';
import { describeIf } from '../helpers/peers';
import { pythonHas, runPython } from '../helpers/python';

const describeWithPeers = describeIf(pythonHas('torchvision'), 'loadTorchScript: needs Debian python3 with torch and torchvision (apt-get install python3-torchvision)');

// torch.jit.script reads the classes' source, so the script runs from a file rather than from `-c`.
const RUN_FILE = 'import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")';

const MAKE_MODULES = `
import json, os, sys, torch, torchvision
out = sys.argv[1]
torch.manual_seed(0)

def write(name, t):
    open(os.path.join(out, name), 'wb').write(t.detach().contiguous().float().numpy().tobytes())

def flat(t):
    return t.detach().flatten().tolist()

def counts(module):
    return {'total': sum(v.numel() for v in module.state_dict().values()), 'trainable': sum(p.numel() for p in module.parameters())}

def with_running_stats(module):
    # Moving statistics other than the initial 0 and 1, so that eval mode shows in the outputs.
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return module.eval()

result = {}
image = torch.rand(2, 3, 64, 64)
write('image.bin', image)
resnet = torch.jit.script(with_running_stats(torchvision.models.resnet18(num_classes=10)))
resnet.save(os.path.join(out, 'resnet18.pt'))
with torch.no_grad():
    result['resnet'] = {'outputs': flat(resnet(image)), **counts(resnet)}
mobilenet = torch.jit.trace(with_running_stats(torchvision.models.mobilenet_v2(num_classes=10)), image)
mobilenet.save(os.path.join(out, 'mobilenet_v2.pt'))
with torch.no_grad():
    result['mobilenet'] = {'outputs': flat(mobilenet(image))}

class Tiny(torch.nn.Module):
    def __init__(self, dropout: bool):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.drop = torch.nn.Dropout(0.5 if dropout else 0.0)
        self.fc = torch.nn.Linear(4 * 6 * 6, 3)
    def forward(self, x):
        return self.fc(self.drop(torch.relu(self.bn(self.conv(x)))).flatten(1))

small = torch.rand(6, 3, 8, 8)
labels = torch.tensor([0, 1, 2, 1, 0, 2])
write('small.bin', small)
tiny = torch.jit.script(with_running_stats(Tiny(True)))
tiny.save(os.path.join(out, 'tiny.pt'))
with torch.no_grad():
    result['tiny'] = {'outputs': flat(tiny(small))}

# Training: three SGD steps on one batch, in train mode (BatchNorm on batch statistics, updating its running ones).
trainable = torch.jit.script(with_running_stats(Tiny(False)))
trainable.save(os.path.join(out, 'trainable.pt'))
reference = torch.jit.load(os.path.join(out, 'trainable.pt'))
reference.train()
optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
steps = []
for step in range(3):
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(reference(small), labels)
    loss.backward()
    optimizer.step()
    steps.append(loss.item())
    if step == 0:
        result['afterOneStep'] = {k: flat(v) for k, v in reference.state_dict().items()}
reference.eval()
with torch.no_grad():
    logits = reference(small)
    result['training'] = {
        'losses': steps,
        'evalLoss': torch.nn.functional.cross_entropy(logits, labels).item(),
        'evalAccuracy': (logits.argmax(1) == labels).float().mean().item(),
        'labels': labels.tolist(),
    }

class Pair(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)
    def forward(self, features, offset):
        y = self.fc(features)
        return y, y + offset

pair = torch.jit.script(Pair())
pair.save(os.path.join(out, 'pair.pt'))
features, offset = torch.rand(3, 4), torch.rand(3, 2)
with torch.no_grad():
    result['pair'] = {'features': flat(features), 'offset': flat(offset), 'outputs': [flat(t) for t in pair(features, offset)]}

class Keyed(torch.nn.Module):
    def forward(self, x):
        return {'x': x}

torch.jit.script(Keyed()).save(os.path.join(out, 'dict.pt'))
torch.jit.script(torch.nn.Linear(2, 2).double()).save(os.path.join(out, 'double.pt'))
torch.save(Tiny(False).state_dict(), os.path.join(out, 'state_dict.pt'))
print(json.dumps(result))
`;

const STATE_OF_FILE = `
import json, sys, torch
module = torch.jit.load(sys.argv[1])
print(json.dumps({'training': module.training, 'state': {k: v.flatten().tolist() for k, v in module.state_dict().items()}}))
`;

interface Made {
  resnet: { outputs: number[]; total: number; trainable: number };
  mobilenet: { outputs: number[] };
  tiny: { outputs: number[] };
  afterOneStep: Record<string, number[]>;
  training: { losses: number[]; evalLoss: number; evalAccuracy: number; labels: number[] };
  pair: { features: number[]; offset: number[]; outputs: number[][] };
}

let dir: string;
let made: Made;
let image: Tensor;
let small: Tensor;

/** An NCHW batch's values, channels-last. */
function channelsLast(t: Tensor): Tensor {
  const [n, c, h, w] = t.shape;
  const source = t.dataSync() as Float32Array;
  const result = new Float32Array(source.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    result[((b * h + y) * w + x) * c + k] = source[((b * c + k) * h + y) * w + x];
  }
  return tensor(result, [n, h, w, c]);
}

/** Flat values as nested arrays of `shape`. */
function nested(flat: ArrayLike<number>, shape: number[]): unknown[] {
  if (shape.length === 1) return Array.from(flat);
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nested(Array.prototype.slice.call(flat, i * inner, (i + 1) * inner), shape.slice(1)));
}

function file(name: string): string {
  return path.join(dir, name);
}

function readFloats(name: string, shape: number[]): Tensor {
  const bytes = fs.readFileSync(file(name));
  return tensor(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice(), shape);
}

function numbers(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
}

const sparseLogits = () => new losses.SparseCategoricalCrossentropy({ fromLogits: true });

describeWithPeers('loadTorchScript', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-torchscript-'));
    const script = file('make_modules.py');
    fs.writeFileSync(script, MAKE_MODULES);
    made = JSON.parse(runPython(RUN_FILE, [script, dir])) as Made;
    image = readFloats('image.bin', [2, 3, 64, 64]);
    small = readFloats('small.bin', [6, 3, 8, 8]);
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('predict, as PyTorch computes in eval mode', () => {
    test("a scripted torchvision ResNet18 on NCHW batches; its parameters counted as PyTorch's state_dict holds them", async () => {
      const model = await loadTorchScript(file('resnet18.pt'), { inputFormat: 'NCHW' });
      expect(model).toBeInstanceOf(TorchScriptModel);
      expect(model.name).toBe('ResNet');
      expect(model.inputNames).toEqual(['x']);
      const prediction = (await model.predict(image)) as Tensor;
      expect(prediction.shape).toEqual([2, 10]);
      expectClose(values(prediction), made.resnet.outputs, 1e-5);
      expect(model.countParams()).toBe(made.resnet.total);
      const lines: string[] = [];
      const text = model.summary({ printFn: (line) => lines.push(line) });
      expect(lines).toEqual([text]);
      expect(text).toMatch(/layer1 \(Sequential\)/);
      expect(text).toMatch(/fc \(Linear\)\s+│ \?\s+│\s+5,130 │/);
      expect(text).toContain(`Trainable params: ${made.resnet.trainable.toLocaleString('en-US')}`);
      model.dispose();
    });

    test("the same ResNet18 with inputFormat 'NHWC' takes channels-last batches", async () => {
      const model = await loadTorchScript(file('resnet18.pt'), { inputFormat: 'NHWC' });
      expectClose(values((await model.predictOnBatch(channelsLast(image))) as Tensor), made.resnet.outputs, 1e-5);
      model.dispose();
    });

    test('a traced torchvision MobileNetV2 at 64x64, NCHW and NHWC', async () => {
      const nchw = await loadTorchScript(file('mobilenet_v2.pt'));
      expectClose(values((await nchw.predict(image)) as Tensor), made.mobilenet.outputs, 1e-5);
      const nhwc = await loadTorchScript(file('mobilenet_v2.pt'), { inputFormat: 'NHWC' });
      expectClose(values((await nhwc.predict(channelsLast(image), { batchSize: 1 })) as Tensor), made.mobilenet.outputs, 1e-5);
    });

    test('a module with Dropout and BatchNorm runs in eval mode, from nested arrays as from a Tensor', async () => {
      const model = await loadTorchScript(file('tiny.pt'));
      const fromArrays = (await model.predict(nested(small.dataSync() as Float32Array, [6, 3, 8, 8]) as never)) as Tensor;
      expectClose(values(fromArrays), made.tiny.outputs, 1e-5);
      // An evaluation step runs in eval mode too (Dropout off, nothing updated); predict then gives the same again.
      model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: sparseLogits() });
      await model.testOnBatch(small, tensor(made.training.labels, [6, 1]));
      expectClose(values((await model.predict(small)) as Tensor), made.tiny.outputs, 1e-5);
      // Calls made together run as one batch of the dynamic batcher, each getting its own rows.
      const halves = await Promise.all([0, 3].map((start) => model.predictBatched(tensor((small.dataSync() as Float32Array).slice(start * 192, (start + 3) * 192), [3, 3, 8, 8]))));
      expectClose(halves.flatMap((t) => values(t as Tensor)), made.tiny.outputs, 1e-5);
    });

    test('several inputs by forward argument name, a tuple of outputs as an array', async () => {
      const model = await loadTorchScript(file('pair.pt'));
      expect(model.inputNames).toEqual(['features', 'offset']);
      expect(model.outputNames).toEqual(['output_0', 'output_1']);
      const outputs = (await model.predict({ features: tensor(made.pair.features, [3, 4]), offset: tensor(made.pair.offset, [3, 2]) })) as Tensor[];
      expect(outputs.map((t) => t.shape)).toEqual([[3, 2], [3, 2]]);
      outputs.forEach((t, i) => expectClose(values(t), made.pair.outputs[i], 1e-6));
    });
  });

  describe('training in the native step, as PyTorch trains the same module', () => {
    test('fit: the losses of three SGD steps, then evaluate in eval mode with a metric', async () => {
      const model = await loadTorchScript(file('trainable.pt'));
      model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: sparseLogits(), metrics: ['accuracy'] });
      const y = tensor(made.training.labels, [6, 1]);
      const history = await model.fit(small, y, { epochs: 3, batchSize: 6, shuffle: false, verbose: 0 });
      expectClose(history.history.loss as number[], made.training.losses, 1e-5);
      const [loss, accuracy] = (await model.evaluate(small, y, { verbose: 0 })) as number[];
      expectClose([loss], [made.training.evalLoss], 1e-5);
      expect(accuracy).toBeCloseTo(made.training.evalAccuracy, 6);
    });

    test("trainOnBatch on NHWC batches: one step's parameters and BatchNorm statistics; save() writes them for torch.jit.load", async () => {
      const model = await loadTorchScript(file('trainable.pt'), { inputFormat: 'NHWC' });
      model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: sparseLogits() });
      await model.trainOnBatch(channelsLast(small), tensor(made.training.labels, [6, 1]));
      const expected = Object.values(made.afterOneStep);
      const weights = model.getWeights();
      expect(weights).toHaveLength(expected.length);
      weights.forEach((w, i) => expectClose(numbers(w), expected[i], 1e-5));
      await model.save(file('trained.pt'));
      const saved = JSON.parse(runPython(STATE_OF_FILE, [file('trained.pt')])) as { training: boolean; state: Record<string, number[]> };
      expect(saved.training).toBe(false);
      expect(Object.keys(saved.state)).toEqual(Object.keys(made.afterOneStep));
      Object.entries(made.afterOneStep).forEach(([name, value]) => expectClose(saved.state[name], value, 1e-5));
    });

    test('a frozen model (trainable = false) keeps its weights and runs BatchNorm on its running statistics', async () => {
      const model = await loadTorchScript(file('trainable.pt'));
      const before = model.getWeights().map(numbers);
      model.trainable = false;
      model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: sparseLogits() });
      const loss = (await model.trainOnBatch(small, tensor(made.training.labels, [6, 1]))) as number;
      model.getWeights().forEach((w, i) => expect(numbers(w)).toEqual(before[i]));
      const fresh = await loadTorchScript(file('trainable.pt'));
      fresh.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: sparseLogits() });
      expectClose([loss], [(await fresh.testOnBatch(small, tensor(made.training.labels, [6, 1]))) as number], 1e-6);
    });

    test('save() without a file resolves the bytes, which loadTorchScript reads back', async () => {
      const model = await loadTorchScript(file('tiny.pt'));
      const bytes = await model.save();
      const copy = await loadTorchScript(bytes);
      expectClose(values((await copy.predict(small)) as Tensor), made.tiny.outputs, 1e-6);
    });
  });

  describe('off the event loop', () => {
    const turnsWhile = async <T>(work: () => Promise<T>) => (await loopTurnsWhile(work)).turns;

    test('loading, predicting and a training step let the loop turn', async () => {
      let model: TorchScriptModel | undefined;
      expect(await turnsWhile(async () => (model = await loadTorchScript(file('resnet18.pt'))))).toBe(10);
      const batch = tensor(new Float32Array(16 * 3 * 64 * 64).fill(0.5), [16, 3, 64, 64]);
      await model!.predict(batch);
      expect(await turnsWhile(() => model!.predict(batch))).toBe(10);
      model!.compile({ optimizer: 'sgd', loss: sparseLogits() });
      const y = tensor(new Float32Array(16).fill(3), [16, 1]);
      await model!.trainOnBatch(batch, y);
      expect(await turnsWhile(() => model!.trainOnBatch(batch, y))).toBe(10);
    });
  });

  describe('errors', () => {
    test('a missing file, a file that is not TorchScript, a bad inputFormat', async () => {
      await expect(loadTorchScript(file('missing.pt'))).rejects.toThrow(/^loadTorchScript: cannot read ".*missing\.pt": no such file \(ENOENT\)$/);
      await expect(loadTorchScript(dir)).rejects.toThrow(/loadTorchScript: cannot read .*: not a regular file/);
      fs.writeFileSync(file('notes.txt'), 'not a model');
      await expect(loadTorchScript(file('notes.txt'))).rejects.toThrow(/loadTorchScript: .*notes\.txt is not a TorchScript file that libtorch \d+\.\d+\S* can read \(torch\.jit\.save of a torch\.jit\.script or torch\.jit\.trace module\)/);
      await expect(loadTorchScript(file('state_dict.pt'))).rejects.toThrow(/loadTorchScript: .*state_dict\.pt is not a TorchScript file/);
      await expect(loadTorchScript(Buffer.from('not a model'))).rejects.toThrow(/loadTorchScript: the TorchScript buffer is not a TorchScript file/);
      await expect(loadTorchScript(file('tiny.pt'), { inputFormat: 'NWHC' as never })).rejects.toThrow("loadTorchScript: expected inputFormat to be one of 'NCHW', 'NHWC' but received \"NWHC\"");
      await expect(loadTorchScript(file('tiny.pt'), { inputFormat: 3 as never })).rejects.toThrow("expected inputFormat to be one of 'NCHW', 'NHWC' but received 3");
      await expect(loadTorchScript(file('tiny.pt'), { format: 'NHWC' } as never)).rejects.toThrow(/loadTorchScript: .*format/);
      await expect(loadTorchScript(42 as never)).rejects.toThrow('loadTorchScript: expected a TorchScript file path or a Buffer of one but received 42');
    });

    test('modules whose forward or weights keras-torch cannot run are refused at load, by name', async () => {
      await expect(loadTorchScript(file('dict.pt'))).rejects.toThrow(/dict\.pt: forward returns Dict\[str, Tensor\]; expected a Tensor or a tuple of Tensors/);
      await expect(loadTorchScript(file('double.pt'))).rejects.toThrow(/double\.pt: weight 'weight' is Double; expected float32 weights/);
    });

    test("a batch of the wrong rank or shape rejects with libtorch's error naming the input; the model still predicts", async () => {
      const nchw = await loadTorchScript(file('resnet18.pt'));
      await expect(nchw.predict(tensor(new Float32Array(2 * 64 * 64), [2, 64, 64]))).rejects.toThrow(
        // libtorch takes a 3-D batch for one unbatched image of 2 channels.
        /^predict: the TorchScript module's forward failed on input 'x' of shape \[2, 64, 64\]: RuntimeError: Given groups=1, weight of size \[64, 3, 7, 7\], expected input\[1, 2, 64, 64\] to have 3 channels, but got 2 channels instead$/,
      );
      await expect(nchw.predict(channelsLast(image))).rejects.toThrow(
        /^predict: the TorchScript module's forward failed on input 'x' of shape \[2, 64, 64, 3\]: RuntimeError: .*expected input\[2, 64, 64, 3\] to have 3 channels, but got 64 channels instead$/,
      );
      const nhwc = await loadTorchScript(file('resnet18.pt'), { inputFormat: 'NHWC' });
      await expect(nhwc.predict(tensor(new Float32Array(2 * 64 * 3), [2, 64, 3]))).rejects.toThrow(
        "predict: expected input 'x' to be 4-D [batch, height, width, channels] (inputFormat 'NHWC') but received shape [2, 64, 3]",
      );
      expectClose(values((await nchw.predict(image)) as Tensor), made.resnet.outputs, 1e-5);
      const pair = await loadTorchScript(file('pair.pt'));
      await expect(pair.predict(tensor(made.pair.features, [3, 4]))).rejects.toThrow(/predict: .*2 inputs/);
    });

    test('after dispose; saving the weights alone or to a .safetensors path', async () => {
      const model = await loadTorchScript(file('tiny.pt'));
      await expect(model.saveWeights(file('weights.safetensors'))).rejects.toThrow(
        "saveWeights: not supported for TorchScript model 'Tiny'; save() writes the module with its weights as a TorchScript file",
      );
      await expect(model.save(file('tiny.safetensors'))).rejects.toThrow(
        /^save: expected a path for a TorchScript file \(model\.pt\), which is what a TorchScript model writes, not \.safetensors but received ".*tiny\.safetensors"$/,
      );
      model.dispose();
      expect(model.isDisposed).toBe(true);
      await expect(model.predict(small)).rejects.toThrow("predict: model 'Tiny' was disposed");
      expect(() => model.getWeights()).toThrow("getWeights: model 'Tiny' was disposed");
      await expect(model.save(file('x.pt'))).rejects.toThrow("save: model 'Tiny' was disposed");
    });
  });
});
