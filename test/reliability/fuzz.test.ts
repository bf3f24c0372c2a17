/**
 * Property-based fuzzing with fast-check: random options and shapes through layer construction, compile,
 * fit, predict, tensor creation and loadModel (random bytes and mutated valid files). The property: every
 * call either succeeds or throws an Error with a message — a crash would take the jest worker down and
 * fail the suite. Fixed seeds and case counts; a property that cannot run all its cases in time fails.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { Conv2D, Dense, Dropout, Flatten, loadModel, MaxPooling2D, Sequential, tensor, zeros } from '../../lib';

/* eslint-disable @typescript-eslint/no-explicit-any */
let tried = 0;

/** Runs `work`; an Error with a message is an acceptable outcome, anything else thrown is not. */
async function errorOrSuccess(work: () => unknown): Promise<void> {
  tried += 1;
  try {
    await work();
  } catch (error) {
    expect(Object.prototype.toString.call(error)).toBe('[object Error]');
    expect((error as Error).message.length).toBeGreaterThan(0);
  }
}

/** Every one of `numRuns` cases runs: a run cut short by the time bound fails rather than passing on fewer. */
const settings = (seed: number, numRuns: number) => ({ seed, numRuns, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true });

/** Odd values for a numeric option. */
const oddNumber = fc.oneof(
  fc.integer({ min: -3, max: 70 }),
  fc.constantFrom(NaN, Infinity, -Infinity, 0.5, 1e9, -0, 2 ** 31),
  fc.double({ noNaN: false }),
  fc.constantFrom('3', null, undefined, [2, 2], {}, true) as fc.Arbitrary<any>,
);
/** Odd values for a layer size: the same, minus sizes that would make libtorch allocate gigabytes (a user's own request). */
const oddSize = fc.oneof(
  fc.integer({ min: -3, max: 70 }),
  fc.constantFrom(NaN, Infinity, -Infinity, 0.5, -0, '3', null, undefined, [2, 2], {}, true) as fc.Arbitrary<any>,
);
const oddShape = fc.array(fc.oneof(fc.integer({ min: -1, max: 9 }), fc.constantFrom(NaN, 1e9, 0.5)), { minLength: 0, maxLength: 5 });

test('tensor creation with random values, shapes and dtypes', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.array(fc.double(), { maxLength: 24 }), fc.array(fc.array(fc.integer(), { maxLength: 4 }), { maxLength: 4 }), fc.float32Array({ maxLength: 24 }) as fc.Arbitrary<any>),
      fc.option(oddShape, { nil: undefined }),
      fc.option(fc.constantFrom('float32', 'float64', 'int32', 'int64', 'uint8', 'bool', 'float16'), { nil: undefined }),
      async (values, shape, dtype) => {
        await errorOrSuccess(() => {
          const t = tensor(values as any, shape as any, dtype as any);
          t.dataSync();
          t.reshape([-1]);
          t.dispose();
        });
        await errorOrSuccess(() => zeros(shape as any, dtype as any).dispose());
      },
    ),
    settings(1, 300),
  );
});

test('random layer stacks, compile, fit and predict', async () => {
  const layer = fc.oneof(
    fc.record({ kind: fc.constant('dense'), units: oddSize, activation: fc.constantFrom('relu', 'softmax', 'sigmoid', 'nope', undefined) }),
    fc.record({ kind: fc.constant('conv'), filters: oddSize, kernel: fc.oneof(oddSize, fc.tuple(oddSize, oddSize)), padding: fc.constantFrom('same', 'valid', 'full') }),
    fc.record({ kind: fc.constant('pool'), size: oddSize }),
    fc.record({ kind: fc.constant('dropout'), rate: oddNumber }),
    fc.record({ kind: fc.constant('flatten') }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
      fc.array(layer, { minLength: 1, maxLength: 4 }),
      fc.constantFrom('mse', 'mae', 'binary_crossentropy', 'categorical_crossentropy', 'sparse_categorical_crossentropy', 'hinge'),
      fc.constantFrom('adam', 'sgd', 'rmsprop', 'adamw', 'adagrad', 'nadam', 'adamax', 'lion', 'adadelta'),
      fc.record({ batchSize: oddNumber, epochs: fc.oneof(fc.constant(1), oddNumber), validationSplit: fc.constantFrom(undefined, 0.5, 1, NaN) }),
      fc.integer({ min: 0, max: 5 }),
      async (inputShape, specs, loss, optimizer, fitOptions, samples) => {
        let model: Sequential | undefined;
        await errorOrSuccess(() => {
          model = new Sequential();
          specs.forEach((spec: any, i) => {
            const first = i === 0 ? { inputShape } : {};
            if (spec.kind === 'dense') model!.add(new Dense(spec.units, { ...first, activation: spec.activation }));
            else if (spec.kind === 'conv') model!.add(new Conv2D(spec.filters, spec.kernel, { ...first, padding: spec.padding }));
            else if (spec.kind === 'pool') model!.add(new MaxPooling2D(spec.size, first));
            else if (spec.kind === 'dropout') model!.add(new Dropout(spec.rate, first));
            else model!.add(new Flatten(first));
          });
          model.compile({ optimizer: optimizer as any, loss, metrics: ['accuracy'] });
        });
        if (!model || model.layers.length === 0) return;
        const size = inputShape.reduce((a, b) => a * b, 1);
        const outputs = model.outputShape?.reduce((a, b) => a * b, 1) ?? 1;
        const x = tensor(Float32Array.from({ length: samples * size }, (_, i) => Math.sin(i)), [samples, ...inputShape]);
        const y = tensor(Float32Array.from({ length: samples * outputs }, (_, i) => i % 2), [samples, ...(model.outputShape ?? [1])]);
        await errorOrSuccess(() => model!.fit(x, y, { ...(fitOptions as any), verbose: 0 }));
        await errorOrSuccess(() => model!.predict(x));
        await errorOrSuccess(() => model!.evaluate(x, y, { verbose: 0 }));
      },
    ),
    settings(2, 120),
  );
});

describe('loadModel on random and mutated files', () => {
  let dir: string;
  let valid: Buffer;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-fuzz-'));
    const model = new Sequential([new Conv2D(2, 3, { inputShape: [5, 5, 1] }), new Flatten(), new Dense(2)]);
    model.compile({ optimizer: 'adam', loss: 'mse' });
    await model.trainOnBatch(zeros([1, 5, 5, 1]), zeros([1, 2]));
    await model.save(path.join(dir, 'valid.safetensors'));
    valid = fs.readFileSync(path.join(dir, 'valid.safetensors'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const load = (bytes: Uint8Array) => errorOrSuccess(async () => {
    const file = path.join(dir, 'fuzzed.safetensors');
    fs.writeFileSync(file, bytes);
    const model = await loadModel(file);
    await model.predict(zeros([1, ...(model.inputShape ?? [1])]));
  });

  test('random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), load), settings(3, 150));
  });

  test('byte flips, truncations and splices of a valid file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (flips, cut) => {
          const bytes = Buffer.from(valid);
          for (const [position, value] of flips) bytes[position % bytes.length] = value;
          await load(cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length));
        },
      ),
      settings(4, 250),
    );
  });

  test('mutated header JSON: random dtypes, shapes, offsets and config numbers', async () => {
    const length = Number(valid.readBigUInt64LE(0));
    const header = JSON.parse(valid.subarray(8, 8 + length).toString('utf8'));
    const data = valid.subarray(8 + length);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.constantFrom('dtype', 'shape', 'data_offsets', 'config'),
        fc.oneof(fc.constantFrom('F32', 'I64', 'U8', 'F16', 'BOOL', 7), oddShape, fc.tuple(fc.integer({ min: -10, max: 5000 }), fc.integer({ min: -10, max: 5000 })), oddNumber),
        async (name, field, value) => {
          const mutated = JSON.parse(JSON.stringify(header));
          if (field === 'config') {
            const config = JSON.parse(mutated.__metadata__.config);
            const layer = config.layers[Math.abs(Number(JSON.stringify(value)?.length ?? 0)) % config.layers.length];
            for (const key of ['filters', 'units', 'kernelSize', 'inputShape']) if (key in layer.config) layer.config[key] = value;
            mutated.__metadata__.config = JSON.stringify(config);
          } else {
            mutated[name][field] = value;
          }
          const json = Buffer.from(JSON.stringify(mutated));
          const prefix = Buffer.alloc(8);
          prefix.writeBigUInt64LE(BigInt(json.length));
          await load(Buffer.concat([prefix, json, data]));
        },
      ),
      settings(5, 250),
    );
  });
});

afterAll(() => {
  // eslint-disable-next-line no-console
  console.log(`fuzz: ${tried} calls, no crash`);
});
