/**
 * Saving never loses or damages a file: concurrent saves to one path, symbolic links, paths that are not
 * regular files, long names, temporary files of killed saves, and a full disk named in the error.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Dense, loadModel, Sequential, tensor } from '../../lib';
import { readSafetensors, StoredTensor, writeSafetensors } from '../../lib/io/safetensors';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-files-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));


async function kernelOf(file: string): Promise<number[]> {
  const loaded = await loadModel(file);
  return Array.from(loaded.getWeights()[0].dataSync() as Float32Array);
}

test('two saves to one path at once both resolve and leave one complete model', async () => {
  const file = path.join(tmp, 'shared.safetensors');
  const a = new Sequential([new Dense(64, { inputShape: [64] })]);
  const b = new Sequential([new Dense(64, { inputShape: [64] })]);
  for (let round = 0; round < 5; round++) {
    await Promise.all([a.save(file), b.save(file), a.save(file), b.save(file)]);
    const saved = await kernelOf(file);
    const candidates = [a, b].map((m) => Array.from(m.getWeights()[0].dataSync() as Float32Array));
    expect(candidates.some((kernel) => kernel.every((v, i) => v === saved[i]))).toBe(true);
  }
  expect(fs.readdirSync(tmp).filter((name) => name.endsWith('.tmp'))).toEqual([]);
});

test('saving through a symbolic link writes the file it points at and keeps the link', async () => {
  const real = path.join(tmp, 'real.safetensors');
  const link = path.join(tmp, 'link.safetensors');
  const first = new Sequential([new Dense(2, { inputShape: [3] })]);
  await first.save(real);
  fs.symlinkSync(real, link);
  const second = new Sequential([new Dense(2, { inputShape: [3] })]);
  await second.save(link);
  expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  expect(await kernelOf(real)).toEqual(Array.from(second.getWeights()[0].dataSync() as Float32Array));
  // A link to a file that does not exist yet: the file is made where the link points.
  const dangling = path.join(tmp, 'dangling.safetensors');
  fs.symlinkSync(path.join(tmp, 'made-through-link.safetensors'), dangling);
  await second.save(dangling);
  expect(fs.lstatSync(dangling).isSymbolicLink()).toBe(true);
  expect(fs.existsSync(path.join(tmp, 'made-through-link.safetensors'))).toBe(true);
});

test('a device, a pipe or a directory at the path is an error naming it, and is left as it was', async () => {
  const m = new Sequential([new Dense(2, { inputShape: [3] })]);
  // A device node of our own (null's numbers), never /dev/null itself: were the check broken, only it would go.
  const device = path.join(tmp, 'null-device');
  if (spawnSync('mknod', ['-m', '666', device, 'c', '1', '3'], { timeout: 10_000 }).status === 0) {
    await expect(m.save(device)).rejects.toThrow(`${device}: expected a path to a model file but it is a device`);
    expect(fs.statSync(device).isCharacterDevice()).toBe(true);
  } else {
    console.warn('the device case is skipped: mknod needs root');
  }
  const pipe = path.join(tmp, 'pipe');
  expect(spawnSync('mkfifo', [pipe], { timeout: 10_000 }).status).toBe(0);
  await expect(m.save(pipe)).rejects.toThrow(`${pipe}: expected a path to a model file but it is a pipe`);
  expect(fs.statSync(pipe).isFIFO()).toBe(true);
  await expect(m.save(tmp)).rejects.toThrow(`${tmp}: expected a path to a model file but it is a directory`);
});

test('a file name of 250 characters saves and loads', async () => {
  const file = path.join(tmp, `${'m'.repeat(238)}.safetensors`);
  expect(path.basename(file)).toHaveLength(250);
  const m = new Sequential([new Dense(2, { inputShape: [3] })]);
  await m.save(file);
  expect(await kernelOf(file)).toEqual(Array.from(m.getWeights()[0].dataSync() as Float32Array));
});

test("temporary files of saves whose process is gone are removed by the next save; a live process's are not", async () => {
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8', timeout: 10_000 });
  const deadPid = Number(dead.stdout);
  const stale = path.join(tmp, `.keras-torch-${deadPid}-1-0123abcd.tmp`);
  const live = path.join(tmp, `.keras-torch-${process.pid}-999-0123abcd.tmp`);
  fs.writeFileSync(stale, 'half a model');
  fs.writeFileSync(live, 'a save in progress');
  await new Sequential([new Dense(2, { inputShape: [3] })]).save(path.join(tmp, 'after.safetensors'));
  expect(fs.existsSync(stale)).toBe(false);
  expect(fs.existsSync(live)).toBe(true);
  fs.rmSync(live);
});

// A 64 KiB tmpfs fills up mid-write; mounting needs root (CI and the developers' machines run as root).
const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version'], { timeout: 10_000 }).status === 0;
(canMount ? test : test.skip)('a full disk rejects with the file named and leaves the previous file and no temporary', async () => {
  const disk = fs.mkdtempSync(path.join(tmp, 'disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], { encoding: 'utf8', timeout: 10_000 });
  if (mounted.status !== 0) {
    console.warn(`skipping the full-disk case: mount failed (${mounted.stderr.trim()})`);
    return;
  }
  try {
    const file = path.join(disk, 'model.safetensors');
    const small = new Sequential([new Dense(2, { inputShape: [3] })]);
    await small.save(file);
    const before = fs.readFileSync(file);
    const large = new Sequential([new Dense(256, { inputShape: [256] })]); // 257 KB of weights
    await expect(large.save(file)).rejects.toThrow(`${file}: cannot write the model file (ENOSPC in ${disk})`);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(disk)).toEqual(['model.safetensors']);
  } finally {
    spawnSync('umount', [disk], { timeout: 10_000 });
  }
});

test('the tensor data survive a round trip unchanged', async () => {
  const m = new Sequential([new Dense(3, { inputShape: [3] })]);
  const file = path.join(tmp, 'round.safetensors');
  await m.save(file);
  const x = tensor([1, 2, 3], [1, 3]);
  expect(Array.from((await (await loadModel(file)).predict(x)).dataSync() as Float32Array)).toEqual(
    Array.from((await m.predict(x)).dataSync() as Float32Array),
  );
});

describe('optimizer state read from a file is checked, not reinterpreted', () => {
  /** A saved, trained model's file with its tensors changed by `edit`. */
  async function tampered(name: string, edit: (tensors: Map<string, StoredTensor>) => void): Promise<string> {
    const m = new Sequential([new Dense(2, { inputShape: [3] })]);
    m.compile({ optimizer: 'adam', loss: 'mse' });
    await m.trainOnBatch(tensor([1, 2, 3], [1, 3]), tensor([1, 0], [1, 2]));
    const file = path.join(tmp, `${name}.safetensors`);
    await m.save(file);
    const { tensors, metadata } = await readSafetensors(file);
    edit(tensors);
    await writeSafetensors(file, tensors, metadata);
    return file;
  }

  test('an int32 exp_avg is refused by name', async () => {
    const file = await tampered('int-state', (tensors) => {
      const key = [...tensors.keys()].find((k) => k.endsWith('/exp_avg'))!;
      const entry = tensors.get(key)!;
      tensors.set(key, { dtype: 'int32', shape: entry.shape, data: new Int32Array(entry.data.length).fill(7) });
    });
    await expect(loadModel(file)).rejects.toThrow(/optimizer\/dense(_\d+)?\.weight\/exp_avg of dtype float32 but received int32/);
  });

  test('a negative step count is refused', async () => {
    const file = await tampered('negative-step', (tensors) => {
      const key = [...tensors.keys()].find((k) => k.endsWith('/step'))!;
      tensors.set(key, { dtype: 'int64', shape: [], data: new BigInt64Array([-5n]) });
    });
    await expect(loadModel(file)).rejects.toThrow(/step to be a non-negative int64 scalar but received -5/);
  });
});
