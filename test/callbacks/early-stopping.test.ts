import { EarlyStopping, LambdaCallback } from '../../lib/callbacks';
import { flat, lastSamples, regressionData, regressionModel } from './data';

/** A stand-in model whose "weights" are the epoch they were taken at, to see which epoch is restored. */
function fakeModel() {
  const model = {
    stopTraining: false,
    epoch: -1,
    restored: undefined as number | undefined,
    getWeights: () => [model.epoch],
    setWeights: (weights: never[]) => {
      model.restored = weights[0];
    },
  };
  return model;
}

/** Feeds `series` of the monitored value to the callback's hooks; the epoch it stopped at, or -1. */
function drive(callback: EarlyStopping, series: number[], monitor = 'val_loss', model = fakeModel()): number {
  callback.setModel(model);
  callback.onTrainBegin();
  for (let epoch = 0; epoch < series.length; epoch++) {
    model.epoch = epoch;
    callback.onEpochEnd(epoch, { loss: 1, [monitor]: series[epoch] });
    if (model.stopTraining) {
      callback.onTrainEnd();
      return epoch;
    }
  }
  callback.onTrainEnd();
  return -1;
}

describe('EarlyStopping on a crafted series', () => {
  test('stops once patience epochs pass without improvement', () => {
    const callback = new EarlyStopping({ patience: 2 });
    expect(drive(callback, [1.0, 0.9, 0.95, 0.92, 0.5, 0.4])).toBe(3);
    expect(callback.stoppedEpoch).toBe(3);
    expect(callback.best).toBe(0.9);
    expect(callback.bestEpoch).toBe(1);
  });

  test('patience 0 stops at the first epoch without improvement, never at the first epoch', () => {
    expect(drive(new EarlyStopping({ patience: 0 }), [1.0, 0.8, 0.9])).toBe(2);
    expect(drive(new EarlyStopping({ patience: 0 }), [1.0, 1.0])).toBe(1);
  });

  test('changes within minDelta do not count as improvement', () => {
    expect(drive(new EarlyStopping({ patience: 1, minDelta: 0.05 }), [1.0, 0.97, 0.96, 0.5])).toBe(1);
    expect(drive(new EarlyStopping({ patience: 1, minDelta: -0.05 }), [1.0, 0.97, 0.96, 0.5])).toBe(1);
    expect(drive(new EarlyStopping({ patience: 1, minDelta: 0.01 }), [1.0, 0.97, 0.95, 0.5])).toBe(-1);
  });

  test("mode 'auto' maximises accuracy-like names and minimises the rest; 'max' and 'min' force it", () => {
    expect(new EarlyStopping({ monitor: 'val_accuracy' }).mode).toBe('max');
    expect(new EarlyStopping({ monitor: 'acc' }).mode).toBe('max');
    expect(new EarlyStopping({ monitor: 'val_loss' }).mode).toBe('min');
    expect(new EarlyStopping({ monitor: 'val_mae' }).mode).toBe('min');
    expect(drive(new EarlyStopping({ monitor: 'val_accuracy', patience: 1 }), [0.5, 0.6, 0.7, 0.65], 'val_accuracy')).toBe(3);
    expect(drive(new EarlyStopping({ monitor: 'val_loss', mode: 'max', patience: 1 }), [0.5, 0.6, 0.55], 'val_loss')).toBe(2);
  });

  test('with a baseline, the wait restarts only on values that beat it', () => {
    // Without a baseline the flat series waits two epochs; with one it never beat, the first epoch counts too.
    expect(drive(new EarlyStopping({ patience: 2 }), [0.9, 0.9, 0.9, 0.9])).toBe(2);
    expect(drive(new EarlyStopping({ patience: 2, baseline: 0.5 }), [0.9, 0.9, 0.9, 0.9])).toBe(1);
    expect(drive(new EarlyStopping({ patience: 2, baseline: 0.5 }), [0.4, 0.4, 0.4, 0.4])).toBe(2);
  });

  test('startFromEpoch ignores the warm-up epochs', () => {
    const callback = new EarlyStopping({ patience: 1, startFromEpoch: 3 });
    expect(drive(callback, [0.1, 0.9, 0.9, 0.8, 0.85, 0.7])).toBe(4);
    expect(callback.best).toBe(0.8);
    expect(callback.bestEpoch).toBe(3);
  });

  test('restoreBestWeights sets the weights of the best epoch at the end, stopped or not', () => {
    const model = fakeModel();
    drive(new EarlyStopping({ patience: 2, restoreBestWeights: true }), [1.0, 0.7, 0.8, 0.9, 0.6], 'val_loss', model);
    expect(model.restored).toBe(1);
    const finished = fakeModel();
    drive(new EarlyStopping({ patience: 5, restoreBestWeights: true }), [1.0, 0.7, 0.8], 'val_loss', finished);
    expect(finished.restored).toBe(1);
    const untouched = fakeModel();
    drive(new EarlyStopping({ patience: 2 }), [1.0, 0.7, 0.8, 0.9], 'val_loss', untouched);
    expect(untouched.restored).toBeUndefined();
  });

  test('verbose 1 says when it stopped and which epoch it restored, as Keras does', () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      drive(new EarlyStopping({ patience: 1, verbose: 1, restoreBestWeights: true }), [1.0, 0.7, 0.8, 0.9]);
      expect(log.mock.calls.map((call) => call[0])).toEqual([
        'Epoch 3: early stopping',
        'Restoring model weights from the end of the best epoch: 2.',
      ]);
    } finally {
      log.mockRestore();
    }
  });

  test('a missing monitored value warns with the available keys, as Keras does, and never stops', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(drive(new EarlyStopping({ monitor: 'val_accuracy', patience: 0 }), [1, 1, 1], 'val_loss')).toBe(-1);
      expect(warn).toHaveBeenCalledTimes(3);
      expect(warn.mock.calls[0][0]).toBe(
        'Early stopping is conditioned on metric `val_accuracy` which is not available. Available metrics are: loss,val_loss',
      );
    } finally {
      warn.mockRestore();
    }
  });

  test('bad options are rejected with the argument, the expectation and the value', () => {
    expect(() => new EarlyStopping({ patience: -1 })).toThrow('EarlyStopping: expected patience to be a non-negative integer but received -1');
    expect(() => new EarlyStopping({ patience: 1.5 })).toThrow('EarlyStopping: expected patience to be a non-negative integer but received 1.5');
    expect(() => new EarlyStopping({ mode: 'up' as never })).toThrow("EarlyStopping: expected mode to be one of 'auto', 'min', 'max' but received \"up\"");
    expect(() => new EarlyStopping({ minDelta: NaN })).toThrow('EarlyStopping: expected minDelta to be a finite number but received NaN');
    expect(() => new EarlyStopping({ baseline: Infinity })).toThrow('EarlyStopping: expected baseline to be a finite number but received Infinity');
    expect(() => new EarlyStopping({ restoreBestWeights: 'yes' as never })).toThrow('EarlyStopping: expected restoreBestWeights to be a boolean but received "yes"');
    expect(() => new EarlyStopping({ startFromEpoch: -2 })).toThrow('EarlyStopping: expected startFromEpoch to be a non-negative integer but received -2');
    expect(() => new EarlyStopping({ monitor: '' })).toThrow("EarlyStopping: expected monitor to be the name of a logged value such as 'val_loss' but received \"\"");
    expect(() => new EarlyStopping({ verbose: 3 as never })).toThrow('EarlyStopping: expected verbose to be 0 or 1 but received 3');
    expect(() => new EarlyStopping({ patiense: 3 } as never)).toThrow('EarlyStopping: expected options among');
  });
});

describe('EarlyStopping in fit', () => {
  const [x, y] = regressionData();

  test('ends fit at the epoch the series dictates', async () => {
    // A minDelta larger than any change: only the first epoch counts as an improvement.
    const model = regressionModel();
    const callback = new EarlyStopping({ monitor: 'loss', minDelta: 10, patience: 2 });
    const history = await model.fit(x, y, { epochs: 20, batchSize: 16, verbose: 0, callbacks: [callback] });
    expect(history.epoch).toEqual([0, 1, 2]);
    expect(history.history.loss).toHaveLength(3);
    expect(callback.stoppedEpoch).toBe(2);
    expect(model.stopTraining).toBe(true);
  });

  test('runs every epoch while the monitored value keeps improving', async () => {
    const model = regressionModel();
    const callback = new EarlyStopping({ monitor: 'loss', patience: 0 });
    const history = await model.fit(x, y, { epochs: 6, batchSize: 16, verbose: 0, callbacks: [callback] });
    // Plain SGD on a convex-ish problem: the training loss falls every epoch.
    const loss = history.history.loss;
    expect(loss.every((value, i) => i === 0 || value < loss[i - 1])).toBe(true);
    expect(history.epoch).toHaveLength(6);
    expect(callback.stoppedEpoch).toBe(0);
  });

  test('restoreBestWeights leaves the model with the weights of the best epoch', async () => {
    const model = regressionModel();
    const snapshots: number[][] = [];
    const recorder = new LambdaCallback({ onEpochEnd: () => void snapshots.push(flat(model.getWeights())) });
    // The "best" val_loss under mode 'max' is the highest one: an early epoch, since the loss falls.
    const callback = new EarlyStopping({ monitor: 'val_loss', mode: 'max', patience: 2, restoreBestWeights: true });
    const history = await model.fit(x, y, {
      epochs: 10,
      batchSize: 16,
      verbose: 0,
      validationSplit: 0.25,
      callbacks: [recorder, callback],
    });
    const valLoss = history.history.val_loss;
    const best = valLoss.indexOf(Math.max(...valLoss));
    expect(callback.bestEpoch).toBe(best);
    expect(history.epoch).toHaveLength(best + 3);
    const restored = flat(model.getWeights());
    expect(restored).toEqual(snapshots[best]);
    expect(restored).not.toEqual(snapshots[snapshots.length - 1]);
    // The restored weights reproduce that epoch's validation loss.
    const evaluated = (await model.evaluate(lastSamples(x, 16), lastSamples(y, 16), { verbose: 0 })) as number;
    expect(evaluated).toBeCloseTo(valLoss[best], 5);
  });
});
