/**
 * An HTTP image classifier on node:http: loads a model saved with `model.save()` and answers each POSTed
 * image (the raw JPEG or PNG bytes as the request body) with its class and probability as JSON, the class
 * names coming from the class indices saved with the model (`flowFromDirectory`'s folders).
 *
 *   node build-ts/examples/serve.js MODEL_FILE [--port 8080] [--host 127.0.0.1] [--rescale 0.00392156862745098]
 *                                   [--no-batching] [--max-batch-size 32] [--max-delay-ms 2] [--threads N]
 *   curl --data-binary @cat.jpg http://127.0.0.1:8080/predict      ->  {"class":"cats","probability":0.93}
 *
 * Requests that arrive together are predicted as one batch (a Predictor, dynamic batching); `--no-batching`
 * predicts each request on its own. Images are decoded, resized to the model's input and rescaled (1/255 by
 * default, as the seed tutorial trains) off the event loop. `GET /health` answers {"ok":true}.
 */
import * as http from 'http';
import { loadModel, Predictor, setNumThreads, Tensor } from 'keras-torch';

/** The largest body accepted: far above a photo, small enough that no client can fill the memory. */
const MAX_BODY_BYTES = 16 * 2 ** 20;

interface ServeOptions {
  modelFile: string;
  port: number;
  host: string;
  rescale: number;
  batching: boolean;
  maxBatchSize: number;
  maxDelayMs: number;
  threads?: number;
}

function parseArgs(argv: string[]): ServeOptions {
  const options: ServeOptions = { modelFile: '', port: 8080, host: '127.0.0.1', rescale: 1 / 255, batching: true, maxBatchSize: 32, maxDelayMs: 2 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const number = (): number => {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value)) throw new Error(`serve: ${flag} expects a number`);
      return value;
    };
    if (flag === '--port') options.port = number();
    else if (flag === '--host') options.host = argv[++i];
    else if (flag === '--rescale') options.rescale = number();
    else if (flag === '--no-batching') options.batching = false;
    else if (flag === '--max-batch-size') options.maxBatchSize = number();
    else if (flag === '--max-delay-ms') options.maxDelayMs = number();
    else if (flag === '--threads') options.threads = number();
    else if (!flag.startsWith('--') && !options.modelFile) options.modelFile = flag;
    else throw new Error(`serve: unknown argument ${flag}`);
  }
  if (!options.modelFile) throw new Error('usage: node build-ts/examples/serve.js MODEL_FILE [--port 8080] [--no-batching] ...');
  return options;
}

/** The class and its probability from one row of outputs: one sigmoid unit (binary) or a softmax. */
export function classify(row: ArrayLike<number>, classNames: string[]): { class: string; probability: number } {
  if (row.length === 1) {
    const positive = row[0] >= 0.5;
    return { class: classNames[positive ? 1 : 0] ?? String(positive ? 1 : 0), probability: positive ? row[0] : 1 - row[0] };
  }
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return { class: classNames[best] ?? String(best), probability: row[best] };
}

function readBody(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`the body is over ${MAX_BODY_BYTES} bytes`), { status: 413 }));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function reply(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

export async function serve(options: ServeOptions): Promise<http.Server> {
  if (options.threads !== undefined) setNumThreads(options.threads);
  const model = await loadModel(options.modelFile);
  // Class names by index, from the class indices saved with the model ({ cats: 0, dogs: 1 }).
  const classNames: string[] = [];
  for (const [name, index] of Object.entries(model.classIndices ?? {})) classNames[index] = name;
  const predictor = options.batching ? new Predictor<Tensor>(model, { maxBatchSize: options.maxBatchSize, maxDelayMs: options.maxDelayMs }) : null;
  const predictImage = (image: Buffer): Promise<Tensor> =>
    predictor ? predictor.predictImages([image], { rescale: options.rescale }) : model.predictImages([image], { rescale: options.rescale });

  const server = http.createServer(async (request, response) => {
    if (request.method === 'GET' && request.url === '/health') return reply(response, 200, { ok: true });
    if (request.method !== 'POST') return reply(response, 405, { error: 'POST an image (JPEG or PNG bytes) as the request body' });
    let image: Buffer;
    try {
      image = await readBody(request);
    } catch (error) {
      return reply(response, (error as { status?: number }).status ?? 400, { error: (error as Error).message });
    }
    let prediction: Tensor;
    try {
      prediction = await predictImage(image);
    } catch (error) {
      // A body that is not an image is the client's error; anything else is ours.
      const message = (error as Error).message;
      return reply(response, /could not decode|expected buffers/.test(message) ? 400 : 500, { error: message });
    }
    const row = prediction.dataSync() as Float32Array;
    prediction.dispose();
    reply(response, 200, classify(row, classNames));
  });
  server.on('close', () => void predictor?.close());
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  return server;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const server = await serve(options);
  const address = server.address() as { address: string; port: number };
  console.log(`listening on http://${address.address}:${address.port} (dynamic batching ${options.batching ? 'on' : 'off'})`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
