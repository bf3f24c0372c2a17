/**
 * Model files: one safetensors file holding the weights in libtorch's layouts, named after their layers
 * (`conv2d.weight`, `dense.bias`, `batch_normalization.running_mean`) so that any torch.nn.Sequential with
 * the same module names loads them; the optimizer's state under `optimizer/`; and the model's config
 * (layers, compile options, class indices) as JSON in `__metadata__`.
 */
import { ValueError } from '../errors';
import { readSafetensors, StoredTensor, writeSafetensors } from '../io/safetensors';
import type { Layer, WeightInfo } from '../layers/layer';
import { layerFromConfig } from '../layers/registry';
import type { NativeModel, NativeTensor } from '../native/binding';
import { Tensor, tensor } from '../tensor';

export const FORMAT_NAME = 'keras-torch';
export const FORMAT_VERSION = '1';

/** Keras's weight names -> the attribute names of the equivalent torch.nn module. */
const TORCH_NAMES: Record<string, string> = {
  kernel: 'weight',
  bias: 'bias',
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

export interface ModelConfig {
  className: 'Sequential';
  name: string;
  inputShape?: number[];
  layers: { className: string; config: Record<string, unknown> }[];
}

export interface CompileConfig {
  optimizer: { className: string; config: Record<string, unknown> };
  loss: string;
  metrics: string[];
}

/** What persistence needs of a model; Sequential provides it. */
export interface PersistableModel {
  readonly name: string;
  readonly layers: Layer[];
  classIndices?: Record<string, number>;
  modelConfig(): ModelConfig;
  compileConfig(): CompileConfig | undefined;
  /** The native model with each layer's weights (built if needed). */
  nativeWeights(operation: string): { native: NativeModel; weights: WeightInfo[][]; stack: Layer[] };
}

/** The file name of each weight, in the model's order. */
function weightNames(stack: Layer[], weights: WeightInfo[][]): string[] {
  return stack.flatMap((layer, i) => weights[i].map((w) => `${layer.name}.${TORCH_NAMES[w.name] ?? w.name}`));
}

function stored(native: NativeTensor): StoredTensor {
  return { dtype: native.dtype(), shape: native.shape(), data: native.dataSync() };
}

export async function saveModelFile(model: PersistableModel, file: string, { includeOptimizer = true } = {}): Promise<void> {
  const { native, weights, stack } = model.nativeWeights('save');
  const names = weightNames(stack, weights);
  const tensors = new Map<string, StoredTensor>();
  native.getWeights(true).forEach((weight, i) => tensors.set(names[i], stored(weight)));
  const compile = model.compileConfig();
  if (includeOptimizer && compile) {
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

export async function readModelFile(file: string): Promise<LoadedFile> {
  const { tensors, metadata } = await readSafetensors(file);
  const config = parseJson<ModelConfig>(file, 'config', metadata.config);
  if (metadata.format !== FORMAT_NAME || !config || config.className !== 'Sequential' || !Array.isArray(config.layers)) {
    throw new ValueError(`${file}: expected a keras-torch model file (__metadata__ with format '${FORMAT_NAME}' and a Sequential config)`);
  }
  return {
    config,
    compile: parseJson<CompileConfig>(file, 'compile', metadata.compile),
    classIndices: parseJson<Record<string, number>>(file, 'class_indices', metadata.class_indices),
    tensors,
  };
}

export function layersFromConfig(file: string, config: ModelConfig): Layer[] {
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
export function checkStoredWeights(file: string, layers: Layer[], loaded: LoadedFile): void {
  const declared = layers[0]?.batchInputShape ?? loaded.config.inputShape;
  if (!declared) return;
  if (!Array.isArray(declared) || !declared.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw new ValueError(`${file}: expected the config's inputShape to be positive integers but received ${JSON.stringify(declared)}`);
  }
  let shape: readonly number[] = declared;
  const weights: WeightInfo[][] = [];
  for (const [i, layer] of layers.entries()) {
    try {
      weights.push(layer.weightInfo(shape));
      shape = layer.computeOutputShape(shape);
    } catch (error) {
      throw new ValueError(`${file}: layer ${i} of the config: ${(error as Error).message}`);
    }
  }
  const names = weightNames(layers, weights);
  weights.flat().forEach((weight, i) => {
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
export function restoreWeights(model: PersistableModel, file: string, loaded: LoadedFile, { optimizer = true } = {}): void {
  const { native, weights, stack } = model.nativeWeights('loadWeights');
  const names = weightNames(stack, weights);
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
    const prefix = `optimizer/${name}/`;
    const tensors: Record<string, NativeTensor> = {};
    for (const [key, entry] of loaded.tensors) {
      if (key.startsWith(prefix) && key !== `${prefix}step`) tensors[key.slice(prefix.length)] = tensor(entry.data, entry.shape, entry.dtype).native;
    }
    return { step: Number((step.data as BigInt64Array)[0] ?? 0), tensors };
  });
  try {
    native.setOptimizerState(state);
  } catch (error) {
    throw new ValueError(`${file}: the optimizer state does not fit the model: ${(error as Error).message}`);
  }
}
