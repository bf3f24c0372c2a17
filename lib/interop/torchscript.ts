/**
 * TorchScript: a PyTorch module scripted or traced in Python (torch.jit.script / torch.jit.trace, then
 * torch.jit.save) as a model. native/torchscript.h runs its forward inside the same native steps as every
 * other model, so predict, compile, fit, evaluate, the optimizers, losses, metrics and callbacks work on it
 * unchanged (../training/trainer.ts), and fine-tuning updates the module's own parameters and buffers.
 */
import * as fs from 'fs/promises';
import type { CallbackModel, History, Logs } from '../callbacks/callback';
import type { BatchIterator } from '../data';
import { described, invalidArgument, ValueError } from '../errors';
import { writeFileAtomically } from '../io/atomic-file';
import type { Layer } from '../layers/layer';
import { checkFilePath } from '../models/model';
import { Predictor } from '../models/predictor';
import { formatSummary, SummaryRow } from '../models/summary';
import type { NativeModel, NativeTorchScript, NativeTorchScriptWeight } from '../native/binding';
import { loadBinding } from '../native/loader';
import type { Optimizer } from '../optimizers';
import { fileErrorReason } from '../preprocessing/image';
import { device as defaultDevice, usableDevice } from '../runtime';
import { Tensor, tensor, TensorLike } from '../tensor';
import { checkAlive, DataLike } from '../training/data-adapter';
import type { BatchSource } from '../training/iterable-batches';
import {
  BuiltModel,
  CompileArgs,
  EvaluateArgs,
  FitArgs,
  OnBatchArgs,
  PredictArgs,
  Prediction,
  Trainer,
  TrainerHost,
} from '../training/trainer';
import { checkKnownOptions, checkOneOf, checkPlainObject, formatShape } from '../validation';

export const TORCHSCRIPT_INPUT_FORMATS = ['NCHW', 'NHWC'] as const;
export type TorchScriptInputFormat = (typeof TORCHSCRIPT_INPUT_FORMATS)[number];

export interface LoadTorchScriptOptions {
  /**
   * The layout of 4-D (image) batches. 'NCHW' (default): as torch.nn modules take them, passed to forward
   * as they are. 'NHWC': channels-last, as Keras and the rest of keras-torch speak; every input must be 4-D
   * [batch, height, width, channels] and is permuted to NCHW for forward, and 4-D outputs come back
   * channels-last.
   */
  inputFormat?: TorchScriptInputFormat;
}

/**
 * Loads a TorchScript file (or its bytes) saved from Python with torch.jit.save, off the event loop, as a
 * model on the current device. forward's Tensor arguments are the model's inputs (named as in forward);
 * a Tensor, or a tuple of Tensors (predict then returns an array), its outputs. The file must be one the
 * libtorch keras-torch runs on can read (a torch no newer than it), with float32 weights.
 */
export async function loadTorchScript(source: string | Uint8Array, options: LoadTorchScriptOptions = {}): Promise<TorchScriptModel> {
  checkPlainObject('loadTorchScript', 'options', options);
  checkKnownOptions('loadTorchScript', options, ['inputFormat']);
  const inputFormat = checkOneOf('loadTorchScript', 'inputFormat', options.inputFormat ?? 'NCHW', TORCHSCRIPT_INPUT_FORMATS);
  if (typeof source === 'string' && source.length > 0) {
    let stats;
    try {
      stats = await fs.stat(source);
    } catch (error) {
      throw new ValueError(`loadTorchScript: cannot read ${JSON.stringify(source)}: ${fileErrorReason(error as NodeJS.ErrnoException)}`);
    }
    if (!stats.isFile()) throw new ValueError(`loadTorchScript: cannot read ${JSON.stringify(source)}: not a regular file (a folder, a device or a pipe)`);
  } else if (!(source instanceof Uint8Array)) {
    throw invalidArgument('loadTorchScript', 'a TorchScript file path or a Buffer of one', source);
  }
  const loaded = await loadBinding().loadTorchScript(source, inputFormat === 'NHWC', defaultDevice());
  return new TorchScriptModel(loaded, inputFormat);
}

/**
 * A TorchScript module as a model: predict, compile, fit, evaluate, trainOnBatch, testOnBatch, callbacks
 * and Predictor as for any Model. Its weights are the module's parameters and buffers, in state_dict's
 * order and layouts; fit trains the module in train mode (Dropout, BatchNorm's batch statistics, which it
 * updates) and predict runs it in eval mode. Made by loadTorchScript.
 */
export class TorchScriptModel implements TrainerHost, CallbackModel {
  readonly className = 'TorchScript';
  /** The module's class name (`ResNet`). */
  readonly name: string;
  readonly inputFormat: TorchScriptInputFormat;
  /** forward's Tensor arguments: what fit, evaluate and predict key several inputs by. */
  readonly inputNames: string[];
  /** `output`, or `output_0`, `output_1`, ... for a tuple: what compile and logs key several outputs by. */
  readonly outputNames: string[];
  /** Class name -> label index of the data the model was trained on, when the data knew them. */
  classIndices?: Record<string, number>;
  /** Set by a callback to end fit after the current epoch. */
  stopTraining = false;
  /** @internal No Keras layers: the module's own are behind its forward. */
  readonly layers: readonly Layer[] = [];
  /** @internal */
  readonly outputStructure: 'single' | 'array';
  private readonly trainer: Trainer = new Trainer(this);
  private native?: NativeModel;
  private readonly weightList: NativeTorchScriptWeight[];
  private readonly children: { name: string; typeName: string }[];
  private built_?: BuiltModel;
  private trainableFlag = true;
  /** The sample shapes the model last ran on, and the output shapes a forward gave for them. */
  private lastInputShapes?: number[][];
  private probed?: { inputs: string; outputs: number[][] };
  private batcher?: Predictor<Prediction>;

  /** @internal loadTorchScript makes it. */
  constructor(loaded: NativeTorchScript, inputFormat: TorchScriptInputFormat) {
    this.native = loaded.model;
    this.name = loaded.typeName;
    this.inputFormat = inputFormat;
    this.inputNames = loaded.inputNames;
    this.outputNames = loaded.returnsTuple ? Array.from({ length: loaded.outputCount }, (_, i) => `output_${i}`) : ['output'];
    this.outputStructure = loaded.returnsTuple ? 'array' : 'single';
    this.weightList = loaded.weights;
    this.children = loaded.children;
  }

  /** Input shapes are the module's business: whatever its forward takes. */
  get inputShape(): number[] | undefined {
    return undefined;
  }

  /** @internal */
  knownInputShapes(): number[][] | undefined {
    return undefined;
  }

  /** @internal The native model, with what the trainer needs of it. */
  built(operation: string, inputShapes?: number[][]): BuiltModel {
    const native = this.liveNative(operation);
    if (inputShapes) this.lastInputShapes = inputShapes;
    if (!this.built_) {
      const outputShapes = () => this.outputShapes('compile');
      this.built_ = {
        native,
        get outputShapes() {
          return outputShapes();
        },
        finalActivations: this.outputNames.map(() => 'linear'),
        weightShapes: this.weightList.map((weight) => weight.shape),
        trainableFlags: () => [this.trainableFlag],
      };
      this.trainer.onBuilt(this.built_);
    }
    return this.built_;
  }

  /** Each output's sample shape for the inputs the model last ran on, from one forward (cached per input shapes). */
  private outputShapes(operation: string): number[][] {
    if (!this.lastInputShapes) {
      throw new ValueError(`${operation}: the output shapes of a TorchScript model are known once it has seen data; call fit or predict`);
    }
    const key = JSON.stringify(this.lastInputShapes);
    if (this.probed?.inputs !== key) this.probed = { inputs: key, outputs: this.liveNative(operation).outputShapes(this.lastInputShapes) };
    return this.probed.outputs;
  }

  private liveNative(operation: string): NativeModel {
    if (!this.native) throw new ValueError(`${operation}: model '${this.name}' was disposed`);
    return this.native;
  }

  // ---- training (../training/trainer.ts) ---------------------------------------------------------

  /** The optimizer, once compiled. */
  get optimizer(): Optimizer | undefined {
    return this.trainer.optimizer;
  }

  compile(args: CompileArgs): void {
    this.trainer.compile(args);
    // The trainer compiles the native model when it is built: here, before any data, at the first step.
    if (this.built_) this.trainer.onBuilt(this.built_);
  }

  fit(x: DataLike | BatchIterator | BatchSource, y?: DataLike | FitArgs, args?: FitArgs): Promise<History> {
    return this.trainer.fit('fit', x, y, args);
  }

  /** Loss (and metrics) on the given data: a number, or [loss, ...metrics] when there are metrics. */
  evaluate(x: DataLike | BatchIterator | BatchSource, y?: DataLike | EvaluateArgs, args?: EvaluateArgs): Promise<number | number[] | Logs> {
    return this.trainer.evaluate(x, y, args);
  }

  /** The module's outputs for all inputs, in batches, off the event loop: a Tensor, or an array for a tuple. */
  predict(x: DataLike | BatchIterator | BatchSource, args: PredictArgs = {}): Promise<Tensor | Tensor[]> {
    return this.trainer.predict(x, args) as Promise<Tensor | Tensor[]>;
  }

  /** The module's outputs for one batch. */
  predictOnBatch(x: DataLike): Promise<Tensor | Tensor[]> {
    return this.trainer.predictOnBatch(x) as Promise<Tensor | Tensor[]>;
  }

  /** predict through the model's own dynamic batcher (see Model.predictBatched). */
  predictBatched(x: DataLike): Promise<Tensor | Tensor[]> {
    if (!this.batcher) this.batcher = new Predictor<Prediction>(this);
    return this.batcher.predict(x) as Promise<Tensor | Tensor[]>;
  }

  /** @internal For Predictor. */
  predictionInputs(operation: string, x: DataLike): Tensor[] {
    this.liveNative(operation);
    return this.trainer.predictionInputs(operation, x);
  }

  /** @internal For Predictor. */
  predictTensors(operation: string, xs: Tensor[]): Promise<Tensor[]> {
    return this.trainer.predictTensors(operation, xs);
  }

  /** @internal For Predictor. */
  structuredPrediction(outputs: Tensor[]): Prediction {
    return this.trainer.structuredPrediction(outputs);
  }

  /** One training step on one batch; resolves the loss, or [loss, ...metrics] with metrics. */
  trainOnBatch(x: DataLike, y: DataLike, args: OnBatchArgs = {}): Promise<number | number[]> {
    return this.trainer.trainOnBatch(x, y, args);
  }

  /** Loss (and metrics) on one batch, without training. */
  testOnBatch(x: DataLike, y: DataLike, args: Omit<OnBatchArgs, 'classWeight'> = {}): Promise<number | number[]> {
    return this.trainer.testOnBatch(x, y, args);
  }

  /**
   * False freezes the whole module from the next step on: no parameter is updated, and it runs in eval
   * mode, as a frozen model's BatchNormalization does in Keras. True trains the parameters that required
   * grad when the module was saved (freeze some in Python with `requires_grad_(False)` before saving).
   */
  get trainable(): boolean {
    return this.trainableFlag;
  }
  set trainable(value: boolean) {
    if (typeof value !== 'boolean') throw invalidArgument('trainable', 'a boolean', value);
    this.trainableFlag = value;
  }

  // ---- weights -----------------------------------------------------------------------------------

  /** Copies of the module's parameters and buffers, in state_dict's order and layouts. */
  getWeights(): Tensor[] {
    return this.liveNative('getWeights').getWeights().map((native) => new Tensor(native));
  }

  /** Sets every parameter and buffer from values in getWeights's order and shapes. */
  setWeights(weights: (Tensor | TensorLike)[]): void {
    const native = this.liveNative('setWeights');
    if (!Array.isArray(weights)) throw invalidArgument('setWeights', 'an array of tensors', weights);
    if (weights.length !== this.weightList.length) {
      throw invalidArgument('setWeights', `${this.weightList.length} weight tensors`, described(`${weights.length} tensors`));
    }
    const tensors = weights.map((w, i) => {
      checkAlive('setWeights', `weights[${i}]`, w);
      const t = w instanceof Tensor ? w : tensor(w as TensorLike);
      const expected = this.weightList[i];
      if (formatShape(t.shape, null) !== formatShape(expected.shape, null)) {
        throw invalidArgument('setWeights', `weights[${i}] (${expected.name}) of shape [${expected.shape.join(', ')}]`, described(`shape [${t.shape.join(', ')}]`));
      }
      return t;
    });
    native.setWeights(tensors.map((t) => t.native));
  }

  /** The values of every parameter and buffer (BatchNorm's running statistics too), as Keras counts weights. */
  countParams(): number {
    return this.weightList.reduce((total, weight) => total + size(weight), 0);
  }

  /**
   * Keras's summary table, one row per child module of the top-level one (its own parameters and buffers,
   * if any, in a row named `self`), printed to console.log or `printFn`; returns its text. Output shapes are the
   * module's business and show as '?'.
   */
  summary(args: { lineLength?: number; printFn?: (line: string) => void } = {}): string {
    const own: SummaryRow = { name: 'self', className: this.name, outputShapes: '?', params: 0 };
    const rows = new Map<string, SummaryRow>(this.children.map((child) => [child.name, { name: child.name, className: child.typeName, outputShapes: '?', params: 0 }]));
    for (const weight of this.weightList) {
      const dot = weight.name.indexOf('.');
      ((dot < 0 ? undefined : rows.get(weight.name.slice(0, dot))) ?? own).params += size(weight);
    }
    const text = formatSummary(this.name, [...(own.params > 0 ? [own] : []), ...rows.values()], {
      total: this.countParams(),
      trainable: this.weightList.filter((w) => w.trainable).reduce((total, weight) => total + size(weight), 0),
    }, args.lineLength ?? 80);
    (args.printFn ?? console.log)(text);
    return text;
  }

  // ---- device and lifetime -----------------------------------------------------------------------

  /** The device the model lives on. */
  get device(): string {
    return this.native?.device() ?? defaultDevice();
  }

  /** Moves the module (parameters, buffers and optimizer state) to 'cpu', 'cuda' or 'cuda:N'. */
  to(device: string): this {
    const native = this.liveNative('to');
    const normalized = usableDevice('to', device);
    if (this.trainer.isTraining) throw new ValueError('to: the model is training; wait for fit to finish');
    native.to(normalized);
    return this;
  }

  /** Frees the module and the optimizer's state now, rather than when the garbage collector gets to them. */
  dispose(): void {
    if (!this.native) return;
    if (this.trainer.isTraining) throw new ValueError(`dispose: model '${this.name}' is training; stop fit (its signal) and await it first`);
    this.native.dispose();
    this.native = undefined;
  }

  get isDisposed(): boolean {
    return this.native === undefined;
  }

  // ---- files -------------------------------------------------------------------------------------

  /**
   * Writes the module with its current weights as a TorchScript file (in eval mode), which torch.jit.load
   * and loadTorchScript read; atomically, after the running step. Without a file, resolves the bytes. The
   * optimizer's state is not saved.
   */
  save(): Promise<Buffer>;
  save(file: string): Promise<void>;
  async save(file?: string): Promise<void | Buffer> {
    if (file !== undefined) {
      checkFilePath('save', file);
      if (file.endsWith('.safetensors')) {
        throw invalidArgument('save', 'a path for a TorchScript file (model.pt), which is what a TorchScript model writes, not .safetensors', file);
      }
    }
    const native = this.liveNative('save');
    const bytes = await this.trainer.schedule(() => loadBinding().saveTorchScript(native));
    if (file === undefined) return bytes;
    await writeFileAtomically(file, [bytes]);
  }

  /** Not for a TorchScript model, whose weights travel with its module: save() writes both. */
  async saveWeights(_file?: string): Promise<never> {
    throw new ValueError(`saveWeights: not supported for TorchScript model '${this.name}'; save() writes the module with its weights as a TorchScript file`);
  }
}

function size(weight: NativeTorchScriptWeight): number {
  return weight.shape.reduce((a, b) => a * b, 1);
}
