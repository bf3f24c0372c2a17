/**
 * ModelCheckpoint: saves the model (or its weights) after every epoch, or every N batches, to a file
 * named from a template such as `checkpoints/model-{epoch:02d}-{val_loss:.2f}.safetensors`, as Keras's does.
 */
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { invalidArgument, ValueError } from '../errors';
import { checkBoolean, checkFiniteNumber, checkKnownOptions, checkPlainObject } from '../validation';
import { Callback, CallbackModel, Logs } from './callback';
import { formatTemplate, templateFields } from './format';
import { checkMonitor, isImprovement, monitoredValue, MonitorMode, resolveMode } from './monitor';

/** The model as ModelCheckpoint needs it: able to write itself to one file. */
export interface CheckpointModel extends CallbackModel {
  save(path: string): Promise<void>;
  saveWeights(path: string): Promise<void>;
}

export interface ModelCheckpointArgs {
  /** The value that decides the best model with saveBestOnly. Default 'val_loss'. */
  monitor?: string;
  /** 0 silent, 1 a line per save. Default 0. */
  verbose?: 0 | 1;
  /** Save only when the monitored value improves on the best so far. Default false. */
  saveBestOnly?: boolean;
  /** Save the weights alone (`saveWeights`) instead of the whole model (`save`). Default false. */
  saveWeightsOnly?: boolean;
  /** 'min', 'max', or 'auto' (max for accuracy-like names, min otherwise). Default 'auto'. */
  mode?: MonitorMode;
  /** 'epoch' (after each epoch) or a number of batches between saves. Default 'epoch'. */
  saveFreq?: 'epoch' | number;
  /** With saveBestOnly, the value the first save must beat. Default none. */
  initialValueThreshold?: number;
}

const KEYS = ['monitor', 'verbose', 'saveBestOnly', 'saveWeightsOnly', 'mode', 'saveFreq', 'initialValueThreshold'];
const EXTENSION = '.safetensors';

export class ModelCheckpoint extends Callback {
  readonly rankZeroOnly = true;
  readonly filepath: string;
  readonly monitor: string;
  readonly verbose: 0 | 1;
  readonly saveBestOnly: boolean;
  readonly saveWeightsOnly: boolean;
  readonly mode: 'min' | 'max';
  readonly saveFreq: 'epoch' | number;
  /** The best monitored value so far (kept across fit calls, as Keras keeps it). */
  best: number;
  /** The file of the latest save. */
  lastSaved?: string;
  private batchesSinceSave = 0;
  private currentEpoch = 0;

  constructor(filepath: string, args: ModelCheckpointArgs = {}) {
    super();
    if (typeof filepath !== 'string' || !filepath.endsWith(EXTENSION)) {
      throw invalidArgument('ModelCheckpoint', `filepath to be a path ending in ${EXTENSION}`, filepath);
    }
    checkPlainObject('ModelCheckpoint', 'options', args);
    checkKnownOptions('ModelCheckpoint', args, KEYS);
    try {
      formatTemplate(filepath, Object.fromEntries(templateFields(filepath).map((name) => [name, 1])));
    } catch (error) {
      throw invalidArgument('ModelCheckpoint', `filepath to be a valid template (${(error as Error).message})`, filepath);
    }
    this.filepath = filepath;
    this.monitor = checkMonitor('ModelCheckpoint', args.monitor ?? 'val_loss');
    const verbose = args.verbose ?? 0;
    if (verbose !== 0 && verbose !== 1) throw invalidArgument('ModelCheckpoint', 'verbose to be 0 or 1', verbose);
    this.verbose = verbose;
    this.saveBestOnly = checkBoolean('ModelCheckpoint', 'saveBestOnly', args.saveBestOnly ?? false);
    this.saveWeightsOnly = checkBoolean('ModelCheckpoint', 'saveWeightsOnly', args.saveWeightsOnly ?? false);
    this.mode = resolveMode('ModelCheckpoint', this.monitor, args.mode ?? 'auto');
    const saveFreq = args.saveFreq ?? 'epoch';
    if (saveFreq !== 'epoch' && !(typeof saveFreq === 'number' && Number.isInteger(saveFreq) && saveFreq >= 1)) {
      throw invalidArgument('ModelCheckpoint', "saveFreq to be 'epoch' or a positive integer (batches)", saveFreq);
    }
    this.saveFreq = saveFreq;
    this.best =
      args.initialValueThreshold !== undefined
        ? checkFiniteNumber('ModelCheckpoint', 'initialValueThreshold', args.initialValueThreshold)
        : this.mode === 'min'
          ? Infinity
          : -Infinity;
    if (saveFreq !== 'epoch') {
      // Batch events cost fit a little per batch, so only a batch-frequency checkpoint listens to them.
      this.onBatchEnd = (batch: number, logs?: Logs) => this.batchEnd(batch, logs);
    }
  }

  declare onBatchEnd?: (batch: number, logs?: Logs) => Promise<void>;

  onEpochBegin(epoch: number): void {
    this.currentEpoch = epoch;
  }

  async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    if (this.saveFreq === 'epoch') await this.saveModel(epoch, undefined, logs);
  }

  private async batchEnd(batch: number, logs: Logs = {}): Promise<void> {
    this.batchesSinceSave += 1;
    if (this.batchesSinceSave < (this.saveFreq as number)) return;
    this.batchesSinceSave = 0;
    await this.saveModel(this.currentEpoch, batch, logs);
  }

  /** The file name for an epoch (0-based; the template sees it 1-based, as in Keras) and its logs. */
  filePath(epoch: number, logs: Logs = {}, batch?: number): string {
    const values: Record<string, number> = { ...logs, epoch: epoch + 1 };
    if (batch !== undefined) values.batch = batch + 1;
    try {
      return formatTemplate(this.filepath, values);
    } catch (error) {
      throw new ValueError(`ModelCheckpoint: failed to format the filepath at epoch ${epoch + 1}: ${(error as Error).message}`);
    }
  }

  private async saveModel(epoch: number, batch: number | undefined, logs: Logs): Promise<void> {
    const file = this.filePath(epoch, logs, batch);
    const speaks = this.verbose > 0;
    if (this.saveBestOnly) {
      const current = monitoredValue(logs, this.monitor, 'Saving the best model');
      if (current === undefined) return;
      if (!isImprovement(this.mode, current, this.best, 0)) {
        if (speaks) console.log(`\nEpoch ${epoch + 1}: ${this.monitor} did not improve from ${this.best.toFixed(5)}`);
        return;
      }
      if (speaks) {
        console.log(
          `\nEpoch ${epoch + 1}: ${this.monitor} improved from ${this.best.toFixed(5)} to ${current.toFixed(5)}, saving model to ${file}`,
        );
      }
      this.best = current;
    } else if (speaks) {
      console.log(`\nEpoch ${epoch + 1}: saving model to ${file}`);
    }
    const model = this.model as CheckpointModel | undefined;
    if (!model) throw new ValueError('ModelCheckpoint: no model to save; pass the callback to fit');
    const directory = path.dirname(file);
    if (directory) await mkdir(directory, { recursive: true });
    if (this.saveWeightsOnly) await model.saveWeights(file);
    else await model.save(file);
    this.lastSaved = file;
  }
}
