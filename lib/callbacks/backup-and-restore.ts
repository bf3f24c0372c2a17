/**
 * BackupAndRestore: at the end of every epoch, saves what training needs to go on (the weights, the
 * optimizer's state and step, the learning rate, the epoch) to `backupDir`. When a fit is interrupted (an
 * exception, a killed process, `model.stopTraining` before the last epoch), the next fit with the same
 * callback restores it and starts at the next epoch. With `setSeed` called as before, the resumed run also
 * shuffles (and augments) each epoch as the interrupted one would have, since the data's orders depend on
 * the seed and the epoch alone, and draws the same Dropout masks, since fit restarts each Dropout layer's
 * stream from its seed and the epoch as each epoch begins: its weights end bit for bit as those of a run
 * that was never interrupted (on the CPU: Dropout on CUDA draws from the device's global generator). A fit that completes its epochs deletes the
 * backup, as Keras's `delete_checkpoint` does.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { rank as distributedRank } from '../distributed';
import { invalidArgument, ValueError } from '../errors';
import { checkBoolean, checkKnownOptions, checkPlainObject } from '../validation';
import { Callback, CallbackModel } from './callback';

export interface BackupAndRestoreArgs {
  /** The folder of the backup (created when needed); give each training run its own. */
  backupDir: string;
  /** Delete the backup when fit completes its epochs. Default true. */
  deleteCheckpoint?: boolean;
}

/** The model as BackupAndRestore needs it: able to write its state and read it back. */
interface RestorableModel extends CallbackModel {
  save(file: string): Promise<void>;
  weightFileNames(): { names: string[] };
  restoreTrainingState(file: string, savedNames: string[]): Promise<void>;
}

interface Metadata {
  /** The last epoch completed (0-based). */
  epoch: number;
  /** The file of that epoch's weights and optimizer state, in backupDir. */
  weights: string;
  /** The weights' names in that file, in the model's order. */
  weightNames: string[];
  learningRate?: number;
}

const METADATA = 'training_metadata.json';
const weightsFile = (epoch: number) => `epoch-${epoch}.safetensors`;

export class BackupAndRestore extends Callback {
  readonly backupDir: string;
  readonly deleteCheckpoint: boolean;
  private resumeAt?: number;
  private lastEpoch = -1;

  constructor(args: BackupAndRestoreArgs) {
    super();
    checkPlainObject('BackupAndRestore', 'options', args);
    checkKnownOptions('BackupAndRestore', args, ['backupDir', 'deleteCheckpoint']);
    if (typeof args.backupDir !== 'string' || args.backupDir.length === 0) {
      throw invalidArgument('BackupAndRestore', 'backupDir to be a non-empty path', args.backupDir);
    }
    this.backupDir = args.backupDir;
    this.deleteCheckpoint = checkBoolean('BackupAndRestore', 'deleteCheckpoint', args.deleteCheckpoint ?? true);
  }

  private get restorable(): RestorableModel {
    const model = this.model as RestorableModel | undefined;
    if (!model || typeof model.save !== 'function' || typeof model.restoreTrainingState !== 'function' || typeof model.weightFileNames !== 'function') {
      throw new ValueError('BackupAndRestore: pass the callback to fit of a model');
    }
    return model;
  }

  async onTrainBegin(): Promise<void> {
    this.resumeAt = undefined;
    this.lastEpoch = -1;
    const metadataFile = path.join(this.backupDir, METADATA);
    if (!existsSync(metadataFile)) return;
    let metadata: Metadata;
    try {
      metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as Metadata;
    } catch (error) {
      throw new ValueError(`BackupAndRestore: ${metadataFile} is not valid JSON (${(error as Error).message}); delete the backup to start over`);
    }
    const valid = Number.isInteger(metadata.epoch) && metadata.epoch >= 0 && metadata.weights === weightsFile(metadata.epoch) &&
      Array.isArray(metadata.weightNames) && metadata.weightNames.every((name) => typeof name === 'string');
    if (!valid) {
      throw new ValueError(`BackupAndRestore: ${metadataFile}: expected an epoch and its weights file but received ${JSON.stringify(metadata)}; delete the backup to start over`);
    }
    const model = this.restorable;
    await model.restoreTrainingState(path.join(this.backupDir, metadata.weights), metadata.weightNames);
    if (metadata.learningRate !== undefined && model.optimizer) model.optimizer.learningRate = metadata.learningRate;
    this.resumeAt = metadata.epoch + 1;
    this.lastEpoch = metadata.epoch;
  }

  resumeEpoch(): number | undefined {
    return this.resumeAt;
  }

  async onEpochEnd(epoch: number): Promise<void> {
    // With several ranks, every rank restores from the backup (they resume together), and rank 0 alone
    // writes it: all hold the same weights.
    if (distributedRank() !== 0) return;
    const model = this.restorable;
    mkdirSync(this.backupDir, { recursive: true });
    // This epoch's file first, then the metadata that points at it (replaced whole), then the previous
    // epoch's file goes: a crash at any point leaves a consistent backup.
    const weights = weightsFile(epoch);
    await model.save(path.join(this.backupDir, weights));
    const metadata: Metadata = { epoch, weights, weightNames: model.weightFileNames().names, learningRate: model.optimizer?.learningRate };
    const file = path.join(this.backupDir, METADATA);
    writeFileSync(`${file}.tmp`, JSON.stringify(metadata));
    renameSync(`${file}.tmp`, file);
    if (this.lastEpoch >= 0 && this.lastEpoch !== epoch) rmSync(path.join(this.backupDir, weightsFile(this.lastEpoch)), { force: true });
    this.lastEpoch = epoch;
  }

  onTrainEnd(): void {
    if (distributedRank() !== 0) return;
    const epochs = this.params?.epochs;
    if (this.deleteCheckpoint && epochs !== undefined && this.lastEpoch >= epochs - 1) {
      rmSync(path.join(this.backupDir, METADATA), { force: true });
      rmSync(path.join(this.backupDir, weightsFile(this.lastEpoch)), { force: true });
    }
  }
}
