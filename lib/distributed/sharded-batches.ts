/**
 * One rank's share of a BatchIterator, with DistributedSampler's semantics at batch granularity: rank r
 * of W takes batches r, r + W, r + 2W, ... of each epoch, padded by wrapping around so that every rank
 * runs the same number of steps (a collective per step needs all ranks). All ranks shuffle with the seed
 * distributed.init shares, so their shards of an epoch are disjoint.
 */
import type { Batch, BatchIterator } from '../data';

export class ShardedBatches implements BatchIterator {
  readonly length: number;
  readonly samples?: number;
  readonly inputShape?: readonly number[];
  readonly classIndices?: Record<string, number>;

  constructor(
    private readonly source: BatchIterator,
    private readonly rank: number,
    private readonly worldSize: number,
  ) {
    this.length = Math.ceil(source.length / worldSize);
    this.samples = source.samples === undefined ? undefined : Math.ceil(source.samples / worldSize);
    this.inputShape = source.inputShape;
    this.classIndices = source.classIndices;
  }

  get(index: number): Promise<Batch> {
    return this.source.get((index * this.worldSize + this.rank) % this.source.length);
  }

  onEpochEnd(): void {
    this.source.onEpochEnd?.();
  }

  setEpoch(epoch: number): void {
    this.source.setEpoch?.(epoch);
  }
}
