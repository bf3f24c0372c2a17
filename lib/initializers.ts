/** Keras's weight initializers by name (or `{name, ...}` with arguments); drawn natively. */
import { invalidArgument } from './errors';
import { checkOneOf } from './validation';

export const INITIALIZERS = [
  'glorot_uniform',
  'glorot_normal',
  'he_uniform',
  'he_normal',
  'lecun_uniform',
  'lecun_normal',
  'random_normal',
  'random_uniform',
  'truncated_normal',
  'zeros',
  'ones',
  'constant',
  'variance_scaling',
] as const;

export type InitializerName = (typeof INITIALIZERS)[number];

/** An initializer with arguments, e.g. `{name: 'random_normal', stddev: 0.01}`. */
export interface InitializerConfig {
  name: InitializerName;
  mean?: number;
  stddev?: number;
  minval?: number;
  maxval?: number;
  value?: number;
  /** variance_scaling: the variance's factor (default 1). */
  scale?: number;
  /** variance_scaling: the fan the variance is divided by (default 'fan_in'). */
  mode?: 'fan_in' | 'fan_out' | 'fan_avg';
  /** variance_scaling: default 'truncated_normal'. */
  distribution?: 'truncated_normal' | 'untruncated_normal' | 'uniform';
}

export type InitializerIdentifier = InitializerName | InitializerConfig;

const CAMEL_CASE: Record<string, InitializerName> = {
  glorotUniform: 'glorot_uniform',
  glorotNormal: 'glorot_normal',
  heUniform: 'he_uniform',
  heNormal: 'he_normal',
  lecunUniform: 'lecun_uniform',
  lecunNormal: 'lecun_normal',
  randomNormal: 'random_normal',
  randomUniform: 'random_uniform',
  truncatedNormal: 'truncated_normal',
  varianceScaling: 'variance_scaling',
};

export function getInitializer(context: string, argument: string, identifier: unknown): InitializerConfig {
  const config: Record<string, unknown> =
    typeof identifier === 'string' ? { name: identifier } : { ...(identifier as Record<string, unknown>) };
  if (typeof config.name === 'string' && CAMEL_CASE[config.name]) config.name = CAMEL_CASE[config.name];
  if (identifier === null || typeof identifier !== 'object' && typeof identifier !== 'string' ||
      !(INITIALIZERS as readonly string[]).includes(config.name as string)) {
    throw invalidArgument(context, `${argument} to be one of ${INITIALIZERS.join(', ')} (or {name, ...})`, identifier);
  }
  for (const key of ['mean', 'stddev', 'minval', 'maxval', 'value', 'scale'] as const) {
    if (config[key] !== undefined && (typeof config[key] !== 'number' || !Number.isFinite(config[key]))) {
      throw invalidArgument(context, `${argument}.${key} to be a finite number`, config[key]);
    }
  }
  if (config.name === 'variance_scaling') {
    if (config.scale !== undefined && (config.scale as number) <= 0) {
      throw invalidArgument(context, `${argument}.scale to be a positive number`, config.scale);
    }
    checkOneOf(context, `${argument}.mode`, config.mode ?? 'fan_in', ['fan_in', 'fan_out', 'fan_avg'] as const);
    checkOneOf(context, `${argument}.distribution`, config.distribution ?? 'truncated_normal', ['truncated_normal', 'untruncated_normal', 'uniform'] as const);
  }
  return config as unknown as InitializerConfig;
}

/**
 * Keras's fan-in and fan-out of a weight of `shape` (initializers' compute_fans): a vector's length for both,
 * a matrix's rows and columns, else a kernel's last two axes times the product of the others.
 */
export function kerasFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const receptiveField = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2] * receptiveField, fanOut: shape[shape.length - 1] * receptiveField };
}
