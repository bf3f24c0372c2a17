// One rank of the data-parallel test: trains a small CNN on deterministic data and prints its final
// weights and loss curve as JSON. With WORLD_SIZE unset it is the single-process reference.
'use strict';
const { distributed, Sequential, Conv2D, Flatten, Dense, Input, Concatenate, Model, tensor, setSeed } = require(process.env.KERAS_TORCH_DIST);

async function main() {
  const batchSize = Number(process.env.BATCH_SIZE);
  const distributedRun = process.env.WORLD_SIZE !== undefined;
  if (distributedRun) await distributed.init({ timeout: Number(process.env.TIMEOUT_MS || 20000), seed: 5 });
  else setSeed(5);
  // COUNT and FILTERS may differ by rank (COUNT_1, FILTERS_1 for rank 1): ranks that disagree.
  const own = (name, fallback) => Number(process.env[`${name}_${process.env.RANK}`] ?? process.env[name] ?? fallback);
  const count = own('COUNT', 64);
  const x = new Float32Array(count * 6 * 6 * 1);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = i % 2;
    for (let j = 0; j < 36; j++) x[i * 36 + j] = Math.sin(i * 7 + j) * 0.5 + (y[i] ? 0.3 : -0.3);
  }
  // MODEL=functional: the same CNN with a second input (two features per sample) joined by Concatenate.
  const functional = process.env.MODEL === 'functional';
  const features = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) [features[2 * i], features[2 * i + 1]] = [Math.cos(i), y[i] - 0.5];
  let model;
  if (functional) {
    const image = Input({ shape: [6, 6, 1], name: 'image' });
    const extra = Input({ shape: [2], name: 'extra' });
    const flat = new Flatten().apply(new Conv2D(3, 3, { activation: 'relu' }).apply(image));
    const output = new Dense(1, { activation: 'sigmoid' }).apply(new Concatenate().apply([flat, extra]));
    model = new Model({ inputs: [image, extra], outputs: output });
  } else {
    model = new Sequential([
      new Conv2D(own('FILTERS', 3), 3, { inputShape: [6, 6, 1], activation: 'relu' }),
      new Flatten(),
      new Dense(1, { activation: 'sigmoid' }),
    ]);
  }
  model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  const callbacks = [];
  if (process.env.DIE_AT_BATCH && distributed.rank() === 1) {
    callbacks.push({ onBatchEnd: (batch) => batch + 1 === Number(process.env.DIE_AT_BATCH) && process.kill(process.pid, 'SIGKILL') });
  }
  const inputs = functional ? { image: tensor(x, [count, 6, 6, 1]), extra: tensor(features, [count, 2]) } : tensor(x, [count, 6, 6, 1]);
  const history = await model.fit(inputs, tensor(y, [count, 1]), {
    epochs: Number(process.env.EPOCHS || 3),
    batchSize,
    shuffle: true,
    verbose: 0,
    callbacks,
  });
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  process.stdout.write(JSON.stringify({ rank: distributed.rank(), loss: history.history.loss, weights }));
  if (distributedRun) distributed.destroy();
}

main().catch((error) => {
  process.stderr.write(`rank ${process.env.RANK}: ${error.message}\n`);
  process.exit(1);
});
