'use strict';
// Runs ONNX files in onnxruntime-node for test/helpers/onnxruntime.ts, on a worker thread: jest runs tests in a
// realm of their own, whose typed arrays onnxruntime-common's instanceof checks refuse (its outputs, made by
// the addon in Node's realm, fail them inside a test), so the runtime runs here, as a program would run it.
const { parentPort } = require('worker_threads');
const ort = require('onnxruntime-node');

parentPort.on('message', async ({ id, model, runs }) => {
  try {
    const session = await ort.InferenceSession.create(model);
    try {
      const outputs = [];
      for (const feeds of runs) {
        const tensors = {};
        for (const [name, { data, dims }] of Object.entries(feeds)) tensors[name] = new ort.Tensor('float32', data, dims);
        const results = await session.run(tensors);
        outputs.push(Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, { data: tensor.data, dims: tensor.dims }])));
      }
      const metadata = (list) => list.map((m) => ({ name: m.name, type: m.type, shape: m.shape }));
      parentPort.postMessage({ id, outputs, inputInfo: metadata(session.inputMetadata), outputInfo: metadata(session.outputMetadata) });
    } finally {
      await session.release();
    }
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message ? error.message : error) });
  }
});
