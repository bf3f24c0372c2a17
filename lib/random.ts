/**
 * The random numbers lib/ draws itself (shuffling orders). `setSeed` seeds it together with libtorch's
 * generator, so one seed reproduces a whole run.
 */

/** mulberry32: small, fast, and good enough to shuffle sample orders. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** A permutation of 0..length-1 (Fisher-Yates). */
  permutation(length: number): Int32Array {
    const order = new Int32Array(length);
    for (let i = 0; i < length; i++) order[i] = i;
    for (let i = length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    return order;
  }
}

let globalRandom = new SeededRandom((Math.random() * 2 ** 32) >>> 0);

/** The process-wide generator; reseeded by setSeed. */
export function random(): SeededRandom {
  return globalRandom;
}

export function reseed(seed: number): void {
  globalRandom = new SeededRandom(seed);
}

/**
 * A seed for a random stream of its own (a layer's, an iterator's, a fit's), drawn from the process-wide
 * generator when the object is made: in program order, so that what it draws later does not depend on what
 * else runs at the same time, and setSeed still reproduces the whole run.
 */
export function forkSeed(): number {
  return Math.floor(globalRandom.next() * 2 ** 32);
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seed for one batch of one epoch: batches are reproducible whatever order they are requested in. */
export function batchSeed(seed: number, epoch: number, batch: number): number {
  let h = mix(seed);
  h = mix(h ^ mix((epoch + 0x9e3779b9) >>> 0));
  h = mix(h ^ mix((batch + 0x7f4a7c15) >>> 0));
  return h;
}
