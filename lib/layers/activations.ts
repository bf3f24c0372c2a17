/** Keras's activation layers with arguments of their own: ReLU, LeakyReLU, PReLU, ELU, Softmax. */
import type { LayerSpec } from '../native/binding';
import { checkKnownOptions, checkNumberInRange } from '../validation';
import { Layer, LayerArgs, LAYER_ARG_KEYS } from './layer';

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
