/** Shared fixtures for the preprocessing tests: tmp folders of images made with sharp, and Keras references. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

export const PYTHON = '/usr/bin/python3';

/** Whether Keras's keras_preprocessing (with scipy and PIL) can be run to produce reference outputs. */
export const kerasAvailable: boolean = (() => {
  if (!fs.existsSync(PYTHON)) return false;
  const probe = spawnSync(PYTHON, ['-c', 'import keras_preprocessing, scipy, PIL'], { encoding: 'utf8' });
  return probe.status === 0;
})();

if (!kerasAvailable) {
  // eslint-disable-next-line no-console
  console.warn(`Keras reference tests are skipped: ${PYTHON} cannot import keras_preprocessing, scipy and PIL`);
}

/** Runs test/preprocessing/keras_reference.py on one request. */
export function kerasReference<T>(request: object): T {
  const result = spawnSync(PYTHON, [path.join(__dirname, 'keras_reference.py')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`keras_reference.py failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `keras-torch-${prefix}-`));
}

/** Writes a small solid-colour-with-gradient image so that files differ. */
export async function writeImage(file: string, width: number, height: number, seed: number, format: 'png' | 'jpeg' = 'png'): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    pixels[i * 3] = (seed * 37 + i) & 0xff;
    pixels[i * 3 + 1] = (seed * 91 + 2 * i) & 0xff;
    pixels[i * 3 + 2] = (seed * 53) & 0xff;
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  await (format === 'png' ? image.png() : image.jpeg()).toFile(file);
}

/** A nested array [h][w][c] from flat channels-last values. */
export function nested(values: ArrayLike<number>, h: number, w: number, c: number): number[][][] {
  return Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => Array.from({ length: c }, (_, k) => values[(y * w + x) * c + k])));
}

export function flat(values: number[][][]): number[] {
  return values.flat(2);
}
