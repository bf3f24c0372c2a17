/**
 * Training and evaluation on batch iterators (what ImageDataGenerator.flow and flowFromDirectory return):
 * Keras 1's fitGenerator arguments, stepsPerEpoch and validationSteps as Keras walks them (wrapping around
 * the iterator, continuing where the last epoch stopped), and evaluate/predict on an iterator giving what
 * they give on the same samples as tensors.
 */
import { Dense, Flatten, ImageDataGenerator, InputLayer, Sequential, SGD, tensor, Tensor } from '../../lib';
import type { BatchIterator } from '../../lib/data';
import { expectClose, seededRandom, values } from '../helpers';

const SAMPLES = 24;

function data(seed: number): [Tensor, Tensor] {
  const next = seededRandom(seed);
  const x = Float32Array.from({ length: SAMPLES * 2 * 2 * 1 }, () => next() * 2 - 1);
  const y = Float32Array.from({ length: SAMPLES }, (_, i) => i % 2);
  return [tensor(x, [SAMPLES, 2, 2, 1]), tensor(y, [SAMPLES, 1])];
}

function model(): Sequential {
  const m = new Sequential([new InputLayer({ inputShape: [2, 2, 1] }), new Flatten(), new Dense(3, { activation: 'relu' }), new Dense(1, { activation: 'sigmoid' })]);
  m.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'binary_crossentropy', metrics: ['accuracy'] });
  return m;
}

/** The batch indices an iterator is asked for, in order. */
function recordGets(iterator: BatchIterator): number[] {
  const asked: number[] = [];
  const get = iterator.get.bind(iterator);
  iterator.get = (index: number) => {
    asked.push(index);
    return get(index);
  };
  return asked;
}

const flow = (x: Tensor, y: Tensor, batchSize: number) => new ImageDataGenerator().flow(x, y, { batchSize, shuffle: false });

test("fitGenerator takes Keras 1's samplesPerEpoch, nbEpoch and nbValSamples, counted in samples", async () => {
  const [x, y] = data(1);
  const training = flow(x, y, 8); // 3 batches
  const validation = flow(x, y, 6); // 4 batches
  const trained = recordGets(training);
  const validated = recordGets(validation);
  const history = await model().fitGenerator(training, { samplesPerEpoch: 16, nbEpoch: 3, validationData: validation, nbValSamples: 12, verbose: 0 });
  expect(history.epoch).toEqual([0, 1, 2]);
  // 16 samples in batches of 8: 2 steps an epoch, continuing where the last epoch stopped and wrapping around.
  expect(trained).toEqual([0, 1, 2, 0, 1, 2]);
  // 12 samples in batches of 6: 2 validation steps, from the first batch each time.
  expect(validated).toEqual([0, 1, 0, 1, 0, 1]);
  expect(history.history.val_loss).toHaveLength(3);
});

test('stepsPerEpoch beyond the iterator wraps around it; validationSteps evaluates only that many batches, whose mean it reports', async () => {
  const [x, y] = data(2);
  const training = flow(x, y, 8);
  const validation = flow(x, y, 6);
  const trained = recordGets(training);
  const validated = recordGets(validation);
  const m = model();
  const history = await m.fit(training, { epochs: 1, stepsPerEpoch: 5, validationData: validation, validationSteps: 2, verbose: 0 });
  expect(trained).toEqual([0, 1, 2, 0, 1]);
  expect(validated).toEqual([0, 1]);
  // The validation loss is over the first 12 samples only, with the weights fit ended with.
  const firstTwelve = (await m.evaluate(tensor(values(x).slice(0, 48), [12, 2, 2, 1]), tensor(values(y).slice(0, 12), [12, 1]), { verbose: 0 })) as number[];
  expect(history.history.val_loss[0]).toBeCloseTo(firstTwelve[0], 5);
});

test('evaluate and predict on an iterator give what they give on the same samples as tensors', async () => {
  const [x, y] = data(3);
  const m = model();
  const fromTensors = (await m.evaluate(x, y, { batchSize: 8, verbose: 0 })) as number[];
  const fromIterator = (await m.evaluate(flow(x, y, 8), { verbose: 0 })) as number[];
  expectClose(fromIterator, fromTensors, 1e-6);
  const predictedFromIterator = (await m.predict(new ImageDataGenerator().flow(x, null, { batchSize: 5, shuffle: false }))) as Tensor;
  expect(predictedFromIterator.shape).toEqual([SAMPLES, 1]);
  expectClose(values(predictedFromIterator), values((await m.predict(x)) as Tensor), 1e-6);
  // `steps` limits the batches read.
  const partial = (await m.predict(new ImageDataGenerator().flow(x, null, { batchSize: 5, shuffle: false }), { steps: 2 })) as Tensor;
  expect(partial.shape).toEqual([10, 1]);
});
