import { Conv2D, Convolution2D, Dense, Flatten, MaxPooling2D, Sequential, tensor } from '../../lib';
import { expectClose, range, seededRandom, seedModel, values } from '../helpers';
import { describeLayer, fixedModel } from './harness';

describeLayer('Conv2D', {
  shapes: [
    {
      title: 'seed conv 32x3x3 on 64x64x3',
      make: () => new Conv2D(32, [3, 3], { activation: 'relu' }),
      inputShape: [64, 64, 3],
      outputShape: [62, 62, 32],
      params: 896,
      weightShapes: [[3, 3, 3, 32], [32]],
    },
    {
      title: "same padding, stride 2, odd input",
      make: () => new Conv2D(8, 3, { padding: 'same', strides: 2 }),
      inputShape: [7, 7, 2],
      outputShape: [4, 4, 8],
      params: 152,
      weightShapes: [[3, 3, 2, 8], [8]],
    },
    {
      title: 'same padding, stride 2, even input (asymmetric padding)',
      make: () => new Conv2D(4, 3, { padding: 'same', strides: 2 }),
      inputShape: [8, 6, 3],
      outputShape: [4, 3, 4],
      params: 112,
      weightShapes: [[3, 3, 3, 4], [4]],
    },
    {
      title: 'dilated rectangular kernel without bias',
      make: () => new Conv2D(4, [2, 3], { useBias: false, dilationRate: 2 }),
      inputShape: [10, 10, 3],
      outputShape: [8, 6, 4],
      params: 72,
      weightShapes: [[2, 3, 3, 4]],
    },
    {
      title: 'per-axis strides',
      make: () => new Conv2D({ filters: 16, kernelSize: 5, strides: [2, 1] }),
      inputShape: [11, 9, 1],
      outputShape: [4, 5, 16],
      params: 416,
      weightShapes: [[5, 5, 1, 16], [16]],
    },
    {
      title: "Keras 1 spelling Convolution2D(32, 3, 3) with borderMode 'same'",
      make: () => new Convolution2D(6, 3, 3, { borderMode: 'same' }),
      inputShape: [5, 5, 2],
      outputShape: [5, 5, 6],
      params: 114,
      weightShapes: [[3, 3, 2, 6], [6]],
      roundTrip: false,
    },
  ],
  badOptions: [
    { title: 'filters 0', make: () => new Conv2D(0, 3), error: /Conv2D 'conv2d(_\d+)?': expected filters to be a positive integer but received 0/ },
    {
      title: 'kernelSize of one axis',
      make: () => new Conv2D(8, [3] as unknown as [number, number]),
      error: /expected kernelSize to be a positive integer or a pair of positive integers but received \[3\]/,
    },
    {
      title: "padding 'full'",
      make: () => new Conv2D(8, 3, { padding: 'full' as 'same' }),
      error: /expected padding to be one of 'valid', 'same' but received "full"/,
    },
    {
      title: 'strides and dilation together',
      make: () => new Conv2D(8, 3, { strides: 2, dilationRate: 2 }),
      error: /expected strides of 1 when dilationRate is above 1 \(as Keras requires\) but received 2/,
    },
    {
      title: 'unknown activation',
      make: () => new Conv2D(8, 3, { activation: 'relu7' as 'relu' }),
      error: /expected activation to be one of 'relu', 'sigmoid', .* but received "relu7"/,
    },
    {
      title: 'unknown kernelInitializer',
      make: () => new Conv2D(8, 3, { kernelInitializer: 'glorot' as 'glorot_uniform' }),
      error: /expected kernelInitializer to be one of glorot_uniform, .* but received "glorot"/,
    },
    {
      title: 'misspelt option',
      make: () => new Conv2D(8, 3, { kernel_size: 3 } as unknown as { padding: 'same' }),
      error: /Conv2D: expected options among .*kernelSize.* but received "kernel_size"/,
    },
    {
      title: 'dataFormat channels_first',
      make: () => new Conv2D(8, 3, { dataFormat: 'channels_first' as 'channels_last' }),
      error: /expected dataFormat 'channels_last' .* but received "channels_first"/,
    },
    {
      title: 'non-boolean useBias',
      make: () => new Conv2D(8, 3, { useBias: 1 as unknown as boolean }),
      error: /expected useBias to be a boolean but received 1/,
    },
  ],
  badInputs: [
    {
      title: 'rank-1 input',
      make: () => new Conv2D(8, 3, { name: 'conv_rank' }),
      inputShape: [10],
      error: /Conv2D 'conv_rank': expected input of rank 3 \(\[height, width, channels\]\) but received \[\*, 10\]/,
    },
    {
      title: 'input smaller than the dilated kernel',
      make: () => new Conv2D(8, 3, { name: 'conv_small', dilationRate: 3 }),
      inputShape: [6, 6, 1],
      error: /Conv2D 'conv_small': expected input of at least the kernel's extent 7x7 in height and width but received \[\*, 6, 6, 1\]/,
    },
  ],
});

/** NHWC convolution as TensorFlow defines it, with explicit top/left padding (zeros). */
function referenceConv(
  x: number[],
  [n, h, w, c]: number[],
  kernel: number[],
  [kh, kw, filters]: number[],
  bias: number[],
  options: { strides?: [number, number]; dilation?: [number, number]; padTop?: number; padLeft?: number; outH: number; outW: number },
): number[] {
  const [sh, sw] = options.strides ?? [1, 1];
  const [dh, dw] = options.dilation ?? [1, 1];
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let i = 0; i < options.outH; i++)
      for (let j = 0; j < options.outW; j++)
        for (let f = 0; f < filters; f++) {
          let sum = bias[f] ?? 0;
          for (let p = 0; p < kh; p++)
            for (let q = 0; q < kw; q++) {
              const row = i * sh + p * dh - (options.padTop ?? 0);
              const col = j * sw + q * dw - (options.padLeft ?? 0);
              if (row < 0 || row >= h || col < 0 || col >= w) continue;
              for (let ch = 0; ch < c; ch++) {
                sum += x[((b * h + row) * w + col) * c + ch] * kernel[((p * kw + q) * c + ch) * filters + f];
              }
            }
          out.push(sum);
        }
  return out;
}

function randomList(count: number, seed: number): number[] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, () => Math.round((next() * 2 - 1) * 100) / 100);
}

describe('Conv2D numerics', () => {
  test('valid 2x2 kernel on a 3x3 image, computed by hand', async () => {
    // out[i][j] = 1*x[i][j] + 2*x[i][j+1] + 3*x[i+1][j] + 4*x[i+1][j+1] + 0.5
    const model = fixedModel([3, 3, 1], [new Conv2D(1, 2)], [tensor(new Float32Array([1, 2, 3, 4]), [2, 2, 1, 1]), [0.5]]);
    const x = tensor(new Float32Array(range(9, 1)), [1, 3, 3, 1]);
    const y = await model.predict(x);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    // x = 1 2 3 / 4 5 6 / 7 8 9
    expectClose(values(y), [1 + 4 + 12 + 20 + 0.5, 2 + 6 + 15 + 24 + 0.5, 4 + 10 + 21 + 32 + 0.5, 5 + 12 + 24 + 36 + 0.5]);
  });

  test('kernel layout [kh, kw, in, out] with several channels and filters', async () => {
    const kernel = randomList(3 * 2 * 3 * 4, 1);
    const bias = [0.1, -0.2, 0.3, 0];
    const x = randomList(2 * 5 * 4 * 3, 2);
    const model = fixedModel([5, 4, 3], [new Conv2D(4, [3, 2])], [tensor(new Float32Array(kernel), [3, 2, 3, 4]), bias]);
    const y = await model.predict(tensor(new Float32Array(x), [2, 5, 4, 3]));
    expect(y.shape).toEqual([2, 3, 3, 4]);
    expectClose(values(y), referenceConv(x, [2, 5, 4, 3], kernel, [3, 2, 4], bias, { outH: 3, outW: 3 }), 1e-5);
    // getWeights returns exactly what was set, in Keras's layout.
    expectClose(values(model.getWeights()[0]), kernel);
  });

  test("'same' with stride 2 on an even input pads one row/column at the bottom/right only, as TensorFlow", async () => {
    // 4x4 input, 3x3 kernel, stride 2: output 2x2, total padding 1 -> 0 before, 1 after.
    const kernel = randomList(9 * 2, 3);
    const x = randomList(16 * 2, 4);
    const model = fixedModel([4, 4, 2], [new Conv2D(1, 3, { padding: 'same', strides: 2, useBias: false })], [
      tensor(new Float32Array(kernel), [3, 3, 2, 1]),
    ]);
    const y = values(await model.predict(tensor(new Float32Array(x), [1, 4, 4, 2])));
    const tensorflow = referenceConv(x, [1, 4, 4, 2], kernel, [3, 3, 1], [], { strides: [2, 2], padTop: 0, padLeft: 0, outH: 2, outW: 2 });
    const symmetric = referenceConv(x, [1, 4, 4, 2], kernel, [3, 3, 1], [], { strides: [2, 2], padTop: 1, padLeft: 1, outH: 2, outW: 2 });
    expectClose(y, tensorflow);
    expect(Math.abs(y[0] - symmetric[0])).toBeGreaterThan(1e-3);
  });

  test("'same' with stride 2 on an odd input pads symmetrically", async () => {
    const kernel = randomList(9, 5);
    const x = randomList(25, 6);
    const model = fixedModel([5, 5, 1], [new Conv2D(1, 3, { padding: 'same', strides: 2 })], [
      tensor(new Float32Array(kernel), [3, 3, 1, 1]),
      [0.25],
    ]);
    const y = values(await model.predict(tensor(new Float32Array(x), [1, 5, 5, 1])));
    expectClose(y, referenceConv(x, [1, 5, 5, 1], kernel, [3, 3, 1], [0.25], { strides: [2, 2], padTop: 1, padLeft: 1, outH: 3, outW: 3 }));
  });

  test("'same' with an even kernel and stride 1 pads after (bottom/right)", async () => {
    const kernel = randomList(4, 7);
    const x = randomList(9, 8);
    const model = fixedModel([3, 3, 1], [new Conv2D(1, 2, { padding: 'same', useBias: false })], [
      tensor(new Float32Array(kernel), [2, 2, 1, 1]),
    ]);
    const y = values(await model.predict(tensor(new Float32Array(x), [1, 3, 3, 1])));
    expectClose(y, referenceConv(x, [1, 3, 3, 1], kernel, [2, 2, 1], [], { padTop: 0, padLeft: 0, outH: 3, outW: 3 }));
  });

  test('dilation, valid and same', async () => {
    const kernel = randomList(3 * 3 * 2 * 2, 9);
    const x = randomList(7 * 6 * 2, 10);
    const valid = fixedModel([7, 6, 2], [new Conv2D(2, 3, { dilationRate: [2, 1], useBias: false })], [
      tensor(new Float32Array(kernel), [3, 3, 2, 2]),
    ]);
    const yValid = await valid.predict(tensor(new Float32Array(x), [1, 7, 6, 2]));
    expect(yValid.shape).toEqual([1, 3, 4, 2]);
    expectClose(values(yValid), referenceConv(x, [1, 7, 6, 2], kernel, [3, 3, 2], [], { dilation: [2, 1], outH: 3, outW: 4 }));

    const same = fixedModel([7, 6, 2], [new Conv2D(2, 3, { dilationRate: 2, padding: 'same', useBias: false })], [
      tensor(new Float32Array(kernel), [3, 3, 2, 2]),
    ]);
    const ySame = await same.predict(tensor(new Float32Array(x), [1, 7, 6, 2]));
    expect(ySame.shape).toEqual([1, 7, 6, 2]);
    // Effective extent 5: 4 cells of padding, 2 before and 2 after.
    expectClose(values(ySame), referenceConv(x, [1, 7, 6, 2], kernel, [3, 3, 2], [], { dilation: [2, 2], padTop: 2, padLeft: 2, outH: 7, outW: 6 }));
  });

  test('activation is applied after the bias', async () => {
    const model = fixedModel([2, 2, 1], [new Conv2D(1, 1, { activation: 'relu' })], [tensor(new Float32Array([-1]), [1, 1, 1, 1]), [0.5]]);
    const y = await model.predict(tensor(new Float32Array([1, 0.25, -2, 0]), [1, 2, 2, 1]));
    expectClose(values(y), [0, 0.25, 2.5, 0.5]);
  });
});

describe('the seed CNN', () => {
  test('has 3,937,409 parameters on 64x64x3, as Keras counts them', () => {
    const classifier = seedModel();
    expect(classifier.countParams()).toBe(3937409);
    expect(classifier.outputShape).toEqual([1]);
    expect(classifier.getWeights().map((w) => [...w.shape])).toEqual([[3, 3, 3, 32], [32], [30752, 128], [128], [128, 1], [1]]);
  });
});
