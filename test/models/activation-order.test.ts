/**
 * The native graph (native/graph.cc) runs a ReLU after the MaxPooling2D that follows it; ReLU is the only
 * activation it moves (native/layers.cc's CommutesWithMaxPooling), so ReLU is what is compared here. A
 * Rescaling(1) between the two keeps the written order (the swap only happens when the pool comes right
 * after the activation), so the same model with and without it must train to the same losses and weights,
 * in general and where the activation ties inputs inside a pooling window.
 */
import { Conv2D, Dense, Flatten, MaxPooling2D, Rescaling, Sequential, SGD, setSeed, tensor, Tensor } from '../../lib';
import type { ActivationIdentifier } from '../../lib/activations';

function build(activation: ActivationIdentifier, keepOrder: boolean, filters: number, kernel: number, inputShape: number[], dense: boolean): Sequential {
  const model = new Sequential();
  model.add(new Conv2D(filters, kernel, { inputShape, activation }));
  if (keepOrder) model.add(new Rescaling({ scale: 1 }));
  model.add(new MaxPooling2D({ poolSize: 2 }));
  model.add(new Flatten());
  if (dense) model.add(new Dense(1, { activation: 'sigmoid' }));
  model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: dense ? 'binary_crossentropy' : 'mse' });
  return model;
}

async function trainPair(make: (keepOrder: boolean) => Sequential, x: Tensor, y: Tensor) {
  const swapped = make(false);
  const written = make(true);
  written.setWeights(swapped.getWeights());
  const losses: [number, number][] = [];
  for (let step = 0; step < 3; step++) {
    losses.push([(await swapped.trainOnBatch(x, y)) as number, (await written.trainOnBatch(x, y)) as number]);
  }
  const weights = swapped.getWeights().map((w, i) => [Array.from(w.dataSync() as Float32Array), Array.from(written.getWeights()[i].dataSync() as Float32Array)]);
  return { losses, weights };
}

describe('an activation before MaxPooling2D', () => {
  test.each<ActivationIdentifier>(['relu'])('%s: trains as in the written order', async (activation) => {
    setSeed(9);
    const x = tensor(Float32Array.from({ length: 8 * 10 * 10 * 3 }, (_, i) => 2 * Math.sin(i * 0.71)), [8, 10, 10, 3]);
    const y = tensor(Float32Array.from({ length: 8 }, (_, i) => i % 2), [8, 1]);
    const { losses, weights } = await trainPair((keepOrder) => build(activation, keepOrder, 4, 3, [10, 10, 3], true), x, y);
    for (const [swapped, written] of losses) expect(swapped).toBeCloseTo(written, 6);
    for (const [swapped, written] of weights) {
      expect(swapped).toHaveLength(written.length);
      swapped.forEach((value, i) => expect(value).toBeCloseTo(written[i], 6));
    }
  });

  // One window [-1, 0, -2, -3] through a 1x1 identity convolution: relu maps -1 and 0 to the same 0, so the
  // element the pool picks decides where the gradient goes.
  test.each<ActivationIdentifier>(['relu'])('%s: ties inside a window get the gradient they get in the written order', async (activation) => {
    const make = (keepOrder: boolean) => {
      const model = new Sequential();
      model.add(new Conv2D(1, 1, { inputShape: [2, 2, 1], activation, kernelInitializer: 'ones', biasInitializer: 'zeros' }));
      if (keepOrder) model.add(new Rescaling({ scale: 1 }));
      model.add(new MaxPooling2D({ poolSize: 2 }));
      model.add(new Flatten());
      model.compile({ optimizer: new SGD({ learningRate: 1 }), loss: 'mse' });
      return model;
    };
    const x = tensor(Float32Array.from([-1, 0, -2, -3]), [1, 2, 2, 1]);
    const y = tensor(Float32Array.from([1]), [1, 1]);
    const { losses, weights } = await trainPair(make, x, y);
    for (const [swapped, written] of losses) expect(swapped).toBeCloseTo(written, 6);
    for (const [swapped, written] of weights) expect(swapped).toEqual(written);
  });
});
