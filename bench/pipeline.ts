/**
 * flowFromDirectory throughput against Keras's own ImageDataGenerator, measured in the same run on the same
 * images: the seed tutorial's augmentation (rescale, shear 0.2, zoom 0.2, horizontal flip), 64x64, batch 32,
 * and rescale alone. The first epoch decodes every file (as Keras does every epoch); later epochs reuse the
 * decoded pixels (the iterator's cache) and pay for augmentation only.
 *
 *   node build-ts/bench/pipeline.js [--data DIR] [--epochs 3] [--rounds 3] [--python /usr/bin/python3] [--sharp-only]
 *
 * Each round measures Keras and keras-torch back to back (alternating which goes first), so that both see
 * the same load on a shared machine; the summary is the median of the rounds' ratios. --sharp-only turns
 * the addon's libjpeg path off, to measure what it brings. Both sides load their libraries before timing.
 *
 * Without --data, class folders are made from Fashion-MNIST (sneaker vs ankle boot, 1,000 images a class)
 * with scripts/make-fashion-mnist-folders.js.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageDataGenerator } from '../lib/preprocessing';
import { augmentBinding, setNativeDecoding } from '../lib/preprocessing/native';

interface Options {
  data: string | null;
  epochs: number;
  rounds: number;
  python: string;
  size: number;
  batchSize: number;
  sharpOnly: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { data: null, epochs: 3, rounds: 3, python: '/usr/bin/python3', size: 64, batchSize: 32, sharpOnly: false };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--data') options.data = value;
    else if (flag === '--epochs') options.epochs = Number(value);
    else if (flag === '--rounds') options.rounds = Number(value);
    else if (flag === '--python') options.python = value;
    else if (flag === '--size') options.size = Number(value);
    else if (flag === '--batch-size') options.batchSize = Number(value);
    else if (flag === '--sharp-only') {
      options.sharpOnly = true;
      i -= 1;
    } else throw new Error(`bench/pipeline: unknown option ${flag}`);
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

interface Rates {
  augmented: number[];
  rescaleOnly: number[];
}

function keras(root: string, directory: string, options: Options): Rates & { samples: number } {
  const answer = JSON.parse(
    execFileSync(options.python, [path.join(root, 'bench', 'keras_pipeline.py'), directory, '--epochs', String(options.epochs), '--size', String(options.size), '--batch-size', String(options.batchSize)], { encoding: 'utf8' }),
  ) as { augmented: number[]; rescale_only: number[]; samples: number };
  return { augmented: answer.augmented, rescaleOnly: answer.rescale_only, samples: answer.samples };
}

async function kerasTorch(directory: string, options: Options): Promise<Rates> {
  return {
    augmented: await ours(directory, new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true }), options),
    rescaleOnly: await ours(directory, new ImageDataGenerator({ rescale: 1 / 255 }), options),
  };
}

const round = (r: number) => Math.round(r).toLocaleString('en-US');
const fmt = (rates: number[]) => rates.map(round).join(' / ');
const overall = (rates: number[]) => rates.length / rates.reduce((a, r) => a + 1 / r, 0); // img/s over all epochs
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

interface Ratios {
  first: number;
  later: number;
  all: number;
}

function ratios(mine: number[], theirs: number[]): Ratios {
  return {
    first: mine[0] / theirs[0],
    later: mine.length > 1 ? overall(mine.slice(1)) / overall(theirs.slice(1)) : NaN,
    all: overall(mine) / overall(theirs),
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.sharpOnly) setNativeDecoding(false);
  // Load the addon (libtorch's shared libraries: about a second) before timing, as the Python side imports
  // keras_preprocessing before it starts its clock.
  augmentBinding();
  const root = findRoot();
  let directory = options.data;
  if (directory === null) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-bench-'));
    execFileSync(process.execPath, [path.join(root, 'scripts', 'make-fashion-mnist-folders.js'), '--out', out, '--classes', 'sneaker,ankle_boot', '--train-per-class', '1000', '--test-per-class', '1'], { stdio: 'ignore' });
    directory = path.join(out, 'training_set');
  }
  const rows = [
    ['seed augmentation', 'augmented'],
    ['rescale only', 'rescaleOnly'],
  ] as const;
  const summary: Record<string, Ratios[]> = { augmented: [], rescaleOnly: [] };
  let samples = 0;
  console.log(
    `flowFromDirectory, ${options.size}x${options.size}, batch ${options.batchSize}, ${options.epochs} epochs, ${options.rounds} rounds, ` +
      `${os.cpus().length} cores, decoder: ${options.sharpOnly ? 'sharp only' : 'libjpeg-turbo (addon) with sharp fallback'} (img/s per epoch)`,
  );
  for (let r = 0; r < options.rounds; r++) {
    const loadBefore = load();
    let theirs: Rates & { samples: number };
    let mine: Rates;
    if (r % 2 === 0) {
      theirs = keras(root, directory, options);
      mine = await kerasTorch(directory, options);
    } else {
      mine = await kerasTorch(directory, options);
      theirs = keras(root, directory, options);
    }
    samples = theirs.samples;
    console.log(`round ${r + 1} (${r % 2 === 0 ? 'Keras first' : 'keras-torch first'}; load average before: ${loadBefore}, after: ${load()})`);
    for (const [name, key] of rows) {
      const ratio = ratios(mine[key], theirs[key]);
      summary[key].push(ratio);
      console.log(`  ${name}`);
      console.log(`    keras-torch: ${fmt(mine[key])}   (all epochs: ${round(overall(mine[key]))})`);
      console.log(`    Keras:       ${fmt(theirs[key])}   (all epochs: ${round(overall(theirs[key]))})`);
      console.log(`    ratio: first epoch ${ratio.first.toFixed(2)}x, later epochs ${ratio.later.toFixed(2)}x, all epochs ${ratio.all.toFixed(2)}x`);
    }
  }
  console.log(`${samples} images; ratios keras-torch / Keras, median of ${options.rounds} rounds [min-max]`);
  for (const [name, key] of rows) {
    const describe = (pick: (r: Ratios) => number) => {
      const values = summary[key].map(pick);
      return `${median(values).toFixed(2)}x [${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}]`;
    };
    console.log(`  ${name}: first epoch ${describe((r) => r.first)}, later epochs ${describe((r) => r.later)}, all epochs ${describe((r) => r.all)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
