/** TerminateOnNaN: ends training quietly after the batch whose loss became NaN or infinite. */
import { invalidArgument } from '../errors';
import { Callback, Logs } from './callback';

export class TerminateOnNaN extends Callback {
  /** Where the message goes. Default process.stdout, as Keras prints it. */
  constructor(private readonly output: { write(text: string): unknown } = process.stdout) {
    super();
    if (typeof output?.write !== 'function') throw invalidArgument('TerminateOnNaN', 'output to be a stream with write()', output);
  }

  onBatchEnd(batch: number, logs?: Logs): void {
    const loss = logs?.loss;
    if (loss === undefined || Number.isFinite(loss)) return;
    this.output.write(`Batch ${batch}: Invalid loss, terminating training\n`);
    if (this.model) this.model.stopTraining = true;
  }
}
