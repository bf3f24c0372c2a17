/**
 * flowFromDirectory throughput against Keras's own ImageDataGenerator, measured in the same run on the same
 * images: the seed tutorial's augmentation (rescale, shear 0.2, zoom 0.2, horizontal flip), 64x64, batch 32,
 * and rescale alone. The first epoch decodes every file (as Keras does every epoch); later epochs reuse the
 * decoded pixels (the iterator's cache) and pay for augmentation only.
 *
 *   node dist/bench/pipeline.js [--data DIR] [--epochs 3] [--python /usr/bin/python3]
 *
 * Without --data, class folders are made from Fashion-MNIST (sneaker vs ankle boot, 1,000 images a class)
 * with scripts/make-fashion-mnist-folders.js.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageDataGenerator } from '../lib/preprocessing';

interface Options {
  data: string | null;
  epochs: number;
  python: string;
  size: number;
  batchSize: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { data: null, epochs: 3, python: '/usr/bin/python3', size: 64, batchSize: 32 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--data') options.data = value;
    else if (flag === '--epochs') options.epochs = Number(value);
    else if (flag === '--python') options.python = value;
    else if (flag === '--size') options.size = Number(value);
    else if (flag === '--batch-size') options.batchSize = Number(value);
    else throw new Error(`bench/pipeline: unknown option ${flag}`);
  }
  return options;
}

function findRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

async function ours(directory: string, generator: ImageDataGenerator, options: Options): Promise<number[]> {
  const log = console.log;
  console.log = () => undefined; // "Found N images..."
  const it = generator.flowFromDirectory(directory, {
    targetSize: [options.size, options.size],
    batchSize: options.batchSize,
    classMode: 'binary',
    seed: 1,
  });
  console.log = log;
  const rates: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const start = process.hrtime.bigint();
    for await (const [x, y] of it) {
      x.dispose();
      y?.dispose();
    }
    rates.push(it.samples / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  return rates;
}

const fmt = (rates: number[]) => rates.map((r) => Math.round(r).toLocaleString('en-US')).join(' / ');
const total = (rates: number[]) => rates.length / rates.reduce((a, r) => a + 1 / r, 0); // img/s over all epochs

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const root = findRoot();
  let directory = options.data;
  if (directory === null) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-bench-'));
    execFileSync(process.execPath, [path.join(root, 'scripts', 'make-fashion-mnist-folders.js'), '--out', out, '--classes', 'sneaker,ankle_boot', '--train-per-class', '1000', '--test-per-class', '1'], { stdio: 'ignore' });
    directory = path.join(out, 'training_set');
  }
  const keras = JSON.parse(
    execFileSync(options.python, [path.join(root, 'bench', 'keras_pipeline.py'), directory, '--epochs', String(options.epochs), '--size', String(options.size), '--batch-size', String(options.batchSize)], { encoding: 'utf8' }),
  ) as { augmented: number[]; rescale_only: number[]; samples: number };
  const augmented = await ours(directory, new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true }), options);
  const rescaleOnly = await ours(directory, new ImageDataGenerator({ rescale: 1 / 255 }), options);

  console.log(`flowFromDirectory, ${keras.samples} images, ${options.size}x${options.size}, batch ${options.batchSize}, ${options.epochs} epochs (img/s per epoch)`);
  const rows: [string, number[], number[]][] = [
    ['seed augmentation', augmented, keras.augmented],
    ['rescale only', rescaleOnly, keras.rescale_only],
  ];
  for (const [name, mine, theirs] of rows) {
    console.log(`  ${name}`);
    console.log(`    keras-torch: ${fmt(mine)}   (all epochs: ${Math.round(total(mine))})`);
    console.log(`    Keras:       ${fmt(theirs)}   (all epochs: ${Math.round(total(theirs))})`);
    console.log(
      `    ratio: first epoch ${(mine[0] / theirs[0]).toFixed(2)}x, later epochs ${(total(mine.slice(1)) / total(theirs.slice(1))).toFixed(2)}x, all epochs ${(total(mine) / total(theirs)).toFixed(2)}x`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
