/** Keras's BatchNormalization, with Keras's meaning of momentum and its epsilon default. */
import { invalidArgument } from '../errors';
import type { ConstraintIdentifier } from '../constraints';
import type { LayerSpec } from '../native/binding';
import type { RegularizerIdentifier } from '../regularizers';
import { checkBoolean, checkKnownOptions, checkNumberInRange } from '../validation';
import { Layer, LayerArgs, LAYER_ARG_KEYS, WeightInfo, weightOptionKeys } from './layer';

export interface BatchNormalizationArgs extends LayerArgs {
  /** Only -1 (the channels axis, Keras's default). */
  axis?: number;
  /** Weight of the old moving statistics in each update. Default 0.99. */
  momentum?: number;
  /** Added to the variance. Default 1e-3. */
  epsilon?: number;
  /** Learn an offset (beta). Default true. */
  center?: boolean;
  /** Learn a scale (gamma). Default true. */
  scale?: boolean;
  /** A penalty on gamma added to the loss. Default none. */
  gammaRegularizer?: RegularizerIdentifier | null;
  /** A penalty on beta added to the loss. Default none. */
  betaRegularizer?: RegularizerIdentifier | null;
  /** A projection of gamma after each optimizer step. Default none. */
  gammaConstraint?: ConstraintIdentifier | null;
  /** A projection of beta after each optimizer step. Default none. */
  betaConstraint?: ConstraintIdentifier | null;
}

const GAMMA_AND_BETA = { gamma: 'gamma', beta: 'beta' } as const;

/**
 * Normalises each channel by the batch's statistics while training and by moving averages otherwise.
 * The moving variance is updated with the unbiased batch variance, as PyTorch does.
 */
export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;

  constructor(args: BatchNormalizationArgs = {}) {
    checkKnownOptions('BatchNormalization', args, [
      ...LAYER_ARG_KEYS,
      ...weightOptionKeys(GAMMA_AND_BETA),
      'axis',
      'momentum',
      'epsilon',
      'center',
      'scale',
    ]);
    super(args, 'BatchNormalization');
    const context = `BatchNormalization '${this.name}'`;
    if (args.axis !== undefined && args.axis !== -1) {
      throw invalidArgument(context, 'axis -1 (the channels axis)', args.axis);
    }
    this.momentum = checkNumberInRange(context, 'momentum', args.momentum ?? 0.99, 0, 1);
    this.epsilon = checkNumberInRange(context, 'epsilon', args.epsilon ?? 1e-3, 0, Infinity, { minExclusive: true });
    this.center = checkBoolean(context, 'center', args.center ?? true);
    this.scale = checkBoolean(context, 'scale', args.scale ?? true);
    this.regularizeWeights(args, GAMMA_AND_BETA);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 1 && inputShape.length !== 3) {
      throw this.inputError('rank 1 ([features]) or 3 ([height, width, channels])', inputShape);
    }
    return [...inputShape];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    return [
      {
        kind: 'batch_normalization',
        features: inputShape[inputShape.length - 1],
        rank: inputShape.length + 1,
        momentum: this.momentum,
        epsilon: this.epsilon,
        center: this.center,
        scale: this.scale,
      },
    ];
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    const shape = [inputShape[inputShape.length - 1]];
    const weights: WeightInfo[] = [];
    if (this.scale) weights.push({ name: 'gamma', shape, trainable: this.trainable });
    if (this.center) weights.push({ name: 'beta', shape, trainable: this.trainable });
    weights.push({ name: 'moving_mean', shape, trainable: false }, { name: 'moving_variance', shape, trainable: false });
    return weights;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon, center: this.center, scale: this.scale };
  }
}
