/**
 * Models in memory: `save()` without a file resolves the safetensors bytes, `loadModel(buffer)` and
 * `loadWeights(buffer)` read them, with the same checks as files.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Conv2D, Dense, Flatten, loadModel, MaxPooling2D, Sequential, setSeed, tensor, Tensor } from '../../lib';
import { parseSafetensors } from '../../lib/io/safetensors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-buffers-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function smallCnn(): Sequential {
  const model = new Sequential();
  model.add(new Conv2D(4, 3, { inputShape: [8, 8, 3], activation: 'relu', name: 'conv' }));
  model.add(new MaxPooling2D({ poolSize: 2, name: 'pool' }));
  model.add(new Flatten({ name: 'flat' }));
  model.add(new Dense(1, { activation: 'sigmoid', name: 'out' }));
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
  return model;
}

function data(count: number): [Tensor, Tensor] {
  const x = Float32Array.from({ length: count * 8 * 8 * 3 }, (_, i) => Math.sin(i * 0.37));
  const y = Float32Array.from({ length: count }, (_, i) => i % 2);
  return [tensor(x, [count, 8, 8, 3]), tensor(y, [count, 1])];
}

const values = (t: Tensor) => Array.from(t.dataSync() as Float32Array);

describe('save() to a Buffer and loadModel(buffer)', () => {
  test('round trip: the same bytes as the file, identical predictions, and training resumes with the optimizer state', async () => {
    setSeed(3);
    const model = smallCnn();
    model.classIndices = { cats: 0, dogs: 1 };
    const [x, y] = data(16);
    await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, shuffle: false });

    const bytes = await model.save();
    expect(Buffer.isBuffer(bytes)).toBe(true);
    const file = path.join(tmp, 'model.safetensors');
    await model.save(file);
    expect(bytes.equals(fs.readFileSync(file))).toBe(true);
    expect(parseSafetensors(bytes).tensors.get('optimizer/conv.weight/exp_avg')!.shape).toEqual([4, 3, 3, 3]);

    // A Uint8Array view into a larger buffer (as a database driver may hand it) works as well.
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 16);
    for (const source of [bytes, padded.subarray(16)]) {
      const loaded = await loadModel(source);
      expect(loaded.classIndices).toEqual({ cats: 0, dogs: 1 });
      expect(values(await loaded.predict(x))).toEqual(values(await model.predict(x)));
    }

    const loaded = await loadModel(bytes);
    await model.trainOnBatch(x, y);
    await loaded.trainOnBatch(x, y);
    expect(loaded.getWeights().map(values)).toEqual(model.getWeights().map(values));
  });

  test('saveWeights() and loadWeights(buffer)', async () => {
    const model = smallCnn();
    const bytes = await model.saveWeights();
    expect(parseSafetensors(bytes).tensors.has('optimizer/iterations')).toBe(false);
    const other = smallCnn();
    await other.loadWeights(bytes);
    expect(other.getWeights().map(values)).toEqual(model.getWeights().map(values));
    const different = new Sequential([new Dense(3, { inputShape: [4], name: 'out' })]);
    await expect(different.loadWeights(bytes)).rejects.toThrow(/the model buffer: expected weight 'out.weight' of shape \[3, 4\] but received \[1, 36\]/);
  });

  test('bad buffers are refused with clear messages, and nothing crashes', async () => {
    const bytes = await smallCnn().save();
    await expect(loadModel(bytes.subarray(0, bytes.length - 10))).rejects.toThrow(/the model buffer: not a valid safetensors file: tensor '.+' ends at byte \d+ but the data holds \d+ bytes \(truncated\?\)/);
    await expect(loadModel(bytes.subarray(0, 5))).rejects.toThrow(/the model buffer: not a valid safetensors file: the file holds 5 bytes, fewer than the 8-byte header length/);
    await expect(loadModel(Buffer.alloc(0))).rejects.toThrow(/fewer than the 8-byte header length/);
    const wrongHeader = Buffer.from(bytes);
    wrongHeader.write('!', 8); // the header's first byte: no longer JSON
    await expect(loadModel(wrongHeader)).rejects.toThrow(/the model buffer: not a valid safetensors file: the header is not JSON/);
    const huge = Buffer.from(bytes);
    huge.writeBigUInt64LE(BigInt(bytes.length) * 4n, 0);
    await expect(loadModel(huge)).rejects.toThrow(/the header length \d+ exceeds the \d+ bytes after it/);
    // Valid safetensors that is not a keras-torch model.
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    await expect(loadModel(Buffer.concat([length, header, Buffer.alloc(4)]))).rejects.toThrow(/the model buffer: expected a keras-torch model file/);
    await expect(loadModel(42 as never)).rejects.toThrow(/loadModel: expected a file path or a Buffer of a saved model but received 42/);
    await expect(smallCnn().loadWeights([1, 2] as never)).rejects.toThrow(/loadWeights: expected a file path or a Buffer of a saved model/);
    // Still working afterwards.
    expect((await loadModel(bytes)).countParams()).toBe(smallCnn().countParams());
  });
});
