/**
 * TensorFlow event files, as TensorBoard reads them: a TFRecord stream (each record: its length as a
 * little-endian uint64, the masked CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data) of
 * `Event` protocol buffers (tensorflow/core/util/event.proto), each holding a wall time, a step and a
 * `Summary` of scalars (`simple_value`) or histograms. Only the fields written here are encoded.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';

// ---- CRC-32C (Castagnoli), as TFRecord checksums its records ---------------------------------------

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masking: a CRC of data that holds CRCs would otherwise be weak. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: framing around `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const record = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(record.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(record.subarray(0, 8)), true);
  record.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return record;
}

// ---- protocol buffer encoding ----------------------------------------------------------------------

/** Writes protocol buffer fields in order; `bytes()` returns the message. */
class ProtoWriter {
  private readonly parts: Uint8Array[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      out.push(byte);
    } while (v > 0n);
    this.parts.push(Uint8Array.from(out));
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  double(field: number, value: number): this {
    this.key(field, 1);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.parts.push(bytes);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.parts.push(bytes);
    return this;
  }

  int64(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.parts.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A packed repeated double. */
  doubles(field: number, values: ArrayLike<number>): this {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i], true);
    return this.bytes(field, bytes);
  }

  finish(): Uint8Array {
    const total = this.parts.reduce((sum, part) => sum + part.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

/** A histogram of `values` in TensorBoard's HistogramProto: min, max, count, sum, sum of squares, bucket right edges and counts. */
export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}

/** `bins` equal-width buckets between the values' min and max (one bucket when they are all equal). */
export function histogram(values: ArrayLike<number>, bins = 30): Histogram {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
  }
  if (values.length === 0) return { min: 0, max: 0, num: 0, sum: 0, sumSquares: 0, bucketLimit: [], bucket: [] };
  const count = max > min ? bins : 1;
  const width = (max - min) / count;
  const bucket = new Array<number>(count).fill(0);
  for (let i = 0; i < values.length; i++) bucket[count === 1 ? 0 : Math.min(count - 1, Math.floor((values[i] - min) / width))] += 1;
  const bucketLimit = bucket.map((_, i) => (i === count - 1 ? max : min + (i + 1) * width));
  return { min, max, num: values.length, sum, sumSquares, bucketLimit, bucket };
}

export type SummaryValue = { tag: string; scalar: number } | { tag: string; histogram: Histogram };

function summary(values: SummaryValue[]): Uint8Array {
  const message = new ProtoWriter();
  for (const value of values) {
    const entry = new ProtoWriter().string(1, value.tag);
    if ('scalar' in value) {
      entry.float(2, value.scalar);
    } else {
      const h = value.histogram;
      entry.bytes(
        5,
        new ProtoWriter().double(1, h.min).double(2, h.max).double(3, h.num).double(4, h.sum).double(5, h.sumSquares)
          .doubles(6, h.bucketLimit).doubles(7, h.bucket).finish(),
      );
    }
    message.bytes(1, entry.finish());
  }
  return message.finish();
}

/** Event fields: wall_time = 1 (seconds), step = 2, file_version = 3, summary = 5. */
function event(step: number, fields: { fileVersion?: string; summary?: SummaryValue[] }): Uint8Array {
  const message = new ProtoWriter().double(1, Date.now() / 1000).int64(2, step);
  if (fields.fileVersion !== undefined) message.string(3, fields.fileVersion);
  if (fields.summary) message.bytes(5, summary(fields.summary));
  return message.finish();
}

/** Writers opened by this process: two opened in the same second in one folder get different names. */
let writersOpened = 0;

/**
 * One event file in `directory`, named as TensorFlow names them (TensorBoard looks for "tfevents"), opened
 * with its version record. Events are written as they come; `flush` puts them on disk.
 */
export class EventFileWriter {
  readonly file: string;
  private fd: number | null;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true });
    const seconds = Math.floor(Date.now() / 1000);
    this.file = path.join(directory, `events.out.tfevents.${seconds}.${hostname()}.${process.pid}.${writersOpened++}.v2`);
    this.fd = openSync(this.file, 'a');
    this.write(event(0, { fileVersion: 'brain.Event:2' }));
  }

  add(step: number, values: SummaryValue[]): void {
    if (values.length > 0) this.write(event(step, { summary: values }));
  }

  flush(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }

  private write(data: Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.file} is closed`);
    writeSync(this.fd, tfRecord(data));
  }
}
