/**
 * Bad input across the public API, as one table: every case must be an Error (thrown or rejected) whose
 * message names the argument, what was expected and what was received — never a crash, an abort, a hang
 * or a silent success.
 */
import {
  Activation,
  Adam,
  AveragePooling2D,
  BatchNormalization,
  concat,
  Conv2D,
  CSVLogger,
  Dense,
  Dropout,
  EarlyStopping,
  expandDims,
  Flatten,
  GlobalAveragePooling2D,
  ImageDataGenerator,
  InputLayer,
  loadImg,
  loadModel,
  loadTorchScript,
  losses,
  MaxPooling2D,
  metrics,
  ModelCheckpoint,
  ones,
  optimizers,
  ReduceLROnPlateau,
  Rescaling,
  RMSprop,
  Sequential,
  setDevice,
  setNumThreads,
  setSeed,
  SGD,
  Tensor,
  tensor,
  TerminateOnNaN,
  zeros,
} from '../../lib';

// Bad arguments are passed on purpose; the casts keep the compiler out of the way.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

interface Case {
  title: string;
  run: () => unknown;
  /** The message, in full or in part. */
  error: RegExp;
  /**
   * Not an argument error, so not "expected ... but received": a call out of order (names the operation and
   * the missing step), or a file system failure (names the file and the reason).
   */
  order?: true;
  io?: true;
}

/** A compiled Dense model on 3 features with 2 outputs. */
function denseModel(loss = 'mse'): Sequential {
  const model = new Sequential([new Dense(2, { inputShape: [3] })]);
  model.compile({ optimizer: 'sgd', loss });
  return model;
}

function disposed(shape: number[] = [2, 3]): Tensor {
  const t = zeros(shape);
  t.dispose();
  return t;
}

const x = () => zeros([4, 3]);
const y = () => zeros([4, 2]);

const cases: Case[] = [
  // ---- tensor creation ----
  { title: 'tensor: string values', run: () => tensor('abc' as Any), error: /tensor: expected values as a typed array.* but received "abc"/ },
  { title: 'tensor: object values', run: () => tensor({ a: 1 } as Any), error: /tensor: expected values as a typed array.* but received \{"a":1\}/ },
  { title: 'tensor: ragged arrays', run: () => tensor([[1, 2], [3]]), error: /tensor: expected values\[1\] to be an array of length 2 \(the array is ragged\) but received \[3\]/ },
  { title: 'tensor: a string leaf', run: () => tensor([1, '2' as Any]), error: /tensor: expected a number at values\[1\] but received "2"/ },
  { title: 'tensor: unknown dtype', run: () => tensor([1], undefined, 'float16' as Any), error: /tensor: expected dtype to be one of float32, .* but received "float16"/ },
  { title: 'tensor: Int16Array', run: () => tensor(new Int16Array(2) as Any), error: /tensor: expected values as a Float32Array.* but received a Int16Array of length 2/ },
  { title: 'tensor: shape holding other count', run: () => tensor([1, 2, 3], [2, 2]), error: /tensor: expected a shape that holds 3 values \(this one holds 4\) but received \[2, 2\]/ },
  { title: 'tensor: NaN in shape', run: () => tensor([1, 2], [NaN]), error: /tensor: expected shape to be an array of non-negative integers.* but received \[NaN\]/ },
  { title: 'tensor: Infinity in shape', run: () => tensor([1, 2], [Infinity]), error: /tensor: expected shape .* but received \[Infinity\]/ },
  { title: 'tensor: fractional shape', run: () => tensor([1, 2], [0.5, 4]), error: /tensor: expected shape .* but received \[0.5, 4\]/ },
  { title: 'tensor: two -1 axes', run: () => tensor([1, 2, 3, 4], [-1, -1]), error: /tensor: expected a shape that can hold 4 values but received \[-1, -1\]/ },
  { title: 'tensor: enormous shape', run: () => tensor(new Float32Array(4), [1e9, 1e9]), error: /tensor: expected a shape that holds 4 values .* but received \[1000000000, 1000000000\]/ },
  { title: 'zeros: negative axis', run: () => zeros([-1, 2]), error: /zeros: expected shape to be an array of non-negative integers but received \[-1, 2\]/ },
  { title: 'zeros: shape not an array', run: () => zeros(3 as Any), error: /zeros: expected shape to be an array of non-negative integers but received 3/ },
  { title: 'zeros: beyond a typed array', run: () => zeros([1e6, 1e6]), error: /zeros: expected a shape whose 1000000000000 values fit in memory .* but received \[1000000, 1000000\]/ },
  { title: 'ones: bad dtype', run: () => ones([2], 'complex64' as Any), error: /ones: expected dtype to be one of .* but received "complex64"/ },
  { title: 'expandDims: not a tensor', run: () => expandDims([1, 2] as Any), error: /expandDims: expected a Tensor but received \[1, 2\]/ },
  { title: 'expandDims: axis out of range', run: () => expandDims(zeros([2]), 5), error: /expandDims: expected axis to be an integer in \[-2, 1\] but received 5/ },
  { title: 'expandDims: NaN axis', run: () => expandDims(zeros([2]), NaN), error: /expandDims: expected axis .* but received NaN/ },
  { title: 'concat: empty list', run: () => concat([]), error: /concat: expected a non-empty array of Tensors but received \[\]/ },
  { title: 'concat: mismatched shapes', run: () => concat([zeros([2, 3]), zeros([2, 4])]), error: /concat: expected tensors\[1\] of shape \[\*, 3\] \(as tensors\[0\]\) but received shape \[2, 4\]/ },
  { title: 'concat: disposed tensor', run: () => concat([disposed(), zeros([2, 3])]), error: /concat: expected tensors\[0\] to be a live Tensor but received a disposed Tensor/ },
  { title: 'reshape: wrong count', run: () => zeros([2, 3]).reshape([4, 2]), error: /reshape: expected a shape that holds 6 values \(this one holds 8\) but received \[4, 2\]/ },
  { title: 'reshape: not an array', run: () => zeros([2, 3]).reshape('6' as Any), error: /reshape: expected shape to be an array .* but received "6"/ },
  { title: 'disposed: dataSync', run: () => disposed().dataSync(), error: /Tensor.dataSync: the Tensor has been disposed; it cannot be used any more/, order: true },
  { title: 'disposed: data()', run: () => disposed().data(), error: /Tensor.data: the Tensor has been disposed/, order: true },
  { title: 'disposed: arraySync', run: () => disposed().arraySync(), error: /Tensor.dataSync: the Tensor has been disposed/, order: true },
  { title: 'disposed: reshape', run: () => disposed().reshape([6]), error: /Tensor.reshape: the Tensor has been disposed/, order: true },
  { title: 'disposed: to(device)', run: () => disposed().to('cpu'), error: /Tensor.to: the Tensor has been disposed/, order: true },

  // ---- layers ----
  { title: 'Dense: units 0', run: () => new Dense(0), error: /Dense( '[^']+')?: expected units to be a positive integer but received 0/ },
  { title: 'Dense: units NaN', run: () => new Dense(NaN), error: /Dense( '[^']+')?: expected units to be a positive integer but received NaN/ },
  { title: 'Dense: units Infinity', run: () => new Dense(Infinity), error: /Dense( '[^']+')?: expected units to be a positive integer but received Infinity/ },
  { title: 'Dense: units string', run: () => new Dense('8' as Any), error: /Dense( '[^']+')?: expected units to be a positive integer but received "8"/ },
  { title: 'Dense: unknown activation', run: () => new Dense(2, { activation: 'swish9' as Any }), error: /Dense( '[^']+')?: expected activation to be one of .* but received "swish9"/ },
  { title: 'Dense: unknown option', run: () => new Dense(2, { unit: 3 } as Any), error: /Dense( '[^']+')?: expected options among .* but received "unit"/ },
  { title: 'Dense: options not an object', run: () => new Dense(2, 'relu' as Any), error: /Dense( '[^']+')?: expected options to be an options object but received "relu"/ },
  { title: 'Dense: inputShape with zero', run: () => new Dense(2, { inputShape: [0] }), error: /Dense( '[^']+')?: expected inputShape to be a non-empty array of positive integers but received \[0\]/ },
  { title: 'Dense: inputShape NaN', run: () => new Dense(2, { inputShape: [NaN] }), error: /Dense( '[^']+')?: expected inputShape .* but received \[NaN\]/ },
  { title: 'Dense: inputShape and inputDim', run: () => new Dense(2, { inputShape: [3], inputDim: 3 }), error: /Dense( '[^']+')?: expected either inputShape or inputDim, not both but received/ },
  { title: 'Dense: empty name', run: () => new Dense(2, { name: '' }), error: /Dense( '[^']+')?: expected name to be a non-empty string but received ""/ },
  { title: 'Dense: trainable string', run: () => new Dense(2, { trainable: 'no' as Any }), error: /Dense( '[^']+')?: expected trainable to be a boolean but received "no"/ },
  { title: 'Conv2D: filters negative', run: () => new Conv2D(-3, 3), error: /Conv2D( '[^']+')?: expected filters to be a positive integer but received -3/ },
  { title: 'Conv2D: kernel 0', run: () => new Conv2D(4, 0), error: /Conv2D( '[^']+')?: expected kernelSize to be a positive integer or a pair of positive integers but received 0/ },
  { title: 'Conv2D: kernel triple', run: () => new Conv2D(4, [3, 3, 3] as Any), error: /Conv2D( '[^']+')?: expected kernelSize .* but received \[3, 3, 3\]/ },
  { title: 'Conv2D: strides NaN', run: () => new Conv2D(4, 3, { strides: NaN }), error: /Conv2D( '[^']+')?: expected strides .* but received NaN/ },
  { title: 'Conv2D: padding full', run: () => new Conv2D(4, 3, { padding: 'full' as Any }), error: /Conv2D( '[^']+')?: expected padding to be one of 'valid', 'same' but received "full"/ },
  { title: 'Conv2D: unknown initializer', run: () => new Conv2D(4, 3, { kernelInitializer: 'xavier' as Any }), error: /expected kernelInitializer to be one of .* but received "xavier"/ },
  { title: 'Conv2D: useBias number', run: () => new Conv2D(4, 3, { useBias: 1 as Any }), error: /Conv2D( '[^']+')?: expected useBias to be a boolean but received 1/ },
  { title: 'Conv2D: kernel larger than input', run: () => new Sequential([new Conv2D(2, 5, { inputShape: [3, 3, 1] })]), error: /Conv2D 'conv2d(_\d+)?': expected input of at least the kernel's extent 5x5 .* but received \[\*, 3, 3, 1\]/ },
  { title: 'Conv2D: rank-2 input', run: () => new Sequential([new Conv2D(2, 3, { inputShape: [8, 8] })]), error: /Conv2D 'conv2d(_\d+)?': expected input of rank 3 .* but received \[\*, 8, 8\]/ },
  { title: 'MaxPooling2D: poolSize 0', run: () => new MaxPooling2D(0), error: /MaxPooling2D( '[^']+')?: expected poolSize to be a positive integer or a pair .* but received 0/ },
  { title: 'MaxPooling2D: padding causal', run: () => new MaxPooling2D(2, { padding: 'causal' as Any }), error: /expected padding to be one of 'valid', 'same' but received "causal"/ },
  { title: 'AveragePooling2D: strides -1', run: () => new AveragePooling2D(2, { strides: -1 }), error: /AveragePooling2D( '[^']+')?: expected strides .* but received -1/ },
  { title: 'GlobalAveragePooling2D: after Dense', run: () => new Sequential([new Dense(2, { inputShape: [3] }), new GlobalAveragePooling2D()]), error: /GlobalAveragePooling2D '.*': expected input of rank 3 .* but received \[\*, 2\]/ },
  { title: 'Dropout: rate 1', run: () => new Dropout(1), error: /Dropout( '[^']+')?: expected rate to be a number in \[0, 1\) but received 1/ },
  { title: 'Dropout: rate NaN', run: () => new Dropout(NaN), error: /Dropout( '[^']+')?: expected rate to be a number in \[0, 1\) but received NaN/ },
  { title: 'Dropout: rate -Infinity', run: () => new Dropout(-Infinity), error: /Dropout( '[^']+')?: expected rate .* but received -Infinity/ },
  { title: 'BatchNormalization: momentum 2', run: () => new BatchNormalization({ momentum: 2 }), error: /BatchNormalization( '[^']+')?: expected momentum to be a number in .* but received 2/ },
  { title: 'BatchNormalization: epsilon NaN', run: () => new BatchNormalization({ epsilon: NaN }), error: /BatchNormalization( '[^']+')?: expected epsilon .* but received NaN/ },
  { title: 'Activation: unknown name', run: () => new Activation('relu7' as Any), error: /Activation .*expected activation to be one of .* but received "relu7"/ },
  { title: 'Rescaling: scale Infinity', run: () => new Rescaling(Infinity), error: /Rescaling( '[^']+')?: expected scale to be a finite number but received Infinity/ },
  { title: 'Rescaling: offset NaN', run: () => new Rescaling(1, { offset: NaN }), error: /Rescaling( '[^']+')?: expected offset to be a finite number but received NaN/ },
  { title: 'InputLayer: no shape', run: () => new InputLayer({} as Any), error: /InputLayer: expected .*inputShape.* but received/ },
  { title: 'Flatten: unknown option', run: () => new Flatten({ dataFormat: 'channels_first' } as Any), error: /Flatten: expected options among .* but received "dataFormat"/ },

  // ---- Sequential structure ----
  { title: 'add: not a layer', run: () => new Sequential().add({} as Any), error: /Sequential.add: expected a Layer instance but received \{\}/ },
  { title: 'add: duplicate name', run: () => new Sequential([new Dense(2, { inputShape: [3], name: 'same' }), new Dense(2, { name: 'same' })]), error: /Sequential.add: expected a layer with a unique name .* but received "same"/ },
  { title: 'add: inputShape contradicting the layer below', run: () => new Sequential([new Dense(2, { inputShape: [3] }), new Dense(2, { inputShape: [5] })]), error: /Sequential.add '.*': expected inputShape \[\*, 2\] \(the output of the layer below\) but received "\[\*, 5\]"/ },
  { title: 'Sequential: options a string', run: () => new Sequential('model' as Any), error: /Sequential: expected options to be an options object but received "model"/ },
  { title: 'pop: empty model', run: () => new Sequential().pop(), error: /Sequential.pop: the model has no layers/, order: true },
  { title: 'summary: before the input shape is known', run: () => new Sequential([new Dense(2)]).summary({ printFn: () => undefined }), error: /summary: the model does not know its input shape yet/, order: true },
  { title: 'countParams: before the input shape is known', run: () => new Sequential([new Dense(2)]).countParams(), error: /countParams: the model does not know its input shape yet/, order: true },
  { title: 'getWeights: empty model', run: () => new Sequential().getWeights(), error: /getWeights: the model has no layers; add some first/, order: true },
  { title: 'to: unknown device', run: () => new Sequential().to('tpu'), error: /to: expected a usable device.* but received "tpu"/ },

  // ---- compile ----
  { title: 'compile: no options', run: () => new Sequential().compile(undefined as Any), error: /compile: expected options to be an options object but received undefined/ },
  { title: 'compile: unknown loss', run: () => denseModel().compile({ loss: 'hinge_loss' }), error: /compile: expected loss to be one of .* but received "hinge_loss"/ },
  { title: 'compile: loss missing', run: () => denseModel().compile({} as Any), error: /compile: expected loss to be one of .* but received undefined/ },
  { title: 'compile: unknown optimizer', run: () => denseModel().compile({ loss: 'mse', optimizer: 'adadelta' as Any }), error: /compile: expected optimizer to be one of .* but received "adadelta"/ },
  { title: 'compile: metrics a string', run: () => denseModel().compile({ loss: 'mse', metrics: 'accuracy' as Any }), error: /compile: expected metrics to be an array of metric names or Metric objects but received "accuracy"/ },
  { title: 'compile: unknown metric', run: () => denseModel().compile({ loss: 'mse', metrics: ['f1'] }), error: /expected .*metric.* but received "f1"/ },
  { title: 'losses.Huber: delta 0', run: () => new losses.Huber({ delta: 0 }), error: /Huber: expected delta to be a number in \(0, Infinity\] but received 0/ },
  { title: 'metrics.AUC: unknown curve', run: () => new metrics.AUC({ curve: 'roc' as Any }), error: /AUC: expected curve to be one of 'ROC', 'PR' but received "roc"/ },
  { title: 'fit: sampleWeight of the wrong length', run: () => denseModel().fit(x(), y(), { sampleWeight: [1, 2], verbose: 0 }), error: /fit: expected sampleWeight of shape \[4\] \(one weight per sample\) but received shape \[2\]/ },
  { title: 'compile: unknown option', run: () => denseModel().compile({ loss: 'mse', lossWeight: [1] } as Any), error: /compile: expected options among optimizer, loss, metrics, lossWeights but received "lossWeight"/ },
  { title: 'Adam: learningRate NaN', run: () => new Adam({ learningRate: NaN }), error: /Adam: expected learningRate to be a number in .* but received NaN/ },
  { title: 'Adam: learningRate -1', run: () => new Adam({ learningRate: -1 }), error: /Adam: expected learningRate .* but received -1/ },
  { title: 'Adam: beta1 1.5', run: () => new Adam({ beta1: 1.5 }), error: /Adam: expected beta1 .* but received 1.5/ },
  { title: 'SGD: momentum Infinity', run: () => new SGD({ momentum: Infinity }), error: /SGD: expected momentum .* but received Infinity/ },
  { title: 'RMSprop: rho string', run: () => new RMSprop({ rho: '0.9' as Any }), error: /RMSprop: expected rho .* but received "0.9"/ },
  { title: 'optimizer.learningRate = NaN', run: () => { new Adam().learningRate = NaN; }, error: /expected learningRate .* but received NaN/ },
  { title: 'SGD: two kinds of clipping', run: () => new SGD({ clipnorm: 1, globalClipnorm: 1 }), error: /SGD: expected only one of clipnorm, globalClipnorm and clipvalue but received "clipnorm and globalClipnorm"/ },
  { title: 'Adam: weightDecay NaN', run: () => new Adam({ weightDecay: NaN }), error: /Adam: expected weightDecay .* but received NaN/ },
  { title: 'Adam: learningRate a bad object', run: () => new Adam({ learningRate: { decaySteps: 10 } as Any }), error: /Adam: expected learningRate .* but received \{/ },
  { title: 'ExponentialDecay: decaySteps 0', run: () => new optimizers.schedules.ExponentialDecay(0.1, 0, 0.5), error: /ExponentialDecay: expected decaySteps .* but received 0/ },
  { title: 'CosineDecay: warmupSteps -1', run: () => new optimizers.schedules.CosineDecay(0.1, 10, { warmupTarget: 1, warmupSteps: -1 }), error: /CosineDecay: expected warmupSteps .* but received -1/ },
  { title: 'learningRate set on a schedule', run: () => { new SGD({ learningRate: new optimizers.schedules.InverseTimeDecay(0.1, 1, 1) }).learningRate = 0.5; }, error: /SGD: the learning rate follows the InverseTimeDecay schedule and cannot be set/, order: true },

  // ---- fit / evaluate / predict: order ----
  { title: 'fit before compile', run: () => new Sequential([new Dense(2, { inputShape: [3] })]).fit(x(), y(), { verbose: 0 }), error: /fit: the model must be compiled first; call compile\(\{optimizer, loss\}\)/, order: true },
  { title: 'evaluate before compile', run: () => new Sequential([new Dense(2, { inputShape: [3] })]).evaluate(x(), y(), { verbose: 0 }), error: /evaluate: the model must be compiled first/, order: true },
  { title: 'trainOnBatch before compile', run: () => new Sequential([new Dense(2, { inputShape: [3] })]).trainOnBatch(x(), y()), error: /trainOnBatch: the model must be compiled first/, order: true },
  { title: 'testOnBatch before compile', run: () => new Sequential([new Dense(2, { inputShape: [3] })]).testOnBatch(x(), y()), error: /testOnBatch: the model must be compiled first/, order: true },
  { title: 'predict on a model without layers', run: () => new Sequential().predict(x()), error: /predict: the model has no layers; add some first/, order: true },

  // ---- fit options ----
  { title: 'fit: epochs 0', run: () => denseModel().fit(x(), y(), { epochs: 0, verbose: 0 }), error: /fit: expected epochs to be a positive integer but received 0/ },
  { title: 'fit: epochs NaN', run: () => denseModel().fit(x(), y(), { epochs: NaN, verbose: 0 }), error: /fit: expected epochs to be a positive integer but received NaN/ },
  { title: 'fit: epochs Infinity', run: () => denseModel().fit(x(), y(), { epochs: Infinity, verbose: 0 }), error: /fit: expected epochs to be a positive integer but received Infinity/ },
  { title: 'fit: batchSize 0', run: () => denseModel().fit(x(), y(), { batchSize: 0, verbose: 0 }), error: /fit: expected batchSize to be a positive integer but received 0/ },
  { title: 'fit: batchSize 2.5', run: () => denseModel().fit(x(), y(), { batchSize: 2.5, verbose: 0 }), error: /fit: expected batchSize to be a positive integer but received 2.5/ },
  { title: 'fit: batchSize Infinity', run: () => denseModel().fit(x(), y(), { batchSize: Infinity, verbose: 0 }), error: /fit: expected batchSize to be a positive integer but received Infinity/ },
  { title: 'fit: verbose 3', run: () => denseModel().fit(x(), y(), { verbose: 3 as Any }), error: /fit: expected verbose to be 0, 1 or 2 but received 3/ },
  { title: 'fit: shuffle string', run: () => denseModel().fit(x(), y(), { shuffle: 'yes' as Any, verbose: 0 }), error: /fit: expected shuffle to be a boolean but received "yes"/ },
  { title: 'fit: validationSplit 1', run: () => denseModel().fit(x(), y(), { validationSplit: 1, verbose: 0 }), error: /fit: expected validationSplit to be a number in \[0, 1\) but received 1/ },
  { title: 'fit: validationSplit NaN', run: () => denseModel().fit(x(), y(), { validationSplit: NaN, verbose: 0 }), error: /fit: expected validationSplit .* but received NaN/ },
  { title: 'fit: validationSplit leaving no training samples', run: () => denseModel().fit(x(), y(), { validationSplit: 0.9, verbose: 0 }), error: /fit: expected a validationSplit that leaves samples on both sides of 4 but received 0.9/ },
  { title: 'fit: validationData one tensor', run: () => denseModel().fit(x(), y(), { validationData: zeros([2, 3]) as Any, verbose: 0 }), error: /fit: expected validationData to be \[x, y\], \[x, y, sampleWeight\] or a data iterator but received a Tensor/ },
  { title: 'fit: validationData of another shape', run: () => denseModel().fit(x(), y(), { validationData: [zeros([2, 5]), zeros([2, 2])], verbose: 0 }), error: /fit validationData: expected input of shape \[\*, 3\] but received \[2, 5\]/ },
  { title: 'fit: stepsPerEpoch -1', run: () => denseModel().fit(x(), y(), { stepsPerEpoch: -1, verbose: 0 }), error: /fit: expected stepsPerEpoch to be a positive integer but received -1/ },
  { title: 'fit: initialEpoch NaN', run: () => denseModel().fit(x(), y(), { initialEpoch: NaN, verbose: 0 }), error: /fit: expected initialEpoch to be a non-negative integer but received NaN/ },
  { title: 'fit: callbacks not an array', run: () => denseModel().fit(x(), y(), { callbacks: new EarlyStopping() as Any, verbose: 0 }), error: /fit: expected callbacks to be an array of callback objects but received a EarlyStopping/ },
  { title: 'fit: classWeight NaN', run: () => denseModel().fit(x(), y(), { classWeight: { 0: NaN }, verbose: 0 }), error: /fit: expected classWeight\[0\] to be a number in \[0, Infinity\] but received NaN/ },
  { title: 'fit: classWeight key', run: () => denseModel().fit(x(), y(), { classWeight: { cat: 1 }, verbose: 0 }), error: /fit: expected classWeight keys to be class indices but received "cat"/ },
  { title: 'fit: signal not an AbortSignal', run: () => denseModel().fit(x(), y(), { signal: {} as Any, verbose: 0 }), error: /fit: expected signal to be an AbortSignal but received \{\}/ },
  { title: 'fit: unknown option', run: () => denseModel().fit(x(), y(), { epoch: 3, verbose: 0 } as Any), error: /fit: expected options among .* but received "epoch"/ },
  { title: 'fit: options not an object', run: () => denseModel().fit(x(), y(), 5 as Any), error: /fit: expected options to be an options object but received 5/ },

  // ---- fit / predict data ----
  { title: 'fit: y missing', run: () => denseModel().fit(x()), error: /fit: expected targets y after the inputs x .* but received undefined/ },
  { title: 'fit: y with fewer samples', run: () => denseModel().fit(x(), zeros([3, 2]), { verbose: 0 }), error: /fit: expected y with as many samples as x \(4\) but received shape \[3, 2\]/ },
  { title: 'fit: x of another shape', run: () => denseModel().fit(zeros([4, 5]), y(), { verbose: 0 }), error: /fit: expected input of shape \[\*, 3\] but received \[4, 5\]/ },
  { title: 'fit: x a string', run: () => denseModel().fit('data' as Any, y(), { verbose: 0 }), error: /fit: x: tensor: expected values as a typed array.* but received "data"/ },
  { title: 'fit: empty batch', run: () => denseModel().fit(zeros([0, 3]), zeros([0, 2]), { verbose: 0 }), error: /fit: expected x with at least one sample but received an empty batch/ },
  { title: 'fit: disposed x', run: () => denseModel().fit(disposed([4, 3]), y(), { verbose: 0 }), error: /fit: expected x to be a live Tensor but received a disposed Tensor/ },
  { title: 'fit: disposed y', run: () => denseModel().fit(x(), disposed([4, 2]), { verbose: 0 }), error: /fit: expected y to be a live Tensor but received a disposed Tensor/ },
  { title: 'fit: bool x', run: () => denseModel().fit(zeros([4, 3], 'bool'), y(), { verbose: 0 }), error: /fit: expected x of a numeric dtype but received "bool"/ },
  { title: 'fit: labels of the wrong width', run: () => denseModel().fit(x(), zeros([4, 5]), { verbose: 0 }), error: /mse: expected labels y of shape \[4, 2\] but received \[4, 5\]/ },
  { title: 'fit: sparse labels out of range', run: () => denseModel('sparse_categorical_crossentropy').fit(x(), tensor([0, 1, 5, 7]), { verbose: 0 }), error: /sparse_categorical_crossentropy: expected class indices in \[0, 1\] but received values from 0 to 7/ },
  { title: 'fit: NaN in the data', run: () => denseModel().fit(tensor(new Float32Array([NaN, 0, 0, 0, 0, 0]), [2, 3]), zeros([2, 2]), { verbose: 0 }), error: /fit: the loss became NaN at epoch 1, batch 1/, order: true },
  { title: 'predict: x of another shape', run: () => denseModel().predict(zeros([1, 4])), error: /predict: expected input of shape \[\*, 3\] but received \[1, 4\]/ },
  { title: 'predict: rank-1 x of the wrong size', run: () => new Sequential([new Conv2D(1, 1, { inputShape: [2, 2, 1] })]).predict(new Float32Array(6)), error: /predict: expected x with a multiple of 4 values .* but received 6 values/ },
  { title: 'predict: scalar x', run: () => denseModel().predict(3), error: /predict: expected x with a batch axis \(rank 2 or more\) but received shape \[\]/ },
  { title: 'predict: empty batch', run: () => denseModel().predict(zeros([0, 3])), error: /predict: expected x with at least one sample but received an empty batch/ },
  { title: 'predict: disposed x', run: () => denseModel().predict(disposed([1, 3])), error: /predict: expected x to be a live Tensor but received a disposed Tensor/ },
  { title: 'predict: batchSize 0', run: () => denseModel().predict(zeros([1, 3]), { batchSize: 0 }), error: /predict: expected batchSize to be a positive integer but received 0/ },
  { title: 'predict: steps NaN', run: () => denseModel().predict(zeros([1, 3]), { steps: NaN }), error: /predict: expected steps to be a positive integer but received NaN/ },
  { title: 'predictOnBatch: int64 x', run: () => denseModel().predictOnBatch(zeros([1, 3], 'int64')), error: /predictOnBatch: expected x of a numeric dtype but received "int64"/ },
  { title: 'evaluate: y missing', run: () => denseModel().evaluate(x()), error: /evaluate: expected targets y after the inputs x but received undefined/ },
  { title: 'evaluate: unknown option', run: () => denseModel().evaluate(x(), y(), { batch: 2 } as Any), error: /evaluate: expected options among .* but received "batch"/ },
  { title: 'trainOnBatch: disposed y', run: () => denseModel().trainOnBatch(x(), disposed([4, 2])), error: /trainOnBatch: expected y to be a live Tensor but received a disposed Tensor/ },
  { title: 'setWeights: not an array', run: () => denseModel().setWeights(zeros([3, 2]) as Any), error: /setWeights: expected an array of tensors but received a Tensor/ },
  { title: 'setWeights: wrong count', run: () => denseModel().setWeights([zeros([3, 2])]), error: /setWeights: expected 2 weight tensors but received 1 tensors/ },
  { title: 'setWeights: wrong shape', run: () => denseModel().setWeights([zeros([2, 3]), zeros([2])]), error: /setWeights: expected weights\[0\] \(kernel\) of shape \[3, 2\] but received shape \[2, 3\]/ },
  { title: 'setWeights: disposed tensor', run: () => denseModel().setWeights([disposed([3, 2]), zeros([2])]), error: /setWeights: expected weights\[0\] to be a live Tensor but received a disposed Tensor/ },

  // ---- persistence ----
  { title: 'save: path a number', run: () => denseModel().save(3 as Any), error: /save: expected a file path but received 3/ },
  { title: 'save: into a missing folder', run: () => denseModel().save('/nonexistent-folder/model.safetensors'), error: /\/nonexistent-folder\/model.safetensors: cannot write the model file \(ENOENT in \/nonexistent-folder\)/, io: true },
  { title: 'loadModel: empty path', run: () => loadModel(''), error: /loadModel: expected a file path or a Buffer of a saved model but received ""/ },
  { title: 'loadModel: missing file', run: () => loadModel('/nonexistent-folder/model.safetensors'), error: /\/nonexistent-folder\/model.safetensors: cannot read the model file: ENOENT/, io: true },
  { title: 'loadTorchScript: empty path', run: () => loadTorchScript(''), error: /loadTorchScript: expected a TorchScript file path or a Buffer of one but received ""/ },
  { title: 'loadTorchScript: missing file', run: () => loadTorchScript('/nonexistent-folder/model.pt'), error: /loadTorchScript: cannot read "\/nonexistent-folder\/model.pt": no such file \(ENOENT\)/, io: true },
  { title: 'loadTorchScript: inputFormat', run: () => loadTorchScript('/nonexistent-folder/model.pt', { inputFormat: 'channels_last' as Any }), error: /loadTorchScript: expected inputFormat to be one of 'NCHW', 'NHWC' but received "channels_last"/ },
  { title: 'loadTorchScript: unknown option', run: () => loadTorchScript('/nonexistent-folder/model.pt', { dataFormat: 'NHWC' } as Any), error: /loadTorchScript: .*dataFormat/ },
  { title: 'loadWeights: path undefined', run: () => denseModel().loadWeights(undefined as Any), error: /loadWeights: expected a file path or a Buffer of a saved model but received undefined/ },

  // ---- callbacks ----
  { title: 'EarlyStopping: patience -1', run: () => new EarlyStopping({ patience: -1 }), error: /EarlyStopping: expected patience to be a non-negative integer but received -1/ },
  { title: 'EarlyStopping: mode', run: () => new EarlyStopping({ mode: 'up' as Any }), error: /EarlyStopping: expected mode to be one of .* but received "up"/ },
  { title: 'ReduceLROnPlateau: factor 1', run: () => new ReduceLROnPlateau({ factor: 1 }), error: /ReduceLROnPlateau: expected factor .* but received 1/ },
  { title: 'ModelCheckpoint: .h5 path', run: () => new ModelCheckpoint('model.h5'), error: /ModelCheckpoint: expected filepath to be a path ending in .safetensors but received "model.h5"/ },
  { title: 'CSVLogger: no path', run: () => new CSVLogger(undefined as Any), error: /CSVLogger: expected .* but received undefined/ },
  { title: 'TerminateOnNaN: options', run: () => new TerminateOnNaN({ monitor: 'loss' } as Any), error: /TerminateOnNaN: expected .* but received/ },

  // ---- runtime ----
  { title: 'setNumThreads: 0', run: () => setNumThreads(0), error: /setNumThreads: expected threads to be a positive integer but received 0/ },
  { title: 'setNumThreads: NaN', run: () => setNumThreads(NaN), error: /setNumThreads: expected threads to be a positive integer but received NaN/ },
  { title: 'setSeed: NaN', run: () => setSeed(NaN), error: /setSeed: expected seed to be a non-negative integer but received NaN/ },
  { title: 'setSeed: -1', run: () => setSeed(-1), error: /setSeed: expected seed to be a non-negative integer but received -1/ },
  { title: 'setDevice: tpu', run: () => setDevice('tpu'), error: /setDevice: expected a usable device .* but received "tpu"|setDevice: expected a usable device .*'tpu'/ },

  // ---- image preprocessing ----
  { title: 'ImageDataGenerator: rotationRange NaN', run: () => new ImageDataGenerator({ rotationRange: NaN }), error: /ImageDataGenerator: expected rotationRange .* but received NaN/ },
  { title: 'ImageDataGenerator: zoomRange -1', run: () => new ImageDataGenerator({ zoomRange: -1 }), error: /ImageDataGenerator: expected zoomRange .* but received -1/ },
  { title: 'ImageDataGenerator: unknown option', run: () => new ImageDataGenerator({ rescal: 1 } as Any), error: /ImageDataGenerator: expected options among .* but received "rescal"/ },
  { title: 'ImageDataGenerator: fillMode', run: () => new ImageDataGenerator({ fillMode: 'mirror' as Any }), error: /ImageDataGenerator: expected fillMode to be one of .* but received "mirror"/ },
  { title: 'flowFromDirectory: missing folder', run: () => new ImageDataGenerator().flowFromDirectory('/nonexistent-folder'), error: /flowFromDirectory: .*\/nonexistent-folder/ },
  { title: 'flowFromDirectory: targetSize [0, 0]', run: () => new ImageDataGenerator().flowFromDirectory(__dirname, { targetSize: [0, 0] }), error: /flowFromDirectory: expected targetSize .* but received \[0, 0\]/ },
  { title: 'flowFromDirectory: classMode', run: () => new ImageDataGenerator().flowFromDirectory(__dirname, { classMode: 'multi' as Any }), error: /flowFromDirectory: expected classMode to be one of .* but received "multi"/ },
  { title: 'flow: x rank 2', run: () => new ImageDataGenerator().flow(zeros([2, 3]), zeros([2])), error: /flow: expected .* but received/ },
  { title: 'loadImg: path a number', run: () => loadImg(5 as Any), error: /loadImg: expected .* but received 5/ },
  { title: 'loadImg: targetSize NaN', run: () => loadImg(__filename, { targetSize: [NaN, 2] }), error: /loadImg: expected targetSize .* but received \[NaN, 2\]/ },
  { title: 'loadImg: colorMode', run: () => loadImg(__filename, { colorMode: 'cmyk' as Any }), error: /loadImg: expected colorMode to be one of .* but received "cmyk"/ },
];

/** Runs a case and returns what it threw or rejected with (undefined when it succeeded). */
async function outcome(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('bad input across the public API', () => {
  test.each(cases.map((c) => [c.title, c] as const))('%s', async (_title, badCase) => {
    const error = await outcome(badCase.run);
    // Errors the addon throws come from the main realm, not the test sandbox's, so instanceof cannot be used.
    expect(Object.prototype.toString.call(error)).toBe('[object Error]');
    const message = (error as Error).message;
    expect(message).toMatch(badCase.error);
    // Every argument error reads "<where>: expected <what> but received <value>".
    if (!badCase.order && !badCase.io) expect(message).toMatch(/^[^:]+: .*expected .+ but received .+/s);
  });

  test('the table covers the API broadly', () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    expect(new Set(cases.map((c) => c.title)).size).toBe(cases.length);
  });
});
