/** Keras's ActivityRegularization: the identity, adding an L1/L2 penalty on what passes through to the loss. */
import type { LayerSpec } from '../native/binding';
import { L1L2 } from '../regularizers';
import { checkKnownOptions, checkNumberInRange } from '../validation';
import { Layer, LayerArgs, LAYER_ARG_KEYS } from './layer';

export interface ActivityRegularizationArgs extends Omit<LayerArgs, 'activityRegularizer'> {
  /** The L1 factor. Default 0. */
  l1?: number;
  /** The L2 factor. Default 0. */
  l2?: number;
}

/** Passes its input on unchanged and adds `(l1 * sum(|x|) + l2 * sum(x²)) / batchSize` to the loss. */
export class ActivityRegularization extends Layer {
  readonly className = 'ActivityRegularization';
  readonly l1: number;
  readonly l2: number;

  constructor(args: ActivityRegularizationArgs = {}) {
    checkKnownOptions('ActivityRegularization', args, [...LAYER_ARG_KEYS.filter((key) => key !== 'activityRegularizer'), 'l1', 'l2']);
    const l1 = checkNumberInRange('ActivityRegularization', 'l1', args.l1 ?? 0, 0, Infinity);
    const l2 = checkNumberInRange('ActivityRegularization', 'l2', args.l2 ?? 0, 0, Infinity);
    const regularizer = new L1L2({ l1, l2 });
    super({ ...args, activityRegularizer: regularizer }, 'ActivityRegularization');
    this.l1 = regularizer.l1;
    this.l2 = regularizer.l2;
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    return [];
  }

  override getConfig(): Record<string, unknown> {
    // The factors are the whole of its activity regularizer: the config holds them once, as Keras's does.
    const { activityRegularizer: _regularizer, ...config } = super.getConfig();
    return { ...config, l1: this.l1, l2: this.l2 };
  }
}
