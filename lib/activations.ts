/** Keras's activation names, as the native side implements them (native/layers.cc ApplyActivation). */
import { invalidArgument } from './errors';

export const ACTIVATIONS = [
  'relu',
  'sigmoid',
  'softmax',
  'tanh',
  'linear',
  'elu',
  'selu',
  'gelu',
  'leaky_relu',
  'softplus',
  'softsign',
  'swish',
  'silu',
  'exponential',
  'relu6',
] as const;

export type ActivationName = (typeof ACTIVATIONS)[number];
/** Keras's names, their camelCase spellings (`leakyRelu`), or null/undefined for none (linear). */
export type ActivationIdentifier = ActivationName | 'leakyRelu' | null;

/** Resolves an activation identifier; undefined and null mean linear, as in Keras. */
export function getActivation(context: string, identifier: unknown): ActivationName {
  if (identifier === undefined || identifier === null) return 'linear';
  if (identifier === 'leakyRelu') return 'leaky_relu';
  if (typeof identifier === 'string' && (ACTIVATIONS as readonly string[]).includes(identifier)) {
    return identifier as ActivationName;
  }
  throw invalidArgument(context, `activation to be one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}`, identifier);
}
