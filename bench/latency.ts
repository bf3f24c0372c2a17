/**
 * Single-image predict latency, and inference at small batches, against PyTorch, the sides taking turns in
 * short rounds so that all of them see the same load (the machines this runs on are shared). Every side is
 * its own process, idle on its stdin while another measures: keras-torch (this build), PyTorch in
 * inference_mode (bench/torch_peer.py's `latency`), the same on tcmalloc, and any number of keras-torch
 * variants for A/B runs: environment variables (another addon through KERAS_TORCH_BINARY, OMP_WAIT_POLICY...)
 * and CHECKOUT=DIR, another checkout's build of the library and of this script.
 *
 *   node build-ts/bench/latency.js [--rounds 8] [--count 300] [--batches 1,8,32] [--threads 2]
 *        [--python /usr/bin/python3] [--no-peer] [--tcmalloc PATH | --no-tcmalloc]
 *        [--side NAME:KEY=VALUE,KEY=VALUE ...] [--idle] [--quiet-load 1.5 [--wait 1800]] [--warm 5000]
 *
 * Per side and batch size it prints the medians over rounds of each round's p50 and p99 (milliseconds per
 * call, each call timed alone after 3 untimed ones, since every side sits idle between its turns; `count`
 * calls per round at batch 1 and fewer at larger batches) and of its
 * img/s; the PyTorch sides at batches over 1 take the faster of NCHW and channels_last input. `--idle`
 * also reports each keras-torch side's CPU time (all its threads) over the 2 s after a burst of predicts.
 * `--warm N` has every side make N untimed calls at each batch size first: V8 compiles the JavaScript
 * around a predict on background threads for the first few thousand calls, which take cores from
 * libtorch's threads, so the figures without it are a fresh process's and with it a long-running one's.
 * `--quiet-load` waits (at most `--wait` seconds) for the one-minute load average to fall under the
 * figure first: with two threads on a busy 2-core machine, OpenMP's and OpenBLAS's waits between threads
 * turn a 1 ms prediction into 20-50 ms for every side, and the comparison means little.
 */
import { ChildProcess, spawn } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { setNumThreads, setSeed, tensor } from 'keras-torch';
import { seedModel } from './seed-model';
import { findTcmalloc, loadAverage, median, percentile, randomImages, tcmallocEnv } from './run';

const SIZE = 64;

interface Options {
  rounds: number;
  count: number;
  batches: number[];
  threads: number;
  python: string;
  peer: boolean;
  tcmalloc: string | null | false;
  sides: { name: string; env: Record<string, string> }[];
  idle: boolean;
  /** Start once the one-minute load average is under this (waiting at most waitSeconds). */
  quietLoad: number | null;
  waitSeconds: number;
  /** Untimed calls each side makes at every batch size before the first round (a long-running service's state). */
  warm: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { rounds: 8, count: 300, batches: [1], threads: 2, python: '/usr/bin/python3', peer: true, tcmalloc: null, sides: [], idle: false, quietLoad: null, waitSeconds: 1800, warm: 0 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--rounds') options.rounds = Number(value());
    else if (flag === '--count') options.count = Number(value());
    else if (flag === '--batches') options.batches = value().split(',').map(Number);
    else if (flag === '--threads') options.threads = Number(value());
    else if (flag === '--python') options.python = value();
    else if (flag === '--no-peer') options.peer = false;
    else if (flag === '--tcmalloc') options.tcmalloc = value();
    else if (flag === '--no-tcmalloc') options.tcmalloc = false;
    else if (flag === '--idle') options.idle = true;
    else if (flag === '--quiet-load') options.quietLoad = Number(value());
    else if (flag === '--wait') options.waitSeconds = Number(value());
    else if (flag === '--warm') options.warm = Number(value());
    else if (flag === '--side') {
      const [name, settings = ''] = value().split(/:(.*)/s);
      const env = Object.fromEntries(settings.split(',').filter(Boolean).map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]));
      options.sides.push({ name, env });
    } else throw new Error(`unknown flag ${flag}`);
  }
  return options;
}

/** Calls per round at `batch`: `count` single images, fewer of the larger batches (about count / batch * 4). */
const callsAt = (count: number, batch: number) => Math.max(30, Math.round((count * 4) / (batch + 3)));

/** The child side of a keras-torch process: answers "BATCH COUNT" with the calls' milliseconds, "idle" with CPU time. */
async function serve(threads: number): Promise<void> {
  setNumThreads(threads);
  setSeed(1);
  const model = seedModel(SIZE);
  const batches = new Map<number, ReturnType<typeof randomImages>>();
  const x32 = randomImages(32, SIZE);
  const y32 = tensor(Float32Array.from({ length: 32 }, () => (Math.random() > 0.5 ? 1 : 0)), [32, 1]);
  // As the bench does: a few train steps first (the model a service trained, its allocator warm).
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x32, y32);
  const reply = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n');
  reply({ ready: true });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === 'idle') {
      const single = randomImages(1, SIZE);
      for (let i = 0; i < 200; i++) (await model.predict(single)).dispose();
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const used = process.cpuUsage(before);
      reply({ idle_cpu_ms: (used.user + used.system) / 1000 });
      continue;
    }
    const [batch, count] = line.split(' ').map(Number);
    if (!batches.has(batch)) {
      batches.set(batch, randomImages(batch, SIZE));
      for (let i = 0; i < 3; i++) (await model.predict(batches.get(batch)!)).dispose();
    }
    const x = batches.get(batch)!;
    // Untimed, as on the PyTorch side: the first calls after a pause wake threads that went to sleep.
    for (let i = 0; i < 3; i++) (await model.predict(x)).dispose();
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      (await model.predict(x)).dispose();
      latencies.push(performance.now() - start);
    }
    reply({ nchw_ms: latencies });
  }
}

/** One side's process, asked one line at a time. */
class Side {
  private readonly lines: AsyncIterator<string>;
  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr!.on('data', (chunk) => process.stderr.write(`[${name}] ${chunk}`));
    this.lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  async next(): Promise<Record<string, number[] | number | boolean | string>> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`${this.name} exited`);
    return JSON.parse(value);
  }

  async ask(line: string) {
    this.child.stdin!.write(line + '\n');
    return this.next();
  }

  close() {
    this.child.stdin!.end();
  }
}

const fixed = (value: number, digits = 2) => value.toFixed(digits);

async function main(): Promise<void> {
  if (process.argv[2] === '--serve') return serve(Number(process.argv[3]));
  const options = parseArgs(process.argv.slice(2));
  const sides: Side[] = [];
  // CHECKOUT=DIR runs the side from another checkout's build (its build-ts/bench/latency.js): A/B of library changes.
  const ours = (name: string, { CHECKOUT: checkout, ...env }: Record<string, string>) => {
    const script = checkout ? path.join(path.resolve(checkout), 'build-ts', 'bench', 'latency.js') : __filename;
    return new Side(name, spawn(process.execPath, [script, '--serve', String(options.threads)], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] }));
  };
  sides.push(ours('keras-torch', {}));
  for (const side of options.sides) sides.push(ours(side.name, side.env));
  const oursCount = sides.length;
  const peerArgs = [path.join(__dirname, '..', '..', 'bench', 'torch_peer.py'), 'latency', '--threads', String(options.threads), '--size', String(SIZE)];
  if (options.peer) {
    sides.push(new Side('PyTorch', spawn(options.python, peerArgs, { stdio: ['pipe', 'pipe', 'pipe'] })));
    if (options.tcmalloc !== false) {
      const found = findTcmalloc(options.tcmalloc);
      if ('library' in found) sides.push(new Side('PyTorch, tcmalloc', spawn(options.python, peerArgs, { env: tcmallocEnv(found.library), stdio: ['pipe', 'pipe', 'pipe'] })));
      else console.log(`PyTorch on tcmalloc skipped: ${found.reason}`);
    }
  }
  for (const side of sides) await side.next();
  if (options.warm > 0) {
    for (const side of sides) for (const batch of options.batches) await side.ask(`${batch} ${options.warm}`);
  }
  if (options.quietLoad !== null) {
    const until = Date.now() + options.waitSeconds * 1000;
    while (os.loadavg()[0] >= options.quietLoad && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10_000));
    if (os.loadavg()[0] >= options.quietLoad) console.log(`the load average stayed at or over ${options.quietLoad} for ${options.waitSeconds} s; measuring anyway`);
  }
  const loadBefore = loadAverage();
  const roundLoads: number[] = [];
  console.log(`latency: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, ${options.threads} threads, ${options.rounds} rounds, load ${loadBefore.join(' ')}`);

  // results[side][batch]: one entry per round.
  const results = sides.map(() => new Map<number, { p50: number[]; p99: number[]; imagesPerSecond: number[] }>());
  for (let round = 0; round < options.rounds; round++) {
    // Each round starts with a different side, so that none is always the one after a pause.
    const order = sides.map((_, i) => (i + round) % sides.length);
    roundLoads.push(os.loadavg()[0]);
    for (const batch of options.batches) {
      for (const index of order) {
        const answer = await sides[index].ask(`${batch} ${callsAt(options.count, batch)}`);
        const ways = ['nchw_ms', 'channels_last_ms'].filter((key) => key in answer).map((key) => answer[key] as number[]);
        const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
        // At batch 1 the layouts are the same; PyTorch's single-image figure is its NCHW one, as in the bench.
        const chosen = batch === 1 ? ways[0] : ways.reduce((best, way) => (mean(way) < mean(best) ? way : best));
        const entry = results[index].get(batch) ?? { p50: [], p99: [], imagesPerSecond: [] };
        entry.p50.push(percentile(chosen, 0.5));
        entry.p99.push(percentile(chosen, 0.99));
        entry.imagesPerSecond.push((batch * 1000) / mean(chosen));
        results[index].set(batch, entry);
      }
    }
  }
  const loadAfter = loadAverage();
  for (const batch of options.batches) {
    console.log(`\nbatch ${batch}, ${callsAt(options.count, batch)} calls per round: medians over rounds (min-max)`);
    for (const [index, side] of sides.entries()) {
      const entry = results[index].get(batch)!;
      const spread = (values: number[], digits = 2) => `${fixed(median(values), digits)} (${fixed(Math.min(...values), digits)}-${fixed(Math.max(...values), digits)})`;
      console.log(`  ${side.name.padEnd(24)} p50 ${spread(entry.p50)} ms  p99 ${spread(entry.p99)} ms  ${spread(entry.imagesPerSecond, 0)} img/s`);
    }
    // Differences taken per round, then their median: the sides of one round saw the same load.
    const perRound = (ours: number[], theirs: number[], f: (a: number, b: number) => number) => median(ours.map((value, r) => f(value, theirs[r])));
    for (let index = 0; index < oursCount; index++) {
      const entry = results[index].get(batch)!;
      for (let peer = oursCount; peer < sides.length; peer++) {
        const theirs = results[peer].get(batch)!;
        const p50 = perRound(entry.p50, theirs.p50, (a, b) => a - b);
        const p99 = perRound(entry.p99, theirs.p99, (a, b) => a - b);
        const rate = perRound(entry.imagesPerSecond, theirs.imagesPerSecond, (a, b) => a / b);
        console.log(`  ${sides[index].name} vs ${sides[peer].name}: p50 ${p50 >= 0 ? '+' : ''}${fixed(p50)} ms, p99 ${p99 >= 0 ? '+' : ''}${fixed(p99)} ms, img/s ${fixed(rate)}x`);
      }
    }
  }
  if (options.idle) {
    console.log('');
    for (let index = 0; index < oursCount; index++) console.log(`  ${sides[index].name}: CPU time over 2 s idle after 200 predicts: ${fixed(Number((await sides[index].ask('idle')).idle_cpu_ms), 1)} ms`);
  }
  console.log(`\nload average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}; one-minute figure at the rounds' starts ${fixed(Math.min(...roundLoads))}-${fixed(Math.max(...roundLoads))}`);
  sides.forEach((side) => side.close());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
