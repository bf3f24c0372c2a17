/**
 * Keras's weight and activity regularizers: penalties the training step adds to the loss it minimises and
 * reports. `l1 * sum(|x|)`, `l2 * sum(x²)`, or both; computed natively inside each step (native/regularization.h).
 */
import { invalidArgument } from './errors';
import type { RegularizerSpec } from './native/binding';
import { fromSerialized } from './validation';

/** Keras's serialized form of a regularizer, as layer configs and model files keep it. */
export interface SerializedRegularizer {
  className: 'L1' | 'L2' | 'L1L2';
  config: { l1?: number; l2?: number };
}

export abstract class Regularizer {
  abstract readonly className: SerializedRegularizer['className'];
  /** The L1 factor (0: none). */
  readonly l1: number;
  /** The L2 factor (0: none). */
  readonly l2: number;

  protected constructor(l1: number, l2: number) {
    this.l1 = l1;
    this.l2 = l2;
  }

  /** Keras's get_config: the constructor's arguments. */
  abstract getConfig(): SerializedRegularizer['config'];

  /** Keras's serialized form, `{ className: 'L2', config: { l2: 0.01 } }`. */
  serialize(): SerializedRegularizer {
    return { className: this.className, config: this.getConfig() };
  }

  /** @internal What the native step computes. */
  toSpec(): RegularizerSpec {
    return { l1: this.l1, l2: this.l2 };
  }
}

/** Keras's validate_float_arg: a finite number, zero or more. */
function checkFactor(className: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(className, `${name} to be a non-negative finite number`, value);
  }
  return value;
}

/** Keras's positional factor (`L2(0.1)`) or TensorFlow.js's options object (`l2({ l2: 0.1 })`). */
function factorArgument(className: string, name: 'l1' | 'l2', value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const options = value as Record<string, unknown>;
    for (const key of Object.keys(options)) {
      if (key !== name && options[key] !== undefined) throw invalidArgument(className, `options among ${name}`, key);
    }
    return options[name] === undefined || options[name] === null ? fallback : checkFactor(className, name, options[name]);
  }
  return checkFactor(className, name, value);
}

/** `l1 * sum(|x|)`; l1 defaults to 0.01, as Keras. */
export class L1 extends Regularizer {
  readonly className = 'L1';
  constructor(l1?: number | { l1?: number }) {
    super(factorArgument('L1', 'l1', l1, 0.01), 0);
  }
  getConfig(): { l1: number } {
    return { l1: this.l1 };
  }
}

/** `l2 * sum(x²)`; l2 defaults to 0.01, as Keras. */
export class L2 extends Regularizer {
  readonly className = 'L2';
  constructor(l2?: number | { l2?: number }) {
    super(0, factorArgument('L2', 'l2', l2, 0.01));
  }
  getConfig(): { l2: number } {
    return { l2: this.l2 };
  }
}

export interface L1L2Args {
  /** Default 0 (no L1 term), as Keras's L1L2 class. */
  l1?: number;
  /** Default 0 (no L2 term). */
  l2?: number;
}

/** `l1 * sum(|x|) + l2 * sum(x²)`; each factor defaults to 0, as Keras's class (the string 'l1_l2' has 0.01 each). */
export class L1L2 extends Regularizer {
  readonly className = 'L1L2';
  constructor(args: L1L2Args = {}) {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      throw invalidArgument('L1L2', 'an options object { l1, l2 }', args);
    }
    for (const key of Object.keys(args)) {
      if (key !== 'l1' && key !== 'l2' && (args as Record<string, unknown>)[key] !== undefined) {
        throw invalidArgument('L1L2', 'options among l1, l2', key);
      }
    }
    super(
      args.l1 === undefined || args.l1 === null ? 0 : checkFactor('L1L2', 'l1', args.l1),
      args.l2 === undefined || args.l2 === null ? 0 : checkFactor('L1L2', 'l2', args.l2),
    );
  }
  getConfig(): { l1: number; l2: number } {
    return { l1: this.l1, l2: this.l2 };
  }
}

/** `regularizers.l1(0.01)` or `regularizers.l1({ l1: 0.01 })`. */
export function l1(factor?: number | { l1?: number }): L1 {
  return new L1(factor);
}

/** `regularizers.l2(0.01)` or `regularizers.l2({ l2: 0.01 })`. */
export function l2(factor?: number | { l2?: number }): L2 {
  return new L2(factor);
}

/** `regularizers.l1l2({ l1: 0.01, l2: 0.01 })`; a factor left out is 0. */
export function l1l2(args?: L1L2Args): L1L2 {
  return new L1L2(args);
}

/** Keras's names, with Keras's default factors; `l1l2` is the camelCase spelling of `l1_l2`. */
const BY_NAME: Record<string, () => Regularizer> = {
  l1: () => new L1(),
  l2: () => new L2(),
  // Keras documents 0.01 for each factor of the string 'l1_l2' (its class defaults to none).
  l1_l2: () => new L1L2({ l1: 0.01, l2: 0.01 }),
  l1l2: () => new L1L2({ l1: 0.01, l2: 0.01 }),
};

const CLASSES: Record<string, (config: Record<string, unknown>) => Regularizer> = {
  L1: (config) => new L1(config as { l1?: number }),
  L2: (config) => new L2(config as { l2?: number }),
  L1L2: (config) => new L1L2(config as L1L2Args),
};

/** A regularizer by name (`'l2'`), as an object (`regularizers.l2(0.1)`), or as its serialized form. */
export type RegularizerIdentifier = 'l1' | 'l2' | 'l1_l2' | 'l1l2' | Regularizer | SerializedRegularizer;

/** Keras's regularizers.get: null for none, else the regularizer; a clear error naming `argument` otherwise. */
export function getRegularizer(context: string, argument: string, identifier: unknown): Regularizer | null {
  if (identifier === undefined || identifier === null) return null;
  if (identifier instanceof Regularizer) return identifier;
  const expected = `${argument} to be one of 'l1', 'l2', 'l1_l2', a regularizer (regularizers.l2(0.01)) or { className, config }`;
  if (typeof identifier === 'string') {
    if (!Object.hasOwn(BY_NAME, identifier)) throw invalidArgument(context, expected, identifier);
    return BY_NAME[identifier]();
  }
  if (typeof identifier === 'object' && !Array.isArray(identifier)) {
    const built = fromSerialized(context, argument, identifier, CLASSES);
    if (built) return built;
  }
  throw invalidArgument(context, expected, identifier);
}

/** Keras's `regularizers.get`: a regularizer from a name, an object or a serialized form (null stays null). */
export function get(identifier: RegularizerIdentifier | null | undefined): Regularizer | null {
  return getRegularizer('regularizers.get', 'identifier', identifier);
}

/** The serialized form a config keeps, or null. */
export function serializeRegularizer(regularizer: Regularizer | null): SerializedRegularizer | null {
  return regularizer ? regularizer.serialize() : null;
}
