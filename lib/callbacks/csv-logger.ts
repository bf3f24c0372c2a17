/**
 * CSVLogger: one row per epoch (`epoch` 0-based, then the logged values in sorted key order), written and
 * flushed as each epoch ends, so the file is current even if training is interrupted.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { invalidArgument } from '../errors';
import { checkBoolean } from '../validation';
import { Callback, Logs } from './callback';
import { pythonRepr } from './format';

export class CSVLogger extends Callback {
  readonly rankZeroOnly = true;
  readonly filename: string;
  readonly separator: string;
  readonly append: boolean;
  private keys?: string[];
  private writeHeader = true;

  constructor(filename: string, separator = ',', append = false) {
    super();
    if (typeof filename !== 'string' || filename.length === 0) {
      throw invalidArgument('CSVLogger', 'filename to be a non-empty path', filename);
    }
    if (typeof separator !== 'string' || separator.length !== 1 || /["\r\n]/.test(separator)) {
      throw invalidArgument('CSVLogger', 'separator to be one character other than a quote or newline', separator);
    }
    this.filename = filename;
    this.separator = separator;
    this.append = checkBoolean('CSVLogger', 'append', append);
  }

  onTrainBegin(): void {
    this.keys = undefined;
    mkdirSync(path.dirname(this.filename), { recursive: true });
    if (this.append && existsSync(this.filename)) {
      // Appending to a file that already has rows: its header is there.
      this.writeHeader = readFileSync(this.filename, 'utf8').split('\n', 1)[0].length === 0;
    } else {
      this.writeHeader = true;
      if (!this.append) writeFileSync(this.filename, '');
    }
  }

  onEpochEnd(epoch: number, logs: Logs = {}): void {
    if (!this.keys) {
      this.keys = Object.keys(logs).sort();
      if (!this.keys.some((key) => key.startsWith('val_')) && this.params?.metrics.some((name) => name.startsWith('val_'))) {
        // Validation that did not run this epoch still gets its columns, as Keras leaves room for them.
        this.keys = [...this.keys, ...this.keys.map((key) => `val_${key}`)].sort();
      }
    }
    let text = '';
    if (this.writeHeader) {
      text += this.row(['epoch', ...this.keys]);
      this.writeHeader = false;
    }
    text += this.row([String(epoch), ...this.keys.map((key) => (key in logs ? pythonRepr(logs[key]) : 'NA'))]);
    appendFileSync(this.filename, text);
  }

  private row(fields: string[]): string {
    return `${fields.map((field) => this.quote(field)).join(this.separator)}\n`;
  }

  private quote(field: string): string {
    return field.includes(this.separator) || /["\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
  }
}
