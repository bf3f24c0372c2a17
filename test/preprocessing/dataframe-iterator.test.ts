import * as fs from 'fs';
import * as path from 'path';
import { parseCsv, parseCsvRows } from '../../lib/io/csv';
import { ImageDataGenerator, imgToArray, loadImg } from '../../lib/preprocessing';
import { Tensor } from '../../lib/tensor';
import { makeTempDir, writeImage } from './helpers';

// Kaggle's dogs-vs-cats layout: one flat folder of cat.N / dog.N files, labels in a CSV; the same images
// also sorted into class folders, for flowFromDirectory to read side by side.
let root: string;
let flat: string;
let csv: string;
const files = [
  ...Array.from({ length: 5 }, (_, i) => ({ name: `cat.${i}.png`, label: 'cat' })),
  ...Array.from({ length: 6 }, (_, i) => ({ name: `dog.${i}.png`, label: 'dog' })),
];

beforeAll(async () => {
  root = makeTempDir('dataframe');
  flat = path.join(root, 'train');
  let seed = 0;
  for (const { name, label } of files) {
    await writeImage(path.join(flat, name), 10 + (seed % 3), 9, seed);
    await writeImage(path.join(root, 'tree', label, name), 10 + (seed % 3), 9, seed);
    seed++;
  }
  await writeImage(path.join(flat, 'odd, "quoted".png'), 8, 8, 99);
  fs.writeFileSync(path.join(flat, 'notes.txt'), 'not an image');
  csv = path.join(root, 'labels.csv');
  const lines = ['filename,class,weight,age', ...files.map((f, i) => `${f.name},${f.label},${(i * 0.5).toFixed(1)},${i}`)];
  lines.push('"odd, ""quoted"".png",cat,9.5,20', 'missing.png,dog,1,1', 'notes.txt,cat,1,1');
  fs.writeFileSync(csv, `${lines.join('\r\n')}\r\n`);
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function quietly<T>(body: () => T): { value: T; printed: string[]; warnings: string[] } {
  const printed: string[] = [];
  const warnings: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.join(' ')));
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error) => void warnings.push(String(warning))) as never);
  try {
    return { value: body(), printed, warnings };
  } finally {
    log.mockRestore();
    warn.mockRestore();
  }
}

const valuesOf = (t: Tensor | null) => Array.from((t as Tensor).dataSync() as Float32Array);

describe('flowFromDataframe', () => {
  test('from a CSV: sorted classes, invalid files left out with Keras\'s warning, one-hot labels, the files\' pixels', async () => {
    const { value: it, printed, warnings } = quietly(() =>
      new ImageDataGenerator().flowFromDataframe(csv, { directory: flat, targetSize: [6, 7], shuffle: false, batchSize: 4 }),
    );
    expect(warnings).toEqual(['Found 2 invalid image filename(s) in xCol="filename". These filename(s) will be ignored.']);
    expect(printed).toEqual(['Found 12 validated image filenames belonging to 2 classes.']);
    expect(it.classIndices).toEqual({ cat: 0, dog: 1 });
    expect(it.filenames).toEqual([...files.map((f) => f.name), 'odd, "quoted".png']);
    expect(Array.from(it.classes as Int32Array)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0]);
    expect(it.length).toBe(3);
    const [x, y] = await it.get(1);
    expect(x.shape).toEqual([4, 6, 7, 3]);
    // Samples 4-7: cat.4, dog.0, dog.1, dog.2.
    expect(valuesOf(y)).toEqual([1, 0, 0, 1, 0, 1, 0, 1]);
    // Each image as loadImg reads it alone (sharp, nearest resampling), as Keras's load_img would.
    const expected = await Promise.all(
      it.filenames.slice(4, 8).map(async (name) => Array.from((imgToArray(await loadImg(path.join(flat, name), { targetSize: [6, 7] })).dataSync() as Float32Array))),
    );
    expect(valuesOf(x)).toEqual(expected.flat());
  });

  test('records with augmentation give the batches flowFromDirectory gives for the same files in the same order', async () => {
    const augment = { rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true, validationSplit: 0.25 };
    const records = files.map(({ name, label }) => ({ filename: path.join(flat, name), class: label }));
    for (const subset of ['training', 'validation'] as const) {
      const { value: fromRecords } = quietly(() =>
        new ImageDataGenerator(augment).flowFromDataframe(records, { targetSize: [8, 8], batchSize: 3, seed: 5, classMode: 'binary', subset }),
      );
      // flowFromDirectory splits each class folder; the records split the whole list. Giving the directory
      // iterator's own file order to the records makes the two lists the same when each class splits alike.
      const { value: fromDirectory } = quietly(() =>
        new ImageDataGenerator(augment).flowFromDirectory(path.join(root, 'tree'), { targetSize: [8, 8], batchSize: 3, seed: 5, classMode: 'binary', subset }),
      );
      const sameOrder = fromDirectory.filenames.map((f) => ({ filename: path.join(root, 'tree', f), class: path.dirname(f) }));
      const { value: aligned } = quietly(() =>
        new ImageDataGenerator({ ...augment, validationSplit: 0 }).flowFromDataframe(sameOrder, { targetSize: [8, 8], batchSize: 3, seed: 5, classMode: 'binary' }),
      );
      expect(aligned.samples).toBe(fromDirectory.samples);
      for (let index = 0; index < aligned.length; index++) {
        const [ax, ay] = await aligned.get(index);
        const [dx, dy] = await fromDirectory.get(index);
        expect(valuesOf(ax)).toEqual(valuesOf(dx));
        expect(valuesOf(ay)).toEqual(valuesOf(dy));
      }
      // Keras's split of the records: validation takes the first quarter (int(0.25 * 11) = 2 rows).
      expect(fromRecords.filenames).toEqual(subset === 'validation' ? records.slice(0, 2).map((r) => r.filename) : records.slice(2).map((r) => r.filename));
    }
  });

  test("classMode 'raw' reads the label columns as numbers, one column as [n], several as [n, k]", async () => {
    const { value: one } = quietly(() =>
      new ImageDataGenerator().flowFromDataframe(csv, { directory: flat, yCol: 'weight', classMode: 'raw', targetSize: [4, 4], shuffle: false, batchSize: 20 }),
    );
    const [, weight] = await one.get(0);
    expect((weight as Tensor).shape).toEqual([12]);
    expect(valuesOf(weight)).toEqual([...files.map((_, i) => i * 0.5), 9.5]);
    expect(one.classIndices).toEqual({});
    const { value: two } = quietly(() =>
      new ImageDataGenerator().flowFromDataframe(csv, { directory: flat, yCol: ['weight', 'age'], classMode: 'raw', targetSize: [4, 4], shuffle: false, batchSize: 2 }),
    );
    const [, both] = await two.get(1);
    expect((both as Tensor).shape).toEqual([2, 2]);
    expect(valuesOf(both)).toEqual([1, 2, 1.5, 3]);
  });

  test("'categorical' takes lists of labels as multi-hot rows; given classes are sorted and other labels dropped", async () => {
    const records = [
      { filename: 'cat.0.png', tags: ['cat', 'small'] },
      { filename: 'dog.0.png', tags: ['dog'] },
      { filename: 'dog.1.png', tags: ['dog', 'small', 'brown'] },
      { filename: 'cat.1.png', tags: ['brown'] },
    ];
    const { value: it } = quietly(() =>
      new ImageDataGenerator().flowFromDataframe(records, { directory: flat, yCol: 'tags', classes: ['small', 'dog', 'cat'], targetSize: [4, 4], shuffle: false }),
    );
    expect(it.classIndices).toEqual({ cat: 0, dog: 1, small: 2 });
    expect(it.filenames).toEqual(['cat.0.png', 'dog.0.png', 'dog.1.png']);
    const [, y] = await it.get(0);
    expect(valuesOf(y)).toEqual([1, 0, 1, 0, 1, 0, 0, 1, 1]);
    const { value: sparse, printed } = quietly(() =>
      new ImageDataGenerator().flowFromDataframe(csv, { directory: flat, classes: ['dog'], classMode: 'sparse', targetSize: [4, 4], validateFilenames: false }),
    );
    expect(sparse.filenames).toEqual(['dog.0.png', 'dog.1.png', 'dog.2.png', 'dog.3.png', 'dog.4.png', 'dog.5.png', 'missing.png']);
    expect(printed).toEqual(['Found 7 non-validated image filenames belonging to 1 classes.']);
  });

  test('trains a model: fit takes the iterator and records its class indices', async () => {
    const { Conv2D, Dense, Flatten, Sequential, setSeed } = await import('../../lib');
    setSeed(3);
    const model = new Sequential([new Conv2D(2, 3, { inputShape: [8, 8, 3] }), new Flatten(), new Dense(1, { activation: 'sigmoid' })]);
    model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy', metrics: ['accuracy'] });
    const { value: it } = quietly(() => new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDataframe(csv, { directory: flat, classMode: 'binary', targetSize: [8, 8], batchSize: 4 }));
    const history = await model.fit(it, { epochs: 1, verbose: 0 });
    expect(Number.isFinite(history.history.loss[0])).toBe(true);
    expect(model.classIndices).toEqual({ cat: 0, dog: 1 });
  });

  test('bad arguments are named', () => {
    const generator = new ImageDataGenerator();
    const make = (dataframe: unknown, options: object = {}) => () => quietly(() => generator.flowFromDataframe(dataframe as never, { directory: flat, ...options }));
    expect(make(42)).toThrow('flowFromDataframe: expected dataframe to be an array of records or the path of a CSV file but received 42');
    expect(make(path.join(root, 'nope.csv'))).toThrow(/flowFromDataframe: expected dataframe to be an array of records or the path of a CSV file/);
    expect(make([{ file: 'cat.0.png', class: 'cat' }])).toThrow('flowFromDataframe: expected a file name (a string) in column xCol="filename" of every record (record 0) but received undefined');
    expect(make([{ filename: 'cat.0.png', label: 'cat' }])).toThrow(/flowFromDataframe: expected a label in column yCol="class" of every record \(record 0\)/);
    expect(make([{ filename: 'cat.0.png', class: 1 }], { classMode: 'sparse' })).toThrow(
      "flowFromDataframe: expected yCol=\"class\" values to be class names (strings) for classMode 'sparse' (numbers are targets of classMode 'raw') but received 1",
    );
    expect(make([{ filename: 'cat.0.png', class: 'a' }, { filename: 'cat.1.png', class: 'b' }, { filename: 'dog.0.png', class: 'c' }], { classMode: 'binary' })).toThrow(
      "flowFromDataframe: classMode 'binary' needs 2 classes but the labels hold 3 (a, b, c)",
    );
    expect(make(csv, { classMode: 'raw', yCol: 'class' })).toThrow(/flowFromDataframe: expected numbers in column yCol="class" for classMode 'raw' \(file "cat.0.png"\) but received "cat"/);
    expect(make(csv, { xCol: '' })).toThrow('flowFromDataframe: expected xCol to be a column name but received ""');
    expect(make(csv, { classMode: 'multi_output' })).toThrow(/flowFromDataframe: expected classMode to be one of/);
    expect(make(csv, { directory: path.join(root, 'absent') })).toThrow(/flowFromDataframe: expected directory to be an existing folder/);
  });
});

describe('CSV reader', () => {
  test('quoted fields hold commas, doubled quotes and newlines; CRLF and a byte order mark are read as Excel writes them', () => {
    expect(parseCsvRows('\ufeffa,b\r\n"x, y","say ""hi"""\r\n"two\nlines",\n\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['two\nlines', ''],
    ]);
    expect(parseCsv('name,n\nq,1\n"",2')).toEqual([{ name: 'q', n: '1' }, { name: '', n: '2' }]);
  });

  test('malformed CSV is reported with where', () => {
    expect(() => parseCsvRows('a,b\n"open,1\n', 'labels.csv')).toThrow('labels.csv: a quoted field opened before line 3 is never closed');
    expect(() => parseCsvRows('a,b\nx"y,1\n', 'labels.csv')).toThrow('labels.csv: line 2: a quote inside an unquoted field');
    expect(() => parseCsv('a,b\n1,2,3\n', 'labels.csv')).toThrow('labels.csv: record 1 has 3 fields but the header names 2 (a, b)');
  });
});
