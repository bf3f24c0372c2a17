import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CSVLogger, LambdaCallback, ReduceLROnPlateau } from '../../lib/callbacks';
import { regressionData, regressionModel } from './data';

const [x, y] = regressionData();
let directory: string;
beforeEach(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'keras-torch-csv-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

function rows(file: string, separator = ','): string[][] {
  return readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => line.split(separator));
}

describe('CSVLogger', () => {
  test('writes a header of epoch and the sorted keys, then one row per epoch with History\'s values', async () => {
    const file = path.join(directory, 'logs', 'training.csv');
    const model = regressionModel();
    const history = await model.fit(x, y, {
      epochs: 3,
      batchSize: 16,
      verbose: 0,
      validationSplit: 0.25,
      callbacks: [new CSVLogger(file)],
    });
    const table = rows(file);
    expect(table[0]).toEqual(['epoch', 'loss', 'val_loss']);
    expect(table.slice(1).map((row) => row[0])).toEqual(['0', '1', '2']);
    expect(table.slice(1).map((row) => Number(row[1]))).toEqual(history.history.loss);
    expect(table.slice(1).map((row) => Number(row[2]))).toEqual(history.history.val_loss);
  });

  test('each row is on disk as its epoch ends', async () => {
    const file = path.join(directory, 'live.csv');
    const lineCounts: number[] = [];
    const reader = new LambdaCallback({ onEpochEnd: () => void lineCounts.push(rows(file).length) });
    await regressionModel().fit(x, y, { epochs: 3, batchSize: 32, verbose: 0, callbacks: [new CSVLogger(file), reader] });
    expect(lineCounts).toEqual([2, 3, 4]);
  });

  test('append adds rows under the existing header; without it the file starts over', async () => {
    const file = path.join(directory, 'appended.csv');
    const model = regressionModel();
    await model.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, callbacks: [new CSVLogger(file, ';')] });
    await model.fit(x, y, { epochs: 4, initialEpoch: 2, batchSize: 32, verbose: 0, callbacks: [new CSVLogger(file, ';', true)] });
    const appended = rows(file, ';');
    expect(appended.map((row) => row[0])).toEqual(['epoch', '0', '1', '2', '3']);
    expect(appended.every((row) => row.length === 2)).toBe(true);
    await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0, callbacks: [new CSVLogger(file, ';')] });
    expect(rows(file, ';').map((row) => row[0])).toEqual(['epoch', '0']);
  });

  test('records the learning rate when a callback before it logs one', async () => {
    const file = path.join(directory, 'lr.csv');
    const reduce = new ReduceLROnPlateau({ monitor: 'loss', minDelta: 10, patience: 1, factor: 0.5 });
    await regressionModel(0.04).fit(x, y, { epochs: 3, batchSize: 32, verbose: 0, callbacks: [reduce, new CSVLogger(file)] });
    const table = rows(file);
    expect(table[0]).toEqual(['epoch', 'learning_rate', 'loss', 'lr']);
    expect(table.slice(1).map((row) => Number(row[1]))).toEqual([0.04, 0.04, 0.02].map((v) => expect.closeTo(v, 12)));
  });

  test('values Python would write: nan, inf, exponents; fields with the separator are quoted', () => {
    const file = path.join(directory, 'values.csv');
    const logger = new CSVLogger(file);
    logger.onTrainBegin();
    logger.onEpochEnd(0, { loss: NaN, 'odd,key': 1e-5, val_loss: Infinity });
    expect(readFileSync(file, 'utf8')).toBe('epoch,loss,"odd,key",val_loss\n0,nan,1e-05,inf\n');
    logger.onEpochEnd(1, { loss: 0.5 });
    expect(readFileSync(file, 'utf8').split('\n')[2]).toBe('1,0.5,NA,NA');
  });

  test('bad arguments are rejected', () => {
    expect(() => new CSVLogger('')).toThrow('CSVLogger: expected filename to be a non-empty path but received ""');
    expect(() => new CSVLogger('a.csv', ', ')).toThrow('CSVLogger: expected separator to be one character other than a quote or newline but received ", "');
    expect(() => new CSVLogger('a.csv', ',', 'yes' as never)).toThrow('CSVLogger: expected append to be a boolean but received "yes"');
  });
});
