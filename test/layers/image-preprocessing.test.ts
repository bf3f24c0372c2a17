import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  Activation, Add, CenterCrop, Conv2D, Dense, Dropout, Flatten, Input, Layer, loadModel, Model, RandomBrightness, RandomContrast,
  RandomCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing, setSeed, SGD, Tensor, tensor,
} from '../../lib';
import { expectClose, seededRandom, values } from '../helpers';
import { describeIf } from '../helpers/peers';
import { pythonHas, runPython } from '../helpers/python';
import { describeLayer, fixedModel } from './harness';

const rank1 = { inputShape: [5], error: /expected input of rank 3 \(\[height, width, channels\]\) but received \[\*, 5\]/ };

describeLayer('Resizing', {
  shapes: [
    { title: 'bilinear down', make: () => new Resizing(4, 3), inputShape: [8, 6, 3], outputShape: [4, 3, 3], params: 0, weightShapes: [] },
    { title: 'nearest up, options object', make: () => new Resizing({ height: 9, width: 10, interpolation: 'nearest' }), inputShape: [3, 5, 2], outputShape: [9, 10, 2], params: 0, weightShapes: [] },
    { title: 'bicubic, crop to aspect ratio', make: () => new Resizing(4, 4, { interpolation: 'bicubic', cropToAspectRatio: true }), inputShape: [6, 9, 1], outputShape: [4, 4, 1], params: 0, weightShapes: [] },
    { title: 'area, pad to aspect ratio', make: () => new Resizing(2, 4, { interpolation: 'area', padToAspectRatio: true, fillValue: 1 }), inputShape: [4, 4, 3], outputShape: [2, 4, 3], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'height 0', make: () => new Resizing(0, 4), error: /Resizing 'resizing(_\d+)?': expected height to be a positive integer but received 0/ },
    { title: 'no width', make: () => new Resizing({ height: 4 }), error: /expected width to be a positive integer but received undefined/ },
    { title: 'lanczos3', make: () => new Resizing(4, 4, { interpolation: 'lanczos3' as 'area' }), error: /expected interpolation to be one of 'bilinear', 'nearest', 'bicubic', 'area' but received "lanczos3"/ },
    { title: 'crop and pad', make: () => new Resizing(4, 4, { cropToAspectRatio: true, padToAspectRatio: true }), error: /expected cropToAspectRatio or padToAspectRatio, not both/ },
    { title: 'fillMode reflect', make: () => new Resizing(4, 4, { fillMode: 'reflect' as 'constant' }), error: /expected fillMode to be one of 'constant' but received "reflect"/ },
  ],
  badInputs: [{ title: 'a vector', make: () => new Resizing(2, 2), ...rank1 }],
});

describeLayer('CenterCrop', {
  shapes: [
    { title: 'crop', make: () => new CenterCrop(3, 2), inputShape: [6, 5, 3], outputShape: [3, 2, 3], params: 0, weightShapes: [] },
    { title: 'smaller input: smart resize', make: () => new CenterCrop({ height: 8, width: 8 }), inputShape: [4, 6, 1], outputShape: [8, 8, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'width 2.5', make: () => new CenterCrop(2, 2.5), error: /CenterCrop 'center_crop(_\d+)?': expected width to be a positive integer but received 2.5/ }],
  badInputs: [{ title: 'a vector', make: () => new CenterCrop(2, 2), ...rank1 }],
});

describeLayer('RandomFlip', {
  shapes: [
    { title: 'default mode', make: () => new RandomFlip(), inputShape: [4, 5, 3], outputShape: [4, 5, 3], params: 0, weightShapes: [] },
    { title: 'horizontal, seeded', make: () => new RandomFlip('horizontal', { seed: 3 }), inputShape: [4, 5, 1], outputShape: [4, 5, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'mode diagonal', make: () => new RandomFlip('diagonal' as 'vertical'), error: /RandomFlip 'random_flip(_\d+)?': expected mode to be one of 'horizontal', 'vertical', 'horizontal_and_vertical' but received "diagonal"/ },
    { title: 'seed -1', make: () => new RandomFlip({ seed: -1 }), error: /expected seed to be a non-negative integer but received -1/ },
  ],
  badInputs: [{ title: 'a vector', make: () => new RandomFlip(), ...rank1 }],
});

describeLayer('RandomRotation', {
  shapes: [{ title: 'factor 0.2', make: () => new RandomRotation(0.2, { fillMode: 'constant', fillValue: 3 }), inputShape: [6, 6, 3], outputShape: [6, 6, 3], params: 0, weightShapes: [] }],
  badOptions: [
    { title: 'factor 1.5', make: () => new RandomRotation(1.5), error: /RandomRotation 'random_rotation(_\d+)?': expected factor to be a number or a pair of numbers in \[-1, 1\] but received 1.5/ },
    { title: 'fillMode mirror', make: () => new RandomRotation(0.1, { fillMode: 'mirror' as 'wrap' }), error: /expected fillMode to be one of 'reflect', 'wrap', 'constant', 'nearest' but received "mirror"/ },
    { title: 'interpolation bicubic', make: () => new RandomRotation(0.1, { interpolation: 'bicubic' as 'nearest' }), error: /expected interpolation to be one of 'bilinear', 'nearest' but received "bicubic"/ },
  ],
  badInputs: [{ title: 'a vector', make: () => new RandomRotation(0.1), ...rank1 }],
});

describeLayer('RandomZoom', {
  shapes: [{ title: 'height and width', make: () => new RandomZoom(0.2, { widthFactor: [-0.3, 0.1], interpolation: 'nearest' }), inputShape: [5, 7, 2], outputShape: [5, 7, 2], params: 0, weightShapes: [] }],
  badOptions: [
    { title: 'heightFactor -1', make: () => new RandomZoom(-1), error: /RandomZoom 'random_zoom(_\d+)?': expected heightFactor to be a number or a pair of numbers in \(-1, 1\] but received -1/ },
    { title: 'widthFactor of three', make: () => new RandomZoom(0.1, { widthFactor: [0.1, 0.2, 0.3] as unknown as number }), error: /expected widthFactor to be a number or a pair of numbers in \(-1, 1\] but received \[0.1, 0.2, 0.3\]/ },
  ],
});

describeLayer('RandomTranslation', {
  shapes: [{ title: 'both axes', make: () => new RandomTranslation(0.1, [-0.2, 0.3], { fillMode: 'wrap' }), inputShape: [5, 7, 2], outputShape: [5, 7, 2], params: 0, weightShapes: [] }],
  badOptions: [{ title: 'no widthFactor', make: () => new RandomTranslation(0.1, undefined as unknown as number), error: /RandomTranslation 'random_translation(_\d+)?': expected widthFactor to be a number or a pair of numbers in \[-1, 1\] but received undefined/ }],
});

describeLayer('RandomContrast', {
  shapes: [{ title: 'factor 0.3', make: () => new RandomContrast(0.3, { valueRange: [0, 1] }), inputShape: [4, 4, 3], outputShape: [4, 4, 3], params: 0, weightShapes: [] }],
  badOptions: [
    { title: 'factor -0.1', make: () => new RandomContrast(-0.1), error: /RandomContrast 'random_contrast(_\d+)?': expected factor to be a number or a pair of numbers in \[0, 1\] but received -0.1/ },
    { title: 'valueRange of one', make: () => new RandomContrast(0.1, { valueRange: [1] as unknown as [number, number] }), error: /expected valueRange to be a pair of finite numbers \[low, high\] but received \[1\]/ },
  ],
});

describeLayer('RandomBrightness', {
  shapes: [{ title: 'factor [-0.1, 0.2]', make: () => new RandomBrightness([-0.1, 0.2]), inputShape: [4, 4, 3], outputShape: [4, 4, 3], params: 0, weightShapes: [] }],
  badOptions: [{ title: 'factor a string', make: () => new RandomBrightness('0.1' as unknown as number), error: /RandomBrightness 'random_brightness(_\d+)?': expected factor to be a number or a pair of numbers in \[-1, 1\] but received "0.1"/ }],
});

describeLayer('RandomCrop', {
  shapes: [
    { title: 'crop', make: () => new RandomCrop(3, 4, { seed: 1 }), inputShape: [6, 6, 3], outputShape: [3, 4, 3], params: 0, weightShapes: [] },
    { title: 'larger than the input', make: () => new RandomCrop({ height: 8, width: 4 }), inputShape: [6, 6, 1], outputShape: [8, 4, 1], params: 0, weightShapes: [] },
  ],
  badOptions: [{ title: 'height -2', make: () => new RandomCrop(-2, 4), error: /RandomCrop 'random_crop(_\d+)?': expected height to be a positive integer but received -2/ }],
});

/** A batch of `shape` [n, h, w, c] with distinct values in [0, 255). */
function images(shape: number[], seed = 1): number[] {
  const next = seededRandom(seed);
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.round(next() * 2540) / 10);
}

/** The value at [n, h, w, c] of a channels-last batch of `shape`. */
function at(data: number[], shape: number[], n: number, h: number, w: number, c: number): number {
  return data[((n * shape[1] + h) * shape[2] + w) * shape[3] + c];
}

/** The layer's output in training mode (Keras's `layer(x, training=True)`), through a functional model. */
function trainingModel(layer: Layer, shape: number[]): Model {
  const input = Input({ shape: shape.slice(1) });
  return new Model({ inputs: input, outputs: layer.apply(input, { training: true }) });
}

/** The single output of `model` on `x`. */
async function predicted(model: Model, x: Tensor): Promise<number[]> {
  return values((await model.predict(x)) as Tensor);
}

async function augment(layer: Layer, data: number[], shape: number[]): Promise<number[]> {
  return predicted(trainingModel(layer, shape), tensor(data, shape));
}

describe('random layers: training and inference', () => {
  const shape = [16, 4, 5, 2];
  const data = images(shape);
  const layers: [string, () => Layer][] = [
    ['RandomFlip', () => new RandomFlip()],
    ['RandomRotation', () => new RandomRotation(0.3)],
    ['RandomZoom', () => new RandomZoom(0.3)],
    ['RandomTranslation', () => new RandomTranslation(0.3, 0.3)],
    ['RandomContrast', () => new RandomContrast(0.5)],
    ['RandomBrightness', () => new RandomBrightness(0.5)],
  ];

  test.each(layers)('%s: predict and evaluate pass the input unchanged; training changes it', async (_name, make) => {
    const layer = make();
    const model = fixedModel(shape.slice(1), [layer]);
    expect(values(await model.predict(tensor(data, shape)))).toEqual(data.map(Math.fround));
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    expect(await model.evaluate(tensor(data, shape), tensor(data, shape))).toBe(0);
    const augmented = await augment(layer, data, shape);
    expect(augmented).not.toEqual(data.map(Math.fround));
  });

  test('fit applies them: the training loss sees the augmented input, evaluate the plain one', async () => {
    // A brightness shift of exactly 0.25 of the range, summed by a Dense of ones; SGD with rate 0 keeps the weights.
    const input = Input({ shape: [2, 2, 1] });
    const shifted = new RandomBrightness([0.25, 0.25], { valueRange: [0, 1] }).apply(input);
    const output = new Dense(1, { kernelInitializer: 'ones', biasInitializer: 'zeros' }).apply(new Flatten().apply(shifted));
    const model = new Model({ inputs: input, outputs: output });
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'mse' });
    const x = tensor([0.1, 0.2, 0.9, 0.3], [1, 2, 2, 1]);
    const y = tensor([[0]]);
    const trained = (await model.trainOnBatch(x, y)) as number;
    const evaluated = (await model.evaluate(x, y)) as number;
    expect(evaluated).toBeCloseTo(1.5 ** 2, 5);
    expect(trained).toBeCloseTo((0.35 + 0.45 + 1 + 0.55) ** 2, 5); // 0.9 + 0.25 clips to 1
  });

  test('seeded: the same seed draws the same augmentation, another seed another; setSeed seeds unseeded layers', async () => {
    const run = (layer: Layer) => augment(layer, data, shape);
    const a = await run(new RandomRotation(0.3, { seed: 7 }));
    expect(await run(new RandomRotation(0.3, { seed: 7 }))).toEqual(a);
    expect(await run(new RandomRotation(0.3, { seed: 8 }))).not.toEqual(a);
    setSeed(42);
    const first = await run(new RandomZoom(0.3));
    setSeed(42);
    expect(await run(new RandomZoom(0.3))).toEqual(first);
    // The stream moves on: a second batch draws anew.
    const model = trainingModel(new RandomFlip({ seed: 1 }), shape);
    const batches = [await predicted(model, tensor(data, shape)), await predicted(model, tensor(data, shape))];
    expect(batches[1]).not.toEqual(batches[0]);
  });

  test('fit restarts each stream per epoch from the seed: epochs differ, a second fit repeats them', async () => {
    // SGD with rate 0 keeps the weights, so each epoch's loss shows that epoch's brightness shift alone.
    const input = Input({ shape: [2, 2, 1] });
    const shifted = new RandomBrightness(0.5, { valueRange: [0, 1] }).apply(input);
    const output = new Dense(1, { kernelInitializer: 'ones', biasInitializer: 'zeros' }).apply(new Flatten().apply(shifted));
    const model = new Model({ inputs: input, outputs: output });
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'mse' });
    const run = async () => (await model.fit(tensor([0.4, 0.5, 0.6, 0.5], [1, 2, 2, 1]), tensor([[0]]), { epochs: 3, verbose: 0 })).history.loss;
    const first = await run();
    expect(new Set(first).size).toBe(3);
    expect(await run()).toEqual(first);
  });

  test('save and load keep the layers and their options', async () => {
    const model = fixedModel([6, 8, 3], [
      new RandomFlip('horizontal', { seed: 3 }), new RandomRotation([-0.1, 0.2], { fillMode: 'constant', fillValue: 2 }), new RandomCrop(5, 5),
      new Resizing(4, 4, { interpolation: 'nearest' }), new CenterCrop(3, 3), new RandomContrast(0.1), new RandomBrightness(0.1, { valueRange: [0, 1] }),
      new RandomZoom(0.2, { widthFactor: 0.1 }), new RandomTranslation(0.1, 0.2),
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-layers-'));
    try {
      await model.save(path.join(dir, 'm.safetensors'));
      const loaded = await loadModel(path.join(dir, 'm.safetensors'));
      expect(loaded.layers.map((l) => [l.className, l.getConfig()])).toEqual(model.layers.map((l) => [l.className, l.getConfig()]));
      const x = tensor(data.slice(0, 2 * 6 * 8 * 3).map((v) => v / 255), [2, 6, 8, 3]);
      expect(values(await loaded.predict(x))).toEqual(values(await model.predict(x)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    ['RandomFlip', () => new RandomFlip()],
    ['CenterCrop of the whole image', () => new CenterCrop(3, 3)],
    ['Resizing to the same size', () => new Resizing(3, 3)],
    ['Dropout', () => new Dropout(0.5)],
  ] as [string, () => Layer][])('predict never writes into what a layer passes on unchanged (%s): the input, a shortcut', async (_name, make) => {
    const input = Input({ shape: [3, 3, 1] });
    const copy = new Rescaling(1).apply(input);
    const passed = make().apply(copy);
    const rectified = new Activation('relu').apply(passed);
    const direct = new Activation('relu').apply(make().apply(input));
    const model = new Model({ inputs: input, outputs: [new Add().apply([copy, rectified]), direct] });
    const data = [-1, 2, -3, 4, -5, 6, -7, 8, -9];
    const x = tensor(data, [1, 3, 3, 1]);
    const [sum, relu] = (await model.predict(x)) as Tensor[];
    expect(values(x)).toEqual(data);
    expect(values(sum)).toEqual(data.map((v) => v + Math.max(v, 0)));
    expect(values(relu)).toEqual(data.map((v) => Math.max(v, 0)));
  });

  test('RandomFlip: each image is itself or its mirror image, both occur; horizontal_and_vertical flips both axes at once', async () => {
    const [n, h, w, c] = shape;
    for (const mode of ['horizontal', 'vertical', 'horizontal_and_vertical'] as const) {
      const out = await augment(new RandomFlip(mode, { seed: 5 }), data, shape);
      let flipped = 0;
      for (let i = 0; i < n; i++) {
        const image = out.slice(i * h * w * c, (i + 1) * h * w * c);
        const mirror: number[] = [];
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            for (let ch = 0; ch < c; ch++) {
              const sy = mode === 'horizontal' ? y : h - 1 - y;
              const sx = mode === 'vertical' ? x : w - 1 - x;
              mirror.push(Math.fround(at(data, shape, i, sy, sx, ch)));
            }
          }
        }
        const original = data.slice(i * h * w * c, (i + 1) * h * w * c).map(Math.fround);
        if (image.every((v, k) => v === mirror[k])) flipped++;
        else expect(image).toEqual(original);
      }
      expect(flipped).toBeGreaterThan(0);
      expect(flipped).toBeLessThan(n);
    }
  });

  test('RandomRotation by a quarter turn is exact: out[r][c] = in[c][n - 1 - r] (counter-clockwise)', async () => {
    const square = [2, 5, 5, 3];
    const input = images(square, 9);
    const out = await augment(new RandomRotation([0.25, 0.25]), input, square);
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let r = 0; r < 5; r++) for (let col = 0; col < 5; col++) for (let ch = 0; ch < 3; ch++) expected.push(at(input, square, i, col, 4 - r, ch));
    expectClose(out, expected, 1e-3);
  });

  test('RandomContrast: (x - mean) * factor + mean with one factor per image in [1 - f, 1 + f]; clipped to valueRange', async () => {
    const [n, h, w, c] = shape;
    const wide = await augment(new RandomContrast(0.4, { valueRange: [-1000, 1000], seed: 2 }), data, shape);
    const factors: number[] = [];
    for (let i = 0; i < n; i++) {
      const means = Array.from({ length: c }, (_, ch) => {
        let sum = 0;
        for (let p = 0; p < h * w; p++) sum += data[(i * h * w + p) * c + ch];
        return sum / (h * w);
      });
      const k = i * h * w * c;
      const factor = (wide[k] - means[0]) / (data[k] - means[0]);
      expect(factor).toBeGreaterThanOrEqual(0.6 - 1e-4);
      expect(factor).toBeLessThanOrEqual(1.4 + 1e-4);
      factors.push(factor);
      const expected = data.slice(k, k + h * w * c).map((v, j) => (v - means[j % c]) * factor + means[j % c]);
      expectClose(wide.slice(k, k + h * w * c), expected, 1e-2);
    }
    expect(new Set(factors.map((f) => f.toFixed(3))).size).toBeGreaterThan(1);
    const clipped = await augment(new RandomContrast(1, { valueRange: [50, 200], seed: 2 }), data, shape);
    expect(Math.min(...clipped)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...clipped)).toBeLessThanOrEqual(200);
  });

  test('RandomBrightness: one shift per image within factor x the range, outputs within valueRange', async () => {
    const [n, h, w, c] = shape;
    const size = h * w * c;
    const out = await augment(new RandomBrightness(0.3, { seed: 4 }), data, shape);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...out)).toBeLessThanOrEqual(255);
    for (let i = 0; i < n; i++) {
      const unclipped = out.map((v, k) => [v, k] as const).filter(([v, k]) => k >= i * size && k < (i + 1) * size && v > 0 && v < 255);
      const shifts = unclipped.map(([v, k]) => v - data[k]);
      const shift = shifts[0];
      expect(Math.abs(shift)).toBeLessThanOrEqual(0.3 * 255 + 1e-3);
      for (const s of shifts) expect(s).toBeCloseTo(shift, 3);
      for (let k = i * size; k < (i + 1) * size; k++) expect(out[k]).toBeCloseTo(Math.min(255, Math.max(0, data[k] + shift)), 3);
    }
  });

  test('RandomCrop: in training one window of the batch, the same for every image', async () => {
    const big = [3, 6, 7, 2];
    const input = images(big, 3);
    const out = await augment(new RandomCrop(3, 4, { seed: 11 }), input, big);
    const windowAt = (top: number, left: number) => {
      const list: number[] = [];
      for (let i = 0; i < 3; i++) for (let r = 0; r < 3; r++) for (let col = 0; col < 4; col++) for (let ch = 0; ch < 2; ch++) list.push(Math.fround(at(input, big, i, top + r, left + col, ch)));
      return list;
    };
    const matches: string[] = [];
    for (let top = 0; top <= 3; top++) for (let left = 0; left <= 3; left++) if (windowAt(top, left).every((v, k) => v === out[k])) matches.push(`${top},${left}`);
    expect(matches).toHaveLength(1);
  });

  test('RandomRotation after a layer with weights is refused in fit, with a message saying where it belongs', async () => {
    const input = Input({ shape: [4, 4, 1] });
    const rotated = new RandomRotation(0.2).apply(new Conv2D(1, 1).apply(input));
    const model = new Model({ inputs: input, outputs: new Dense(1).apply(new Flatten().apply(rotated)) });
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    await expect(model.fit(tensor(new Float32Array(32), [2, 4, 4, 1]), tensor(new Float32Array(2), [2, 1]), { verbose: 0 })).rejects.toThrow(
      /random rotation, zoom and translation pass no gradient: place them before every layer with weights/,
    );
  });
});

/** Keras's torch backend, written out: image.resize (F.interpolate) and affine_transform (map_coordinates). */
const KERAS_TORCH_IMAGE = `
import functools, itertools, json, operator, sys, torch
import torch.nn.functional as F
args = json.loads(sys.argv[1])
x = torch.tensor(args['x'], dtype=torch.float32).reshape(args['shape'])

def crop_to_aspect_ratio(images, size):
    height, width = images.shape[-2], images.shape[-1]
    target_height, target_width = size
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    h = int(float(height - crop_height) / 2)
    w = int(float(width - crop_width) / 2)
    return images[:, :, h:h + crop_height, w:w + crop_width]

def resize(images, size, interpolation, crop=False, antialias=False):
    images = images.permute(0, 3, 1, 2)
    if crop:
        images = crop_to_aspect_ratio(images, size)
    modes = {'bilinear': 'bilinear', 'nearest': 'nearest-exact', 'bicubic': 'bicubic', 'area': 'area'}
    align = False if interpolation in ('bilinear', 'bicubic') else None
    kwargs = {'antialias': antialias} if interpolation in ('bilinear', 'bicubic') else {}
    out = F.interpolate(images, size=size, mode=modes[interpolation], align_corners=align, **kwargs)
    return out.permute(0, 2, 3, 1)

def mirror(index, size):
    s = size - 1
    return torch.abs((index + s) % (2 * s) - s)

def reflect(index, size):
    return torch.floor_divide(mirror(2 * index + 1, 2 * size + 1) - 1, 2)

FIXERS = {'constant': lambda i, s: torch.clip(i, 0, s - 1), 'nearest': lambda i, s: torch.clip(i, 0, s - 1),
          'wrap': lambda i, s: i % s, 'reflect': reflect}

def map_coordinates(image, coordinates, order, fill_mode, fill_value):
    fix = FIXERS[fill_mode]
    per_axis = []
    for coordinate, size in zip(coordinates, image.shape):
        if order == 0:
            nodes = [(torch.round(coordinate).to(torch.long), 1)]
        else:
            lower = torch.floor(coordinate)
            upper_weight = coordinate - lower
            index = lower.to(torch.long)
            nodes = [(index, 1 - upper_weight), (index + 1, upper_weight)]
        per_axis.append([(fix(i, size), ((0 <= i) & (i < size)) if fill_mode == 'constant' else True, w) for i, w in nodes])
    result = 0
    for items in itertools.product(*per_axis):
        indices, validities, weights = zip(*items)
        value = image[indices]
        if fill_mode == 'constant':
            value = torch.where(functools.reduce(operator.and_, validities), value, torch.tensor(fill_value, dtype=value.dtype))
        result = result + functools.reduce(operator.mul, weights) * value
    return result

def affine_transform(images, transforms, interpolation, fill_mode, fill_value):
    n, h, w, c = images.shape
    mesh = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), torch.arange(c, dtype=torch.float32), indexing='ij')
    indices = torch.stack(mesh, dim=-1)
    out = []
    for i in range(n):
        a0, a1, a2, b0, b1, b2 = [float(v) for v in transforms[i]]
        matrix = torch.tensor([[b1, a1, 0.0], [b0, a0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float32)
        coordinates = indices @ matrix + torch.tensor([b2, a2, 0.0], dtype=torch.float32)
        out.append(map_coordinates(images[i], coordinates.permute(3, 0, 1, 2), 0 if interpolation == 'nearest' else 1, fill_mode, fill_value))
    return torch.stack(out)

def rotation(angle_degrees, h, w):
    # _compute_affine_matrix: rotation about the centre
    angle = torch.tensor(angle_degrees * 3.141592653589793 / 180.0, dtype=torch.float32)
    cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
    a0, a1 = torch.cos(angle), -torch.sin(angle)
    b0, b1 = torch.sin(angle), torch.cos(angle)
    return [a0, a1, cx - cx * a0 - cy * a1, b0, b1, cy - cx * b0 - cy * b1]

def zoom(zx, zy, h, w):
    return [zx, 0.0, (w - 1.0) / 2.0 * (1.0 - zx), 0.0, zy, (h - 1.0) / 2.0 * (1.0 - zy)]

def translation(ty, tx, h, w):
    return [1.0, 0.0, -tx * w, 0.0, 1.0, -ty * h]

results = []
for case in args['cases']:
    n, h, w, c = x.shape
    if case['op'] == 'resize':
        y = resize(x, case['size'], case['interpolation'], case.get('crop', False), case.get('antialias', False))
    else:
        t = {'rotation': lambda: rotation(case['angle'], h, w), 'zoom': lambda: zoom(case['zx'], case['zy'], h, w),
             'translation': lambda: translation(case['ty'], case['tx'], h, w)}[case['op']]()
        y = affine_transform(x, [t] * n, case['interpolation'], case['fillMode'], case.get('fillValue', 0.0))
    results.append(y.flatten().tolist())
print(json.dumps(results))
`;

describeIf(pythonHas('torch'), 'the image layer comparisons need python3-torch (apt-get install python3-torch)')("against Keras's torch backend", () => {
  const shape = [2, 7, 9, 3];
  const data = images(shape, 21);
  type Case = { title: string; layer: () => Layer; reference: Record<string, unknown>; training?: boolean; tolerance?: number };
  const cases: Case[] = [
    { title: 'Resizing bilinear 4x5', layer: () => new Resizing(4, 5), reference: { op: 'resize', size: [4, 5], interpolation: 'bilinear' } },
    { title: 'Resizing bilinear up 10x13', layer: () => new Resizing(10, 13), reference: { op: 'resize', size: [10, 13], interpolation: 'bilinear' } },
    { title: 'Resizing nearest 5x4', layer: () => new Resizing(5, 4, { interpolation: 'nearest' }), reference: { op: 'resize', size: [5, 4], interpolation: 'nearest' } },
    { title: 'Resizing bicubic 11x6', layer: () => new Resizing(11, 6, { interpolation: 'bicubic' }), reference: { op: 'resize', size: [11, 6], interpolation: 'bicubic' }, tolerance: 1e-3 },
    { title: 'Resizing area 3x3', layer: () => new Resizing(3, 3, { interpolation: 'area' }), reference: { op: 'resize', size: [3, 3], interpolation: 'area' } },
    { title: 'Resizing bilinear antialiased 3x4', layer: () => new Resizing(3, 4, { antialias: true }), reference: { op: 'resize', size: [3, 4], interpolation: 'bilinear', antialias: true } },
    { title: 'Resizing cropToAspectRatio 4x4', layer: () => new Resizing(4, 4, { cropToAspectRatio: true }), reference: { op: 'resize', size: [4, 4], interpolation: 'bilinear', crop: true } },
    { title: 'CenterCrop larger than the input: smart resize', layer: () => new CenterCrop(8, 12), reference: { op: 'resize', size: [8, 12], interpolation: 'bilinear', crop: true } },
    { title: 'RandomCrop in inference: smart resize', layer: () => new RandomCrop(5, 3), reference: { op: 'resize', size: [5, 3], interpolation: 'bilinear', crop: true } },
    ...(['reflect', 'wrap', 'constant', 'nearest'] as const).map((fillMode) => ({
      title: `RandomRotation 30 degrees, fillMode ${fillMode}`,
      layer: () => new RandomRotation([30 / 360, 30 / 360], { fillMode, fillValue: 7 }),
      reference: { op: 'rotation', angle: 30, interpolation: 'bilinear', fillMode, fillValue: 7 },
      training: true,
    })),
    { title: 'RandomRotation -50 degrees, nearest', layer: () => new RandomRotation([-50 / 360, -50 / 360], { interpolation: 'nearest' }), reference: { op: 'rotation', angle: -50, interpolation: 'nearest', fillMode: 'reflect' }, training: true },
    { title: 'RandomZoom out 1.3 x 0.8, constant', layer: () => new RandomZoom([0.3, 0.3], { widthFactor: [-0.2, -0.2], fillMode: 'constant' }), reference: { op: 'zoom', zx: 0.8, zy: 1.3, interpolation: 'bilinear', fillMode: 'constant' }, training: true },
    { title: 'RandomTranslation 0.25 down, 0.4 left, wrap', layer: () => new RandomTranslation([0.25, 0.25], [-0.4, -0.4], { fillMode: 'wrap' }), reference: { op: 'translation', ty: 0.25, tx: -0.4, interpolation: 'bilinear', fillMode: 'wrap' }, training: true },
  ];

  let references: number[][];
  beforeAll(() => {
    references = JSON.parse(runPython(KERAS_TORCH_IMAGE, [JSON.stringify({ x: data, shape, cases: cases.map((c) => c.reference) })])) as number[][];
  });

  test.each(cases.map((c, i) => [c.title, i] as const))('%s', async (_title, i) => {
    const c = cases[i];
    const x = tensor(data, shape);
    const out = c.training ? await predicted(trainingModel(c.layer(), shape), x) : values(await fixedModel(shape.slice(1), [c.layer()]).predict(x));
    expectClose(out, references[i], c.tolerance ?? 1e-3);
  });

  test('CenterCrop inside the image is the central window, exactly', async () => {
    const out = values(await fixedModel(shape.slice(1), [new CenterCrop(4, 4)]).predict(tensor(data, shape)));
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let r = 0; r < 4; r++) for (let col = 0; col < 4; col++) for (let ch = 0; ch < 3; ch++) expected.push(Math.fround(at(data, shape, i, 1 + r, 2 + col, ch)));
    expect(out).toEqual(expected);
  });
});
