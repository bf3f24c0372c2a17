/**
 * Training, as Keras 3's Trainer: compile options (one loss or one per output, loss weights, metrics per
 * output), fit/evaluate/predict over tensors or iterators, and the *OnBatch steps. Every native call of a
 * model goes through one queue, so predict or evaluate called during fit waits for the current step,
 * never races it. The model's structure is lib/models' business; this file sees it through TrainerHost.
 */
import { CallbackHooks, CallbackList, History, Logs } from '../callbacks/callback';
import { ProgressLogger } from '../callbacks/progress';
import { Batch, BatchData, BatchIterator, batchSize as samplesInBatch, isBatchIterator } from '../data';
import { isConsumable } from '../data/dataset';
import { checkRanksAgree, dataParallel, RankAveraging, shard, startFromRankZero } from '../distributed/averaging';
import { rank as distributedRank } from '../distributed';
import { described, invalidArgument, ValueError } from '../errors';
import { foldableActivation, getLoss, isSerializedLoss, Loss, serializeLoss } from '../losses';
import { getMetric, Metric, serializeMetric } from '../metrics';
import { reseedRandomLayersForEpoch } from '../layers/core';
import type { Layer } from '../layers/layer';
import type { NativeModel, NativeTensor } from '../native/binding';
import { getOptimizer, Optimizer, OptimizerIdentifier } from '../optimizers';
import { concat, Tensor, tensor, TensorLike } from '../tensor';
import {
  checkBoolean,
  checkKnownOptions,
  checkNonNegativeInteger,
  checkNumberInRange,
  checkPlainObject,
  checkPositiveInteger,
  formatShape,
} from '../validation';
import { checkAlive, checkInputs, checkSampleShape, checkSampleWeight, checkTargets, DataLike, toTensorList } from './data-adapter';
import { BatchSource, isBatchSource, IterableBatches, knownLength } from './iterable-batches';
import { forEachBatch, RunningMeans, runEpochs } from './loop';
import { TensorBatches } from './tensor-batches';

/**
 * A loss for each output: one name or Loss object for all, an array in the outputs' order, or an object
 * keyed by output name (null: no loss).
 */
export type LossIdentifier = string | Loss | (string | Loss | null)[] | Record<string, string | Loss | null>;
/** A metric's name ('accuracy', 'AUC', 'mse', ...) or a Metric object (`new metrics.AUC({ curve: 'PR' })`). */
export type MetricIdentifier = string | Metric;
/** Metrics for every output, an array of arrays in the outputs' order, or an object keyed by output name. */
export type MetricsIdentifier = MetricIdentifier[] | MetricIdentifier[][] | Record<string, MetricIdentifier | MetricIdentifier[]>;
/** One weight per sample, Keras's `sample_weight`. */
export type SampleWeight = Tensor | TensorLike;

export interface CompileArgs {
  /** 'adam', 'sgd', 'rmsprop', 'adamw', 'adagrad', 'nadam', 'adamax', 'lion' or an Optimizer instance. Default 'rmsprop' (Keras's). */
  optimizer?: OptimizerIdentifier;
  loss: LossIdentifier;
  /** E.g. ['accuracy', 'AUC', new metrics.Precision()]; 'accuracy' is resolved from each output's loss as Keras does. */
  metrics?: MetricsIdentifier;
  /** Each output's weight in the total loss: an array in the outputs' order or an object keyed by output name. Default 1 each. */
  lossWeights?: number[] | Record<string, number>;
}

export type ClassWeight = Record<number | string, number>;

export interface FitArgs {
  /** Default 32 (tensors only; an iterator has its own). */
  batchSize?: number;
  /** Default 1. */
  epochs?: number;
  /** 0 silent, 1 progress bar, 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  /**
   * [x, y] or [x, y, sampleWeight] data, an iterator, or an Iterable/AsyncIterable of [x, y] or {xs, ys}
   * batches, evaluated after each epoch.
   */
  validationData?: [DataLike, DataLike] | [DataLike, DataLike, SampleWeight] | BatchIterator | BatchSource;
  /** The fraction of (tensor) samples, taken from the end before shuffling, held out for validation. */
  validationSplit?: number;
  /** Batches of an iterator's validation per epoch. Default its length (an iterable's: until it runs out). */
  validationSteps?: number;
  /** Shuffle tensor samples every epoch. Default true. */
  shuffle?: boolean;
  /**
   * Batches per epoch. Default: one pass over the data. Required for an iterable of unknown size (a
   * generator); with it, one iterator runs on across epochs, and fit stops with a warning if it runs out.
   */
  stepsPerEpoch?: number;
  /** The epoch to start from (resuming). Default 0. */
  initialEpoch?: number;
  callbacks?: CallbackHooks[];
  /** Label -> weight of that class's samples in the loss (multiplied with sampleWeight, as Keras does). */
  classWeight?: ClassWeight;
  /** One weight per sample of x (tensors only; an iterator yields [x, y, sampleWeight] batches instead). */
  sampleWeight?: SampleWeight;
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
  /** One weight per sample of x (tensors only). */
  sampleWeight?: SampleWeight;
}

export interface OnBatchArgs {
  /** One weight per sample of the batch. */
  sampleWeight?: SampleWeight;
  /** Label -> weight of that class's samples (trainOnBatch only). */
  classWeight?: ClassWeight;
}

export interface PredictArgs {
  batchSize?: number;
  verbose?: 0 | 1 | 2;
  steps?: number;
}

/** What predict returns: a Tensor for one output, else one per output as the model's outputs were given. */
export type Prediction = Tensor | Tensor[] | Record<string, Tensor>;

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
  'sampleWeight',
  'signal',
];

/** The native model of a built model, with what training needs to know of its structure. */
export interface BuiltModel {
  native: NativeModel;
  /** Each output's shape without the batch axis. */
  outputShapes: number[][];
  /** The activation each output ends with ('linear' when none). */
  finalActivations: string[];
  /** Each weight's shape, in order. */
  weightShapes: number[][];
  /** Each native graph layer's current `trainable` (frozen layers get no gradient). */
  trainableFlags(): boolean[];
}

/** The model as the trainer sees it. */
export interface TrainerHost {
  readonly name: string;
  stopTraining: boolean;
  classIndices?: Record<string, number>;
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** How predict returns several outputs: as an array, or keyed by name (when the outputs were given so). */
  readonly outputStructure: 'single' | 'array' | 'object';
  /** The model's layers (nested models among them): fit restarts their Dropout streams each epoch. */
  readonly layers: readonly Layer[];
  /** Each input's sample shape, once known. */
  knownInputShapes(): number[][] | undefined;
  /** The built native model, building it for `inputShapes` when the model does not know its own yet. */
  built(operation: string, inputShapes?: number[][]): BuiltModel;
}

interface OutputCompile {
  loss: Loss | null;
  weight: number;
  metrics: Metric[];
}

interface Compiled {
  args: CompileArgs;
  optimizer: Optimizer;
  outputs: OutputCompile[];
  /** The names logs use, in the order the native step returns the values: the losses, then the metrics. */
  names: string[];
  /** How many of `names` are losses. */
  lossCount: number;
}

export class Trainer {
  private compiled?: Compiled;
  private training = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Calls scheduled on this model that have not settled yet. */
  private pending = 0;
  /** The trainable flags last sent to the native model, to send them again only when they change. */
  private sentFlags = new WeakMap<NativeModel, string>();
  /**
   * Metric streams (their totals live natively) -> the native model that holds them. A fit's training
   * is one stream, each evaluation another, so that calls queued side by side never mix their totals;
   * stream 0 is the *OnBatch steps', which reset it every time.
   */
  private metricStreams = new Map<number, NativeModel>();
  private lastMetricStream = 0;

  constructor(private readonly model: TrainerHost) {}

  get optimizer(): Optimizer | undefined {
    return this.compiled?.optimizer;
  }

  get isTraining(): boolean {
    return this.training;
  }

  get isCompiled(): boolean {
    return this.compiled !== undefined;
  }

  compile(args: CompileArgs): void {
    checkPlainObject('compile', 'options', args);
    checkKnownOptions('compile', args, ['optimizer', 'loss', 'metrics', 'lossWeights']);
    if (this.training) throw new ValueError('compile: the model is training; wait for fit to finish');
    const names = this.model.outputNames;
    const losses = perOutput('loss', args.loss, names, (value) => (value === null ? null : getLoss(value)), true, isSingleLoss);
    if (losses.every((loss) => loss === null)) throw invalidArgument('compile', 'a loss for at least one output', args.loss);
    const weights = args.lossWeights === undefined
      ? names.map(() => 1)
      : perOutput('lossWeights', args.lossWeights, names, (value) => checkNumberInRange('compile', 'lossWeights', value, 0, Infinity), false);
    const metricLists = compileMetrics(args.metrics, names);
    const optimizer = getOptimizer(args.optimizer ?? 'rmsprop');
    const outputs: OutputCompile[] = names.map((_, i) => ({
      loss: losses[i],
      weight: weights[i],
      metrics: losses[i] === null ? [] : metricLists[i],
    }));
    // Keras's log names: 'loss', then with several outputs each output's loss and its metrics by name.
    const several = names.length > 1;
    const logNames = ['loss'];
    if (several) outputs.forEach((o, i) => o.loss !== null && logNames.push(`${names[i]}_loss`));
    const lossCount = logNames.length;
    outputs.forEach((o, i) => o.metrics.forEach((m) => logNames.push(several ? `${names[i]}_${m.name}` : m.name)));
    const duplicate = logNames.find((name, i) => logNames.indexOf(name) !== i);
    if (duplicate !== undefined) throw invalidArgument('compile', 'metrics with distinct names (give one a name option)', described(`'${duplicate}' twice`));
    this.compiled = { args, optimizer, outputs, names: logNames, lossCount };
    // Resolving metrics needs the output units: compiled natively once the model is built.
    if (this.model.knownInputShapes()) this.compileNative(this.model.built('compile'));
  }

  /** @internal Compiles a freshly built native model (called by the model whenever it builds one). */
  onBuilt(built: BuiltModel): void {
    if (this.compiled) this.compileNative(built);
  }

  /** @internal The options persistence stores. */
  compileConfig(): { optimizer: { className: string; config: Record<string, unknown> }; loss: LossIdentifier; metrics?: MetricsIdentifier; lossWeights?: number[] | Record<string, number> } | undefined {
    if (!this.compiled) return undefined;
    const { optimizer, args } = this.compiled;
    return {
      optimizer: { className: optimizer.className, config: optimizer.getConfig() },
      loss: mapIdentifiers(args.loss, serializeLoss, isSingleLoss) as LossIdentifier,
      metrics: mapIdentifiers(args.metrics ?? [], serializeMetric, () => false) as MetricsIdentifier,
      ...(args.lossWeights !== undefined ? { lossWeights: args.lossWeights } : {}),
    };
  }

  private compileNative(built: BuiltModel): void {
    const compiled = this.compiled!;
    built.native.compile({
      optimizer: compiled.optimizer.toSpec(),
      outputs: compiled.outputs.map((output, i) => {
        if (output.loss === null) return { weight: output.weight, metrics: [], foldedActivation: '' };
        const loss = output.loss;
        const foldable = foldableActivation(loss);
        // Only metrics read the output's units: a TorchScript model runs a forward to learn its output shapes.
        const context = () => ({ loss, outputUnits: built.outputShapes[i][built.outputShapes[i].length - 1] });
        return {
          loss: loss.toSpec(),
          weight: output.weight,
          metrics: output.metrics.map((metric) => metric.toSpec(context())),
          foldedActivation: foldable !== undefined && built.finalActivations[i] === foldable ? foldable : '',
        };
      }),
    });
    compiled.optimizer.bind(built.native);
  }

  private requireCompiled(operation: string): Compiled {
    if (!this.compiled) throw new ValueError(`${operation}: the model must be compiled first; call compile({optimizer, loss})`);
    return this.compiled;
  }

  /** Serialises every native call of this model. */
  schedule<T>(work: () => Promise<T>): Promise<T> {
    return this.track(this.queue.then(work, work));
  }

  /** `work` started now, in the caller's turn: only when nothing is queued (`pending` is 0). */
  private startNow<T>(work: () => Promise<T>): Promise<T> {
    let result: Promise<T>;
    try {
      result = work();
    } catch (error) {
      result = Promise.reject(error);
    }
    return this.track(result);
  }

  private track<T>(result: Promise<T>): Promise<T> {
    this.pending += 1;
    const settled = () => {
      this.pending -= 1;
    };
    this.queue = result.then(settled, settled);
    return result;
  }

  // ---- fit ---------------------------------------------------------------------------------------

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
    return this.fit('fitGenerator', iterator, fitArgs);
  }

  async fit(operation: string, x: DataLike | BatchIterator | BatchSource, yOrArgs?: DataLike | FitArgs, maybeArgs?: FitArgs): Promise<History> {
    const iteratorInput = isBatchIterator(x) || isBatchSource(x);
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
      source = isBatchIterator(x) ? x : this.iterableSource(operation, 'x', x as BatchSource, args.stepsPerEpoch, 'train');
      if (args.validationSplit !== undefined) {
        throw invalidArgument(operation, 'validationData (validationSplit works on tensors only)', args.validationSplit);
      }
      if (args.sampleWeight !== undefined) {
        throw invalidArgument(operation, 'sample weights from the iterator (its batches as [x, y, sampleWeight]); sampleWeight works on tensors only', described('sampleWeight'));
      }
    } else {
      if (yOrArgs === undefined || isOptionsLike(yOrArgs)) {
        throw invalidArgument(operation, 'targets y after the inputs x (or a data iterator as x)', yOrArgs);
      }
      let [xs, ys] = this.toTensors(operation, x, yOrArgs as DataLike);
      let weights = args.sampleWeight === undefined ? null : checkSampleWeight(operation, args.sampleWeight, xs[0].shape[0]);
      if (args.validationSplit !== undefined && args.validationSplit !== 0) {
        const split = checkNumberInRange(operation, 'validationSplit', args.validationSplit, 0, 1, { maxExclusive: true });
        const samples = xs[0].shape[0];
        const trainCount = Math.floor(samples * (1 - split));
        if (trainCount === 0 || trainCount === samples) {
          throw invalidArgument(operation, `a validationSplit that leaves samples on both sides of ${samples}`, split);
        }
        // Keras holds out the last samples, before any shuffling.
        const part = (tensors: Tensor[], start: number, count: number) => tensors.map((t) => new Tensor(t.native.narrow(start, count)));
        const heldOut = (tensors: Tensor[]) => part(tensors, trainCount, samples - trainCount);
        validation = this.batches(heldOut(xs), heldOut(ys), batchSize, false, weights && heldOut([weights])[0]);
        [xs, ys] = [part(xs, 0, trainCount), part(ys, 0, trainCount)];
        weights = weights && part([weights], 0, trainCount)[0];
      }
      source = this.batches(xs, ys, batchSize, shuffle, weights);
    }
    if (source.length === 0) throw invalidArgument(operation, 'training data with at least one sample', source.samples ?? 0);
    if (args.validationData !== undefined) {
      const given = args.validationData;
      validation = isBatchIterator(given)
        ? given
        : isBatchSource(given)
          ? this.iterableSource(operation, 'validationData', given, args.validationSteps, 'evaluate')
          : this.validationTensors(operation, given, batchSize);
    }
    this.checkSourceShape(operation, 'x', source);
    if (validation) this.checkSourceShape(operation, 'validationData', validation);
    const parallel = dataParallel();
    if (parallel) {
      if (source instanceof IterableBatches || validation instanceof IterableBatches) {
        throw invalidArgument(operation, 'tensors or an indexed BatchIterator for distributed training (each rank takes its share by index)', described('an iterable'));
      }
      source = shard(source);
      if (validation) validation = shard(validation);
    }

    const steps = checkPositiveInteger(operation, 'stepsPerEpoch', args.stepsPerEpoch ?? source.length);
    const validationSteps = validation ? stepCount(operation, 'validationSteps', args.validationSteps, validation) : 0;
    const classWeight = args.classWeight === undefined ? undefined : checkClassWeight(operation, args.classWeight);

    const history = new History();
    // As in Keras, the progress bar comes last, so it shows what other callbacks add to the logs.
    // First of all, each epoch restarts the random layers' streams from their seeds and the epoch, so an
    // epoch's masks do not depend on the epochs before it (a fit resumed there draws the same ones).
    const dropoutStreams: CallbackHooks = { onEpochBegin: (epoch) => reseedRandomLayersForEpoch(this.model.layers, epoch) };
    // With several ranks only rank 0 prints and writes files, as torch.distributed scripts do.
    const onThisRank = (callback: CallbackHooks) => !callback.rankZeroOnly || !parallel || distributedRank() === 0;
    const callbacks: CallbackHooks[] = [dropoutStreams, ...(parallel ? [new RankAveraging()] : []), ...callbacksGiven, history];
    if (verbose > 0) callbacks.push(new ProgressLogger(verbose as 1 | 2));
    const list = new CallbackList(callbacks.filter(onThisRank));
    const names = [...compiled.names, ...(validation ? compiled.names.map((n) => `val_${n}`) : [])];
    list.configure(this.model as never, { epochs, steps, verbose, metrics: names });

    if (source.classIndices) this.model.classIndices = { ...source.classIndices };
    this.training = true;
    this.model.stopTraining = false;
    const stream = ++this.lastMetricStream;
    try {
      if (parallel) {
        const shapes = source.inputShape ? [[...source.inputShape]] : undefined;
        const built = this.model.built(operation, shapes);
        const sizes = built.weightShapes.map((shape) => shape.reduce((a, b) => a * b, 1));
        await checkRanksAgree(operation, {
          weights: sizes.length,
          parameters: sizes.reduce((a, b) => a + b, 0),
          // Weighs each weight's size by its position: the same sizes in another order differ here.
          layout: sizes.reduce((total, size, i) => total + (i + 1) * size, 0),
          stepsPerEpoch: steps,
          validationSteps,
          epochs,
        });
        await this.schedule(() => startFromRankZero(built.native));
      }
      await runEpochs(source, (batch, resetMetrics) => this.step('train', batch, classWeight, stream, resetMetrics), {
        epochs,
        initialEpoch,
        steps,
        names: compiled.names,
        lossCount: compiled.lossCount,
        callbacks: list,
        signal: args.signal,
        shouldStop: () => this.model.stopTraining,
        validate: validation ? () => this.evaluateSource(validation!, validationSteps, 'val_', args.signal) : undefined,
      });
    } finally {
      this.training = false;
      this.releaseMetricStream(stream);
    }
    return history;
  }

  // ---- evaluate and predict ----------------------------------------------------------------------

  async evaluate(x: DataLike | BatchIterator | BatchSource, y?: DataLike | EvaluateArgs, args?: EvaluateArgs): Promise<number | number[] | Logs> {
    const iteratorInput = isBatchIterator(x) || isBatchSource(x);
    const options = (iteratorInput ? y ?? {} : args ?? {}) as EvaluateArgs;
    checkPlainObject('evaluate', 'options', options);
    checkKnownOptions('evaluate', options, ['batchSize', 'verbose', 'steps', 'returnDict', 'sampleWeight']);
    this.requireCompiled('evaluate');
    checkVerbose('evaluate', options.verbose ?? 1);
    const batchSize = checkPositiveInteger('evaluate', 'batchSize', options.batchSize ?? 32);
    let source: BatchIterator;
    if (iteratorInput) {
      source = isBatchIterator(x) ? x : this.iterableSource('evaluate', 'x', x as BatchSource, options.steps, 'evaluate');
      if (options.sampleWeight !== undefined) {
        throw invalidArgument('evaluate', 'sample weights from the iterator (its batches as [x, y, sampleWeight]); sampleWeight works on tensors only', described('sampleWeight'));
      }
    } else {
      if (y === undefined) throw invalidArgument('evaluate', 'targets y after the inputs x', y);
      const [xs, ys] = this.toTensors('evaluate', x, y as DataLike);
      const weights = options.sampleWeight === undefined ? null : checkSampleWeight('evaluate', options.sampleWeight, xs[0].shape[0]);
      source = this.batches(xs, ys, batchSize, false, weights);
    }
    this.checkSourceShape('evaluate', 'x', source);
    const steps = stepCount('evaluate', 'steps', options.steps, source);
    const logs = await this.evaluateSource(source, steps, '');
    if (options.returnDict) return logs;
    const values = Object.values(logs);
    return values.length === 1 ? values[0] : values;
  }

  async predict(x: DataLike | BatchIterator | BatchSource, args: PredictArgs = {}): Promise<Prediction> {
    checkPlainObject('predict', 'options', args);
    checkKnownOptions('predict', args, ['batchSize', 'verbose', 'steps']);
    checkVerbose('predict', args.verbose ?? 0);
    const batchSize = checkPositiveInteger('predict', 'batchSize', args.batchSize ?? 32);
    const inputs = isBatchIterator(x) || isBatchSource(x) ? null : this.toInputs('predict', x as DataLike);
    // Data that fits one batch goes to the native predict as it is: a serving loop's single images skip
    // the batch iterator, its views and its promise chain. The batched walk is a function of its own so
    // that this one, suspended while each call runs, stays small: what a predict allocates sets how often
    // V8 collects garbage, and its collector's threads then compete with libtorch's for the cores.
    if (inputs && args.steps === undefined && inputs[0].shape[0] <= batchSize) return this.structured(await this.predictBatch('predict', inputs));
    return this.predictInBatches(x, inputs, batchSize, args.steps);
  }

  private async predictInBatches(x: DataLike | BatchIterator | BatchSource, inputs: Tensor[] | null, batchSize: number, stepsGiven: number | undefined): Promise<Prediction> {
    const source = isBatchIterator(x)
      ? x
      : isBatchSource(x)
        ? this.iterableSource('predict', 'x', x, stepsGiven, 'predict')
        : this.batches(inputs!, null, batchSize, false);
    this.checkSourceShape('predict', 'x', source);
    const steps = stepCount('predict', 'steps', stepsGiven, source);
    const outputs: Tensor[][] = [];
    await forEachBatch(source, steps, { next: 0 }, async ([bx]) => {
      outputs.push(await this.predictBatch('predict', this.batchInputs('predict', bx)));
    }, undefined, 'predict');
    if (outputs.length === 0) throw invalidArgument('predict', 'x to yield at least one batch', described('none'));
    const joined = this.model.outputNames.map((_, i) => {
      const parts = outputs.map((batch) => batch[i]);
      if (parts.length === 1) return parts[0];
      const result = concat(parts);
      parts.forEach((part) => part.dispose());
      return result;
    });
    return this.structured(joined);
  }

  async predictOnBatch(x: DataLike): Promise<Prediction> {
    return this.structured(await this.predictBatch('predictOnBatch', this.toInputs('predictOnBatch', x)));
  }

  /** @internal One call's inputs as tensors in the model's input order, checked against its input shapes (dynamic batching). */
  predictionInputs(operation: string, x: DataLike): Tensor[] {
    return this.toInputs(operation, x);
  }

  /** @internal One native predict of checked inputs: one tensor per output (dynamic batching). */
  predictTensors(operation: string, xs: Tensor[]): Promise<Tensor[]> {
    return this.predictBatch(operation, xs);
  }

  /** @internal Outputs in the form predict returns them. */
  structuredPrediction(outputs: Tensor[]): Prediction {
    return this.structured(outputs);
  }

  /** One training step; its metrics are this batch's alone, as tfjs reports them. */
  async trainOnBatch(x: DataLike, y: DataLike, args: OnBatchArgs = {}): Promise<number | number[]> {
    checkPlainObject('trainOnBatch', 'options', args);
    checkKnownOptions('trainOnBatch', args, ['sampleWeight', 'classWeight']);
    this.requireCompiled('trainOnBatch');
    if (this.training) throw new ValueError('trainOnBatch: a fit() call is ongoing on this model; await it first');
    const classWeight = args.classWeight === undefined ? undefined : checkClassWeight('trainOnBatch', args.classWeight);
    const [xs, ys] = this.toTensors('trainOnBatch', x, y);
    const weights = args.sampleWeight === undefined ? undefined : checkSampleWeight('trainOnBatch', args.sampleWeight, xs[0].shape[0]);
    const values = await this.step('train', [xs, ys, weights], classWeight, 0, true);
    return values.length === 1 ? values[0] : values;
  }

  async testOnBatch(x: DataLike, y: DataLike, args: Omit<OnBatchArgs, 'classWeight'> = {}): Promise<number | number[]> {
    checkPlainObject('testOnBatch', 'options', args);
    checkKnownOptions('testOnBatch', args, ['sampleWeight']);
    this.requireCompiled('testOnBatch');
    const [xs, ys] = this.toTensors('testOnBatch', x, y);
    const weights = args.sampleWeight === undefined ? undefined : checkSampleWeight('testOnBatch', args.sampleWeight, xs[0].shape[0]);
    const values = await this.step('evaluate', [xs, ys, weights], undefined, 0, true);
    return values.length === 1 ? values[0] : values;
  }

  // ---- steps -------------------------------------------------------------------------------------

  private structured(outputs: Tensor[]): Prediction {
    if (this.model.outputStructure === 'single') return outputs[0];
    if (this.model.outputStructure === 'array') return outputs;
    return Object.fromEntries(this.model.outputNames.map((name, i) => [name, outputs[i]]));
  }

  /**
   * One native step over `batch` ([x, y, sampleWeight?]), its metrics adding to `metricStream`'s totals;
   * `resetMetrics` starts them afresh.
   */
  private step(
    kind: 'train' | 'evaluate',
    [x, y, batchWeights]: [BatchData | Tensor[], BatchData | Tensor[] | null, Tensor?],
    classWeight: Map<number, number> | undefined,
    metricStream: number,
    resetMetrics: boolean,
  ): Promise<number[]> {
    const operation = kind === 'train' ? 'fit' : 'evaluate';
    const xs = this.batchInputs(operation, x);
    if (!y) throw new ValueError(`${operation}: the data yields no targets (classMode null?); targets are needed to compute a loss`);
    const ys = toTensorList(operation, 'y', y, this.model.outputNames, 'output');
    const built = this.model.built(operation, xs.map((t) => t.shape.slice(1)));
    this.checkInputShapes(operation, xs);
    const compiled = this.requireCompiled(operation);
    // The step holds views of its data from the call on: the caller may dispose the tensors while it waits.
    const inputs = holdForStep(xs);
    const targets = holdForStep(ys).map((t, i) => (compiled.outputs[i].loss === null ? null : t));
    // An iterator's weights are checked here; the caller's were checked where they were given.
    const given = batchWeights === undefined ? undefined : checkSampleWeight(operation, batchWeights, xs[0].shape[0]);
    const weights = classWeight ? classWeightedSamples(ys[0], classWeight, given) : given;
    const [sampleWeight] = weights ? holdForStep([weights]) : [null];
    if (metricStream !== 0) this.metricStreams.set(metricStream, built.native);
    const step = this.schedule(() => {
      this.syncTrainable(built);
      return kind === 'train'
        ? built.native.trainStep(inputs, targets, sampleWeight, metricStream, resetMetrics)
        : built.native.evaluateStep(inputs, targets, sampleWeight, metricStream, resetMetrics);
    });
    return step.finally(() => releaseHeld([...inputs, ...targets, sampleWeight]));
  }

  /** Frees a finished stream's native metric totals, after the steps queued before. */
  private releaseMetricStream(stream: number): void {
    const native = this.metricStreams.get(stream);
    if (!native) return;
    this.metricStreams.delete(stream);
    this.schedule(async () => native.releaseMetrics(stream)).catch(() => undefined);
  }

  /** `trainable` changed on a layer (or a nested model) takes effect at the next step. */
  private syncTrainable(built: BuiltModel): void {
    const flags = built.trainableFlags();
    const key = flags.map(Number).join('');
    if (this.sentFlags.get(built.native) === key) return;
    built.native.setTrainable(flags);
    this.sentFlags.set(built.native, key);
  }

  private async predictBatch(operation: string, xs: Tensor[]): Promise<Tensor[]> {
    const built = this.model.built(operation, xs.map((t) => t.shape.slice(1)));
    this.checkInputShapes(operation, xs);
    // With nothing queued on the model the native call starts now and holds its inputs itself (a
    // serving loop's case: no views to make and collect). A call that waits its turn holds views, since
    // the caller may dispose the tensors meanwhile.
    if (this.pending === 0) {
      const natives = await this.startNow(() => built.native.predict(liveNatives(xs)));
      return natives.map((native) => new Tensor(native));
    }
    const inputs = holdForStep(xs);
    try {
      const natives = await this.schedule(() => built.native.predict(inputs));
      return natives.map((native) => new Tensor(native));
    } finally {
      releaseHeld(inputs);
    }
  }

  private async evaluateSource(source: BatchIterator, steps: number, prefix: string, signal?: AbortSignal): Promise<Logs> {
    const compiled = this.requireCompiled('evaluate');
    const means = new RunningMeans(compiled.names, compiled.lossCount);
    // Each evaluation of a re-iterable source is a fresh pass over it, as Keras's evaluate makes one.
    if (source instanceof IterableBatches) source.restart();
    const stream = ++this.lastMetricStream;
    try {
      await forEachBatch(source, steps, { next: 0 }, async (batch, step) => {
        means.add(await this.step('evaluate', batch, undefined, stream, step === 0), samplesInBatch(batch[0]));
      }, signal, signal ? 'fit' : 'evaluate');
    } finally {
      this.releaseMetricStream(stream);
    }
    return means.logs(prefix);
  }

  // ---- data --------------------------------------------------------------------------------------

  private batches(xs: Tensor[], ys: Tensor[] | null, batchSize: number, shuffle: boolean, sampleWeight: Tensor | null = null): TensorBatches {
    const single = (tensors: Tensor[], names: string[]) => (names.length === 1 ? tensors[0] : tensors);
    return new TensorBatches(single(xs, this.model.inputNames), ys ? single(ys, this.model.outputNames) : null, batchSize, shuffle, sampleWeight);
  }

  /** A batch's inputs (from an iterator or the caller) in the model's input order. */
  private batchInputs(operation: string, x: BatchData | Tensor[]): Tensor[] {
    return toTensorList(operation, 'x', x, this.model.inputNames, 'input');
  }

  private toInputs(operation: string, x: DataLike): Tensor[] {
    const names = this.model.inputNames;
    const known = this.model.knownInputShapes();
    return checkInputs(operation, toTensorList(operation, 'x', x, names, 'input'), known ?? names.map(() => undefined), names);
  }

  private toTensors(operation: string, x: DataLike, y: DataLike): [Tensor[], Tensor[]] {
    const xs = this.toInputs(operation, x);
    checkAlive(operation, 'y', y);
    const ys = toTensorList(operation, 'y', y, this.model.outputNames, 'output');
    checkTargets(operation, ys, xs[0].shape[0], this.model.outputNames);
    return [xs, ys];
  }

  private checkInputShapes(operation: string, xs: Tensor[]): void {
    const known = this.model.knownInputShapes();
    if (!known) return;
    xs.forEach((x, i) => checkSampleShape(operation, xs.length > 1 ? `x[${i}]` : 'x', x.shape, known[i]));
  }

  /** Checks an iterator's declared input shape before any training starts. */
  private checkSourceShape(operation: string, argument: string, source: BatchIterator): void {
    const known = this.model.knownInputShapes();
    if (!known || known.length !== 1 || !source.inputShape) return;
    const expected = known[0];
    const received = [...source.inputShape];
    if (received.length !== expected.length || received.some((d, i) => d !== expected[i])) {
      throw new ValueError(
        `${operation}: ${argument} yields inputs of shape ${formatShape(received)} but the model expects ${formatShape(expected)}` +
          (received.length === 3 ? " (read the images with the targetSize of the model's input)" : ''),
      );
    }
  }

  /**
   * An Iterable or AsyncIterable of batches as a BatchIterator. Training ('train') takes `steps` batches
   * per epoch from one iterator, or one pass per epoch when the source knows its size; evaluation and
   * prediction take `steps` batches, or all of one pass.
   */
  private iterableSource(operation: string, argument: string, data: BatchSource, steps: number | undefined, use: 'train' | 'evaluate' | 'predict'): IterableBatches {
    const stepsName = use === 'train' ? 'stepsPerEpoch' : argument === 'validationData' ? 'validationSteps' : 'steps';
    if (steps !== undefined) checkPositiveInteger(operation, stepsName, steps);
    const size = knownLength(data);
    if (size === 0 && use !== 'train') throw invalidArgument(operation, `${argument} to yield at least one batch`, described('an empty iterable'));
    let length: number;
    if (steps !== undefined) length = steps;
    else if (size !== undefined && size !== Infinity) length = size;
    else if (use === 'train') {
      throw invalidArgument(operation, `stepsPerEpoch when ${argument} is an iterable of unknown or infinite length (a generator, a repeated Dataset)`, steps);
    } else if (size === Infinity) {
      throw invalidArgument(operation, `${stepsName} when ${argument} is an infinite iterable (a repeated Dataset)`, steps);
    } else length = Infinity;
    const freshPassEachEpoch = use === 'train' && steps === undefined;
    return new IterableBatches(data, length, freshPassEachEpoch, (value) => this.yieldedBatch(operation, argument, value, use === 'predict'));
  }

  /** One value an iterable yielded, as a batch of tensors this call owns: [x, y], {xs, ys}, or for predict x alone. */
  private yieldedBatch(operation: string, argument: string, value: unknown, inputsOnly: boolean): Batch {
    let x: unknown;
    let y: unknown = null;
    const record = typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Tensor) && !ArrayBuffer.isView(value)
      ? (value as Record<string, unknown>)
      : undefined;
    if (record && Object.hasOwn(record, 'xs')) {
      x = record.xs;
      y = record.ys ?? null;
    } else if (Array.isArray(value) && (value.length === 2 || (inputsOnly && value.length === 1))) {
      [x, y = null] = value;
    } else if (Array.isArray(value) && value.length === 3 && !inputsOnly) {
      throw new ValueError(`${operation}: ${argument} yielded [x, y, sampleWeight]; sample weights from iterables are not supported: yield [x, y] or {xs, ys}`);
    } else if (inputsOnly) {
      x = value;
    } else {
      throw invalidArgument(operation, `${argument} to yield [x, y] or {xs, ys} batches`, value);
    }
    if (!inputsOnly && (y === null || y === undefined)) {
      throw invalidArgument(operation, `${argument} to yield targets with each batch ([x, y] or {xs, ys})`, value);
    }
    const names = this.model.inputNames;
    const known = this.model.knownInputShapes();
    const given = new Set<Tensor>();
    const collect = (data: unknown) => {
      if (data instanceof Tensor) given.add(data);
      else if (Array.isArray(data)) data.forEach((item) => item instanceof Tensor && given.add(item));
      else if (typeof data === 'object' && data !== null && !ArrayBuffer.isView(data)) Object.values(data).forEach((item) => item instanceof Tensor && given.add(item));
    };
    collect(x);
    collect(y);
    // Flat samples (a loader's typed array for the whole batch, or [samples, values] from Dataset.batch)
    // take the model's sample shape.
    const inputs = toTensorList(operation, 'x', x, names, 'input').map((t, i) => {
      const shape = known?.[i];
      if (!shape) return t;
      const per = shape.reduce((a, b) => a * b, 1);
      const flatSamples = t.rank === 1 ? t.size % per === 0 : t.rank === 2 && shape.length > 1 && t.shape[1] === per;
      return flatSamples ? t.reshape([t.size / per, ...shape]) : t;
    });
    const xs = checkInputs(operation, inputs, known ?? names.map(() => undefined), names);
    // The caller disposes the batch after its step: tensors the iterable yielded itself (which it may yield
    // again) are handed over as views; those a Dataset made for this batch alone are handed over as they are.
    const owned = (tensors: Tensor[]) => tensors.map((t) => (given.has(t) && !isConsumable(t) ? new Tensor(t.native.reshape([...t.shape])) : t));
    if (inputsOnly) return [owned(xs), null];
    const ys = toTensorList(operation, 'y', y, this.model.outputNames, 'output');
    checkTargets(operation, ys, xs[0].shape[0], this.model.outputNames);
    return [owned(xs), owned(ys)];
  }

  private validationTensors(operation: string, data: unknown, batchSize: number): BatchIterator {
    if (!Array.isArray(data) || (data.length !== 2 && data.length !== 3)) {
      throw invalidArgument(operation, 'validationData to be [x, y], [x, y, sampleWeight] or a data iterator', data);
    }
    const context = `${operation} validationData`;
    const [xs, ys] = this.toTensors(context, data[0] as DataLike, data[1] as DataLike);
    const weights = data.length === 3 ? checkSampleWeight(context, data[2], xs[0].shape[0]) : null;
    return this.batches(xs, ys, batchSize, false, weights);
  }
}

/** `given` steps, else the source's length (Infinity: an iterable read until it ends). */
function stepCount(operation: string, name: string, given: number | undefined, source: BatchIterator): number {
  if (given === undefined && source.length === Infinity) return Infinity;
  return checkPositiveInteger(operation, name, given ?? source.length);
}

/** Views of `tensors` (no copy) that a queued native call owns: disposing the originals cannot touch them. */
function holdForStep(tensors: Tensor[]): NativeTensor[] {
  return tensors.map((t) => {
    if (t.isDisposed) throw new ValueError('a Tensor given to this call was disposed before the call');
    return t.native.reshape([...t.shape]);
  });
}

/** The tensors' own native handles, for a native call made at once (it holds them from then on). */
function liveNatives(tensors: Tensor[]): NativeTensor[] {
  return tensors.map((t) => {
    if (t.isDisposed) throw new ValueError('a Tensor given to this call was disposed before the call');
    return t.native;
  });
}

function releaseHeld(views: (NativeTensor | null)[]): void {
  for (const view of views) view?.dispose();
}

/** An options object where y should be: `fit(x, {epochs})`. */
function isOptionsLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value) || value instanceof Tensor) return false;
  return Object.keys(value).some((key) => FIT_KEYS.includes(key));
}

/**
 * A per-output option: one value for every output, an array in the outputs' order, or an object keyed by
 * name. `isSingle` tells one value that is an object (a Loss) from an object keyed by output names.
 */
function perOutput<T>(
  option: string,
  value: unknown,
  names: readonly string[],
  convert: (value: unknown) => T,
  sharedAllowed: boolean,
  isSingle: (value: unknown) => boolean = () => false,
): T[] {
  if (isSingle(value)) return names.map(() => convert(value));
  if (Array.isArray(value)) {
    if (value.length !== names.length) {
      throw invalidArgument('compile', `${option} with one entry per output (${names.length}: ${names.map((n) => `'${n}'`).join(', ')})`, value);
    }
    return value.map(convert);
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !names.includes(key));
    if (unknown.length > 0) {
      throw invalidArgument('compile', `${option} keyed by output names (${names.map((n) => `'${n}'`).join(', ')})`, described(`key '${unknown[0]}'`));
    }
    // An output missing from the object has no loss (Keras), or weight 1.
    return names.map((name) => (Object.hasOwn(record, name) ? convert(record[name]) : convert(sharedAllowed ? null : 1)));
  }
  if (!sharedAllowed && names.length > 1) {
    throw invalidArgument('compile', `${option} as an array or an object keyed by output names`, value);
  }
  return names.map(() => convert(value));
}

function isSingleLoss(value: unknown): boolean {
  return value instanceof Loss || isSerializedLoss(value);
}

/** `convert` applied to every loss or metric of a compile option, keeping its arrays and objects as they are. */
function mapIdentifiers(value: unknown, convert: (identifier: unknown) => unknown, isSingle: (value: unknown) => boolean): unknown {
  if (isSingle(value) || value instanceof Metric) return convert(value);
  if (Array.isArray(value)) return value.map((item) => mapIdentifiers(item, convert, isSingle));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapIdentifiers(item, convert, isSingle)]));
  }
  return convert(value);
}

/** Whether a value of `metrics` is one metric: a name, a Metric, or a stored `{ className, config }`. */
function isOneMetric(value: unknown): boolean {
  return typeof value === 'string' || value instanceof Metric || (typeof value === 'object' && value !== null && 'className' in value && 'config' in value);
}

/** Metrics per output: a flat list applies to every output, as in Keras 2. */
function compileMetrics(metrics: unknown, names: readonly string[]): Metric[][] {
  if (metrics === undefined) return names.map(() => []);
  const list = (value: unknown, where: string): Metric[] => {
    const items = isOneMetric(value) ? [value] : value;
    if (!Array.isArray(items)) throw invalidArgument('compile', `${where} to be an array of metric names or Metric objects`, value);
    return items.map((item) => getMetric(item));
  };
  if (Array.isArray(metrics) && metrics.length > 0 && metrics.every(Array.isArray)) {
    if (metrics.length !== names.length) throw invalidArgument('compile', `metrics with one list per output (${names.length})`, metrics);
    return metrics.map((m, i) => list(m, `metrics[${i}]`));
  }
  if (Array.isArray(metrics)) return names.map(() => list(metrics, 'metrics'));
  if (typeof metrics === 'object' && metrics !== null && !isOneMetric(metrics)) {
    const record = metrics as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !names.includes(key));
    if (unknown.length > 0) throw invalidArgument('compile', `metrics keyed by output names`, described(`key '${unknown[0]}'`));
    return names.map((name) => (Object.hasOwn(record, name) ? list(record[name], `metrics.${name}`) : []));
  }
  throw invalidArgument('compile', 'metrics to be an array of metric names or Metric objects', metrics);
}

/**
 * Per-sample weights from class weights, times the given sample weights when there are some (Keras
 * multiplies the two); labels are class indices, 0/1, or one-hot rows.
 */
function classWeightedSamples(y: Tensor, classWeight: Map<number, number>, sampleWeight: Tensor | undefined): Tensor {
  const given = sampleWeight?.dataSync();
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
    weights[i] = (classWeight.get(label) ?? 1) * (given ? Number(given[i]) : 1);
  }
  return tensor(weights);
}

function checkClassWeight(operation: string, classWeight: ClassWeight): Map<number, number> {
  checkPlainObject(operation, 'classWeight', classWeight);
  const map = new Map<number, number>();
  for (const [key, value] of Object.entries(classWeight)) {
    const label = Number(key);
    if (!Number.isInteger(label) || label < 0) throw invalidArgument(operation, 'classWeight keys to be class indices', key);
    map.set(label, checkNumberInRange(operation, `classWeight[${key}]`, value, 0, Infinity));
  }
  return map;
}

export function checkVerbose(operation: string, verbose: unknown): 0 | 1 | 2 {
  if (verbose === 'auto') return 1;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) {
    throw invalidArgument(operation, 'verbose to be 0, 1 or 2', verbose);
  }
  return verbose;
}

export type { Batch };
