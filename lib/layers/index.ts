export { Layer, LayerArgs, ApplyOptions, WeightInfo } from './layer';
export { Input, InputArgs, InputLayer, InputLayerArgs, Dense, DenseArgs, Flatten, Dropout, DropoutArgs, Activation, ActivationArgs } from './core';
export { Conv2D, Conv2DArgs, Convolution2D, Convolution2DArgs } from './convolutional';
export { MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Pooling2DArgs, GlobalPooling2DArgs } from './pooling';
export { BatchNormalization, BatchNormalizationArgs } from './normalization';
export { Rescaling, RescalingArgs } from './rescaling';
export { Normalization, NormalizationArgs, AdaptData } from './preprocessing';
export {
  Resizing, ResizingArgs, CenterCrop, CenterCropArgs, RandomFlip, RandomFlipArgs, RandomRotation, RandomRotationArgs, RandomZoom, RandomZoomArgs,
  RandomTranslation, RandomTranslationArgs, RandomContrast, RandomBrightness, RandomColorArgs, RandomCrop, RandomCropArgs, RandomLayerArgs,
  RandomAffineArgs, Factor, FlipMode, ResizeInterpolation, AffineInterpolation,
} from './image-preprocessing';
export { Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, ConcatenateArgs } from './merge';
export { SymbolicTensor } from './symbolic';
