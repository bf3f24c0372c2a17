import { ImageDataGenerator, TransformParameters } from '../../lib/preprocessing';
import { Tensor, tensor } from '../../lib/tensor';
import { flat, KERAS_DOCUMENTED, kerasAvailable, kerasReference, kerasReferencePinned, kerasVersion, nested } from './helpers';

// A non-square image with distinct values everywhere, so that row/column mix-ups and off-by-one shifts show.
// Even sizes: with odd ones Keras's transform centre falls on a pixel, points land exactly on the border, and
// whether scipy counts them inside depends on the last bit of numpy's sin (not reproducible across libms).
const H = 8;
const W = 10;
const C = 3;
const values = Float32Array.from({ length: H * W * C }, (_, i) => ((i * 37) % 251) + (i % 3) * 0.25);
const image = (): Tensor => tensor(values.slice(), [H, W, C]);

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-3): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let where = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      where = i;
    }
  }
  if (worst > tolerance) {
    throw new Error(`values differ by ${worst} at flat index ${where}: ${actual[where]} vs ${expected[where]}`);
  }
}

const pixelAt = (t: Tensor, row: number, col: number, ch: number): number =>
  (t.dataSync() as Float32Array)[(row * t.shape[1] + col) * t.shape[2] + ch];

describe('transformations on known pixels', () => {
  test('a horizontal flip reverses the columns, a vertical flip the rows', async () => {
    const generator = new ImageDataGenerator();
    const x = image();
    const h = await generator.applyTransform(x, { flipHorizontal: true });
    const v = await generator.applyTransform(x, { flipVertical: true });
    for (let row = 0; row < H; row++) {
      for (let col = 0; col < W; col++) {
        for (let ch = 0; ch < C; ch++) {
          expect(pixelAt(h, row, col, ch)).toBe(pixelAt(x, row, W - 1 - col, ch));
          expect(pixelAt(v, row, col, ch)).toBe(pixelAt(x, H - 1 - row, col, ch));
        }
      }
    }
  });

  test('a whole-pixel height shift moves rows up and fills the bottom with cval (constant mode)', async () => {
    // Keras: input row = output row + tx, so content moves up by tx rows.
    const generator = new ImageDataGenerator({ fillMode: 'constant', cval: -5 });
    const x = image();
    const y = await generator.applyTransform(x, { tx: 2 });
    for (let col = 0; col < W; col++) {
      for (let row = 0; row < H - 2; row++) expect(pixelAt(y, row, col, 1)).toBeCloseTo(pixelAt(x, row + 2, col, 1), 4);
      expect(pixelAt(y, H - 2, col, 0)).toBe(-5);
      expect(pixelAt(y, H - 1, col, 2)).toBe(-5);
    }
  });

  test('nearest mode repeats the edge pixel where the shift uncovers the border', async () => {
    const generator = new ImageDataGenerator({ fillMode: 'nearest' });
    const x = image();
    const y = await generator.applyTransform(x, { ty: -3 }); // content moves right by 3 columns
    for (let row = 0; row < H; row++) {
      for (let col = 0; col < 3; col++) expect(pixelAt(y, row, col, 0)).toBeCloseTo(pixelAt(x, row, 0, 0), 4);
      expect(pixelAt(y, row, 5, 2)).toBeCloseTo(pixelAt(x, row, 2, 2), 4);
    }
  });

  test('no parameters leave the image untouched', async () => {
    const y = await new ImageDataGenerator().applyTransform(image(), {});
    expect(Array.from(y.dataSync() as Float32Array)).toEqual(Array.from(values));
  });
});

const describeKeras = kerasAvailable ? describe : describe.skip;

// The geometric transforms and the standardization compare live against the installed keras_preprocessing (the
// same from 1.1.0 to 1.1.2); what later versions changed (brightness through array_to_img, fit() with rescale)
// compares against 1.1.0's pinned answers, the version the project documents, wherever the tests run.
const base: TransformParameters = {
  theta: 0, tx: 0, ty: 0, shear: 0, zx: 1, zy: 1, flipHorizontal: false, flipVertical: false,
  channelShiftIntensity: null, brightness: null,
};
const toKeras = (p: TransformParameters) => ({
  theta: p.theta, tx: p.tx, ty: p.ty, shear: p.shear, zx: p.zx, zy: p.zy,
  flip_horizontal: p.flipHorizontal, flip_vertical: p.flipVertical,
  channel_shift_intensity: p.channelShiftIntensity, brightness: p.brightness,
});

describeKeras(`matches the installed keras_preprocessing ${kerasVersion} (scipy.ndimage) on the same parameters`, () => {
  const cases: [string, Partial<TransformParameters>][] = [
    ['zoom in rows, out in columns', { zx: 0.8, zy: 1.2 }],
    ['zoom out', { zx: 1.19, zy: 1.07 }],
    ['shear', { shear: 11.5 }],
    ['negative shear', { shear: -7 }],
    ['rotation', { theta: 23 }],
    ['fractional shifts', { tx: 1.3, ty: -2.6 }],
    ['everything at once', { theta: -12, tx: 0.7, ty: 1.1, shear: 9, zx: 0.9, zy: 1.15, flipHorizontal: true, flipVertical: true }],
    ['channel shift', { zx: 0.9, channelShiftIntensity: 40 }],
  ];

  for (const fillMode of ['nearest', 'constant', 'reflect', 'wrap'] as const) {
    test.each(cases)(`${fillMode}: %s`, async (_name, params) => {
      const full = { ...base, ...params };
      const generator = new ImageDataGenerator({ fillMode, cval: 17.5 });
      const ours = await generator.applyTransform(image(), full);
      const reference = kerasReference<number[][][]>({
        op: 'apply_transform',
        image: nested(values, H, W, C),
        params: toKeras(full),
        generator: { fill_mode: fillMode, cval: 17.5 },
      });
      close(ours.dataSync() as Float32Array, flat(reference), 1e-3);
    });
  }

  test('the zoom moves a known pixel where Keras moves it', async () => {
    // A single bright pixel: where it lands after zoom and shear is the geometry, independent of filtering.
    const dot = new Float32Array(H * W);
    dot[1 * W + 1] = 100;
    const generator = new ImageDataGenerator({ fillMode: 'constant' });
    const params = { ...base, zx: 0.6, zy: 0.7, shear: 15 };
    const ours = (await generator.applyTransform(tensor(dot, [H, W, 1]), params)).dataSync() as Float32Array;
    const reference = flat(kerasReference<number[][][]>({ op: 'apply_transform', image: nested(dot, H, W, 1), params: toKeras(params), generator: { fill_mode: 'constant' } }));
    const argmax = (a: ArrayLike<number>) => Array.prototype.indexOf.call(a, Math.max(...Array.from(a)));
    expect(argmax(ours)).toBe(argmax(reference));
    expect(argmax(ours)).not.toBe(1 * W + 1);
    close(ours, reference, 1e-3);
  });

  test('rescale, samplewise centering and normalization run in Keras order', async () => {
    const options = { rescale: 1 / 255, samplewiseCenter: true, samplewiseStdNormalization: true };
    const ours = await new ImageDataGenerator(options).standardize(image());
    const reference = kerasReference<number[][][]>({
      op: 'standardize',
      image: nested(values, H, W, C),
      generator: { rescale: 1 / 255, samplewise_center: true, samplewise_std_normalization: true },
    });
    close(ours.dataSync() as Float32Array, flat(reference), 1e-4);
  });

});

describe(`matches keras_preprocessing ${KERAS_DOCUMENTED} where later versions differ (pinned answers)`, () => {
  const brightnessCases: [string, Partial<TransformParameters>][] = [
    ['brightness above 1', { shear: 5, brightness: 1.3 }],
    ['brightness below 1', { brightness: 0.55 }],
  ];
  for (const fillMode of ['nearest', 'constant', 'reflect', 'wrap'] as const) {
    test.each(brightnessCases)(`${fillMode}: %s`, async (name, params) => {
      const full = { ...base, ...params };
      const generator = new ImageDataGenerator({ fillMode, cval: 17.5 });
      const ours = await generator.applyTransform(image(), full);
      const reference = kerasReferencePinned<number[][][]>(`apply_transform ${fillMode}: ${name}`, {
        op: 'apply_transform',
        image: nested(values, H, W, C),
        params: toKeras(full),
        generator: { fill_mode: fillMode, cval: 17.5 },
      });
      close(ours.dataSync() as Float32Array, flat(reference), 1);
      // Brightness goes through 8-bit pixels in PIL: allow one level where rounding of the float input differs.
      const exact = (ours.dataSync() as Float32Array).filter((v, i) => v === flat(reference)[i]).length;
      expect(exact / values.length).toBeGreaterThan(0.97);
    });
  }

  test('fit(x) computes featurewise statistics as Keras does (on the values as given; rescale comes after)', async () => {
    const batch = Float32Array.from({ length: 4 * H * W * C }, (_, i) => ((i * 7919) % 255) * (1 + (i % 3)));
    const generator = new ImageDataGenerator({ featurewiseCenter: true, featurewiseStdNormalization: true, rescale: 2 });
    await generator.fit(tensor(batch, [4, H, W, C]));
    const ours = await generator.standardize(image());
    const reference = kerasReferencePinned<number[][][]>('standardize after fit, rescale 2', {
      op: 'standardize',
      image: nested(values, H, W, C),
      fit: Array.from({ length: 4 }, (_, n) => nested(batch.subarray(n * H * W * C), H, W, C)),
      generator: { featurewise_center: true, featurewise_std_normalization: true, rescale: 2 },
    });
    close(ours.dataSync() as Float32Array, flat(reference), 1e-4);
  });
});

describe('standardize and options', () => {
  test('rescale multiplies after augmentation, so cval is in the input scale', async () => {
    const generator = new ImageDataGenerator({ rescale: 0.5, fillMode: 'constant', cval: 10 });
    const y = await generator.applyTransform(image(), { tx: 1 });
    // applyTransform does not standardize; standardize then halves both the content and the cval fill.
    const z = await generator.standardize(y);
    expect(pixelAt(z, H - 1, 0, 0)).toBe(5);
    expect(pixelAt(z, 0, 0, 0)).toBeCloseTo(pixelAt(image(), 1, 0, 0) / 2, 5);
  });

  test('preprocessingFunction runs per image before rescale', async () => {
    const seen: number[][] = [];
    const generator = new ImageDataGenerator({
      rescale: 0.1,
      preprocessingFunction: (img) => {
        seen.push([...img.shape]);
        return tensor(Float32Array.from(img.dataSync() as Float32Array, (v) => v + 100), [...img.shape]);
      },
    });
    const it = generator.flow(tensor(new Float32Array(2 * 4 * 4 * 3).fill(20), [2, 4, 4, 3]), null, { shuffle: false });
    const [x] = await it.get(0);
    expect(seen).toEqual([[4, 4, 3], [4, 4, 3]]);
    expect(Array.from(new Set(x.dataSync() as Float32Array))).toEqual([12]);
  });

  test('random parameters stay in their ranges and zoom axes are drawn independently', () => {
    const generator = new ImageDataGenerator({ rotationRange: 30, widthShiftRange: 0.1, heightShiftRange: 3, shearRange: 0.2, zoomRange: 0.2 });
    const draws = Array.from({ length: 300 }, (_, i) => generator.getRandomTransform([64, 32, 3], i));
    expect(draws.every((d) => Math.abs(d.theta) <= 30)).toBe(true);
    expect(draws.every((d) => Math.abs(d.ty) <= 0.1 * 32)).toBe(true);
    // An integer range >= 1 gives whole pixels in (-3, 3), as numpy's choice(3) with a random sign.
    expect(new Set(draws.map((d) => d.tx))).toEqual(new Set([0, 1, 2, -1, -2].filter((v) => draws.some((d) => d.tx === v))));
    expect(draws.every((d) => Number.isInteger(d.tx) && Math.abs(d.tx) <= 2)).toBe(true);
    expect(draws.every((d) => d.zx >= 0.8 && d.zx <= 1.2 && d.zy >= 0.8 && d.zy <= 1.2)).toBe(true);
    expect(draws.some((d) => Math.abs(d.zx - d.zy) > 0.05)).toBe(true);
    expect(draws.every((d) => !d.flipHorizontal && d.brightness === null)).toBe(true);
    expect(generator.getRandomTransform([8, 8, 3], 7)).toEqual(generator.getRandomTransform([8, 8, 3], 7));
  });

  test("brightness, channel shift and both flips are drawn as Keras's get_random_transform draws them", () => {
    const generator = new ImageDataGenerator({ brightnessRange: [0.5, 1.5], channelShiftRange: 40, horizontalFlip: true, verticalFlip: true });
    const draws = Array.from({ length: 4000 }, (_, i) => generator.getRandomTransform([16, 16, 3], i));
    const fraction = (test: (d: (typeof draws)[number]) => boolean) => draws.filter(test).length / draws.length;
    // Each flip a coin of its own: half the images, and a quarter both ways.
    expect(fraction((d) => d.flipHorizontal)).toBeGreaterThan(0.46);
    expect(fraction((d) => d.flipHorizontal)).toBeLessThan(0.54);
    expect(fraction((d) => d.flipVertical)).toBeGreaterThan(0.46);
    expect(fraction((d) => d.flipVertical)).toBeLessThan(0.54);
    expect(fraction((d) => d.flipHorizontal && d.flipVertical)).toBeGreaterThan(0.21);
    expect(fraction((d) => d.flipHorizontal && d.flipVertical)).toBeLessThan(0.29);
    // Uniform over the ranges: brightness in [0.5, 1.5), the channel shift in [-40, 40), filling each half.
    const brightness = draws.map((d) => d.brightness as number);
    const shift = draws.map((d) => d.channelShiftIntensity as number);
    expect(brightness.every((b) => b >= 0.5 && b < 1.5)).toBe(true);
    expect(shift.every((c) => c >= -40 && c < 40)).toBe(true);
    for (const [values, low, high] of [[brightness, 0.5, 1.5], [shift, -40, 40]] as const) {
      const middle = (low + high) / 2;
      expect(values.filter((v) => v < middle).length / values.length).toBeGreaterThan(0.46);
      expect(Math.min(...values)).toBeLessThan(low + 0.02 * (high - low));
      expect(Math.max(...values)).toBeGreaterThan(high - 0.02 * (high - low));
    }
  });

  test('a flow with verticalFlip gives each image as it is or upside down, both over a few batches', async () => {
    // Rows 0..3 hold 0, 10, 20, 30: an upside-down image reads 30, 20, 10, 0 down its first column.
    const image = Float32Array.from({ length: 4 * 2 * 1 }, (_, i) => Math.floor(i / 2) * 10);
    const x = tensor(new Float32Array(Array.from({ length: 8 }, () => Array.from(image)).flat()), [8, 4, 2, 1]);
    const it = new ImageDataGenerator({ verticalFlip: true }).flow(x, null, { batchSize: 8, shuffle: false, seed: 3 });
    const columns = new Set<string>();
    for (let batch = 0; batch < 3; batch++) {
      const [out] = await it.get(batch % it.length);
      const values = out.dataSync() as Float32Array;
      for (let n = 0; n < 8; n++) columns.add([0, 1, 2, 3].map((row) => values[n * 8 + row * 2]).join(','));
      it.onEpochEnd();
    }
    expect([...columns].sort()).toEqual(['0,10,20,30', '30,20,10,0']);
  });

  test.each([
    [{ fillMode: 'mirror' }, "ImageDataGenerator: expected fillMode to be one of 'nearest', 'constant', 'reflect', 'wrap' but received \"mirror\""],
    [{ zoomRange: -0.2 }, 'ImageDataGenerator: expected zoomRange to be a number in [0, 1) but received -0.2'],
    [{ zoomRange: [0.5] }, 'ImageDataGenerator: expected zoomRange to be a number or an array of two numbers but received [0.5]'],
    [{ validationSplit: 1 }, 'ImageDataGenerator: expected validationSplit to be a number in [0, 1) but received 1'],
    [{ shearRange: 'a lot' }, 'ImageDataGenerator: expected shearRange to be a number in [0, Infinity] but received "a lot"'],
    [{ brightnessRange: [1.2, 0.8] }, 'ImageDataGenerator: expected brightnessRange to be [low, high] with 0 <= low <= high but received [1.2, 0.8]'],
    [{ horizontalFlip: 'yes' }, 'ImageDataGenerator: expected horizontalFlip to be a boolean but received "yes"'],
    [{ rescal: 0.5 }, 'ImageDataGenerator: expected options among'],
    [{ zcaWhitening: true }, 'ImageDataGenerator: expected zcaWhitening to be false (ZCA whitening is not supported) but received true'],
  ])('rejects %p', (options, message) => {
    expect(() => new ImageDataGenerator(options as never)).toThrow(message);
  });

  test('brightness on a two-channel image is an error from the native side, not a crash', async () => {
    const generator = new ImageDataGenerator();
    await expect(generator.applyTransform(tensor(new Float32Array(2 * 2 * 2), [2, 2, 2]), { brightness: 1.1 })).rejects.toThrow(
      'augmentImages: brightness shifts need images with 1, 3 or 4 channels, as PIL does; received 2',
    );
  });
});
