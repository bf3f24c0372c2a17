/** Argument checks shared by every public class; each throws a ValueError from `invalidArgument`. */
import { invalidArgument } from './errors';

export function checkPositiveInteger(context: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidArgument(context, `${name} to be a positive integer`, value);
  }
  return value;
}

export function checkNonNegativeInteger(context: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidArgument(context, `${name} to be a non-negative integer`, value);
  }
  return value;
}

export function checkFiniteNumber(context: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidArgument(context, `${name} to be a finite number`, value);
  }
  return value;
}

/** A number in [min, max] (or [min, max) with `maxExclusive`). */
export function checkNumberInRange(
  context: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
  { maxExclusive = false, minExclusive = false } = {},
): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (minExclusive ? value > min : value >= min) &&
    (maxExclusive ? value < max : value <= max);
  if (!ok) {
    const range = `${minExclusive ? '(' : '['}${min}, ${max}${maxExclusive ? ')' : ']'}`;
    throw invalidArgument(context, `${name} to be a number in ${range}`, value);
  }
  return value as number;
}

export function checkBoolean(context: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(context, `${name} to be a boolean`, value);
  return value;
}

export function checkOneOf<T extends string>(context: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalidArgument(context, `${name} to be one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** A positive integer or a pair of them (Keras's `kernel_size=3` or `(3, 3)`). */
export function checkIntegerPair(context: string, name: string, value: unknown): [number, number] {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return [value, value];
  if (
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1)
  ) {
    return [value[0], value[1]];
  }
  throw invalidArgument(context, `${name} to be a positive integer or a pair of positive integers`, value);
}

/** A positive integer or an array of one (Keras's `pool_size=2` or `(2,)` for a 1D window). */
export function checkSingleInteger(context: string, name: string, value: unknown): number {
  const single = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof single !== 'number' || !Number.isInteger(single) || single < 1) {
    throw invalidArgument(context, `${name} to be a positive integer (or an array of one)`, value);
  }
  return single;
}

/** A shape without the batch axis: non-empty, positive integers. */
export function checkShape(context: string, name: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1)) {
    throw invalidArgument(context, `${name} to be a non-empty array of positive integers`, value);
  }
  return value.slice();
}

/** Rejects option keys the class does not know, the usual source of silently ignored typos. */
export function checkKnownOptions(context: string, options: object, known: readonly string[]): void {
  checkPlainObject(context, 'options', options);
  for (const key of Object.keys(options)) {
    if (!known.includes(key) && (options as Record<string, unknown>)[key] !== undefined) {
      throw invalidArgument(context, `options among ${known.join(', ')}`, key);
    }
  }
}

export function checkPlainObject(context: string, name: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(context, `${name} to be an options object`, value);
  }
  return value as Record<string, unknown>;
}

/** `[*, 64, 64, 3]`: a shape with the batch axis unknown. */
export function formatShape(shape: readonly (number | null)[], batch: string | number | null = '*'): string {
  return `[${[batch, ...shape].map((d) => (d === null ? 'None' : String(d))).join(', ')}]`;
}

/**
 * One of `classes` built from Keras's serialized form `{ className, config }`, or undefined when `identifier`
 * names none of them; a config that is not an object, or that its class refuses, is refused naming `argument`.
 */
export function fromSerialized<T>(
  context: string,
  argument: string,
  identifier: object,
  classes: Readonly<Record<string, (config: Record<string, unknown>) => T>>,
): T | undefined {
  const { className, config } = identifier as { className?: unknown; config?: unknown };
  if (typeof className !== 'string' || !Object.hasOwn(classes, className)) return undefined;
  if (config !== undefined && (config === null || typeof config !== 'object' || Array.isArray(config))) {
    throw invalidArgument(context, `${argument}.config to be an object`, config);
  }
  try {
    return classes[className]((config ?? {}) as Record<string, unknown>);
  } catch (error) {
    throw invalidArgument(context, `${argument} to be a valid ${className} (${(error as Error).message})`, identifier);
  }
}
