/**
 * Data-parallel training over Gloo on loopback: two processes, as torchrun would start them.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

const dist = path.resolve(__dirname, '../../dist/index.js');
const rankScript = path.join(__dirname, 'train-rank.js');

interface RankResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function runRank(env: Record<string, string>): Promise<RankResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    // A rank that hangs is killed (SIGKILL reads as a null code and the signal in stderr): the test fails, the run goes on.
    const child = spawn(process.execPath, [rankScript], {
      env: { ...process.env, KERAS_TORCH_DIST: dist, OMP_NUM_THREADS: '1', ...env },
      timeout: 180_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code, signal) => {
      const seconds = (Date.now() - started) / 1000;
      resolve({ code, stdout, stderr: signal ? `${stderr}\nthe rank was killed by ${signal} after ${seconds} s (timeout 180 s)` : stderr, seconds });
    });
  });
}

/** What a rank printed before its result, line by line. */
function printedBefore(result: RankResult): string[] {
  return result.stdout.trim().split('\n').slice(0, -1);
}

/** The JSON result a rank prints on its last line. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function resultOf(result: RankResult): any {
  return JSON.parse(result.stdout.trim().split('\n').pop() as string);
}

async function runGroup(worldSize: number, env: Record<string, string>): Promise<RankResult[]> {
  const port = await freePort();
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      runRank({ ...env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(worldSize), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }),
    ),
  );
}

describe('data-parallel fit over Gloo', () => {
  test('two ranks end with identical weights and follow the single-process loss curve of the combined batch', async () => {
    const [group, single] = await Promise.all([runGroup(2, { BATCH_SIZE: '8' }), runRank({ BATCH_SIZE: '16' })]);
    for (const result of [...group, single]) expect(result.stderr).toBe('');
    const [rank0, rank1] = group.map((r) => resultOf(r));
    const reference = resultOf(single);
    expect(rank0.rank).toBe(0);
    expect(rank1.rank).toBe(1);
    expect(rank1.weights).toEqual(rank0.weights);
    expect(rank0.loss).toHaveLength(3);
    expect(rank0.loss).toHaveLength(reference.loss.length);
    rank0.loss.forEach((loss: number, epoch: number) => expect(Math.abs(loss - reference.loss[epoch])).toBeLessThan(1e-4));
    expect(rank0.weights.flat()).toHaveLength(reference.weights.flat().length);
    rank0.weights.flat().forEach((value: number, i: number) => expect(Math.abs(value - reference.weights.flat()[i])).toBeLessThan(1e-4));
  }, 120000);

  test('a two-input functional model trains data-parallel as the single process does on the combined batch', async () => {
    const env = { MODEL: 'functional' };
    const [group, single] = await Promise.all([runGroup(2, { ...env, BATCH_SIZE: '8' }), runRank({ ...env, BATCH_SIZE: '16' })]);
    for (const result of [...group, single]) expect(result.stderr).toBe('');
    const [rank0, rank1] = group.map((r) => resultOf(r));
    const reference = resultOf(single);
    expect(rank1.weights).toEqual(rank0.weights);
    expect(rank0.weights).toHaveLength(4);
    expect(rank0.loss).toHaveLength(reference.loss.length);
    rank0.loss.forEach((loss: number, epoch: number) => expect(Math.abs(loss - reference.loss[epoch])).toBeLessThan(1e-4));
    expect(rank0.weights.flat()).toHaveLength(reference.weights.flat().length);
    rank0.weights.flat().forEach((value: number, i: number) => expect(Math.abs(value - reference.weights.flat()[i])).toBeLessThan(1e-4));
  }, 120000);

  test.each([
    ['layer widths', { FILTERS_1: '4' }, /they disagree on weights?|parameters/],
    ['sample counts', { COUNT_1: '40' }, /they disagree on stepsPerEpoch/],
  ])('ranks that disagree on %s all fail with the same clear error, none aborts', async (_what, env, reason) => {
    const group = await runGroup(2, { BATCH_SIZE: '8', ...env });
    group.forEach((result, rank) => {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`rank ${rank}: fit: the ranks do not train the same thing`));
      expect(result.stderr).toMatch(reason);
    });
  }, 120000);

  test('when a rank dies mid-epoch, the other fails with an error within the timeout instead of hanging', async () => {
    const [survivor, killed] = await runGroup(2, { BATCH_SIZE: '4', EPOCHS: '50', DIE_AT_BATCH: '3', TIMEOUT_MS: '10000' });
    expect(killed.code).toBeNull();
    expect(survivor.code).toBe(1);
    expect(survivor.stderr).toMatch(/rank 0: .+/);
    expect(survivor.seconds).toBeLessThan(60);
  }, 120000);

  test('validation logs on every rank are the mean over the ranks, the evaluation of the union of their shards', async () => {
    const group = await runGroup(2, { BATCH_SIZE: '8', EPOCHS: '2', VALIDATION: '1' });
    for (const result of group) expect(result.stderr).toBe('');
    const [rank0, rank1] = group.map(resultOf);
    expect(rank1.weights).toEqual(rank0.weights);
    expect(rank0.history.val_loss).toHaveLength(2);
    expect(rank1.history).toEqual(rank0.history);
    // The last epoch's validation ran with the final weights: evaluate them in one process, on all 16
    // validation samples and on each rank's half (rank r reads validation batch r of 8).
    const weightsFile = path.join(os.tmpdir(), `keras-torch-distributed-weights-${process.pid}.json`);
    fs.writeFileSync(weightsFile, JSON.stringify(rank0.weights));
    let evaluation: RankResult;
    try {
      evaluation = await runRank({ BATCH_SIZE: '8', EVALUATE_WEIGHTS: weightsFile });
    } finally {
      fs.rmSync(weightsFile, { force: true });
    }
    expect(evaluation.stderr).toBe('');
    const { whole, halves } = resultOf(evaluation) as { whole: [number, number]; halves: [number, number][] };
    // The halves differ, so a rank that logged its own shard's numbers would not match.
    expect(Math.abs(halves[0][0] - halves[1][0])).toBeGreaterThan(0.01);
    expect(halves[0][1]).not.toBe(halves[1][1]);
    const lastLoss = rank0.history.val_loss[1];
    const lastAccuracy = rank0.history.val_accuracy[1];
    expect(Math.abs(lastLoss - whole[0])).toBeLessThan(1e-5);
    expect(Math.abs(lastLoss - (halves[0][0] + halves[1][0]) / 2)).toBeLessThan(1e-5);
    expect(Math.abs(lastAccuracy - whole[1])).toBeLessThan(1e-6);
  }, 120000);

  test('only rank 0 prints progress and checkpoint messages and writes checkpoints; rank 1 prints and writes nothing', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-distributed-checkpoints-'));
    try {
      const group = await runGroup(2, { BATCH_SIZE: '8', EPOCHS: '2', VERBOSE: '2', CHECKPOINT_DIR: folder });
      for (const result of group) expect(result.stderr).toBe('');
      const [rank0, rank1] = group;
      const printed = printedBefore(rank0);
      expect(printed.filter((line) => /^Epoch \d+\/2$/.test(line))).toEqual(['Epoch 1/2', 'Epoch 2/2']);
      expect(printed.filter((line) => /^4\/4 - .*loss: \d/.test(line))).toHaveLength(2);
      expect(printed.filter((line) => line.includes('saving model to'))).toEqual([
        `Epoch 1: saving model to ${path.join(folder, 'rank0', 'epoch1.safetensors')}`,
        `Epoch 2: saving model to ${path.join(folder, 'rank0', 'epoch2.safetensors')}`,
      ]);
      expect(printedBefore(rank1)).toEqual([]);
      expect(resultOf(rank1).rank).toBe(1);
      expect(fs.readdirSync(folder).sort()).toEqual(['rank0']);
      expect(fs.readdirSync(path.join(folder, 'rank0')).sort()).toEqual(['epoch1.safetensors', 'epoch2.safetensors']);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }, 120000);

  test('only rank 0 writes CSVLogger, JSONLogger, TensorBoard and BackupAndRestore files given to both; both resume from the backup', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-distributed-logs-'));
    try {
      const first = await runGroup(2, { BATCH_SIZE: '8', EPOCHS: '2', LOGS_DIR: folder });
      for (const result of first) expect(result.stderr).toBe('');
      const [rank0, rank1] = first.map(resultOf);
      const lines = (file: string) => fs.readFileSync(path.join(folder, file), 'utf8').trim().split('\n');
      const csv = lines('log.csv');
      expect(csv[0]).toBe('epoch,accuracy,loss');
      expect(csv.slice(1).map((line) => Number(line.split(',')[0]))).toEqual([0, 1]);
      expect(csv.slice(1).map((line) => Number(line.split(',')[2]))).toEqual(rank0.history.loss);
      expect(lines('log.jsonl').map((line) => JSON.parse(line).epoch)).toEqual([0, 1]);
      expect(fs.readdirSync(path.join(folder, 'tensorboard'))).toEqual(['train']);
      expect(fs.readdirSync(path.join(folder, 'tensorboard', 'train'))).toHaveLength(1);
      expect(fs.readdirSync(path.join(folder, 'backup')).sort()).toEqual(['epoch-1.safetensors', 'training_metadata.json']);
      expect(rank0.saves).toEqual([path.join('backup', 'epoch-0.safetensors'), path.join('backup', 'epoch-1.safetensors')]);
      expect(rank1.saves).toEqual([]);

      // A longer run over the same folder: both ranks restore epoch 1's backup and train epoch 2 alone.
      const second = await runGroup(2, { BATCH_SIZE: '8', EPOCHS: '3', LOGS_DIR: folder });
      for (const result of second) expect(result.stderr).toBe('');
      const resumed = second.map(resultOf);
      for (const result of resumed) expect(result.stepsPerEpoch).toEqual([4]);
      expect(resumed[1].weights).toEqual(resumed[0].weights);
      expect(resumed[0].saves).toEqual([path.join('backup', 'epoch-2.safetensors')]);
      expect(resumed[1].saves).toEqual([]);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }, 180000);

  test('a dataset of 5 batches on 2 ranks: each runs 3 steps an epoch, rank 1 wraps around to batch 0, neither hangs', async () => {
    // 36 samples in batches of 8: batches 0-3 of 8 samples and batch 4 of 4. Rank r reads batches r, r + 2,
    // ... of each epoch, and the rank that runs out first starts over from batch 0, so both run 3 steps.
    const group = await runGroup(2, { BATCH_SIZE: '8', EPOCHS: '2', COUNT: '36', SOURCE: 'sequence', TIMEOUT_MS: '60000' });
    for (const result of group) expect(result.stderr).toBe('');
    expect(group.map((result) => result.code)).toEqual([0, 0]);
    const [rank0, rank1] = group.map(resultOf);
    expect(rank0.stepsPerEpoch).toEqual([3, 3]);
    expect(rank1.stepsPerEpoch).toEqual([3, 3]);
    expect([...rank0.batchesRead].sort()).toEqual([0, 0, 2, 2, 4, 4]);
    expect([...rank1.batchesRead].sort()).toEqual([0, 0, 1, 1, 3, 3]);
    expect(rank1.weights).toEqual(rank0.weights);
    expect(rank1.loss).toEqual(rank0.loss);
  }, 120000);
});
