/**
 * Row h: fit fed by an async generator of in-memory batches (typed arrays, the way a loader hands them
 * over) against fit on the same samples as tensors, in the same batches and order (no shuffling). Runs
 * alternate between the two so that a machine busy with something else slows both alike.
 */
import { setSeed, tensor } from 'keras-torch';
import { seedModel } from './seed-model';

export interface FeedFigures {
  /** Seconds per epoch, one per repeat. */
  tensor_s: number[];
  generator_s: number[];
}

export async function iterableFitFigures(size: number, batchSize: number, batches: number, repeats: number): Promise<FeedFigures> {
  const per = size * size * 3;
  const samples = batches * batchSize;
  const pixels = new Float32Array(samples * per);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.random();
  const labels = Float32Array.from({ length: samples }, () => (Math.random() > 0.5 ? 1 : 0));
  const x = tensor(pixels, [samples, size, size, 3]);
  const y = tensor(labels, [samples, 1]);
  async function* generator() {
    for (let b = 0; b < batches; b++) {
      yield [pixels.subarray(b * batchSize * per, (b + 1) * batchSize * per), labels.subarray(b * batchSize, (b + 1) * batchSize)];
    }
  }
  setSeed(1);
  const model = seedModel(size);
  // Warm-up: the first steps allocate what later ones reuse.
  await model.fit(x, y, { batchSize, epochs: 1, shuffle: false, verbose: 0 });
  await model.fit(generator(), { stepsPerEpoch: batches, epochs: 1, verbose: 0 });
  const figures: FeedFigures = { tensor_s: [], generator_s: [] };
  for (let r = 0; r < repeats; r++) {
    let start = performance.now();
    await model.fit(x, y, { batchSize, epochs: 1, shuffle: false, verbose: 0 });
    figures.tensor_s.push((performance.now() - start) / 1000);
    start = performance.now();
    await model.fit(generator(), { stepsPerEpoch: batches, epochs: 1, verbose: 0 });
    figures.generator_s.push((performance.now() - start) / 1000);
  }
  return figures;
}
