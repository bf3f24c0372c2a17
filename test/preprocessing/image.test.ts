import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { arrayToImg, Image, imgToArray, loadImg, saveImg } from '../../lib/preprocessing';
import { expandDims, tensor } from '../../lib/tensor';
import { makeTempDir } from './helpers';

let dir: string;
// 4x3 RGBA image with known pixels: red channel = 10 * index, alpha 200.
const W = 4;
const H = 3;
const rgba = Buffer.alloc(W * H * 4);
for (let i = 0; i < W * H; i++) rgba.set([10 * i, 100, 255 - i, 200], i * 4);

beforeAll(async () => {
  dir = makeTempDir('image');
  await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toFile(path.join(dir, 'known.png'));
  fs.writeFileSync(path.join(dir, 'truncated.jpg'), (await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).jpeg().toBuffer()).subarray(0, 40));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('loadImg decodes known pixels; imgToArray gives float32 [h, w, c]; expandDims adds the batch axis', async () => {
  const img = await loadImg(path.join(dir, 'known.png'));
  expect([img.width, img.height, img.channels, img.mode]).toEqual([W, H, 3, 'RGB']);
  const x = imgToArray(img);
  expect(x.shape).toEqual([H, W, 3]);
  expect(x.dtype).toBe('float32');
  expect(Array.from(x.dataSync() as Float32Array).slice(0, 6)).toEqual([0, 100, 255, 10, 100, 254]);
  expect(expandDims(x, 0).shape).toEqual([1, H, W, 3]);
  const withAlpha = await loadImg(path.join(dir, 'known.png'), { colorMode: 'rgba' });
  expect(Array.from(withAlpha.data.subarray(4, 8))).toEqual([10, 100, 254, 200]);
  const grey = await loadImg(fs.readFileSync(path.join(dir, 'known.png')), { colorMode: 'grayscale', targetSize: [6, 8] });
  expect([grey.height, grey.width, grey.channels]).toEqual([6, 8, 1]);
});

test('nearest resizing repeats pixels', async () => {
  const img = await loadImg(path.join(dir, 'known.png'), { targetSize: [6, 8], interpolation: 'nearest' });
  const red = (row: number, col: number) => img.data[(row * 8 + col) * 3];
  expect([red(0, 0), red(0, 1), red(0, 2), red(1, 2), red(5, 7)]).toEqual([0, 0, 10, 10, 110]);
});

test('arrayToImg scales as Keras does and saveImg writes a file loadImg reads back', async () => {
  const x = tensor([[[-1], [0]], [[1], [3]]]);
  const img = arrayToImg(x);
  expect(Array.from(img.data)).toEqual([0, 63, 127, 255]);
  expect(Array.from(arrayToImg(tensor([[[7], [300]]]), { scale: false }).data)).toEqual([7, 44]);
  const file = path.join(dir, 'out.png');
  await saveImg(file, tensor(Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i * 10), [2, 3, 3]), { scale: false });
  const back = imgToArray(await loadImg(file));
  expect(Array.from(back.dataSync() as Float32Array)).toEqual(Array.from({ length: 18 }, (_, i) => i * 10));
});

test('errors name the file and the bad argument', async () => {
  await expect(loadImg(path.join(dir, 'truncated.jpg'))).rejects.toThrow(`loadImg: could not decode "${path.join(dir, 'truncated.jpg')}"`);
  await expect(loadImg(path.join(dir, 'missing.png'))).rejects.toThrow(`loadImg: cannot read "${path.join(dir, 'missing.png')}" as an image: no such file (ENOENT)`);
  await expect(loadImg(path.join(dir, 'known.png'), { interpolation: 'area' as never })).rejects.toThrow(
    "loadImg: expected interpolation to be one of 'nearest', 'bilinear', 'bicubic', 'lanczos', 'box', 'hamming' but received \"area\"",
  );
  await expect(loadImg(path.join(dir, 'known.png'), { targetSize: [64] as never })).rejects.toThrow(
    'loadImg: expected targetSize to be a positive integer or a pair of positive integers but received [64]',
  );
  expect(() => arrayToImg(tensor([1, 2, 3]))).toThrow('arrayToImg: expected an image tensor of rank 3 [height, width, channels] but received shape [3]');
  expect(() => new Image(new Uint8Array(5), 2, 2, 1)).toThrow('Image: expected 4 bytes for 2x2x1 pixels but received a Uint8Array of length 5');
});

test('a file without read permission is reported as such, by loadImg and by flowFromDirectory', () => {
  const tree = makeTempDir('unreadable');
  const file = path.join(tree, 'a', 'locked.png');
  fs.mkdirSync(path.dirname(file));
  fs.copyFileSync(path.join(dir, 'known.png'), file);
  fs.chmodSync(file, 0o000);
  fs.chmodSync(tree, 0o755);
  fs.chmodSync(path.dirname(file), 0o755);
  // Root reads anything: run as another user (nobody) then, in a child process on the built package.
  const script = `
    const k = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
    (async () => {
      const loadImg = await k.loadImg(${JSON.stringify(file)}).then(() => 'decoded', (e) => e.message);
      const iterator = new k.ImageDataGenerator().flowFromDirectory(${JSON.stringify(tree)}, { targetSize: [3, 4], batchSize: 1 });
      const flow = await iterator.get(0).then(() => 'decoded', (e) => e.message);
      console.log(JSON.stringify({ loadImg, flow }));
    })();`;
  try {
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000, ...(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}) });
    expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
    const expected = `cannot read "${file}" as an image: permission denied (EACCES)`;
    expect(JSON.parse(child.stdout.trim().split('\n').pop()!)).toEqual({ loadImg: `loadImg: ${expected}`, flow: `flowFromDirectory: ${expected}` });
  } finally {
    fs.rmSync(tree, { recursive: true, force: true });
  }
});
