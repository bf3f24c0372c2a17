export { Layer, LayerArgs, ApplyOptions, WeightInfo, KernelAndBiasRegularizationArgs } from './layer';
export { Input, InputArgs, InputLayer, InputLayerArgs, Dense, DenseArgs, Flatten, Dropout, DropoutArgs, Activation, ActivationArgs } from './core';
export {
  Conv2D,
  Conv2DArgs,
  Convolution2D,
  Convolution2DArgs,
  DepthwiseConv2D,
  DepthwiseConv2DArgs,
  SeparableConv2D,
  SeparableConv2DArgs,
  Conv2DTranspose,
  Conv2DTransposeArgs,
  Conv1D,
  Conv1DArgs,
  Conv1DPadding,
} from './convolutional';
export {
  MaxPooling2D,
  AveragePooling2D,
  GlobalAveragePooling2D,
  Pooling2DArgs,
  GlobalPooling2DArgs,
  GlobalMaxPooling2D,
  MaxPooling1D,
  AveragePooling1D,
  Pooling1DArgs,
  GlobalAveragePooling1D,
  GlobalMaxPooling1D,
  GlobalPooling1DArgs,
} from './pooling';
export { ZeroPadding2D, ZeroPadding2DArgs, Cropping2D, Cropping2DArgs, UpSampling2D, UpSampling2DArgs, SideAmounts } from './spatial';
export { Reshape, ReshapeArgs, Permute, PermuteArgs, SpatialDropout2D, SpatialDropout2DArgs, RandomLayer, RandomLayerArgs } from './core';
export { ReLU, ReLUArgs, LeakyReLU, LeakyReLUArgs, PReLU, PReLUArgs, ELU, ELUArgs, Softmax, SoftmaxArgs } from './activations';
export { GaussianNoise, GaussianNoiseArgs } from './noise';
export { BatchNormalization, BatchNormalizationArgs, LayerNormalization, LayerNormalizationArgs } from './normalization';
export { Rescaling, RescalingArgs } from './rescaling';
export { Normalization, NormalizationArgs, AdaptData } from './preprocessing';
export {
  Resizing, ResizingArgs, CenterCrop, CenterCropArgs, RandomFlip, RandomFlipArgs, RandomRotation, RandomRotationArgs, RandomZoom, RandomZoomArgs,
  RandomTranslation, RandomTranslationArgs, RandomContrast, RandomBrightness, RandomColorArgs, RandomCrop, RandomCropArgs,
  RandomAffineArgs, Factor, FlipMode, ResizeInterpolation, AffineInterpolation,
} from './image-preprocessing';
export { Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, ConcatenateArgs } from './merge';
export { SymbolicTensor } from './symbolic';
export { ActivityRegularization, ActivityRegularizationArgs } from './regularization';
