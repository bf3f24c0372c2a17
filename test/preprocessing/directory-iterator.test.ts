import * as fs from 'fs';
import * as path from 'path';
import { ImageDataGenerator, imageDatasetFromDirectory, imgToArray, loadImg } from '../../lib/preprocessing';
import { Tensor, tensor } from '../../lib/tensor';
import { kerasAvailable, kerasReference, makeTempDir, writeImage } from './helpers';

// A class folder tree with the cases Keras's listing has rules for: unsorted and mixed-case class names,
// nested folders, extensions in capitals, files that are not images by extension, a non-folder at the top.
let root: string;
const counts: Record<string, number> = { dogs: 7, cats: 5, Zebras: 3 };

beforeAll(async () => {
  root = makeTempDir('flow');
  let seed = 0;
  for (const [name, count] of Object.entries(counts)) {
    for (let i = 0; i < count; i++) {
      const nestedFolder = i % 3 === 2 ? 'sub' : '';
      const ext = i % 4 === 1 ? 'JPG' : 'png';
      await writeImage(path.join(root, name, nestedFolder, `img${i}.${ext}`), 12 + i, 10, seed++, ext === 'JPG' ? 'jpeg' : 'png');
    }
    fs.writeFileSync(path.join(root, name, 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(root, name, 'photo.jpeg.bak'), 'a backup, not an image');
  }
  fs.writeFileSync(path.join(root, 'README.md'), 'not a class');
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function silently<T>(body: () => T): { value: T; printed: string[] } {
  const printed: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.join(' '));
  });
  try {
    return { value: body(), printed };
  } finally {
    spy.mockRestore();
  }
}

const shapeOf = (t: Tensor | null) => (t ? [...t.shape] : null);

describe('flowFromDirectory', () => {
  test('sorts class folders into classIndices, ignores non-images and prints what Keras prints', () => {
    const { value: it, printed } = silently(() => new ImageDataGenerator().flowFromDirectory(root, { targetSize: [8, 8] }));
    expect(it.classIndices).toEqual({ Zebras: 0, cats: 1, dogs: 2 });
    expect(it.samples).toBe(15);
    expect(printed).toEqual(['Found 15 images belonging to 3 classes.']);
    expect(it.filenames.every((f) => /\.(png|JPG)$/.test(f))).toBe(true);
    expect(Array.from(it.classes)).toEqual([...Array(3).fill(0), ...Array(5).fill(1), ...Array(7).fill(2)]);
    expect(it.inputShape).toEqual([8, 8, 3]);
    expect(it.length).toBe(1);
  });

  test('`classes` chooses and orders the classes', () => {
    const { value: it } = silently(() => new ImageDataGenerator().flowFromDirectory(root, { classes: ['dogs', 'cats'], classMode: 'binary', targetSize: [8, 8] }));
    expect(it.classIndices).toEqual({ dogs: 0, cats: 1 });
    expect(it.samples).toBe(12);
  });

  const describeKeras = kerasAvailable ? describe : describe.skip;
  describeKeras('against Keras on the same folder', () => {
    test.each([
      ['categorical', {}, {}],
      ['binary', { classes: ['cats', 'dogs'], classMode: 'binary' }, { classes: ['cats', 'dogs'], class_mode: 'binary' }],
      ['sparse', { classMode: 'sparse' }, { class_mode: 'sparse' }],
      ['input', { classMode: 'input' }, { class_mode: 'input' }],
      ['validation subset', { subset: 'validation', split: 0.3 }, { subset: 'validation' }],
      ['training subset', { subset: 'training', split: 0.3 }, { subset: 'training' }],
      ['training subset, split 0.5', { subset: 'training', split: 0.5, classMode: 'sparse' }, { subset: 'training', class_mode: 'sparse' }],
    ])('%s: same files, order, labels, label shape and dtype', async (_name, ours, theirs) => {
      const { split, ...options } = ours as { split?: number };
      const generator = new ImageDataGenerator({ validationSplit: split ?? 0 });
      const { value: it, printed } = silently(() => generator.flowFromDirectory(root, { ...options, targetSize: [8, 8], shuffle: false, batchSize: 4 }));
      const reference = kerasReference<{
        printed: string; filenames: string[]; classes: number[]; class_indices: Record<string, number>;
        y_shape: number[] | null; y_dtype: string | null; x_shape: number[];
      }>({
        op: 'flow_from_directory',
        directory: root,
        generator: { validation_split: split ?? 0 },
        options: { ...theirs, target_size: [8, 8], shuffle: false, batch_size: 4 },
      });
      expect(printed).toEqual([reference.printed]);
      expect(it.filenames).toEqual(reference.filenames);
      expect(Array.from(it.classes)).toEqual(reference.classes);
      expect(it.classIndices).toEqual(reference.class_indices);
      const [x, y] = await it.get(0);
      expect(shapeOf(x)).toEqual(reference.x_shape);
      expect(shapeOf(y)).toEqual(reference.y_shape);
      expect(y?.dtype).toBe(reference.y_dtype);
    });
  });

  test('label shapes and dtypes per class mode', async () => {
    const generator = new ImageDataGenerator({ rescale: 1 / 255 });
    const make = (classMode: 'categorical' | 'binary' | 'sparse' | 'input' | null) =>
      silently(() => generator.flowFromDirectory(root, { classMode, classes: ['cats', 'dogs'], targetSize: [6, 5], batchSize: 4, shuffle: false })).value;
    const [x, categorical] = await make('categorical').get(0);
    expect(x.shape).toEqual([4, 6, 5, 3]);
    expect(x.dtype).toBe('float32');
    const pixels = x.dataSync() as Float32Array;
    expect(Math.max(...pixels)).toBeLessThanOrEqual(1);
    expect(Math.max(...pixels)).toBeGreaterThan(0.1);
    expect(categorical?.shape).toEqual([4, 2]);
    expect(categorical?.arraySync()).toEqual([[1, 0], [1, 0], [1, 0], [1, 0]]);
    const [, binary] = await make('binary').get(1);
    expect(binary?.shape).toEqual([4]);
    expect(binary?.dtype).toBe('float32');
    expect(binary?.arraySync()).toEqual([0, 1, 1, 1]); // cats 0-4 then dogs
    const [, sparse] = await make('sparse').get(2);
    expect(sparse?.arraySync()).toEqual([1, 1, 1, 1]);
    const [inputX, inputY] = await make('input').get(0);
    expect(inputY?.dataSync()).toEqual(inputX.dataSync());
    const [, none] = await make(null).get(0);
    expect(none).toBeNull();
  });

  test('a binary classMode with more than two classes is an error', () => {
    expect(() => silently(() => new ImageDataGenerator().flowFromDirectory(root, { classMode: 'binary' }))).toThrow(
      "flowFromDirectory: expected at most 2 classes for classMode 'binary' but found 3 (Zebras, cats, dogs); use 'categorical' or 'sparse'",
    );
  });

  test('the same seed gives the same order and augmentation; epochs reshuffle; for await walks one epoch', async () => {
    const generator = new ImageDataGenerator({ shearRange: 20, zoomRange: 0.3, horizontalFlip: true, rotationRange: 10 });
    const make = (seed: number) =>
      silently(() => generator.flowFromDirectory(root, { targetSize: [8, 8], batchSize: 4, seed, classMode: 'sparse' })).value;
    const epoch = async (it: ReturnType<typeof make>) => {
      const batches: number[][] = [];
      const labels: number[] = [];
      for await (const [x, y] of it) {
        batches.push(Array.from(x.dataSync() as Float32Array));
        labels.push(...(y?.arraySync() as number[]));
      }
      return { batches, labels };
    };
    const a = make(42);
    const b = make(42);
    const a1 = await epoch(a);
    expect(a1.batches.length).toBe(4);
    expect(a1.batches.map((v) => v.length / (8 * 8 * 3))).toEqual([4, 4, 4, 3]);
    expect(a1).toEqual(await epoch(b));
    const a2 = await epoch(a);
    expect(a2.labels).not.toEqual(a1.labels); // reshuffled (15 labels in 3 classes: a repeat is vanishingly unlikely)
    expect([...a2.labels].sort()).toEqual([...a1.labels].sort());
    const c1 = await epoch(make(7));
    expect(c1.batches).not.toEqual(a1.batches);
    // Batches do not depend on the order they are asked for.
    const d = make(42);
    const last = await d.get(3);
    const first = await d.get(0);
    expect(Array.from(first[0].dataSync() as Float32Array)).toEqual(a1.batches[0]);
    expect(Array.from(last[0].dataSync() as Float32Array)).toEqual(a1.batches[3]);
  });

  test('shuffle false keeps Keras order, and augmentation still varies per epoch', async () => {
    const generator = new ImageDataGenerator({ shearRange: 30 });
    const { value: it } = silently(() => generator.flowFromDirectory(root, { targetSize: [8, 8], batchSize: 15, shuffle: false, seed: 1, classMode: 'sparse' }));
    const [x1, y1] = await it.get(0);
    it.onEpochEnd();
    const [x2, y2] = await it.get(0);
    expect(y1?.arraySync()).toEqual(y2?.arraySync());
    expect(x1.dataSync()).not.toEqual(x2.dataSync());
  });

  test('get() outside the epoch is an error naming the range', async () => {
    const { value: it } = silently(() => new ImageDataGenerator().flowFromDirectory(root, { targetSize: [8, 8], batchSize: 4 }));
    await expect(it.get(4)).rejects.toThrow('flowFromDirectory.get: expected index to be an integer in [0, 4) but received 4');
  });

  test.each([
    [{ targetSize: [0, 8] }, 'flowFromDirectory: expected targetSize to be a positive integer or a pair of positive integers but received [0, 8]'],
    [{ classMode: 'multi' }, "flowFromDirectory: expected classMode to be one of 'categorical', 'binary', 'sparse', 'input' but received \"multi\""],
    [{ colorMode: 'cmyk' }, "flowFromDirectory: expected colorMode to be one of 'grayscale', 'rgb', 'rgba' but received \"cmyk\""],
    [{ batchSize: 0 }, 'flowFromDirectory: expected batchSize to be a positive integer but received 0'],
    [{ subset: 'test' }, "flowFromDirectory: expected subset to be one of 'training', 'validation' but received \"test\""],
    [{ batch_size: 3 }, 'flowFromDirectory: expected options among'],
  ])('rejects %p', (options, message) => {
    expect(() => silently(() => new ImageDataGenerator().flowFromDirectory(root, options as never))).toThrow(message);
  });

  test("a class without a folder has no images but keeps its index, as Keras's classes do; a file of that name is an error", () => {
    const { value: it } = silently(() => new ImageDataGenerator().flowFromDirectory(root, { targetSize: [8, 8], classes: ['birds', 'cats'] }));
    expect(it.classIndices).toEqual({ birds: 0, cats: 1 });
    expect(it.samples).toBeGreaterThan(0);
    expect(new Set(it.classes)).toEqual(new Set([1]));
    const file = path.join(root, 'notes.txt');
    fs.writeFileSync(file, 'not a class');
    try {
      expect(() => silently(() => new ImageDataGenerator().flowFromDirectory(root, { classes: ['cats', 'notes.txt'] }))).toThrow(
        'flowFromDirectory: expected classes to name subfolders of',
      );
    } finally {
      fs.rmSync(file);
    }
  });

  test("class folders are ordered by code point, as Python's sorted() orders them", async () => {
    const dir = makeTempDir('code-points');
    try {
      // U+1F600 is two UTF-16 code units from 0xD83D, below U+FF21's 0xFF21: JavaScript's < would swap them.
      for (const name of ['\u{1F600}', '\uFF21', 'b']) await writeImage(path.join(dir, name, 'x.png'), 4, 4, 1, 'png');
      const { value: it } = silently(() => new ImageDataGenerator().flowFromDirectory(dir, { targetSize: [4, 4] }));
      expect(it.classIndices).toEqual({ b: 0, '\uFF21': 1, '\u{1F600}': 2 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing directory is an error naming it', () => {
    expect(() => new ImageDataGenerator().flowFromDirectory(path.join(root, 'nope'))).toThrow(
      `flowFromDirectory: expected directory to be an existing folder but received "${path.join(root, 'nope')}"`.slice(0, 60),
    );
  });
});

test('files already at the target size (decoded together in one sharp call) give the same pixels as loadImg', async () => {
  const dir = makeTempDir('joined');
  try {
    for (let i = 0; i < 5; i++) await writeImage(path.join(dir, 'a', `x${i}.${i % 2 ? 'png' : 'jpg'}`), 6, 4, i, i % 2 ? 'png' : 'jpeg');
    for (let i = 0; i < 4; i++) await writeImage(path.join(dir, 'b', `y${i}.jpg`), 6, 4, 10 + i, 'jpeg');
    for (const classes of [['a'], ['b']]) {
      const { value: it } = silently(() => new ImageDataGenerator().flowFromDirectory(dir, { targetSize: [4, 6], shuffle: false, classes }));
      const [x] = await it.get(0);
      const expected = await Promise.all(it.filepaths.map(async (f) => Array.from(imgToArray(await loadImg(f)).dataSync() as Float32Array)));
      expect(Array.from(x.dataSync() as Float32Array)).toEqual(expected.flat());
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('corrupt images', () => {
  let dir: string;
  beforeAll(async () => {
    dir = makeTempDir('corrupt');
    for (let i = 0; i < 3; i++) await writeImage(path.join(dir, 'a', `ok${i}.png`), 9, 9, i);
    fs.writeFileSync(path.join(dir, 'a', 'broken.jpg'), Buffer.from('this is not a JPEG file at all'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('are an error that names the file', async () => {
    const { value: it } = silently(() => new ImageDataGenerator().flowFromDirectory(dir, { targetSize: [4, 4], shuffle: false }));
    await expect(it.get(0)).rejects.toThrow(`flowFromDirectory: could not decode "${path.join(dir, 'a', 'broken.jpg')}"`);
  });

  test("are left out of their batch with a warning under invalidImages: 'skip'", async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { value: it } = silently(() =>
      new ImageDataGenerator().flowFromDirectory(dir, { targetSize: [4, 4], shuffle: false, invalidImages: 'skip', classMode: 'sparse' }),
    );
    const [x, y] = await it.get(0);
    const warnings = warn.mock.calls.map((call) => String(call[0]));
    warn.mockRestore();
    expect(x.shape).toEqual([3, 4, 4, 3]);
    expect(y?.shape).toEqual([3]);
    expect(warnings.some((w) => w.includes('broken.jpg') && w.includes('the file is skipped'))).toBe(true);
  });
});

describe('flow(x, y)', () => {
  test('batches images and labels together, and validationSplit takes the first part as Keras does', async () => {
    const n = 10;
    const x = tensor(Float32Array.from({ length: n * 2 * 2 * 1 }, (_, i) => Math.floor(i / 4)), [n, 2, 2, 1]);
    const y = Float32Array.from({ length: n }, (_, i) => i % 2);
    const generator = new ImageDataGenerator({ validationSplit: 0.3 });
    const validation = generator.flow(x, y, { subset: 'validation', shuffle: false, batchSize: 8 });
    const training = generator.flow(x, y, { subset: 'training', shuffle: false, batchSize: 8 });
    expect([validation.samples, training.samples]).toEqual([3, 7]);
    const [vx, vy] = await validation.get(0);
    expect(Array.from(vx.dataSync() as Float32Array)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(vy?.arraySync()).toEqual([0, 1, 0]);
    expect(training.length).toBe(1);
    expect(() => generator.flow(x, new Float32Array(4))).toThrow(
      'flow: expected x (images) and y (labels) to have the same length but received x of shape [10, 2, 2, 1] and y of shape [4]',
    );
    const sorted = Float32Array.from({ length: n }, (_, i) => (i < 5 ? 0 : 1));
    expect(() => generator.flow(x, sorted, { subset: 'training' })).toThrow('flow: training and validation subsets have different classes');
  });
});

describe('imageDatasetFromDirectory', () => {
  test('int, categorical and binary labels, 0-255 pixels, seeded split without overlap', async () => {
    const make = (options: object) => silently(() => imageDatasetFromDirectory(root, { imageSize: [6, 6], batchSize: 5, ...options }));
    const { value: all, printed } = make({ seed: 3, classNames: ['cats', 'dogs'] });
    expect(printed).toEqual(['Found 12 files belonging to 2 classes.']);
    const [x, y] = await all.get(0);
    expect(x.shape).toEqual([5, 6, 6, 3]);
    expect(Math.max(...(x.dataSync() as Float32Array))).toBeGreaterThan(1);
    expect(y?.dtype).toBe('int32');
    expect(y?.shape).toEqual([5]);
    const { value: binary } = make({ seed: 3, classNames: ['cats', 'dogs'], labelMode: 'binary' });
    expect((await binary.get(0))[1]?.shape).toEqual([5, 1]);
    const { value: categorical } = make({ seed: 3, labelMode: 'categorical' });
    expect((await categorical.get(0))[1]?.shape).toEqual([5, 3]);
    const { value: training, printed: trainingPrinted } = make({ seed: 9, validationSplit: 0.2, subset: 'training' });
    const { value: validation } = make({ seed: 9, validationSplit: 0.2, subset: 'validation' });
    expect(trainingPrinted).toEqual(['Found 15 files belonging to 3 classes.', 'Using 12 files for training.']);
    expect(validation.samples).toBe(3);
    expect(training.filePaths.filter((f) => validation.filePaths.includes(f))).toEqual([]);
    expect(() => make({ validationSplit: 0.2, subset: 'training' })).toThrow(
      'imageDatasetFromDirectory: expected a seed with validationSplit and shuffle, so that the training and validation subsets do not overlap',
    );
  });
});
