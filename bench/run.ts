/**
 * keras-torch against its peers, each row measured side by side in one run with the same thread count:
 *   a. the seed CNN's train step (64x64x3, batch 32, Adam, binary cross-entropy) vs PyTorch as it runs by
 *      default (a), with glibc set to keep freed memory (a2) and on tcmalloc through LD_PRELOAD (a3, Debian's
 *      libtcmalloc-minimal4; skipped with the reason when it is not installed);
 *   b. inference at batch 32 (vs the fastest of PyTorch's no_grad, inference_mode and inference_mode on a
 *      channels_last batch, glibc tuned or not), and single-image predict latency (p50, p99) vs PyTorch's
 *      inference_mode;
 *   c. flowFromDirectory with the seed's augmentation vs Keras's ImageDataGenerator (bench/pipeline.ts);
 *   d. the seed's whole fit (JPEG folders -> augmentation -> train -> validation) vs Keras's generator
 *      feeding the same model in PyTorch;
 *   e. the event loop's delay (p99) during that fit, and the peak RSS of both fits;
 *   f. a small ResNet through the functional API (bench/residual-model.ts: stem + two basic blocks, BN, a
 *      strided block with a 1x1 projection, global average pooling, Dense(10, softmax); batch 32, sparse
 *      categorical cross-entropy, Adam): its train step vs PyTorch as it runs by default (f1) and on tcmalloc
 *      (f2), and its inference at batch 32 (f3) vs the fastest of PyTorch's ways to predict, tcmalloc or not;
 *   g. the seed fit on in-memory batches with metrics ['accuracy', 'AUC', 'Precision', 'Recall'] vs the same
 *      fit with accuracy alone (bench/metrics-cost.ts): what streaming metrics cost.
 *   h. fit fed by an async generator of in-memory batches vs the same batches from tensors (bench/iterable-fit.ts).
 *   b1t, b4, b5: inference at batch 32 vs PyTorch on tcmalloc, and at batches 1 and 8 vs PyTorch (fastest
 *      way, glibc tuned or not) and vs PyTorch on tcmalloc;
 *   i. the HTTP load test (bench/serve-load.ts): examples/serve.ts with the seed CNN, 200 connections posting
 *      64x64 JPEGs, dynamic batching vs per-request predict: requests/s (i1), p99 (i2), failures (i3).
 *   j. Keras's applications (applications.MobileNetV2 at 96x96 and 224x224, applications.ResNet50 at 224x224;
 *      1000 classes, Adam, sparse categorical cross-entropy): train step and inference vs the same
 *      architectures written in torch.nn (bench/keras_applications.py), against the faster of PyTorch by
 *      default and on tcmalloc.
 *
 *   npm run bench [-- --quick] [-- --threads 2 --epochs 2 --data DIR --python /usr/bin/python3 --out FILE]
 *                 [-- --tcmalloc /path/to/libtcmalloc_minimal.so.4]
 *   npm run bench -- --scaling    (train and inference img/s over batch sizes 8-256 and image sizes 32-224)
 *   npm run bench -- --serving    (rows a/b, b1t, b4, b5 and i only: inference, latency, the HTTP load test)
 *   npm run bench -- --applications    (rows j only: MobileNetV2 and ResNet50 against torch.nn)
 *
 * Prints a table and writes JSON to bench/results/ (or --out). A peer that is not installed is skipped with
 * a message. Ratios are "times better than the peer" (throughput ours/theirs, time theirs/ours); the
 * machines this runs on are shared, so compare ratios from one run, never absolute figures across runs.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applications, backendInfo, Model, setNumThreads, setSeed, SymbolicTensor, tensor, Tensor } from 'keras-torch';
import { metricsCost } from './metrics-cost';
import { iterableFitFigures } from './iterable-fit';
import { residualModel } from './residual-model';
import { seedModel } from './seed-model';
import { serveLoad } from './serve-load';

interface Options {
  quick: boolean;
  threads: number;
  epochs: number;
  python: string;
  data: string | null;
  out: string | null;
  scaling: boolean;
  /** Only the rows of serving: a/b (inference, single-image latency), b1t, b4, b5 and the HTTP load test i. */
  serving: boolean;
  /** Only rows j, Keras's applications against torch.nn. */
  applications: boolean;
  /** libtcmalloc_minimal.so.4 for the tcmalloc peer; found with dpkg when not given. */
  tcmalloc: string | null;
}

/** One comparison. `ratio` > 1 means keras-torch is ahead, except where `better` says lower wins. */
export interface Row {
  id: string;
  name: string;
  unit: string;
  ours: number | null;
  peer: number | null;
  peerName: string;
  /** ours vs peer as "times better" (or the difference, for latency overhead); null when either is missing. */
  ratio: number | null;
  ratioKind: 'speedup' | 'overhead_ms' | 'memory_ratio' | 'value';
  target: string;
  met: boolean | null;
  spread: { ours: number[]; peer: number[] };
  skipped?: string;
}

const root = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, threads: 2, epochs: 2, python: '/usr/bin/python3', data: null, out: null, scaling: false, serving: false, applications: false, tcmalloc: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`bench: ${flag} expects a value`);
      return next;
    };
    if (flag === '--quick') options.quick = true;
    else if (flag === '--threads') options.threads = Number(value());
    else if (flag === '--epochs') options.epochs = Number(value());
    else if (flag === '--python') options.python = value();
    else if (flag === '--data') options.data = value();
    else if (flag === '--out') options.out = value();
    else if (flag === '--scaling') options.scaling = true;
    else if (flag === '--serving') options.serving = true;
    else if (flag === '--applications') options.applications = true;
    else if (flag === '--tcmalloc') options.tcmalloc = value();
    else throw new Error(`bench: unknown option ${flag}`);
  }
  return options;
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
export const percentile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/**
 * The addon this process loaded, for child processes that load the library from elsewhere (bench/pipeline.js
 * runs from build-ts/lib/, where the loader's relative search paths do not reach build/).
 */
function loadedAddon(): string | undefined {
  if (process.env.KERAS_TORCH_BINARY) return process.env.KERAS_TORCH_BINARY;
  try {
    return fs.readFileSync('/proc/self/maps', 'utf8').match(/\s(\/\S*keras_torch\.node)$/m)?.[1];
  } catch {
    return undefined;
  }
}

/** Whether `python` can import `modules`; the reason when it cannot. */
function pythonMissing(python: string, modules: string[]): string | null {
  const result = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  if (result.error) return `${python} not found`;
  if (result.status !== 0) return `${python} cannot import ${modules.join(', ')}`;
  return null;
}

/** glibc settings that keep freed memory for reuse in a single-threaded process such as PyTorch's. */
const TUNED_GLIBC = { MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(128 << 20) };

/**
 * Debian's tcmalloc (libtcmalloc-minimal4, which libgoogle-perftools4 depends on), for a PyTorch peer started
 * with it in LD_PRELOAD: the allocator PyTorch's own performance guides suggest. The reason when it is absent.
 */
export function findTcmalloc(given: string | null): { library: string } | { reason: string } {
  if (given) return fs.existsSync(given) ? { library: given } : { reason: `${given} not found` };
  // Debian 13 renamed both for its 64-bit time_t transition (libtcmalloc-minimal4t64).
  for (const pkg of ['libtcmalloc-minimal4', 'libtcmalloc-minimal4t64', 'libgoogle-perftools4', 'libgoogle-perftools4t64']) {
    const listed = spawnSync('dpkg', ['-L', pkg], { encoding: 'utf8' });
    if (listed.error) return { reason: 'dpkg not found (pass --tcmalloc PATH to libtcmalloc_minimal.so.4)' };
    if (listed.status !== 0) continue;
    const library = listed.stdout.split('\n').find((file) => /\/libtcmalloc_minimal\.so\.4$/.test(file) && fs.existsSync(file));
    if (library) return { library };
  }
  return { reason: "Debian's libtcmalloc_minimal.so.4 is not installed (apt-get install libtcmalloc-minimal4)" };
}

/** The environment that starts a process on tcmalloc. */
export const tcmallocEnv = (library: string): NodeJS.ProcessEnv => ({
  ...process.env,
  LD_PRELOAD: process.env.LD_PRELOAD ? `${library}:${process.env.LD_PRELOAD}` : library,
});

function runJson<T>(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): T {
  const output = execFileSync(command, args, { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines = output.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

export function randomImages(batch: number, size: number) {
  const values = new Float32Array(batch * size * size * 3);
  for (let i = 0; i < values.length; i++) values[i] = Math.random();
  return tensor(values, [batch, size, size, 3]);
}

async function timedMs(count: number, body: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await body();
  return (performance.now() - start) / count;
}

interface StepFigures {
  train_ms: number[];
  predict_ms: number[];
  single_p50_ms: number[];
  single_p99_ms: number[];
}

interface PeerStepFigures {
  train_ms: number[];
  predict_no_grad_ms: number[];
  predict_inference_mode_ms: number[];
  predict_channels_last_ms: number[];
  single_p50_ms: number[];
  single_p99_ms: number[];
  /** 'tcmalloc' when LD_PRELOAD took effect, else 'glibc'. */
  allocator?: string;
}

/**
 * The peer on tcmalloc, or why not: tcmalloc or PyTorch missing, or a preload that did not take (the peer
 * reports the allocator it has mapped).
 */
/** Why a peer's process failed: the signal that killed it, or its status and the first line it wrote. */
function peerFailure(error: unknown): string {
  const failed = error as { signal?: string | null; status?: number | null; stderr?: string; message?: string };
  const firstLine = String(failed.stderr || failed.message || '').trim().split('\n')[0];
  return failed.signal ? `killed by ${failed.signal} (${firstLine})` : `exit status ${failed.status ?? '?'} (${firstLine})`;
}

function runTcmallocPeer(python: string, args: string[], tcmalloc: { library: string } | { reason: string }, torchMissing: string | null): { figures: PeerStepFigures | null; reason?: string } {
  if (torchMissing) return { figures: null, reason: torchMissing };
  if ('reason' in tcmalloc) return { figures: null, reason: tcmalloc.reason };
  let figures: PeerStepFigures;
  try {
    figures = runJson<PeerStepFigures>(python, args, tcmallocEnv(tcmalloc.library));
  } catch (error) {
    return { figures: null, reason: `the peer failed with LD_PRELOAD=${tcmalloc.library}: ${peerFailure(error)}` };
  }
  if (figures.allocator !== 'tcmalloc') return { figures: null, reason: `LD_PRELOAD=${tcmalloc.library} did not load tcmalloc into the peer (it runs on ${figures.allocator ?? 'an unknown allocator'})` };
  return { figures };
}

/**
 * The milliseconds per batch of the peer's fastest way to predict (no_grad, inference_mode or channels_last,
 * in each of `runs`), chosen by its median: taking the fastest way in every repeat would compare a
 * best-of-six draw against one draw of ours.
 */
function fastestPeerPredict(runs: (PeerStepFigures | null)[]): number[] {
  const ways = runs.flatMap((f) => (f ? [f.predict_no_grad_ms, f.predict_inference_mode_ms, f.predict_channels_last_ms] : []));
  return ways.reduce<number[]>((best, series) => (best.length === 0 || median(series) < median(best) ? series : best), []);
}

/** The same measurements as bench/torch_peer.py's `steps`, through the public API. */
export async function ourSteps(size: number, batchSize: number, steps: number, repeats: number): Promise<StepFigures> {
  setSeed(1);
  const model = seedModel(size);
  const x = randomImages(batchSize, size);
  const y = tensor(Float32Array.from({ length: batchSize }, () => (Math.random() > 0.5 ? 1 : 0)), [batchSize, 1]);
  const single = randomImages(1, size);
  return measureSteps(model, x, y, single, steps, repeats);
}

/** bench/torch_peer.py's `steps --model residual --no-single`: the small ResNet, 10 classes, no single-image latencies. */
export async function ourResidualSteps(size: number, batchSize: number, steps: number, repeats: number): Promise<StepFigures> {
  setSeed(1);
  const model = residualModel(size);
  const x = randomImages(batchSize, size);
  const y = tensor(Float32Array.from({ length: batchSize }, () => Math.floor(Math.random() * 10)), [batchSize]);
  return measureSteps(model, x, y, null, steps, repeats);
}

/** ourSteps without the single-image latencies, at any batch size (the inference rows at batches 1 and 8). */
async function ourBatchSteps(size: number, batchSize: number, steps: number, repeats: number): Promise<StepFigures> {
  setSeed(1);
  const model = seedModel(size);
  const x = randomImages(batchSize, size);
  const y = tensor(Float32Array.from({ length: batchSize }, () => (Math.random() > 0.5 ? 1 : 0)), [batchSize, 1]);
  return measureSteps(model, x, y, null, steps, repeats);
}

/** bench/torch_peer.py's `steps --model mobilenetv2|resnet50 --no-single`: a Keras application, 1000 classes. */
export async function ourApplicationSteps(family: 'mobilenetv2' | 'resnet50', size: number, batchSize: number, steps: number, repeats: number): Promise<StepFigures> {
  setSeed(1);
  const inputShape = [size, size, 3];
  const model = family === 'mobilenetv2' ? await applications.MobileNetV2({ inputShape }) : await applications.ResNet50({ inputShape });
  model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const x = randomImages(batchSize, size);
  const y = tensor(Float32Array.from({ length: batchSize }, () => Math.floor(Math.random() * 1000)), [batchSize]);
  const figures = await measureSteps(model, x, y, null, steps, repeats);
  model.dispose();
  return figures;
}

async function measureSteps(model: Model<SymbolicTensor>, x: Tensor, y: Tensor, single: Tensor | null, steps: number, repeats: number): Promise<StepFigures> {
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  for (let i = 0; i < 3; i++) (await model.predict(x)).dispose();
  const figures: StepFigures = { train_ms: [], predict_ms: [], single_p50_ms: [], single_p99_ms: [] };
  for (let r = 0; r < repeats; r++) {
    figures.train_ms.push(await timedMs(steps, () => model.trainOnBatch(x, y)));
    figures.predict_ms.push(await timedMs(steps, async () => (await model.predict(x)).dispose()));
    if (!single) continue;
    const latencies: number[] = [];
    for (let i = 0; i < steps * 10; i++) {
      const start = performance.now();
      (await model.predict(single)).dispose();
      latencies.push(performance.now() - start);
    }
    figures.single_p50_ms.push(percentile(latencies, 0.5));
    figures.single_p99_ms.push(percentile(latencies, 0.99));
  }
  return figures;
}

function row(partial: Omit<Row, 'ratio' | 'met'>, ratio: (ours: number, peer: number) => number, meets: (ratio: number) => boolean): Row {
  const value = partial.ours !== null && partial.peer !== null ? ratio(partial.ours, partial.peer) : null;
  return { ...partial, ratio: value, met: value === null ? null : meets(value) };
}

function makeData(options: Options, log: (line: string) => void): { directory: string | null; reason?: string } {
  if (options.data) return { directory: options.data };
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-bench-'));
  const [train, test] = options.quick ? ['24', '8'] : ['1000', '300'];
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'make-fashion-mnist-folders.js'), '--out', out, '--classes', 'sneaker,ankle_boot', '--train-per-class', train, '--test-per-class', test], { stdio: 'pipe' });
  } catch (error) {
    const reason = `no image folders (Debian's dataset-fashion-mnist is needed, or pass --data DIR): ${String((error as Error).message).split('\n')[0]}`;
    log(`  skipped: ${reason}`);
    return { directory: null, reason };
  }
  return { directory: out };
}

/**
 * Reads bench/pipeline.js's report: the "all epochs" img/s of ours and of Keras for `section`, one pair per
 * round it ran (older reports have one round).
 */
export function parsePipeline(output: string, section: string): { ours: number[]; keras: number[] } | null {
  const ours: number[] = [];
  const keras: number[] = [];
  const lines = output.split('\n');
  const allEpochs = (line: string | undefined, who: string) => line?.match(new RegExp(`${who}:.*\\(all epochs: ([\\d,.]+)\\)`))?.[1];
  lines.forEach((line, i) => {
    if (line.trim() !== section) return;
    const mine = allEpochs(lines[i + 1], 'keras-torch');
    const theirs = allEpochs(lines[i + 2], 'Keras');
    if (mine && theirs) {
      ours.push(Number(mine.replace(/,/g, '')));
      keras.push(Number(theirs.replace(/,/g, '')));
    }
  });
  return ours.length > 0 ? { ours, keras } : null;
}

function formatNumber(value: number | null, digits = 1): string {
  if (value === null) return '—';
  return value >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);
}

export function formatTable(rows: Row[]): string {
  const header = ['', 'benchmark', 'unit', 'keras-torch', 'peer', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [
    r.id,
    r.name,
    r.unit,
    formatNumber(r.ours, r.unit === 'ms' ? 2 : 1),
    r.skipped ? `skipped` : `${formatNumber(r.peer, r.unit === 'ms' ? 2 : 1)} (${r.peerName})`,
    r.ratio === null ? '—' : r.ratioKind === 'overhead_ms' ? `${r.ratio >= 0 ? '+' : ''}${r.ratio.toFixed(3)} ms` : r.ratioKind === 'value' ? '—' : `${r.ratio.toFixed(2)}x`,
    r.target,
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

export const loadAverage = (): number[] => os.loadavg().map((v) => Math.round(v * 100) / 100);

/**
 * Rows j: Keras's applications against the same architectures in torch.nn, by default and on tcmalloc; the
 * goal is the faster of the two peers.
 */
async function applicationRows(
  options: Options,
  { torchMissing, tcmalloc, log }: { torchMissing: string | null; tcmalloc: { library: string } | { reason: string }; log: (line: string) => void },
): Promise<Row[]> {
  const rows: Row[] = [];
  const peerName = 'PyTorch';
  log("j: Keras's applications (MobileNetV2, ResNet50) train step and inference...");
  const applicationCases: { family: 'mobilenetv2' | 'resnet50'; title: string; size: number; batch: number; steps: number }[] = options.quick
    ? [{ family: 'mobilenetv2', title: 'MobileNetV2', size: 32, batch: 2, steps: 1 }]
    : [
        { family: 'mobilenetv2', title: 'MobileNetV2', size: 96, batch: 32, steps: 5 },
        { family: 'mobilenetv2', title: 'MobileNetV2', size: 224, batch: 16, steps: 3 },
        { family: 'resnet50', title: 'ResNet50', size: 224, batch: 8, steps: 2 },
      ];
  const applicationRepeats = options.quick ? 1 : 3;
  for (const [index, c] of applicationCases.entries()) {
    const peerArgs = [path.join(root, 'bench', 'torch_peer.py'), 'steps', '--model', c.family, '--no-single', '--threads', String(options.threads), '--size', String(c.size), '--batch-size', String(c.batch), '--steps', String(c.steps), '--repeats', String(applicationRepeats)];
    // A peer that dies here is a finding, not the end of the run (PyTorch 2.6 on oneDNN 3.6 dies of SIGFPE
    // in ResNet50's 1x1 convolutions on channels-last memory: README, "Testing against libtorch 2.6").
    let plain: PeerStepFigures | null = null;
    let plainFailed: string | undefined;
    try {
      plain = torchMissing ? null : runJson<PeerStepFigures>(options.python, peerArgs);
    } catch (error) {
      plainFailed = `the peer failed: ${peerFailure(error)}`;
      log(`  ${c.title} ${c.size}x${c.size}: ${plainFailed}`);
    }
    const onTcmalloc = runTcmallocPeer(options.python, peerArgs, tcmalloc, torchMissing);
    const mine = await ourApplicationSteps(c.family, c.size, c.batch, c.steps, applicationRepeats);
    const skipped = torchMissing ?? (plain === null && onTcmalloc.figures === null ? [plainFailed, onTcmalloc.reason].filter(Boolean).join('; ') : undefined);
    const rate = (ms: number[]) => ms.map((m) => (c.batch * 1000) / m);
    const peers = [plain, onTcmalloc.figures].filter((f): f is PeerStepFigures => f !== null);
    const fasterTrain = peers.reduce<number[]>((best, f) => (best.length === 0 || median(f.train_ms) < median(best) ? f.train_ms : best), []);
    const fasterPredict = fastestPeerPredict(peers);
    const name = `${c.title} ${c.size}x${c.size}x3, batch ${c.batch}`;
    const fasterName = `${peerName} (torch.nn, the faster of default and tcmalloc)`;
    rows.push(
      row(
        { id: `j${2 * index + 1}`, name: `${name}: train step`, unit: 'img/s', ours: median(rate(mine.train_ms)), peer: fasterTrain.length ? median(rate(fasterTrain)) : null, peerName: fasterName, ratioKind: 'speedup', target: '>= 1.0x', spread: { ours: rate(mine.train_ms), peer: rate(fasterTrain) }, skipped },
        (o, p) => o / p,
        (r) => r >= 1.0,
      ),
      row(
        { id: `j${2 * index + 2}`, name: `${name}: inference`, unit: 'img/s', ours: median(rate(mine.predict_ms)), peer: fasterPredict.length ? median(rate(fasterPredict)) : null, peerName: `${fasterName}, fastest way to predict`, ratioKind: 'speedup', target: '>= 1.0x', spread: { ours: rate(mine.predict_ms), peer: rate(fasterPredict) }, skipped },
        (o, p) => o / p,
        (r) => r >= 1.0,
      ),
    );
  }
  return rows;
}

export async function runBench(options: Options, log: (line: string) => void = console.log) {
  setNumThreads(options.threads);
  const size = 64;
  const batchSize = 32;
  const [steps, repeats] = options.quick ? [3, 1] : [30, 5];
  const epochs = options.quick ? 1 : options.epochs;
  const info = backendInfo();
  const cpu = os.cpus();
  const meta = {
    date: new Date().toISOString(),
    quick: options.quick,
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    threads: options.threads,
    node: process.version,
    libtorch: info.libtorchVersion,
    blas: info.blas,
    loadAverageBefore: loadAverage(),
    loadAverageAfter: [] as number[],
    steps,
    repeats,
    epochs,
  };
  log(`keras-torch bench: ${meta.cpuModel}, ${meta.cores} cores, ${options.threads} threads, libtorch ${meta.libtorch}, load ${meta.loadAverageBefore.join(' ')}`);
  const rows: Row[] = [];
  const torchMissing = pythonMissing(options.python, ['torch']);
  const kerasMissing = torchMissing ?? pythonMissing(options.python, ['torch', 'keras_preprocessing', 'scipy', 'PIL']);
  if (torchMissing) log(`  PyTorch peer skipped: ${torchMissing}`);
  if (kerasMissing && !torchMissing) log(`  Keras peer skipped: ${kerasMissing}`);
  const tcmalloc = findTcmalloc(options.tcmalloc);
  if ('reason' in tcmalloc && !torchMissing) log(`  PyTorch-on-tcmalloc peer skipped: ${tcmalloc.reason}`);

  if (options.applications) {
    rows.push(...(await applicationRows(options, { torchMissing, tcmalloc, log })));
    meta.loadAverageAfter = loadAverage();
    return { meta, rows, accuracy: { ours: [], peer: [] } };
  }

  // a, b: steps on in-memory batches. The peer runs first, then ours, each in its own process time.
  log('a/b: train step and inference on in-memory batches...');
  const peerArgs = [path.join(root, 'bench', 'torch_peer.py'), 'steps', '--threads', String(options.threads), '--size', String(size), '--batch-size', String(batchSize), '--steps', String(steps), '--repeats', String(repeats)];
  const peerSteps = torchMissing ? null : runJson<PeerStepFigures>(options.python, peerArgs);
  // PyTorch as it runs by default, and again with glibc told to keep freed memory (what a PyTorch user can
  // do with these variables, or with jemalloc): keras-torch's caching allocator does that for its users.
  const tunedPeerSteps = torchMissing ? null : runJson<PeerStepFigures>(options.python, peerArgs, { ...process.env, ...TUNED_GLIBC });
  // And on tcmalloc, the allocator PyTorch's CPU performance guides recommend preloading.
  const tcmallocPeer = runTcmallocPeer(options.python, peerArgs, tcmalloc, torchMissing);
  if (tcmallocPeer.reason && !torchMissing && !('reason' in tcmalloc)) log(`  PyTorch-on-tcmalloc peer skipped: ${tcmallocPeer.reason}`);
  const mine = await ourSteps(size, batchSize, steps, repeats);
  const peerPredict = fastestPeerPredict([peerSteps, tunedPeerSteps]);
  const imagesPerSecond = (ms: number[]) => ms.map((v) => (batchSize * 1000) / v);
  const peerName = 'PyTorch';
  const skipped = torchMissing ?? undefined;
  rows.push(
    row(
      { id: 'a', name: `train step, batch ${batchSize}, ${size}x${size}x3`, unit: 'img/s', ours: median(imagesPerSecond(mine.train_ms)), peer: peerSteps ? median(imagesPerSecond(peerSteps.train_ms)) : null, peerName, ratioKind: 'speedup', target: '>= 1.2x', spread: { ours: imagesPerSecond(mine.train_ms), peer: peerSteps ? imagesPerSecond(peerSteps.train_ms) : [] }, skipped },
      (o, p) => o / p,
      (r) => r >= 1.2,
    ),
    row(
      { id: 'a2', name: `train step, batch ${batchSize}, ${size}x${size}x3`, unit: 'img/s', ours: median(imagesPerSecond(mine.train_ms)), peer: tunedPeerSteps ? median(imagesPerSecond(tunedPeerSteps.train_ms)) : null, peerName: 'PyTorch, glibc tuned', ratioKind: 'speedup', target: '(reported)', spread: { ours: imagesPerSecond(mine.train_ms), peer: tunedPeerSteps ? imagesPerSecond(tunedPeerSteps.train_ms) : [] }, skipped },
      (o, p) => o / p,
      () => true,
    ),
    row(
      { id: 'a3', name: `train step, batch ${batchSize}, ${size}x${size}x3`, unit: 'img/s', ours: median(imagesPerSecond(mine.train_ms)), peer: tcmallocPeer.figures ? median(imagesPerSecond(tcmallocPeer.figures.train_ms)) : null, peerName: 'PyTorch, tcmalloc', ratioKind: 'speedup', target: '(reported)', spread: { ours: imagesPerSecond(mine.train_ms), peer: tcmallocPeer.figures ? imagesPerSecond(tcmallocPeer.figures.train_ms) : [] }, skipped: tcmallocPeer.reason },
      (o, p) => o / p,
      () => true,
    ),
    row(
      { id: 'b1', name: `inference, batch ${batchSize}`, unit: 'img/s', ours: median(imagesPerSecond(mine.predict_ms)), peer: peerSteps ? median(imagesPerSecond(peerPredict)) : null, peerName: `${peerName}, fastest of no_grad, inference_mode, channels_last, glibc tuned or not`, ratioKind: 'speedup', target: '>= 1.0x', spread: { ours: imagesPerSecond(mine.predict_ms), peer: imagesPerSecond(peerPredict) }, skipped },
      (o, p) => o / p,
      (r) => r >= 1.0,
    ),
    row(
      { id: 'b2', name: 'single-image predict, p50', unit: 'ms', ours: median(mine.single_p50_ms), peer: peerSteps ? median(peerSteps.single_p50_ms) : null, peerName: `${peerName} inference_mode`, ratioKind: 'overhead_ms', target: '< +0.2 ms', spread: { ours: mine.single_p50_ms, peer: peerSteps?.single_p50_ms ?? [] }, skipped },
      (o, p) => o - p,
      (r) => r < 0.2,
    ),
    row(
      { id: 'b3', name: 'single-image predict, p99', unit: 'ms', ours: median(mine.single_p99_ms), peer: peerSteps ? median(peerSteps.single_p99_ms) : null, peerName: `${peerName} inference_mode`, ratioKind: 'overhead_ms', target: '(reported)', spread: { ours: mine.single_p99_ms, peer: peerSteps?.single_p99_ms ?? [] }, skipped },
      (o, p) => o - p,
      () => true,
    ),
  );

  // b1t, b4, b5: inference at batch 32 against PyTorch on tcmalloc, and at batches 1 and 8 against PyTorch
  // with and without tcmalloc, each side measured as in a/b (train steps between the predictions).
  rows.push(
    row(
      { id: 'b1t', name: `inference, batch ${batchSize}`, unit: 'img/s', ours: median(imagesPerSecond(mine.predict_ms)), peer: tcmallocPeer.figures ? median(imagesPerSecond(fastestPeerPredict([tcmallocPeer.figures]))) : null, peerName: 'PyTorch on tcmalloc, fastest of no_grad, inference_mode, channels_last', ratioKind: 'speedup', target: '>= 1.0x', spread: { ours: imagesPerSecond(mine.predict_ms), peer: tcmallocPeer.figures ? imagesPerSecond(fastestPeerPredict([tcmallocPeer.figures])) : [] }, skipped: tcmallocPeer.reason },
      (o, p) => o / p,
      (r) => r >= 1.0,
    ),
  );
  for (const [id, batch] of [['b4', 1], ['b5', 8]] as const) {
    log(`${id}: inference at batch ${batch}...`);
    const batchSteps = steps * (batch === 1 ? 10 : 4);
    const args = [path.join(root, 'bench', 'torch_peer.py'), 'steps', '--no-single', '--threads', String(options.threads), '--size', String(size), '--batch-size', String(batch), '--steps', String(batchSteps), '--repeats', String(repeats)];
    const plain = torchMissing ? null : runJson<PeerStepFigures>(options.python, args);
    const tuned = torchMissing ? null : runJson<PeerStepFigures>(options.python, args, { ...process.env, ...TUNED_GLIBC });
    const onTcmalloc = runTcmallocPeer(options.python, args, tcmalloc, torchMissing);
    const ours = await ourBatchSteps(size, batch, batchSteps, repeats);
    const rate = (ms: number[]) => ms.map((v) => (batch * 1000) / v);
    const fastest = fastestPeerPredict([plain, tuned]);
    const fastestTcmalloc = onTcmalloc.figures ? fastestPeerPredict([onTcmalloc.figures]) : [];
    rows.push(
      row(
        { id, name: `inference, batch ${batch}`, unit: 'img/s', ours: median(rate(ours.predict_ms)), peer: plain ? median(rate(fastest)) : null, peerName: `${peerName}, fastest of no_grad, inference_mode, channels_last, glibc tuned or not`, ratioKind: 'speedup', target: '>= 1.0x', spread: { ours: rate(ours.predict_ms), peer: rate(fastest) }, skipped },
        (o, p) => o / p,
        (r) => r >= 1.0,
      ),
      row(
        { id: `${id}t`, name: `inference, batch ${batch}`, unit: 'img/s', ours: median(rate(ours.predict_ms)), peer: onTcmalloc.figures ? median(rate(fastestTcmalloc)) : null, peerName: 'PyTorch on tcmalloc, fastest of no_grad, inference_mode, channels_last', ratioKind: 'speedup', target: '>= 1.0x', spread: { ours: rate(ours.predict_ms), peer: rate(fastestTcmalloc) }, skipped: onTcmalloc.reason },
        (o, p) => o / p,
        (r) => r >= 1.0,
      ),
    );
  }

  // i: the HTTP load test (bench/serve-load.ts), dynamic batching against per-request predict.
  // The smoke run checks that both servers answer every request, with a lighter load than the real one.
  const connections = options.quick ? 20 : 200;
  log(`i: HTTP load test of examples/serve.js, ${connections} connections...`);
  let load: Awaited<ReturnType<typeof serveLoad>> | null = null;
  let loadError: string | undefined;
  try {
    load = await serveLoad({ seconds: options.quick ? 3 : 10, connections, threads: options.threads });
  } catch (error) {
    loadError = `the load test failed: ${(error as Error).message.split('\n')[0]}`;
    log(`  ${loadError}`);
  }
  rows.push(
    row(
      { id: 'i1', name: `HTTP classifier (examples/serve.ts), ${connections} connections posting 64x64 JPEGs, seed CNN`, unit: 'req/s', ours: load?.batched.requestsPerSecond ?? null, peer: load?.perRequest.requestsPerSecond ?? null, peerName: 'the same server predicting each request alone', ratioKind: 'speedup', target: '>= 3x', spread: { ours: load ? [load.batched.requestsPerSecond] : [], peer: load ? [load.perRequest.requestsPerSecond] : [] }, skipped: loadError },
      (o, p) => o / p,
      (r) => r >= 3,
    ),
    row(
      { id: 'i2', name: 'the same load, p99 latency', unit: 'ms', ours: load?.batched.p99_ms ?? null, peer: load?.perRequest.p99_ms ?? null, peerName: 'the same server predicting each request alone', ratioKind: 'speedup', target: '>= 1.0x (p99 no worse)', spread: { ours: load ? [load.batched.p99_ms] : [], peer: load ? [load.perRequest.p99_ms] : [] }, skipped: loadError },
      (o, p) => p / o,
      (r) => r >= 1.0,
    ),
    row(
      { id: 'i3', name: 'the same load, requests not answered 200 (both servers)', unit: 'requests', ours: load ? load.batched.failed + load.perRequest.failed : null, peer: null, peerName: '(no peer)', ratioKind: 'value', target: '0', spread: { ours: load ? [load.batched.failed, load.perRequest.failed] : [], peer: [] }, skipped: loadError },
      () => 0,
      () => true,
    ),
  );

  if (options.serving) {
    meta.loadAverageAfter = loadAverage();
    return { meta, rows, accuracy: { ours: [], peer: [] } };
  }

  // c, d, e need image folders.
  log('c/d/e: image folders...');
  const data = makeData(options, log);
  const pipelineSkip = data.reason ?? kerasMissing ?? undefined;
  let pipeline: ReturnType<typeof parsePipeline> = null;
  let pipelineError: string | undefined;
  if (data.directory) {
    log('c: flowFromDirectory vs Keras (bench/pipeline.js)...');
    const addon = loadedAddon();
    if (!kerasMissing) {
      try {
        const output = execFileSync(process.execPath, [path.join(__dirname, 'pipeline.js'), '--data', path.join(data.directory, 'training_set'), '--epochs', String(options.quick ? 1 : 3), '--python', options.python], { encoding: 'utf8', maxBuffer: 16 << 20, env: { ...process.env, OMP_NUM_THREADS: String(options.threads), ...(addon ? { KERAS_TORCH_BINARY: addon } : {}) } });
        pipeline = parsePipeline(output, 'seed augmentation');
        if (!pipeline) pipelineError = `could not read bench/pipeline.js's report:\n${output}`;
      } catch (error) {
        pipelineError = `bench/pipeline.js failed: ${(error as Error).message.split('\n')[0]}`;
      }
      if (pipelineError) log(`  ${pipelineError}`);
    }
  }
  rows.push(
    row(
      { id: 'c', name: 'flowFromDirectory, seed augmentation', unit: 'img/s', ours: pipeline ? median(pipeline.ours) : null, peer: pipeline ? median(pipeline.keras) : null, peerName: 'Keras ImageDataGenerator', ratioKind: 'speedup', target: '>= 3x', spread: { ours: pipeline?.ours ?? [], peer: pipeline?.keras ?? [] }, skipped: pipelineSkip ?? pipelineError },
      (o, p) => o / p,
      (r) => r >= 3,
    ),
  );

  interface FitFigures { seconds: number; peak_rss_mb: number; epochs: { val_loss: number; val_accuracy: number }[]; event_loop_p99_ms?: number; event_loop_max_ms?: number; train_samples: number }
  let oursFit: FitFigures | null = null;
  let peerFit: FitFigures | null = null;
  let fitError: string | undefined;
  if (data.directory) {
    log(`d/e: the seed's whole fit, ${epochs} epoch(s)...`);
    try {
      if (!kerasMissing) peerFit = runJson<FitFigures>(options.python, [path.join(root, 'bench', 'torch_peer.py'), 'fit', data.directory, '--threads', String(options.threads), '--epochs', String(epochs)]);
      oursFit = runJson<FitFigures>(process.execPath, [path.join(__dirname, 'fit.js'), data.directory, '--threads', String(options.threads), '--epochs', String(epochs)]);
    } catch (error) {
      fitError = `fit failed: ${(error as Error).message.split('\n')[0]}`;
      log(`  ${fitError}`);
    }
  }
  const fitSkip = data.reason ?? kerasMissing ?? undefined;
  rows.push(
    row(
      { id: 'd', name: `whole seed fit, ${oursFit?.train_samples ?? '?'} images, ${epochs} epoch(s)`, unit: 's', ours: oursFit?.seconds ?? null, peer: peerFit?.seconds ?? null, peerName: 'Keras generator + PyTorch', ratioKind: 'speedup', target: '>= 1.5x', spread: { ours: oursFit ? [oursFit.seconds] : [], peer: peerFit ? [peerFit.seconds] : [] }, skipped: fitSkip ?? fitError },
      (o, p) => p / o,
      (r) => r >= 1.5,
    ),
    row(
      { id: 'e1', name: 'event-loop delay p99 during fit', unit: 'ms', ours: oursFit?.event_loop_p99_ms ?? null, peer: null, peerName: '(no peer)', ratioKind: 'value', target: '< 20 ms', spread: { ours: oursFit?.event_loop_max_ms !== undefined ? [oursFit.event_loop_max_ms] : [], peer: [] }, skipped: data.reason ?? fitError },
      (o) => o,
      () => true,
    ),
    row(
      { id: 'e2', name: 'peak RSS during fit', unit: 'MB', ours: oursFit?.peak_rss_mb ?? null, peer: peerFit?.peak_rss_mb ?? null, peerName: 'Keras generator + PyTorch', ratioKind: 'memory_ratio', target: '<= 1.2x', spread: { ours: oursFit ? [oursFit.peak_rss_mb] : [], peer: peerFit ? [peerFit.peak_rss_mb] : [] }, skipped: fitSkip ?? fitError },
      (o, p) => o / p,
      (r) => r <= 1.2,
    ),
  );
  // e1 has no peer: its "ratio" is its own value against the absolute target.
  const eventLoop = rows.find((r) => r.id === 'e1')!;
  eventLoop.ratio = null;
  eventLoop.met = eventLoop.ours === null ? null : eventLoop.ours < 20;

  // f: the residual CNN on in-memory batches, the peers first (by default and on tcmalloc), then ours.
  log('f: residual CNN train step and inference on in-memory batches...');
  const residualSteps = steps;
  const residualArgs = [path.join(root, 'bench', 'torch_peer.py'), 'steps', '--model', 'residual', '--no-single', '--threads', String(options.threads), '--size', String(size), '--batch-size', String(batchSize), '--steps', String(residualSteps), '--repeats', String(repeats)];
  const residualPeer = torchMissing ? null : runJson<PeerStepFigures>(options.python, residualArgs);
  const residualTcmalloc = runTcmallocPeer(options.python, residualArgs, tcmalloc, torchMissing);
  const residualMine = await ourResidualSteps(size, batchSize, residualSteps, repeats);
  const residualPredict = fastestPeerPredict([residualPeer, residualTcmalloc.figures]);
  const residualName = `residual CNN train step, batch ${batchSize}, ${size}x${size}x3`;
  rows.push(
    row(
      { id: 'f1', name: residualName, unit: 'img/s', ours: median(imagesPerSecond(residualMine.train_ms)), peer: residualPeer ? median(imagesPerSecond(residualPeer.train_ms)) : null, peerName, ratioKind: 'speedup', target: '>= 1.0x', spread: { ours: imagesPerSecond(residualMine.train_ms), peer: residualPeer ? imagesPerSecond(residualPeer.train_ms) : [] }, skipped },
      (o, p) => o / p,
      (r) => r >= 1.0,
    ),
    row(
      { id: 'f2', name: residualName, unit: 'img/s', ours: median(imagesPerSecond(residualMine.train_ms)), peer: residualTcmalloc.figures ? median(imagesPerSecond(residualTcmalloc.figures.train_ms)) : null, peerName: 'PyTorch, tcmalloc', ratioKind: 'speedup', target: '(reported)', spread: { ours: imagesPerSecond(residualMine.train_ms), peer: residualTcmalloc.figures ? imagesPerSecond(residualTcmalloc.figures.train_ms) : [] }, skipped: residualTcmalloc.reason },
      (o, p) => o / p,
      () => true,
    ),
    row(
      { id: 'f3', name: `residual CNN inference, batch ${batchSize}`, unit: 'img/s', ours: median(imagesPerSecond(residualMine.predict_ms)), peer: residualPeer ? median(imagesPerSecond(residualPredict)) : null, peerName: `${peerName}, fastest of no_grad, inference_mode, channels_last, tcmalloc or not`, ratioKind: 'speedup', target: '>= 1.0x', spread: { ours: imagesPerSecond(residualMine.predict_ms), peer: imagesPerSecond(residualPredict) }, skipped },
      (o, p) => o / p,
      (r) => r >= 1.0,
    ),
  );

  // g: streaming metrics' cost on the seed fit; ours has the four metrics, the peer accuracy alone.
  log("g: the seed fit with accuracy, AUC, precision and recall vs accuracy alone...");
  const cost = await metricsCost(size, batchSize, options.quick ? 2 : 16, options.quick ? 1 : 2 * repeats);
  rows.push(
    row(
      { id: 'g', name: "seed fit with metrics ['accuracy', 'AUC', 'Precision', 'Recall'], in-memory batches", unit: 's/epoch', ours: median(cost.withStreamingMetrics), peer: median(cost.accuracyOnly), peerName: 'the same fit with accuracy alone', ratioKind: 'speedup', target: '>= 0.952x (<= 5% more time)', spread: { ours: cost.withStreamingMetrics, peer: cost.accuracyOnly } },
      (o, p) => p / o,
      (r) => r >= 1 / 1.05,
    ),
  );

  // h: fit from an async generator of in-memory batches against the same batches from tensors.
  log('h: fit from an async generator vs from tensors...');
  const feed = await iterableFitFigures(32, batchSize, options.quick ? 4 : 40, options.quick ? 1 : 5);
  rows.push(
    row(
      { id: 'h', name: `fit from an async generator of in-memory batches, 32x32x3, batch ${batchSize}`, unit: 's/epoch', ours: median(feed.generator_s), peer: median(feed.tensor_s), peerName: 'the same batches from tensors', ratioKind: 'speedup', target: '>= 0.95x', spread: { ours: feed.generator_s, peer: feed.tensor_s } },
      (o, p) => p / o,
      (r) => r >= 0.95,
    ),
  );

  rows.push(...(await applicationRows(options, { torchMissing, tcmalloc, log })));

  meta.loadAverageAfter = loadAverage();
  if (!options.data && data.directory) fs.rmSync(data.directory, { recursive: true, force: true });
  const accuracy = { ours: oursFit?.epochs ?? [], peer: peerFit?.epochs ?? [] };
  return { meta, rows, accuracy };
}

/** Train and inference throughput of ours and PyTorch over batch sizes (64x64) and image sizes (batch 32). */
export async function runScaling(options: Options, log: (line: string) => void = console.log) {
  setNumThreads(options.threads);
  const torchMissing = pythonMissing(options.python, ['torch']);
  if (torchMissing) log(`  PyTorch peer skipped: ${torchMissing}`);
  const cases: [number, number][] = [[8, 64], [32, 64], [128, 64], [256, 64], [32, 32], [32, 128], [32, 224]];
  const results = [];
  log('| batch | image | train img/s: keras-torch | PyTorch | ratio | PyTorch, glibc tuned | ratio | inference img/s: keras-torch | PyTorch (fastest) | ratio |');
  log('|---|---|---|---|---|---|---|---|---|---|');
  for (const [batchSize, size] of cases) {
    const steps = Math.max(2, Math.min(20, Math.round(2000 / (batchSize * (size / 64) ** 2))));
    const peerArgs = [path.join(root, 'bench', 'torch_peer.py'), 'steps', '--threads', String(options.threads), '--size', String(size), '--batch-size', String(batchSize), '--steps', String(steps), '--repeats', '1'];
    const peer = torchMissing ? null : runJson<PeerStepFigures>(options.python, peerArgs);
    const tuned = torchMissing ? null : runJson<PeerStepFigures>(options.python, peerArgs, { ...process.env, ...TUNED_GLIBC });
    const mine = await ourSteps(size, batchSize, steps, 1);
    const rate = (ms: number) => (batchSize * 1000) / ms;
    const entry = {
      batchSize,
      size,
      train: { ours: rate(mine.train_ms[0]), peer: peer ? rate(peer.train_ms[0]) : null, tunedPeer: tuned ? rate(tuned.train_ms[0]) : null },
      inference: { ours: rate(mine.predict_ms[0]), peer: peer && tuned ? rate(fastestPeerPredict([peer, tuned])[0]) : null },
    };
    results.push(entry);
    const cell = (v: number | null) => (v === null ? '—' : Math.round(v).toLocaleString('en-US'));
    const ratio = (o: number, p: number | null) => (p === null ? '—' : `${(o / p).toFixed(2)}x`);
    log(
      `| ${batchSize} | ${size}x${size} | ${cell(entry.train.ours)} | ${cell(entry.train.peer)} | ${ratio(entry.train.ours, entry.train.peer)} | ` +
        `${cell(entry.train.tunedPeer)} | ${ratio(entry.train.ours, entry.train.tunedPeer)} | ${cell(entry.inference.ours)} | ${cell(entry.inference.peer)} | ${ratio(entry.inference.ours, entry.inference.peer)} |`,
    );
  }
  return { meta: { date: new Date().toISOString(), cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, threads: options.threads, loadAverage: loadAverage() }, scaling: results };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.scaling) {
    const result = await runScaling(options);
    const out = options.out ?? path.join(root, 'bench', 'results', `scaling-${result.meta.date.replace(/[:.]/g, '-')}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(`results: ${path.relative(process.cwd(), out)}`);
    return;
  }
  const result = await runBench(options);
  console.log('');
  console.log(formatTable(result.rows));
  console.log(`load average before ${result.meta.loadAverageBefore.join(' ')}, after ${result.meta.loadAverageAfter.join(' ')}`);
  const out = options.out ?? path.join(root, 'bench', 'results', `bench-${result.meta.date.replace(/[:.]/g, '-')}${options.quick ? '-quick' : ''}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`results: ${path.relative(process.cwd(), out)}`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
