/**
 * The pixels of every interpolation Keras's load_img accepts ('nearest', 'bilinear', 'bicubic', 'lanczos',
 * 'box', 'hamming'), shrinking, enlarging and both at once, for grayscale, RGB and RGBA (which PIL resizes
 * premultiplied by alpha), exactly as keras_preprocessing's load_img (PIL) gives them; keepAspectRatio's
 * centred crop as tf.keras's load_img resizes it (PIL's resize with a box); and flowFromDirectory's batches
 * through the same resize. All references come from one Python child, which writes the fixtures with PIL.
 * And a large resize leaves the event loop turning.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ImageDataGenerator, loadImg } from '../../lib/preprocessing';
import { INTERPOLATIONS, type ColorMode, type Interpolation } from '../../lib/preprocessing/image';
import { resizePil } from '../../lib/preprocessing/pil-resample';
import { loopTurnsWhile } from '../helpers';
import { describeIf } from '../helpers/peers';
import { runPython } from '../helpers/python';
import { kerasAvailable, makeTempDir } from './helpers';

interface Case {
  file: string;
  colorMode: ColorMode;
  size: [number, number];
  interpolation: Interpolation;
  keepAspectRatio: boolean;
}

const FILES = ['noise.png', 'smooth.png', 'alpha.png', 'grey.png'];
const MODES: Record<string, ColorMode[]> = { 'noise.png': ['rgb'], 'smooth.png': ['rgb', 'grayscale'], 'alpha.png': ['rgba'], 'grey.png': ['grayscale'] };
// The fixtures are 23 wide and 17 high: smaller, larger, and smaller in one axis while larger in the other.
const SIZES: [number, number][] = [[7, 9], [40, 31], [30, 10]];

const cases: Case[] = [];
for (const interpolation of INTERPOLATIONS) {
  for (const file of FILES) {
    for (const colorMode of MODES[file]) {
      for (const size of SIZES) cases.push({ file, colorMode, size, interpolation, keepAspectRatio: false });
    }
  }
  for (const size of [[9, 7], [12, 30]] as [number, number][]) {
    cases.push({ file: 'noise.png', colorMode: 'rgb', size, interpolation, keepAspectRatio: true });
    cases.push({ file: 'alpha.png', colorMode: 'rgba', size, interpolation, keepAspectRatio: true });
  }
}

// Writes the fixtures, then answers each case: keras_preprocessing's load_img, or for keepAspectRatio (which
// keras_preprocessing 1.1.0 lacks) tf.keras's load_img written out: the centred crop, then resize with a box.
const REFERENCE = `
import json, sys
import numpy as np
from PIL import Image
from keras_preprocessing.image import load_img
from keras_preprocessing.image.utils import _PIL_INTERPOLATION_METHODS
folder, cases = sys.argv[1], json.loads(sys.argv[2])
rng = np.random.RandomState(3)
h, w = 17, 23
Image.fromarray(rng.randint(0, 256, (h, w, 3)).astype('uint8')).save(folder + '/noise.png')
y, x = np.mgrid[0:h, 0:w]
smooth = np.stack([127 + 120 * np.sin(x / 4.0 + c) * np.cos(y / 5.0) for c in range(3)], -1)
Image.fromarray(np.round(smooth).astype('uint8')).save(folder + '/smooth.png')
alpha = rng.randint(0, 256, (h, w, 4)).astype('uint8')
alpha[0, :, 3] = 0
alpha[1, :, 3] = 255
Image.fromarray(alpha, 'RGBA').save(folder + '/alpha.png')
Image.fromarray(rng.randint(0, 256, (h, w)).astype('uint8')).save(folder + '/grey.png')
answers = []
for case in cases:
    file = folder + '/' + case['file']
    height, width = case['size']
    if not case['keepAspectRatio']:
        img = load_img(file, color_mode=case['colorMode'], target_size=(height, width), interpolation=case['interpolation'])
    else:
        img = Image.open(file).convert({'rgb': 'RGB', 'rgba': 'RGBA', 'grayscale': 'L'}[case['colorMode']])
        iw, ih = img.size
        crop_height = min(ih, (iw * height) // width)
        crop_width = min(iw, (ih * width) // height)
        top, left = (ih - crop_height) // 2, (iw - crop_width) // 2
        img = img.resize((width, height), _PIL_INTERPOLATION_METHODS[case['interpolation']], box=(left, top, left + crop_width, top + crop_height))
    answers.append(np.asarray(img, dtype='uint8').reshape(-1).tolist())
print(json.dumps(answers))
`;

const describeKeras = describeIf(kerasAvailable, '/usr/bin/python3 cannot import keras_preprocessing and PIL');

describeKeras('resize interpolations against PIL', () => {
  let dir: string;
  let answers: number[][];
  beforeAll(() => {
    dir = makeTempDir('resize-interpolation');
    answers = JSON.parse(runPython(REFERENCE, [dir, JSON.stringify(cases)])) as number[][];
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every interpolation, colour mode and size gives PIL\'s pixels exactly', async () => {
    expect(answers).toHaveLength(cases.length);
    const differing: string[] = [];
    for (const [i, c] of cases.entries()) {
      const img = await loadImg(path.join(dir, c.file), { targetSize: c.size, colorMode: c.colorMode, interpolation: c.interpolation, keepAspectRatio: c.keepAspectRatio });
      expect([img.height, img.width]).toEqual(c.size);
      const ours = Array.from(img.data);
      expect(ours).toHaveLength(answers[i].length);
      const worst = ours.reduce((most, value, k) => Math.max(most, Math.abs(value - answers[i][k])), 0);
      if (worst !== 0) differing.push(`${c.interpolation} ${c.colorMode} ${c.file} to ${c.size.join('x')}${c.keepAspectRatio ? ' keeping the aspect ratio' : ''}: off by up to ${worst}`);
    }
    expect(differing).toEqual([]);
  });

  test('flowFromDirectory resizes with the interpolation it is given, as loadImg', async () => {
    const root = path.join(dir, 'tree');
    fs.mkdirSync(path.join(root, 'only'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'noise.png'), path.join(root, 'only', 'noise.png'));
    for (const interpolation of ['lanczos', 'hamming'] as const) {
      const index = cases.findIndex((c) => c.file === 'noise.png' && c.interpolation === interpolation && c.size[0] === 40 && !c.keepAspectRatio);
      const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      const it = new ImageDataGenerator().flowFromDirectory(root, { targetSize: [40, 31], interpolation, classMode: null, batchSize: 1, shuffle: false });
      log.mockRestore();
      const [batch] = await it.get(0);
      expect(batch.shape).toEqual([1, 40, 31, 3]);
      expect(Array.from(batch.dataSync() as Float32Array)).toEqual(answers[index]);
    }
  });
});

test("a large image's resize lets the event loop turn while it runs", async () => {
  // Counted, not timed: a resize that held the loop would let no setImmediate run before it resolved.
  const width = 1200;
  const height = 900;
  const pixels = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7) & 0xff);
  const { value: resized, turns } = await loopTurnsWhile(() => resizePil(pixels, width, height, 3, 120, 90, 'bicubic'));
  expect(resized).toHaveLength(120 * 90 * 3);
  expect(turns).toBe(10);
});
