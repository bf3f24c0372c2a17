/**
 * examples/serve.ts in a child process on a free port: POSTed images are answered with the class named by
 * the model's saved class indices and the probability predict gives, with dynamic batching and without.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as ts from 'typescript';
import { Conv2D, Dense, Flatten, MaxPooling2D, Sequential, setSeed, Tensor } from '../../lib';

const root = path.resolve(__dirname, '../..');
// Compiled next to the package so that its `import 'keras-torch'` resolves to dist/ (built by global-setup).
const compiled = path.join(root, 'build-ts', `serve-test-${process.pid}`, 'serve.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-serve-'));
const children: ChildProcess[] = [];

let modelFile: string;
let model: Sequential;
const images: Buffer[] = [];

beforeAll(async () => {
  const source = fs.readFileSync(path.join(root, 'examples', 'serve.ts'), 'utf8');
  const output = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
  fs.mkdirSync(path.dirname(compiled), { recursive: true });
  fs.writeFileSync(compiled, output.outputText);

  setSeed(4);
  model = new Sequential([
    new Conv2D(8, 3, { inputShape: [16, 16, 3], activation: 'relu' }),
    new MaxPooling2D({ poolSize: 2 }),
    new Flatten(),
    new Dense(1, { activation: 'sigmoid' }),
  ]);
  model.classIndices = { cats: 0, dogs: 1 };
  modelFile = path.join(tmp, 'classifier.safetensors');
  await model.save(modelFile);
  for (let i = 0; i < 6; i++) {
    const pixels = Buffer.alloc(24 * 20 * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = (p * (i + 3) + i * 40) & 0xff;
    const image = sharp(pixels, { raw: { width: 24, height: 20, channels: 3 } });
    images.push(await (i % 2 ? image.png() : image.jpeg()).toBuffer());
  }
});

afterAll(() => {
  for (const child of children) child.kill();
  fs.rmSync(path.dirname(compiled), { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

function start(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [compiled, modelFile, '--port', '0', '--threads', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}

function request(port: number, method: string, body?: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: method === 'GET' ? '/health' : '/predict' }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What predict says of each image: the class with the larger probability, and that probability. */
async function expected(): Promise<{ class: string; probability: number }[]> {
  const prediction = (await model.predictImages(images, { rescale: 1 / 255 })) as Tensor;
  return Array.from(prediction.dataSync() as Float32Array).map((p) => (p >= 0.5 ? { class: 'dogs', probability: p } : { class: 'cats', probability: 1 - p }));
}

describe.each([
  ['with dynamic batching (the default)', []],
  ['with --no-batching', ['--no-batching']],
])('examples/serve.ts %s', (_, args) => {
  test('answers each POSTed image, concurrent ones too, with its class and the probability predict gives', async () => {
    const port = await start(args as string[]);
    const want = await expected();
    expect((await request(port, 'GET')).json).toEqual({ ok: true });
    const answers = await Promise.all([...images, ...images].map((image) => request(port, 'POST', image)));
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.json.class).toBe(want[i % images.length].class);
      expect(Math.abs((answer.json.probability as number) - want[i % images.length].probability)).toBeLessThan(1e-6);
    });
    const bad = await request(port, 'POST', Buffer.from('not an image'));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/could not decode buffers\[0\]/);
    expect((await request(port, 'POST', images[0])).status).toBe(200);
  });
});
