/** Keras's output sizes and "same" padding for windows sliding over one spatial axis. */
import { checkOneOf } from '../validation';

export type PaddingMode = 'valid' | 'same';

export function checkPadding(context: string, value: unknown): PaddingMode {
  return checkOneOf(context, 'padding', value ?? 'valid', ['valid', 'same'] as const);
}

/** The window's extent with dilation: (kernel - 1) * dilation + 1. */
export function effectiveSize(kernel: number, dilation: number): number {
  return (kernel - 1) * dilation + 1;
}

export function outputSize(input: number, kernel: number, stride: number, dilation: number, padding: PaddingMode): number {
  if (padding === 'same') return Math.ceil(input / stride);
  return Math.floor((input - effectiveSize(kernel, dilation)) / stride) + 1;
}

/**
 * Padding before and after along one axis. "same" pads (total / 2) before and the rest after, so an odd
 * total puts the extra row at the bottom/right, as TensorFlow does.
 */
export function paddingAmounts(
  input: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: PaddingMode,
): [number, number] {
  if (padding === 'valid') return [0, 0];
  const output = Math.ceil(input / stride);
  const total = Math.max((output - 1) * stride + effectiveSize(kernel, dilation) - input, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}
