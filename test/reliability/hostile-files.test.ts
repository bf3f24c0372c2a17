/**
 * Hostile and corrupt files. Model files: every kind of damage is an error naming the file and the
 * problem, found before anything the file asks for is allocated. Images: corrupt, truncated, empty and
 * decompression bombs are an error naming the file, or skipped with a warning under invalidImages: 'skip'.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import sharp from 'sharp';
import { Conv2D, Dense, Flatten, ImageDataGenerator, loadImg, loadModel, Sequential, tensor } from '../../lib';
import { seededRandom } from '../helpers';

let dir: string;
let valid: Buffer;

/** The header JSON and the data bytes of a safetensors buffer. */
function split(file: Buffer): { header: Record<string, any>; data: Buffer } {
  const length = Number(file.readBigUInt64LE(0));
  return { header: JSON.parse(file.subarray(8, 8 + length).toString('utf8')), data: file.subarray(8 + length) };
}

function join(header: object, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

/** The valid file with its header changed by `edit`. */
function edited(edit: (header: Record<string, any>) => void, data?: (bytes: Buffer) => Buffer): Buffer {
  const parts = split(valid);
  edit(parts.header);
  return join(parts.header, data ? data(parts.data) : parts.data);
}

function editConfig(edit: (config: any) => void): Buffer {
  return edited((header) => {
    const config = JSON.parse(header.__metadata__.config);
    edit(config);
    header.__metadata__.config = JSON.stringify(config);
  });
}

async function loadBytes(name: string, bytes: Buffer): Promise<unknown> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return loadModel(file);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-hostile-'));
  const model = new Sequential([new Conv2D(2, 3, { inputShape: [6, 6, 1], name: 'conv' }), new Flatten({ name: 'flat' }), new Dense(3, { name: 'out', activation: 'softmax' })]);
  model.compile({ optimizer: 'adam', loss: 'categorical_crossentropy', metrics: ['accuracy'] });
  await model.trainOnBatch(tensor(new Float32Array(2 * 36).fill(0.5), [2, 6, 6, 1]), tensor([[1, 0, 0], [0, 1, 0]]));
  await model.save(path.join(dir, 'valid.safetensors'));
  valid = fs.readFileSync(path.join(dir, 'valid.safetensors'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('hostile model files', () => {
  test('the untouched file loads (the control for every case below)', async () => {
    const model = (await loadBytes('control.safetensors', valid)) as Sequential;
    expect(model.countParams()).toBe(2 * 9 + 2 + 32 * 3 + 3);
  });

  const random = seededRandom(7);
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

  const cases: [string, () => Buffer, RegExp][] = [
    ['empty', () => Buffer.alloc(0), /holds 0 bytes, fewer than the 8-byte header length/],
    ['7 bytes', () => valid.subarray(0, 7), /holds 7 bytes, fewer than the 8-byte header length/],
    ['truncated in the header', () => valid.subarray(0, 40), /the header length \d+ exceeds the 32 bytes after it/],
    ['truncated in the data', () => valid.subarray(0, valid.length - 100), /ends at byte \d+ but the data holds \d+ bytes \(truncated\?\)/],
    ['random bytes', () => randomBytes(4096), /not a valid safetensors file: the header length \d+ exceeds/],
    ['random bytes after a plausible length', () => { const b = randomBytes(4096); b.writeBigUInt64LE(1000n); return b; }, /the header is not JSON/],
    ['header length 2^64 - 1', () => { const b = Buffer.from(valid); b.writeBigUInt64LE(2n ** 64n - 1n); return b; }, /the header length 18446744073709551615 exceeds/],
    ['header length one past the file', () => { const b = Buffer.from(valid); b.writeBigUInt64LE(BigInt(valid.length - 7)); return b; }, /exceeds the \d+ bytes after it/],
    ['header a JSON array', () => join([1, 2], Buffer.alloc(0)), /the header is not a JSON object/],
    ['offsets past the end', () => edited((h) => { h['out.bias'].data_offsets = [1e6, 1e6 + 12]; }), /tensor 'out.bias' ends at byte 1000012 but the data holds \d+ bytes/],
    ['offsets reversed', () => edited((h) => { const [a, b] = h['out.bias'].data_offsets; h['out.bias'].data_offsets = [b, a]; }), /tensor 'out.bias' has data_offsets .*; expected \[begin, end\]/],
    ['offsets negative', () => edited((h) => { h['out.bias'].data_offsets = [-12, 0]; }), /has data_offsets \[-12,0\]/],
    ['offsets beyond 2^53', () => edited((h) => { h['out.bias'].data_offsets = [0, 2 ** 60]; }), /has data_offsets/],
    ['overlapping tensors', () => edited((h) => { h['out.bias'].data_offsets = [...h['conv.bias'].data_offsets]; h['out.bias'].shape = [2]; }), /tensors '.*' and '.*' overlap/],
    ['unknown dtype', () => edited((h) => { h['out.bias'].dtype = 'F8_E4M3'; }), /tensor 'out.bias' has dtype "F8_E4M3"; expected one of/],
    ['enormous shape', () => edited((h) => { h['out.weight'].shape = [1e9, 1e9]; }), /tensor 'out.weight' of shape \[1000000000, 1000000000\] needs \d+ bytes but spans 384/],
    ['fractional shape', () => edited((h) => { h['out.bias'].shape = [1.5]; }), /has shape \[1.5\]; expected non-negative integers/],
    ['shape contradicting the config (same size)', () => edited((h) => { h['out.weight'].shape = [32, 3]; }), /expected weight 'out.weight' of shape \[3, 32\] but received \[32, 3\]/],
    ['dtype contradicting the config (same size)', () => edited((h) => { h['out.bias'].dtype = 'I32'; }), /expected weight 'out.bias' of dtype float32 but received int32/],
    ['a weight missing', () => edited((h) => { delete h['out.bias']; }), /expected a weight named 'out.bias'/],
    ['config asking for Dense(1e9)', () => editConfig((c) => { c.layers[2].config.units = 1e9; }), /expected weight 'out.weight' with 32000000000 values \(shape \[32, 1000000000\] from the config\) but received shape \[3, 32\]/],
    ['config asking for an enormous input', () => editConfig((c) => { c.inputShape = [100000, 100000, 1]; c.layers[0].config.inputShape = [100000, 100000, 1]; }), /expected weight 'out.weight' with \d+ values .* but received shape \[3, 32\]/],
    ['config inputShape negative', () => editConfig((c) => { c.layers[0].config.inputShape = [-6, 6, 1]; }), /layer 0 of the config: Conv2D: expected inputShape to be a non-empty array of positive integers but received \[-6, 6, 1\]/],
    ['config with an unknown layer', () => editConfig((c) => { c.layers[1].className = 'Lambda'; }), /layer 1 of the config: layer config: expected className to be one of .* but received "Lambda"/],
    ['config with a bad option', () => editConfig((c) => { c.layers[0].config.kernelSize = 'big'; }), /layer 0 of the config: Conv2D.*expected kernelSize .* but received "big"/],
    ['config not JSON', () => edited((h) => { h.__metadata__.config = '{"className": "Sequ'; }), /__metadata__.config is not valid JSON/],
    ['metadata not strings', () => edited((h) => { h.__metadata__.config = { className: 'Sequential' }; }), /__metadata__.config is not a string/],
    ['no keras-torch metadata', () => edited((h) => { delete h.__metadata__; }), /expected a keras-torch model file/],
    ['compile config with an unknown optimizer', () => edited((h) => { h.__metadata__.compile = JSON.stringify({ optimizer: { className: 'Adadelta', config: {} }, loss: 'mse', metrics: [] }); }), /unknown optimizer "Adadelta" in the compile config/],
    ['compile config with a bad learning-rate schedule', () => edited((h) => { h.__metadata__.compile = JSON.stringify({ optimizer: { className: 'SGD', config: { learningRate: { className: 'ExponentialDecay', config: { initialLearningRate: 0.1, decaySteps: -1, decayRate: 0.5 } } } }, loss: 'mse', metrics: [] }); }), /the compile config's optimizer is invalid: ExponentialDecay: expected decaySteps to be a number in \(0, Infinity\] but received -1/],
    ['optimizer iterations not an int64 count', () => edited((h) => { h['optimizer/iterations'].dtype = 'F64'; }), /expected optimizer\/iterations to be a non-negative int64 scalar but received a float64 tensor of shape \[\]/],
    ['optimizer state of the wrong shape', () => edited((h) => { h['optimizer/out.bias/exp_avg'].shape = [1, 3]; }), /the optimizer state does not fit the model/],
  ];

  test.each(cases)('%s: rejected with an error naming the file', async (name, bytes, error) => {
    const before = process.memoryUsage();
    const outcome = loadBytes(`${name.replace(/\W+/g, '-')}.safetensors`, bytes());
    await expect(outcome).rejects.toThrow(error);
    await expect(outcome).rejects.toThrow(new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // Nothing the file asked for was allocated: memory grew by far less than any enormous request.
    const after = process.memoryUsage();
    expect(after.rss - before.rss).toBeLessThan(512 * 1024 * 1024);
    expect(after.external - before.external).toBeLessThan(256 * 1024 * 1024);
  });

  test('every byte truncation point of the header is an error, never a crash', async () => {
    const headerEnd = 8 + Number(valid.readBigUInt64LE(0));
    for (let cut = 0; cut < headerEnd + 16; cut += 37) {
      await expect(loadBytes('cut.safetensors', valid.subarray(0, cut))).rejects.toThrow(/not a valid safetensors file/);
    }
  });
});

// ---- images -------------------------------------------------------------------------------------------

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a valid PNG header announcing `side` x `side` grey pixels (900 megapixels for
 * 30000), with a few hundred bytes of data. Decoding it would need gigabytes; sharp's pixel limit refuses it.
 */
function pngBomb(side: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const data = zlib.deflateSync(Buffer.alloc((side + 1) * 8));
  return Buffer.concat([signature, pngChunk('IHDR', header), pngChunk('IDAT', data), pngChunk('IEND', Buffer.alloc(0))]);
}

describe('hostile image files', () => {
  let images: string;
  const bad: Record<string, () => Promise<Buffer>> = {
    'empty.jpg': async () => Buffer.alloc(0),
    'random.png': async () => Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) & 0xff)),
    'truncated.jpg': async () => {
      const jpeg = await sharp({ create: { width: 24, height: 24, channels: 3, background: { r: 9, g: 99, b: 199 } } }).jpeg().toBuffer();
      return jpeg.subarray(0, jpeg.length >> 1);
    },
    'truncated.png': async () => {
      const png = await sharp({ create: { width: 24, height: 24, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toBuffer();
      return png.subarray(0, png.length - 30);
    },
    'bomb.png': async () => pngBomb(30000),
    'text.jpg': async () => Buffer.from('GIF89a but really just text'),
  };

  beforeAll(async () => {
    images = path.join(dir, 'images');
    for (const label of ['a', 'b']) {
      fs.mkdirSync(path.join(images, label), { recursive: true });
      for (let i = 0; i < 3; i++) {
        await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 40 * i, g: label === 'a' ? 0 : 200, b: 50 } } })
          .png()
          .toFile(path.join(images, label, `ok${i}.png`));
      }
    }
    for (const [name, make] of Object.entries(bad)) fs.writeFileSync(path.join(images, 'a', name), await make());
  });

  test.each(Object.keys(bad))('loadImg of %s is an error naming the file', async (name) => {
    const file = path.join(images, 'a', name);
    const before = process.memoryUsage().rss;
    await expect(loadImg(file, { targetSize: [8, 8] })).rejects.toThrow(`loadImg: could not decode "${file}"`);
    expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
  });

  test('the decompression bomb is refused by the pixel limit, before decoding', async () => {
    const file = path.join(images, 'a', 'bomb.png');
    await expect(loadImg(file)).rejects.toThrow(/could not decode ".*bomb.png": Input image exceeds pixel limit/);
  });

  test('flowFromDirectory: an error naming the file by default', async () => {
    const iterator = new ImageDataGenerator().flowFromDirectory(images, { targetSize: [8, 8], batchSize: 64, shuffle: false, classMode: 'sparse' });
    const error = await iterator.get(0).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(new RegExp(`flowFromDirectory: could not decode ".*(${Object.keys(bad).join('|').replace(/\./g, '\\.')})"`));
  });

  test("flowFromDirectory with invalidImages: 'skip': the good images, and one warning per bad file", async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const iterator = new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory(images, {
        targetSize: [8, 8], batchSize: 64, shuffle: false, classMode: 'sparse', invalidImages: 'skip',
      });
      const [x, y] = await iterator.get(0);
      expect(x.shape).toEqual([6, 8, 8, 3]);
      expect(y?.arraySync()).toEqual([0, 0, 0, 1, 1, 1]);
      const warnings = warn.mock.calls.map((call) => String(call[0]));
      for (const name of Object.keys(bad)) {
        expect(warnings.filter((w) => w.includes(name) && w.includes('the file is skipped'))).toHaveLength(1);
      }
      // A model trains on what is left.
      const model = new Sequential([new Flatten({ inputShape: [8, 8, 3] }), new Dense(2, { activation: 'softmax' })]);
      model.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' });
      const history = await model.fit(iterator, { epochs: 1, verbose: 0 });
      expect(Number.isFinite(history.history.loss[0])).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });
});
