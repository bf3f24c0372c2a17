/**
 * Property-based fuzzing with fast-check: random options and shapes through layer construction, compile,
 * fit, predict, tensor creation and loadModel (random bytes and mutated valid files). The property: every
 * call either succeeds with the result its inputs call for (the shape, dtype and values of a tensor, a
 * history of as many epochs as asked, predictions of [samples, ...outputShape], a loaded model of the saved
 * shape) or is refused with the project's own error, which names the function (or the file) and says what
 * it expected and what it received; valid inputs must succeed, and each property must see both outcomes. A
 * crash would take the jest worker down and fail the suite. Fixed seeds and case counts; a property that
 * cannot run all its cases in time fails.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { Conv2D, Dense, Dropout, Flatten, loadModel, MaxPooling2D, Sequential, tensor, zeros } from '../../lib';

/* eslint-disable @typescript-eslint/no-explicit-any */
let tried = 0;

/** What a call must do: which error it may throw, whether it must succeed, and what its result must be. */
interface Expected<T> {
  /** The message of a refusal: the function's own "context: expected ... but received ..." form. */
  error: RegExp;
  /** The inputs are valid: the call must succeed. */
  valid?: boolean;
  /** Checks a successful call's result (and that the inputs allowed one). */
  success?: (result: T) => void | Promise<void>;
}

/** Per property: how many calls succeeded and how many were refused; each property needs both. */
class Outcomes {
  succeeded = 0;
  refused = 0;

  async run<T>(work: () => T | Promise<T>, expected: Expected<T>): Promise<T | undefined> {
    tried += 1;
    let result: T;
    try {
      result = await work();
    } catch (error) {
      expect(Object.prototype.toString.call(error)).toBe('[object Error]');
      const message = (error as Error).message;
      if (expected.valid) throw new Error(`a valid call was refused: ${message}`);
      expect(message).toMatch(expected.error);
      this.refused += 1;
      return undefined;
    }
    await expected.success?.(result);
    this.succeeded += 1;
    return result;
  }

  expectBoth(): void {
    expect({ succeeded: this.succeeded > 0, refused: this.refused > 0 }).toEqual({ succeeded: true, refused: true });
  }
}

/** An error in the project's form: who refused, then what was expected and what was received. */
const refusal = (who: string) => new RegExp(`^(${who})(?: '[^']*')?: (?:[a-z_]+: )?expected [^]+ but received [^]+$`);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const isPositiveInteger = (value: unknown) => Number.isInteger(value) && (value as number) > 0;

/** The shape nested arrays or a typed array give (null when ragged), as Keras and tfjs infer it. */
function shapeOfValues(values: any): number[] | null {
  if (ArrayBuffer.isView(values)) return [(values as Float32Array).length];
  const shape: number[] = [];
  for (let level = values; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const rectangular = (value: any, axis: number): boolean =>
    axis === shape.length ? typeof value === 'number' : Array.isArray(value) && value.length === shape[axis] && value.every((v) => rectangular(v, axis + 1));
  return rectangular(values, 0) ? shape : null;
}

/** The shape a requested shape resolves to for `size` values (one -1 is inferred), or null when it cannot hold them. */
function resolvedShape(shape: number[], size: number): number[] | null {
  if (!shape.every((d) => Number.isInteger(d) && d >= -1) || shape.filter((d) => d === -1).length > 1) return null;
  const known = product(shape.filter((d) => d !== -1));
  const resolved = shape.includes(-1) ? (known > 0 && size % known === 0 ? shape.map((d) => (d === -1 ? size / known : d)) : null) : shape;
  return resolved && product(resolved) === size ? resolved : null;
}

const DTYPES = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'];

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
  const outcomes = new Outcomes();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.array(fc.double(), { maxLength: 24 }), fc.array(fc.array(fc.integer(), { maxLength: 4 }), { maxLength: 4 }), fc.float32Array({ maxLength: 24 }) as fc.Arbitrary<any>),
      fc.option(oddShape, { nil: undefined }),
      fc.option(fc.constantFrom('float32', 'float64', 'int32', 'int64', 'uint8', 'bool', 'float16'), { nil: undefined }),
      async (values, shape, dtype) => {
        const flat: number[] = ArrayBuffer.isView(values) ? Array.from(values as Float32Array) : (values as any[]).flat(Infinity);
        const inferred = shapeOfValues(values);
        const expectedShape = inferred && (shape === undefined ? inferred : resolvedShape(shape, flat.length));
        const dtypeValid = dtype === undefined || DTYPES.includes(dtype);
        const expectedDtype = dtype ?? 'float32';
        await outcomes.run(
          () => {
            const t = tensor(values as any, shape as any, dtype as any);
            return { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.dataSync() as Float32Array), flat: [...t.reshape([-1]).shape], dispose: () => t.dispose() };
          },
          {
            error: refusal('tensor'),
            // Float dtypes hold any double: rectangular values in a shape that fits them must be taken.
            valid: expectedShape !== null && (dtype === undefined || dtype === 'float32' || dtype === 'float64'),
            success: (t) => {
              expect({ shape: t.shape, dtype: t.dtype, flat: t.flat }).toEqual({ shape: expectedShape, dtype: expectedDtype, flat: [flat.length] });
              expect(dtypeValid).toBe(true);
              if (expectedDtype === 'float32') expect(t.data).toEqual(flat.map(Math.fround));
              else if (expectedDtype === 'float64') expect(t.data).toEqual(flat);
              else expect(t.data).toHaveLength(flat.length);
              t.dispose();
            },
          },
        );
        const shapeValid = Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0);
        await outcomes.run(() => zeros(shape as any, dtype as any), {
          error: refusal('zeros'),
          // A shape of at most a million values always fits in memory.
          valid: shapeValid && dtypeValid && product(shape!) <= 1e6,
          success: (t) => {
            expect({ shape: [...t.shape], dtype: t.dtype, valid: shapeValid && dtypeValid }).toEqual({ shape, dtype: dtype ?? 'float32', valid: true });
            if (t.size <= 1000) expect(Array.from(t.dataSync() as Float32Array).every((v) => Number(v) === 0)).toBe(true);
            t.dispose();
          },
        });
      },
    ),
    // Besides the random cases: NaN and infinities, which int64 cannot hold, must be refused in the project's words.
    { ...settings(1, 300), examples: [[[NaN, 1], undefined, 'int64'], [[Infinity], [1], 'int64']] as any },
  );
  outcomes.expectBoth();
});

test('random layer stacks, compile, fit and predict', async () => {
  const outcomes = new Outcomes();
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
        const model = await outcomes.run(
          () => {
            const built = new Sequential();
            specs.forEach((spec: any, i) => {
              const first = i === 0 ? { inputShape } : {};
              if (spec.kind === 'dense') built.add(new Dense(spec.units, { ...first, activation: spec.activation }));
              else if (spec.kind === 'conv') built.add(new Conv2D(spec.filters, spec.kernel, { ...first, padding: spec.padding }));
              else if (spec.kind === 'pool') built.add(new MaxPooling2D(spec.size, first));
              else if (spec.kind === 'dropout') built.add(new Dropout(spec.rate, first));
              else built.add(new Flatten(first));
            });
            built.compile({ optimizer: optimizer as any, loss, metrics: ['accuracy'] });
            return built;
          },
          {
            error: refusal('Dense|Conv2D|MaxPooling2D|Dropout|Flatten|compile'),
            // Built: every option was valid, and every layer is there.
            success: (built) => {
              expect(built.layers).toHaveLength(specs.length);
              const size = (value: unknown) => isPositiveInteger(value) || (Array.isArray(value) && value.length === 2 && value.every(isPositiveInteger));
              for (const spec of specs as any[]) {
                if (spec.kind === 'dense') expect({ units: spec.units, valid: isPositiveInteger(spec.units) && spec.activation !== 'nope' }).toEqual({ units: spec.units, valid: true });
                if (spec.kind === 'conv') expect({ spec, valid: isPositiveInteger(spec.filters) && size(spec.kernel) && spec.padding !== 'full' }).toEqual({ spec, valid: true });
                if (spec.kind === 'pool') expect({ spec, valid: size(spec.size) }).toEqual({ spec, valid: true });
                if (spec.kind === 'dropout') expect({ spec, valid: typeof spec.rate === 'number' && spec.rate >= 0 && spec.rate < 1 }).toEqual({ spec, valid: true });
              }
            },
          },
        );
        if (!model) return;
        const outputShape = model.outputShape as number[];
        const size = product(inputShape);
        const outputs = product(outputShape);
        const x = tensor(Float32Array.from({ length: samples * size }, (_, i) => Math.sin(i)), [samples, ...inputShape]);
        const y = tensor(Float32Array.from({ length: samples * outputs }, (_, i) => i % 2), [samples, ...outputShape]);
        const options = fitOptions as any;
        const call = refusal('fit|predict|evaluate|Dense|Conv2D|MaxPooling2D|Dropout');
        await outcomes.run(() => model.fit(x, y, { ...options, verbose: 0 }), {
          error: call,
          // Trained: the options were valid, and each epoch logged its loss.
          success: (history) => {
            expect({
              samples,
              epochs: options.epochs === undefined || isPositiveInteger(options.epochs),
              batchSize: options.batchSize == null || isPositiveInteger(options.batchSize), // null: Keras's default, as batch_size=None
              validationSplit: options.validationSplit === undefined || options.validationSplit === 0.5,
            }).toEqual({ samples: expect.any(Number), epochs: true, batchSize: true, validationSplit: true });
            expect(samples).toBeGreaterThan(0);
            expect(history.history.loss).toHaveLength(options.epochs ?? 1);
          },
        });
        await outcomes.run(() => model.predict(x), {
          error: call,
          success: (prediction) => expect([...(prediction as any).shape]).toEqual([samples, ...outputShape]),
        });
        await outcomes.run(() => model.evaluate(x, y, { verbose: 0 }), {
          error: call,
          success: (result) => {
            expect(samples).toBeGreaterThan(0);
            const [lossValue, accuracy] = result as number[];
            expect(result).toHaveLength(2);
            expect(typeof lossValue).toBe('number');
            expect(accuracy >= 0 && accuracy <= 1).toBe(true);
          },
        });
      },
    ),
    settings(2, 120),
  );
  outcomes.expectBoth();
});

test('valid Dense stacks always compile, fit, predict and evaluate, with results of the expected shapes', async () => {
  const outcomes = new Outcomes();
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.record({ units: fc.integer({ min: 1, max: 8 }), activation: fc.constantFrom('relu', 'sigmoid', 'tanh', 'linear', 'softmax') }), { minLength: 1, maxLength: 3 }),
      fc.constantFrom('mse', 'mae', 'binary_crossentropy', 'hinge'),
      fc.constantFrom('adam', 'sgd', 'rmsprop', 'adamw', 'adagrad', 'nadam', 'adamax', 'lion'),
      fc.record({ batchSize: fc.integer({ min: 1, max: 8 }), epochs: fc.integer({ min: 1, max: 2 }) }),
      fc.integer({ min: 1, max: 5 }),
      async (features, specs, loss, optimizer, fitOptions, samples) => {
        const units = specs[specs.length - 1].units;
        const model = new Sequential(specs.map((spec, i) => new Dense(spec.units, { ...(i === 0 ? { inputShape: [features] } : {}), activation: spec.activation as any })));
        model.compile({ optimizer: optimizer as any, loss, metrics: ['accuracy'] });
        const x = tensor(Float32Array.from({ length: samples * features }, (_, i) => Math.sin(i)), [samples, features]);
        const y = tensor(Float32Array.from({ length: samples * units }, (_, i) => i % 2), [samples, units]);
        const never = /^$/;
        await outcomes.run(() => model.fit(x, y, { ...fitOptions, verbose: 0 }), {
          error: never,
          valid: true,
          success: (history) => expect(history.history.loss).toHaveLength(fitOptions.epochs),
        });
        await outcomes.run(() => model.predict(x), { error: never, valid: true, success: (p) => expect([...(p as any).shape]).toEqual([samples, units]) });
        await outcomes.run(() => model.evaluate(x, y, { verbose: 0 }), { error: never, valid: true, success: (r) => expect(r).toHaveLength(2) });
      },
    ),
    settings(6, 40),
  );
  expect(outcomes.succeeded).toBe(3 * 40);
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

  const file = () => path.join(dir, 'fuzzed.safetensors');
  /**
   * Loads `bytes` as a model file: a refusal names the file; a model that loads is the saved one's shape
   * (a Conv2D over 5x5x1 images to a Dense of 2 units) and predicts one row of 2 values per image.
   */
  const load = (outcomes: Outcomes, bytes: Uint8Array, valid = false) => {
    fs.writeFileSync(file(), bytes);
    return outcomes.run(() => loadModel(file()), {
      error: new RegExp(`^${escapeRegExp(file())}: [^]+$`),
      valid,
      success: async (model) => {
        expect({ inputShape: model.inputShape, outputShape: model.outputShape }).toEqual({ inputShape: [5, 5, 1], outputShape: [2] });
        const prediction = await model.predict(zeros([1, 5, 5, 1]));
        expect([...(prediction as any).shape]).toEqual([1, 2]);
      },
    });
  };

  test('the valid file loads', async () => {
    const outcomes = new Outcomes();
    await load(outcomes, valid, true);
    expect(outcomes.succeeded).toBe(1);
  });

  test('random bytes: every one is refused', async () => {
    const outcomes = new Outcomes();
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
      await load(outcomes, bytes);
    }), settings(3, 150));
    expect({ succeeded: outcomes.succeeded, refused: outcomes.refused }).toEqual({ succeeded: 0, refused: 150 });
  });

  test('byte flips, truncations and splices of a valid file', async () => {
    const outcomes = new Outcomes();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (flips, cut) => {
          const bytes = Buffer.from(valid);
          for (const [position, value] of flips) bytes[position % bytes.length] = value;
          await load(outcomes, cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length));
        },
      ),
      settings(4, 250),
    );
    outcomes.expectBoth();
  });

  test('mutated header JSON: random dtypes, shapes, offsets and config numbers', async () => {
    const outcomes = new Outcomes();
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
          await load(outcomes, Buffer.concat([prefix, json, data]));
        },
      ),
      settings(5, 250),
    );
    outcomes.expectBoth();
  });
});

afterAll(() => {
  // eslint-disable-next-line no-console
  console.log(`fuzz: ${tried} calls, each refused with its own error or giving the expected result`);
});
