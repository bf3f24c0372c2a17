/** Keras's Rescaling preprocessing layer: `x * scale + offset`. */
import type { LayerSpec } from '../native/binding';
import { checkFiniteNumber, checkKnownOptions } from '../validation';
import { isOptionsObject, Layer, LayerArgs, LAYER_ARG_KEYS, optionsAfterPositional } from './layer';

export interface RescalingArgs extends LayerArgs {
  scale?: number;
  /** Default 0. */
  offset?: number;
}

export class Rescaling extends Layer {
  readonly className = 'Rescaling';
  readonly scale: number;
  readonly offset: number;

  constructor(scale: number, args?: RescalingArgs);
  constructor(args: RescalingArgs);
  constructor(scaleOrArgs: number | RescalingArgs, maybeArgs: RescalingArgs = {}) {
    const args = isOptionsObject(scaleOrArgs) ? scaleOrArgs : { ...optionsAfterPositional('Rescaling', maybeArgs), scale: scaleOrArgs };
    checkKnownOptions('Rescaling', args, [...LAYER_ARG_KEYS, 'scale', 'offset']);
    super(args, 'Rescaling');
    this.scale = checkFiniteNumber(`Rescaling '${this.name}'`, 'scale', args.scale);
    this.offset = checkFiniteNumber(`Rescaling '${this.name}'`, 'offset', args.offset ?? 0);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'rescaling', scale: this.scale, offset: this.offset }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}
