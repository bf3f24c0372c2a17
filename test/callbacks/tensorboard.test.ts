/**
 * The event files are read back by a reader written here, from the formats' specifications, sharing no
 * code with lib/io/event-file.ts: TFRecord framing (length, masked CRC-32C of the length, data, masked
 * CRC-32C of the data), a bitwise CRC-32C checked against the standard test vector, and a protocol buffer
 * decoder of the Event, Summary, Summary.Value and HistogramProto fields TensorBoard reads.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LearningRateScheduler, TensorBoard } from '../../lib/callbacks';
import { regressionData, regressionModel } from './data';

/** CRC-32C bit by bit (reflected polynomial 0x82F63B78). */
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function masked(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

test('the CRC-32C of the reader is the standard one', () => {
  expect(crc32cBitwise(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
});

type Field = { number: number; wire: number; value: bigint | Uint8Array | number };

function decode(bytes: Uint8Array): Field[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Field[] = [];
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = bytes[offset++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (offset < bytes.length) {
    const key = Number(varint());
    const number = key >> 3;
    const wire = key & 7;
    if (wire === 0) fields.push({ number, wire, value: varint() });
    else if (wire === 1) {
      fields.push({ number, wire, value: view.getFloat64(offset, true) });
      offset += 8;
    } else if (wire === 5) {
      fields.push({ number, wire, value: view.getFloat32(offset, true) });
      offset += 4;
    } else if (wire === 2) {
      const length = Number(varint());
      fields.push({ number, wire, value: bytes.subarray(offset, offset + length) });
      offset += length;
    } else throw new Error(`wire type ${wire}`);
  }
  return fields;
}

interface ReadEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: Record<string, number>;
  histograms: Record<string, { min: number; max: number; num: number; sum: number; bucket: number[]; bucketLimit: number[] }>;
}

function doubles(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
}

function readEvents(file: string): ReadEvent[] {
  const bytes = new Uint8Array(readFileSync(file));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: ReadEvent[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = Number(view.getBigUint64(offset, true));
    expect(view.getUint32(offset + 8, true)).toBe(masked(crc32cBitwise(bytes.subarray(offset, offset + 8))));
    const data = bytes.subarray(offset + 12, offset + 12 + length);
    expect(view.getUint32(offset + 12 + length, true)).toBe(masked(crc32cBitwise(data)));
    offset += 16 + length;
    const event: ReadEvent = { wallTime: 0, step: 0, scalars: {}, histograms: {} };
    for (const field of decode(data)) {
      if (field.number === 1) event.wallTime = field.value as number;
      if (field.number === 2) event.step = Number(field.value);
      if (field.number === 3) event.fileVersion = new TextDecoder().decode(field.value as Uint8Array);
      if (field.number === 5) {
        for (const value of decode(field.value as Uint8Array).filter((f) => f.number === 1)) {
          const parts = decode(value.value as Uint8Array);
          const tag = new TextDecoder().decode(parts.find((p) => p.number === 1)!.value as Uint8Array);
          const simple = parts.find((p) => p.number === 2);
          if (simple) event.scalars[tag] = simple.value as number;
          const histo = parts.find((p) => p.number === 5);
          if (histo) {
            const h = decode(histo.value as Uint8Array);
            const get = (n: number) => h.find((p) => p.number === n)?.value as number;
            event.histograms[tag] = {
              min: get(1),
              max: get(2),
              num: get(3),
              sum: get(4),
              bucketLimit: doubles(h.find((p) => p.number === 6)!.value as Uint8Array),
              bucket: doubles(h.find((p) => p.number === 7)!.value as Uint8Array),
            };
          }
        }
      }
    }
    events.push(event);
  }
  expect(offset).toBe(bytes.length);
  return events;
}

function eventFile(directory: string): string {
  const files = readdirSync(directory).filter((name) => name.includes('tfevents'));
  expect(files).toHaveLength(1);
  return path.join(directory, files[0]);
}

const [x, y] = regressionData();
let logDir: string;
beforeEach(() => {
  logDir = mkdtempSync(path.join(tmpdir(), 'keras-torch-tb-'));
});
afterEach(() => rmSync(logDir, { recursive: true, force: true }));

test('writes per-epoch scalars (train and validation), the learning rate, batch scalars every N batches, and weight histograms', async () => {
  const model = regressionModel(0.05);
  const schedule = new LearningRateScheduler((epoch) => 0.05 / (epoch + 1));
  const board = new TensorBoard({ logDir, updateFreq: 3, histogramFreq: 2 });
  const history = await model.fit(x, y, { epochs: 3, batchSize: 16, verbose: 0, validationSplit: 0.25, callbacks: [schedule, board] });

  const train = readEvents(eventFile(path.join(logDir, 'train')));
  expect(train[0].fileVersion).toBe('brain.Event:2');
  expect(Math.abs(train[0].wallTime - Date.now() / 1000)).toBeLessThan(600);
  const epochs = train.filter((e) => 'epoch_loss' in e.scalars);
  expect(epochs.map((e) => e.step)).toEqual([0, 1, 2]);
  epochs.forEach((e, i) => {
    expect(e.scalars.epoch_loss).toBeCloseTo(Math.fround(history.history.loss[i]), 7);
    expect(e.scalars.epoch_learning_rate).toBeCloseTo(Math.fround(0.05 / (i + 1)), 9);
    expect(Object.keys(e.scalars).sort()).toEqual(['epoch_learning_rate', 'epoch_loss']);
  });
  // 48 training samples in batches of 16: 3 per epoch, 9 in all; a batch scalar every 3rd batch.
  const batches = train.filter((e) => 'batch_loss' in e.scalars);
  expect(batches.map((e) => e.step)).toEqual([3, 6, 9]);

  // Histograms at epochs 0 and 2, one per weight, named as the weights are, over the weights' values then.
  const withHistograms = train.filter((e) => Object.keys(e.histograms).length > 0);
  expect(withHistograms.map((e) => e.step)).toEqual([0, 2]);
  const last = withHistograms[1].histograms;
  const weights = model.getWeights();
  expect(Object.keys(last)).toHaveLength(weights.length);
  const names = Object.keys(last);
  expect(names[0]).toMatch(/\/histogram$/);
  names.forEach((name, i) => {
    const valuesOf = Array.from(weights[i].dataSync() as Float32Array);
    const h = last[name];
    expect(h.num).toBe(valuesOf.length);
    expect(h.min).toBe(Math.min(...valuesOf));
    expect(h.max).toBe(Math.max(...valuesOf));
    expect(h.sum).toBeCloseTo(valuesOf.reduce((a, b) => a + b, 0), 5);
    expect(h.bucket.reduce((a, b) => a + b, 0)).toBe(valuesOf.length);
    expect(h.bucketLimit[h.bucketLimit.length - 1]).toBe(h.max);
  });

  const validation = readEvents(eventFile(path.join(logDir, 'validation')));
  const validationEpochs = validation.filter((e) => 'epoch_loss' in e.scalars);
  expect(validationEpochs.map((e) => e.step)).toEqual([0, 1, 2]);
  validationEpochs.forEach((e, i) => expect(e.scalars.epoch_loss).toBeCloseTo(Math.fround(history.history.val_loss[i]), 7));
});

test("updateFreq 'epoch' writes no batch scalars; the learning rate comes from the optimizer when no callback logs it", async () => {
  await regressionModel(0.03).fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, callbacks: [new TensorBoard({ logDir })] });
  const train = readEvents(eventFile(path.join(logDir, 'train')));
  expect(train.some((e) => Object.keys(e.scalars).some((tag) => tag.startsWith('batch_')))).toBe(false);
  expect(train.filter((e) => 'epoch_loss' in e.scalars).map((e) => e.scalars.epoch_learning_rate)).toEqual([Math.fround(0.03), Math.fround(0.03)]);
  expect(readdirSync(logDir)).toEqual(['train']);
});

test('bad arguments are rejected', () => {
  expect(() => new TensorBoard({ logDir: '' })).toThrow('TensorBoard: expected logDir to be a non-empty path but received ""');
  expect(() => new TensorBoard({ updateFreq: 0 })).toThrow("TensorBoard: expected updateFreq to be 'epoch' or a positive integer (batches) but received 0");
  expect(() => new TensorBoard({ updateFreq: 'batch' as never })).toThrow(/updateFreq/);
  expect(() => new TensorBoard({ histogramFreq: -1 })).toThrow('TensorBoard: expected histogramFreq to be a non-negative integer but received -1');
  expect(() => new TensorBoard({ logdir: 'x' } as never)).toThrow(/logdir/);
});
