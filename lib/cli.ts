#!/usr/bin/env node
/**
 * The command line: the seed tutorial's whole workflow without writing code.
 *   keras-torch train DIR [options]      train the seed CNN on class folders, save it and a plot
 *   keras-torch predict MODEL IMAGE...   class and probability per image
 *   keras-torch evaluate MODEL DIR       loss and accuracy on class folders
 *   keras-torch info                     libtorch, devices, threads, BLAS
 *   keras-torch build [--from-source]    fit the addon to this machine's libtorch (prebuilt, else built)
 */
import * as fs from 'fs';
import * as path from 'path';
import { Conv2D, Dense, Flatten, MaxPooling2D, Rescaling } from './layers';
import { loadModel, Sequential } from './models/sequential';
import { launch } from './distributed/launch';
import { ImageDataGenerator, imgToArray, loadImg } from './preprocessing';
import { backendInfo, setSeed } from './runtime';
import { concat, expandDims, Tensor } from './tensor';

class UsageError extends Error {}

const USAGE: Record<string, string> = {
  main: `Usage: keras-torch <command> [options]

Commands:
  train DIR            train the seed CNN on image class folders, save the model and a training plot
  predict MODEL IMAGE  print the predicted class and its probability for each image
  evaluate MODEL DIR   print the loss and accuracy of a saved model on image class folders
  info                 print the libtorch version, devices, threads and BLAS
  build                fit the native addon to this machine's libtorch: a prebuilt binary, else a build
  launch --nproc N SCRIPT [ARGS...]
                       run N ranks of a data-parallel training script on this machine (as torchrun)

Run keras-torch <command> --help for a command's options.`,
  train: `Usage: keras-torch train DIR [options]

DIR holds training_set/ and test_set/ (each with one folder per class), or the class folders directly.

Options:
  --epochs N              epochs to train (default 10)
  --image-size N          images are resized to N x N (default 64)
  --batch-size N          batch size (default 32)
  --validation-split F    fraction held out for validation when DIR has no test_set/ (default 0.2)
  --no-augment            train without the seed's augmentation (shear 0.2, zoom 0.2, horizontal flip)
  --seed N                seed for reproducible runs
  --out FILE              where to save the model (default model.safetensors); the plot goes beside it`,
  predict: `Usage: keras-torch predict MODEL IMAGE... [--json]

Options:
  --json                  print one JSON array instead of a table`,
  evaluate: `Usage: keras-torch evaluate MODEL DIR [--batch-size N]

DIR holds one folder per class, named as in training.`,
  info: 'Usage: keras-torch info',
  build: `Usage: keras-torch build [--from-source]

Finds libtorch (LIBTORCH, Torch_DIR, python3's torch, then the system's), checks that the prebuilt binary
built against it loads, and otherwise builds the addon from source with cmake and a C++17 compiler. This is
the package's install script, which npm 11 and later may not run until it is approved.

Options:
  --from-source           build even when a prebuilt binary fits`,
  launch: `Usage: keras-torch launch --nproc N [--port P] SCRIPT [ARGS...]

Starts N Node processes running SCRIPT with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set,
as torchrun does; the script calls \`await distributed.init()\` and fits as usual. When one rank fails the
others are stopped and launch exits with its code.`,
};

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

function parse(argv: string[], valued: string[], switches: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split('=', 2);
    if (switches.includes(name)) {
      flags.set(name, true);
    } else if (valued.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positional, flags };
}

function numberFlag(flags: Parsed['flags'], name: string, fallback: number, check: (n: number) => boolean, expected: string): number {
  const value = flags.get(name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (value === true || !check(number)) throw new UsageError(`--${name}: expected ${expected} but received ${value}`);
  return number;
}

const positiveInteger = (n: number) => Number.isInteger(n) && n > 0;

function isDirectory(file: string): boolean {
  return fs.existsSync(file) && fs.statSync(file).isDirectory();
}

async function train(argv: string[]): Promise<void> {
  const { positional, flags } = parse(argv, ['epochs', 'image-size', 'batch-size', 'validation-split', 'seed', 'out'], ['no-augment', 'help']);
  if (flags.has('help')) return void console.log(USAGE.train);
  if (positional.length !== 1) throw new UsageError(`train takes one DIR, received ${positional.length} arguments`);
  const dir = positional[0];
  if (!isDirectory(dir)) throw new UsageError(`DIR ${dir} is not a directory`);
  const epochs = numberFlag(flags, 'epochs', 10, positiveInteger, 'a positive integer');
  const size = numberFlag(flags, 'image-size', 64, (n) => positiveInteger(n) && n >= 4, 'an integer of at least 4');
  const batchSize = numberFlag(flags, 'batch-size', 32, positiveInteger, 'a positive integer');
  const split = numberFlag(flags, 'validation-split', 0.2, (n) => n > 0 && n < 1, 'a number in (0, 1)');
  if (flags.has('seed')) setSeed(numberFlag(flags, 'seed', 0, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer'));
  const out = String(flags.get('out') ?? 'model.safetensors');

  // Pixels go into the model raw: the Rescaling layer inside it makes saved models take images as they are.
  const augmentation = flags.has('no-augment') ? {} : { shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true };
  const options = { targetSize: [size, size] as [number, number], batchSize };
  const separate = isDirectory(path.join(dir, 'training_set')) && isDirectory(path.join(dir, 'test_set'));
  const trainGenerator = new ImageDataGenerator({ ...augmentation, validationSplit: separate ? 0 : split });
  const trainDir = separate ? path.join(dir, 'training_set') : dir;
  const classCount = fs.readdirSync(trainDir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).length;
  if (classCount < 2) throw new UsageError(`DIR must hold at least two class folders; found ${classCount}`);
  const classMode = classCount === 2 ? 'binary' : 'categorical';
  const trainingSet = trainGenerator.flowFromDirectory(trainDir, { ...options, classMode, subset: separate ? null : 'training' });
  // Validation labels must mean what training's do: test_set's folders are read by the training classes,
  // as Keras's `classes` argument does (a class missing there has no images; an extra folder is ignored).
  const trainingClasses = Object.entries(trainingSet.classIndices).sort((a, b) => a[1] - b[1]).map(([name]) => name);
  const validationSet = separate
    ? new ImageDataGenerator().flowFromDirectory(path.join(dir, 'test_set'), { ...options, classMode, classes: trainingClasses, shuffle: false })
    : new ImageDataGenerator({ validationSplit: split }).flowFromDirectory(dir, { ...options, classMode, subset: 'validation', shuffle: false });

  const model = new Sequential();
  model.add(new Rescaling(1 / 255, { inputShape: [size, size, 3] }));
  model.add(new Conv2D(32, [3, 3], { activation: 'relu' }));
  model.add(new MaxPooling2D({ poolSize: [2, 2] }));
  model.add(new Flatten());
  model.add(new Dense(128, { activation: 'relu' }));
  model.add(classCount === 2 ? new Dense(1, { activation: 'sigmoid' }) : new Dense(classCount, { activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: classCount === 2 ? 'binary_crossentropy' : 'categorical_crossentropy', metrics: ['accuracy'] });

  const history = await model.fit(trainingSet, { epochs, validationData: validationSet });
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  await model.save(out);
  const plot = out.replace(/\.safetensors$/, '') + '-training.png';
  await history.plot(plot);
  const last = (key: string) => history.history[key]?.[history.history[key].length - 1];
  console.log(`Validation accuracy ${last('val_accuracy')?.toFixed(4)}, loss ${last('val_loss')?.toFixed(4)}`);
  console.log(`Saved the model to ${out} and the training plot to ${plot}`);
}

/** [classIndex, probability] per row of the model's outputs. */
function decide(output: Float32Array, rows: number): [number, number][] {
  const width = output.length / rows;
  return Array.from({ length: rows }, (_, i) => {
    if (width === 1) return output[i] > 0.5 ? [1, output[i]] : [0, 1 - output[i]];
    let best = 0;
    for (let j = 1; j < width; j++) if (output[i * width + j] > output[i * width + best]) best = j;
    return [best, output[i * width + best]];
  });
}

async function predict(argv: string[]): Promise<void> {
  const { positional, flags } = parse(argv, [], ['json', 'help']);
  if (flags.has('help')) return void console.log(USAGE.predict);
  if (positional.length < 2) throw new UsageError('predict takes a MODEL and at least one IMAGE');
  const [modelFile, ...images] = positional;
  const model = oneInOneOut(await loadModel(modelFile), modelFile);
  const [height, width, channels] = model.inputShape ?? [];
  if (channels === undefined) throw new Error(`${modelFile}: the model does not take images`);
  const names = Object.entries(model.classIndices ?? {}).sort((a, b) => a[1] - b[1]).map(([name]) => name);
  const inputs: Tensor[] = [];
  for (const image of images) {
    const img = await loadImg(image, { targetSize: [height, width], colorMode: channels === 1 ? 'grayscale' : 'rgb' });
    inputs.push(expandDims(imgToArray(img), 0));
  }
  const output = await model.predict(concat(inputs));
  const results = decide(output.dataSync() as Float32Array, images.length).map(([index, probability], i) => ({
    image: images[i],
    class: names[index] ?? String(index),
    probability: Number(probability.toFixed(6)),
  }));
  if (flags.has('json')) return void console.log(JSON.stringify(results, null, 2));
  const column = Math.max(5, ...images.map((image) => image.length));
  const classColumn = Math.max(5, ...results.map((r) => r.class.length));
  console.log(`${'image'.padEnd(column)}  ${'class'.padEnd(classColumn)}  probability`);
  for (const r of results) console.log(`${r.image.padEnd(column)}  ${r.class.padEnd(classColumn)}  ${r.probability.toFixed(4)}`);
}

async function evaluate(argv: string[]): Promise<void> {
  const { positional, flags } = parse(argv, ['batch-size'], ['help']);
  if (flags.has('help')) return void console.log(USAGE.evaluate);
  if (positional.length !== 2) throw new UsageError('evaluate takes a MODEL and a DIR');
  const [modelFile, dir] = positional;
  if (!isDirectory(dir)) throw new UsageError(`DIR ${dir} is not a directory`);
  const batchSize = numberFlag(flags, 'batch-size', 32, positiveInteger, 'a positive integer');
  const model = oneInOneOut(await loadModel(modelFile), modelFile);
  const [height, width, channels] = model.inputShape ?? [];
  const units = model.outputShape?.[model.outputShape.length - 1] ?? 1;
  const classes = model.classIndices
    ? Object.entries(model.classIndices).sort((a, b) => a[1] - b[1]).map(([name]) => name)
    : undefined;
  const data = new ImageDataGenerator().flowFromDirectory(dir, {
    targetSize: [height, width],
    batchSize,
    classMode: units === 1 ? 'binary' : 'categorical',
    colorMode: channels === 1 ? 'grayscale' : channels === 4 ? 'rgba' : 'rgb',
    classes,
    shuffle: false,
  });
  const logs = (await model.evaluate(data, { verbose: 0, returnDict: true })) as Record<string, number>;
  console.log(Object.entries(logs).map(([key, value]) => `${key}: ${value.toFixed(4)}`).join(' - '));
}

/** The CLI feeds images in and reads one result out: models with other inputs or outputs are refused by name. */
function oneInOneOut<M extends { inputNames: string[]; outputNames: string[] }>(model: M, file: string): M {
  if (model.inputNames.length !== 1 || model.outputNames.length !== 1) {
    throw new Error(
      `${file}: the command line takes models with one image input and one output; this one has inputs ` +
        `${model.inputNames.join(', ')} and outputs ${model.outputNames.join(', ')} (use the API)`,
    );
  }
  return model;
}

function info(argv: string[]): void {
  if (argv.includes('--help')) return void console.log(USAGE.info);
  if (argv.length > 0) throw new UsageError(`info takes no arguments, received ${argv.join(' ')}`);
  const details = backendInfo();
  console.log(`libtorch ${details.libtorchVersion}`);
  console.log(`device: ${details.device} (CUDA ${details.cuda.available ? `available, ${details.cuda.deviceCount} GPUs` : 'not available'})`);
  if (details.cudaLibrary.problem) console.log(`CUDA: ${details.cudaLibrary.problem}`);
  console.log(`threads: ${details.numThreads}`);
  console.log(`BLAS: ${details.blas}`);
}

function build(argv: string[]): void {
  const { positional, flags } = parse(argv, [], ['help', 'from-source']);
  if (flags.has('help')) return void console.log(USAGE.build);
  if (positional.length > 0) throw new UsageError(`build takes no arguments, received ${positional.join(' ')}`);
  // scripts/ ships beside dist/ in the package; it loads no addon, so it runs where none loads yet.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { install } = require(path.join(__dirname, '..', 'scripts', 'install.js')) as {
    install: (env: NodeJS.ProcessEnv, options: { requested: boolean }) => void;
  };
  const env = { ...process.env };
  if (flags.has('from-source')) env.KERAS_TORCH_BUILD_FROM_SOURCE = '1';
  install(env, { requested: true });
}

async function launchCommand(argv: string[]): Promise<void> {
  // Options end at the script: everything after it belongs to the script.
  const scriptIndex = argv.findIndex((arg, i) => !arg.startsWith('--') && (i === 0 || !['--nproc', '--port'].includes(argv[i - 1])));
  const own = scriptIndex === -1 ? argv : argv.slice(0, scriptIndex);
  const { flags } = parse(own, ['nproc', 'port'], ['help']);
  if (flags.has('help')) return void console.log(USAGE.launch);
  if (scriptIndex === -1) throw new UsageError('launch needs a SCRIPT to run');
  const nproc = numberFlag(flags, 'nproc', 0, positiveInteger, 'a positive integer');
  if (nproc === 0) throw new UsageError('launch needs --nproc N');
  const port = flags.has('port') ? numberFlag(flags, 'port', 0, (n) => Number.isInteger(n) && n > 0 && n < 65536, 'a port number') : undefined;
  process.exitCode = await launch({ nproc, port, script: argv[scriptIndex], args: argv.slice(scriptIndex + 1) });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const commands: Record<string, (args: string[]) => Promise<void> | void> = { train, predict, evaluate, info, build, launch: launchCommand };
  try {
    if (command === undefined || command === '--help' || command === 'help') {
      console.log(USAGE.main);
      return command === undefined ? 2 : 0;
    }
    // Own properties only: `constructor`, `toString` or `__proto__` are not commands.
    if (!Object.hasOwn(commands, command)) throw new UsageError(`unknown command ${command}`);
    await commands[command](rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`keras-torch: ${error.message}\n\n${USAGE[command ?? 'main'] ?? USAGE.main}`);
      return 2;
    }
    console.error(`keras-torch: ${(error as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
