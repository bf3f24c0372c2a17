/** Keras's VGG16 (keras/src/applications/vgg16.py): the same layers, names and shapes. */
import { Conv2D, Dense, Flatten, MaxPooling2D, SymbolicTensor } from '../layers';
import type { Model } from '../models/model';
import type { Tensor, TensorLike } from '../tensor';
import { ApplicationArgs, applicationInput, checkApplicationArgs, finishApplication, predictions, preprocessInput as preprocess } from './imagenet-utils';

export type VGG16Args = ApplicationArgs;

/** Filters of each block's 3x3 convolutions. */
const BLOCKS = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];

/**
 * VGG16 (Simonyan and Zisserman, 2014) as Keras defines it: `await applications.VGG16({ includeTop: false,
 * inputShape: [150, 150, 3] })`. Expects caffe-style inputs (`applications.vgg16.preprocessInput`).
 */
export async function VGG16(args: VGG16Args = {}): Promise<Model<SymbolicTensor>> {
  const family = 'VGG16';
  const checked = checkApplicationArgs(family, args, { defaultSize: 224, minSize: 32 });
  const input = applicationInput(checked);
  let x: SymbolicTensor = input;
  BLOCKS.forEach((filters, block) => {
    filters.forEach((count, i) => {
      x = new Conv2D(count, 3, { activation: 'relu', padding: 'same', name: `block${block + 1}_conv${i + 1}` }).apply(x);
    });
    x = new MaxPooling2D({ poolSize: 2, strides: 2, name: `block${block + 1}_pool` }).apply(x);
  });
  return finishApplication(family, checked, input, x, {
    name: args.name ?? 'vgg16',
    top: (features) => {
      let y = new Flatten({ name: 'flatten' }).apply(features);
      y = new Dense(4096, { activation: 'relu', name: 'fc1' }).apply(y);
      y = new Dense(4096, { activation: 'relu', name: 'fc2' }).apply(y);
      return predictions(checked, y);
    },
  });
}

/** Keras's vgg16.preprocess_input ('caffe'): RGB to BGR, then ImageNet's mean subtracted per channel, no scaling. */
export function preprocessInput(x: TensorLike): Tensor {
  return preprocess('vgg16.preprocessInput', x, 'caffe');
}
