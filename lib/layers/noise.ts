/** Keras's GaussianNoise: a regularization layer active in training only. */
import type { LayerSpec } from '../native/binding';
import { checkKnownOptions, checkNumberInRange } from '../validation';
import { RandomLayer, RandomLayerArgs } from './core';
import { isOptionsObject, LAYER_ARG_KEYS, optionsAfterPositional } from './layer';

export interface GaussianNoiseArgs extends RandomLayerArgs {
  /** Standard deviation of the noise, in [0, 1] as Keras allows. */
  stddev?: number;
}

/** Adds zero-centred Gaussian noise of `stddev` during training (from its own seeded stream); identity otherwise. */
export class GaussianNoise extends RandomLayer {
  readonly className = 'GaussianNoise';
  readonly stddev: number;

  constructor(stddev: number, args?: RandomLayerArgs);
  constructor(args: GaussianNoiseArgs);
  constructor(stddevOrArgs: number | GaussianNoiseArgs, maybeArgs: RandomLayerArgs = {}) {
    const args = isOptionsObject(stddevOrArgs) ? stddevOrArgs : { ...optionsAfterPositional('GaussianNoise', maybeArgs), stddev: stddevOrArgs };
    checkKnownOptions('GaussianNoise', args, [...LAYER_ARG_KEYS, 'stddev', 'seed']);
    super(args, 'GaussianNoise');
    this.stddev = checkNumberInRange(`GaussianNoise '${this.name}'`, 'stddev', args.stddev, 0, 1);
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'gaussian_noise', stddev: this.stddev, seed: this.streamSeed }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), stddev: this.stddev };
  }
}
