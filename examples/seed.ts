/**
 * The seed tutorial in TypeScript: a CNN that tells two classes of images apart, trained from class
 * folders with Keras's augmentation, then used on single images.
 *
 *   node build-ts/examples/seed.js DATA_DIR [EPOCHS]
 *
 * DATA_DIR holds training_set/<class>/ and test_set/<class>/ (scripts/make-fashion-mnist-folders.js makes
 * one from Fashion-MNIST). The model and a plot of its training are written to DATA_DIR/../.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  Conv2D,
  Dense,
  expandDims,
  Flatten,
  ImageDataGenerator,
  imgToArray,
  loadImg,
  MaxPooling2D,
  Sequential,
} from 'keras-torch';

async function main(): Promise<void> {
  const [dataDir, epochsArg] = process.argv.slice(2);
  if (!dataDir) {
    console.error('usage: node build-ts/examples/seed.js DATA_DIR [EPOCHS]');
    process.exit(2);
  }
  const epochs = Number(epochsArg ?? 3);

  // Part 1: the CNN.
  const classifier = new Sequential();
  classifier.add(new Conv2D(32, [3, 3], { inputShape: [64, 64, 3], activation: 'relu' }));
  classifier.add(new MaxPooling2D({ poolSize: [2, 2] }));
  classifier.add(new Flatten());
  classifier.add(new Dense(128, { activation: 'relu' }));
  classifier.add(new Dense(1, { activation: 'sigmoid' }));
  classifier.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  classifier.summary();

  // Part 2: images from folders, augmented as the tutorial does.
  const trainDatagen = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true });
  const testDatagen = new ImageDataGenerator({ rescale: 1 / 255 });
  const trainingSet = trainDatagen.flowFromDirectory(path.join(dataDir, 'training_set'), {
    targetSize: [64, 64],
    batchSize: 32,
    classMode: 'binary',
  });
  const testSet = testDatagen.flowFromDirectory(path.join(dataDir, 'test_set'), {
    targetSize: [64, 64],
    batchSize: 32,
    classMode: 'binary',
    shuffle: false,
  });

  const started = performance.now();
  const history = await classifier.fit(trainingSet, { epochs, validationData: testSet });
  const seconds = (performance.now() - started) / 1000;
  const [testLoss, testAccuracy] = (await classifier.evaluate(testSet, { verbose: 0 })) as number[];
  console.log(`\nTrained ${epochs} epochs in ${seconds.toFixed(1)} s. Test accuracy ${testAccuracy.toFixed(4)} (loss ${testLoss.toFixed(4)}).`);

  // Part 3: single predictions on held-out images, with their true labels.
  console.log('class indices:', trainingSet.classIndices);
  const names = Object.fromEntries(Object.entries(trainingSet.classIndices).map(([name, index]) => [index, name]));
  const picks = testSet.filenames.filter((_, i) => i % Math.max(1, Math.floor(testSet.samples / 6)) === 0).slice(0, 6);
  for (const relative of picks) {
    const file = path.join(dataDir, 'test_set', relative);
    const img = await loadImg(file, { targetSize: [64, 64] });
    // The model was trained on rescaled pixels, so single images are rescaled the same way.
    const x = expandDims(imgToArray(img), 0);
    const probability = (await classifier.predict(await testDatagen.standardize(x))).dataSync()[0] as number;
    const predicted = names[probability > 0.5 ? 1 : 0];
    const truth = path.dirname(relative);
    console.log(`${relative.padEnd(34)} true: ${truth.padEnd(12)} predicted: ${predicted.padEnd(12)} p(${names[1]}) = ${probability.toFixed(3)}`);
  }

  const outDir = path.resolve(dataDir, '..');
  fs.mkdirSync(outDir, { recursive: true });
  const modelFile = path.join(outDir, 'seed-model.safetensors');
  await classifier.save(modelFile);
  const plots = await history.plot(path.join(outDir, 'seed-training.png'));
  console.log(`\nModel saved to ${modelFile}\nTraining plot: ${plots.join(', ')}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
