import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { JSONLogger } from '../../lib/callbacks';
import { regressionData, regressionModel } from './data';

const [x, y] = regressionData();
let directory: string;
beforeEach(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'keras-torch-json-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

test('writes one JSON line per epoch with the epoch and History\'s values, to a file', async () => {
  const file = path.join(directory, 'runs', 'log.jsonl');
  const history = await regressionModel().fit(x, y, { epochs: 3, batchSize: 16, verbose: 0, validationSplit: 0.25, callbacks: [new JSONLogger({ file })] });
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
  expect(lines).toEqual([0, 1, 2].map((epoch) => ({ epoch, loss: history.history.loss[epoch], val_loss: history.history.val_loss[epoch] })));
});

test('writes to a stream; appends to a file only when told; non-finite values are strings', async () => {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk) => chunks.push(String(chunk)));
  await regressionModel().fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, callbacks: [new JSONLogger({ stream })] });
  expect(chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line).epoch)).toEqual([0, 1]);

  const file = path.join(directory, 'log.jsonl');
  const logger = new JSONLogger({ file, append: true });
  logger.onTrainBegin();
  logger.onEpochEnd(0, { loss: NaN, val_loss: Infinity });
  new JSONLogger({ file, append: true }).onEpochEnd(1, { loss: -Infinity });
  expect(readFileSync(file, 'utf8')).toBe('{"epoch":0,"loss":"NaN","val_loss":"Infinity"}\n{"epoch":1,"loss":"-Infinity"}\n');
  new JSONLogger({ file }).onTrainBegin();
  expect(readFileSync(file, 'utf8')).toBe('');
});

test('bad arguments are rejected', () => {
  expect(() => new JSONLogger({} as never)).toThrow('JSONLogger: expected one of file (a path) or stream (a writable stream) but received {}');
  expect(() => new JSONLogger({ file: 'a', stream: process.stdout })).toThrow(/JSONLogger: expected one of file/);
  expect(() => new JSONLogger({ file: '' })).toThrow('JSONLogger: expected file to be a non-empty path but received ""');
  expect(() => new JSONLogger({ stream: {} as never })).toThrow('JSONLogger: expected stream to be a writable stream (with a write method) but received {}');
  expect(() => new JSONLogger({ file: 'a', append: 1 as never })).toThrow('JSONLogger: expected append to be a boolean but received 1');
});
