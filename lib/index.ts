/**
 * keras-torch: the Keras API on libtorch, for Node.js and TypeScript.
 */
export { Tensor, tensor, zeros, ones, expandDims, concat, DType, TypedArray, TensorLike, NestedArray } from './tensor';
export { ValueError } from './errors';
export * from './layers';
export { Model, ModelArgs, PredictionOf, TensorStructure } from './models/model';
export type { ExportOptions } from './interop/onnx-export';
export type { FunctionalConfig } from './models/functional';
export { Sequential, SequentialArgs, loadModel } from './models/sequential';
export { Predictor, PredictorOptions, PredictorStats } from './models/predictor';
export { loadLayersModel, LayersModelArtifacts, LayersModelSource, LayersWeightSpec } from './interop/tfjs-layers';
export type { ImageBatchOptions } from './preprocessing/image-buffers';
export {
  CompileArgs,
  LossIdentifier,
  MetricIdentifier,
  MetricsIdentifier,
  SampleWeight,
  OnBatchArgs,
  FitArgs,
  FitGeneratorArgs,
  EvaluateArgs,
  PredictArgs,
  ClassWeight,
} from './training/trainer';
export { DataLike } from './training/data-adapter';
export {
  Optimizer,
  Adam,
  AdamArgs,
  AdamW,
  AdamWArgs,
  SGD,
  SGDArgs,
  RMSprop,
  RMSpropArgs,
  Adagrad,
  AdagradArgs,
  Nadam,
  NadamArgs,
  Adamax,
  AdamaxArgs,
  Lion,
  LionArgs,
  BaseOptimizerArgs,
  OptimizerIdentifier,
  getOptimizer,
} from './optimizers';
export * as optimizers from './optimizers';
export { LearningRateSchedule } from './schedules';
export { LOSSES, LossName, Loss } from './losses';
export { Metric } from './metrics';
export * as losses from './losses';
export * as metrics from './metrics';
export { ACTIVATIONS, ActivationName } from './activations';
export { INITIALIZERS, InitializerName, InitializerConfig } from './initializers';
export { Regularizer, RegularizerIdentifier, SerializedRegularizer } from './regularizers';
export * as regularizers from './regularizers';
export { Constraint, ConstraintIdentifier, SerializedConstraint } from './constraints';
export * as constraints from './constraints';
export { Callback, CallbackHooks, History, Logs, TrainingParams } from './callbacks/callback';
export { ProgressLogger } from './callbacks/progress';
export * from './callbacks';
export { plotHistory, historyToSvg, PlotHistoryOptions, HistoryLike } from './plot';
export * from './preprocessing';
export { Batch, BatchData, BatchIterator } from './data';
export * as data from './data/public';
export { BatchSource } from './training/iterable-batches';
export * as distributed from './distributed';
export { device, setDevice, cuda, setNumThreads, getNumThreads, setSeed, backendInfo, BackendInfo } from './runtime';
export type { CpuMemoryInfo, CudaLibraryInfo } from './native/binding';
export { plotModel, modelToSvg, PlotModelOptions } from './models/plot-model';
export * as applications from './applications';
export { loadTorchScript, LoadTorchScriptOptions, TorchScriptInputFormat, TorchScriptModel } from './interop/torchscript';
