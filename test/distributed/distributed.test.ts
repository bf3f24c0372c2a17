/**
 * Data-parallel training over Gloo on loopback: two processes, as torchrun would start them.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
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
    const [rank0, rank1] = group.map((r) => JSON.parse(r.stdout));
    const reference = JSON.parse(single.stdout);
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
    const [rank0, rank1] = group.map((r) => JSON.parse(r.stdout));
    const reference = JSON.parse(single.stdout);
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
});
