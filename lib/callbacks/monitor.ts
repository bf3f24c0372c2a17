/**
 * What EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share: which direction of a monitored value
 * counts as better, and reading that value from an epoch's logs.
 */
import { invalidArgument } from '../errors';
import { checkOneOf } from '../validation';
import type { Logs } from './callback';

export type MonitorMode = 'auto' | 'min' | 'max';
export const MONITOR_MODES: readonly MonitorMode[] = ['auto', 'min', 'max'];

/** Metrics where higher is better; everything else (losses, errors) is minimised. */
const MAXIMISED = ['acc', 'auc', 'precision', 'recall'];

/** 'min' or 'max' for a monitor: 'auto' picks 'max' for accuracy-like names, as Keras does. */
export function resolveMode(context: string, monitor: string, mode: unknown): 'min' | 'max' {
  const checked = checkOneOf(context, 'mode', mode, MONITOR_MODES);
  if (checked !== 'auto') return checked;
  const name = monitor.startsWith('val_') ? monitor.slice(4) : monitor;
  return MAXIMISED.some((part) => name.includes(part)) ? 'max' : 'min';
}

export function checkMonitor(context: string, monitor: unknown): string {
  if (typeof monitor !== 'string' || monitor.length === 0) {
    throw invalidArgument(context, 'monitor to be the name of a logged value such as \'val_loss\'', monitor);
  }
  return monitor;
}

/** Whether `current` beats `reference` by more than `minDelta` in the direction of `mode`. */
export function isImprovement(mode: 'min' | 'max', current: number, reference: number, minDelta: number): boolean {
  return mode === 'min' ? current < reference - minDelta : current > reference + minDelta;
}

/** The monitored value, or undefined (with Keras's warning) when this epoch did not log it. */
export function monitoredValue(logs: Logs | undefined, monitor: string, purpose: string): number | undefined {
  const value = logs?.[monitor];
  if (value === undefined) {
    console.warn(
      `${purpose} is conditioned on metric \`${monitor}\` which is not available. ` +
        `Available metrics are: ${Object.keys(logs ?? {}).join(',')}`,
    );
  }
  return value;
}
