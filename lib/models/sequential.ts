/**
 * Sequential: a stack of layers, as in Keras. Layers are checked as they are added and their shapes
 * inferred; the native torch::nn::Sequential is built once the input shape is known (from the first
 * layer's inputShape, or from the first data the model sees). Every libtorch call of a model goes through
 * one queue, so predict or evaluate called during fit waits for the current step, never races it.
 */
import { CallbackHooks, CallbackList, History, Logs } from '../callbacks/callback';
import { ProgressLogger } from '../callbacks/progress';
import type { Batch, BatchIterator } from '../data';
import { isBatchIterator } from '../data';
import { described, invalidArgument, ValueError } from '../errors';
import { Layer, WeightInfo } from '../layers/layer';
import { InputLayer } from '../layers/core';
import { foldableActivation, getLoss, getMetric, LossName, NativeMetric } from '../losses';
import type { NativeModel, NativeTensor } from '../native/binding';
import { loadBinding } from '../native/loader';
import { Adagrad, Adam, AdamW, getOptimizer, Optimizer, OptimizerIdentifier, RMSprop, SGD } from '../optimizers';
import {
  checkStoredWeights,
  CompileConfig,
  layersFromConfig,
  ModelConfig,
  readModelFile,
  restoreWeights,
  saveModelFile,
} from './persistence';

import { formatSummary } from './summary';
import { dataParallel, RankAveraging, shard, startFromRankZero } from '../distributed/averaging';
import { rank as distributedRank } from '../distributed';

const OPTIMIZER_CLASSES: Record<string, new (config: never) => Optimizer> = { Adam, AdamW, SGD, RMSprop, Adagrad };
import { device as defaultDevice } from '../runtime';
import { concat, Tensor, tensor, TensorLike } from '../tensor';
import { forEachBatch, RunningMeans, runEpochs } from '../training/loop';
import { TensorBatches } from '../training/tensor-batches';
import {
  checkBoolean,
  checkKnownOptions,
  checkNonNegativeInteger,
  checkNumberInRange,
  checkPlainObject,
  checkPositiveInteger,
  formatShape,
} from '../validation';

export interface CompileArgs {
  /** 'adam', 'sgd', 'rmsprop', 'adamw', 'adagrad' or an Optimizer instance. Default 'rmsprop' (Keras's). */
  optimizer?: OptimizerIdentifier;
  loss: string;
  /** E.g. ['accuracy']; 'accuracy' is resolved from the loss as Keras does. */
  metrics?: string[];
}

export type ClassWeight = Record<number | string, number>;

export interface FitArgs {
  /** Default 32 (tensors only; an iterator has its own). */
  batchSize?: number;
  /** Default 1. */
  epochs?: number;
  /** 0 silent, 1 progress bar, 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  /** [x, y] tensors or an iterator, evaluated after each epoch. */
  validationData?: [TensorLike, TensorLike] | BatchIterator;
  /** The fraction of (tensor) samples, taken from the end before shuffling, held out for validation. */
  validationSplit?: number;
  /** Batches of an iterator's validation per epoch. Default its length. */
  validationSteps?: number;
  /** Shuffle tensor samples every epoch. Default true. */
  shuffle?: boolean;
  /** Batches per epoch. Default: one pass over the data. */
  stepsPerEpoch?: number;
  /** The epoch to start from (resuming). Default 0. */
  initialEpoch?: number;
  callbacks?: CallbackHooks[];
  /** Label -> weight of that class's samples in the loss. */
  classWeight?: ClassWeight;
  /** Stops after the current batch and rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Keras 1's `fit_generator` arguments, as the seed tutorial writes them. */
export interface FitGeneratorArgs extends FitArgs {
  /** Keras 1 counted samples, not batches; ignored in favour of stepsPerEpoch when both are given. */
  samplesPerEpoch?: number;
  nbEpoch?: number;
  nbValSamples?: number;
}

export interface EvaluateArgs {
  batchSize?: number;
  verbose?: 0 | 1 | 2;
  steps?: number;
  /** Return {loss, accuracy, ...} instead of a number or [loss, ...metrics]. */
  returnDict?: boolean;
}

export interface PredictArgs {
  batchSize?: number;
  verbose?: 0 | 1 | 2;
  steps?: number;
}

const FIT_KEYS = [
  'batchSize',
  'epochs',
  'verbose',
  'validationData',
  'validationSplit',
  'validationSteps',
  'shuffle',
  'stepsPerEpoch',
  'initialEpoch',
  'callbacks',
  'classWeight',
  'signal',
];

interface Compiled {
  args: CompileArgs;
  optimizer: Optimizer;
  loss: LossName;
  metrics: NativeMetric[];
  /** The names logs use: 'loss' and the metrics as the user spelled them. */
  names: string[];
}

interface Built {
  native: NativeModel;
  inputShape: number[];
  /** Each layer's output shape (without the batch axis). */
  outputShapes: number[][];
  /** Each layer's weights, in order. */
  weights: WeightInfo[][];
}

let modelCounter = 0;

export class Sequential {
  readonly name: string;
  /** Class name -> label index of the data the model was trained on, when the data knew them; saved with the model. */
  classIndices?: Record<string, number>;
  /** Set by a callback to end fit after the current epoch. */
  stopTraining = false;
  private readonly stack: Layer[] = [];
  private built?: Built;
  private compiled?: Compiled;
  private targetDevice?: string;
  private training = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(layersOrArgs?: Layer[] | { layers?: Layer[]; name?: string }) {
    const args = Array.isArray(layersOrArgs) ? { layers: layersOrArgs } : (layersOrArgs ?? {});
    checkPlainObject('Sequential', 'options', args);
    this.name = args.name ?? (modelCounter++ === 0 ? 'sequential' : `sequential_${modelCounter - 1}`);
    for (const layer of args.layers ?? []) this.add(layer);
  }

  /** The layers, in order (InputLayer excluded, as in Keras). */
  get layers(): Layer[] {
    return this.stack.filter((layer) => !(layer instanceof InputLayer));
  }

  /** The input shape without the batch axis, once known. */
  get inputShape(): number[] | undefined {
    return this.built?.inputShape ?? this.declaredInputShape();
  }

  /** The output shape without the batch axis, once the input shape is known. */
  get outputShape(): number[] | undefined {
    const shapes = this.layerShapes();
    return shapes ? shapes.outputs[shapes.outputs.length - 1] : undefined;
  }

  /** The optimizer, once compiled. */
  get optimizer(): Optimizer | undefined {
    return this.compiled?.optimizer;
  }

  /** The device the model lives on. */
  get device(): string {
    return this.built?.native.device() ?? this.targetDevice ?? defaultDevice();
  }

  /** Adds a layer on top; its input shape must fit the layer below. */
  add(layer: Layer): void {
    if (!(layer instanceof Layer)) throw invalidArgument('Sequential.add', 'a Layer instance', layer);
    if (this.training) throw new ValueError('Sequential.add: the model is training; wait for fit to finish');
    if (this.stack.some((existing) => existing.name === layer.name)) {
      throw invalidArgument('Sequential.add', `a layer with a unique name (the model already has '${layer.name}')`, layer.name);
    }
    if (this.stack.length > 0 && layer.batchInputShape && !(layer instanceof InputLayer)) {
      // Keras ignores (and warns about) inputShape below the first layer; a mismatch is surely a mistake.
      const current = this.outputShape;
      if (current && formatShape(current) !== formatShape(layer.batchInputShape)) {
        throw invalidArgument(
          `Sequential.add '${layer.name}'`,
          `inputShape ${formatShape(current)} (the output of the layer below)`,
          formatShape(layer.batchInputShape),
        );
      }
    }
    this.stack.push(layer);
    try {
      this.layerShapes();
    } catch (error) {
      this.stack.pop();
      throw error;
    }
    this.invalidate();
  }

  /** Removes the top layer and returns it. */
  pop(): Layer {
    if (this.training) throw new ValueError('Sequential.pop: the model is training; wait for fit to finish');
    if (this.layers.length === 0) throw new ValueError('Sequential.pop: the model has no layers');
    const layer = this.stack.pop()!;
    this.invalidate();
    return layer;
  }

  compile(args: CompileArgs): void {
    checkPlainObject('compile', 'options', args);
    checkKnownOptions('compile', args, ['optimizer', 'loss', 'metrics']);
    const loss = getLoss(args.loss);
    const optimizer = getOptimizer(args.optimizer ?? 'rmsprop');
    const metricNames = args.metrics ?? [];
    if (!Array.isArray(metricNames)) throw invalidArgument('compile', 'metrics to be an array of names', metricNames);
    // Resolving metrics needs the output units; with no shape yet, resolution waits for the build.
    this.compiled = { args, optimizer, loss, metrics: [], names: ['loss', ...metricNames] };
    // Compiling again (or after the weights were touched) replaces the native optimizer and loss.
    if (this.built) this.compileNative(this.built, this.compiled);
    else if (this.layerShapes()) this.ensureBuilt();
  }

  // ---- training --------------------------------------------------------------------------------

  fit(x: TensorLike | BatchIterator, y?: TensorLike | FitArgs, args?: FitArgs): Promise<History> {
    return this.runFit('fit', x, y, args);
  }

  /** Keras 1's fit_generator, as the seed tutorial calls it. */
  fitGenerator(iterator: BatchIterator, args: FitGeneratorArgs = {}): Promise<History> {
    const { samplesPerEpoch, nbEpoch, nbValSamples, ...rest } = args;
    const fitArgs: FitArgs = { ...rest, epochs: rest.epochs ?? nbEpoch };
    if (fitArgs.stepsPerEpoch === undefined && samplesPerEpoch !== undefined && isBatchIterator(iterator)) {
      const perBatch = iterator.samples && iterator.length ? Math.ceil(iterator.samples / iterator.length) : 1;
      fitArgs.stepsPerEpoch = Math.max(1, Math.ceil(samplesPerEpoch / perBatch));
    }
    if (fitArgs.validationSteps === undefined && nbValSamples !== undefined && isBatchIterator(rest.validationData)) {
      const validation = rest.validationData;
      const perBatch = validation.samples && validation.length ? Math.ceil(validation.samples / validation.length) : 1;
      fitArgs.validationSteps = Math.max(1, Math.ceil(nbValSamples / perBatch));
    }
    return this.runFit('fitGenerator', iterator, fitArgs);
  }

  private async runFit(
    operation: string,
    x: TensorLike | BatchIterator,
    yOrArgs?: TensorLike | FitArgs,
    maybeArgs?: FitArgs,
  ): Promise<History> {
    const iteratorInput = isBatchIterator(x);
    const args = (iteratorInput ? yOrArgs ?? {} : maybeArgs ?? {}) as FitArgs;
    checkPlainObject(operation, 'options', args);
    checkKnownOptions(operation, args, FIT_KEYS);
    if (this.training) throw new ValueError(`${operation}: another fit() call is ongoing on this model; await it first`);
    const compiled = this.requireCompiled(operation);
    const epochs = checkPositiveInteger(operation, 'epochs', args.epochs ?? 1);
    const initialEpoch = checkNonNegativeInteger(operation, 'initialEpoch', args.initialEpoch ?? 0);
    const verbose = checkVerbose(operation, args.verbose ?? 1);
    const shuffle = checkBoolean(operation, 'shuffle', args.shuffle ?? true);
    const batchSize = checkPositiveInteger(operation, 'batchSize', args.batchSize ?? 32);
    const callbacksGiven = args.callbacks ?? [];
    if (!Array.isArray(callbacksGiven) || callbacksGiven.some((c) => typeof c !== 'object' || c === null)) {
      throw invalidArgument(operation, 'callbacks to be an array of callback objects', args.callbacks);
    }
    if (args.signal !== undefined && !(args.signal instanceof AbortSignal)) {
      throw invalidArgument(operation, 'signal to be an AbortSignal', args.signal);
    }

    let source: BatchIterator;
    let validation: BatchIterator | undefined;
    if (iteratorInput) {
      source = x;
      if (args.validationSplit !== undefined) {
        throw invalidArgument(operation, 'validationData (validationSplit works on tensors only)', args.validationSplit);
      }
    } else {
      if (yOrArgs === undefined || (typeof yOrArgs === 'object' && !Array.isArray(yOrArgs) && !ArrayBuffer.isView(yOrArgs) && !(yOrArgs instanceof Tensor))) {
        throw invalidArgument(operation, 'targets y after the inputs x (or a data iterator as x)', yOrArgs);
      }
      let [xs, ys] = this.toTensors(operation, x, yOrArgs as TensorLike);
      if (args.validationSplit !== undefined && args.validationSplit !== 0) {
        const split = checkNumberInRange(operation, 'validationSplit', args.validationSplit, 0, 1, { maxExclusive: true });
        const trainCount = Math.floor(xs.shape[0] * (1 - split));
        if (trainCount === 0 || trainCount === xs.shape[0]) {
          throw invalidArgument(operation, `a validationSplit that leaves samples on both sides of ${xs.shape[0]}`, split);
        }
        // Keras holds out the last samples, before any shuffling.
        validation = new TensorBatches(
          new Tensor(xs.native.narrow(trainCount, xs.shape[0] - trainCount)),
          new Tensor(ys.native.narrow(trainCount, xs.shape[0] - trainCount)),
          batchSize,
          false,
        );
        [xs, ys] = [new Tensor(xs.native.narrow(0, trainCount)), new Tensor(ys.native.narrow(0, trainCount))];
      }
      source = new TensorBatches(xs, ys, batchSize, shuffle);
    }
    if (source.length === 0) throw invalidArgument(operation, 'training data with at least one sample', source.samples ?? 0);
    if (args.validationData !== undefined) {
      validation = isBatchIterator(args.validationData)
        ? args.validationData
        : this.validationTensors(operation, args.validationData, batchSize);
    }
    this.checkSourceShape(operation, 'x', source);
    if (validation) this.checkSourceShape(operation, 'validationData', validation);
    const parallel = dataParallel();
    if (parallel) {
      source = shard(source);
      if (validation) validation = shard(validation);
    }

    const steps = checkPositiveInteger(operation, 'stepsPerEpoch', args.stepsPerEpoch ?? source.length);
    const validationSteps = validation
      ? checkPositiveInteger(operation, 'validationSteps', args.validationSteps ?? validation.length)
      : 0;
    const classWeight = args.classWeight === undefined ? undefined : this.checkClassWeight(operation, args.classWeight);

    const history = new History();
    // As in Keras, the progress bar comes last, so it shows what other callbacks add to the logs.
    const callbacks: CallbackHooks[] = [...(parallel ? [new RankAveraging()] : []), ...callbacksGiven, history];
    // With several ranks only rank 0 prints, as torch.distributed scripts do.
    if (verbose > 0 && (!parallel || distributedRank() === 0)) callbacks.push(new ProgressLogger(verbose as 1 | 2));
    const list = new CallbackList(callbacks);
    const names = [...compiled.names, ...(validation ? compiled.names.map((n) => `val_${n}`) : [])];
    list.configure(this, { epochs, steps, verbose, metrics: names });

    if (source.classIndices) this.classIndices = { ...source.classIndices };
    this.training = true;
    this.stopTraining = false;
    try {
      if (parallel) await this.schedule(() => startFromRankZero(this.ensureBuilt(operation, source.inputShape).native));
      await runEpochs(
        source,
        (bx, by) => this.step('train', bx, by, classWeight),
        {
          epochs,
          initialEpoch,
          steps,
          names: compiled.names,
          callbacks: list,
          signal: args.signal,
          shouldStop: () => this.stopTraining,
          validate: validation ? () => this.evaluateSource(validation!, validationSteps, 'val_') : undefined,
        },
      );
    } finally {
      this.training = false;
    }
    return history;
  }

  /** Loss (and metrics) on the given data: a number, or [loss, ...metrics] when there are metrics. */
  async evaluate(x: TensorLike | BatchIterator, y?: TensorLike | EvaluateArgs, args?: EvaluateArgs): Promise<number | number[] | Logs> {
    const iteratorInput = isBatchIterator(x);
    const options = (iteratorInput ? y ?? {} : args ?? {}) as EvaluateArgs;
    checkPlainObject('evaluate', 'options', options);
    checkKnownOptions('evaluate', options, ['batchSize', 'verbose', 'steps', 'returnDict']);
    this.requireCompiled('evaluate');
    checkVerbose('evaluate', options.verbose ?? 1);
    const batchSize = checkPositiveInteger('evaluate', 'batchSize', options.batchSize ?? 32);
    let source: BatchIterator;
    if (iteratorInput) {
      source = x;
    } else {
      if (y === undefined) throw invalidArgument('evaluate', 'targets y after the inputs x', y);
      const [xs, ys] = this.toTensors('evaluate', x, y as TensorLike);
      source = new TensorBatches(xs, ys, batchSize, false);
    }
    this.checkSourceShape('evaluate', 'x', source);
    const steps = checkPositiveInteger('evaluate', 'steps', options.steps ?? source.length);
    const logs = await this.evaluateSource(source, steps, '');
    if (options.returnDict) return logs;
    const values = Object.values(logs);
    return values.length === 1 ? values[0] : values;
  }

  /** The model's outputs for all inputs, computed in batches of batchSize; one Tensor. */
  async predict(x: TensorLike | BatchIterator, args: PredictArgs = {}): Promise<Tensor> {
    checkPlainObject('predict', 'options', args);
    checkKnownOptions('predict', args, ['batchSize', 'verbose', 'steps']);
    checkVerbose('predict', args.verbose ?? 0);
    const batchSize = checkPositiveInteger('predict', 'batchSize', args.batchSize ?? 32);
    const source = isBatchIterator(x) ? x : new TensorBatches(this.toInput('predict', x), null, batchSize, false);
    this.checkSourceShape('predict', 'x', source);
    const steps = checkPositiveInteger('predict', 'steps', args.steps ?? source.length);
    const outputs: Tensor[] = [];
    await forEachBatch(source, steps, { next: 0 }, async ([bx]) => {
      outputs.push(await this.predictBatch(bx));
    }, undefined, 'predict');
    if (outputs.length === 1) return outputs[0];
    const result = concat(outputs);
    outputs.forEach((output) => output.dispose());
    return result;
  }

  /** The model's outputs for one batch. */
  async predictOnBatch(x: TensorLike): Promise<Tensor> {
    const input = this.toInput('predictOnBatch', x);
    return this.predictBatch(input);
  }

  /** One training step on one batch; resolves the loss, or [loss, ...metrics] with metrics. */
  async trainOnBatch(x: TensorLike, y: TensorLike, args: { classWeight?: ClassWeight } = {}): Promise<number | number[]> {
    this.requireCompiled('trainOnBatch');
    if (this.training) throw new ValueError('trainOnBatch: a fit() call is ongoing on this model; await it first');
    const classWeight = args.classWeight === undefined ? undefined : this.checkClassWeight('trainOnBatch', args.classWeight);
    const [xs, ys] = this.toTensors('trainOnBatch', x, y);
    const values = await this.step('train', xs, ys, classWeight);
    return values.length === 1 ? values[0] : values;
  }

  /** Loss (and metrics) on one batch, without training. */
  async testOnBatch(x: TensorLike, y: TensorLike): Promise<number | number[]> {
    this.requireCompiled('testOnBatch');
    const [xs, ys] = this.toTensors('testOnBatch', x, y);
    const values = await this.step('evaluate', xs, ys);
    return values.length === 1 ? values[0] : values;
  }

  // ---- persistence ------------------------------------------------------------------------------

  /**
   * Writes the whole model to one .safetensors file: weights, optimizer state, config, class indices.
   * The write is atomic: an interrupted save leaves the previous file intact.
   */
  async save(file: string): Promise<void> {
    checkFilePath('save', file);
    await this.schedule(() => saveModelFile(this, file));
  }

  /** Writes the weights alone (no optimizer state) to a .safetensors file. */
  async saveWeights(file: string): Promise<void> {
    checkFilePath('saveWeights', file);
    await this.schedule(() => saveModelFile(this, file, { includeOptimizer: false }));
  }

  /** Loads weights saved by save() or saveWeights() from a model with the same layers. */
  async loadWeights(file: string): Promise<void> {
    checkFilePath('loadWeights', file);
    const loaded = await readModelFile(file);
    await this.schedule(async () => restoreWeights(this, file, loaded, { optimizer: false }));
  }

  /** @internal The config persistence stores. */
  modelConfig(): ModelConfig {
    return {
      className: 'Sequential',
      name: this.name,
      inputShape: this.inputShape,
      layers: this.stack.map((layer) => ({ className: layer.className, config: layer.getConfig() })),
    };
  }

  /** @internal */
  compileConfig(): CompileConfig | undefined {
    if (!this.compiled) return undefined;
    const { optimizer, loss, args } = this.compiled;
    return { optimizer: { className: optimizer.className, config: optimizer.getConfig() }, loss, metrics: [...(args.metrics ?? [])] };
  }

  /** @internal */
  nativeWeights(operation: string): { native: NativeModel; weights: WeightInfo[][]; stack: Layer[] } {
    const built = this.ensureBuilt(operation);
    return { native: built.native, weights: built.weights, stack: [...this.stack] };
  }

  // ---- weights and devices ----------------------------------------------------------------------

  /**
   * Prints Keras's table of layers, output shapes and parameter counts (to console.log, or `printFn`) and
   * returns its text.
   */
  summary(args: { lineLength?: number; printFn?: (line: string) => void } = {}): string {
    const shapes = this.requireShapes('summary');
    const rows = this.stack
      .map((layer, i) => ({ layer, i }))
      .filter(({ layer }) => !(layer instanceof InputLayer))
      .map(({ layer, i }) => ({
        name: layer.name,
        className: layer.className,
        outputShape: shapes.outputs[i],
        params: shapes.weights[i].reduce((total, w) => total + w.shape.reduce((a, b) => a * b, 1), 0),
      }));
    const all = shapes.weights.flat();
    const size = (w: WeightInfo) => w.shape.reduce((a, b) => a * b, 1);
    const text = formatSummary(this.name, rows, {
      total: all.reduce((t, w) => t + size(w), 0),
      trainable: all.filter((w) => w.trainable).reduce((t, w) => t + size(w), 0),
    }, args.lineLength ?? 80);
    (args.printFn ?? console.log)(text);
    return text;
  }

  /** The number of weights (trainable and not), as Keras counts them. */
  countParams(): number {
    const built = this.requireShapes('countParams');
    return built.weights.flat().reduce((total, w) => total + w.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Copies of every weight in Keras's order and layouts (Conv2D kernels [kh, kw, in, out]). */
  getWeights(): Tensor[] {
    return this.ensureBuilt('getWeights').native.getWeights().map((native) => new Tensor(native));
  }

  /** Sets every weight from Keras-layout values (the list getWeights returns). */
  setWeights(weights: (Tensor | TensorLike)[]): void {
    const built = this.ensureBuilt('setWeights');
    if (!Array.isArray(weights)) throw invalidArgument('setWeights', 'an array of tensors', weights);
    const expected = built.weights.flat();
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

  /** Moves the model (weights and optimizer state) to 'cpu', 'cuda' or 'cuda:N'. */
  to(device: string): this {
    const normalized = (() => {
      try {
        return loadBinding().checkDevice(device);
      } catch (error) {
        throw invalidArgument('to', `a usable device; ${(error as Error).message}`, device);
      }
    })();
    if (this.training) throw new ValueError('to: the model is training; wait for fit to finish');
    this.targetDevice = normalized;
    this.built?.native.to(normalized);
    return this;
  }

  // ---- internals --------------------------------------------------------------------------------

  private declaredInputShape(): number[] | undefined {
    const first = this.stack[0];
    return first?.batchInputShape ? [...first.batchInputShape] : undefined;
  }

  /** Infers every layer's output shape; undefined while the input shape is unknown. */
  private layerShapes(inputShape = this.built?.inputShape ?? this.declaredInputShape()): { outputs: number[][]; weights: WeightInfo[][] } | undefined {
    if (!inputShape) return undefined;
    const outputs: number[][] = [];
    const weights: WeightInfo[][] = [];
    let shape = inputShape;
    for (const layer of this.stack) {
      weights.push(layer.weightInfo(shape));
      shape = layer.computeOutputShape(shape);
      outputs.push(shape);
    }
    return { outputs, weights };
  }

  private requireShapes(operation: string): { outputs: number[][]; weights: WeightInfo[][] } {
    const shapes = this.layerShapes();
    if (!shapes) {
      throw new ValueError(
        `${operation}: the model does not know its input shape yet; give the first layer an inputShape or call fit/predict first`,
      );
    }
    return shapes;
  }

  /** Forgets the native model after add/pop; the next use rebuilds it, keeping the weights of layers that stayed. */
  private invalidate(): void {
    if (!this.built) return;
    const previous = this.built;
    this.built = undefined;
    const carried = this.carryWeights(previous);
    if (this.layerShapes()) {
      this.ensureBuilt();
      carried(this.built!);
    }
  }

  private carryWeights(previous: Built): (next: Built) => void {
    const tensors = previous.native.getWeights();
    const byLayer = new Map<Layer, NativeTensor[]>();
    let offset = 0;
    previous.weights.forEach((weights, i) => {
      byLayer.set(this.previousLayers[i], tensors.slice(offset, offset + weights.length));
      offset += weights.length;
    });
    return (next) => {
      const current = next.native.getWeights();
      let position = 0;
      this.stack.forEach((layer, i) => {
        const kept = byLayer.get(layer);
        const count = next.weights[i].length;
        if (kept && kept.length === count && kept.every((t, j) => t.shape().join() === current[position + j].shape().join())) {
          kept.forEach((t, j) => (current[position + j] = t));
        }
        position += count;
      });
      next.native.setWeights(current);
    };
  }

  private previousLayers: Layer[] = [];

  /** @internal Builds for an input shape known from elsewhere (a saved config). */
  buildFor(inputShape: number[]): void {
    this.ensureBuilt('build', inputShape);
  }

  /** Builds the native model (and compiles it, when compile was called) for `inputShape`. */
  private ensureBuilt(operation = 'build', inputShape?: readonly number[]): Built {
    if (this.built) return this.built;
    if (this.layers.length === 0) throw new ValueError(`${operation}: the model has no layers; add some first`);
    const shape = this.declaredInputShape() ?? (inputShape ? [...inputShape] : undefined);
    if (!shape) {
      throw new ValueError(
        `${operation}: the model does not know its input shape yet; give the first layer an inputShape or call fit/predict first`,
      );
    }
    const shapes = this.layerShapes(shape)!;
    const specs = [];
    let current = shape;
    for (const [i, layer] of this.stack.entries()) {
      specs.push(...layer.toSpecs(current));
      current = shapes.outputs[i];
    }
    const native = new (loadBinding().NativeModel)(specs, this.targetDevice ?? defaultDevice());
    this.built = { native, inputShape: shape, outputShapes: shapes.outputs, weights: shapes.weights };
    this.previousLayers = [...this.stack];
    if (this.compiled) this.compileNative(this.built, this.compiled);
    return this.built;
  }

  private compileNative(built: Built, compiled: Compiled): void {
    const output = built.outputShapes[built.outputShapes.length - 1];
    const units = output[output.length - 1];
    compiled.metrics = (compiled.args.metrics ?? []).map((m) => getMetric(m, compiled.loss, units));
    const last = this.layers[this.layers.length - 1];
    const foldable = foldableActivation(compiled.loss);
    const folded = foldable !== undefined && last.finalActivation === foldable ? foldable : '';
    built.native.compile({
      optimizer: compiled.optimizer.toSpec(),
      loss: compiled.loss,
      metrics: compiled.metrics,
      foldedActivation: folded,
    });
    compiled.optimizer.bind(built.native);
  }

  private requireCompiled(operation: string): Compiled {
    if (!this.compiled) throw new ValueError(`${operation}: the model must be compiled first; call compile({optimizer, loss})`);
    return this.compiled;
  }

  /** Serialises every native call of this model. */
  private schedule<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private step(kind: 'train' | 'evaluate', x: Tensor, y: Tensor | null, classWeight?: Map<number, number>): Promise<number[]> {
    const built = this.ensureBuilt(kind === 'train' ? 'fit' : 'evaluate', x.shape.slice(1));
    this.checkInputShape(kind === 'train' ? 'fit' : 'evaluate', x.shape);
    if (!y) throw new ValueError(`${kind === 'train' ? 'fit' : 'evaluate'}: the data yields no targets (classMode null?); targets are needed to compute a loss`);
    const sampleWeight = classWeight ? this.sampleWeights(y, classWeight) : null;
    return this.schedule(() =>
      kind === 'train'
        ? built.native.trainStep(x.native, y.native, sampleWeight?.native ?? null)
        : built.native.evaluateStep(x.native, y.native, sampleWeight?.native ?? null),
    );
  }

  private async predictBatch(x: Tensor): Promise<Tensor> {
    const built = this.ensureBuilt('predict', x.shape.slice(1));
    this.checkInputShape('predict', x.shape);
    return new Tensor(await this.schedule(() => built.native.predict(x.native)));
  }

  private async evaluateSource(source: BatchIterator, steps: number, prefix: string): Promise<Logs> {
    const compiled = this.requireCompiled('evaluate');
    const means = new RunningMeans(compiled.names);
    await forEachBatch(source, steps, { next: 0 }, async ([x, y]) => {
      means.add(await this.step('evaluate', x, y), x.shape[0]);
    }, undefined, 'evaluate');
    return means.logs(prefix);
  }

  /** Per-sample weights from class weights; labels are class indices, 0/1, or one-hot rows. */
  private sampleWeights(y: Tensor, classWeight: Map<number, number>): Tensor {
    const labels = y.dataSync() as ArrayLike<number | bigint>;
    const count = y.shape[0];
    const width = count > 0 ? labels.length / count : 0;
    const weights = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      let label = 0;
      if (width > 1) {
        for (let j = 1; j < width; j++) if (Number(labels[i * width + j]) > Number(labels[i * width + label])) label = j;
      } else {
        label = Math.round(Number(labels[i]));
      }
      weights[i] = classWeight.get(label) ?? 1;
    }
    return tensor(weights);
  }

  private checkClassWeight(operation: string, classWeight: ClassWeight): Map<number, number> {
    checkPlainObject(operation, 'classWeight', classWeight);
    const map = new Map<number, number>();
    for (const [key, value] of Object.entries(classWeight)) {
      const label = Number(key);
      if (!Number.isInteger(label) || label < 0) throw invalidArgument(operation, 'classWeight keys to be class indices', key);
      map.set(label, checkNumberInRange(operation, `classWeight[${key}]`, value, 0, Infinity));
    }
    return map;
  }

  private checkInputShape(operation: string, shape: readonly number[]): void {
    const expected = this.built?.inputShape ?? this.declaredInputShape();
    if (!expected) return;
    const received = shape.slice(1);
    if (received.length !== expected.length || received.some((d, i) => d !== expected[i])) {
      throw new ValueError(
        `${operation}: expected input of shape ${formatShape(expected)} but received ${formatShape(received, shape[0])}`,
      );
    }
  }

  /** Checks an iterator's declared input shape before any training starts. */
  private checkSourceShape(operation: string, argument: string, source: BatchIterator): void {
    const expected = this.built?.inputShape ?? this.declaredInputShape();
    if (!expected || !source.inputShape) return;
    const received = [...source.inputShape];
    if (received.length !== expected.length || received.some((d, i) => d !== expected[i])) {
      throw new ValueError(
        `${operation}: ${argument} yields inputs of shape ${formatShape(received)} but the model expects ${formatShape(expected)}` +
          (received.length === 3 ? ' (read the images with the targetSize of the model\'s input)' : ''),
      );
    }
  }

  /** Inputs as a Tensor of shape [batch, ...inputShape]; flat typed arrays are reshaped. */
  private toInput(operation: string, x: TensorLike): Tensor {
    checkAlive(operation, 'x', x);
    let xs: Tensor;
    try {
      xs = x instanceof Tensor ? x : tensor(x);
    } catch (error) {
      throw new ValueError(`${operation}: x: ${(error as Error).message}`);
    }
    const expected = this.built?.inputShape ?? this.declaredInputShape();
    if (expected && xs.rank === 1 && expected.length > 1) {
      const per = expected.reduce((a, b) => a * b, 1);
      if (xs.size % per !== 0) {
        throw invalidArgument(operation, `x with a multiple of ${per} values (samples of shape ${formatShape(expected)})`, described(`${xs.size} values`));
      }
      xs = xs.reshape([xs.size / per, ...expected]);
    }
    if (xs.rank < 2) throw invalidArgument(operation, 'x with a batch axis (rank 2 or more)', described(`shape [${xs.shape.join(', ')}]`));
    if (xs.shape[0] === 0) throw invalidArgument(operation, 'x with at least one sample', described('an empty batch'));
    if (xs.dtype === 'int64' || xs.dtype === 'bool') throw invalidArgument(operation, 'x of a numeric dtype', xs.dtype);
    this.checkInputShape(operation, xs.shape);
    return xs;
  }

  private toTensors(operation: string, x: TensorLike, y: TensorLike): [Tensor, Tensor] {
    const xs = this.toInput(operation, x);
    checkAlive(operation, 'y', y);
    let ys: Tensor;
    try {
      ys = y instanceof Tensor ? y : tensor(y);
    } catch (error) {
      throw new ValueError(`${operation}: y: ${(error as Error).message}`);
    }
    if (ys.rank === 0 || ys.shape[0] !== xs.shape[0]) {
      throw invalidArgument(operation, `y with as many samples as x (${xs.shape[0]})`, described(`shape [${ys.shape.join(', ')}]`));
    }
    return [xs, ys];
  }

  private validationTensors(operation: string, data: unknown, batchSize: number): BatchIterator {
    if (!Array.isArray(data) || data.length !== 2) {
      throw invalidArgument(operation, 'validationData to be [x, y] or a data iterator', data);
    }
    const [xs, ys] = this.toTensors(`${operation} validationData`, data[0] as TensorLike, data[1] as TensorLike);
    return new TensorBatches(xs, ys, batchSize, false);
  }
}

/** Recreates a model saved with `model.save()`: same layers, weights, compile options, optimizer state. */
export async function loadModel(file: string): Promise<Sequential> {
  checkFilePath('loadModel', file);
  const loaded = await readModelFile(file);
  const layers = layersFromConfig(file, loaded.config);
  // Before anything is built: a config that contradicts the stored weights (a hostile file asking for
  // Dense(1e9)) must be refused before libtorch allocates what it asks for.
  checkStoredWeights(file, layers, loaded);
  const model = new Sequential({ name: loaded.config.name });
  for (const layer of layers) model.add(layer);
  if (loaded.compile) {
    const optimizerConfig = loaded.compile.optimizer;
    const optimizer = OPTIMIZER_CLASSES[optimizerConfig?.className];
    if (!optimizer) throw new ValueError(`${file}: unknown optimizer ${JSON.stringify(optimizerConfig?.className)} in the compile config`);
    model.compile({ optimizer: new optimizer(optimizerConfig.config as never), loss: loaded.compile.loss, metrics: loaded.compile.metrics });
  }
  if (!model.inputShape && loaded.config.inputShape) model.buildFor(loaded.config.inputShape);
  restoreWeights(model, file, loaded);
  if (loaded.classIndices) model.classIndices = loaded.classIndices;
  return model;
}

/** A disposed Tensor given as data is the caller's mistake; name it before libtorch is asked to read it. */
function checkAlive(operation: string, argument: string, value: unknown): void {
  if (value instanceof Tensor && value.isDisposed) {
    throw invalidArgument(operation, `${argument} to be a live Tensor`, described('a disposed Tensor'));
  }
}

function checkFilePath(operation: string, file: unknown): void {
  if (typeof file !== 'string' || file.length === 0) throw invalidArgument(operation, 'a file path', file);
}

function checkVerbose(operation: string, verbose: unknown): 0 | 1 | 2 {
  if (verbose === 'auto') return 1;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) {
    throw invalidArgument(operation, 'verbose to be 0, 1 or 2', verbose);
  }
  return verbose;
}

export type { Batch };
