/** Keras's activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax. */
import { invalidArgument } from '../errors';
import { getInitializer, InitializerConfig, InitializerIdentifier, kerasFans } from '../initializers';
import type { LayerSpec } from '../native/binding';
import { checkFiniteNumber, checkKnownOptions, checkNumberInRange } from '../validation';
import { checkAxis, Layer, LayerArgs, LAYER_ARG_KEYS, WeightInfo } from './layer';

export interface ReLUArgs extends LayerArgs {
  /** The largest output; null (the default) for none. ReLU6 is `new ReLU({ maxValue: 6 })`. */
  maxValue?: number | null;
  /** Slope below the threshold. Default 0. */
  negativeSlope?: number;
  /** Inputs at or below it give 0 (or the negative slope's line). Default 0. */
  threshold?: number;
}

/**
 * Keras's ReLU layer: x for threshold < x < maxValue, maxValue above, negativeSlope * (x - threshold) at and
 * below the threshold.
 */
export class ReLU extends Layer {
  readonly className = 'ReLU';
  readonly maxValue: number | null;
  readonly negativeSlope: number;
  readonly threshold: number;

  constructor(args: ReLUArgs = {}) {
    checkKnownOptions('ReLU', args, [...LAYER_ARG_KEYS, 'maxValue', 'negativeSlope', 'threshold']);
    super(args, 'ReLU');
    const context = `ReLU '${this.name}'`;
    this.maxValue = args.maxValue === undefined || args.maxValue === null ? null : checkNumberInRange(context, 'maxValue', args.maxValue, 0, Infinity);
    this.negativeSlope = checkNumberInRange(context, 'negativeSlope', args.negativeSlope ?? 0, 0, Infinity);
    this.threshold = checkNumberInRange(context, 'threshold', args.threshold ?? 0, 0, Infinity);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    // The plain cases are the activations of the same name, which the graph may run in place.
    if (this.negativeSlope === 0 && this.threshold === 0) {
      if (this.maxValue === null) return [{ kind: 'activation', activation: 'relu' }];
      if (this.maxValue === 6) return [{ kind: 'activation', activation: 'relu6' }];
    }
    return [{ kind: 'relu', maxValue: this.maxValue, negativeSlope: this.negativeSlope, threshold: this.threshold }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), maxValue: this.maxValue, negativeSlope: this.negativeSlope, threshold: this.threshold };
  }
}

export interface LeakyReLUArgs extends LayerArgs {
  /** Slope for x < 0. Default 0.3 (Keras's). */
  negativeSlope?: number;
  /** Keras 2's name for negativeSlope. */
  alpha?: number;
}

/** Keras's LeakyReLU: x for x >= 0, negativeSlope * x below. */
export class LeakyReLU extends Layer {
  readonly className = 'LeakyReLU';
  readonly negativeSlope: number;

  constructor(args: LeakyReLUArgs = {}) {
    checkKnownOptions('LeakyReLU', args, [...LAYER_ARG_KEYS, 'negativeSlope', 'alpha']);
    super(args, 'LeakyReLU');
    const context = `LeakyReLU '${this.name}'`;
    if (args.negativeSlope !== undefined && args.alpha !== undefined) throw invalidArgument(context, 'either negativeSlope or alpha (its Keras 2 name), not both', args);
    this.negativeSlope = checkNumberInRange(context, args.alpha !== undefined ? 'alpha' : 'negativeSlope', args.negativeSlope ?? args.alpha ?? 0.3, 0, Infinity);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'activation', activation: 'leaky_relu', alpha: this.negativeSlope }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), negativeSlope: this.negativeSlope };
  }
}

export interface ELUArgs extends LayerArgs {
  /** Scale of the negative part, alpha * (exp(x) - 1). Default 1. */
  alpha?: number;
}

/** Keras's ELU: x for x > 0, alpha * (exp(x) - 1) otherwise. */
export class ELU extends Layer {
  readonly className = 'ELU';
  readonly alpha: number;

  constructor(args: ELUArgs = {}) {
    checkKnownOptions('ELU', args, [...LAYER_ARG_KEYS, 'alpha']);
    super(args, 'ELU');
    this.alpha = checkFiniteNumber(`ELU '${this.name}'`, 'alpha', args.alpha ?? 1);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'activation', activation: 'elu', alpha: this.alpha }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

export interface PReLUArgs extends LayerArgs {
  /** Default 'zeros' (Keras's): the layer starts as a ReLU. */
  alphaInitializer?: InitializerIdentifier;
  /** Axes (counted from 1, after the batch axis) along which one alpha is shared: `[1, 2]` gives one per channel of an image. */
  sharedAxes?: number | number[] | null;
}

/** Keras's PReLU: x for x >= 0, alpha * x below, with a learned alpha per element (shared along sharedAxes). */
export class PReLU extends Layer {
  readonly className = 'PReLU';
  readonly alphaInitializer: InitializerConfig;
  readonly sharedAxes: number[] | null;

  constructor(args: PReLUArgs = {}) {
    checkKnownOptions('PReLU', args, [...LAYER_ARG_KEYS, 'alphaInitializer', 'sharedAxes']);
    super(args, 'PReLU');
    const context = `PReLU '${this.name}'`;
    this.alphaInitializer = getInitializer(context, 'alphaInitializer', args.alphaInitializer ?? 'zeros');
    const shared = args.sharedAxes === undefined || args.sharedAxes === null ? null : typeof args.sharedAxes === 'number' ? [args.sharedAxes] : args.sharedAxes;
    if (shared !== null && !(Array.isArray(shared) && shared.every((a) => Number.isInteger(a) && a >= 1))) {
      throw invalidArgument(context, 'sharedAxes to be a positive integer or a list of them (axes after the batch axis, counted from 1)', args.sharedAxes);
    }
    this.sharedAxes = shared === null ? null : [...shared];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    if (this.sharedAxes && this.sharedAxes.some((a) => a > inputShape.length)) {
      throw this.inputError(`a rank with sharedAxes ${JSON.stringify(this.sharedAxes)} (counted from 1 after the batch axis)`, inputShape);
    }
    return [...inputShape];
  }

  private alphaShape(inputShape: readonly number[]): number[] {
    return inputShape.map((size, i) => (this.sharedAxes?.includes(i + 1) ? 1 : size));
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const alphaShape = this.alphaShape(inputShape);
    return [{ kind: 'prelu', alphaShape, alphaInitializer: this.alphaInitializer, ...kerasFans(alphaShape) }];
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    return [{ name: 'alpha', shape: this.alphaShape(inputShape), trainable: this.trainable }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), alphaInitializer: this.alphaInitializer, sharedAxes: this.sharedAxes };
  }
}

export interface SoftmaxArgs extends LayerArgs {
  /** The axis (or axes) to normalise over, counted with the batch axis; negative counts from the end. Default -1. */
  axis?: number | number[];
}

/** Keras's Softmax layer: exp(x - max) / sum over `axis` (several axes: over all of them at once). */
export class Softmax extends Layer {
  readonly className = 'Softmax';
  readonly axis: number | number[];

  constructor(args: SoftmaxArgs = {}) {
    checkKnownOptions('Softmax', args, [...LAYER_ARG_KEYS, 'axis']);
    super(args, 'Softmax');
    this.axis = checkAxis(`Softmax '${this.name}'`, args.axis ?? -1, true);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.canonicalAxes(this.axis, inputShape);
    return [...inputShape];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    // On the last axis it is the softmax activation, which a cross-entropy loss folds in (as Keras does).
    if (this.lastAxisOnly) return [{ kind: 'activation', activation: 'softmax' }];
    return [{ kind: 'softmax', axes: this.canonicalAxes(this.axis, inputShape), rank: inputShape.length + 1 }];
  }

  private get lastAxisOnly(): boolean {
    return this.axis === -1 || (Array.isArray(this.axis) && this.axis.length === 1 && this.axis[0] === -1);
  }

  override get finalActivation(): string {
    return this.lastAxisOnly ? 'softmax' : 'linear';
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}
