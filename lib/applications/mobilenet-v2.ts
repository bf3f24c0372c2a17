/** Keras's MobileNetV2 (keras/src/applications/mobilenet_v2.py): the same layers, names and shapes. */
import { checkFiniteNumber } from '../validation';
import { invalidArgument } from '../errors';
import { Add, BatchNormalization, Conv2D, DepthwiseConv2D, GlobalAveragePooling2D, ReLU, SymbolicTensor, ZeroPadding2D } from '../layers';
import type { Model } from '../models/model';
import type { Tensor, TensorLike } from '../tensor';
import { ApplicationArgs, applicationInput, checkApplicationArgs, correctPad, finishApplication, predictions, preprocessInput as preprocess } from './imagenet-utils';

export interface MobileNetV2Args extends ApplicationArgs {
  /** The width multiplier: each layer's filters are scaled by it (rounded to multiples of 8). Default 1. */
  alpha?: number;
}

/** Keras's _make_divisible: `value` rounded to a multiple of `divisor`, never more than 10% down. */
function makeDivisible(value: number, divisor: number): number {
  let rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

/** Keras's batch normalization settings in MobileNetV2. */
function batchNorm(name: string): BatchNormalization {
  return new BatchNormalization({ epsilon: 1e-3, momentum: 0.999, name });
}

function relu6(name: string): ReLU {
  return new ReLU({ maxValue: 6, name });
}

/** The inverted residual block: 1x1 expansion, 3x3 depthwise, linear 1x1 projection, shortcut when shapes allow. */
function invertedResidualBlock(inputs: SymbolicTensor, expansion: number, stride: number, alpha: number, filters: number, blockId: number): SymbolicTensor {
  const inChannels = inputs.shape[3] as number;
  const pointwiseFilters = makeDivisible(Math.trunc(filters * alpha), 8);
  let x = inputs;
  let prefix = `block_${blockId}_`;
  if (blockId) {
    x = new Conv2D(expansion * inChannels, 1, { padding: 'same', useBias: false, name: `${prefix}expand` }).apply(x);
    x = batchNorm(`${prefix}expand_BN`).apply(x);
    x = relu6(`${prefix}expand_relu`).apply(x);
  } else {
    prefix = 'expanded_conv_';
  }
  if (stride === 2) x = new ZeroPadding2D({ padding: correctPad(x.shape, 3), name: `${prefix}pad` }).apply(x);
  x = new DepthwiseConv2D({ kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise` }).apply(x);
  x = batchNorm(`${prefix}depthwise_BN`).apply(x);
  x = relu6(`${prefix}depthwise_relu`).apply(x);
  x = new Conv2D(pointwiseFilters, 1, { padding: 'same', useBias: false, name: `${prefix}project` }).apply(x);
  x = batchNorm(`${prefix}project_BN`).apply(x);
  if (inChannels === pointwiseFilters && stride === 1) return new Add({ name: `${prefix}add` }).apply([inputs, x]);
  return x;
}

/** [filters, stride, expansion] of blocks 0..16, as Keras's definition lists them. */
const BLOCKS: [number, number, number][] = [
  [16, 1, 1],
  [24, 2, 6], [24, 1, 6],
  [32, 2, 6], [32, 1, 6], [32, 1, 6],
  [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
  [96, 1, 6], [96, 1, 6], [96, 1, 6],
  [160, 2, 6], [160, 1, 6], [160, 1, 6],
  [320, 1, 6],
];

/**
 * MobileNetV2 (Sandler et al., 2018) as Keras defines it: `await applications.MobileNetV2({ inputShape:
 * [160, 160, 3], includeTop: false, pooling: 'avg' })`. Expects inputs scaled to [-1, 1]
 * (`applications.mobilenetV2.preprocessInput`).
 */
export async function MobileNetV2(args: MobileNetV2Args = {}): Promise<Model<SymbolicTensor>> {
  const family = 'MobileNetV2';
  const square = args?.inputShape && args.inputShape[0] === args.inputShape[1] && [96, 128, 160, 192, 224].includes(args.inputShape[0]);
  const checked = checkApplicationArgs(family, args, { defaultSize: square ? (args.inputShape as number[])[0] : 224, minSize: 32, extraKeys: ['alpha'] });
  const alpha = checkFiniteNumber(family, 'alpha', args.alpha ?? 1);
  if (alpha <= 0) throw invalidArgument(family, 'alpha to be a positive number', args.alpha);
  const input = applicationInput(checked);
  let x = new Conv2D(makeDivisible(32 * alpha, 8), 3, { strides: 2, padding: 'same', useBias: false, name: 'Conv1' }).apply(input);
  x = batchNorm('bn_Conv1').apply(x);
  x = relu6('Conv1_relu').apply(x);
  BLOCKS.forEach(([filters, stride, expansion], blockId) => {
    x = invertedResidualBlock(x, expansion, stride, alpha, filters, blockId);
  });
  const lastFilters = alpha > 1 ? makeDivisible(1280 * alpha, 8) : 1280;
  x = new Conv2D(lastFilters, 1, { useBias: false, name: 'Conv_1' }).apply(x);
  x = batchNorm('Conv_1_bn').apply(x);
  x = relu6('out_relu').apply(x);
  const name = args.name ?? `mobilenetv2_${alpha.toFixed(2)}_${checked.inputShape[0]}`;
  return finishApplication(family, checked, input, x, {
    name,
    top: (features) => predictions(checked, new GlobalAveragePooling2D().apply(features)),
  });
}

/** Keras's mobilenet_v2.preprocess_input: pixels in [0, 255] scaled to [-1, 1]. */
export function preprocessInput(x: TensorLike): Tensor {
  return preprocess('mobilenetV2.preprocessInput', x, 'tf');
}
