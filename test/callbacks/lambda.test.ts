import { LambdaCallback } from '../../lib/callbacks';
import { regressionData, regressionModel } from './data';

const [x, y] = regressionData();

describe('LambdaCallback', () => {
  test('calls each given hook at its point in fit, awaiting async ones', async () => {
    const events: string[] = [];
    const callback = new LambdaCallback({
      onTrainBegin: () => void events.push('train-begin'),
      onEpochBegin: (epoch) => void events.push(`epoch-begin ${epoch}`),
      onBatchEnd: (batch, logs) => void events.push(`batch-end ${batch} size ${logs!.size}`),
      onEpochEnd: async (epoch, logs) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`epoch-end ${epoch} ${Object.keys(logs!).sort().join(',')}`);
      },
      onTrainEnd: () => void events.push('train-end'),
    });
    await regressionModel().fit(x, y, { epochs: 2, batchSize: 40, verbose: 0, callbacks: [callback] });
    expect(events).toEqual([
      'train-begin',
      'epoch-begin 0',
      'batch-end 0 size 40',
      'batch-end 1 size 24',
      'epoch-end 0 loss',
      'epoch-begin 1',
      'batch-end 0 size 40',
      'batch-end 1 size 24',
      'epoch-end 1 loss',
      'train-end',
    ]);
  });

  test('has only the hooks given, so fit skips batch logs when there are none', () => {
    const callback = new LambdaCallback({ onEpochEnd: () => undefined });
    expect(callback.onEpochEnd).toBeDefined();
    expect(callback.onBatchEnd).toBeUndefined();
    expect(callback.onBatchBegin).toBeUndefined();
  });

  test('bad hooks are rejected', () => {
    expect(() => new LambdaCallback({ onEpochEnd: 'print' as never })).toThrow('LambdaCallback: expected onEpochEnd to be a function but received "print"');
    expect(() => new LambdaCallback({ on_epoch_end: () => undefined } as never)).toThrow('LambdaCallback: expected options among');
  });
});
