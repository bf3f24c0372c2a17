/**
 * Pixels Keras's load_img (PIL) gives for the files that are not plain sRGB JPEG/PNG: every color mode,
 * PIL's luma for grayscale, CMYK JPEGs, ICC-tagged files (PIL does not apply the profile), TIFF, GIF,
 * lossless WebP, BMP and Netpbm files written by PIL, AVIF (which this PIL cannot read) against the pixels
 * it was written from, and damaged JPEGs (PIL's accept or refuse, then its pixels). Each image
 * decodes the same alone as in a batch. Fixtures are written by PIL itself or by sharp.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { ImageDataGenerator, loadImg } from '../../lib/preprocessing';
import type { ColorMode } from '../../lib/preprocessing/image';
import { nativeDecoder } from '../../lib/preprocessing/native';
import { seededRandom } from '../helpers';
import { describeIf } from '../helpers/peers';
import { kerasAvailable, kerasReference, makeTempDir, PYTHON } from './helpers';

type PilAnswer = { pixels: number[] } | { error: string };

// Every case here compares with PIL (through Keras's load_img) or writes its fixtures with PIL and numpy.
const describePil = describeIf(kerasAvailable, '/usr/bin/python3 cannot import keras_preprocessing, scipy and PIL, which the PIL agreement tests run');

let dir: string;
beforeAll(() => {
  dir = makeTempDir('pil-agreement');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs a Python snippet (PIL, numpy) that writes fixtures into `folder`. */
function python(folder: string, code: string): void {
  const result = spawnSync(PYTHON, ['-c', `import sys, struct\nimport numpy as np\nfrom PIL import Image\nfolder = sys.argv[1]\n${code}`, folder], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`fixture script failed: ${result.stderr}`);
}

function pil(files: string[], colorMode: ColorMode, targetSize: [number, number] | null): PilAnswer[] {
  return kerasReference<PilAnswer[]>({ op: 'load_img_each', files, color_mode: colorMode, target_size: targetSize });
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}

describePil('formats and colour spaces', () => {
  let folder: string;
  let files: string[];
  beforeAll(async () => {
    folder = path.join(dir, 'formats');
    fs.mkdirSync(folder);
    python(folder, `
rng = np.random.RandomState(0)
rgb = rng.randint(0, 256, (11, 13, 3)).astype('uint8')
rgba = rng.randint(0, 256, (11, 13, 4)).astype('uint8')
grey = rng.randint(0, 256, (11, 13)).astype('uint8')
def save(image, name, **options):
    image.save(folder + '/' + name, **options)
save(Image.new('RGB', (6, 4), (255, 0, 0)), 'pure-red.png')
save(Image.fromarray(rgba, 'RGBA'), 'rgba.png')
save(Image.fromarray(np.stack([grey, rgba[..., 3]], -1), 'LA'), 'grey-alpha.png')
palette = Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE, colors=20)
save(palette, 'palette-transparent.png', transparency=3)
cmyk = Image.fromarray(rgba, 'CMYK')
save(cmyk, 'cmyk.jpg', quality=90)
for mode, name in [('RGB', 'rgb24.bmp'), ('L', 'grey8.bmp'), ('1', 'bits1.bmp')]:
    save(Image.fromarray(rgb).convert(mode), name)
save(palette, 'palette8.bmp')
save(Image.fromarray(rgb), 'rgb.tiff')
save(Image.fromarray(rgba, 'RGBA'), 'rgba.tiff')
save(palette, 'palette.gif')
save(Image.fromarray(rgb), 'rgb-lossless.webp', lossless=True)
save(Image.fromarray(rgba, 'RGBA'), 'rgba-lossless.webp', lossless=True)
save(Image.fromarray(rgb).convert('RGB'), 'rgb.ppm')
save(Image.fromarray(grey), 'grey.pgm')
save(Image.fromarray(grey).convert('1'), 'bits.pbm')
# Written by hand: a top-down 24-bit BMP, a 16-bit 5-6-5 one with BI_BITFIELDS, a 32-bit BGRA one with an
# alpha mask (a 108-byte V4 header), and plain-text Netpbm files with maximum values other than 255.
h, w = rgb.shape[:2]
def bmp(name, header_extra, bits, compression, rows, height, masks=b''):
    info = struct.pack('<IiiHHIIiiII', 40 + len(header_extra), w, height, 1, bits, compression, len(rows), 2835, 2835, 0, 0) + header_extra
    offset = 14 + len(info) + len(masks)
    with open(folder + '/' + name, 'wb') as f:
        f.write(b'BM' + struct.pack('<IHHI', offset + len(rows), 0, 0, offset) + info + masks + rows)
pad = lambda row: row + b'\\0' * ((-len(row)) % 4)
bmp('top-down.bmp', b'', 24, 0, b''.join(pad(rgb[y, :, ::-1].tobytes()) for y in range(h)), -h)
packed = ((rgb[..., 0].astype('uint16') >> 3) << 11) | ((rgb[..., 1].astype('uint16') >> 2) << 5) | (rgb[..., 2].astype('uint16') >> 3)
bmp('rgb565.bmp', b'', 16, 3, b''.join(pad(packed[y].astype('<u2').tobytes()) for y in range(h - 1, -1, -1)), h, struct.pack('<III', 0xF800, 0x07E0, 0x001F))
bgra = rgba[..., [2, 1, 0, 3]]
bmp('bgra32.bmp', struct.pack('<IIII', 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000) + b'\\0' * 52, 32, 3, b''.join(bgra[y].tobytes() for y in range(h - 1, -1, -1)), h)
with open(folder + '/plain.ppm', 'w') as f:
    f.write('P3\\n# plain\\n%d %d\\n100\\n' % (w, h) + ' '.join(str(v * 100 // 255) for v in rgb.reshape(-1)) + '\\n')
with open(folder + '/plain.pgm', 'w') as f:
    f.write('P2 %d %d 7\\n' % (w, h) + '\\n'.join(' '.join(str(v % 8) for v in row) for row in grey) + '\\n')
with open(folder + '/binary-max-100.ppm', 'wb') as f:
    f.write(b'P6 %d %d 100\\n' % (w, h) + (rgb.astype('uint16') * 100 // 255).astype('uint8').tobytes())
`);
    // Display P3 tags written by sharp: PIL leaves the profile unapplied, so must we.
    await sharp(Buffer.from(Array.from({ length: 9 * 7 * 3 }, (_, i) => (i * 37) % 256)), { raw: { width: 9, height: 7, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toFile(path.join(folder, 'display-p3.png'));
    files = fs.readdirSync(folder).sort().map((name) => path.join(folder, name));
  });

  test.each([
    ['rgb', null],
    ['grayscale', null],
    ['rgba', null],
    ['rgb', [5, 7]],
    ['grayscale', [9, 4]],
  ] as [ColorMode, [number, number] | null][])("loadImg(colorMode '%s', targetSize %j) gives PIL's pixels exactly", async (colorMode, targetSize) => {
    const reference = pil(files, colorMode, targetSize);
    const outcomes = await Promise.all(
      files.map(async (file, k) => {
        const answer = reference[k];
        if ('error' in answer) return [path.basename(file), `PIL refuses it: ${answer.error}`];
        const mine = await loadImg(file, { colorMode, targetSize });
        return [path.basename(file), largestDifference(mine.data, answer.pixels)];
      }),
    );
    expect(outcomes).toEqual(files.map((file) => [path.basename(file), 0]));
  });

  test('a lossless AVIF gives back the pixels it was written from', async () => {
    const pixels = Buffer.from(Array.from({ length: 12 * 10 * 3 }, (_, i) => (i * 53) % 256));
    const file = path.join(dir, 'lossless.avif');
    await sharp(pixels, { raw: { width: 12, height: 10, channels: 3 } }).avif({ lossless: true }).toFile(file);
    const image = await loadImg(file);
    expect([image.width, image.height, largestDifference(image.data, pixels)]).toEqual([12, 10, 0]);
  });

  test("PIL's luma: pure red is 76 in grayscale", async () => {
    const red = await loadImg(path.join(folder, 'pure-red.png'), { colorMode: 'grayscale' });
    expect(Array.from(new Set(red.data))).toEqual([76]);
  });

  test('BMP and Netpbm files are listed and read by flowFromDirectory, as Keras lists them', async () => {
    const tree = path.join(dir, 'bitmap-tree');
    fs.mkdirSync(path.join(tree, 'a'), { recursive: true });
    const bitmaps = files.filter((file) => /\.(bmp|ppm)$/.test(file));
    for (const file of bitmaps) fs.copyFileSync(file, path.join(tree, 'a', path.basename(file)));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const iterator = new ImageDataGenerator().flowFromDirectory(tree, { targetSize: [5, 7], batchSize: 32, shuffle: false, classMode: null });
      expect(iterator.samples).toBe(bitmaps.length);
      const [x] = await iterator.get(0);
      const reference = pil(iterator.filepaths, 'rgb', [5, 7]);
      const values = x.dataSync() as Float32Array;
      iterator.filepaths.forEach((file, k) => {
        const answer = reference[k] as { pixels: number[] };
        expect([path.basename(file), largestDifference(values.subarray(k * 105, (k + 1) * 105), answer.pixels)]).toEqual([path.basename(file), 0]);
      });
    } finally {
      log.mockRestore();
    }
  });
});

describePil('decoded alone or in a batch: the same pixels', () => {
  test('untagged PNGs batched with a Display P3 PNG of the same size, and palette PNGs with and without transparency', async () => {
    const tree = path.join(dir, 'joined');
    fs.mkdirSync(path.join(tree, 'a'), { recursive: true });
    const random = seededRandom(5);
    const raw = () => Buffer.from(Array.from({ length: 8 * 6 * 3 }, () => Math.floor(random() * 256)));
    for (let i = 0; i < 4; i++) {
      const image = sharp(raw(), { raw: { width: 8, height: 6, channels: 3 } });
      await (i === 2 ? image.withIccProfile('p3') : image).png().toFile(path.join(tree, 'a', `${i}.png`));
    }
    await sharp(raw(), { raw: { width: 8, height: 6, channels: 3 } }).png({ palette: true, colours: 8 }).toFile(path.join(tree, 'a', '4.png'));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      for (const colorMode of ['rgb', 'grayscale'] as ColorMode[]) {
        const channels = colorMode === 'rgb' ? 3 : 1;
        const iterator = new ImageDataGenerator().flowFromDirectory(tree, { targetSize: [6, 8], batchSize: 8, shuffle: false, classMode: null, colorMode });
        const [x] = await iterator.get(0);
        const values = x.dataSync() as Float32Array;
        const size = 6 * 8 * channels;
        for (let k = 0; k < iterator.filepaths.length; k++) {
          const alone = await loadImg(iterator.filepaths[k], { colorMode });
          const reference = pil([iterator.filepaths[k]], colorMode, null)[0] as { pixels: number[] };
          expect([colorMode, k, largestDifference(values.subarray(k * size, (k + 1) * size), alone.data), largestDifference(alone.data, reference.pixels)]).toEqual([colorMode, k, 0, 0]);
        }
      }
    } finally {
      log.mockRestore();
    }
  });
});

describePil('damaged JPEGs: refused where PIL refuses them, and PIL pixels where it accepts them', () => {
  test('truncations and byte changes, through the addon and through sharp', async () => {
    const folder = path.join(dir, 'mutants');
    fs.mkdirSync(folder);
    const random = seededRandom(11);
    const pattern = Buffer.from(Array.from({ length: 32 * 24 * 3 }, (_, i) => (i * 7 + (i >> 5) * 13) & 0xff));
    const sources = [
      await sharp(pattern, { raw: { width: 32, height: 24, channels: 3 } }).jpeg({ quality: 85 }).toBuffer(),
      await sharp(pattern, { raw: { width: 32, height: 24, channels: 3 } }).jpeg({ progressive: true }).toBuffer(),
    ];
    const files: string[] = [];
    sources.forEach((source, s) => {
      const scanStart = source.indexOf(Buffer.from([0xff, 0xda]));
      for (let i = 0; i < 40; i++) {
        const mutant = Buffer.from(source);
        let bytes: Buffer = mutant;
        if (i < 12) {
          // Cut anywhere from inside the scan to just before the end-of-image marker.
          bytes = mutant.subarray(0, scanStart + 12 + Math.floor(((source.length - scanStart - 12) * i) / 12));
        } else {
          for (let j = 0; j < 1 + (i % 3); j++) mutant[scanStart + 12 + Math.floor(random() * (source.length - scanStart - 14))] = Math.floor(random() * 256);
        }
        const file = path.join(folder, `${s}-${String(i).padStart(2, '0')}.jpg`);
        fs.writeFileSync(file, bytes);
        files.push(file);
      }
    });
    const reference = pil(files, 'rgb', null);
    const refused = reference.filter((answer) => 'error' in answer).length;
    // Both kinds of outcome are exercised.
    expect(refused).toBeGreaterThan(5);
    expect(refused).toBeLessThan(files.length - 5);
    const decode = nativeDecoder()!;
    const native = await decode(files, { height: 24, width: 32, channels: 3, interpolation: 'nearest', keepAspectRatio: false });
    const disagreements: string[] = [];
    for (let k = 0; k < files.length; k++) {
      const answer = reference[k];
      const name = path.basename(files[k]);
      const status = native.decoded[k];
      if (status === 2 && !('error' in answer)) disagreements.push(`${name}: the addon says truncated, PIL decodes it`);
      if (status === 1) {
        if ('error' in answer) disagreements.push(`${name}: the addon decodes it, PIL refuses it (${answer.error})`);
        else if (largestDifference(native.pixels.subarray(k * 2304, (k + 1) * 2304), answer.pixels) !== 0) disagreements.push(`${name}: the addon's pixels differ from PIL's`);
      }
      const viaSharp = await loadImg(files[k]).then((image) => image.data, (error: Error) => error);
      if (viaSharp instanceof Error) {
        if (!('error' in answer)) disagreements.push(`${name}: sharp refuses it (${viaSharp.message}), PIL decodes it`);
      } else if ('error' in answer) {
        disagreements.push(`${name}: sharp decodes it, PIL refuses it (${answer.error})`);
      } else if (largestDifference(viaSharp, answer.pixels) > 1) {
        disagreements.push(`${name}: sharp's pixels differ from PIL's by more than one level`);
      }
    }
    expect(disagreements).toEqual([]);
  });
});
