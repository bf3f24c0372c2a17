/**
 * The HTTP load test: examples/serve.ts with the seed CNN (64x64x3, random weights: the work, not the
 * answers, is measured) on loopback, `connections` clients (autocannon) posting 64x64 JPEGs for `seconds`,
 * once with dynamic batching (the server's default) and once predicting each request on its own. Reports
 * requests/s, latency percentiles, and every request that did not get a 200 (errors, timeouts, other
 * statuses), so that nothing lost goes unseen.
 *
 *   node build-ts/bench/serve-load.js [--seconds 10] [--connections 200] [--threads 2]
 *
 * The server runs in its own process, as a service would, and the client in this one.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { seedModel } from './seed-model';

// autocannon ships no type declarations; this is the part of its result used here.
interface AutocannonResult {
  requests: { average: number; total: number; sent: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const autocannon: (options: Record<string, unknown>) => Promise<AutocannonResult> = require('autocannon');

export interface LoadFigures {
  requestsPerSecond: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Requests answered with 200. */
  ok: number;
  /** Requests sent. */
  sent: number;
  /** Connection errors, timeouts and non-200 answers. */
  failed: number;
}

export interface ServeLoadOptions {
  seconds: number;
  connections: number;
  threads: number;
}

const root = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

async function jpegs(count: number, size: number): Promise<Buffer[]> {
  const made: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const pixels = Buffer.alloc(size * size * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = (p * (i + 5) + (p >> 7) * 31) & 0xff;
    made.push(await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
  }
  return made;
}

function startServer(modelFile: string, threads: number, batching: boolean): Promise<{ child: ChildProcess; port: number }> {
  const args = [path.join(root, 'build-ts', 'examples', 'serve.js'), modelFile, '--port', '0', '--threads', String(threads)];
  if (!batching) args.push('--no-batching');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`examples/serve.js exited with ${code}: ${output}`)));
  });
}

async function load(port: number, images: Buffer[], connections: number, seconds: number): Promise<LoadFigures> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    timeout: 30,
    requests: images.map((body) => ({ method: 'POST', path: '/predict', body, headers: { 'content-type': 'image/jpeg' } })),
  });
  return {
    requestsPerSecond: result.requests.average,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    ok: result['2xx'],
    sent: result.requests.sent,
    failed: result.errors + result.timeouts + result.non2xx,
  };
}

/** Both servers, one after the other, each warmed up first. */
export async function serveLoad(options: ServeLoadOptions): Promise<{ batched: LoadFigures; perRequest: LoadFigures }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-serve-load-'));
  try {
    const model = seedModel(64);
    model.classIndices = { cats: 0, dogs: 1 };
    const modelFile = path.join(tmp, 'seed.safetensors');
    await model.save(modelFile);
    model.dispose();
    const images = await jpegs(8, 64);
    const run = async (batching: boolean): Promise<LoadFigures> => {
      const { child, port } = await startServer(modelFile, options.threads, batching);
      try {
        await load(port, images, options.connections, 1); // warm-up: oneDNN primitives, connections
        return await load(port, images, options.connections, options.seconds);
      } finally {
        child.kill();
      }
    };
    const batched = await run(true);
    const perRequest = await run(false);
    return { batched, perRequest };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options: ServeLoadOptions = { seconds: 10, connections: 200, threads: 2 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const value = Number(argv[i + 1]);
    if (argv[i] === '--seconds') options.seconds = value;
    else if (argv[i] === '--connections') options.connections = value;
    else if (argv[i] === '--threads') options.threads = value;
    else throw new Error(`serve-load: unknown option ${argv[i]}`);
    i++;
  }
  const { batched, perRequest } = await serveLoad(options);
  const line = (name: string, f: LoadFigures) =>
    `${name}: ${f.requestsPerSecond.toFixed(0)} req/s, p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, max ${f.max_ms} ms, ${f.ok} answered of ${f.sent} sent, ${f.failed} failed`;
  console.log(line('dynamic batching', batched));
  console.log(line('per-request predict', perRequest));
  console.log(`throughput ${(batched.requestsPerSecond / perRequest.requestsPerSecond).toFixed(2)}x, p99 ${batched.p99_ms} vs ${perRequest.p99_ms} ms`);
  console.log(JSON.stringify({ options, batched, perRequest }));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
