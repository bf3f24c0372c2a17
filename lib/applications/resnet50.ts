/** Keras's ResNet50 (keras/src/applications/resnet.py, version 1): the same layers, names and shapes. */
import { Activation, Add, BatchNormalization, Conv2D, GlobalAveragePooling2D, MaxPooling2D, SymbolicTensor, ZeroPadding2D } from '../layers';
import type { Model } from '../models/model';
import type { Tensor, TensorLike } from '../tensor';
import { ApplicationArgs, applicationInput, checkApplicationArgs, finishApplication, predictions, preprocessInput as preprocess } from './imagenet-utils';

export type ResNet50Args = ApplicationArgs;

/** Keras's batch normalization settings in ResNet. */
function batchNorm(name: string): BatchNormalization {
  return new BatchNormalization({ epsilon: 1.001e-5, name });
}

/** A bottleneck block (1x1, 3x3, 1x1 x4) with a projection shortcut (first of a stack) or the identity. */
function residualBlock(input: SymbolicTensor, filters: number, stride: number, convShortcut: boolean, name: string): SymbolicTensor {
  let shortcut = input;
  if (convShortcut) {
    shortcut = new Conv2D(4 * filters, 1, { strides: stride, name: `${name}_0_conv` }).apply(input);
    shortcut = batchNorm(`${name}_0_bn`).apply(shortcut);
  }
  let x = new Conv2D(filters, 1, { strides: stride, name: `${name}_1_conv` }).apply(input);
  x = batchNorm(`${name}_1_bn`).apply(x);
  x = new Activation('relu', { name: `${name}_1_relu` }).apply(x);
  x = new Conv2D(filters, 3, { padding: 'same', name: `${name}_2_conv` }).apply(x);
  x = batchNorm(`${name}_2_bn`).apply(x);
  x = new Activation('relu', { name: `${name}_2_relu` }).apply(x);
  x = new Conv2D(4 * filters, 1, { name: `${name}_3_conv` }).apply(x);
  x = batchNorm(`${name}_3_bn`).apply(x);
  x = new Add({ name: `${name}_add` }).apply([shortcut, x]);
  return new Activation('relu', { name: `${name}_out` }).apply(x);
}

function stack(x: SymbolicTensor, filters: number, blocks: number, firstStride: number, name: string): SymbolicTensor {
  x = residualBlock(x, filters, firstStride, true, `${name}_block1`);
  for (let i = 2; i <= blocks; i++) x = residualBlock(x, filters, 1, false, `${name}_block${i}`);
  return x;
}

/**
 * ResNet50 (He et al., 2015) as Keras defines it: `await applications.ResNet50({ includeTop: false,
 * pooling: 'avg' })`. Expects caffe-style inputs (`applications.resnet50.preprocessInput`).
 */
export async function ResNet50(args: ResNet50Args = {}): Promise<Model<SymbolicTensor>> {
  const family = 'ResNet50';
  const checked = checkApplicationArgs(family, args, { defaultSize: 224, minSize: 32 });
  const input = applicationInput(checked);
  let x = new ZeroPadding2D({ padding: [[3, 3], [3, 3]], name: 'conv1_pad' }).apply(input);
  x = new Conv2D(64, 7, { strides: 2, name: 'conv1_conv' }).apply(x);
  x = batchNorm('conv1_bn').apply(x);
  x = new Activation('relu', { name: 'conv1_relu' }).apply(x);
  x = new ZeroPadding2D({ padding: [[1, 1], [1, 1]], name: 'pool1_pad' }).apply(x);
  x = new MaxPooling2D({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x);
  x = stack(x, 64, 3, 1, 'conv2');
  x = stack(x, 128, 4, 2, 'conv3');
  x = stack(x, 256, 6, 2, 'conv4');
  x = stack(x, 512, 3, 2, 'conv5');
  return finishApplication(family, checked, input, x, {
    name: args.name ?? 'resnet50',
    top: (features) => predictions(checked, new GlobalAveragePooling2D({ name: 'avg_pool' }).apply(features)),
    poolingNames: { avg: 'avg_pool', max: 'max_pool' },
  });
}

/** Keras's resnet50.preprocess_input ('caffe'): RGB to BGR, then ImageNet's mean subtracted per channel, no scaling. */
export function preprocessInput(x: TensorLike): Tensor {
  return preprocess('resnet50.preprocessInput', x, 'caffe');
}
