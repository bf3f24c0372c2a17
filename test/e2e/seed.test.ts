/**
 * The seed tutorial end to end on real images: Fashion-MNIST sneakers vs ankle boots as 64x64 RGB JPEG class
 * folders, the seed CNN, the seed's augmentation, 3 epochs. PyTorch fed by Keras's own generator reaches
 * about 0.94 test accuracy on the same data (../shared reference runs); we must be within 2 points.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageDataGenerator, setSeed } from '../../lib';
import { seedModel } from '../helpers';
import { testIf } from '../helpers/peers';

const source = '/usr/share/datasets/fashion-mnist';
const haveData = fs.existsSync(source);

testIf(haveData, "the end-to-end test needs dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")('the seed CNN reaches the reference test accuracy on sneaker vs ankle boot in 3 epochs', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-seed-'));
  try {
    execFileSync(process.execPath, [
      path.resolve(__dirname, '../../scripts/make-fashion-mnist-folders.js'),
      '--out', root, '--classes', 'sneaker,ankle_boot', '--train-per-class', '1000', '--test-per-class', '300', '--size', '64',
    ], { stdio: 'ignore', timeout: 300_000 });
    setSeed(2024);
    const classifier = seedModel();
    classifier.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
    const trainingSet = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true })
      .flowFromDirectory(path.join(root, 'training_set'), { targetSize: [64, 64], batchSize: 32, classMode: 'binary', seed: 1 });
    const testSet = new ImageDataGenerator({ rescale: 1 / 255 })
      .flowFromDirectory(path.join(root, 'test_set'), { targetSize: [64, 64], batchSize: 32, classMode: 'binary', shuffle: false });
    expect(trainingSet.classIndices).toEqual({ ankle_boot: 0, sneaker: 1 });
    const history = await classifier.fit(trainingSet, { epochs: 3, validationData: testSet, verbose: 0 });
    expect(Object.keys(history.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    const [, accuracy] = (await classifier.evaluate(testSet, { verbose: 0 })) as number[];
    console.log(`seed CNN, 3 epochs: test accuracy ${accuracy.toFixed(4)}; per epoch ${history.history.val_accuracy.map((a) => a.toFixed(4)).join(', ')}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.92);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}, 600000);
