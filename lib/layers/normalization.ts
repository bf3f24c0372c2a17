/** Keras's BatchNormalization (with Keras's meaning of momentum and its epsilon default) and LayerNormalization. */
import type { ConstraintIdentifier } from '../constraints';
import { getInitializer, InitializerConfig, InitializerIdentifier, kerasFans } from '../initializers';
import type { LayerSpec } from '../native/binding';
import type { RegularizerIdentifier } from '../regularizers';
import { checkBoolean, checkKnownOptions, checkNumberInRange } from '../validation';
import { checkAxis, Layer, LayerArgs, LAYER_ARG_KEYS, WeightInfo, weightOptionKeys } from './layer';

export interface BatchNormalizationArgs extends LayerArgs {
  /**
   * The axis whose entries each get their own statistics, counted with the batch axis; negative counts
   * from the end. Default -1 (the channels).
   */
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
  readonly axis: number;
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
    this.axis = checkAxis(context, args.axis ?? -1, false) as number;
    this.momentum = checkNumberInRange(context, 'momentum', args.momentum ?? 0.99, 0, 1);
    this.epsilon = checkNumberInRange(context, 'epsilon', args.epsilon ?? 1e-3, 0, Infinity, { minExclusive: true });
    this.center = checkBoolean(context, 'center', args.center ?? true);
    this.scale = checkBoolean(context, 'scale', args.scale ?? true);
    this.regularizeWeights(args, GAMMA_AND_BETA);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.canonicalAxes(this.axis, inputShape);
    return [...inputShape];
  }

  /** The size of the normalised axis. */
  private features(inputShape: readonly number[]): number {
    return inputShape[this.canonicalAxes(this.axis, inputShape)[0] - 1];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    return [
      {
        kind: 'batch_normalization',
        features: this.features(inputShape),
        axis: this.canonicalAxes(this.axis, inputShape)[0],
        rank: inputShape.length + 1,
        momentum: this.momentum,
        epsilon: this.epsilon,
        center: this.center,
        scale: this.scale,
      },
    ];
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    const shape = [this.features(inputShape)];
    const weights: WeightInfo[] = [];
    if (this.scale) weights.push({ name: 'gamma', shape, trainable: this.trainable });
    if (this.center) weights.push({ name: 'beta', shape, trainable: this.trainable });
    weights.push({ name: 'moving_mean', shape, trainable: false }, { name: 'moving_variance', shape, trainable: false });
    return weights;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis, momentum: this.momentum, epsilon: this.epsilon, center: this.center, scale: this.scale };
  }
}

export interface LayerNormalizationArgs extends LayerArgs {
  /** The axis or axes each sample is normalised over, counted with the batch axis; negative counts from the end. Default -1. */
  axis?: number | number[];
  /** Added to the variance. Default 1e-3. */
  epsilon?: number;
  /** Learn an offset (beta). Default true. */
  center?: boolean;
  /** Learn a scale (gamma). Default true. */
  scale?: boolean;
  /** Default 'zeros'. */
  betaInitializer?: InitializerIdentifier;
  /** Default 'ones'. */
  gammaInitializer?: InitializerIdentifier;
}

/**
 * Keras's LayerNormalization: each sample is normalised by its own mean and (biased) variance over `axis`,
 * then scaled by gamma and offset by beta, both of the shape of those axes.
 */
export class LayerNormalization extends Layer {
  readonly className = 'LayerNormalization';
  readonly axis: number | number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: InitializerConfig;
  readonly gammaInitializer: InitializerConfig;

  constructor(args: LayerNormalizationArgs = {}) {
    checkKnownOptions('LayerNormalization', args, [...LAYER_ARG_KEYS, 'axis', 'epsilon', 'center', 'scale', 'betaInitializer', 'gammaInitializer']);
    super(args, 'LayerNormalization');
    const context = `LayerNormalization '${this.name}'`;
    this.axis = checkAxis(context, args.axis ?? -1, true);
    this.epsilon = checkNumberInRange(context, 'epsilon', args.epsilon ?? 1e-3, 0, Infinity, { minExclusive: true });
    this.center = checkBoolean(context, 'center', args.center ?? true);
    this.scale = checkBoolean(context, 'scale', args.scale ?? true);
    this.betaInitializer = getInitializer(context, 'betaInitializer', args.betaInitializer ?? 'zeros');
    this.gammaInitializer = getInitializer(context, 'gammaInitializer', args.gammaInitializer ?? 'ones');
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.canonicalAxes(this.axis, inputShape);
    return [...inputShape];
  }

  /** Keras's shape of gamma and beta: the input's sizes along the (sorted) axes. */
  private paramShape(inputShape: readonly number[]): number[] {
    return this.canonicalAxes(this.axis, inputShape).map((a) => inputShape[a - 1]);
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const paramShape = this.paramShape(inputShape);
    return [
      {
        kind: 'layer_normalization',
        axes: this.canonicalAxes(this.axis, inputShape),
        rank: inputShape.length + 1,
        paramShape,
        epsilon: this.epsilon,
        center: this.center,
        scale: this.scale,
        gammaInitializer: this.gammaInitializer,
        betaInitializer: this.betaInitializer,
        ...kerasFans(paramShape),
      },
    ];
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    const shape = this.paramShape(inputShape);
    const weights: WeightInfo[] = [];
    if (this.scale) weights.push({ name: 'gamma', shape, trainable: this.trainable });
    if (this.center) weights.push({ name: 'beta', shape, trainable: this.trainable });
    return weights;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer,
      gammaInitializer: this.gammaInitializer,
    };
  }
}
