import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Adam, Dense, Dropout, History, Sequential, setSeed } from '../../lib';
import { BackupAndRestore, LambdaCallback } from '../../lib/callbacks';
import { flat, regressionData } from './data';

const [x, y] = regressionData(64, 3);
let backupDir: string;
beforeEach(() => {
  backupDir = path.join(mkdtempSync(path.join(tmpdir(), 'keras-torch-backup-')), 'backup');
});
afterEach(() => rmSync(path.dirname(backupDir), { recursive: true, force: true }));

/** The same program each time: seed, model (Adam keeps per-weight state), shuffled fit. */
function run(callbacks: object[]): { fit: Promise<History>; model: Sequential } {
  setSeed(21);
  const model = new Sequential([new Dense(6, { inputShape: [8], activation: 'tanh' }), new Dense(1)]);
  model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'mse' });
  return { model, fit: model.fit(x, y, { epochs: 6, batchSize: 16, shuffle: true, verbose: 0, callbacks: callbacks as never }) };
}

function failAt(epoch: number): LambdaCallback {
  return new LambdaCallback({
    onEpochEnd: (e) => {
      if (e === epoch) throw new Error(`interrupted at epoch ${e}`);
    },
  });
}

async function uninterruptedWeights(): Promise<number[]> {
  const { fit, model } = run([]);
  await fit;
  return flat(model.getWeights());
}

test('a fit interrupted by an exception resumes at the next epoch and ends with the uninterrupted weights, bit for bit', async () => {
  const expected = await uninterruptedWeights();
  const first = run([new BackupAndRestore({ backupDir }), failAt(2)]);
  await expect(first.fit).rejects.toThrow('interrupted at epoch 2');
  // Stopped partway, the weights differ from the end result: the comparison below can fail.
  expect(flat(first.model.getWeights())).not.toEqual(expected);
  expect(readdirSync(backupDir).sort()).toEqual(['epoch-2.safetensors', 'training_metadata.json']);

  const epochsRun: number[] = [];
  const resumed = run([new BackupAndRestore({ backupDir }), new LambdaCallback({ onEpochBegin: (e) => void epochsRun.push(e) })]);
  const history = await resumed.fit;
  expect(epochsRun).toEqual([3, 4, 5]);
  expect(history.epoch).toEqual([3, 4, 5]);
  expect(flat(resumed.model.getWeights())).toEqual(expected);
  // Completed: the backup is gone, and the next fit starts from the beginning.
  expect(readdirSync(backupDir)).toEqual([]);
});

test('model.stopTraining before the last epoch keeps the backup; the next fit resumes from it', async () => {
  const expected = await uninterruptedWeights();
  const stopper = new LambdaCallback({
    onEpochEnd: (e) => {
      if (e === 1) first.model.stopTraining = true;
    },
  });
  const first = run([new BackupAndRestore({ backupDir }), stopper]);
  expect((await first.fit).epoch).toEqual([0, 1]);
  expect(existsSync(path.join(backupDir, 'training_metadata.json'))).toBe(true);
  const resumed = run([new BackupAndRestore({ backupDir, deleteCheckpoint: false })]);
  expect((await resumed.fit).epoch).toEqual([2, 3, 4, 5]);
  expect(flat(resumed.model.getWeights())).toEqual(expected);
  expect(readdirSync(backupDir).sort()).toEqual(['epoch-5.safetensors', 'training_metadata.json']);
});

test('with Dropout: the resumed run draws the masks the uninterrupted run with the callback drew', async () => {
  const dropoutRun = (callbacks: object[]) => {
    setSeed(5);
    const model = new Sequential([new Dense(16, { inputShape: [8], activation: 'relu' }), new Dropout(0.5), new Dense(1)]);
    model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'mse' });
    return { model, fit: model.fit(x, y, { epochs: 4, batchSize: 16, verbose: 0, callbacks: callbacks as never }) };
  };
  const whole = dropoutRun([new BackupAndRestore({ backupDir: `${backupDir}-whole` })]);
  await whole.fit;
  const expected = flat(whole.model.getWeights());
  await expect(dropoutRun([new BackupAndRestore({ backupDir }), failAt(1)]).fit).rejects.toThrow('interrupted at epoch 1');
  const resumed = dropoutRun([new BackupAndRestore({ backupDir })]);
  expect((await resumed.fit).epoch).toEqual([2, 3]);
  expect(flat(resumed.model.getWeights())).toEqual(expected);
});

test('a damaged backup and bad arguments are reported', async () => {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(backupDir, { recursive: true });
  writeFileSync(path.join(backupDir, 'training_metadata.json'), '{"epoch": "two"}');
  await expect(run([new BackupAndRestore({ backupDir })]).fit).rejects.toThrow(
    /BackupAndRestore: .*training_metadata.json: expected an epoch and its weights file but received \{"epoch":"two"\}; delete the backup to start over/,
  );
  expect(() => new BackupAndRestore({} as never)).toThrow('BackupAndRestore: expected backupDir to be a non-empty path but received undefined');
  expect(() => new BackupAndRestore({ backupDir, deleteCheckpoint: 'no' as never })).toThrow(
    'BackupAndRestore: expected deleteCheckpoint to be a boolean but received "no"',
  );
});
