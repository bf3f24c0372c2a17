/** Tiny deterministic models and data for the callback tests. */
import { Dense, Sequential, SGD, setSeed, tensor, Tensor } from '../../lib';
import { seededRandom } from '../helpers';

/** 64 samples of 8 features and a linear target with a little noise. */
export function regressionData(samples = 64, seed = 1): [Tensor, Tensor] {
  const random = seededRandom(seed);
  const x = new Float32Array(samples * 8);
  const y = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    let target = 0;
    for (let j = 0; j < 8; j++) {
      const value = random() * 2 - 1;
      x[i * 8 + j] = value;
      target += value * (j % 2 === 0 ? 0.5 : -0.25);
    }
    y[i] = target + (random() - 0.5) * 0.05;
  }
  return [tensor(x, [samples, 8]), tensor(y, [samples, 1])];
}

/** Dense(4, relu) -> Dense(1) on 8 features, compiled with SGD and mse. */
export function regressionModel(learningRate = 0.05, seed = 7): Sequential {
  setSeed(seed);
  const model = new Sequential();
  model.add(new Dense(4, { inputShape: [8], activation: 'relu' }));
  model.add(new Dense(1));
  model.compile({ optimizer: new SGD({ learningRate }), loss: 'mse' });
  return model;
}

export function flat(weights: Tensor[]): number[] {
  return weights.flatMap((w) => Array.from(w.dataSync() as Float32Array));
}

/** The last `count` samples of a float tensor (what validationSplit holds out). */
export function lastSamples(t: Tensor, count: number): Tensor {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = t.dataSync() as Float32Array;
  return tensor(Float32Array.from(values.subarray(values.length - count * per)), [count, ...t.shape.slice(1)]);
}
