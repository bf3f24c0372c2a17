import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Adam, Dense, InputLayer, LearningRateScheduler, loadModel, Nadam, optimizers, ReduceLROnPlateau, Sequential, SGD, tensor } from '../lib';
import { readSafetensors, writeSafetensors } from '../lib/io/safetensors';
import { expectClose, seededRandom, values } from './helpers';

const { ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay, CosineDecayRestarts } = optimizers.schedules;

// Keras 3's formulas (keras/src/optimizers/schedules/learning_rate_schedule.py), written out.
const keras = {
  exponential: (initial: number, decaySteps: number, rate: number, staircase: boolean) => (step: number) => {
    const p = step / decaySteps;
    return initial * rate ** (staircase ? Math.floor(p) : p);
  },
  piecewise: (boundaries: number[], values: number[]) => (step: number) => {
    const i = boundaries.findIndex((b) => step <= b);
    return values[i === -1 ? values.length - 1 : i];
  },
  polynomial: (initial: number, decaySteps: number, end: number, power: number, cycle: boolean) => (step: number) => {
    let steps = decaySteps;
    if (cycle) steps = decaySteps * (step === 0 ? 1 : Math.ceil(step / decaySteps));
    else step = Math.min(step, decaySteps);
    return (initial - end) * (1 - step / steps) ** power + end;
  },
  inverseTime: (initial: number, decaySteps: number, rate: number, staircase: boolean) => (step: number) => {
    const p = step / decaySteps;
    return initial / (1 + rate * (staircase ? Math.floor(p) : p));
  },
  cosine: (initial: number, decaySteps: number, alpha: number, warmupTarget: number | null, warmupSteps: number) => (step: number) => {
    const decay = (s: number, from: number) => from * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * s) / decaySteps)) + alpha);
    if (warmupTarget === null) return decay(Math.min(step, decaySteps), initial);
    step = Math.min(step, decaySteps + warmupSteps);
    if (step < warmupSteps) return (warmupTarget - initial) * (step / warmupSteps) + initial;
    return decay(step - warmupSteps, warmupTarget);
  },
  cosineRestarts: (initial: number, first: number, tMul: number, mMul: number, alpha: number) => (step: number) => {
    let fraction = step / first;
    let restart: number;
    if (tMul === 1) {
      restart = Math.floor(fraction);
      fraction -= restart;
    } else {
      restart = Math.floor(Math.log(1 - fraction * (1 - tMul)) / Math.log(tMul));
      const sum = (1 - tMul ** restart) / (1 - tMul);
      fraction = (fraction - sum) / tMul ** restart;
    }
    const cosine = 0.5 * mMul ** restart * (1 + Math.cos(Math.PI * fraction));
    return initial * ((1 - alpha) * cosine + alpha);
  },
};

const STEPS = [0, 1, 2, 5, 9, 10, 11, 17, 30, 55, 100, 1000];

describe('learning-rate schedules', () => {
  test.each([
    ['ExponentialDecay', new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }), keras.exponential(0.1, 10, 0.5, false)],
    ['ExponentialDecay staircase', new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true }), keras.exponential(0.1, 10, 0.5, true)],
    ['PiecewiseConstantDecay', new PiecewiseConstantDecay({ boundaries: [10, 30], values: [1, 0.5, 0.1] }), keras.piecewise([10, 30], [1, 0.5, 0.1])],
    ['PolynomialDecay', new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 20, endLearningRate: 0.01, power: 2 }), keras.polynomial(0.1, 20, 0.01, 2, false)],
    ['PolynomialDecay default end and power', new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 20 }), keras.polynomial(0.1, 20, 0.0001, 1, false)],
    ['PolynomialDecay cycle', new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 20, endLearningRate: 0.01, power: 0.5, cycle: true }), keras.polynomial(0.1, 20, 0.01, 0.5, true)],
    ['InverseTimeDecay', new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 5, decayRate: 0.5 }), keras.inverseTime(0.1, 5, 0.5, false)],
    ['InverseTimeDecay staircase', new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 5, decayRate: 0.5, staircase: true }), keras.inverseTime(0.1, 5, 0.5, true)],
    ['CosineDecay', new CosineDecay({ initialLearningRate: 0.1, decaySteps: 40, alpha: 0.1 }), keras.cosine(0.1, 40, 0.1, null, 0)],
    ['CosineDecay with warm-up', new CosineDecay({ initialLearningRate: 0, decaySteps: 40, warmupTarget: 0.2, warmupSteps: 10 }), keras.cosine(0, 40, 0, 0.2, 10)],
    ['CosineDecayRestarts', new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10 }), keras.cosineRestarts(0.1, 10, 2, 1, 0)],
    ['CosineDecayRestarts tMul 1, mMul 0.5', new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10, tMul: 1, mMul: 0.5, alpha: 0.2 }), keras.cosineRestarts(0.1, 10, 1, 0.5, 0.2)],
  ])('%s equals the formula at chosen steps', (_name, schedule, formula) => {
    const expected = STEPS.map(formula);
    // The schedule actually changes over these steps.
    expect(new Set(expected.map((v) => v.toFixed(12))).size).toBeGreaterThan(2);
    expectClose(STEPS.map((step) => schedule.call(step)), expected, 1e-12);
  });

  test("Keras's positional form: required arguments in order, then the options", () => {
    const pairs = [
      [new ExponentialDecay(0.1, 10, 0.5, { staircase: true }), new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true })],
      [new PiecewiseConstantDecay([10, 30], [1, 0.5, 0.1]), new PiecewiseConstantDecay({ boundaries: [10, 30], values: [1, 0.5, 0.1] })],
      [new PolynomialDecay(0.1, 20, { power: 2 }), new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 20, power: 2 })],
      [new InverseTimeDecay(0.1, 5, 0.5), new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 5, decayRate: 0.5 })],
      [new CosineDecay(0, 40, { warmupTarget: 0.2, warmupSteps: 10 }), new CosineDecay({ initialLearningRate: 0, decaySteps: 40, warmupTarget: 0.2, warmupSteps: 10 })],
      [new CosineDecayRestarts(0.1, 10, { tMul: 1 }), new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10, tMul: 1 })],
    ];
    for (const [positional, named] of pairs) expect(positional.getConfig()).toEqual(named.getConfig());
    expect(new PolynomialDecay(0.1, 20).getConfig()).toEqual({ initialLearningRate: 0.1, decaySteps: 20, endLearningRate: 0.0001, power: 1, cycle: false });
    expect(() => new ExponentialDecay(0.1, 10, 0.5, 'staircase' as never)).toThrow(/ExponentialDecay: expected options to be an options object but received "staircase"/);
  });

  test('an optimizer follows its schedule at every step: SGD moves by the scheduled rate times the gradient', async () => {
    const schedule = new ExponentialDecay({ initialLearningRate: 0.2, decaySteps: 1, decayRate: 0.5 });
    const optimizer = new SGD({ learningRate: schedule });
    expect(optimizer.learningRate).toBeCloseTo(0.2, 12);
    // y = w x with mse on one sample: gradient 2 x (w x - y).
    const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1, { useBias: false })]);
    model.compile({ optimizer, loss: 'mse' });
    model.setWeights([[[1]]]);
    let w = 1;
    for (let step = 0; step < 4; step++) {
      expect(optimizer.iterations).toBe(step);
      expect(optimizer.learningRate).toBeCloseTo(0.2 * 0.5 ** step, 7);
      await model.trainOnBatch(tensor([[2]]), tensor([[1]]));
      w -= 0.2 * 0.5 ** step * 2 * 2 * (w * 2 - 1);
      expectClose(values(model.getWeights()[0]), [w], 1e-6);
    }
    expect(optimizer.iterations).toBe(4);
  });

  test('the schedule and the step count survive save and load: N steps, save, load, M steps equals N + M steps', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-schedules-'));
    try {
      const random = seededRandom(7);
      const x = tensor(Array.from({ length: 16 }, () => [random(), random(), random()]));
      const y = tensor(Array.from({ length: 16 }, () => [random()]));
      const build = () => {
        const model = new Sequential([new InputLayer({ inputShape: [3] }), new Dense(4, { activation: 'tanh' }), new Dense(1)]);
        const learningRate = new CosineDecayRestarts({ initialLearningRate: 0.05, firstDecaySteps: 2, tMul: 1.5, mMul: 0.8 });
        model.compile({ optimizer: new Nadam({ learningRate, clipnorm: 0.5, weightDecay: 0.01 }), loss: 'mse' });
        return model;
      };
      const uninterrupted = build();
      const resumed = build();
      resumed.setWeights(uninterrupted.getWeights());
      for (let i = 0; i < 5; i++) await uninterrupted.trainOnBatch(x, y);
      for (let i = 0; i < 3; i++) await resumed.trainOnBatch(x, y);
      const file = path.join(tmp, 'resume.safetensors');
      await resumed.save(file);
      const loaded = await loadModel(file);
      expect(loaded.optimizer!.learningRateSchedule).toBeInstanceOf(CosineDecayRestarts);
      expect(loaded.optimizer!.iterations).toBe(3);
      expect(loaded.optimizer!.learningRate).toBeCloseTo(keras.cosineRestarts(0.05, 2, 1.5, 0.8, 0)(3), 7);
      for (let i = 0; i < 2; i++) await loaded.trainOnBatch(x, y);
      expect(loaded.optimizer!.iterations).toBe(5);
      const expected = uninterrupted.getWeights().map(values).flat();
      expect(loaded.getWeights().map(values).flat()).toEqual(expected);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('a file without the step count (an older one) resumes from its weights\' optimizer steps', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-schedules-'));
    try {
      const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1)]);
      model.compile({ optimizer: new Adam({ learningRate: new ExponentialDecay(0.1, 1, 0.5) }), loss: 'mse' });
      for (let i = 0; i < 3; i++) await model.trainOnBatch(tensor([[1], [2]]), tensor([[0], [1]]));
      const file = path.join(tmp, 'older.safetensors');
      await model.save(file);
      const stored = await readSafetensors(file);
      expect(stored.tensors.delete('optimizer/iterations')).toBe(true);
      await writeSafetensors(file, stored.tensors, stored.metadata);
      const loaded = await loadModel(file);
      expect(loaded.optimizer!.iterations).toBe(3);
      expect(loaded.optimizer!.learningRate).toBeCloseTo(0.1 * 0.5 ** 3, 9);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('callbacks that set the learning rate refuse a scheduled one, naming the schedule', async () => {
    const build = () => {
      const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1)]);
      model.compile({ optimizer: new SGD({ learningRate: new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 1 }) }), loss: 'mse' });
      return model;
    };
    const x = tensor([[1], [2]]);
    const y = tensor([[0], [1]]);
    await expect(build().fit(x, y, { epochs: 1, verbose: 0, callbacks: [new LearningRateScheduler((_epoch, rate) => rate / 2)] })).rejects.toThrow(
      /LearningRateScheduler: the optimizer's learning rate follows the InverseTimeDecay schedule, which this callback cannot change/,
    );
    await expect(build().fit(x, y, { epochs: 1, verbose: 0, callbacks: [new ReduceLROnPlateau({ monitor: 'loss' })] })).rejects.toThrow(
      /ReduceLROnPlateau: the optimizer's learning rate follows the InverseTimeDecay schedule/,
    );
    const optimizer = build().optimizer!;
    expect(() => {
      optimizer.learningRate = 0.01;
    }).toThrow(/SGD: the learning rate follows the InverseTimeDecay schedule and cannot be set/);
  });

  test('bad arguments name the schedule, the argument and what was received', () => {
    expect(() => new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 })).toThrow(
      /ExponentialDecay: expected decaySteps to be a number in \(0, Infinity\] but received 0/,
    );
    expect(() => new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10 } as never)).toThrow(/ExponentialDecay: expected decayRate to be given but received undefined/);
    expect(() => new PiecewiseConstantDecay({ boundaries: [10, 5], values: [1, 2, 3] })).toThrow(
      /PiecewiseConstantDecay: expected boundaries to be an array of increasing finite numbers but received \[10, 5\]/,
    );
    expect(() => new PiecewiseConstantDecay({ boundaries: [10], values: [1] })).toThrow(/PiecewiseConstantDecay: expected values to be an array of 2 numbers/);
    expect(() => new CosineDecay({ initialLearningRate: 0.1, decaySteps: 10, alpha: 2 })).toThrow(/CosineDecay: expected alpha to be a number in \[0, 1\] but received 2/);
    expect(() => new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10, cycle: 1 } as never)).toThrow(/PolynomialDecay: expected cycle to be a boolean but received 1/);
    expect(() => new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10, warmup: 3 } as never)).toThrow(/CosineDecayRestarts: expected options among/);
    expect(() => new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 }).call(-1)).toThrow(
      /ExponentialDecay: expected step to be a number in \[0, Infinity\] but received -1/,
    );
  });
});
