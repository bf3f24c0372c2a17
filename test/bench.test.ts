/**
 * The benchmark's smoke run: `--quick` through the compiled bench, checking the JSON it writes (its
 * structure, never its speed), and that a missing peer is skipped with a message rather than failing.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Row } from '../bench/run';

const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let scratch: string;

// A quick bench takes a minute on an idle machine and several on a loaded one: the bound only stops a hang.
const BENCH_TIMEOUT_MS = 600_000;

function bench(args: string[]): { stdout: string; result: { meta: Record<string, unknown>; rows: Row[] } } {
  const out = path.join(scratch, `result-${Math.random().toString(36).slice(2)}.json`);
  const stdout = execFileSync(process.execPath, [path.join(root, 'build-ts', 'bench', 'run.js'), '--quick', '--out', out, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: BENCH_TIMEOUT_MS,
  });
  return { stdout, result: JSON.parse(fs.readFileSync(out, 'utf8')) };
}

beforeAll(() => {
  // The bench imports 'keras-torch' (dist/, built before the suite by test/global-setup.js) and runs compiled
  // from build-ts/, as `npm run bench` does.
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.examples.json'], { cwd: root, stdio: 'pipe', timeout: 180_000 });
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-bench-test-'));
}, 240000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const ids = ['a', 'a2', 'a3', 'b1', 'b2', 'b3', 'b1t', 'b4', 'b4t', 'b5', 'b5t', 'i1', 'i2', 'i3', 'c', 'd', 'e1', 'e2', 'f1', 'f2', 'f3', 'g', 'h', 'j1', 'j2'];

function checkRow(row: Row): void {
  expect(typeof row.name).toBe('string');
  expect(typeof row.unit).toBe('string');
  expect(typeof row.target).toBe('string');
  expect(['speedup', 'overhead_ms', 'memory_ratio', 'value']).toContain(row.ratioKind);
  expect(Array.isArray(row.spread.ours) && Array.isArray(row.spread.peer)).toBe(true);
  for (const value of [row.ours, row.peer, row.ratio]) {
    if (value !== null) expect(Number.isFinite(value)).toBe(true);
  }
  if (row.ours !== null && row.peer !== null && row.ratioKind !== 'value') {
    expect(row.ratio).not.toBeNull();
    expect(typeof row.met).toBe('boolean');
  }
  if (row.peer === null && row.ratioKind !== 'value') {
    expect(row.ratio).toBeNull();
    expect(row.skipped).toEqual(expect.any(String));
  }
}

describe('bench --quick', () => {
  test('writes every row with ours measured and the peers measured or skipped with a reason', () => {
    const { stdout, result } = bench([]);
    expect(result.meta).toMatchObject({ quick: true, threads: 2, cores: expect.any(Number), cpuModel: expect.any(String), libtorch: expect.stringMatching(/^\d/) });
    expect(result.meta.loadAverageBefore).toHaveLength(3);
    expect(result.rows.map((row) => row.id)).toEqual(ids);
    result.rows.forEach(checkRow);
    // The in-memory rows never depend on image folders or peers.
    for (const id of ['a', 'a2', 'a3', 'b1', 'b2', 'b3', 'b4', 'b5', 'i1', 'f1', 'f2', 'f3', 'g', 'h', 'j1', 'j2']) expect(result.rows.find((row) => row.id === id)!.ours).toBeGreaterThan(0);
    expect(stdout).toMatch(/\| a +\| train step/);
    expect(stdout).toMatch(/\| f1 +\| residual CNN train step/);
    // The HTTP load test answered every request it sent, with and without dynamic batching.
    expect(result.rows.find((row) => row.id === 'i3')!.ours).toBe(0);
    // The tcmalloc peer is measured where Debian's library is installed, else skipped with the reason.
    for (const id of ['a3', 'b1t', 'b4t', 'b5t', 'f2']) {
      const row = result.rows.find((r) => r.id === id)!;
      expect(row.peerName).toMatch(/tcmalloc/);
      if (row.peer === null) expect(row.skipped).toMatch(/tcmalloc|torch|python/i);
    }
  }, BENCH_TIMEOUT_MS + 60_000);

  test('a peer that is not installed is skipped with a message', () => {
    const { stdout, result } = bench(['--python', path.join(scratch, 'no-such-python')]);
    expect(stdout).toMatch(/PyTorch peer skipped: .*no-such-python not found/);
    for (const row of result.rows) {
      checkRow(row);
      // Rows g, h and i compare keras-torch with itself (accuracy alone; fit from tensors; per-request
      // predict), which needs nothing installed.
      if (row.id === 'g' || row.id === 'h') expect(row.peer).toBeGreaterThan(0);
      else if (row.id === 'i1' || row.id === 'i2') expect(row.peer).not.toBeNull();
      else expect(row.peer).toBeNull();
    }
    expect(result.rows.find((row) => row.id === 'a')!.skipped).toMatch(/not found/);
    expect(result.rows.find((row) => row.id === 'a')!.ours).toBeGreaterThan(0);
    expect(result.rows.find((row) => row.id === 'f1')!.ours).toBeGreaterThan(0);
  }, BENCH_TIMEOUT_MS + 60_000);

  test('a tcmalloc library that is not there skips its rows with the reason', () => {
    const missing = path.join(scratch, 'no-such-libtcmalloc_minimal.so.4');
    const { stdout, result } = bench(['--tcmalloc', missing]);
    const torchMissing = /PyTorch peer skipped/.test(stdout);
    if (!torchMissing) expect(stdout).toMatch(/PyTorch-on-tcmalloc peer skipped: .*no-such-libtcmalloc.* not found/);
    for (const id of ['a3', 'b1t', 'b4t', 'b5t', 'f2']) {
      const row = result.rows.find((r) => r.id === id)!;
      checkRow(row);
      expect(row.peer).toBeNull();
      if (!torchMissing) expect(row.skipped).toMatch(/no-such-libtcmalloc.* not found/);
    }
  }, BENCH_TIMEOUT_MS + 60_000);
});
