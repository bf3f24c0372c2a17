/**
 * Transfer learning and fine-tuning as Keras's guide ("Transfer learning & fine-tuning") writes it: a
 * MobileNetV2 base with pretrained weights, frozen, applied with `training: false`; a new head trained on
 * the seed's two classes; then the whole base unfrozen and fine-tuned with a low learning rate.
 *
 *   node build-ts/examples/transfer.js DATA_DIR PRETRAIN_DIR [EPOCHS]
 *
 * DATA_DIR holds the seed's training_set/<class>/ and test_set/<class>/ (sneakers and ankle boots).
 * Keras's guide starts from ImageNet weights; nothing is downloaded here, so the base's weights come from
 * PRETRAIN_DIR, other classes of images (Fashion-MNIST's other eight), on which MobileNetV2 is first trained
 * once and saved with `saveWeights` (DATA_DIR/../mobilenetv2-base.safetensors): the file `weights` loads,
 * as it would load any keras-torch weights file. Writes the history plot and the model's diagram beside it.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  Adam,
  applications,
  Dense,
  Dropout,
  FunctionalConfig,
  GlobalAveragePooling2D,
  HistoryLike,
  ImageDataGenerator,
  Input,
  losses,
  Model,
  optimizers,
  plotHistory,
  plotModel,
  RandomFlip,
  RandomRotation,
  Rescaling,
} from 'keras-torch';

// Fashion-MNIST's 28x28 pictures, at MobileNetV2's smallest input: pretraining the stand-in base takes a few
// minutes on two cores.
const SIZE = 32;
const ALPHA = 0.35;

export interface TransferResult {
  pretrainAccuracy: number;
  frozenAccuracy: number;
  fineTunedAccuracy: number;
}

/** Accuracy of `model` on a folder's images (pixels 0-255: the models rescale themselves). */
async function accuracyOn(model: Model, directory: string): Promise<number> {
  const set = new ImageDataGenerator().flowFromDirectory(directory, { targetSize: [SIZE, SIZE], batchSize: 64, classMode: model.outputShape?.[0] === 1 ? 'binary' : 'sparse', shuffle: false });
  const results = (await model.evaluate(set, { verbose: 0 })) as number[];
  return results[1];
}

/** The stand-in for ImageNet weights: MobileNetV2 trained on PRETRAIN_DIR's classes, saved as a weights file. */
async function pretrainBase(pretrainDir: string, file: string, epochs: number, verbose: 0 | 1 | 2): Promise<number> {
  const classes = fs.readdirSync(path.join(pretrainDir, 'training_set')).length;
  const inputs = Input({ shape: [SIZE, SIZE, 3] });
  const scaled = new Rescaling({ scale: 1 / 127.5, offset: -1 }).apply(inputs);
  const keras = await applications.MobileNetV2({ inputShape: [SIZE, SIZE, 3], alpha: ALPHA, includeTop: false, pooling: 'avg' });
  // Keras's MobileNetV2 gives its BatchNormalization layers momentum 0.999, made for ImageNet's hundreds of
  // thousands of steps: over these few thousand, moving averages that slow would still remember the first
  // epochs' weights, and the base would be useless in inference mode (the frozen phase's mode). This
  // pretraining runs the same architecture rebuilt from its config with momentum 0.9; the weights file it
  // writes holds weights and moving statistics only, and loads into Keras's MobileNetV2 below.
  const config = keras.getConfig() as unknown as FunctionalConfig;
  for (const layer of config.layers) if (layer.className === 'BatchNormalization') layer.config.momentum = 0.9;
  const base = Model.fromConfig(config);
  keras.dispose();
  const outputs = new Dense(classes, { activation: 'softmax' }).apply(base.apply(scaled));
  const model = new Model({ inputs, outputs, name: 'pretraining' });
  const training = new ImageDataGenerator({ horizontalFlip: true }).flowFromDirectory(path.join(pretrainDir, 'training_set'), { targetSize: [SIZE, SIZE], batchSize: 32, classMode: 'sparse' });
  // A rate decaying to nothing: over the last epochs the weights settle and the moving statistics with them.
  const learningRate = new optimizers.schedules.CosineDecay({ initialLearningRate: 2e-3, decaySteps: epochs * training.length });
  model.compile({ optimizer: new Adam({ learningRate }), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  await model.fit(training, { epochs, verbose });
  const accuracy = await accuracyOn(model, path.join(pretrainDir, 'test_set'));
  await base.saveWeights(file);
  model.dispose();
  return accuracy;
}

export async function run(
  dataDir: string,
  pretrainDir: string,
  { epochs = 3, pretrainEpochs = 8, verbose = 1 as 0 | 1 | 2, outDir = path.resolve(dataDir, '..') } = {},
): Promise<TransferResult> {
  fs.mkdirSync(outDir, { recursive: true });
  const weights = path.join(outDir, 'mobilenetv2-base.safetensors');
  let pretrainAccuracy = NaN;
  if (!fs.existsSync(weights)) {
    console.log(`Pretraining the base on ${pretrainDir} (the stand-in for ImageNet weights)...`);
    pretrainAccuracy = await pretrainBase(pretrainDir, weights, pretrainEpochs, verbose);
    console.log(`Base pretrained: accuracy ${pretrainAccuracy.toFixed(4)} on its own test set; weights in ${weights}`);
  }

  // The guide's model: augmentation and scaling inside the model, the base frozen and in inference mode.
  const base = await applications.MobileNetV2({ inputShape: [SIZE, SIZE, 3], alpha: ALPHA, includeTop: false, weights });
  base.trainable = false;
  const inputs = Input({ shape: [SIZE, SIZE, 3] });
  let x = new RandomFlip({ mode: 'horizontal' }).apply(inputs);
  x = new RandomRotation({ factor: 0.1 }).apply(x);
  x = new Rescaling({ scale: 1 / 127.5, offset: -1 }).apply(x);
  // training: false keeps the base's BatchNormalization on its moving statistics, even once unfrozen.
  x = base.apply(x, { training: false });
  x = new GlobalAveragePooling2D().apply(x);
  x = new Dropout({ rate: 0.2 }).apply(x);
  const outputs = new Dense(1).apply(x);
  const model = new Model({ inputs, outputs, name: 'transfer' });
  if (verbose) model.summary();

  const flow = (subset: string, shuffle: boolean) =>
    new ImageDataGenerator().flowFromDirectory(path.join(dataDir, subset), { targetSize: [SIZE, SIZE], batchSize: 32, classMode: 'binary', shuffle });
  const training = flow('training_set', true);
  const test = flow('test_set', false);
  const loss = new losses.BinaryCrossentropy({ fromLogits: true });

  console.log('Phase 1: the new head on the frozen base');
  model.compile({ optimizer: new Adam(), loss, metrics: ['accuracy'] });
  const frozenHistory = await model.fit(training, { epochs, validationData: test, verbose });
  const frozenAccuracy = (await model.evaluate(test, { verbose: 0 }) as number[])[1];
  console.log(`Frozen base: test accuracy ${frozenAccuracy.toFixed(4)}`);

  console.log('Phase 2: fine-tuning the whole model with a low learning rate');
  base.trainable = true;
  model.compile({ optimizer: new Adam({ learningRate: 1e-5 }), loss, metrics: ['accuracy'] });
  const fineHistory = await model.fit(training, { epochs, validationData: test, verbose });
  const fineTunedAccuracy = (await model.evaluate(test, { verbose: 0 }) as number[])[1];
  console.log(`Fine-tuned: test accuracy ${fineTunedAccuracy.toFixed(4)}`);

  // Both phases on one plot: the fine-tuning epochs follow the frozen ones.
  const history: HistoryLike = {
    epoch: [...frozenHistory.epoch, ...fineHistory.epoch.map((e) => e + epochs)],
    history: Object.fromEntries(['loss', 'accuracy', 'val_loss', 'val_accuracy'].map((key) => [key, [...frozenHistory.history[key], ...fineHistory.history[key]]])),
  };
  await plotHistory(history, path.join(outDir, 'transfer-history.svg'), { title: 'Transfer learning: frozen base, then fine-tuned' });
  await plotModel(model, path.join(outDir, 'transfer-model.svg'));
  console.log(`History plot and model diagram written to ${outDir}/transfer-{history,model}.svg`);
  model.dispose();
  return { pretrainAccuracy, frozenAccuracy, fineTunedAccuracy };
}

if (require.main === module) {
  const [dataDir, pretrainDir, epochs] = process.argv.slice(2);
  if (!dataDir || !pretrainDir) {
    console.error('usage: node build-ts/examples/transfer.js DATA_DIR PRETRAIN_DIR [EPOCHS]');
    process.exit(2);
  }
  run(dataDir, pretrainDir, { epochs: Number(epochs ?? 3) }).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
