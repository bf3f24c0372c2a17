/** Class name -> layer class, so that a saved config (className + getConfig()) recreates its layer. */
import { ValueError } from '../errors';
import { Activation, Dense, Dropout, Flatten, InputLayer } from './core';
import { Conv2D } from './convolutional';
import type { Layer } from './layer';
import { BatchNormalization } from './normalization';
import { AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D } from './pooling';
import { Rescaling } from './rescaling';

type LayerConstructor = new (config: never) => Layer;

const LAYERS: Record<string, LayerConstructor> = {
  InputLayer,
  Conv2D,
  Dense,
  Flatten,
  Dropout,
  Activation,
  MaxPooling2D,
  AveragePooling2D,
  GlobalAveragePooling2D,
  BatchNormalization,
  Rescaling,
};

export function layerFromConfig(className: unknown, config: unknown): Layer {
  const constructor = typeof className === 'string' ? LAYERS[className] : undefined;
  if (!constructor) {
    throw new ValueError(`layer config: expected className to be one of ${Object.keys(LAYERS).join(', ')} but received ${JSON.stringify(className)}`);
  }
  return new constructor(config as never);
}
