/**
 * The soak run, in a process of its own (started by memory.test.ts with --expose-gc) so that its RSS is
 * its own: 10,000 predictions and 1,000 training steps whose results are never disposed, then big result tensors that only the
 * garbage collector (told of libtorch's memory) or dispose() can free. Prints one JSON line of measurements.
 */
'use strict';
const { Sequential, Dense, backendInfo, tensor, zeros } = require(process.argv[2]);

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};
const memory = () => process.memoryUsage();
// Small blocks of tensor memory the addon's CPU allocator has handed out and not had back: one per tensor of
// the soak's size, so every leaked tensor shows.
const nativeInUse = () => backendInfo().cpuMemory.smallBlocksInUse;

async function main() {
  const predictions = Number(process.argv[3] ?? 10000);
  const steps = Number(process.argv[4] ?? 1000);
  const model = new Sequential([new Dense(16, { inputShape: [8], activation: 'relu' }), new Dense(2)]);
  model.compile({ optimizer: 'adam', loss: 'mse' });
  const x = () => tensor(Float32Array.from({ length: 4 * 8 }, (_, i) => Math.sin(i)), [4, 8]);
  const y = () => tensor(Float32Array.from({ length: 4 * 2 }, (_, i) => Math.cos(i)), [4, 2]);

  // Warm-up: allocator pools, JIT, thread pools reach their steady state.
  for (let i = 0; i < 1000; i++) await model.predict(x());
  for (let i = 0; i < 100; i++) await model.trainOnBatch(x(), y());
  await settle();
  const warm = memory();
  const warmNative = nativeInUse();

  let checksum = 0;
  for (let i = 0; i < predictions; i++) {
    const output = await model.predict(x());
    if (i % 1000 === 0) checksum += output.dataSync()[0];
  }
  await settle();
  const afterPredict = memory();
  const afterPredictNative = nativeInUse();
  for (let i = 0; i < steps; i++) {
    const loss = await model.trainOnBatch(x(), y());
    if (!Number.isFinite(loss)) throw new Error(`step ${i}: loss ${loss}`);
  }
  await settle();
  const afterTrain = memory();
  const afterTrainNative = nativeInUse();

  // External memory: each 8 MB result is reported to V8 (napi_adjust_external_memory), so the collector
  // runs on its own and frees dropped results; without that report V8 sees only tiny wrappers and would
  // let gigabytes pile up. No gc() is called in this loop.
  const wide = new Sequential([new Dense(2048, { inputShape: [8] })]);
  const big = zeros([1024, 8]);
  await wide.predict(big, { batchSize: 1024 });
  await settle();
  const pressureBase = memory().rss;
  let pressurePeak = pressureBase;
  const results = Number(process.argv[5] ?? 100);
  for (let i = 0; i < results; i++) {
    const result = await wide.predict(big, { batchSize: 1024 });
    if (result.shape[1] !== 2048) throw new Error('unexpected shape');
    pressurePeak = Math.max(pressurePeak, memory().rss);
  }
  // dispose() frees at once: RSS does not grow over many big results disposed right away.
  await settle();
  const disposeBase = memory().rss;
  let disposePeak = disposeBase;
  for (let i = 0; i < results; i++) {
    (await wide.predict(big, { batchSize: 1024 })).dispose();
    disposePeak = Math.max(disposePeak, memory().rss);
  }

  process.stdout.write(JSON.stringify({
    predictions, steps, checksum,
    rss: { warm: warm.rss, afterPredict: afterPredict.rss, afterTrain: afterTrain.rss },
    nativeInUse: { warm: warmNative, afterPredict: afterPredictNative, afterTrain: afterTrainNative },
    bigResults: { count: results, bytesEach: 1024 * 2048 * 4, pressureBase, pressurePeak, disposeBase, disposePeak },
  }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
