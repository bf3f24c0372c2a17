/**
 * Reference outputs and SGD steps for the convolution, padding and pooling layers, computed by PyTorch in
 * one Python child per test file. Each op is written from TensorFlow's definition (NHWC tensors, Keras's
 * weight layouts converted here, "same" padding computed as TensorFlow does), not from our native code.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Layer, SGD, tensor } from '../../lib';
import { expectClose, seededRandom, values } from '../helpers';
import { describeIf } from '../helpers/peers';
import { pythonHas, runPython } from '../helpers/python';
import { fixedModel } from './harness';

/** One op of REFERENCE_OPS with its options and how many of the weights it takes. */
export interface ReferenceStep {
  op: string;
  options?: Record<string, unknown>;
  weightCount: number;
}

export interface ReferenceCase {
  /** The ops of REFERENCE_OPS below, applied in order. */
  steps: ReferenceStep[];
  /** Channels-last input, flat, and its shape with the batch axis. */
  x: number[];
  shape: number[];
  /** Weights in Keras's layouts, in Keras's order. */
  weights?: { values: number[]; shape: number[] }[];
  /** One SGD step on mean((y - target)^2): the updated weights come back too. */
  train?: { target: number[]; learningRate: number };
}

export interface ReferenceResult {
  /** Channels-last output, flat. */
  output: number[];
  outputShape: number[];
  /** After the SGD step, in Keras's layouts. */
  weights?: number[][];
}

const REFERENCE_OPS = String.raw`
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)

def same_pad(size, kernel, stride, dilation):
    # TensorFlow's SAME: output ceil(size / stride), the odd cell of padding after.
    extent = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2

def pad_hw(x, o, kernel, strides, dilation):
    if o.get('padding', 'valid') == 'valid':
        return x
    t, b = same_pad(x.shape[2], kernel[0], strides[0], dilation[0])
    l, r = same_pad(x.shape[3], kernel[1], strides[1], dilation[1])
    return F.pad(x, (l, r, t, b))

ACTIVATIONS = {'linear': lambda v: v, 'relu': torch.relu, 'relu6': F.relu6, 'sigmoid': torch.sigmoid, 'tanh': torch.tanh,
               'softmax': lambda v: torch.softmax(v, dim=-1)}

def conv2d(x, w, o):
    # x NCHW; w Keras [kh, kw, in / groups, filters] -> torch [filters, in / groups, kh, kw]
    k, s, d = w.shape[:2], o['strides'], o['dilationRate']
    return F.conv2d(pad_hw(x, o, k, s, d), w.permute(3, 2, 0, 1), stride=s, dilation=d, groups=o.get('groups', 1))

def depthwise(x, w, o):
    # Keras [kh, kw, in, multiplier]: output channel c * multiplier + m reads input channel c.
    kh, kw, channels, multiplier = w.shape
    kernel = w.permute(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
    s, d = o['strides'], o['dilationRate']
    return F.conv2d(pad_hw(x, o, (kh, kw), s, d), kernel, stride=s, dilation=d, groups=channels)

def transpose_length(size, kernel, stride, dilation, padding, output_padding):
    extent = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride + max(extent - stride, 0) if padding == 'valid' else size * stride
    pad = extent // 2 if padding == 'same' else 0
    return (size - 1) * stride + extent - 2 * pad + output_padding

def conv2d_transpose(x, w, o):
    # TensorFlow's definition: the gradient, with respect to its input, of the convolution that maps an
    # image of the output's size to one of x's size; Keras's kernel [kh, kw, filters, in] is that
    # convolution's kernel [kh, kw, in_channels = filters, out_channels = in].
    kh, kw, filters, _ = w.shape
    s, d = o['strides'], o['dilationRate']
    op = o.get('outputPadding') or [None, None]
    size = [transpose_length(x.shape[2 + a], (kh, kw)[a], s[a], d[a], o['padding'], op[a]) for a in (0, 1)]
    z = torch.zeros(x.shape[0], filters, *size, requires_grad=True)
    y = F.conv2d(pad_hw(z, o, (kh, kw), s, d), w.permute(3, 2, 0, 1), stride=s, dilation=d)
    assert y.shape == x.shape, (y.shape, x.shape)
    (result,) = torch.autograd.grad((y * x).sum(), z, create_graph=True)
    return result

def conv1d(x, w, o):
    # x [N, steps, channels]; w Keras [k, in / groups, filters] -> torch [filters, in / groups, k]
    k, s, d = w.shape[0], o['strides'], o['dilationRate']
    steps = x.permute(0, 2, 1)
    if o['padding'] == 'same':
        steps = F.pad(steps, same_pad(steps.shape[2], k, s, d))
    elif o['padding'] == 'causal':
        steps = F.pad(steps, ((k - 1) * d, 0))
    return F.conv1d(steps, w.permute(2, 1, 0), stride=s, dilation=d, groups=o.get('groups', 1)).permute(0, 2, 1)

def with_bias(y, weights, index):
    if len(weights) <= index:
        return y
    shape = [1] * y.dim()
    shape[1 if y.dim() == 4 else -1] = -1
    return y + weights[index].reshape(shape)

def forward(op, o, x, weights):
    if op == 'conv2d':
        y = with_bias(conv2d(x, weights[0], o), weights, 1)
    elif op == 'depthwise_conv2d':
        y = with_bias(depthwise(x, weights[0], o), weights, 1)
    elif op == 'separable_conv2d':
        inner = depthwise(x, weights[0], o)
        y = with_bias(F.conv2d(inner, weights[1].permute(3, 2, 0, 1)), weights, 2)
    elif op == 'conv2d_transpose':
        y = with_bias(conv2d_transpose(x, weights[0], o), weights, 1)
    elif op == 'conv1d':
        y = with_bias(conv1d(x, weights[0], o), weights, 1)
    elif op == 'zero_padding2d':
        (t, b), (l, r) = o['padding']
        y = F.pad(x, (l, r, t, b))
    elif op == 'cropping2d':
        (t, b), (l, r) = o['cropping']
        y = x[:, :, t:x.shape[2] - b, l:x.shape[3] - r]
    elif op == 'up_sampling2d_nearest':
        y = x.repeat_interleave(o['size'][0], 2).repeat_interleave(o['size'][1], 3)
    elif op == 'up_sampling2d_bilinear':
        size = (x.shape[2] * o['size'][0], x.shape[3] * o['size'][1])
        y = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
    elif op in ('max_pooling1d', 'average_pooling1d'):
        # Each window over the steps inside the sequence only, as Keras's "same" pooling.
        k, s = o['poolSize'], o['strides']
        steps = x.shape[1]
        before, after = same_pad(steps, k, s, 1) if o['padding'] == 'same' else (0, 0)
        count = (steps + before + after - k) // s + 1
        windows = []
        for i in range(count):
            start, end = max(i * s - before, 0), min(i * s - before + k, steps)
            part = x[:, start:end, :]
            windows.append(part.amax(1) if op == 'max_pooling1d' else part.mean(1))
        y = torch.stack(windows, 1)
    elif op == 'global_max_pooling2d':
        y = x.amax((2, 3))
    elif op == 'global_average_pooling1d':
        y = x.mean(1)
    elif op == 'global_max_pooling1d':
        y = x.amax(1)
    else:
        raise ValueError('unknown op ' + op)
    return ACTIVATIONS[o.get('activation', 'linear')](y)

def run(case):
    x = torch.tensor(case['x']).reshape(case['shape'])
    if x.dim() == 4:
        x = x.permute(0, 3, 1, 2)
    weights = [torch.tensor(w['values']).reshape(w['shape']).requires_grad_() for w in case.get('weights', [])]
    y, taken = x, 0
    for step in case['steps']:
        y = forward(step['op'], step.get('options') or {}, y, weights[taken:taken + step['weightCount']])
        taken += step['weightCount']
    assert taken == len(weights)
    if y.dim() == 4:
        y = y.permute(0, 2, 3, 1)
    result = {'output': y.flatten().tolist(), 'outputShape': list(y.shape)}
    train = case.get('train')
    if train:
        loss = ((y.flatten() - torch.tensor(train['target'])) ** 2).mean()
        grads = torch.autograd.grad(loss, weights)
        result['weights'] = [(w - train['learningRate'] * g).flatten().tolist() for w, g in zip(weights, grads)]
    return result

cases = json.load(open(sys.argv[1]))
print(json.dumps([run(case) for case in cases]))
`;

/** Runs every case in one Python child. */
export function torchReferences(cases: ReferenceCase[]): ReferenceResult[] {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-reference-'));
  try {
    const file = path.join(directory, 'cases.json');
    fs.writeFileSync(file, JSON.stringify(cases));
    return JSON.parse(runPython(REFERENCE_OPS, [file])) as ReferenceResult[];
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

export interface TorchCase {
  title: string;
  /** One layer, or several applied in order (each with its op in `op`). */
  make: () => Layer | Layer[];
  /** Without the batch axis; the batch is 2. */
  inputShape: number[];
  op: string | { op: string; options?: Record<string, unknown> }[];
  /** What the Python op reads: strides, dilationRate, padding, activation, ... as Keras spells them. */
  options?: Record<string, unknown>;
  /** Also compare one SGD step (learning rate 0.1, mean squared error) against PyTorch's. */
  train?: boolean;
}

/** Values in [-1, 1) from a seed, as float32 so both sides start from the same numbers. */
export function randomValues(count: number, seed: number): number[] {
  const next = seededRandom(seed);
  return Array.from(Float32Array.from({ length: count }, () => next() * 2 - 1));
}

const LEARNING_RATE = 0.1;

// Every describeAgainstTorch of a test file adds its cases while jest collects the file; the first
// beforeAll computes them all in one Python child (jest gives each file its own module state).
const pendingCases: ReferenceCase[] = [];
let computedReferences: ReferenceResult[] | undefined;

function allReferences(): ReferenceResult[] {
  if (!computedReferences || computedReferences.length !== pendingCases.length) computedReferences = torchReferences(pendingCases);
  return computedReferences;
}

/**
 * Each case's layer, on random inputs and random Keras-layout weights (setWeights), computes what PyTorch
 * computes with the same weights converted; with `train`, one trainOnBatch step moves the weights as
 * PyTorch's SGD step does. All references of a test file come from one Python child.
 */
export function describeAgainstTorch(title: string, cases: TorchCase[]): void {
  describeIf(pythonHas('torch'), 'the comparisons with PyTorch need python3-torch (apt-get install python3-torch)')(title, () => {
    const prepared = cases.map((c, i) => {
      const batchShape = [2, ...c.inputShape];
      const made = c.make();
      const layers = Array.isArray(made) ? made : [made];
      const model = fixedModel(c.inputShape, layers, [], { optimizer: new SGD({ learningRate: LEARNING_RATE }), loss: 'mse' });
      const ops = typeof c.op === 'string' ? [{ op: c.op, options: c.options }] : c.op;
      if (ops.length !== layers.length) throw new Error(`${c.title}: ${layers.length} layers but ${ops.length} ops`);
      const steps = ops.map((o, j) => ({ ...o, weightCount: layers[j].weightInfo((layers[j].inputShapes as number[][])[0]).length }));
      const weights = model.getWeights().map((w, j) => ({ values: randomValues(w.size, 1000 * i + j + 1), shape: [...w.shape] }));
      const x = randomValues(batchShape.reduce((a, b) => a * b, 1), 1000 * i + 500);
      const outputSize = 2 * (model.outputShape as number[]).reduce((a, b) => a * b, 1);
      const target = randomValues(outputSize, 1000 * i + 700);
      return { c, model, steps, batchShape, weights, x, target };
    });
    const first = pendingCases.length;
    for (const p of prepared) {
      pendingCases.push({
        steps: p.steps,
        x: p.x,
        shape: p.batchShape,
        weights: p.weights,
        train: p.c.train ? { target: p.target, learningRate: LEARNING_RATE } : undefined,
      });
    }
    let references: ReferenceResult[] = [];
    beforeAll(() => {
      references = allReferences().slice(first, first + prepared.length);
    });

    test.each(prepared.map((p, i) => [p.c.title, i] as const))('%s', async (_title, i) => {
      const p = prepared[i];
      const reference = references[i];
      const model = p.model;
      model.setWeights(p.weights.map((w) => tensor(Float32Array.from(w.values), w.shape)));
      const y = await model.predict(tensor(Float32Array.from(p.x), p.batchShape));
      expect(y.shape).toEqual(reference.outputShape);
      expectClose(values(y), reference.output, 1e-5);
      if (p.c.train) {
        await model.trainOnBatch(tensor(Float32Array.from(p.x), p.batchShape), tensor(Float32Array.from(p.target), reference.outputShape));
        const after = model.getWeights().map(values);
        expect(after.length).toBe(reference.weights?.length);
        after.forEach((w, j) => expectClose(w, (reference.weights as number[][])[j], 1e-5));
      }
    });
  });
}
