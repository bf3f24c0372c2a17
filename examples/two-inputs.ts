/**
 * A model with two inputs: the image through a small CNN, and a vector of hand-made features (how much
 * of each image row is lit) through a Dense layer, joined by Concatenate. Data are given as objects keyed
 * by the inputs' names, as Keras takes dicts.
 *
 *   node build-ts/examples/two-inputs.js DATA_DIR [EPOCHS]
 *
 * DATA_DIR holds training_set/<class>/ and test_set/<class>/ (scripts/make-fashion-mnist-folders.js makes one).
 */
import * as path from 'path';
import {
  concat,
  Concatenate,
  Conv2D,
  Dense,
  Flatten,
  ImageDataGenerator,
  Input,
  MaxPooling2D,
  Model,
  SymbolicTensor,
  Tensor,
  tensor,
} from 'keras-torch';

export function twoInputNetwork(size: number): Model<SymbolicTensor> {
  const image = Input({ shape: [size, size, 3], name: 'image' });
  const profile = Input({ shape: [size], name: 'profile' });
  let x = new Conv2D(16, 3, { activation: 'relu' }).apply(image);
  x = new MaxPooling2D({ poolSize: 2 }).apply(x);
  x = new Conv2D(32, 3, { activation: 'relu' }).apply(x);
  x = new MaxPooling2D({ poolSize: 2 }).apply(x);
  x = new Flatten().apply(x);
  const features = new Dense(16, { activation: 'relu' }).apply(profile);
  let joined = new Concatenate().apply([x, features]);
  joined = new Dense(32, { activation: 'relu' }).apply(joined);
  const probability = new Dense(1, { activation: 'sigmoid', name: 'probability' }).apply(joined);
  return new Model({ inputs: [image, profile], outputs: probability, name: 'image_and_profile' });
}

/** Every image of a folder tree in memory, with its row profile: the mean brightness of each row. */
async function load(dir: string, size: number): Promise<{ image: Tensor; profile: Tensor; labels: Tensor }> {
  const iterator = new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory(dir, {
    targetSize: [size, size],
    batchSize: 64,
    classMode: 'binary',
    shuffle: false,
  });
  const images: Tensor[] = [];
  const labels: Tensor[] = [];
  for await (const [x, y] of iterator) {
    images.push(x);
    labels.push(y!);
  }
  const image = concat(images);
  const pixels = image.dataSync() as Float32Array;
  const count = image.shape[0];
  const profile = new Float32Array(count * size);
  for (let n = 0; n < count; n++) {
    for (let row = 0; row < size; row++) {
      let sum = 0;
      const start = (n * size + row) * size * 3;
      for (let i = 0; i < size * 3; i++) sum += pixels[start + i];
      profile[n * size + row] = sum / (size * 3);
    }
  }
  return { image, profile: tensor(profile, [count, size]), labels: concat(labels) };
}

/** Trains on DATA_DIR's folders and returns the test accuracy. */
export async function run(dataDir: string, epochs: number, { verbose = 1 as 0 | 1 | 2 } = {}): Promise<number> {
  const size = 64;
  const model = twoInputNetwork(size);
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  if (verbose) model.summary();
  const train = await load(path.join(dataDir, 'training_set'), size);
  const test = await load(path.join(dataDir, 'test_set'), size);
  await model.fit({ image: train.image, profile: train.profile }, train.labels, {
    epochs,
    batchSize: 32,
    verbose,
    validationData: [{ image: test.image, profile: test.profile }, test.labels],
  });
  const [, accuracy] = (await model.evaluate({ image: test.image, profile: test.profile }, test.labels, { verbose: 0 })) as number[];
  console.log(`\nTest accuracy ${accuracy.toFixed(4)}.`);
  return accuracy;
}

if (require.main === module) {
  const [dataDir, epochs] = process.argv.slice(2);
  if (!dataDir) {
    console.error('usage: node build-ts/examples/two-inputs.js DATA_DIR [EPOCHS]');
    process.exit(2);
  }
  run(dataDir, Number(epochs ?? 3)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
