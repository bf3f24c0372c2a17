/**
 * The addon's JPEG path (native/image_decode.cc, libjpeg-turbo) against Keras's load_img (PIL) and against
 * the sharp path it stands in for: the same pixels, the same resizing, and every file it declines still
 * decoded (or reported) by sharp.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { ImageDataGenerator, imgToArray, loadImg } from '../../lib/preprocessing';
import type { ColorMode } from '../../lib/preprocessing/image';
import { nativeDecoder, setNativeDecoding } from '../../lib/preprocessing/native';
import { kerasAvailable, kerasReference, makeTempDir } from './helpers';

const decode = nativeDecoder();
if (!decode) {
  // eslint-disable-next-line no-console
  console.warn('libjpeg path tests are skipped: the addon was built without libjpeg (every file goes through sharp)');
}
const withNative = decode ? describe : describe.skip;
const withKeras = kerasAvailable ? test : test.skip;

/** High-frequency colour pattern: any pixel taken from the wrong place, or decoded differently, shows. */
function pattern(width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + (i >> 5) * 13) & 0xff;
  return pixels;
}

let dir: string;
const jpegs: string[] = [];

beforeAll(async () => {
  dir = makeTempDir('native-decode');
  const raw = (w: number, h: number) => sharp(pattern(w, h), { raw: { width: w, height: h, channels: 3 } });
  for (const [w, h] of [[64, 64], [37, 53], [256, 256], [28, 28]]) {
    for (const chromaSubsampling of ['4:2:0', '4:4:4']) {
      const file = path.join(dir, `colour_${w}x${h}_${chromaSubsampling.replace(/:/g, '')}.jpg`);
      await raw(w, h).jpeg({ quality: 80, chromaSubsampling }).toFile(file);
      jpegs.push(file);
    }
  }
  const progressive = path.join(dir, 'progressive_50x30.jpg');
  await raw(50, 30).jpeg({ progressive: true }).toFile(progressive);
  const grey = path.join(dir, 'grey_40x24.jpg');
  await raw(40, 24).toColourspace('b-w').jpeg().toFile(grey);
  // PIL leaves an embedded ICC profile unapplied: the pixels are the file's own.
  const profiled = path.join(dir, 'display-p3_30x20.jpg');
  await raw(30, 20).withIccProfile('p3').jpeg().toFile(profiled);
  jpegs.push(progressive, grey, profiled);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}

const CASES: { colorMode: ColorMode; channels: number; targetSize: [number, number] }[] = [
  { colorMode: 'rgb', channels: 3, targetSize: [64, 64] },
  { colorMode: 'rgb', channels: 3, targetSize: [48, 32] },
  { colorMode: 'rgba', channels: 4, targetSize: [70, 130] },
  { colorMode: 'grayscale', channels: 1, targetSize: [30, 40] },
];

withNative('the libjpeg path', () => {
  withKeras("gives the pixels Keras's load_img (PIL on the same libjpeg-turbo) gives, resized by nearest neighbour", async () => {
    for (const { colorMode, channels, targetSize } of CASES) {
      const [height, width] = targetSize;
      const result = await decode!(jpegs, { height, width, channels, interpolation: 'nearest', keepAspectRatio: false });
      expect(Array.from(result.decoded)).toEqual(jpegs.map(() => 1));
      const reference = kerasReference<number[][]>({ op: 'load_img', files: jpegs, target_size: targetSize, color_mode: colorMode });
      const bytes = height * width * channels;
      jpegs.forEach((file, k) => {
        const mine = result.pixels.subarray(k * bytes, (k + 1) * bytes);
        expect([file, colorMode, maxDifference(mine, reference[k])]).toEqual([file, colorMode, 0]);
      });
    }
  });

  test('gives the pixels the sharp path gives, within JPEG decoder tolerance (1 level)', async () => {
    for (const { colorMode, channels, targetSize } of CASES) {
      const [height, width] = targetSize;
      const result = await decode!(jpegs, { height, width, channels, interpolation: 'nearest', keepAspectRatio: false });
      const bytes = height * width * channels;
      for (let k = 0; k < jpegs.length; k++) {
        const viaSharp = await loadImg(jpegs[k], { targetSize, colorMode });
        expect([jpegs[k], colorMode, maxDifference(result.pixels.subarray(k * bytes, (k + 1) * bytes), viaSharp.data) <= 1]).toEqual([jpegs[k], colorMode, true]);
      }
    }
  });

  test('declines what it does not decode as PIL would, so that sharp decodes it; truncated files are invalid, not declined', async () => {
    const png = path.join(dir, 'declined.png');
    await sharp(pattern(16, 16), { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(png);
    const cmyk = path.join(dir, 'cmyk.jpg');
    await sharp(pattern(16, 16), { raw: { width: 16, height: 16, channels: 3 } }).toColourspace('cmyk').jpeg().toFile(cmyk);
    const truncated = path.join(dir, 'truncated.jpg');
    const whole = await sharp(pattern(64, 64), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    fs.writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const profiled = path.join(dir, 'with-icc-profile.jpg');
    await sharp(pattern(16, 16), { raw: { width: 16, height: 16, channels: 3 } }).withIccProfile('p3').jpeg().toFile(profiled);
    const missing = path.join(dir, 'missing.jpg');
    const sixteen = path.join(dir, 'sixteen.jpg');
    await sharp(pattern(16, 16), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toFile(sixteen);
    const files = [png, cmyk, truncated, profiled, missing, sixteen];
    const options = { height: 16, width: 16, channels: 3, interpolation: 'nearest', keepAspectRatio: false };
    // PIL leaves an ICC profile unapplied, as the addon does; a truncated file is PIL's "image file is truncated".
    expect(Array.from((await decode!(files, options)).decoded)).toEqual([0, 0, 2, 1, 0, 1]);
    // Resizing with another kernel, or cropping to the aspect ratio, is sharp's; at the file's own size neither matters.
    const resized = [jpegs[0], sixteen];
    expect(Array.from((await decode!(resized, { ...options, interpolation: 'bilinear' })).decoded)).toEqual([0, 1]);
    expect(Array.from((await decode!(resized, { ...options, keepAspectRatio: true })).decoded)).toEqual([0, 1]);
    // Colour files in grayscale mode take PIL's luma (compared with load_img's pixels below).
    expect(Array.from((await decode!([jpegs[0], jpegs[jpegs.length - 1]], { ...options, channels: 1 })).decoded)).toEqual([1, 1]);
  });

  test('flowFromDirectory gives the same batches with and without it, and corrupt files still go through sharp', async () => {
    const tree = makeTempDir('native-flow');
    try {
      for (let i = 0; i < 6; i++) {
        const [w, h] = i % 3 === 0 ? [20, 20] : i % 3 === 1 ? [33, 17] : [8, 12];
        const image = sharp(pattern(w + i, h), { raw: { width: w + i, height: h, channels: 3 } });
        const file = path.join(tree, i % 2 ? 'b' : 'a', `img${i}.${i === 4 ? 'png' : 'jpg'}`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        await (i === 4 ? image.png() : image.jpeg()).toFile(file);
      }
      fs.writeFileSync(path.join(tree, 'a', 'broken.jpg'), fs.readFileSync(path.join(tree, 'a', 'img0.jpg')).subarray(0, 100));
      const batches = async (native: boolean) => {
        setNativeDecoding(native);
        const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
        const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
        try {
          const generator = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true });
          const it = generator.flowFromDirectory(tree, { targetSize: [20, 20], batchSize: 4, seed: 7, invalidImages: 'skip' });
          const out: number[][] = [];
          for await (const [x, y] of it) out.push(Array.from(x.dataSync() as Float32Array), Array.from(y!.dataSync() as Float32Array));
          return { out, warnings: warn.mock.calls.map((call) => String(call[0])) };
        } finally {
          warn.mockRestore();
          log.mockRestore();
          setNativeDecoding(true);
        }
      };
      const native = await batches(true);
      const viaSharp = await batches(false);
      expect(native.out.length).toBe(4);
      expect(native.out.map((values) => values.length)).toEqual(viaSharp.out.map((values) => values.length));
      expect(native.out).toHaveLength(viaSharp.out.length);
      native.out.forEach((values, i) => expect(maxDifference(values, viaSharp.out[i])).toBeLessThanOrEqual(1 / 255 + 1e-7));
      expect(native.warnings).toEqual(viaSharp.warnings);
      expect(native.warnings.some((w) => w.includes('broken.jpg') && w.includes('the file is skipped'))).toBe(true);
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  });
});

withKeras("loadImg's nearest resize (the sharp path) samples the pixels PIL samples", async () => {
  const png = path.join(dir, 'pattern_37x53.png');
  await sharp(pattern(37, 53), { raw: { width: 37, height: 53, channels: 3 } }).png().toFile(png);
  for (const targetSize of [[64, 64], [20, 30], [53, 100]] as [number, number][]) {
    const [reference] = kerasReference<number[][]>({ op: 'load_img', files: [png], target_size: targetSize });
    const mine = imgToArray(await loadImg(png, { targetSize })).dataSync() as Float32Array;
    expect(maxDifference(mine, reference)).toBe(0);
  }
});
