/** The seed tutorial's CNN on size x size RGB images, compiled as the tutorial compiles it. */
import { Conv2D, Dense, Flatten, MaxPooling2D, Sequential } from 'keras-torch';

export function seedModel(size: number): Sequential {
  const model = new Sequential();
  model.add(new Conv2D(32, [3, 3], { inputShape: [size, size, 3], activation: 'relu' }));
  model.add(new MaxPooling2D({ poolSize: [2, 2] }));
  model.add(new Flatten());
  model.add(new Dense(128, { activation: 'relu' }));
  model.add(new Dense(1, { activation: 'sigmoid' }));
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  return model;
}
