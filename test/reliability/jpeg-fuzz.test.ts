/**
 * Coverage-guided fuzzing of the addon's native JPEG path (native/jpeg_decode.cc, what flowFromDirectory
 * runs on every JPEG) with libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer: a fixed seed, a
 * fixed number of inputs mutated from valid JPEGs of each kind the decoder handles, and every one must
 * decode or be declined without a memory error, a leak or undefined behaviour; a decode must give the
 * pixels load_img gives (the harness checks each one). clang comes from setup.sh.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { testIf } from '../helpers/peers';

const ROOT = path.join(__dirname, '..', '..');
const RUNS = 10000;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-jpeg-fuzz-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function writeCorpus(corpus: string): Promise<void> {
  fs.mkdirSync(corpus);
  const noise = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 50 } } });
  await noise(24, 17).jpeg({ quality: 80 }).toFile(path.join(corpus, 'baseline-420.jpg'));
  await noise(24, 17).jpeg({ progressive: true }).toFile(path.join(corpus, 'progressive.jpg'));
  await noise(9, 31).grayscale().jpeg().toFile(path.join(corpus, 'grey.jpg'));
  await noise(16, 16).jpeg({ chromaSubsampling: '4:4:4', optimiseCoding: true }).toFile(path.join(corpus, 'baseline-444.jpg'));
  await noise(8, 8).toColourspace('cmyk').jpeg().toFile(path.join(corpus, 'cmyk.jpg'));
  const whole = fs.readFileSync(path.join(corpus, 'baseline-420.jpg'));
  fs.writeFileSync(path.join(corpus, 'truncated.jpg'), whole.subarray(0, Math.floor(whole.length / 2)));
}

const haveClang = spawnSync('clang++', ['--version'], { timeout: 30_000 }).status === 0;

testIf(haveClang, 'the libFuzzer test needs clang++ (apt-get install clang libclang-rt-dev)')(`libFuzzer: ${RUNS} mutated JPEGs through the native decoder, no sanitizer finding`, async () => {
  const fuzzer = path.join(dir, 'jpeg_decode_fuzzer');
  const build = spawnSync(
    'clang++',
    [
      '-std=c++17', '-O1', '-g',
      '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined',
      '-DKERAS_TORCH_HAVE_JPEG',
      path.join(ROOT, 'native', 'jpeg_decode.cc'), path.join(ROOT, 'native', 'fuzz', 'jpeg_decode_fuzzer.cc'),
      '-ljpeg', '-o', fuzzer,
    ],
    { encoding: 'utf8', timeout: 180_000 },
  );
  expect({ status: build.status, signal: build.signal, stderr: build.stderr }).toEqual({ status: 0, signal: null, stderr: expect.any(String) });

  const corpus = path.join(dir, 'corpus');
  await writeCorpus(corpus);
  // -max_total_time is a backstop only: the run must reach all RUNS inputs, checked below.
  const run = spawnSync(fuzzer, [corpus, `-runs=${RUNS}`, '-seed=1', '-max_total_time=240', '-rss_limit_mb=2048', '-timeout=20', '-print_final_stats=1'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const log = `${run.stdout}\n${run.stderr}`;
  if (run.status !== 0) throw new Error(`the fuzzer found a problem (exit ${run.status}, signal ${run.signal}):\n${log.slice(-6000)}`);
  const done = log.match(/Done (\d+) runs/);
  expect(done && Number(done[1])).toBe(RUNS);
  expect(log).not.toMatch(/ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:/);
  // The harness checks each successful decode's pixels; some inputs of the RUNS (x 3 targets) must get there,
  // and the truncated seed must be told apart from a decode.
  const statuses = log.match(/jpeg_decode_fuzzer statuses: declined (\d+) decoded (\d+) truncated (\d+) too-many-pixels (\d+)/);
  expect(statuses).not.toBeNull();
  const [declined, decoded, truncated, tooMany] = statuses!.slice(1).map(Number);
  expect(declined + decoded + truncated + tooMany).toBeGreaterThanOrEqual(3 * RUNS);
  expect(decoded).toBeGreaterThan(0);
  expect(truncated).toBeGreaterThan(0);
}, 600_000);
