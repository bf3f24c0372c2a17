// One rank of the data-parallel test: trains a small CNN on deterministic data and prints its final
// weights and loss curve as JSON, on the last line of its output. With WORLD_SIZE unset it is the
// single-process reference; with EVALUATE_WEIGHTS (a JSON file of weights) it evaluates those weights on the
// validation set, whole and by halves, instead of training.
'use strict';
const fs = require('fs');
const path = require('path');
const { distributed, Sequential, Conv2D, Flatten, Dense, Input, Concatenate, Model, ModelCheckpoint, CSVLogger, JSONLogger, TensorBoard, BackupAndRestore, tensor, setSeed } = require(process.env.KERAS_TORCH_DIST);

// VALIDATION=1: 16 validation samples unlike the training ones, two batches of 8 (one per rank of two).
const VALIDATION_COUNT = 16;
function validationSet() {
  const x = new Float32Array(VALIDATION_COUNT * 36);
  const y = new Float32Array(VALIDATION_COUNT);
  for (let i = 0; i < VALIDATION_COUNT; i++) {
    y[i] = i < 8 ? i % 2 : 1;
    for (let j = 0; j < 36; j++) x[i * 36 + j] = Math.cos(i * 5 + j) * 0.7 + (i < 8 ? 0 : 0.4);
  }
  const part = (from, to) => [tensor(x.slice(from * 36, to * 36), [to - from, 6, 6, 1]), tensor(y.slice(from, to), [to - from, 1])];
  return { whole: part(0, VALIDATION_COUNT), halves: [part(0, 8), part(8, VALIDATION_COUNT)] };
}

// SOURCE=sequence: the training data as an indexed BatchIterator (a Keras Sequence) of COUNT samples that
// records which of its batches this rank reads; its last batch is short when BATCH_SIZE does not divide COUNT.
function recordingSequence(x, y, count, batchSize, read) {
  return {
    length: Math.ceil(count / batchSize),
    async get(index) {
      read.push(index);
      const from = index * batchSize;
      const to = Math.min(count, from + batchSize);
      return [tensor(x.slice(from * 36, to * 36), [to - from, 6, 6, 1]), tensor(y.slice(from, to), [to - from, 1])];
    },
  };
}

async function main() {
  const batchSize = Number(process.env.BATCH_SIZE);
  const distributedRun = process.env.WORLD_SIZE !== undefined;
  if (distributedRun) await distributed.init({ timeout: Number(process.env.TIMEOUT_MS || 20000), seed: 5 });
  else setSeed(5);
  // COUNT and FILTERS may differ by rank (COUNT_1, FILTERS_1 for rank 1): ranks that disagree.
  const own = (name, fallback) => Number(process.env[`${name}_${process.env.RANK}`] ?? process.env[name] ?? fallback);
  const count = own('COUNT', 64);
  const x = new Float32Array(count * 6 * 6 * 1);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = i % 2;
    for (let j = 0; j < 36; j++) x[i * 36 + j] = Math.sin(i * 7 + j) * 0.5 + (y[i] ? 0.3 : -0.3);
  }
  // MODEL=functional: the same CNN with a second input (two features per sample) joined by Concatenate.
  const functional = process.env.MODEL === 'functional';
  const features = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) [features[2 * i], features[2 * i + 1]] = [Math.cos(i), y[i] - 0.5];
  let model;
  if (functional) {
    const image = Input({ shape: [6, 6, 1], name: 'image' });
    const extra = Input({ shape: [2], name: 'extra' });
    const flat = new Flatten().apply(new Conv2D(3, 3, { activation: 'relu' }).apply(image));
    const output = new Dense(1, { activation: 'sigmoid' }).apply(new Concatenate().apply([flat, extra]));
    model = new Model({ inputs: [image, extra], outputs: output });
  } else {
    model = new Sequential([
      new Conv2D(own('FILTERS', 3), 3, { inputShape: [6, 6, 1], activation: 'relu' }),
      new Flatten(),
      new Dense(1, { activation: 'sigmoid' }),
    ]);
  }
  model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  if (process.env.EVALUATE_WEIGHTS) {
    const weights = JSON.parse(fs.readFileSync(process.env.EVALUATE_WEIGHTS, 'utf8'));
    model.setWeights(weights.map((values, i) => tensor(Float32Array.from(values), model.getWeights()[i].shape)));
    const { whole, halves } = validationSet();
    const evaluate = async ([vx, vy]) => model.evaluate(vx, vy, { batchSize: VALIDATION_COUNT, verbose: 0 });
    process.stdout.write(JSON.stringify({ whole: await evaluate(whole), halves: [await evaluate(halves[0]), await evaluate(halves[1])] }));
    return;
  }
  const stepsPerEpoch = [];
  const callbacks = [{ onEpochBegin: () => stepsPerEpoch.push(0), onBatchEnd: () => (stepsPerEpoch[stepsPerEpoch.length - 1] += 1) }];
  // CHECKPOINT_DIR: a ModelCheckpoint of every epoch, into a folder of this rank's own, so that what each rank writes shows.
  if (process.env.CHECKPOINT_DIR) {
    const filepath = path.join(process.env.CHECKPOINT_DIR, `rank${distributed.rank()}`, 'epoch{epoch}.safetensors');
    callbacks.push(new ModelCheckpoint(filepath, { verbose: 1 }));
  }
  // LOGS_DIR: the file-writing callbacks, every rank given the same paths (as one script run by torchrun
  // gives them), and a count of this rank's model saves (BackupAndRestore's backups go through save).
  const saves = [];
  if (process.env.LOGS_DIR) {
    const logs = process.env.LOGS_DIR;
    callbacks.push(
      new CSVLogger(path.join(logs, 'log.csv')),
      new JSONLogger({ file: path.join(logs, 'log.jsonl') }),
      new TensorBoard({ logDir: path.join(logs, 'tensorboard') }),
      new BackupAndRestore({ backupDir: path.join(logs, 'backup'), deleteCheckpoint: false }),
    );
    const save = model.save.bind(model);
    model.save = (file, ...rest) => (saves.push(path.relative(logs, file)), save(file, ...rest));
  }
  if (process.env.DIE_AT_BATCH && distributed.rank() === 1) {
    callbacks.push({ onBatchEnd: (batch) => batch + 1 === Number(process.env.DIE_AT_BATCH) && process.kill(process.pid, 'SIGKILL') });
  }
  const inputs = functional ? { image: tensor(x, [count, 6, 6, 1]), extra: tensor(features, [count, 2]) } : tensor(x, [count, 6, 6, 1]);
  const batchesRead = [];
  const sequence = process.env.SOURCE === 'sequence';
  const options = {
    epochs: Number(process.env.EPOCHS || 3),
    batchSize,
    shuffle: !sequence,
    verbose: Number(process.env.VERBOSE || 0),
    callbacks,
    ...(process.env.VALIDATION === '1' ? { validationData: validationSet().whole } : {}),
  };
  const history = sequence
    ? await model.fit(recordingSequence(x, y, count, batchSize, batchesRead), options)
    : await model.fit(inputs, tensor(y, [count, 1]), options);
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  process.stdout.write(`${JSON.stringify({ rank: distributed.rank(), loss: history.history.loss, history: history.history, stepsPerEpoch, batchesRead, weights, saves })}\n`);
  if (distributedRun) distributed.destroy();
}

main().catch((error) => {
  process.stderr.write(`rank ${process.env.RANK}: ${error.message}\n`);
  process.exit(1);
});
