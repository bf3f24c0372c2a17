/**
 * onnxruntime-node, the reference ONNX runtime, on a worker thread (test/helpers/onnxruntime-worker.js says
 * why): `runOnnx(model, runs)` creates a session from a file path or a file's bytes, runs it on each set of
 * float32 feeds, and resolves the outputs and the session's input and output metadata.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';

export interface OnnxFeed {
  data: Float32Array;
  dims: readonly number[];
}

export interface OnnxValueInfo {
  name: string;
  type: string;
  shape: (number | string)[];
}

export interface OnnxRun {
  /** Per run, each output by name. */
  outputs: Record<string, { data: Float32Array; dims: number[] }>[];
  /** The session's inputs and outputs, as the file declares them. */
  inputInfo: OnnxValueInfo[];
  outputInfo: OnnxValueInfo[];
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (run: OnnxRun) => void; reject: (error: Error) => void }>();

function runtime(): Worker {
  if (worker) return worker;
  const started = new Worker(path.join(__dirname, 'onnxruntime-worker.js'));
  started.on('message', (message: { id: number; error?: string } & OnnxRun) => {
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiting?.reject(new Error(`onnxruntime: ${message.error}`));
    else waiting?.resolve(message);
  });
  started.on('error', (error) => {
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  });
  // The worker never keeps a finished test run alive.
  started.unref();
  worker = started;
  return started;
}

export function runOnnx(model: Uint8Array | string, runs: Record<string, OnnxFeed>[]): Promise<OnnxRun> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    runtime().postMessage({ id, model, runs });
  });
}

/** Ends the worker (call in afterAll). */
export async function closeOnnxRuntime(): Promise<void> {
  await worker?.terminate();
  worker = undefined;
}
