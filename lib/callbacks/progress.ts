/**
 * Keras's progress output. verbose 1: a bar per epoch, redrawn in place on a terminal and printed once at
 * the epoch's end otherwise; verbose 2: one line per epoch.
 *   Epoch 3/25
 *   63/63 ━━━━━━━━━━━━━━━━━━━━ 5s 80ms/step - accuracy: 0.9123 - loss: 0.2931 - val_accuracy: 0.9200 - val_loss: 0.2500
 */
import { Callback, Logs } from './callback';

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

const BAR_WIDTH = 20;
/** Redrawing more often than this only costs time. */
const REDRAW_INTERVAL_MS = 100;

export function formatDuration(seconds: number): string {
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}:${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;
  return `${Math.round(seconds)}s`;
}

function formatPerStep(seconds: number): string {
  if (seconds >= 1) return `${seconds.toFixed(0)}s/step`;
  if (seconds >= 1e-3) return `${Math.round(seconds * 1e3)}ms/step`;
  return `${Math.round(seconds * 1e6)}us/step`;
}

export function formatLogs(logs: Logs): string {
  return Object.keys(logs)
    .sort()
    .map((key) => {
      const value = logs[key];
      const text = Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(4);
      return ` - ${key}: ${text}`;
    })
    .join('');
}

/** On a terminal the unfilled part is dimmed, as Keras draws it; elsewhere it is plain spaces. */
export function progressBar(done: number, total: number, terminal: boolean): string {
  const filled = total > 0 ? Math.min(BAR_WIDTH, Math.floor((done / total) * BAR_WIDTH)) : BAR_WIDTH;
  const rest = BAR_WIDTH - filled;
  if (rest === 0) return '━'.repeat(BAR_WIDTH);
  return '━'.repeat(filled) + (terminal ? `\x1b[2m${'━'.repeat(rest)}\x1b[0m` : ' '.repeat(rest));
}

export class ProgressLogger extends Callback {
  readonly rankZeroOnly = true;
  private epochStart = 0;
  private lastDraw = 0;
  private seen = 0;

  constructor(
    private readonly verbose: 1 | 2,
    private readonly output: ProgressOutput = process.stdout,
  ) {
    super();
  }

  private get steps(): number {
    return this.params?.steps ?? 0;
  }

  onEpochBegin(epoch: number): void {
    this.epochStart = performance.now();
    this.lastDraw = 0;
    this.seen = 0;
    if (this.verbose === 1 || (this.params?.epochs ?? 1) > 1) {
      this.output.write(`Epoch ${epoch + 1}/${this.params?.epochs ?? '?'}\n`);
    }
  }

  onBatchEnd(batch: number, logs: Logs = {}): void {
    this.seen = batch + 1;
    if (this.verbose !== 1 || !this.output.isTTY) return;
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_INTERVAL_MS && this.seen < this.steps) return;
    this.lastDraw = now;
    const elapsed = (now - this.epochStart) / 1000;
    const remaining = (elapsed / this.seen) * Math.max(0, this.steps - this.seen);
    const width = String(this.steps).length;
    const { batch: _batch, size: _size, ...values } = logs;
    this.output.write(
      `\r\x1b[K${String(this.seen).padStart(width)}/${this.steps} ${progressBar(this.seen, this.steps, true)} ` +
        `${formatDuration(remaining)} ${formatPerStep(elapsed / this.seen)}${formatLogs(values)}`,
    );
  }

  onEpochEnd(_epoch: number, logs: Logs = {}): void {
    const elapsed = (performance.now() - this.epochStart) / 1000;
    const steps = this.seen || this.steps;
    const perStep = formatPerStep(elapsed / Math.max(1, steps));
    if (this.verbose === 2) {
      this.output.write(`${steps}/${steps} - ${formatDuration(elapsed)} - ${perStep}${formatLogs(logs)}\n`);
      return;
    }
    const prefix = this.output.isTTY ? '\r\x1b[K' : '';
    this.output.write(
      `${prefix}${steps}/${steps} ${progressBar(steps, steps, Boolean(this.output.isTTY))} ${formatDuration(elapsed)} ${perStep}${formatLogs(logs)}\n`,
    );
  }
}
