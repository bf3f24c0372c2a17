/** Class name -> layer class, so that a saved config (className + getConfig()) recreates its layer. */
import { ValueError } from '../errors';
import { Activation, Dense, Dropout, Flatten, InputLayer } from './core';
import { Conv2D } from './convolutional';
import type { Layer } from './layer';
import { BatchNormalization } from './normalization';
import { AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D } from './pooling';
import { Rescaling } from './rescaling';
import { Normalization } from './preprocessing';
import { CenterCrop, RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Resizing } from './image-preprocessing';
import { Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract } from './merge';

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
  Normalization,
  Resizing,
  CenterCrop,
  RandomFlip,
  RandomRotation,
  RandomZoom,
  RandomTranslation,
  RandomContrast,
  RandomBrightness,
  RandomCrop,
  Add,
  Subtract,
  Multiply,
  Average,
  Maximum,
  Minimum,
  Concatenate,
};

/** Models are layers made from a config differently; lib/models registers them, so nested models load too. */
const FACTORIES: Record<string, (config: Record<string, unknown>) => Layer> = {};

export function registerLayerFactory(className: string, factory: (config: Record<string, unknown>) => Layer): void {
  FACTORIES[className] = factory;
}

export function layerFromConfig(className: unknown, config: unknown): Layer {
  if (typeof className === 'string' && Object.hasOwn(FACTORIES, className)) return FACTORIES[className](config as Record<string, unknown>);
  const constructor = typeof className === 'string' && Object.hasOwn(LAYERS, className) ? LAYERS[className] : undefined;
  if (!constructor) {
    const known = [...Object.keys(LAYERS), ...Object.keys(FACTORIES)];
    throw new ValueError(`layer config: expected className to be one of ${known.join(', ')} but received ${JSON.stringify(className)}`);
  }
  return new constructor(config as never);
}
