/**
 * predictImages: encoded images in memory (HTTP bodies) decoded, resized and rescaled in one native call,
 * against loadImg + imgToArray + rescale + predict on the same files.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Conv2D, Dense, Flatten, Predictor, Sequential, setSeed, tensor, Tensor } from '../../lib';
import { imgToArray, loadImg } from '../../lib/preprocessing';
import { imagesToBatch } from '../../lib/preprocessing/image-buffers';
import { makeTempDir } from './helpers';

function pattern(width: number, height: number, channels: number): Buffer {
  const pixels = Buffer.alloc(width * height * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + (i >> 5) * 13) & 0xff;
  return pixels;
}

function model(size: number, channels: number): Sequential {
  setSeed(11);
  return new Sequential([
    new Conv2D(4, 3, { inputShape: [size, size, channels], activation: 'relu' }),
    new Flatten(),
    new Dense(3, { activation: 'softmax' }),
  ]);
}

let dir: string;
const files: string[] = [];
beforeAll(async () => {
  dir = makeTempDir('predict-images');
  const raw = (w: number, h: number, c: 3 | 4) => sharp(pattern(w, h, c), { raw: { width: w, height: h, channels: c } });
  const made: [string, ReturnType<typeof sharp>][] = [
    ['a.jpg', raw(40, 30, 3).jpeg({ quality: 90 })],
    ['b.png', raw(20, 20, 4).png()],
    ['c.jpg', raw(16, 16, 3).jpeg()],
    ['d.png', raw(33, 17, 3).png()],
  ];
  for (const [name, image] of made) {
    await image.toFile(path.join(dir, name));
    files.push(path.join(dir, name));
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** loadImg's pixels of each file, times `scale` in float32 (numpy's `x *= rescale` on a float32 array), as one batch. */
async function viaLoadImg(options: { targetSize: [number, number]; colorMode?: 'rgb' | 'grayscale' }, scale: number): Promise<Tensor> {
  const arrays = await Promise.all(files.map(async (file) => imgToArray(await loadImg(file, options)).dataSync() as Float32Array));
  const values = new Float32Array(arrays.length * arrays[0].length);
  arrays.forEach((a, k) => a.forEach((v, i) => (values[k * a.length + i] = v * Math.fround(scale))));
  const channels = options.colorMode === 'grayscale' ? 1 : 3;
  return tensor(values, [files.length, ...options.targetSize, channels]);
}

function maxDifference(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync() as Float32Array;
  const y = b.dataSync() as Float32Array;
  return x.reduce((worst, v, i) => Math.max(worst, Math.abs(v - y[i])), 0);
}

describe('predictImages', () => {
  test("the batch holds loadImg's pixels times rescale (PNGs exactly, JPEGs within the decoders' 1 level), sized from the model's input", async () => {
    const buffers = files.map((file) => fs.readFileSync(file));
    const scale = 1 / 255;
    for (const colorMode of ['rgb', 'grayscale'] as const) {
      const channels = colorMode === 'grayscale' ? 1 : 3;
      const batch = await imagesToBatch('predictImages', buffers, { rescale: scale }, [12, 12, channels]);
      const reference = await viaLoadImg({ targetSize: [12, 12], colorMode }, scale);
      expect(maxDifference(batch, reference)).toBeLessThanOrEqual(scale * 1.0001);
      const imageSize = 12 * 12 * channels;
      for (const k of [1, 3]) {
        const mine = (batch.dataSync() as Float32Array).subarray(k * imageSize, (k + 1) * imageSize);
        const theirs = (reference.dataSync() as Float32Array).subarray(k * imageSize, (k + 1) * imageSize);
        expect(Array.from(mine)).toEqual(Array.from(theirs));
      }
    }
  });

  test('predicts what predict gives on those pixels, on the model and through a Predictor', async () => {
    const classifier = model(12, 3);
    const buffers = files.map((file) => fs.readFileSync(file));
    const expected = await classifier.predict(await imagesToBatch('test', buffers, { rescale: 1 / 255 }, [12, 12, 3]));
    const fromLoadImg = await classifier.predict(await viaLoadImg({ targetSize: [12, 12] }, 1 / 255));
    const mine = (await classifier.predictImages(buffers, { rescale: 1 / 255 })) as Tensor;
    expect(maxDifference(mine, expected)).toBeLessThan(1e-6);
    expect(maxDifference(mine, fromLoadImg)).toBeLessThan(1e-3);
    const predictor = new Predictor<Tensor>(classifier, { maxDelayMs: 5 });
    const each = await Promise.all(buffers.map((buffer) => predictor.predictImages([buffer], { rescale: 1 / 255 })));
    each.forEach((row, k) => {
      const rowExpected = (expected.dataSync() as Float32Array).subarray(k * 3, (k + 1) * 3);
      Array.from(row.dataSync() as Float32Array).forEach((v, i) => expect(Math.abs(v - rowExpected[i])).toBeLessThan(1e-6));
    });
    expect(predictor.stats.batches).toBeLessThan(buffers.length);
    // A one-channel model reads its images in grayscale unless told otherwise.
    const grey = model(12, 1);
    expect(maxDifference((await grey.predictImages(buffers)) as Tensor, await grey.predict(await viaLoadImg({ targetSize: [12, 12], colorMode: 'grayscale' }, 1)))).toBeLessThan(1e-2);
  });

  test('bad images and bad options are clear errors naming the buffer', async () => {
    const classifier = model(12, 3);
    const good = fs.readFileSync(files[0]);
    await expect(classifier.predictImages([good, good.subarray(0, Math.floor(good.length / 2))])).rejects.toThrow(/predictImages: could not decode buffers\[1\]: image file is truncated/);
    await expect(classifier.predictImages([Buffer.from('not an image')])).rejects.toThrow(/predictImages: could not decode buffers\[0\]: .*unsupported image format/);
    await expect(classifier.predictImages([])).rejects.toThrow(/predictImages: expected buffers to be a non-empty array of Buffers/);
    await expect(classifier.predictImages(['a.jpg'] as never)).rejects.toThrow(/expected buffers to be a non-empty array of Buffers/);
    await expect(classifier.predictImages([good], { rescale: NaN })).rejects.toThrow(/predictImages: expected rescale to be a finite number/);
    await expect(classifier.predictImages([good], { targetSize: [10, 10] })).rejects.toThrow(/\[\*, 12, 12, 3\]/);
    await expect(classifier.predictImages([good], { size: 3 } as never)).rejects.toThrow(/size/);
    const dense = new Sequential([new Dense(2, { inputShape: [5] })]);
    await expect(dense.predictImages([good])).rejects.toThrow(/predictImages: expected options.targetSize/);
  });
});
