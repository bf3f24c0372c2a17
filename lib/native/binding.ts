/**
 * The typed surface of the compiled addon (build/Release/keras_torch.node). Internal: lib/ wraps every
 * piece of it in validated, documented classes; users never see these names.
 */
export type NativeDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';
export type NativeTypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface NativeTensor {
  shape(): number[];
  dtype(): NativeDtype;
  device(): string;
  isDisposed(): boolean;
  dataSync(): NativeTypedArray;
  data(): Promise<NativeTypedArray>;
  reshape(shape: number[]): NativeTensor;
  narrow(start: number, length: number): NativeTensor;
  take(indices: NativeTensor): NativeTensor;
  to(device: string): NativeTensor;
  dispose(): void;
}

/** One entry of the layer list a NativeModel is built from (see native/layers.cc). */
export interface LayerSpec {
  kind: string;
  [option: string]: unknown;
}

export interface OptimizerSpec {
  name: 'adam' | 'adamw' | 'sgd' | 'rmsprop' | 'adagrad' | 'nadam' | 'adamax' | 'lion';
  /** The current rate (a schedule's value at step 0 until the native side follows the schedule). */
  learningRate: number;
  /** A learning-rate schedule's class name and config (lib/schedules.ts), evaluated natively at every step. */
  schedule?: { className: string; [option: string]: unknown };
  clipnorm?: number;
  globalClipnorm?: number;
  clipvalue?: number;
  weightDecay?: number;
  [option: string]: unknown;
}

/** A loss and its options (lib/losses.ts), as native/losses.h's LossSpec reads them. */
export interface LossSpec {
  name: string;
  fromLogits?: boolean;
  labelSmoothing?: number;
  delta?: number;
  gamma?: number;
  alpha?: number;
  applyClassBalancing?: boolean;
}

/** A metric and its options (lib/metrics.ts), as native/losses.h's MetricSpec reads them. */
export interface MetricSpec {
  kind: string;
  [option: string]: unknown;
}

/** What one model output is trained on. */
export interface OutputCompileSpec {
  /** Absent when the output has no loss (Keras's `None` for that output). */
  loss?: LossSpec;
  /** The output's weight in the total loss (Keras's loss_weights). */
  weight: number;
  metrics: MetricSpec[];
  /** 'sigmoid' or 'softmax' when the loss computes on the logits before the output's last activation. */
  foldedActivation: string;
}

export interface CompileSpec {
  optimizer: OptimizerSpec;
  /** One per model output. */
  outputs: OutputCompileSpec[];
}

/** A weight or activity regularizer's factors (lib/regularizers.ts): `l1 * sum(|x|) + l2 * sum(x²)`. */
export interface RegularizerSpec {
  l1: number;
  l2: number;
}

/**
 * A weight constraint (lib/constraints.ts), applied after each optimizer step. `axes` are non-negative,
 * on the weight's Keras layout; MaxNorm is a min_max_norm from 0 at rate 1.
 */
export type ConstraintSpec =
  | { kind: 'min_max_norm'; minValue: number; maxValue: number; rate: number; axes: number[] }
  | { kind: 'unit_norm'; axes: number[] }
  | { kind: 'non_neg' };

/** One weight of a layer as lib describes it to the native layer (lib/layers/layer.ts's WeightInfo, with its penalties). */
export interface NativeWeightInfo {
  name: string;
  shape: number[];
  trainable: boolean;
  regularizer?: RegularizerSpec;
  constraint?: ConstraintSpec;
}

/** One layer's torch::nn modules and weights; built once, shared by every model that uses the layer. */
export interface NativeLayer {
  /** Drops this object's hold on the weights now (models built on the layer keep theirs until disposed). */
  dispose(): void;
  /** Restarts the random streams of its Dropout and GaussianNoise modules at `seed` (native/layers.h's ReseedRandomStream). */
  reseedRandomStreams(seed: number): void;
  /** Sets its weights from Keras-layout values, in order (Normalization.adapt on a built layer). */
  setWeights(weights: NativeTensor[]): void;
}

/**
 * A model's graph (see native/graph.h): tensor ids 0..inputCount-1 are the model's inputs, node i writes
 * tensor inputCount + i and reads earlier ones.
 */
export interface GraphSpec {
  layers: NativeLayer[];
  /** `training`: this node always runs in training (true) or inference (false) mode. */
  nodes: { layer: number; inputs: number[]; training?: boolean }[];
  inputCount: number;
  outputs: number[];
}

export interface OptimizerParamState {
  step: number;
  tensors: Record<string, NativeTensor>;
}

export interface NativeModel {
  compile(spec: CompileSpec): void;
  /**
   * Resolves [loss, ...each output's loss when there are several, ...each output's metrics] for the batch;
   * the metrics stream over the steps of `metricStream` (one fit's training, one evaluation) since the
   * last one called with `resetMetrics`.
   */
  trainStep(xs: NativeTensor[], ys: (NativeTensor | null)[], sampleWeight: NativeTensor | null, metricStream: number, resetMetrics: boolean): Promise<number[]>;
  evaluateStep(xs: NativeTensor[], ys: (NativeTensor | null)[], sampleWeight: NativeTensor | null, metricStream: number, resetMetrics: boolean): Promise<number[]>;
  /** Drops a finished stream's metric totals. */
  releaseMetrics(metricStream: number): void;
  /** One tensor per output. */
  predict(xs: NativeTensor[]): Promise<NativeTensor[]>;
  /**
   * Each output's sample shape for inputs of these sample shapes, from one forward of a sample of zeros on
   * the JS thread (for what lib cannot infer itself: a TorchScript module's output units).
   */
  outputShapes(inputShapes: number[][]): number[][];
  /** One flag per graph layer: a frozen layer gets no gradient and its BatchNormalization runs in inference mode. */
  setTrainable(flags: boolean[]): void;
  /** Frees the graph's hold on its layers and the optimizer's state; later calls throw. */
  dispose(): void;
  /** Copies of the weights in Keras's layouts, or libtorch's with `torchLayout`. */
  getWeights(torchLayout?: boolean): NativeTensor[];
  setWeights(weights: NativeTensor[], torchLayout?: boolean): void;
  /** Per weight: the optimizer's state, or null where it holds none. */
  getOptimizerState(): (OptimizerParamState | null)[];
  setOptimizerState(state: (OptimizerParamState | null)[]): void;
  to(device: string): void;
  device(): string;
  getLearningRate(): number;
  setLearningRate(learningRate: number): void;
  /** The training updates applied since compile (Keras's optimizer.iterations). */
  getIterations(): number;
  /** Restores the count (a schedule continues from it). */
  setIterations(iterations: number): void;
}

/** One parameter or buffer of a TorchScript module, in state_dict's order and layout. */
export interface NativeTorchScriptWeight {
  /** state_dict's name: `layer1.0.bn1.running_mean`. */
  name: string;
  shape: number[];
  /** A parameter that requires grad (buffers and parameters frozen in Python before saving do not). */
  trainable: boolean;
  /** A parameter rather than a buffer. */
  parameter: boolean;
}

/** A loaded TorchScript module (native/torchscript.h): the model that runs it and what lib needs of its forward. */
export interface NativeTorchScript {
  model: NativeModel;
  /** The module's class name: `ResNet`. */
  typeName: string;
  /** forward's Tensor arguments, self excluded: one per model input. */
  inputNames: string[];
  outputCount: number;
  /** forward returns a tuple (predict returns an array), rather than a Tensor. */
  returnsTuple: boolean;
  /** Every parameter and buffer. */
  weights: NativeTorchScriptWeight[];
  /** The top-level module's children, in order: `{ name: 'layer1', typeName: 'Sequential' }`. */
  children: { name: string; typeName: string }[];
}

export interface NativeBackendInfo {
  libtorchVersion: string;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  cudnnAvailable: boolean;
  cudaLibrary: CudaLibraryInfo;
  numThreads: number;
  parallelInfo: string;
  buildConfig: string;
  cxx11Abi: boolean;
  cpuMemory: CpuMemoryInfo;
}

/**
 * A CUDA libtorch's libtorch_cuda, which the addon loads itself (native/runtime.cc) so that the CPU works where
 * it cannot load (Debian's without cuDNN).
 */
export interface CudaLibraryInfo {
  /** Built against a CUDA libtorch. */
  build: boolean;
  loaded: boolean;
  /** The file it loads or tried to load; empty for a CPU build. */
  path: string;
  /** Why CUDA is off although this is a CUDA build (what failed and what to install); empty otherwise. */
  problem: string;
}

/** libtorch's CPU tensor memory, as native/cpu_allocator.cc keeps it. */
export interface CpuMemoryInfo {
  /** false when KERAS_TORCH_CPU_CACHE_MB=0 left libtorch's own allocator in place. */
  caching: boolean;
  /** Bytes of large blocks (128 KB and up) held by live tensors. */
  inUseBytes: number;
  /** Bytes of large blocks freed and kept for the next tensors of about their size. */
  cachedBytes: number;
  cacheLimitBytes: number;
  /** Large allocations served from the cache, and those that had to map new memory. */
  reused: number;
  fresh: number;
  /** Small blocks (under 128 KB, from malloc) held by live tensors. */
  smallBlocksInUse: number;
}

/** native/distributed.cc: c10d's TCPStore rendezvous and Gloo process group. */
export interface NativeDistributed {
  init(options: { rank: number; worldSize: number; address: string; port: number; timeoutMs: number }): Promise<void>;
  barrier(): Promise<void>;
  broadcastModel(model: NativeModel): Promise<void>;
  allreduceMean(values: Float64Array): Promise<Float64Array>;
  destroy(): void;
}

/** native/augment.cc's options (lib/preprocessing/image-data-generator.ts fills them). */
export interface NativeAugmentOptions {
  fillMode: 'nearest' | 'constant' | 'reflect' | 'wrap';
  cval: number;
  /** 0: none. */
  rescale: number;
  samplewiseCenter: boolean;
  samplewiseStdNormalization: boolean;
  /** Featurewise statistics, one value per channel; null: none. */
  mean: Float32Array | null;
  std: Float32Array | null;
}

export interface NativeDecodeOptions {
  height: number;
  width: number;
  /** 1 (grayscale), 3 (rgb) or 4 (rgba). */
  channels: number;
  /** Resizing other than 'nearest' is declined (the file is left to sharp). */
  interpolation: string;
  /** Declines files that would need resizing (the centre crop is left to sharp). */
  keepAspectRatio: boolean;
}

export interface NativeDecodeResult {
  /** n images [height, width, channels], channels-last; zeros where not decoded. */
  pixels: Uint8Array;
  /**
   * Per file (native/jpeg_decode.h's DecodeStatus): 1 decoded; 0 declined, to be decoded with sharp (not a
   * JPEG, a libjpeg error, CMYK, an ICC profile...); 2 truncated; 3 more pixels than PIL's bomb limit.
   */
  decoded: Uint8Array;
}

export interface NativeBinding {
  NativeTensor: new (data: NativeTypedArray, shape: number[], dtype: NativeDtype) => NativeTensor;
  /** `weights` names the modules' weights, in order (the native side checks their shapes against it). */
  NativeLayer: new (
    specs: LayerSpec[],
    trainable: boolean,
    weights: NativeWeightInfo[],
    activityRegularizer: RegularizerSpec | null,
  ) => NativeLayer;
  NativeModel: new (graph: GraphSpec, device: string) => NativeModel;
  concat(tensors: NativeTensor[]): NativeTensor;
  /** A learning-rate schedule's value at a step (see lib/schedules.ts). */
  scheduleLearningRate(spec: { className: string }, step: number): number;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  setSeed(seed: number): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  /** Normalises a device string ('cuda' -> 'cuda', 'cuda:1'), throwing when it is unusable here. */
  checkDevice(device: string): string;
  backendInfo(): NativeBackendInfo;
  /** Lets the running step finish and drops the queued ones: called once, as the process exits. */
  stopComputeForExit(): void;
  distributed: NativeDistributed;
  /**
   * Transforms a batch of channels-last images [n, h, w, c] off the event loop and resolves a float32
   * tensor of the same shape. `params` holds PARAMS_PER_IMAGE values per image (lib/preprocessing/native.ts),
   * or null for none.
   */
  augmentImages(
    pixels: Uint8Array | Float32Array,
    shape: [number, number, number, number],
    params: Float64Array | null,
    options: NativeAugmentOptions,
  ): Promise<NativeTensor>;
  /**
   * Reads a TorchScript file (or its bytes) off the event loop; `channelsLast`: 4-D inputs arrive NHWC and
   * are permuted to NCHW for forward, 4-D outputs go back to NHWC.
   */
  loadTorchScript(source: string | Uint8Array, channelsLast: boolean, device: string): Promise<NativeTorchScript>;
  /** The module of a model loadTorchScript made, with its current weights, as a TorchScript file's bytes (eval mode). */
  saveTorchScript(model: NativeModel): Promise<Buffer>;
  /** The mean and population variance over `axes`, in float64 (native/preprocessing.cc). */
  moments(tensor: NativeTensor, axes: number[]): Promise<[NativeTensor, NativeTensor]>;
  /** Present when the addon was built with libjpeg (native/image_decode.cc). */
  decodeImageFiles?(paths: string[], options: NativeDecodeOptions): Promise<NativeDecodeResult>;
  /** decodeImageFiles for encoded images in memory; with `scale`, float32 `values` (pixels times it) instead of `pixels`. Absent without libjpeg. */
  decodeImageBuffers?(buffers: Uint8Array[], options: NativeDecodeOptions & { scale?: number }): Promise<NativeBufferDecodeResult>;
}

export interface NativeBufferDecodeResult {
  /** Without a scale: n images [height, width, channels], channels-last; zeros where not decoded. */
  pixels?: Uint8Array;
  /** With a scale: the same, as float32 values times the scale. */
  values?: Float32Array;
  /** Per buffer, as NativeDecodeResult's. */
  decoded: Uint8Array;
}
