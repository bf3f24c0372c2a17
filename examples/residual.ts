/**
 * A small residual network (two ResNet basic blocks) trained on image class folders with the functional
 * API: the same data and augmentation as the seed tutorial, a graph instead of a stack.
 *
 *   node build-ts/examples/residual.js DATA_DIR [EPOCHS]
 *
 * DATA_DIR holds training_set/<class>/ and test_set/<class>/ (scripts/make-fashion-mnist-folders.js makes
 * one). The model and a diagram of it are written to DATA_DIR/../.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  Activation,
  Add,
  BatchNormalization,
  Conv2D,
  Dense,
  GlobalAveragePooling2D,
  ImageDataGenerator,
  Input,
  MaxPooling2D,
  Model,
  plotModel,
  SymbolicTensor,
} from 'keras-torch';

// BatchNormalization with momentum 0.9 rather than Keras's 0.99: with a few hundred steps of training, the
// moving statistics that evaluation uses would otherwise still be far from the batches' (0.99^126 leaves
// 28% of the initial zeros and ones after two epochs here), and the test accuracy would sit near chance.

/** conv3x3-BN-ReLU-conv3x3-BN, plus the input (through a 1x1 convolution when the shape changes), then ReLU. */
function basicBlock(x: SymbolicTensor, filters: number, stride: number, name: string): SymbolicTensor {
  let y = new Conv2D(filters, 3, { strides: stride, padding: 'same', useBias: false, name: `${name}_conv1` }).apply(x);
  y = new BatchNormalization({ momentum: 0.9, name: `${name}_bn1` }).apply(y);
  y = new Activation('relu', { name: `${name}_relu1` }).apply(y);
  y = new Conv2D(filters, 3, { padding: 'same', useBias: false, name: `${name}_conv2` }).apply(y);
  y = new BatchNormalization({ momentum: 0.9, name: `${name}_bn2` }).apply(y);
  let shortcut = x;
  if (stride !== 1 || x.shape[3] !== filters) {
    shortcut = new Conv2D(filters, 1, { strides: stride, useBias: false, name: `${name}_shortcut` }).apply(x);
    shortcut = new BatchNormalization({ momentum: 0.9, name: `${name}_shortcut_bn` }).apply(shortcut);
  }
  return new Activation('relu', { name: `${name}_out` }).apply(new Add({ name: `${name}_add` }).apply([y, shortcut]));
}

export function residualNetwork(inputShape: number[]): Model<SymbolicTensor> {
  const image = Input({ shape: inputShape, name: 'image' });
  let x = new Conv2D(16, 3, { padding: 'same', useBias: false, name: 'stem_conv' }).apply(image);
  x = new BatchNormalization({ momentum: 0.9, name: 'stem_bn' }).apply(x);
  x = new Activation('relu', { name: 'stem_relu' }).apply(x);
  x = new MaxPooling2D({ poolSize: 2, name: 'stem_pool' }).apply(x);
  x = basicBlock(x, 16, 1, 'block1');
  x = basicBlock(x, 32, 2, 'block2');
  x = new GlobalAveragePooling2D({ name: 'pool' }).apply(x);
  const probability = new Dense(1, { activation: 'sigmoid', name: 'probability' }).apply(x);
  return new Model({ inputs: image, outputs: probability, name: 'small_resnet' });
}

/** Trains on DATA_DIR's folders and returns the test accuracy. */
export async function run(dataDir: string, epochs: number, { verbose = 1 as 0 | 1 | 2, outDir = path.resolve(dataDir, '..') } = {}): Promise<number> {
  const model = residualNetwork([64, 64, 3]);
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  if (verbose) model.summary();

  const trainingSet = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true })
    .flowFromDirectory(path.join(dataDir, 'training_set'), { targetSize: [64, 64], batchSize: 32, classMode: 'binary' });
  const testSet = new ImageDataGenerator({ rescale: 1 / 255 })
    .flowFromDirectory(path.join(dataDir, 'test_set'), { targetSize: [64, 64], batchSize: 32, classMode: 'binary', shuffle: false });

  const started = performance.now();
  await model.fit(trainingSet, { epochs, validationData: testSet, verbose });
  const [, accuracy] = (await model.evaluate(testSet, { verbose: 0 })) as number[];
  console.log(`\nTrained ${epochs} epochs in ${((performance.now() - started) / 1000).toFixed(1)} s. Test accuracy ${accuracy.toFixed(4)}.`);

  fs.mkdirSync(outDir, { recursive: true });
  await model.save(path.join(outDir, 'residual-model.safetensors'));
  await plotModel(model, path.join(outDir, 'residual-model.svg'));
  console.log(`Model and diagram written to ${outDir}/residual-model.{safetensors,svg}`);
  return accuracy;
}

if (require.main === module) {
  const [dataDir, epochs] = process.argv.slice(2);
  if (!dataDir) {
    console.error('usage: node build-ts/examples/residual.js DATA_DIR [EPOCHS]');
    process.exit(2);
  }
  run(dataDir, Number(epochs ?? 3)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
