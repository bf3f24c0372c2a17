/**
 * JSONLogger: Keras's RemoteMonitor, which posts `{"epoch": 3, "loss": ..., ...}` as JSON at each epoch's
 * end, written instead as one JSON line per epoch to a file (appended and on disk as the epoch ends) or to
 * a writable stream (process.stdout, a socket, a log shipper's pipe). Non-finite values, which JSON lacks,
 * are written as the strings "NaN", "Infinity" and "-Infinity".
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { invalidArgument } from '../errors';
import { checkBoolean, checkKnownOptions, checkPlainObject } from '../validation';
import { Callback, Logs } from './callback';

export interface JSONLoggerArgs {
  /** A file to write the lines to. Give this or `stream`. */
  file?: string;
  /** A writable stream (anything with `write(text)`) to write the lines to. */
  stream?: { write(text: string): unknown };
  /** With `file`: add to what the file holds instead of starting it anew. Default false. */
  append?: boolean;
}

export class JSONLogger extends Callback {
  readonly rankZeroOnly = true;
  readonly file?: string;
  readonly append: boolean;
  private readonly stream?: { write(text: string): unknown };

  constructor(args: JSONLoggerArgs) {
    super();
    checkPlainObject('JSONLogger', 'options', args);
    checkKnownOptions('JSONLogger', args, ['file', 'stream', 'append']);
    if ((args.file === undefined) === (args.stream === undefined)) {
      throw invalidArgument('JSONLogger', 'one of file (a path) or stream (a writable stream)', args);
    }
    if (args.file !== undefined && (typeof args.file !== 'string' || args.file.length === 0)) {
      throw invalidArgument('JSONLogger', 'file to be a non-empty path', args.file);
    }
    if (args.stream !== undefined && (typeof args.stream !== 'object' || args.stream === null || typeof args.stream.write !== 'function')) {
      throw invalidArgument('JSONLogger', 'stream to be a writable stream (with a write method)', args.stream);
    }
    this.file = args.file;
    this.stream = args.stream;
    this.append = checkBoolean('JSONLogger', 'append', args.append ?? false);
  }

  onTrainBegin(): void {
    if (!this.file) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    if (!this.append) writeFileSync(this.file, '');
  }

  onEpochEnd(epoch: number, logs: Logs = {}): void {
    const line = `${JSON.stringify({ epoch, ...logs }, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value))}\n`;
    if (this.file) appendFileSync(this.file, line);
    else this.stream!.write(line);
  }
}
