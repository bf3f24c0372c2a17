/**
 * TensorBoard: writes event files that `tensorboard --logdir LOGDIR` shows, laid out as Keras lays them:
 * `LOGDIR/train` gets `epoch_loss`, `epoch_<metric>` and `epoch_learning_rate` per epoch (and
 * `batch_<name>` every `updateFreq` batches), `LOGDIR/validation` gets the `val_` values under the same
 * `epoch_` tags, and with `histogramFreq` the train writer gets a histogram of every weight
 * (`<weight name>/histogram`) every that many epochs.
 */
import * as path from 'node:path';
import { invalidArgument } from '../errors';
import { EventFileWriter, histogram, SummaryValue } from '../io/event-file';
import type { Tensor } from '../tensor';
import { checkKnownOptions, checkNonNegativeInteger, checkPlainObject } from '../validation';
import { Callback, Logs } from './callback';

export interface TensorBoardArgs {
  /** The folder of the runs' event files. Default 'logs'. */
  logDir?: string;
  /** 'epoch' (scalars at each epoch's end) or a number of batches between batch-level scalars too. Default 'epoch'. */
  updateFreq?: 'epoch' | number;
  /** Histograms of the weights every that many epochs; 0 for none. Default 0. */
  histogramFreq?: number;
}

/** The model as TensorBoard needs it: its weights, and their names for the histograms' tags. */
interface WeightNamedModel {
  getWeights(): Tensor[];
  weightFileNames?(): { names: string[] };
}

export class TensorBoard extends Callback {
  readonly rankZeroOnly = true;
  readonly logDir: string;
  readonly updateFreq: 'epoch' | number;
  readonly histogramFreq: number;
  private train?: EventFileWriter;
  private validation?: EventFileWriter;
  /** Batches trained over all epochs of this fit: the step of batch-level scalars. */
  private globalBatch = 0;

  constructor(args: TensorBoardArgs = {}) {
    super();
    checkPlainObject('TensorBoard', 'options', args);
    checkKnownOptions('TensorBoard', args, ['logDir', 'updateFreq', 'histogramFreq']);
    const logDir = args.logDir ?? 'logs';
    if (typeof logDir !== 'string' || logDir.length === 0) throw invalidArgument('TensorBoard', 'logDir to be a non-empty path', logDir);
    const updateFreq = args.updateFreq ?? 'epoch';
    if (updateFreq !== 'epoch' && !(typeof updateFreq === 'number' && Number.isInteger(updateFreq) && updateFreq >= 1)) {
      throw invalidArgument('TensorBoard', "updateFreq to be 'epoch' or a positive integer (batches)", updateFreq);
    }
    this.logDir = logDir;
    this.updateFreq = updateFreq;
    this.histogramFreq = checkNonNegativeInteger('TensorBoard', 'histogramFreq', args.histogramFreq ?? 0);
  }

  onTrainBegin(): void {
    this.globalBatch = 0;
    this.train = new EventFileWriter(path.join(this.logDir, 'train'));
  }

  onBatchEnd(_batch: number, logs: Logs = {}): void {
    this.globalBatch += 1;
    if (this.updateFreq === 'epoch' || this.globalBatch % this.updateFreq !== 0) return;
    const { batch: _index, size: _size, ...values } = logs;
    this.train?.add(this.globalBatch, scalars('batch_', values));
  }

  onEpochEnd(epoch: number, logs: Logs = {}): void {
    if (!this.train) this.onTrainBegin();
    const trainValues: Logs = {};
    const validationValues: Logs = {};
    for (const [key, value] of Object.entries(logs)) {
      // Other callbacks log the learning rate under two names (Keras 3's and 2's); it is charted once.
      if (key === 'lr') continue;
      if (key.startsWith('val_')) validationValues[key.slice(4)] = value;
      else trainValues[key] = value;
    }
    if (trainValues.learning_rate === undefined && this.model?.optimizer) trainValues.learning_rate = this.model.optimizer.learningRate;
    const summaries = scalars('epoch_', trainValues);
    if (this.histogramFreq > 0 && epoch % this.histogramFreq === 0) summaries.push(...this.weightHistograms());
    this.train!.add(epoch, summaries);
    this.train!.flush();
    if (Object.keys(validationValues).length > 0) {
      this.validation ??= new EventFileWriter(path.join(this.logDir, 'validation'));
      this.validation.add(epoch, scalars('epoch_', validationValues));
      this.validation.flush();
    }
  }

  onTrainEnd(): void {
    this.train?.close();
    this.validation?.close();
    this.train = undefined;
    this.validation = undefined;
  }

  private weightHistograms(): SummaryValue[] {
    const model = this.model as unknown as WeightNamedModel | undefined;
    if (!model) return [];
    const weights = model.getWeights();
    const names = model.weightFileNames?.().names ?? weights.map((_, i) => `weight_${i}`);
    return weights.map((weight, i) => {
      const values = Float64Array.from(weight.dataSync() as ArrayLike<number>);
      weight.dispose();
      return { tag: `${names[i]}/histogram`, histogram: histogram(values) };
    });
  }
}

function scalars(prefix: string, logs: Logs): SummaryValue[] {
  return Object.entries(logs)
    .filter(([, value]) => typeof value === 'number')
    .map(([key, value]) => ({ tag: `${prefix}${key}`, scalar: value }));
}
