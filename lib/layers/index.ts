export { Layer, LayerArgs, ApplyOptions, WeightInfo, KernelAndBiasRegularizationArgs } from './layer';
export { Input, InputArgs, InputLayer, InputLayerArgs, Dense, DenseArgs, Flatten, Dropout, DropoutArgs, Activation, ActivationArgs } from './core';
export { Conv2D, Conv2DArgs, Convolution2D, Convolution2DArgs } from './convolutional';
export { MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Pooling2DArgs, GlobalPooling2DArgs } from './pooling';
export { BatchNormalization, BatchNormalizationArgs } from './normalization';
export { Rescaling, RescalingArgs } from './rescaling';
export { Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, ConcatenateArgs } from './merge';
export { SymbolicTensor } from './symbolic';
export { ActivityRegularization, ActivityRegularizationArgs } from './regularization';
