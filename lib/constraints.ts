/**
 * Keras's weight constraints: projections applied to a weight after every optimizer step, natively inside
 * the training step (native/regularization.h). Axes are Keras's, on the weight's Keras layout (a Dense
 * kernel is [in, out], a Conv2D kernel [kh, kw, in, out]).
 */
import { invalidArgument } from './errors';
import type { ConstraintSpec } from './native/binding';
import { checkPlainObject, fromSerialized } from './validation';

/** Keras's serialized form of a constraint, as layer configs and model files keep it. */
export interface SerializedConstraint {
  className: 'MaxNorm' | 'NonNeg' | 'UnitNorm' | 'MinMaxNorm';
  config: Record<string, unknown>;
}

/** One axis or several, counted from 0 (or from the end when negative). */
export type ConstraintAxis = number | number[];

export abstract class Constraint {
  abstract readonly className: SerializedConstraint['className'];

  /** Keras's get_config: the constructor's arguments. */
  abstract getConfig(): Record<string, unknown>;

  /** Keras's serialized form, `{ className: 'MaxNorm', config: { maxValue: 2, axis: 0 } }`. */
  serialize(): SerializedConstraint {
    return { className: this.className, config: this.getConfig() };
  }

  /**
   * @internal What the native step applies to a weight of `rank` axes; throws (with `context` and
   * `argument`) when an axis does not exist on it.
   */
  abstract toSpec(context: string, argument: string, rank: number): ConstraintSpec;
}

function checkOptions(className: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  const checked = checkPlainObject(className, 'options', options);
  for (const key of Object.keys(checked)) {
    if (!known.includes(key) && checked[key] !== undefined) throw invalidArgument(className, `options among ${known.join(', ')}`, key);
  }
  return checked;
}

function checkAxis(className: string, value: unknown): ConstraintAxis {
  const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
  if (isInteger(value)) return value;
  if (Array.isArray(value) && value.length > 0 && value.every(isInteger)) return [...value];
  throw invalidArgument(className, 'axis to be an integer or a non-empty array of integers', value);
}

function checkNonNegative(className: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(className, `${name} to be a non-negative finite number`, value);
  }
  return value;
}

/** The axes as non-negative indices into a weight of `rank` axes, each once. */
function resolveAxes(context: string, argument: string, axis: ConstraintAxis, rank: number): number[] {
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => {
    if (a < -rank || a >= rank) {
      throw invalidArgument(context, `${argument}.axis to be within the weight's ${rank} axes ([${-rank}, ${rank - 1}])`, axis);
    }
    return a < 0 ? a + rank : a;
  });
  if (new Set(axes).size !== axes.length) throw invalidArgument(context, `${argument}.axis to name each axis once`, axis);
  return axes;
}

export interface MaxNormArgs {
  /** The largest norm each slice may have. Default 2. */
  maxValue?: number;
  /** The axes the norm is taken over. Default 0 (a Dense kernel's inputs: one norm per unit). */
  axis?: ConstraintAxis;
}

/** Scales each slice whose norm exceeds maxValue down to it: `w * clip(norm, 0, maxValue) / (1e-7 + norm)`. */
export class MaxNorm extends Constraint {
  readonly className = 'MaxNorm';
  readonly maxValue: number;
  readonly axis: ConstraintAxis;

  /** Keras's `MaxNorm(maxValue, axis)`, or `{ maxValue, axis }`. */
  constructor(maxValue?: number | MaxNormArgs, axis?: ConstraintAxis) {
    const args = typeof maxValue === 'object' && maxValue !== null ? checkOptions('MaxNorm', maxValue, ['maxValue', 'axis']) : { maxValue, axis };
    super();
    this.maxValue = checkNonNegative('MaxNorm', 'maxValue', args.maxValue ?? 2);
    this.axis = checkAxis('MaxNorm', args.axis ?? 0);
  }
  getConfig(): Record<string, unknown> {
    return { maxValue: this.maxValue, axis: this.axis };
  }
  toSpec(context: string, argument: string, rank: number): ConstraintSpec {
    return { kind: 'min_max_norm', minValue: 0, maxValue: this.maxValue, rate: 1, axes: resolveAxes(context, argument, this.axis, rank) };
  }
}

/** Sets negative weights to zero. */
export class NonNeg extends Constraint {
  readonly className = 'NonNeg';
  constructor(args: Record<string, never> = {}) {
    checkOptions('NonNeg', args, []);
    super();
  }
  getConfig(): Record<string, unknown> {
    return {};
  }
  toSpec(): ConstraintSpec {
    return { kind: 'non_neg' };
  }
}

export interface UnitNormArgs {
  /** The axes the norm is taken over. Default 0. */
  axis?: ConstraintAxis;
}

/** Divides each slice by its norm: `w / (1e-7 + norm)`. */
export class UnitNorm extends Constraint {
  readonly className = 'UnitNorm';
  readonly axis: ConstraintAxis;

  /** Keras's `UnitNorm(axis)`, or `{ axis }`. */
  constructor(axis?: ConstraintAxis | UnitNormArgs) {
    const args = typeof axis === 'object' && axis !== null && !Array.isArray(axis) ? checkOptions('UnitNorm', axis, ['axis']) : { axis };
    super();
    this.axis = checkAxis('UnitNorm', args.axis ?? 0);
  }
  getConfig(): Record<string, unknown> {
    return { axis: this.axis };
  }
  toSpec(context: string, argument: string, rank: number): ConstraintSpec {
    return { kind: 'unit_norm', axes: resolveAxes(context, argument, this.axis, rank) };
  }
}

export interface MinMaxNormArgs {
  /** Default 0. */
  minValue?: number;
  /** Default 1. */
  maxValue?: number;
  /** How far each step moves a norm into [minValue, maxValue]: 1 all the way (default), less gradually. */
  rate?: number;
  /** The axes the norm is taken over. Default 0. */
  axis?: ConstraintAxis;
}

/** Rescales each slice towards a norm in [minValue, maxValue]: `w * (rate * clip(norm) + (1 - rate) * norm) / (1e-7 + norm)`. */
export class MinMaxNorm extends Constraint {
  readonly className = 'MinMaxNorm';
  readonly minValue: number;
  readonly maxValue: number;
  readonly rate: number;
  readonly axis: ConstraintAxis;

  constructor(args: MinMaxNormArgs = {}) {
    const options = checkOptions('MinMaxNorm', args, ['minValue', 'maxValue', 'rate', 'axis']);
    super();
    this.minValue = checkNonNegative('MinMaxNorm', 'minValue', options.minValue ?? 0);
    this.maxValue = checkNonNegative('MinMaxNorm', 'maxValue', options.maxValue ?? 1);
    if (this.maxValue < this.minValue) throw invalidArgument('MinMaxNorm', `maxValue to be at least minValue (${this.minValue})`, this.maxValue);
    this.rate = checkNonNegative('MinMaxNorm', 'rate', options.rate ?? 1);
    this.axis = checkAxis('MinMaxNorm', options.axis ?? 0);
  }
  getConfig(): Record<string, unknown> {
    return { minValue: this.minValue, maxValue: this.maxValue, rate: this.rate, axis: this.axis };
  }
  toSpec(context: string, argument: string, rank: number): ConstraintSpec {
    return {
      kind: 'min_max_norm',
      minValue: this.minValue,
      maxValue: this.maxValue,
      rate: this.rate,
      axes: resolveAxes(context, argument, this.axis, rank),
    };
  }
}

/** `constraints.maxNorm({ maxValue: 2, axis: 0 })` (or Keras's positional `maxNorm(2, 0)`). */
export function maxNorm(maxValue?: number | MaxNormArgs, axis?: ConstraintAxis): MaxNorm {
  return new MaxNorm(maxValue, axis);
}

/** `constraints.nonNeg()`. */
export function nonNeg(): NonNeg {
  return new NonNeg();
}

/** `constraints.unitNorm({ axis: 0 })` (or `unitNorm(0)`). */
export function unitNorm(axis?: ConstraintAxis | UnitNormArgs): UnitNorm {
  return new UnitNorm(axis);
}

/** `constraints.minMaxNorm({ minValue, maxValue, rate, axis })`. */
export function minMaxNorm(args?: MinMaxNormArgs): MinMaxNorm {
  return new MinMaxNorm(args);
}

const CLASSES: Record<SerializedConstraint['className'], (config: Record<string, unknown>) => Constraint> = {
  MaxNorm: (config) => new MaxNorm(config as MaxNormArgs),
  NonNeg: (config) => new NonNeg(config as Record<string, never>),
  UnitNorm: (config) => new UnitNorm(config as UnitNormArgs),
  MinMaxNorm: (config) => new MinMaxNorm(config as MinMaxNormArgs),
};

/** Keras's names and their camelCase spellings, with default arguments. */
const BY_NAME: Record<string, SerializedConstraint['className']> = {
  max_norm: 'MaxNorm',
  maxNorm: 'MaxNorm',
  non_neg: 'NonNeg',
  nonNeg: 'NonNeg',
  unit_norm: 'UnitNorm',
  unitNorm: 'UnitNorm',
  min_max_norm: 'MinMaxNorm',
  minMaxNorm: 'MinMaxNorm',
};

/** A constraint by name (`'non_neg'`), as an object (`constraints.maxNorm({ maxValue: 3 })`), or serialized. */
export type ConstraintIdentifier =
  | 'max_norm' | 'maxNorm' | 'non_neg' | 'nonNeg' | 'unit_norm' | 'unitNorm' | 'min_max_norm' | 'minMaxNorm'
  | Constraint
  | SerializedConstraint;

/** Keras's constraints.get: null for none, else the constraint; a clear error naming `argument` otherwise. */
export function getConstraint(context: string, argument: string, identifier: unknown): Constraint | null {
  if (identifier === undefined || identifier === null) return null;
  if (identifier instanceof Constraint) return identifier;
  const expected = `${argument} to be one of 'max_norm', 'non_neg', 'unit_norm', 'min_max_norm', a constraint (constraints.maxNorm({ maxValue: 2 })) or { className, config }`;
  if (typeof identifier === 'string') {
    if (!Object.hasOwn(BY_NAME, identifier)) throw invalidArgument(context, expected, identifier);
    return CLASSES[BY_NAME[identifier]]({});
  }
  if (typeof identifier === 'object' && !Array.isArray(identifier)) {
    const built = fromSerialized(context, argument, identifier, CLASSES);
    if (built) return built;
  }
  throw invalidArgument(context, expected, identifier);
}

/** Keras's `constraints.get`: a constraint from a name, an object or a serialized form (null stays null). */
export function get(identifier: ConstraintIdentifier | null | undefined): Constraint | null {
  return getConstraint('constraints.get', 'identifier', identifier);
}

/** The serialized form a config keeps, or null. */
export function serializeConstraint(constraint: Constraint | null): SerializedConstraint | null {
  return constraint ? constraint.serialize() : null;
}
