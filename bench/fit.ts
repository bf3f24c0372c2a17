/**
 * The seed's whole fit in its own process (so that its peak RSS is its own): JPEG class folders ->
 * ImageDataGenerator with the seed's augmentation -> train -> validation, with the event loop's delay
 * sampled throughout. bench/run.ts starts it; it prints one JSON line.
 *
 *   node build-ts/bench/fit.js DATA_DIR [--epochs 2] [--threads 2] [--size 64] [--batch-size 32]
 */
import * as fs from 'fs';
import * as path from 'path';
import { monitorEventLoopDelay } from 'perf_hooks';
import { ImageDataGenerator, setNumThreads, setSeed } from 'keras-torch';
import { seedModel } from './seed-model';

async function main(): Promise<void> {
  const [directory, ...rest] = process.argv.slice(2);
  const option = (name: string, fallback: number): number => {
    const index = rest.indexOf(`--${name}`);
    return index >= 0 ? Number(rest[index + 1]) : fallback;
  };
  const epochs = option('epochs', 2);
  const size = option('size', 64);
  const batchSize = option('batch-size', 32);
  setNumThreads(option('threads', 2));
  setSeed(1);

  const model = seedModel(size);

  const log = console.log;
  console.log = () => undefined; // "Found N images belonging to 2 classes."
  const training = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true })
    .flowFromDirectory(path.join(directory, 'training_set'), { targetSize: [size, size], batchSize, classMode: 'binary', seed: 1 });
  const testing = new ImageDataGenerator({ rescale: 1 / 255 })
    .flowFromDirectory(path.join(directory, 'test_set'), { targetSize: [size, size], batchSize, classMode: 'binary', shuffle: false });
  console.log = log;

  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const history = await model.fit(training, { epochs, validationData: testing, verbose: 0 });
  const seconds = (performance.now() - start) / 1000;
  delay.disable();

  const epochLogs = history.history.val_loss.map((valLoss, i) => ({ val_loss: valLoss, val_accuracy: history.history.val_accuracy[i] }));
  console.log(
    JSON.stringify({
      seconds,
      epochs: epochLogs,
      train_samples: training.samples,
      test_samples: testing.samples,
      event_loop_p99_ms: delay.percentile(99) / 1e6,
      event_loop_max_ms: delay.max / 1e6,
      peak_rss_mb: peakRssMb(),
    }),
  );
}

/** This process's own memory high-water mark (VmHWM): resourceUsage().maxRSS keeps the parent's (the bench runner's) across fork and exec. */
function peakRssMb(): number {
  const line = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return line ? Number(line[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
