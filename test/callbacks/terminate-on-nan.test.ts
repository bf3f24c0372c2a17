import { LambdaCallback, TerminateOnNaN } from '../../lib/callbacks';
import { regressionData, regressionModel } from './data';

const [x, y] = regressionData();

function output() {
  const lines: string[] = [];
  return { lines, write: (text: string) => void lines.push(text) };
}

describe('TerminateOnNaN', () => {
  test('without it, a diverging run rejects fit naming the epoch and batch', async () => {
    const model = regressionModel(1e10);
    await expect(model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 })).rejects.toThrow(
      /^fit: the loss became (NaN|Infinity) at epoch 1, batch \d+$/,
    );
  });

  test('with it, the same run ends quietly after the batch whose loss became NaN', async () => {
    const model = regressionModel(1e10);
    const printed = output();
    const batchLosses: number[] = [];
    const probe = new LambdaCallback({ onBatchEnd: (_batch, logs) => void batchLosses.push(logs!.loss) });
    const history = await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, callbacks: [probe, new TerminateOnNaN(printed)] });
    const firstInvalid = batchLosses.findIndex((loss) => !Number.isFinite(loss));
    expect(firstInvalid).toBeGreaterThan(0);
    // Training ended at that batch: no later batch ran, and the epoch was still recorded.
    expect(batchLosses).toHaveLength(firstInvalid + 1);
    expect(printed.lines).toEqual([`Batch ${firstInvalid}: Invalid loss, terminating training\n`]);
    expect(model.stopTraining).toBe(true);
    expect(history.epoch).toEqual([0]);
    expect(Number.isFinite(history.history.loss[0])).toBe(false);
  });

  test('finite losses and batches without a loss leave training alone', () => {
    const callback = new TerminateOnNaN(output());
    const model = { stopTraining: false, getWeights: () => [], setWeights: () => undefined };
    callback.setModel(model);
    callback.onBatchEnd(0, { loss: 1e30 });
    callback.onBatchEnd(1, {});
    expect(model.stopTraining).toBe(false);
    callback.onBatchEnd(2, { loss: -Infinity });
    expect(model.stopTraining).toBe(true);
  });

  test('a bad output is rejected', () => {
    expect(() => new TerminateOnNaN({} as never)).toThrow('TerminateOnNaN: expected output to be a stream with write() but received {}');
  });
});
