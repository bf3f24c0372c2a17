/**
 * What fit does differently when several ranks train together (distributed.init was called):
 * each rank takes its shard of the data, starts from rank 0's weights, and logs the mean over ranks.
 */
import type { CallbackHooks, Logs } from '../callbacks/callback';
import type { BatchIterator } from '../data';
import type { NativeModel } from '../native/binding';
import { averageAcrossRanks, broadcastModel, isInitialized, rank, worldSize } from './index';
import { ValueError } from '../errors';
import { ShardedBatches } from './sharded-batches';

/** Whether fit runs data-parallel in this process. */
export function dataParallel(): boolean {
  return isInitialized() && worldSize() > 1;
}

export function shard(source: BatchIterator): BatchIterator {
  return new ShardedBatches(source, rank(), worldSize());
}

/**
 * Checks, before any collective on tensors, that every rank is about to train the same thing: collectives
 * on tensors of different sizes abort inside Gloo, and different step counts leave a rank waiting for one
 * that never comes. Every rank reaches the same verdict (the mismatch flag is itself averaged), so all of
 * them throw the same clear error.
 */
export async function checkRanksAgree(operation: string, facts: Record<string, number>): Promise<void> {
  const names = Object.keys(facts);
  const values = names.map((name) => facts[name]);
  const means = await averageAcrossRanks(values);
  const differs = names.filter((_, i) => means[i] !== values[i]);
  const [anyDiffers] = await averageAcrossRanks([differs.length > 0 ? 1 : 0]);
  if (anyDiffers === 0) return;
  const mine = names.map((name) => `${name} ${facts[name]}`).join(', ');
  throw new ValueError(
    `${operation}: the ranks do not train the same thing${differs.length > 0 ? `: they disagree on ${differs.join(', ')}` : ''} ` +
      `(rank ${rank()} has ${mine}); every rank must build the same model and read as many batches`,
  );
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
