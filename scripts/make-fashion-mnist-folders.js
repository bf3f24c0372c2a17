#!/usr/bin/env node
'use strict';
/**
 * Turns Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist, /usr/share/datasets/fashion-mnist) into
 * Keras-style class folders of RGB JPEG images: OUT/training_set/<class>/*.jpg and OUT/test_set/<class>/*.jpg,
 * the layout flowFromDirectory and the seed tutorial expect.
 *
 *   node scripts/make-fashion-mnist-folders.js --out data/fmnist --classes sneaker,ankle_boot \
 *     --train-per-class 1000 --test-per-class 300 --size 64
 *
 * Options: --source DIR (IDX files, .gz or not), --out DIR (required), --classes all|name,name,...,
 * --train-per-class N, --test-per-class N (default: all available), --size N (default 64), --quality Q (JPEG).
 * The first N images of each class are taken, in file order, so the folders are the same on every run.
 */
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const sharp = require('sharp');

const CLASS_NAMES = ['t_shirt_top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle_boot'];

function parseArgs(argv) {
  const options = { source: '/usr/share/datasets/fashion-mnist', classes: 'all', size: 64, quality: 90 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const key = arg.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    options[key] = value;
  }
  const known = ['source', 'out', 'classes', 'trainPerClass', 'testPerClass', 'size', 'quality'];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw new Error(`unknown option --${key}`);
  if (!options.out) throw new Error('--out DIR is required');
  const count = (name) => {
    if (options[name] === undefined) return Infinity;
    const n = Number(options[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a positive integer, received ${options[name]}`);
    return n;
  };
  const classes = options.classes === 'all' ? CLASS_NAMES.slice() : String(options.classes).split(',').map((c) => c.trim());
  for (const c of classes) {
    if (!CLASS_NAMES.includes(c)) throw new Error(`unknown class ${JSON.stringify(c)}; the classes are ${CLASS_NAMES.join(', ')}`);
  }
  const size = Number(options.size);
  if (!Number.isInteger(size) || size < 1) throw new Error(`--size expects a positive integer, received ${options.size}`);
  return { source: options.source, out: options.out, classes, trainPerClass: count('trainPerClass'), testPerClass: count('testPerClass'), size, quality: Number(options.quality) };
}

/** Reads an IDX file (plain or gzipped): returns its dimensions and its uint8 payload. */
function readIdx(file) {
  let bytes = fs.readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) throw new Error(`${file}: not an IDX file of unsigned bytes`);
  const rank = bytes[3];
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(bytes.readUInt32BE(4 + 4 * i));
  const data = bytes.subarray(4 + 4 * rank);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${file}: ${data.length} bytes for dimensions ${dims.join('x')}`);
  return { dims, data };
}

function findIdx(source, stem) {
  for (const name of [`${stem}.gz`, stem]) {
    const file = path.join(source, name);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`${stem}(.gz) not found in ${source}; install Debian's dataset-fashion-mnist or pass --source`);
}

async function writeSplit({ images, labels }, split, options, perClass) {
  const [count, rows, cols] = images.dims;
  const taken = new Map(options.classes.map((c) => [CLASS_NAMES.indexOf(c), 0]));
  const jobs = [];
  for (let i = 0; i < count; i++) {
    const label = labels.data[i];
    if (!taken.has(label) || taken.get(label) >= perClass) continue;
    const index = taken.get(label);
    taken.set(label, index + 1);
    const folder = path.join(options.out, split, CLASS_NAMES[label]);
    const pixels = images.data.subarray(i * rows * cols, (i + 1) * rows * cols);
    jobs.push({ folder, file: path.join(folder, `${CLASS_NAMES[label]}_${String(index).padStart(5, '0')}.jpg`), pixels, rows, cols });
  }
  for (const folder of new Set(jobs.map((j) => j.folder))) fs.mkdirSync(folder, { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      await sharp(Buffer.from(job.pixels), { raw: { width: job.cols, height: job.rows, channels: 1 } })
        .resize(options.size, options.size, { kernel: 'lanczos3' })
        .toColourspace('srgb')
        .jpeg({ quality: options.quality })
        .toFile(job.file);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return Object.fromEntries([...taken].map(([label, n]) => [CLASS_NAMES[label], n]));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const load = (images, labels) => ({ images: readIdx(findIdx(options.source, images)), labels: readIdx(findIdx(options.source, labels)) });
  const train = load('train-images-idx3-ubyte', 'train-labels-idx1-ubyte');
  const test = load('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte');
  const trainCounts = await writeSplit(train, 'training_set', options, options.trainPerClass);
  const testCounts = await writeSplit(test, 'test_set', options, options.testPerClass);
  console.log(`training_set: ${JSON.stringify(trainCounts)}`);
  console.log(`test_set: ${JSON.stringify(testCounts)}`);
  console.log(`Wrote ${options.size}x${options.size} RGB JPEG class folders under ${options.out}`);
}

main().catch((error) => {
  console.error(`make-fashion-mnist-folders: ${error.message}`);
  process.exit(1);
});
