/** Class name -> layer class, so that a saved config (className + getConfig()) recreates its layer. */
import { ValueError } from '../errors';
import { Activation, Dense, Dropout, Flatten, InputLayer, Permute, Reshape, SpatialDropout2D } from './core';
import { ELU, LeakyReLU, PReLU, ReLU, Softmax } from './activations';
import { GaussianNoise } from './noise';
import { Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D } from './convolutional';
import type { Layer } from './layer';
import { BatchNormalization, LayerNormalization } from './normalization';
import {
  AveragePooling1D,
  AveragePooling2D,
  GlobalAveragePooling1D,
  GlobalAveragePooling2D,
  GlobalMaxPooling1D,
  GlobalMaxPooling2D,
  MaxPooling1D,
  MaxPooling2D,
} from './pooling';
import { Rescaling } from './rescaling';
import { Cropping2D, UpSampling2D, ZeroPadding2D } from './spatial';
import { Normalization } from './preprocessing';
import { ActivityRegularization } from './regularization';
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
  ActivityRegularization,
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
  DepthwiseConv2D,
  SeparableConv2D,
  Conv2DTranspose,
  Conv1D,
  ZeroPadding2D,
  Cropping2D,
  UpSampling2D,
  MaxPooling1D,
  AveragePooling1D,
  GlobalMaxPooling2D,
  GlobalAveragePooling1D,
  GlobalMaxPooling1D,
  Reshape,
  Permute,
  SpatialDropout2D,
  ReLU,
  LeakyReLU,
  PReLU,
  ELU,
  Softmax,
  LayerNormalization,
  GaussianNoise,
};

/** Models are layers made from a config differently; lib/models registers them, so nested models load too. */
const FACTORIES: Record<string, (config: Record<string, unknown>) => Layer> = {};

export function registerLayerFactory(className: string, factory: (config: Record<string, unknown>) => Layer): void {
  FACTORIES[className] = factory;
}

/** Whether layerFromConfig builds `className` (a layer class or a model). */
export function isLayerClassName(className: string): boolean {
  return Object.hasOwn(LAYERS, className) || Object.hasOwn(FACTORIES, className);
}

/** Every class name layerFromConfig builds. */
export function layerClassNames(): string[] {
  return [...Object.keys(LAYERS), ...Object.keys(FACTORIES)];
}

export function layerFromConfig(className: unknown, config: unknown): Layer {
  if (typeof className === 'string' && Object.hasOwn(FACTORIES, className)) return FACTORIES[className](config as Record<string, unknown>);
  const constructor = typeof className === 'string' && Object.hasOwn(LAYERS, className) ? LAYERS[className] : undefined;
  if (!constructor) {
    throw new ValueError(`layer config: expected className to be one of ${layerClassNames().join(', ')} but received ${JSON.stringify(className)}`);
  }
  return new constructor(config as never);
}
