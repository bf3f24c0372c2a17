import { LambdaCallback, LearningRateScheduler, ReduceLROnPlateau } from '../../lib/callbacks';
import { flat, regressionData, regressionModel } from './data';

const [x, y] = regressionData();

function fakeModel(learningRate = 1) {
  return { stopTraining: false, getWeights: () => [], setWeights: () => undefined, optimizer: { learningRate } };
}

describe('ReduceLROnPlateau', () => {
  /** The learning rate after each epoch of `series`. */
  function drive(callback: ReduceLROnPlateau, series: number[], monitor = 'val_loss', model = fakeModel()): number[] {
    callback.setModel(model);
    callback.onTrainBegin();
    return series.map((value, epoch) => {
      callback.onEpochEnd(epoch, { [monitor]: value });
      return model.optimizer.learningRate;
    });
  }

  test('reduces the rate by factor after patience epochs without improvement, and again after as many more', () => {
    expect(drive(new ReduceLROnPlateau({ patience: 2, factor: 0.5 }), [1, 1, 1, 1, 1, 0.5, 0.5])).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25, 0.25]);
  });

  test('minDelta, cooldown, minLr and mode', () => {
    // 1e-4 below the best is not enough to count as improvement by default.
    expect(drive(new ReduceLROnPlateau({ patience: 1, factor: 0.5 }), [1, 0.99995])).toEqual([1, 0.5]);
    expect(drive(new ReduceLROnPlateau({ patience: 1, factor: 0.5, minDelta: 0 }), [1, 0.99995])).toEqual([1, 1]);
    // Keras counts the cooldown down at the start of each epoch's check: the epoch that reaches 0 waits again.
    expect(drive(new ReduceLROnPlateau({ patience: 1, factor: 0.5, cooldown: 2 }), [1, 1, 1, 1, 1, 1])).toEqual([1, 0.5, 0.5, 0.25, 0.25, 0.125]);
    expect(drive(new ReduceLROnPlateau({ patience: 1, factor: 0.5, cooldown: 0 }), [1, 1, 1, 1])).toEqual([1, 0.5, 0.25, 0.125]);
    expect(drive(new ReduceLROnPlateau({ patience: 1, factor: 0.1, minLr: 0.05 }), [1, 1, 1, 1])).toEqual([1, 0.1, 0.05, 0.05]);
    const accuracy = new ReduceLROnPlateau({ monitor: 'val_accuracy', patience: 1, factor: 0.5 });
    expect(accuracy.mode).toBe('max');
    expect(drive(accuracy, [0.5, 0.6, 0.55], 'val_accuracy')).toEqual([1, 1, 0.5]);
  });

  test('logs the rate the epoch trained with, under Keras 3\'s and Keras 2\'s names', () => {
    const callback = new ReduceLROnPlateau({ patience: 0, factor: 0.5, monitor: 'loss' });
    const model = fakeModel(0.2);
    callback.setModel(model);
    const logs: Record<string, number> = { loss: 1 };
    callback.onEpochEnd(0, logs);
    expect(logs).toEqual({ loss: 1, learning_rate: 0.2, lr: 0.2 });
  });

  test('in fit: model.optimizer.learningRate follows and History records the rate', async () => {
    const model = regressionModel(0.05);
    // A minDelta no change can meet: only the first epoch improves.
    const callback = new ReduceLROnPlateau({ monitor: 'loss', minDelta: 10, patience: 2, factor: 0.5 });
    const history = await model.fit(x, y, { epochs: 5, batchSize: 16, verbose: 0, callbacks: [callback] });
    const expected = [0.05, 0.05, 0.05, 0.025, 0.025];
    expect(history.history.learning_rate).toHaveLength(expected.length);
    history.history.learning_rate.forEach((rate, i) => expect(rate).toBeCloseTo(expected[i], 12));
    expect(history.history.lr).toHaveLength(expected.length);
    history.history.lr.forEach((rate, i) => expect(rate).toBeCloseTo(expected[i], 12));
    expect(model.optimizer!.learningRate).toBeCloseTo(0.0125, 12);
  });

  test('bad options are rejected with the argument, the expectation and the value', () => {
    expect(() => new ReduceLROnPlateau({ factor: 1 })).toThrow('ReduceLROnPlateau: expected factor to be a number in (0, 1) but received 1');
    expect(() => new ReduceLROnPlateau({ factor: 0 })).toThrow('ReduceLROnPlateau: expected factor to be a number in (0, 1) but received 0');
    expect(() => new ReduceLROnPlateau({ patience: -1 })).toThrow('ReduceLROnPlateau: expected patience to be a non-negative integer but received -1');
    expect(() => new ReduceLROnPlateau({ cooldown: 0.5 })).toThrow('ReduceLROnPlateau: expected cooldown to be a non-negative integer but received 0.5');
    expect(() => new ReduceLROnPlateau({ minLr: -1 })).toThrow('ReduceLROnPlateau: expected minLr to be a number in [0, Infinity] but received -1');
    expect(() => new ReduceLROnPlateau({ minDelta: Infinity })).toThrow('ReduceLROnPlateau: expected minDelta to be a finite number but received Infinity');
    expect(() => new ReduceLROnPlateau({ mode: 'lower' as never })).toThrow("ReduceLROnPlateau: expected mode to be one of 'auto', 'min', 'max' but received \"lower\"");
    expect(() => new ReduceLROnPlateau({ verbose: 2 as never })).toThrow('ReduceLROnPlateau: expected verbose to be 0 or 1 but received 2');
    expect(() => new ReduceLROnPlateau({ epsilon: 1 } as never)).toThrow('ReduceLROnPlateau: expected options among');
  });
});

describe('LearningRateScheduler', () => {
  test('sets the rate at the start of each epoch; the optimizer and History reflect it', async () => {
    const model = regressionModel(0.1);
    const seen: number[] = [];
    const scheduler = new LearningRateScheduler((epoch, rate) => (epoch < 2 ? rate : rate * 0.5));
    const probe = new LambdaCallback({ onEpochBegin: () => void seen.push(model.optimizer!.learningRate) });
    const history = await model.fit(x, y, { epochs: 4, batchSize: 16, verbose: 0, callbacks: [scheduler, probe] });
    const expected = [0.1, 0.1, 0.05, 0.025];
    expect(seen).toHaveLength(expected.length);
    seen.forEach((rate, i) => expect(rate).toBeCloseTo(expected[i], 12));
    expect(history.history.learning_rate).toHaveLength(expected.length);
    history.history.learning_rate.forEach((rate, i) => expect(rate).toBeCloseTo(expected[i], 12));
    expect(model.optimizer!.learningRate).toBeCloseTo(0.025, 12);
  });

  test('the scheduled rate is the one training uses: a rate of 0 leaves the weights as they were', async () => {
    const model = regressionModel(0.1);
    const before = flat(model.getWeights());
    const async = new LearningRateScheduler(async () => 0);
    await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, callbacks: [async] });
    expect(flat(model.getWeights())).toEqual(before);
    await model.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0, callbacks: [new LearningRateScheduler(() => 0.1)] });
    expect(flat(model.getWeights())).not.toEqual(before);
  });

  test('a schedule that returns a bad rate rejects fit naming the epoch', async () => {
    const model = regressionModel();
    const scheduler = new LearningRateScheduler((epoch) => (epoch === 1 ? NaN : 0.01));
    await expect(model.fit(x, y, { epochs: 3, verbose: 0, callbacks: [scheduler] })).rejects.toThrow(
      'LearningRateScheduler: expected schedule to return a non-negative finite number at epoch 2 but received NaN',
    );
  });

  test('bad arguments are rejected', () => {
    expect(() => new LearningRateScheduler(0.1 as never)).toThrow(
      'LearningRateScheduler: expected schedule to be a function (epoch, learningRate) => learningRate but received 0.1',
    );
    expect(() => new LearningRateScheduler(() => 1, 2 as never)).toThrow('LearningRateScheduler: expected verbose to be 0 or 1 but received 2');
  });
});
