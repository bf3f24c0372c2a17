/**
 * Files that would make a reader read forever or allocate gigabytes: a class-folder entry that links to
 * /dev/zero, a 2 GB sparse file named .jpg, and tiny JPEGs whose headers declare 8192x8192 pixels. Reading a
 * batch that holds them must end promptly with an error naming the file (or skip it with invalidImages:
 * 'skip'), decoding each file once, in bounded memory. Run in a child process, which reports its peak RSS
 * (its own high-water mark) over its baseline with libtorch loaded.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

const dist = path.resolve(__dirname, '../../dist/index.js');

let root: string;
beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-bombs-'));
  for (const name of ['a', 'b']) {
    fs.mkdirSync(path.join(root, name));
    for (let i = 0; i < 3; i++) {
      await sharp(Buffer.alloc(8 * 8 * 3, 40 * i), { raw: { width: 8, height: 8, channels: 3 } }).jpeg().toFile(path.join(root, name, `${i}.jpg`));
    }
  }
  fs.symlinkSync('/dev/zero', path.join(root, 'a', 'zero.jpg'));
  const big = fs.openSync(path.join(root, 'b', 'big.jpg'), 'w');
  fs.ftruncateSync(big, 2 * 1024 ** 3); // sparse: no disk used
  fs.closeSync(big);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function readAll(invalidImages: 'error' | 'skip', folder = root, batchSize = 8) {
  const script = `
    const k = require(${JSON.stringify(dist)});
    // The high-water mark of this process's own memory: resourceUsage().maxRSS keeps the parent's (a jest
    // worker's) across fork and exec, VmHWM starts with the new program.
    const highWaterMB = () => Math.round(Number(/VmHWM:\\s+(\\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024);
    (async () => {
      const it = new k.ImageDataGenerator().flowFromDirectory(${JSON.stringify(folder)}, { targetSize: [8, 8], batchSize: ${batchSize}, shuffle: false, invalidImages: ${JSON.stringify(invalidImages)} });
      const outcome = { warnings: [] };
      process.on('warning', (w) => outcome.warnings.push(w.message));
      k.tensor([1]).dispose(); // the addon and libtorch loaded before the baseline
      outcome.baselineMB = highWaterMB();
      try {
        const [x] = await it.get(0);
        outcome.shape = x.shape;
      } catch (e) { outcome.error = e.message; }
      outcome.peakMB = highWaterMB();
      console.log(JSON.stringify(outcome));
    })();`;
  const result = spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(result.signal).toBeNull();
  // The last line is the outcome (flowFromDirectory prints its "Found N images" line first).
  return JSON.parse(result.stdout.trim().split("\n").pop()!);
}

test('a link to /dev/zero and a 2 GB file named .jpg are refused by name without being read', () => {
  const outcome = readAll('error');
  expect(outcome.error).toMatch(/zero\.jpg"? as an image: not a regular file|big\.jpg"? as an image: 2147483648 bytes/);
  // Growth over the process's own baseline (libtorch loaded): reading either file would add 256 MB or more.
  expect(outcome.peakMB - outcome.baselineMB).toBeLessThan(100);
});

test("with invalidImages: 'skip' the batch holds the real images only", () => {
  const outcome = readAll('skip');
  expect(outcome.error).toBeUndefined();
  expect(outcome.shape).toEqual([6, 8, 8, 3]);
  expect(outcome.peakMB - outcome.baselineMB).toBeLessThan(100);
});

describe('tiny JPEGs that declare 8192x8192 pixels', () => {
  let bombs: string;
  beforeAll(async () => {
    bombs = path.join(root, '..', `${path.basename(root)}-8192`);
    fs.mkdirSync(path.join(bombs, 'a'), { recursive: true });
    const small = await sharp(Buffer.alloc(8 * 8 * 3, 90), { raw: { width: 8, height: 8, channels: 3 } }).jpeg().toBuffer();
    const frame = small.indexOf(Buffer.from([0xff, 0xc0]));
    const declared = Buffer.from(small);
    declared.writeUInt16BE(8192, frame + 5);
    declared.writeUInt16BE(8192, frame + 7);
    // Cut inside the scan: "image file is truncated" for PIL. Whole: the data ends at the end-of-image marker
    // after one block, a warning PIL ignores, so it is a valid (mostly grey) 8192x8192 image that decodes.
    for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(bombs, 'a', `cut${i}.jpg`), declared.subarray(0, declared.length - 4));
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(bombs, 'a', `whole${i}.jpg`), declared);
    for (let i = 0; i < 2; i++) fs.writeFileSync(path.join(bombs, 'a', `real${i}.jpg`), small);
  });
  afterAll(() => fs.rmSync(bombs, { recursive: true, force: true }));

  test("each is decoded once: the truncated ones skipped by name, the others in one image's memory", () => {
    const outcome = readAll('skip', bombs, 16);
    expect(outcome.error).toBeUndefined();
    expect(outcome.shape).toEqual([5, 8, 8, 3]);
    expect(outcome.warnings.filter((w: string) => /cut\d\.jpg": image file is truncated; the file is skipped/.test(w))).toHaveLength(8);
    // One 8192x8192 RGB decode (192 MiB) at a time, not one per file in flight.
    expect(outcome.peakMB - outcome.baselineMB).toBeLessThan(330);
  });
});
