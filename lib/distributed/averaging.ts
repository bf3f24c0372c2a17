/**
 * What fit does differently when several ranks train together (distributed.init was called):
 * each rank takes its shard of the data, starts from rank 0's weights, and logs the mean over ranks.
 */
import type { CallbackHooks, Logs } from '../callbacks/callback';
import type { BatchIterator } from '../data';
import type { NativeModel } from '../native/binding';
import { averageAcrossRanks, broadcastModel, isInitialized, rank, worldSize } from './index';
import { ShardedBatches } from './sharded-batches';

/** Whether fit runs data-parallel in this process. */
export function dataParallel(): boolean {
  return isInitialized() && worldSize() > 1;
}

export function shard(source: BatchIterator): BatchIterator {
  return new ShardedBatches(source, rank(), worldSize());
}

export async function startFromRankZero(model: NativeModel): Promise<void> {
  await broadcastModel(model);
}

/**
 * Replaces each epoch's logs (training and validation) with their mean over the ranks. It runs first
 * among the callbacks, so History, the progress bar, EarlyStopping and checkpoints all see the same
 * numbers on every rank and take the same decisions.
 */
export class RankAveraging implements CallbackHooks {
  async onEpochEnd(_epoch: number, logs: Logs = {}): Promise<void> {
    const keys = Object.keys(logs);
    const means = await averageAcrossRanks(keys.map((key) => logs[key]));
    keys.forEach((key, i) => (logs[key] = means[i]));
  }
}
