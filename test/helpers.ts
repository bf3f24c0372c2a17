/** Shared test helpers: numeric comparison and tiny deterministic data. */
import { Conv2D, Dense, Flatten, MaxPooling2D, Sequential, Tensor } from '../lib';

/** Asserts two flat number lists are equal to within `tolerance` (absolute, plus relative for large values). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const bound = tolerance * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
      throw new Error(`value ${i}: expected ${expected[i]} but received ${actual[i]} (tolerance ${bound})`);
    }
  }
}

/** The flat float values of a tensor as a plain array. */
export function values(t: Tensor): number[] {
  return Array.from(t.dataSync() as Float32Array);
}

/** A small seeded generator (mulberry32) so test data never depends on Math.random. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` values from `first` in steps of `step`. */
export function range(count: number, first = 0, step = 1): number[] {
  return Array.from({ length: count }, (_, i) => first + i * step);
}

/** Mean and (population) variance of a list. */
export function moments(list: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < list.length; i++) sum += list[i];
  const mean = sum / list.length;
  let squares = 0;
  for (let i = 0; i < list.length; i++) squares += (list[i] - mean) ** 2;
  return { mean, variance: squares / list.length };
}

/** The seed tutorial's CNN on 64x64 RGB images, uncompiled. */
export function seedModel(): Sequential {
  const classifier = new Sequential();
  classifier.add(new Conv2D(32, [3, 3], { inputShape: [64, 64, 3], activation: 'relu' }));
  classifier.add(new MaxPooling2D({ poolSize: [2, 2] }));
  classifier.add(new Flatten());
  classifier.add(new Dense(128, { activation: 'relu' }));
  classifier.add(new Dense(1, { activation: 'sigmoid' }));
  return classifier;
}

/**
 * Runs `work` and counts up to 10 turns of the event loop (each a setImmediate queued by the last) while it is
 * pending: counted, not timed, so a native call that held the loop shows as fewer than 10 whatever the load.
 */
export async function loopTurnsWhile<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let settled = false;
  let turns = 0;
  const turn = () => {
    if (settled || turns === 10) return;
    turns += 1;
    setImmediate(turn);
  };
  const pending = work().finally(() => (settled = true));
  setImmediate(turn);
  const value = await pending;
  return { value, turns };
}
