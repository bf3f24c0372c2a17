/**
 * What streaming metrics cost: the seed CNN's fit on in-memory batches compiled with
 * `metrics: ['accuracy', 'AUC', 'Precision', 'Recall']` against the same fit with accuracy alone. The two
 * models start from the same weights and alternate epoch by epoch, so that load on the machine falls on
 * both alike.
 */
import { setSeed, tensor, Tensor } from 'keras-torch';
import { seedModel } from './seed-model';

export interface MetricsCostFigures {
  /** Seconds per epoch, one entry per repeat. */
  accuracyOnly: number[];
  withStreamingMetrics: number[];
}

function randomBatch(samples: number, size: number): [Tensor, Tensor] {
  const x = tensor(Float32Array.from({ length: samples * size * size * 3 }, () => Math.random()), [samples, size, size, 3]);
  const y = tensor(Float32Array.from({ length: samples }, () => (Math.random() > 0.5 ? 1 : 0)), [samples, 1]);
  return [x, y];
}

export async function metricsCost(size: number, batchSize: number, batches: number, repeats: number): Promise<MetricsCostFigures> {
  setSeed(1);
  const plain = seedModel(size);
  const measured = seedModel(size);
  measured.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy', 'AUC', 'Precision', 'Recall'] });
  measured.setWeights(plain.getWeights());
  const [x, y] = randomBatch(batchSize * batches, size);
  const epoch = async (model: typeof plain): Promise<number> => {
    const start = performance.now();
    await model.fit(x, y, { batchSize, epochs: 1, verbose: 0, shuffle: false });
    return (performance.now() - start) / 1000;
  };
  // One warm-up epoch each.
  await epoch(plain);
  await epoch(measured);
  const figures: MetricsCostFigures = { accuracyOnly: [], withStreamingMetrics: [] };
  // Alternating which goes first (ABBA), so that a drift in the machine's load favours neither.
  for (let r = 0; r < repeats; r++) {
    if (r % 2 === 0) {
      figures.accuracyOnly.push(await epoch(plain));
      figures.withStreamingMetrics.push(await epoch(measured));
    } else {
      figures.withStreamingMetrics.push(await epoch(measured));
      figures.accuracyOnly.push(await epoch(plain));
    }
  }
  x.dispose();
  y.dispose();
  return figures;
}
