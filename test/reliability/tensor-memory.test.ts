/**
 * A tensor borrows its typed array's memory; nothing a script does to that memory or to the Tensor may
 * crash the process. Each case runs in a child process (with --expose-gc, so that collection can be
 * forced where a freed buffer would be read), which must exit cleanly with the expected outcome.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const dist = path.resolve(__dirname, '../../dist/index.js');

function child(body: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const script = `const k = require(${JSON.stringify(dist)});\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });`;
  const result = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

describe('borrowed memory', () => {
  test('a tensor whose ArrayBuffer was transferred is refused by every reader, with a message', () => {
    const result = child(`
      const a = new Float32Array([1, 2, 3, 4, 5, 6]);
      const t = k.tensor(a, [2, 3]);
      const moved = structuredClone(a.buffer, { transfer: [a.buffer] });
      const errors = [];
      for (const read of [() => t.dataSync(), () => t.reshape([3, 2]).dataSync(), () => k.concat([t, t])]) {
        try { read(); errors.push('no error'); } catch (e) { errors.push(e.message); }
      }
      try { await t.data(); errors.push('no error'); } catch (e) { errors.push(e.message); }
      const model = new k.Sequential([new k.Dense(2, { inputShape: [3] })]);
      try { await model.predict(t); errors.push('no error'); } catch (e) { errors.push(e.message); }
      console.log(JSON.stringify({ errors, moved: new Float32Array(moved)[5] }));`);
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    const { errors, moved } = JSON.parse(result.stdout);
    expect(errors).toHaveLength(5);
    for (const message of errors) expect(message).toMatch(/the Tensor's memory is gone: its ArrayBuffer was detached/);
    expect(moved).toBe(6);
  });

  test('a tensor keeps the typed array it borrows alive: dropped by the script and collected, its values stay', () => {
    // Each tensor's only reference to its memory is the borrowed array; the script keeps no other. After
    // forced collections and churn that would reuse freed memory, the tensors still read their values
    // (no copy was made: a write through the array before dropping it shows in the tensor).
    const result = child(`
      const make = (i) => {
        const values = Float32Array.from({ length: 4096 }, (_, j) => i * 10000 + j);
        const t = k.tensor(values, [64, 64]);
        values[0] = -i - 1; // borrowed, not copied
        return t;
      };
      const tensors = Array.from({ length: 50 }, (_, i) => make(i));
      for (let round = 0; round < 5; round++) {
        global.gc();
        const churn = Array.from({ length: 200 }, () => new Float32Array(4096).fill(7));
        churn.length = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const model = new k.Sequential([new k.Dense(1, { inputShape: [64], kernelInitializer: 'ones', useBias: false })]);
      const bad = [];
      for (let i = 0; i < tensors.length; i++) {
        const data = tensors[i].dataSync();
        if (data[0] !== -i - 1 || data[4095] !== i * 10000 + 4095) bad.push(i);
        const sum = (await model.predict(tensors[i])).dataSync()[0];
        let expected = -i - 1;
        for (let j = 1; j < 64; j++) expected += i * 10000 + j;
        if (Math.abs(sum - expected) > Math.abs(expected) * 1e-6) bad.push('predict ' + i);
      }
      console.log(JSON.stringify({ bad, count: tensors.length }));`);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ bad: [], count: 50 });
  });

  test('a tensor on a resizable ArrayBuffer that shrank is refused', () => {
    const result = child(`
      const buffer = new ArrayBuffer(24, { maxByteLength: 64 });
      const t = k.tensor(new Float32Array(buffer, 0, 6), [6]);
      const before = Array.from(t.dataSync());
      buffer.resize(8);
      let message = 'no error';
      try { t.dataSync(); } catch (e) { message = e.message; }
      console.log(JSON.stringify({ before, message }));`);
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    const { before, message } = JSON.parse(result.stdout);
    expect(before).toEqual([0, 0, 0, 0, 0, 0]);
    expect(message).toMatch(/its ArrayBuffer was shrunk/);
  });

  test('tensors disposed while their step waits behind another model, or right after data(), are read intact', () => {
    const result = child(`
      const x = () => k.tensor(Float32Array.from({ length: 32 * 32 * 32 * 3 }, (_, i) => Math.sin(i)), [32, 32, 32, 3]);
      const y = () => k.tensor(Float32Array.from({ length: 32 }, (_, i) => i % 2), [32, 1]);
      const make = () => {
        k.setSeed(3);
        const m = new k.Sequential([new k.Conv2D(8, 3, { inputShape: [32, 32, 3] }), new k.Flatten(), new k.Dense(1, { activation: 'sigmoid' })]);
        m.compile({ optimizer: 'sgd', loss: 'binary_crossentropy' });
        return m;
      };
      const reference = await make().trainOnBatch(x(), y());
      const busy = make();
      const model = make();
      const running = [busy.trainOnBatch(x(), y()), busy.trainOnBatch(x(), y())];
      const xs = x(), ys = y();
      const step = model.trainOnBatch(xs, ys); // queued behind busy's steps
      xs.dispose(); ys.dispose();
      for (let i = 0; i < 5; i++) { global.gc(); new Float32Array(1 << 20).fill(7); }
      const loss = await step;
      await Promise.all(running);
      const t = x();
      const pending = t.data();
      t.dispose();
      global.gc();
      const values = await pending;
      console.log(JSON.stringify({ same: loss === reference, first: values[1], length: values.length }));`);
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ same: true, first: Math.fround(Math.sin(1)), length: 32 * 32 * 32 * 3 });
  });
});

describe('exiting with steps queued or running', () => {
  const queue = `
    const m = new k.Sequential([new k.Conv2D(16, 3, { inputShape: [32, 32, 3] }), new k.Flatten(), new k.Dense(1, { activation: 'sigmoid' })]);
    m.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
    const x = k.tensor(new Float32Array(32 * 32 * 32 * 3).fill(0.5), [32, 32, 32, 3]);
    const y = k.tensor(new Float32Array(32).fill(1), [32, 1]);
    const steps = Array.from({ length: 12 }, () => m.trainOnBatch(x, y));`;

  test('process.exit() once a step has settled, with the rest queued, exits cleanly (5 times)', () => {
    for (let run = 0; run < 5; run++) {
      const result = child(`${queue}\n      await steps[0];\n      process.stdout.write('exiting');\n      process.exit(0);`);
      expect({ status: result.status, signal: result.signal, stderr: result.stderr, stdout: result.stdout }).toEqual({ status: 0, signal: null, stderr: '', stdout: 'exiting' });
    }
  });

  test('an uncaught exception during fit ends the process with its own error only', () => {
    const result = child(`${queue}
      const fit = m.fit(x, y, { epochs: 50, batchSize: 8, verbose: 0 });
      await steps[1];
      setImmediate(() => { throw new Error('thrown by the script'); });
      await fit;`);
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Error: thrown by the script/);
    expect(result.stderr).not.toMatch(/corrupted|double free|terminate called|Segmentation/);
  });
});

test('a typed array on a SharedArrayBuffer makes a tensor of a copy (another thread may write it at any time)', async () => {
  const { tensor } = await import('../../lib');
  const shared = new Float32Array(new SharedArrayBuffer(6 * 4));
  shared.set([1, 2, 3, 4, 5, 6]);
  const t = tensor(shared, [2, 3]);
  shared[0] = 100;
  expect(Array.from(t.dataSync() as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
});
