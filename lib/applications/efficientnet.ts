/** Keras's EfficientNetB0 (keras/src/applications/efficientnet.py): the same layers, names and shapes. */
import {
  Activation,
  Add,
  BatchNormalization,
  Conv2D,
  DepthwiseConv2D,
  Dropout,
  GlobalAveragePooling2D,
  Multiply,
  Normalization,
  Rescaling,
  Reshape,
  SymbolicTensor,
  ZeroPadding2D,
} from '../layers';
import type { InitializerConfig } from '../initializers';
import type { Model } from '../models/model';
import { Tensor, tensor, TensorLike } from '../tensor';
import { ApplicationArgs, applicationInput, checkApplicationArgs, correctPad, finishApplication, predictions } from './imagenet-utils';

export type EfficientNetArgs = ApplicationArgs;

/** Keras's initializers for EfficientNet's convolutions and classifier (VarianceScaling, fan_out). */
const CONV_KERNEL_INITIALIZER: InitializerConfig = { name: 'variance_scaling', scale: 2, mode: 'fan_out', distribution: 'truncated_normal' };
const DENSE_KERNEL_INITIALIZER: InitializerConfig = { name: 'variance_scaling', scale: 1 / 3, mode: 'fan_out', distribution: 'uniform' };

interface BlockArgs {
  kernelSize: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  strides: number;
}

/** Keras's DEFAULT_BLOCKS_ARGS (every block has the identity skip and squeeze-and-excitation ratio 0.25). */
const BLOCKS: BlockArgs[] = [
  { kernelSize: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expandRatio: 1, strides: 1 },
  { kernelSize: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expandRatio: 6, strides: 2 },
  { kernelSize: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expandRatio: 6, strides: 2 },
  { kernelSize: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expandRatio: 6, strides: 2 },
  { kernelSize: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expandRatio: 6, strides: 1 },
  { kernelSize: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expandRatio: 6, strides: 2 },
  { kernelSize: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expandRatio: 6, strides: 1 },
];
const SE_RATIO = 0.25;
const ACTIVATION = 'swish';

/** One mobile inverted bottleneck with squeeze-and-excitation; `dropRate` is its stochastic depth. */
function block(inputs: SymbolicTensor, dropRate: number, name: string, { kernelSize, filtersIn, filtersOut, expandRatio, strides }: Omit<BlockArgs, 'repeats'>): SymbolicTensor {
  const filters = filtersIn * expandRatio;
  let x = inputs;
  if (expandRatio !== 1) {
    x = new Conv2D(filters, 1, { padding: 'same', useBias: false, kernelInitializer: CONV_KERNEL_INITIALIZER, name: `${name}expand_conv` }).apply(x);
    x = new BatchNormalization({ name: `${name}expand_bn` }).apply(x);
    x = new Activation(ACTIVATION, { name: `${name}expand_activation` }).apply(x);
  }
  if (strides === 2) x = new ZeroPadding2D({ padding: correctPad(x.shape, kernelSize), name: `${name}dwconv_pad` }).apply(x);
  x = new DepthwiseConv2D({
    kernelSize,
    strides,
    padding: strides === 2 ? 'valid' : 'same',
    useBias: false,
    depthwiseInitializer: CONV_KERNEL_INITIALIZER,
    name: `${name}dwconv`,
  }).apply(x);
  x = new BatchNormalization({ name: `${name}bn` }).apply(x);
  x = new Activation(ACTIVATION, { name: `${name}activation` }).apply(x);
  const filtersSe = Math.max(1, Math.trunc(filtersIn * SE_RATIO));
  let se = new GlobalAveragePooling2D({ name: `${name}se_squeeze` }).apply(x);
  se = new Reshape({ targetShape: [1, 1, filters], name: `${name}se_reshape` }).apply(se);
  se = new Conv2D(filtersSe, 1, { padding: 'same', activation: ACTIVATION, kernelInitializer: CONV_KERNEL_INITIALIZER, name: `${name}se_reduce` }).apply(se);
  se = new Conv2D(filters, 1, { padding: 'same', activation: 'sigmoid', kernelInitializer: CONV_KERNEL_INITIALIZER, name: `${name}se_expand` }).apply(se);
  x = new Multiply({ name: `${name}se_excite` }).apply([x, se]);
  x = new Conv2D(filtersOut, 1, { padding: 'same', useBias: false, kernelInitializer: CONV_KERNEL_INITIALIZER, name: `${name}project_conv` }).apply(x);
  x = new BatchNormalization({ name: `${name}project_bn` }).apply(x);
  if (strides === 1 && filtersIn === filtersOut) {
    if (dropRate > 0) x = new Dropout({ rate: dropRate, noiseShape: [null, 1, 1, 1], name: `${name}drop` }).apply(x);
    x = new Add({ name: `${name}add` }).apply([x, inputs]);
  }
  return x;
}

/**
 * EfficientNetB0 (Tan and Le, 2019) as Keras defines it: `await applications.EfficientNetB0({ includeTop:
 * false, pooling: 'avg' })`. Takes pixels in [0, 255]: its Rescaling and Normalization layers do the
 * preprocessing (`applications.efficientnet.preprocessInput` passes inputs through, as Keras's does).
 */
export async function EfficientNetB0(args: EfficientNetArgs = {}): Promise<Model<SymbolicTensor>> {
  const family = 'EfficientNetB0';
  const checked = checkApplicationArgs(family, args, { defaultSize: 224, minSize: 32 });
  // B0: width and depth coefficients 1, so Keras's round_filters and round_repeats keep every number.
  const dropoutRate = 0.2;
  const dropConnectRate = 0.2;
  const input = applicationInput(checked);
  // Unnamed in Keras (so 'rescaling' and 'normalization' in a fresh session); named here so that the
  // Normalization's weights keep one name in files however many models the process built before.
  let x = new Rescaling({ scale: 1 / 255, name: 'rescaling' }).apply(input);
  x = new Normalization({ axis: -1, name: 'normalization' }).apply(x);
  x = new ZeroPadding2D({ padding: correctPad(x.shape, 3), name: 'stem_conv_pad' }).apply(x);
  x = new Conv2D(32, 3, { strides: 2, padding: 'valid', useBias: false, kernelInitializer: CONV_KERNEL_INITIALIZER, name: 'stem_conv' }).apply(x);
  x = new BatchNormalization({ name: 'stem_bn' }).apply(x);
  x = new Activation(ACTIVATION, { name: 'stem_activation' }).apply(x);
  const totalBlocks = BLOCKS.reduce((sum, b) => sum + b.repeats, 0);
  let index = 0;
  BLOCKS.forEach(({ repeats, ...blockArgs }, i) => {
    for (let j = 0; j < repeats; j++) {
      const args = j === 0 ? blockArgs : { ...blockArgs, strides: 1, filtersIn: blockArgs.filtersOut };
      x = block(x, (dropConnectRate * index) / totalBlocks, `block${i + 1}${String.fromCharCode(97 + j)}_`, args);
      index += 1;
    }
  });
  x = new Conv2D(1280, 1, { padding: 'same', useBias: false, kernelInitializer: CONV_KERNEL_INITIALIZER, name: 'top_conv' }).apply(x);
  x = new BatchNormalization({ name: 'top_bn' }).apply(x);
  x = new Activation(ACTIVATION, { name: 'top_activation' }).apply(x);
  return finishApplication(family, checked, input, x, {
    name: args.name ?? 'efficientnetb0',
    top: (features) => {
      let y = new GlobalAveragePooling2D({ name: 'avg_pool' }).apply(features);
      y = new Dropout({ rate: dropoutRate, name: 'top_dropout' }).apply(y);
      return predictions(checked, y, DENSE_KERNEL_INITIALIZER);
    },
    poolingNames: { avg: 'avg_pool', max: 'max_pool' },
  });
}

/** Keras's efficientnet.preprocess_input: the model preprocesses its own inputs, so this passes them through. */
export function preprocessInput(x: TensorLike): Tensor {
  return x instanceof Tensor ? x : tensor(x);
}
