/**
 * A small ResNet through the functional API, the same layers in the same order as bench/torch_peer.py's
 * `residual_cnn`: a stem (Conv2D(16, 3, same) + BN + ReLU), two basic blocks (conv3x3-BN-ReLU-conv3x3-BN, plus
 * the shortcut, ReLU; the second downsamples with stride 2 to 32 filters, its shortcut a 1x1 conv + BN),
 * global average pooling and Dense(10, softmax), compiled with Adam and sparse categorical cross-entropy.
 */
import { Activation, Add, BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D, Input, Model, SymbolicTensor } from 'keras-torch';

type Tensor = SymbolicTensor;

function convBn(x: Tensor, filters: number, kernel: number, strides = 1): Tensor {
  const y = new Conv2D(filters, kernel, { strides, padding: 'same', useBias: false }).apply(x);
  return new BatchNormalization().apply(y);
}

function basicBlock(x: Tensor, filters: number, strides: number): Tensor {
  let y = convBn(x, filters, 3, strides);
  y = new Activation('relu').apply(y);
  y = convBn(y, filters, 3);
  const channels = x.shape[x.shape.length - 1];
  const shortcut = strides !== 1 || channels !== filters ? convBn(x, filters, 1, strides) : x;
  return new Activation('relu').apply(new Add().apply([y, shortcut]));
}

export function residualModel(size: number, classes = 10): Model<SymbolicTensor> {
  const inputs = Input({ shape: [size, size, 3] });
  let x = new Activation('relu').apply(convBn(inputs, 16, 3));
  x = basicBlock(x, 16, 1);
  x = basicBlock(x, 32, 2);
  x = new GlobalAveragePooling2D().apply(x);
  const outputs = new Dense(classes, { activation: 'softmax' }).apply(x);
  const model = new Model({ inputs, outputs });
  model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return model;
}
