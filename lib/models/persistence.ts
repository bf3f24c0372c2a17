/**
 * Model files: one safetensors file holding the weights in libtorch's layouts, named after their layers
 * (`conv2d.weight`, `dense.bias`, `batch_normalization.running_mean`) so that any torch.nn.Sequential with
 * the same module names loads them; the optimizer's state under `optimizer/`; and the model's config
 * (layers, compile options, class indices) as JSON in `__metadata__`.
 */
import { ValueError } from '../errors';
import { encodeSafetensors, parseSafetensors, readSafetensors, SafetensorsFile, StoredTensor, writeSafetensors } from '../io/safetensors';
import type { Layer, WeightInfo } from '../layers/layer';
import { layerFromConfig } from '../layers/registry';
import type { NativeModel, NativeTensor } from '../native/binding';
import { Tensor, tensor } from '../tensor';

export const FORMAT_NAME = 'keras-torch';
/**
 * The most layers a model file may declare, nested models included: far above any real network (ResNet152
 * has ~500), low enough that a hostile config cannot make loadModel build layers for minutes.
 */
export const MAX_LAYERS = 100_000;
export const FORMAT_VERSION = '1';
/** Keras's optimizer.iterations, beside the per-weight state under optimizer/<weight>/. */
const ITERATIONS_KEY = 'optimizer/iterations';

/** A Sequential's config: its layers in order (the format every release has written). */
export interface SequentialConfig {
  className: 'Sequential';
  name: string;
  inputShape?: number[];
  layers: { className: string; config: Record<string, unknown> }[];
}

/** A functional model's config: Keras's, with each layer's inbound connections (lib/models/functional.ts). */
export interface FunctionalModelConfig {
  className: 'Functional';
  config: Record<string, unknown>;
}

export type ModelConfig = SequentialConfig | FunctionalModelConfig;

export interface CompileConfig {
  optimizer: { className: string; config: Record<string, unknown> };
  loss: unknown;
  metrics?: unknown;
  lossWeights?: unknown;
}

/** What persistence needs of a model; lib/models/model.ts provides it. */
export interface WeightedModel {
  readonly name: string;
  classIndices?: Record<string, number>;
  modelConfig(): Record<string, unknown>;
  compileConfig(): CompileConfig | undefined;
  /** The native model (built if needed), each weight's file name and its Keras description, in order. */
  weightEntries(operation: string): { native: NativeModel; names: string[]; weights: WeightInfo[] };
}

function stored(native: NativeTensor): StoredTensor {
  return { dtype: native.dtype(), shape: native.shape(), data: native.dataSync() };
}

/** Where a model is read from or written to: a file path, or bytes in memory (an object store, a database). */
export type ModelSource = string | Uint8Array;

/** How errors name a source: the file path, or "the model buffer". */
export function sourceName(source: ModelSource): string {
  return typeof source === 'string' ? source : 'the model buffer';
}

/** Writes the model to `file`, or, with no file, resolves the same bytes as a Buffer. */
export async function saveModelFile(model: WeightedModel, file: string, options?: { includeOptimizer?: boolean }): Promise<void>;
export async function saveModelFile(model: WeightedModel, file: undefined, options?: { includeOptimizer?: boolean }): Promise<Buffer>;
export async function saveModelFile(model: WeightedModel, file: string | undefined, { includeOptimizer = true } = {}): Promise<void | Buffer> {
  const { native, names } = model.weightEntries('save');
  const tensors = new Map<string, StoredTensor>();
  native.getWeights(true).forEach((weight, i) => tensors.set(names[i], stored(weight)));
  const compile = model.compileConfig();
  if (includeOptimizer && compile) {
    // Keras's optimizer.iterations, which a learning-rate schedule continues from.
    tensors.set(ITERATIONS_KEY, { dtype: 'int64', shape: [], data: new BigInt64Array([BigInt(native.getIterations())]) });
    native.getOptimizerState().forEach((entry, i) => {
      if (!entry) return;
      tensors.set(`optimizer/${names[i]}/step`, { dtype: 'int64', shape: [], data: new BigInt64Array([BigInt(entry.step)]) });
      for (const [stateName, value] of Object.entries(entry.tensors)) tensors.set(`optimizer/${names[i]}/${stateName}`, stored(value));
    });
  }
  const metadata: Record<string, string> = {
    format: FORMAT_NAME,
    format_version: FORMAT_VERSION,
    config: JSON.stringify(model.modelConfig()),
  };
  if (compile) metadata.compile = JSON.stringify(compile);
  if (model.classIndices) metadata.class_indices = JSON.stringify(model.classIndices);
  if (file === undefined) return encodeSafetensors(tensors, metadata);
  await writeSafetensors(file, tensors, metadata);
}

function parseJson<T>(file: string, key: string, text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ValueError(`${file}: __metadata__.${key} is not valid JSON (${(error as Error).message})`);
  }
}

export interface LoadedFile {
  config: ModelConfig;
  compile?: CompileConfig;
  classIndices?: Record<string, number>;
  tensors: Map<string, StoredTensor>;
}

/** Reads and checks a model file, or the bytes of one (parseSafetensors's checks either way). */
export async function readModelFile(source: ModelSource): Promise<LoadedFile> {
  const file = sourceName(source);
  const { tensors, metadata }: SafetensorsFile =
    typeof source === 'string' ? await readSafetensors(source) : parseSafetensors(Buffer.from(source.buffer, source.byteOffset, source.byteLength), file);
  const config = parseJson<ModelConfig>(file, 'config', metadata.config);
  const sequential = config?.className === 'Sequential' && Array.isArray(config.layers);
  const functional = config?.className === 'Functional' && typeof config.config === 'object' && config.config !== null;
  if (metadata.format !== FORMAT_NAME || !config || (!sequential && !functional)) {
    throw new ValueError(`${file}: expected a keras-torch model file (__metadata__ with format '${FORMAT_NAME}' and a Sequential or Functional config)`);
  }
  const layerCount = countLayers(sequential ? config : (config as FunctionalModelConfig).config);
  if (layerCount > MAX_LAYERS) {
    throw new ValueError(`${file}: expected a config of at most ${MAX_LAYERS} layers but received one of ${layerCount}`);
  }
  return {
    config,
    compile: parseJson<CompileConfig>(file, 'compile', metadata.compile),
    classIndices: parseJson<Record<string, number>>(file, 'class_indices', metadata.class_indices),
    tensors,
  };
}

export function layersFromConfig(file: string, config: SequentialConfig): Layer[] {
  return config.layers.map((entry, i) => {
    try {
      return layerFromConfig(entry?.className, entry?.config ?? {});
    } catch (error) {
      throw new ValueError(`${file}: layer ${i} of the config: ${(error as Error).message}`);
    }
  });
}

/**
 * Checks, from the layers' shape inference alone, that every weight the config implies is in the file
 * with as many values, so that building the model allocates no more than the file holds.
 */
export function checkStoredWeights(file: string, names: string[], weights: WeightInfo[], loaded: LoadedFile): void {
  weights.forEach((weight, i) => {
    const entry = loaded.tensors.get(names[i]);
    const count = weight.shape.reduce((a, b) => a * b, 1);
    if (!entry) throw new ValueError(`${file}: expected a weight named '${names[i]}' (${count} values, from the config) but the file has none`);
    const stored = entry.shape.reduce((a, b) => a * b, 1);
    if (stored !== count || entry.shape.length !== weight.shape.length) {
      throw new ValueError(
        `${file}: expected weight '${names[i]}' with ${count} values (shape [${weight.shape.join(', ')}] from the config) but received shape [${entry.shape.join(', ')}]`,
      );
    }
  });
}

/** Copies the file's weights (and, when asked, optimizer state) into the model, checking every name and shape first. */
export function restoreWeights(model: WeightedModel, file: string, loaded: LoadedFile, { optimizer = true } = {}): void {
  const { native, names } = model.weightEntries('loadWeights');
  const expectedShapes = native.getWeights(true).map((w) => w.shape());
  const values = names.map((name, i) => {
    const entry = loaded.tensors.get(name);
    if (!entry) throw new ValueError(`${file}: expected a weight named '${name}' but the file has none (it has ${[...loaded.tensors.keys()].filter((k) => !k.startsWith('optimizer/')).join(', ') || 'no weights'})`);
    if (entry.shape.join() !== expectedShapes[i].join()) {
      throw new ValueError(`${file}: expected weight '${name}' of shape [${expectedShapes[i].join(', ')}] but received [${entry.shape.join(', ')}]`);
    }
    if (entry.dtype !== 'float32') throw new ValueError(`${file}: expected weight '${name}' of dtype float32 but received ${entry.dtype}`);
    return tensor(entry.data, entry.shape, 'float32');
  });
  native.setWeights(values.map((t: Tensor) => t.native), true);
  if (!optimizer || !model.compileConfig()) return;
  const state = names.map((name) => {
    const step = loaded.tensors.get(`optimizer/${name}/step`);
    if (!step) return null;
    const count = readCount(file, `optimizer/${name}/step`, step);
    const prefix = `optimizer/${name}/`;
    const tensors: Record<string, NativeTensor> = {};
    for (const [key, entry] of loaded.tensors) {
      if (!key.startsWith(prefix) || key === `${prefix}step`) continue;
      if (entry.dtype !== 'float32') throw new ValueError(`${file}: expected ${key} of dtype float32 but received ${entry.dtype}`);
      tensors[key.slice(prefix.length)] = tensor(entry.data, entry.shape, entry.dtype).native;
    }
    return { step: count, tensors };
  });
  try {
    native.setOptimizerState(state);
  } catch (error) {
    throw new ValueError(`${file}: the optimizer state does not fit the model: ${(error as Error).message}`);
  }
  // Files written before the count was stored: every update advanced each trained weight's step.
  const iterations = loaded.tensors.get(ITERATIONS_KEY);
  native.setIterations(iterations ? readCount(file, ITERATIONS_KEY, iterations) : Math.max(0, ...state.map((entry) => entry?.step ?? 0)));
}

/**
 * A stored count. Everything read from a file is checked: a count that is not a non-negative int64 scalar
 * would be reinterpreted rather than refused.
 */
function readCount(file: string, key: string, entry: StoredTensor): number {
  const count = entry.dtype === 'int64' && entry.shape.length === 0 ? (entry.data as BigInt64Array)[0] : undefined;
  if (count === undefined || count < 0n || count > BigInt(Number.MAX_SAFE_INTEGER)) {
    const value = entry.dtype === 'int64' && entry.data.length > 0 ? String((entry.data as BigInt64Array)[0]) : `a ${entry.dtype} tensor of shape [${entry.shape.join(', ')}]`;
    throw new ValueError(`${file}: expected ${key} to be a non-negative int64 scalar but received ${value}`);
  }
  return Number(count);
}

/** The layers a config declares, nested models' included (stopping early once past MAX_LAYERS). */
function countLayers(config: unknown): number {
  let count = 0;
  const pending: unknown[] = [config];
  while (pending.length > 0 && count <= MAX_LAYERS) {
    const layers = (pending.pop() as { layers?: unknown } | null)?.layers;
    if (!Array.isArray(layers)) continue;
    count += layers.length;
    for (const entry of layers) {
      const nested = (entry as { config?: { layers?: unknown } } | null)?.config;
      if (nested && Array.isArray(nested.layers)) pending.push(nested);
    }
  }
  return count;
}
