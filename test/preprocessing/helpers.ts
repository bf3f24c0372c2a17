/** Shared fixtures for the preprocessing tests: tmp folders of images made with sharp, and Keras references. */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

export const PYTHON = '/usr/bin/python3';

/** Whether Keras's keras_preprocessing (with scipy and PIL) can be run to produce reference outputs. */
export const kerasAvailable: boolean = (() => {
  if (!fs.existsSync(PYTHON)) return false;
  const probe = spawnSync(PYTHON, ['-c', 'import keras_preprocessing, scipy, PIL'], { encoding: 'utf8', timeout: 60_000 });
  return probe.status === 0;
})();

if (!kerasAvailable) {
  // eslint-disable-next-line no-console
  console.warn(`Keras reference tests are skipped: ${PYTHON} cannot import keras_preprocessing, scipy and PIL`);
}

/**
 * The keras_preprocessing version the project documents and matches (Debian 12's python3-keras-preprocessing).
 * Later versions changed two things the tests compare: 1.1.1's fit() applies `rescale` before it computes the
 * statistics, and 1.1.2's array_to_img (which brightness shifts go through) subtracts a positive minimum.
 */
export const KERAS_DOCUMENTED = '1.1.0';

/** The installed keras_preprocessing's version, or null where it cannot be imported. */
export const kerasVersion: string | null = (() => {
  if (!kerasAvailable) return null;
  const probe = spawnSync(PYTHON, ['-c', 'import keras_preprocessing; print(keras_preprocessing.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  return probe.status === 0 ? probe.stdout.trim() : null;
})();

const PINNED_FILE = path.join(__dirname, `keras-${KERAS_DOCUMENTED}-references.json`);
const PIN_COMMAND = 'KERAS_TORCH_PIN_KERAS=1 npx jest test/preprocessing/augmentation.test.ts';

interface PinnedFile {
  keras_preprocessing: string;
  made_with: string;
  references: Record<string, { request_sha256: string; answer: unknown }>;
}

function readPinned(): PinnedFile {
  if (!fs.existsSync(PINNED_FILE)) return { keras_preprocessing: KERAS_DOCUMENTED, made_with: '', references: {} };
  return JSON.parse(fs.readFileSync(PINNED_FILE, 'utf8')) as PinnedFile;
}

const sha256 = (request: object): string => createHash('sha256').update(JSON.stringify(request)).digest('hex');

function largestDifference(a: unknown, b: unknown): number {
  const x = (Array.isArray(a) ? a.flat(Infinity) : [a]) as number[];
  const y = (Array.isArray(b) ? b.flat(Infinity) : [b]) as number[];
  if (x.length !== y.length) return Infinity;
  return x.reduce((worst, value, i) => Math.max(worst, Math.abs(value - y[i])), 0);
}

/**
 * keras_preprocessing 1.1.0's answer to a request whose answer later versions changed, whatever version is
 * installed: pinned in keras-1.1.0-references.json by test/preprocessing/keras_reference.py under 1.1.0 (run
 * `KERAS_TORCH_PIN_KERAS=1 npx jest test/preprocessing/augmentation.test.ts` where 1.1.0 is installed, as on
 * Debian 12, to write it again). Where 1.1.0 is installed, the live answer is checked against the pinned one.
 */
export function kerasReferencePinned<T>(name: string, request: object): T {
  const pinned = readPinned();
  const hash = sha256(request);
  if (process.env.KERAS_TORCH_PIN_KERAS === '1') {
    if (kerasVersion !== KERAS_DOCUMENTED) {
      throw new Error(`KERAS_TORCH_PIN_KERAS=1 pins keras_preprocessing ${KERAS_DOCUMENTED}'s answers, but ${PYTHON} has ${kerasVersion ?? 'none'}`);
    }
    const answer = kerasReference<T>(request);
    pinned.keras_preprocessing = KERAS_DOCUMENTED;
    pinned.made_with = `${PIN_COMMAND} (test/preprocessing/keras_reference.py, keras_preprocessing ${KERAS_DOCUMENTED})`;
    pinned.references[name] = { request_sha256: hash, answer };
    pinned.references = Object.fromEntries(Object.entries(pinned.references).sort(([a], [b]) => a.localeCompare(b)));
    // One line per answer: readable diffs when an answer is pinned again.
    const entries = Object.entries(pinned.references).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
    fs.writeFileSync(PINNED_FILE, [
      '{',
      `"keras_preprocessing": ${JSON.stringify(pinned.keras_preprocessing)},`,
      `"made_with": ${JSON.stringify(pinned.made_with)},`,
      '"references": {',
      entries.join(',\n'),
      '}}',
      '',
    ].join('\n'));
    return answer;
  }
  const entry = pinned.references[name];
  if (!entry || entry.request_sha256 !== hash) {
    throw new Error(`${path.basename(PINNED_FILE)} has no answer for "${name}" with this request; pin it with ${PIN_COMMAND} where keras_preprocessing ${KERAS_DOCUMENTED} is installed`);
  }
  if (kerasVersion === KERAS_DOCUMENTED) {
    const live = kerasReference<T>(request);
    const difference = largestDifference(live, entry.answer);
    if (!(difference <= 1e-4)) {
      throw new Error(`keras_preprocessing ${KERAS_DOCUMENTED} now answers "${name}" differently from ${path.basename(PINNED_FILE)} (by ${difference}); pin it again with ${PIN_COMMAND}`);
    }
  }
  return entry.answer as T;
}

/** Runs test/preprocessing/keras_reference.py on one request, with the installed keras_preprocessing. */
export function kerasReference<T>(request: object): T {
  const result = spawnSync(PYTHON, [path.join(__dirname, 'keras_reference.py')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  if (result.status !== 0) throw new Error(`keras_reference.py failed (${result.signal ? `killed by ${result.signal}, timeout 300 s` : `status ${result.status}`}): ${result.stderr}`);
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
