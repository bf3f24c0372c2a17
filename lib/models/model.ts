/**
 * Model: Keras's functional model, `new Model({inputs, outputs})` over layers applied to symbolic
 * tensors. It is a Layer too, so a model can be applied inside another (a pretrained base under a new
 * head) and shares its layers' weights with it. Its structure lives in ./functional.ts, training in
 * ../training/trainer.ts, files in ./persistence.ts; this class ties them together behind Keras's API.
 */
import type { CallbackModel, History, Logs } from '../callbacks/callback';
import type { BatchIterator } from '../data';
import type { BatchSource } from '../training/iterable-batches';
import { described, invalidArgument, ValueError } from '../errors';
import { InputLayer } from '../layers/core';
import { ApplyOptions, Layer, WeightInfo } from '../layers/layer';
import { registerLayerFactory, layerFromConfig } from '../layers/registry';
import { isSymbolicTensor, SymbolicTensor } from '../layers/symbolic';
import type { LayerSpec, NativeModel } from '../native/binding';
import { loadBinding } from '../native/loader';
import type { Optimizer } from '../optimizers';
import { device as defaultDevice, usableDevice } from '../runtime';
import { Tensor, tensor, TensorLike } from '../tensor';
import type { DataLike } from '../training/data-adapter';
import { checkAlive } from '../training/data-adapter';
import {
  BuiltModel,
  OnBatchArgs,
  CompileArgs,
  EvaluateArgs,
  FitArgs,
  FitGeneratorArgs,
  PredictArgs,
  Trainer,
  TrainerHost,
} from '../training/trainer';
import { checkKnownOptions, checkPlainObject, formatShape } from '../validation';
import { FunctionalConfig, LeafLayer, TensorReference, Topology } from './functional';
import { ModelSource, readModelFile, restoreWeights, saveModelFile, sourceName, WeightedModel } from './persistence';
import type { StoredTensor } from '../io/safetensors';
import { formatSummary, SummaryRow } from './summary';
import { Predictor } from './predictor';
import { ImageBatchOptions, imagesToBatch } from '../preprocessing/image-buffers';
import { checkExportOptions, encodeOnnx, ExportOptions } from '../interop/onnx-export';
import { writeFileAtomically } from '../io/atomic-file';

export type TensorStructure = SymbolicTensor | SymbolicTensor[] | Record<string, SymbolicTensor>;

/** What predict returns for a model whose outputs were given as `O`: a Tensor, an array, or an object of them. */
export type PredictionOf<O> = O extends SymbolicTensor ? Tensor : O extends SymbolicTensor[] ? Tensor[] : Record<string, Tensor>;

export interface ModelArgs<O extends TensorStructure = TensorStructure> {
  /** The model's inputs: tensors made by `Input()`, one, an array, or an object keyed by name. */
  inputs: TensorStructure;
  /** The tensors the model computes: one, an array, or an object keyed by name (predict returns the same shape). */
  outputs: O;
  name?: string;
  /** Default true. False freezes every layer of the model. */
  trainable?: boolean;
}

interface Built extends BuiltModel {
  graphLayers: Layer[];
}

export class Model<O extends TensorStructure = TensorStructure> extends Layer implements TrainerHost, WeightedModel, CallbackModel {
  readonly className: string = 'Functional';
  /** Class name -> label index of the data the model was trained on, when the data knew them; saved with the model. */
  classIndices?: Record<string, number>;
  /** Set by a callback to end fit after the current epoch. */
  stopTraining = false;
  /** @internal */
  protected readonly trainer: Trainer = new Trainer(this);
  private topologyCache?: Topology;
  private built_?: Built;
  private disposed = false;
  private targetDevice?: string;
  private outputForm: 'single' | 'array' | 'object' = 'single';
  private batcher?: Predictor<PredictionOf<O>>;

  constructor(args: ModelArgs<O>) {
    const subclass = new.target !== Model;
    checkPlainObject('Model', 'options', args);
    checkKnownOptions('Model', args, ['inputs', 'outputs', 'name', 'trainable']);
    super({ name: args.name, trainable: args.trainable }, subclass ? new.target.name : 'Functional');
    if (subclass && args.inputs === undefined) return;
    const inputs = structureList('Model', 'inputs', args.inputs);
    const outputs = structureList('Model', 'outputs', args.outputs);
    this.outputForm = isSymbolicTensor(args.outputs) ? 'single' : Array.isArray(args.outputs) ? 'array' : 'object';
    this.graph = new Topology(`Model '${this.name}'`, inputs, outputs);
    if (args.trainable === false) this.trainable = false;
  }

  // ---- structure ---------------------------------------------------------------------------------

  /** @internal The structure; undefined only for a Sequential that does not know its input shape yet. */
  protected get graph(): Topology | undefined {
    if (!this.topologyCache) this.topologyCache = this.makeTopology();
    return this.topologyCache;
  }
  protected set graph(topology: Topology | undefined) {
    this.topologyCache = topology;
  }

  /** @internal Makes the structure on first use, where it is not given at construction (Sequential). */
  protected makeTopology(): Topology | undefined {
    return undefined;
  }

  /** @internal The structure (nested models expand through it). */
  get topology(): Topology {
    if (!this.graph) throw new ValueError(`${this.name}: the model does not know its input shape yet; give the first layer an inputShape or call fit/predict first`);
    return this.graph;
  }

  /** Keras's `model.layers`: input layers first (a functional model), then the rest deepest first. */
  get layers(): Layer[] {
    return this.graph ? [...this.graph.layers] : [];
  }

  /** The symbolic tensors the model reads. */
  get inputs(): SymbolicTensor[] {
    return [...this.topology.inputs];
  }

  /** The symbolic tensors the model computes. */
  get outputs(): SymbolicTensor[] {
    return [...this.topology.outputs];
  }

  /** The names fit, evaluate and predict key inputs by (the Input layers' names). */
  get inputNames(): string[] {
    return this.graph ? this.graph.inputs.map((t) => t.sourceLayer.name) : ['input'];
  }

  /** The names compile and logs key outputs by (the layers that produce them, as Keras names them). */
  get outputNames(): string[] {
    if (!this.graph) return ['output'];
    const names = this.graph.outputs.map((t) => t.sourceLayer.name);
    // The same layer producing two outputs: Keras suffixes the later ones.
    return names.map((name, i) => (names.indexOf(name) === i ? name : `${name}_${i}`));
  }

  /** @internal */
  get outputStructure(): 'single' | 'array' | 'object' {
    return this.outputForm;
  }

  /** The input shape without the batch axis (a one-input model), once known. */
  get inputShape(): number[] | undefined {
    return this.knownInputShapes()?.[0];
  }

  /** The output shape without the batch axis (a one-output model), once known. */
  get outputShape(): number[] | undefined {
    return this.graph ? this.graph.outputs[0].sampleShape : undefined;
  }

  /** A layer by name or by its index in `layers`. */
  getLayer(nameOrIndex: string | number): Layer {
    const layers = this.layers;
    if (typeof nameOrIndex === 'number') {
      if (!Number.isInteger(nameOrIndex) || nameOrIndex < 0 || nameOrIndex >= layers.length) {
        throw invalidArgument('getLayer', `an index from 0 to ${layers.length - 1}`, nameOrIndex);
      }
      return layers[nameOrIndex];
    }
    const found = layers.find((layer) => layer.name === nameOrIndex);
    if (!found) throw invalidArgument('getLayer', `the name of one of the model's layers (${layers.map((l) => `'${l.name}'`).join(', ')})`, nameOrIndex);
    return found;
  }

  /** @internal */
  knownInputShapes(): number[][] | undefined {
    return this.graph?.inputs.map((t) => t.sampleShape);
  }

  // ---- a model as a layer ------------------------------------------------------------------------

  override get trainable(): boolean {
    return super.trainable;
  }
  /** Freezes (or unfreezes) the model and every layer in it, as Keras does; effective at the next step. */
  override set trainable(value: boolean) {
    super.trainable = value;
    for (const layer of this.graph?.layers ?? []) layer.trainable = value;
  }

  /** Applies the model to a symbolic tensor, as a layer: `const features = base.apply(x)`. One output only; see applyOutputs. */
  override apply(inputs: SymbolicTensor | SymbolicTensor[], options: ApplyOptions = {}): SymbolicTensor {
    const outputs = this.applyOutputs(inputs, options);
    if (outputs.length !== 1) {
      throw new ValueError(`Model '${this.name}'.apply: the model has ${outputs.length} outputs; use applyOutputs(), which returns them all`);
    }
    return outputs[0];
  }

  /** Applies the model to symbolic tensors and returns one symbolic tensor per output. */
  applyOutputs(inputs: SymbolicTensor | SymbolicTensor[], options: ApplyOptions = {}): SymbolicTensor[] {
    return this.connect(inputs, `Model '${this.name}'.apply`, options).outputs;
  }

  override get takesMultipleInputs(): boolean {
    return (this.graph?.inputs.length ?? 1) > 1;
  }

  /** @internal */
  override outputShapesFor(inputShapes: readonly (readonly number[])[]): number[][] {
    const expected = this.topology.inputs.map((t) => t.sampleShape);
    if (inputShapes.length !== expected.length || inputShapes.some((shape, i) => formatShape(shape) !== formatShape(expected[i]))) {
      throw invalidArgument(
        `Model '${this.name}'.apply`,
        `inputs of shape ${expected.map((s) => formatShape(s, null)).join(', ')}`,
        described(inputShapes.map((s) => formatShape(s, null)).join(', ')),
      );
    }
    return this.topology.outputs.map((t) => t.sampleShape);
  }

  override fixInputShapes(): void {
    // A model's layers fixed their own shapes when the model was made.
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return this.outputShapesFor([inputShape])[0];
  }

  toSpecs(): LayerSpec[] {
    throw new ValueError(`Model '${this.name}': a model is expanded into its layers, never built as one`);
  }

  /** Every weight of the model's layers, nested models included, in Keras's order. */
  override weightInfo(): WeightInfo[] {
    return this.graph ? this.graph.leafLayers().flatMap((leaf) => leaf.weights) : [];
  }

  override get finalActivation(): string {
    return this.graph && this.graph.outputs.length === 1 ? this.graph.finalActivation(0) : 'linear';
  }

  override getConfig(): Record<string, unknown> {
    return this.topology.config(this.name, this.trainable) as unknown as Record<string, unknown>;
  }

  /** Recreates a functional model from its config (Keras's `Model.from_config`). */
  static fromConfig(config: FunctionalConfig): Model {
    return functionalFromConfig(config);
  }

  // ---- the native model --------------------------------------------------------------------------

  /** @internal Builds the native model (once), compiling it when compile was called. */
  built(operation: string, inputShapes?: number[][]): Built {
    if (this.disposed) throw new ValueError(`${operation}: model '${this.name}' was disposed`);
    if (this.built_) return this.built_;
    this.prepareGraph(operation, inputShapes);
    const topology = this.topology;
    const { spec, graphLayers } = topology.graphSpec();
    for (const layer of graphLayers) layer.addUser(this);
    const native = new (loadBinding().NativeModel)(spec, this.targetDevice ?? defaultDevice());
    this.built_ = {
      native,
      graphLayers,
      outputShapes: topology.outputs.map((t) => t.sampleShape),
      finalActivations: topology.outputs.map((_, i) => topology.finalActivation(i)),
      weightShapes: topology.leafLayers().flatMap((leaf) => leaf.weights.map((w) => w.shape)),
      trainableFlags: () => graphLayers.map((layer) => layer.trainable),
    };
    this.trainer.onBuilt(this.built_);
    return this.built_;
  }

  /** @internal Makes the graph when it depends on data (a Sequential without an input shape overrides it). */
  protected prepareGraph(operation: string, _inputShapes?: number[][]): void {
    this.requireGraph(operation);
  }

  /** @internal Forgets the native model (after Sequential.add/pop); layers keep their weights. */
  protected invalidate(): void {
    this.built_ = undefined;
  }

  /** @internal What persistence needs: the native model and each weight's file name. */
  weightEntries(operation: string): { native: NativeModel; names: string[]; weights: WeightInfo[] } {
    return { native: this.built(operation).native, ...this.weightFileNames() };
  }

  /** @internal The file names of the weights, from the structure alone (before anything is built). */
  weightFileNames(): { names: string[]; weights: WeightInfo[] } {
    const leaves = this.topology.leafLayers();
    return { names: weightFileNames(leaves), weights: leaves.flatMap((leaf) => leaf.weights) };
  }

  /**
   * Frees the model's optimizer state and its layers' weights now, rather than when the garbage collector
   * gets to them (it does, and V8 is told what they hold). Weights that another model still uses (a shared
   * base) stay. Using the model afterwards is an error; disposing twice does nothing.
   */
  dispose(): void {
    if (this.disposed) return;
    if (this.trainer.isTraining) throw new ValueError(`dispose: model '${this.name}' is training; stop fit (its signal) and await it first`);
    this.disposed = true;
    const built = this.built_;
    this.built_ = undefined;
    if (!built) return;
    built.native.dispose();
    for (const layer of new Set(built.graphLayers)) layer.removeUser(this);
  }

  /** Whether dispose() was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The device the model lives on. */
  get device(): string {
    return this.built_?.native.device() ?? this.targetDevice ?? defaultDevice();
  }

  /** Moves the model (weights and optimizer state) to 'cpu', 'cuda' or 'cuda:N'. */
  to(device: string): this {
    const normalized = usableDevice('to', device);
    if (this.trainer.isTraining) throw new ValueError('to: the model is training; wait for fit to finish');
    this.targetDevice = normalized;
    this.built_?.native.to(normalized);
    return this;
  }

  // ---- training (../training/trainer.ts) ---------------------------------------------------------

  /** The optimizer, once compiled. */
  get optimizer(): Optimizer | undefined {
    return this.trainer.optimizer;
  }

  compile(args: CompileArgs): void {
    this.trainer.compile(args);
  }

  fit(x: DataLike | BatchIterator | BatchSource, y?: DataLike | FitArgs, args?: FitArgs): Promise<History> {
    return this.trainer.fit('fit', x, y, args);
  }

  /** Keras 1's fit_generator, as the seed tutorial calls it. */
  fitGenerator(iterator: BatchIterator, args: FitGeneratorArgs = {}): Promise<History> {
    return this.trainer.fitGenerator(iterator, args);
  }

  /** Loss (and metrics) on the given data: a number, or [loss, ...metrics] when there are metrics. */
  evaluate(x: DataLike | BatchIterator | BatchSource, y?: DataLike | EvaluateArgs, args?: EvaluateArgs): Promise<number | number[] | Logs> {
    return this.trainer.evaluate(x, y, args);
  }

  /** The model's outputs for all inputs, in batches: a Tensor, or one per output as the outputs were given. */
  predict(x: DataLike | BatchIterator | BatchSource, args: PredictArgs = {}): Promise<PredictionOf<O>> {
    return this.trainer.predict(x, args) as Promise<PredictionOf<O>>;
  }

  /** The model's outputs for one batch. */
  predictOnBatch(x: DataLike): Promise<PredictionOf<O>> {
    return this.trainer.predictOnBatch(x) as Promise<PredictionOf<O>>;
  }

  /**
   * predict through the model's own dynamic batcher (a `Predictor` with its defaults: batches of up to 32
   * rows, a 2 ms window): calls that arrive together run as one native predict, each getting its own rows.
   * For other settings, make a `new Predictor(model, { maxBatchSize, maxDelayMs })`.
   */
  predictBatched(x: DataLike): Promise<PredictionOf<O>> {
    if (!this.batcher) this.batcher = new Predictor<PredictionOf<O>>(this);
    return this.batcher.predict(x);
  }

  /**
   * The model's outputs for encoded images (JPEG or PNG Buffers, as HTTP bodies arrive): decoded, resized to
   * `targetSize` and converted to `colorMode` as loadImg does (both default to the model's input shape),
   * multiplied by `rescale`, in one native call off the event loop for JPEGs, then predicted.
   */
  async predictImages(buffers: Uint8Array[], options: ImageBatchOptions = {}): Promise<PredictionOf<O>> {
    const x = await imagesToBatch('predictImages', buffers, options, this.inputShape);
    return this.predict(x);
  }

  /** @internal For Predictor: one call's checked inputs. */
  predictionInputs(operation: string, x: DataLike): Tensor[] {
    if (this.disposed) throw new ValueError(`${operation}: model '${this.name}' was disposed`);
    return this.trainer.predictionInputs(operation, x);
  }

  /** @internal For Predictor: one native predict. */
  predictTensors(operation: string, xs: Tensor[]): Promise<Tensor[]> {
    return this.trainer.predictTensors(operation, xs);
  }

  /** @internal For Predictor: outputs in the form predict returns them. */
  structuredPrediction(outputs: Tensor[]): PredictionOf<O> {
    return this.trainer.structuredPrediction(outputs) as PredictionOf<O>;
  }

  /** One training step on one batch; resolves the loss, or [loss, ...metrics] with metrics. */
  trainOnBatch(x: DataLike, y: DataLike, args: OnBatchArgs = {}): Promise<number | number[]> {
    return this.trainer.trainOnBatch(x, y, args);
  }

  /** Loss (and metrics) on one batch, without training. */
  testOnBatch(x: DataLike, y: DataLike, args: Omit<OnBatchArgs, 'classWeight'> = {}): Promise<number | number[]> {
    return this.trainer.testOnBatch(x, y, args);
  }

  // ---- weights -----------------------------------------------------------------------------------

  /** Copies of every weight in Keras's order and layouts (Conv2D kernels [kh, kw, in, out]). */
  getWeights(): Tensor[] {
    return this.built('getWeights').native.getWeights().map((native) => new Tensor(native));
  }

  /** Sets every weight from Keras-layout values (the list getWeights returns). */
  setWeights(weights: (Tensor | TensorLike)[]): void {
    const built = this.built('setWeights');
    if (!Array.isArray(weights)) throw invalidArgument('setWeights', 'an array of tensors', weights);
    const expected = this.topology.leafLayers().flatMap((leaf) => leaf.weights);
    if (weights.length !== expected.length) {
      throw invalidArgument('setWeights', `${expected.length} weight tensors`, described(`${weights.length} tensors`));
    }
    const tensors = weights.map((w, i) => {
      checkAlive('setWeights', `weights[${i}]`, w);
      const t = w instanceof Tensor ? w : tensor(w as TensorLike);
      if (formatShape(t.shape, null) !== formatShape(expected[i].shape, null)) {
        throw invalidArgument('setWeights', `weights[${i}] (${expected[i].name}) of shape [${expected[i].shape.join(', ')}]`, described(`shape [${t.shape.join(', ')}]`));
      }
      return t.dtype === 'float32' ? t : tensor(t.dataSync(), [...t.shape], 'float32');
    });
    built.native.setWeights(tensors.map((t) => t.native));
  }

  /** The number of weights (trainable and not), as Keras counts them. */
  countParams(): number {
    this.requireGraph('countParams');
    return this.weightInfo().reduce((total, w) => total + size(w), 0);
  }

  /**
   * Prints Keras's table of layers, output shapes and parameter counts (with the layers each is connected
   * to, for a functional model) to console.log or `printFn`, and returns its text.
   */
  summary(args: { lineLength?: number; printFn?: (line: string) => void } = {}): string {
    const topology = this.requireGraph('summary');
    const connected = this.className !== 'Sequential';
    const rows: SummaryRow[] = this.summaryLayers().map((layer) => {
      const nodes = topology.nodesOf(layer);
      const shapes = nodes.map((node) => node.outputs.map((t) => t.sampleShape));
      return {
        name: layer.name,
        className: layer.className,
        outputShapes: shapes.length === 1 ? shapes[0] : 'multiple',
        params: layerWeights(layer).reduce((t, w) => t + size(w), 0),
        connectedTo: connected
          ? nodes.flatMap((node) => node.inputs.map((t) => `${t.sourceLayer.name}[${topology.nodesOf(t.sourceLayer).indexOf(t.node)}][${t.outputIndex}]`))
          : undefined,
      };
    });
    const all = this.weightInfo();
    const text = formatSummary(this.name, rows, {
      total: all.reduce((t, w) => t + size(w), 0),
      trainable: all.filter((w) => w.trainable).reduce((t, w) => t + size(w), 0),
    }, args.lineLength ?? (connected ? 108 : 80));
    (args.printFn ?? console.log)(text);
    return text;
  }

  /** @internal The layers summary lists. */
  protected summaryLayers(): Layer[] {
    return this.layers;
  }

  protected requireGraph(operation: string): Topology {
    if (!this.graph) {
      throw new ValueError(
        `${operation}: the model does not know its input shape yet; give the first layer an inputShape or call fit/predict first`,
      );
    }
    return this.graph;
  }

  // ---- files (./persistence.ts) ------------------------------------------------------------------

  /**
   * Writes the whole model to one .safetensors file: weights, optimizer state, config, class indices.
   * The write is atomic: an interrupted save leaves the previous file intact. Without a file, resolves the
   * same bytes as a Buffer (for an object store or a database); `loadModel(buffer)` reads them back.
   */
  save(): Promise<Buffer>;
  save(file: string): Promise<void>;
  async save(file?: string): Promise<void | Buffer> {
    if (file === undefined) return this.trainer.schedule(() => saveModelFile(this, undefined));
    checkFilePath('save', file);
    await this.trainer.schedule(() => saveModelFile(this, file));
  }

  /** Writes the weights alone (no optimizer state) to a .safetensors file, or resolves its bytes without a file. */
  saveWeights(): Promise<Buffer>;
  saveWeights(file: string): Promise<void>;
  async saveWeights(file?: string): Promise<void | Buffer> {
    if (file === undefined) return this.trainer.schedule(() => saveModelFile(this, undefined, { includeOptimizer: false }));
    checkFilePath('saveWeights', file);
    await this.trainer.schedule(() => saveModelFile(this, file, { includeOptimizer: false }));
  }

  /**
   * @internal Weights and optimizer state from a file save() wrote: what BackupAndRestore resumes from.
   * `savedNames` are the weights' names when it was saved: a model built again in the same process has
   * other automatic layer names (dense_3 for dense_1), so the weights are matched by position.
   */
  async restoreTrainingState(file: string, savedNames: string[]): Promise<void> {
    const loaded = await readModelFile(file);
    const { names } = this.weightFileNames();
    if (savedNames.length !== names.length) {
      throw new ValueError(`${file}: expected the ${names.length} weights of this model but the backup holds ${savedNames.length}`);
    }
    const current = new Map(savedNames.map((name, i) => [name, names[i]]));
    const renamed = new Map<string, StoredTensor>();
    for (const [key, value] of loaded.tensors) {
      const optimizerEntry = key.startsWith('optimizer/') ? key.slice('optimizer/'.length, key.lastIndexOf('/')) : undefined;
      if (optimizerEntry !== undefined && current.has(optimizerEntry)) renamed.set(`optimizer/${current.get(optimizerEntry)}${key.slice(key.lastIndexOf('/'))}`, value);
      else renamed.set(current.get(key) ?? key, value);
    }
    await this.trainer.schedule(async () => restoreWeights(this, file, { ...loaded, tensors: renamed }, { optimizer: true }));
  }

  /** Loads weights saved by save() or saveWeights() (a file, or the Buffer they resolved) from a model with the same layers. */
  async loadWeights(source: ModelSource): Promise<void> {
    checkModelSource('loadWeights', source);
    const loaded = await readModelFile(source);
    await this.trainer.schedule(async () => restoreWeights(this, sourceName(source), loaded, { optimizer: false }));
  }

  /**
   * Writes the model's inference graph and weights as an ONNX file (Keras 3's `export(filepath, format:
   * 'onnx')`) that ONNX runtimes run with predict's results: channels-last inputs as the model takes them,
   * named as the model's inputs, a dynamic batch axis, and the model's outputs under its output names.
   * Atomic, as save(); without a file, resolves the file's bytes as a Buffer.
   */
  export(filepath?: undefined, options?: ExportOptions): Promise<Buffer>;
  export(filepath: string, options?: ExportOptions): Promise<void>;
  async export(filepath?: string, options: ExportOptions = {}): Promise<void | Buffer> {
    const opset = checkExportOptions('export', options);
    if (filepath !== undefined) checkFilePath('export', filepath);
    this.requireGraph('export');
    this.built('export');
    const bytes = await this.trainer.schedule(async () => encodeOnnx(this, opset));
    if (filepath === undefined) return bytes;
    await writeFileAtomically(filepath, [bytes]);
  }

  /** @internal The config persistence stores. */
  modelConfig(): Record<string, unknown> {
    return { className: this.className, config: this.getConfig() };
  }

  /** @internal */
  compileConfig(): ReturnType<Trainer['compileConfig']> {
    return this.trainer.compileConfig();
  }
}

/** A layer's weights once its input shape is known (a nested model knows its own). */
function layerWeights(layer: Layer): WeightInfo[] {
  if (layer instanceof Model) return layer.weightInfo();
  const shapes = layer.inputShapes;
  return shapes ? layer.weightInfo(shapes[0]) : [];
}

function size(weight: WeightInfo): number {
  return weight.shape.reduce((a, b) => a * b, 1);
}

/** Keras's weight names -> the attribute names of the equivalent torch.nn module. */
const TORCH_NAMES: Record<string, string> = {
  kernel: 'weight',
  bias: 'bias',
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

/** `conv2d.weight`, `base.dense.bias`: the names a torch.nn.Module with the same structure gives them. */
function weightFileNames(leaves: LeafLayer[]): string[] {
  return leaves.flatMap((leaf) => leaf.weights.map((w) => `${leaf.path}.${TORCH_NAMES[w.name] ?? w.name}`));
}

function structureList(context: string, argument: string, value: unknown): SymbolicTensor[] {
  const list = isSymbolicTensor(value) ? [value] : Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.values(value) : undefined;
  if (!list || list.length === 0 || !list.every(isSymbolicTensor)) {
    throw invalidArgument(context, `${argument} to be symbolic tensors (from Input() or a layer's apply): one, an array or an object of them`, value);
  }
  return list as SymbolicTensor[];
}

export function checkFilePath(operation: string, file: unknown): void {
  if (typeof file !== 'string' || file.length === 0) throw invalidArgument(operation, 'a file path', file);
}

/** A model file's path, or its bytes (a Buffer or Uint8Array, as save() without a file resolves). */
export function checkModelSource(operation: string, source: unknown): asserts source is ModelSource {
  if (source instanceof Uint8Array) return;
  if (typeof source !== 'string' || source.length === 0) throw invalidArgument(operation, 'a file path or a Buffer of a saved model', source);
}

/** Rebuilds a functional model from Keras's functional config: layers first, then their nodes in order. */
function functionalFromConfig(config: FunctionalConfig): Model {
  if (!config || !Array.isArray(config.layers) || !Array.isArray(config.inputLayers) || !Array.isArray(config.outputLayers)) {
    throw new ValueError('functional config: expected layers, inputLayers and outputLayers');
  }
  const layers = new Map<string, Layer>();
  const produced = new Map<string, SymbolicTensor[][]>(); // layer name -> node index -> outputs
  config.layers.forEach((entry, i) => {
    if (typeof entry?.name !== 'string' || layers.has(entry.name) || !Array.isArray(entry.inboundNodes ?? [])) {
      throw new ValueError(`layer ${i} of the config: expected a unique name and a list of inbound nodes but received ${JSON.stringify(entry?.name)}`);
    }
    let layer: Layer;
    try {
      layer = layerFromConfig(entry.className, entry.config ?? {});
    } catch (error) {
      throw new ValueError(`layer ${i} of the config: ${(error as Error).message}`);
    }
    layers.set(entry.name, layer);
    produced.set(entry.name, layer instanceof InputLayer ? [[layer.output]] : []);
  });
  const tensorAt = (ref: TensorReference): SymbolicTensor | undefined =>
    Array.isArray(ref) && typeof ref[0] === 'string' ? produced.get(ref[0])?.[ref[1]]?.[ref[2]] : undefined;
  // Nodes can read tensors of layers listed after them (shared layers): each pass applies, in order, what
  // can be, and leaves the rest for the next. A config in Keras's order takes one pass.
  let pending = config.layers.flatMap((entry) => (entry.inboundNodes ?? []).map((inbound, position) => ({ entry, inbound, position })));
  while (pending.length > 0) {
    const waiting: typeof pending = [];
    for (const item of pending) {
      const { entry, inbound, position } = item;
      if (produced.get(entry.name)!.length !== position || !inbound.every((ref) => tensorAt(ref) !== undefined)) {
        waiting.push(item);
        continue;
      }
      const layer = layers.get(entry.name)!;
      const inputs = inbound.map((ref) => tensorAt(ref)!);
      const kwargs = inbound[0]?.[3];
      const options = typeof kwargs?.training === 'boolean' ? { training: kwargs.training } : {};
      const argument = inputs.length === 1 ? inputs[0] : inputs;
      const outputs = layer instanceof Model ? layer.applyOutputs(argument, options) : [layer.apply(argument, options)];
      produced.get(entry.name)!.push(outputs);
    }
    if (waiting.length === pending.length) {
      throw new ValueError(`functional config: the nodes of layer '${waiting[0].entry.name}' read tensors that are never made`);
    }
    pending = waiting;
  }
  const find = (ref: TensorReference, what: string) => {
    const found = tensorAt(ref);
    if (!found) throw new ValueError(`functional config: ${what} ${JSON.stringify(ref)} names no tensor`);
    return found;
  };
  return new Model({
    inputs: config.inputLayers.map((ref) => find(ref, 'input')),
    outputs: config.outputLayers.length === 1 ? find(config.outputLayers[0], 'output') : config.outputLayers.map((ref) => find(ref, 'output')),
    name: config.name,
    trainable: config.trainable,
  });
}

registerLayerFactory('Functional', (config) => Model.fromConfig(config as unknown as FunctionalConfig));
registerLayerFactory('Model', (config) => Model.fromConfig(config as unknown as FunctionalConfig));
