/** Seeds derived from an iterator's seed, so that batches do not depend on the order they are requested in. */

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
