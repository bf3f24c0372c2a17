/**
 * TensorFlow.js's Layers format: a `model.json` (the model's Keras config as `modelTopology`, and a
 * `weightsManifest` of weight groups, each a list of weights laid end to end across its binary shard
 * files) as `tensorflowjs_converter` writes it from Keras and `model.save` writes it in TensorFlow.js.
 * The config becomes a keras-torch model through ./keras-config.ts and the layer registry; the weights,
 * in Keras's layouts as keras-torch's own getWeights/setWeights are, are matched to the layers by name
 * and decoded (float32, or quantized to uint8/uint16 with a minimum and a scale, or to float16).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { describe, invalidArgument, ValueError } from '../errors';
import type { Layer, WeightInfo } from '../layers/layer';
import { layerFromConfig } from '../layers/registry';
import type { SymbolicTensor } from '../layers/symbolic';
import type { Model, TensorStructure } from '../models/model';
// Registers the Sequential and Functional factories with the layer registry, which builds the config.
import '../models/sequential';
import { tensor, Tensor } from '../tensor';
import { translateModelConfig } from './keras-config';

/** One weight of a `weightsManifest` group (TensorFlow.js's WeightsManifestEntry). */
export interface LayersWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  /** `'optimizer'` for an optimizer's state, which loadLayersModel skips. */
  group?: string;
  /**
   * How the values are stored when not as `dtype`: `uint8`/`uint16` with `value = q * scale + min`, or
   * `float16`. `original_dtype` (newer converters) names the dtype they decode to.
   */
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

/**
 * A model in memory, as TensorFlow.js's ModelArtifacts hold it (what a `tf.io.withSaveHandler` receives):
 * the topology, the weights' specs, and their bytes laid end to end.
 */
export interface LayersModelArtifacts {
  modelTopology: unknown;
  weightSpecs?: LayersWeightSpec[];
  weightData?: ArrayBuffer | ArrayBuffer[] | Uint8Array;
}

/** A path to a `model.json` (or `file://` and its path, or the folder holding it), or the artifacts in memory. */
export type LayersModelSource = string | LayersModelArtifacts;

interface WeightGroup {
  specs: LayersWeightSpec[];
  /** The group's bytes, read on demand (files are read only once the config and manifest agree). */
  read(): Promise<Buffer>;
  /** How errors name where the bytes come from. */
  origin: string;
}

const CONTEXT = 'loadLayersModel';

/**
 * Builds the model a TensorFlow.js Layers `model.json` describes (Sequential or functional, as Keras 2,
 * Keras 3 or TensorFlow.js wrote it) and loads its weights: a keras-torch model like any other, which
 * predicts, trains and saves. Weight files are read relative to the `model.json`. Typed as a one-output
 * model; for several outputs name their form: `loadLayersModel<SymbolicTensor[]>(file)`.
 */
export async function loadLayersModel<O extends TensorStructure = SymbolicTensor>(source: LayersModelSource): Promise<Model<O>> {
  const { origin, topology, groups } = await readSource(source);
  const context = `${CONTEXT} ${origin}`;
  const { className, config } = translateModelConfig(context, topology);
  let model: Model<O>;
  try {
    model = layerFromConfig(className, config) as unknown as Model<O>;
  } catch (error) {
    throw new ValueError(`${context}: ${(error as Error).message}`);
  }
  if (!model.knownInputShapes()) {
    throw new ValueError(`${context}: expected the config to give the model's input shape (batch_input_shape or batch_shape of its first layer) but it has none`);
  }
  const leaves = model.topology.leafLayers();
  const expected = leaves.flatMap((leaf) => leaf.weights.map((info, index) => ({ layer: leaf.layer, scope: leaf.scope, info, index })));
  const located = locateWeights(context, expected, groups);
  const buffers = new Map<WeightGroup, Buffer>();
  for (const group of new Set(located.map((entry) => entry.group))) buffers.set(group, await readGroup(context, group));
  const values: Tensor[] = located.map(({ group, spec, offset }) => tensor(decodeWeight(context, spec, buffers.get(group)!, offset), spec.shape, 'float32'));
  model.setWeights(values);
  return model;
}

/** The topology and the weight groups of a source, its files not read yet. */
async function readSource(source: LayersModelSource): Promise<{ origin: string; topology: unknown; groups: WeightGroup[] }> {
  if (typeof source === 'string' && source.length > 0) return readModelJson(source);
  if (typeof source === 'object' && source !== null && !Array.isArray(source) && 'modelTopology' in source) {
    const origin = 'the model artifacts';
    const specs = source.weightSpecs ?? [];
    if (!Array.isArray(specs)) throw invalidArgument(CONTEXT, 'weightSpecs to be a list of weight specs', specs);
    const bytes = artifactBytes(source.weightData);
    return { origin, topology: source.modelTopology, groups: [{ specs, origin: 'weightData', read: async () => bytes }] };
  }
  throw invalidArgument(CONTEXT, "a path to a model.json or model artifacts ({ modelTopology, weightSpecs, weightData })", source);
}

function artifactBytes(data: LayersModelArtifacts['weightData']): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (Array.isArray(data) && data.every((part) => part instanceof ArrayBuffer)) return Buffer.concat(data.map((part) => Buffer.from(part)));
  throw invalidArgument(CONTEXT, 'weightData to be an ArrayBuffer, a list of them or a Uint8Array', data);
}

async function readModelJson(source: string): Promise<{ origin: string; topology: unknown; groups: WeightGroup[] }> {
  let file = source.startsWith('file://') ? source.slice('file://'.length) : source;
  const stat = await fs.stat(file).catch(() => undefined);
  if (stat?.isDirectory()) file = path.join(file, 'model.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new ValueError(`${CONTEXT}: expected a TensorFlow.js model.json at ${file} but it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValueError(`${CONTEXT} ${file}: expected JSON but it does not parse (${(error as Error).message})`);
  }
  const context = `${CONTEXT} ${file}`;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ValueError(`${context}: expected a JSON object with modelTopology and weightsManifest but received ${describe(json)}`);
  const { format, modelTopology, weightsManifest } = json as Record<string, unknown>;
  if (format === 'graph-model' || (typeof modelTopology === 'object' && modelTopology !== null && 'node' in modelTopology)) {
    throw new ValueError(`${context}: expected a Layers model (format 'layers-model') but received a graph model (format 'graph-model'), which holds a TensorFlow graph rather than Keras layers`);
  }
  if (modelTopology === undefined || modelTopology === null) throw new ValueError(`${context}: expected a modelTopology but the file has none`);
  const manifest = weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new ValueError(`${context}: expected weightsManifest to be a list of {paths, weights} groups but received ${describe(manifest)}`);
  const directory = path.dirname(file);
  const groups = manifest.map((group, g): WeightGroup => {
    const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || !Array.isArray(weights)) {
      throw new ValueError(`${context}: expected weightsManifest[${g}] to be {paths: [file names], weights: [specs]} but received ${describe(group)}`);
    }
    const files = (paths as string[]).map((p) => path.resolve(directory, p));
    return {
      specs: weights as LayersWeightSpec[],
      origin: `the weight files of weightsManifest[${g}] (${files.join(', ')})`,
      read: async () => {
        const parts = await Promise.all(
          files.map((shard, k) =>
            fs.readFile(shard).catch((error: NodeJS.ErrnoException) => {
              throw new ValueError(`${context}: expected the weight file ${shard} (weightsManifest[${g}].paths[${k}]) but it cannot be read (${error.code ?? error.message})`);
            }),
          ),
        );
        return parts.length === 1 ? parts[0] : Buffer.concat(parts);
      },
    };
  });
  return { origin: file, topology: modelTopology, groups };
}

async function readGroup(context: string, group: WeightGroup): Promise<Buffer> {
  const bytes = await group.read();
  const ends: number[] = [];
  group.specs.forEach((spec) => ends.push((ends[ends.length - 1] ?? 0) + byteLength(context, spec)));
  const total = ends[ends.length - 1] ?? 0;
  if (total > bytes.length) {
    const cut = group.specs[ends.findIndex((end) => end > bytes.length)];
    throw new ValueError(
      `${context}: expected ${group.origin} to hold ${total} bytes (the ${group.specs.length} weights of its manifest) but they hold ${bytes.length}, ` +
        `which ends within weight '${cut.name}'`,
    );
  }
  return bytes;
}

const VALUE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** How many bytes a weight takes in its group, as stored (quantized or not). */
function byteLength(context: string, spec: LayersWeightSpec): number {
  const stored = spec.quantization ? spec.quantization.dtype : spec.dtype;
  const bytes = VALUE_BYTES[stored];
  if (bytes === undefined) {
    throw new ValueError(`${context}: weight '${spec.name}' is stored as ${describe(stored)}, which keras-torch cannot read (expected one of ${Object.keys(VALUE_BYTES).join(', ')})`);
  }
  return spec.shape.reduce((a, b) => a * b, 1) * bytes;
}

interface Expected {
  layer: Layer;
  scope: string[];
  info: WeightInfo;
  index: number;
}

interface Located {
  group: WeightGroup;
  spec: LayersWeightSpec;
  offset: number;
}

/**
 * Finds each of the model's weights in the manifest, by the names Keras and TensorFlow.js give them:
 * `layer/weight` (`dense_1/kernel`, `batch_normalization/moving_mean`), with the names of the nested
 * models it sits in before it (`model/dense/kernel`), or Keras 3's position in the layer (`dense/0`,
 * `dense/vars/0`); and checks every shape against the config's. Every model weight in the manifest must
 * be taken; an optimizer's state (group 'optimizer') is skipped.
 */
function locateWeights(context: string, expected: Expected[], groups: WeightGroup[]): Located[] {
  const entries: Located[] = [];
  groups.forEach((group) => {
    let offset = 0;
    group.specs.forEach((spec, i) => {
      if (typeof spec?.name !== 'string' || !Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new ValueError(`${context}: expected weight spec ${i} of ${group.origin} to have a name and a shape of non-negative integers but received ${describe(spec)}`);
      }
      entries.push({ group, spec, offset });
      offset += byteLength(context, spec);
    });
  });
  const model = entries.filter((entry) => entry.spec.group !== 'optimizer');
  // Every name ending (of two segments or more) -> the entries whose names end so.
  const byEnding = new Map<string, number[]>();
  model.forEach((entry, i) => {
    const segments = entry.spec.name.replace(/:0$/, '').split('/');
    for (let start = 0; start <= segments.length - 2; start++) {
      const ending = segments.slice(start).join('/');
      byEnding.set(ending, [...(byEnding.get(ending) ?? []), i]);
    }
  });
  const taken = new Set<number>();
  const located = expected.map(({ layer, scope, info, index }) => {
    const owner = [...scope, layer.name];
    const keys = [
      [...owner, info.name],
      [layer.name, info.name],
      [...owner, String(index)],
      [layer.name, String(index)],
      [...owner, 'vars', String(index)],
      [layer.name, 'vars', String(index)],
    ].map((segments) => segments.join('/'));
    for (const key of keys) {
      const candidates = (byEnding.get(key) ?? []).filter((i) => !taken.has(i));
      if (candidates.length === 0) continue;
      const exact = candidates.filter((i) => model[i].spec.name.replace(/:0$/, '') === key);
      const chosen = exact.length === 1 ? exact[0] : candidates.length === 1 ? candidates[0] : undefined;
      if (chosen === undefined) {
        throw new ValueError(
          `${context}: weight '${info.name}' of layer '${owner.join('/')}' matches several weights of the manifest (${candidates.map((i) => `'${model[i].spec.name}'`).join(', ')})`,
        );
      }
      taken.add(chosen);
      const { spec } = model[chosen];
      if (spec.shape.join() !== info.shape.join()) {
        throw new ValueError(
          `${context}: expected weight '${spec.name}' of layer '${owner.join('/')}' (${layer.className}) to have shape [${info.shape.join(', ')}] (from the config) but the manifest gives [${spec.shape.join(', ')}]`,
        );
      }
      return model[chosen];
    }
    throw new ValueError(
      `${context}: expected a weight named '${keys[0]}' (the ${info.name} of ${layer.className} '${layer.name}', shape [${info.shape.join(', ')}]) but the manifest has none` +
        ` (it has ${model.length > 8 ? `${model.length} weights` : model.map((e) => `'${e.spec.name}'`).join(', ') || 'no weights'})`,
    );
  });
  const unused = model.filter((_, i) => !taken.has(i)).map((entry) => `'${entry.spec.name}'`);
  if (unused.length > 0) {
    throw new ValueError(`${context}: the manifest has ${unused.length === 1 ? 'a weight' : 'weights'} ${unused.join(', ')} that no layer of the config takes`);
  }
  return located;
}

/** A weight's values as float32, dequantized as TensorFlow.js's decodeWeights does. */
function decodeWeight(context: string, spec: LayersWeightSpec, bytes: Buffer, offset: number): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const what = `weight '${spec.name}'`;
  const quantization = spec.quantization;
  const original = quantization?.original_dtype ?? spec.dtype;
  if (original !== 'float32') throw new ValueError(`${context}: expected ${what} to be float32 (keras-torch's weights are) but the manifest gives ${describe(original)}`);
  if (!quantization) return new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4));
  const values = new Float32Array(count);
  if (quantization.dtype === 'float16') {
    const halves = new Uint16Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 2));
    const table = halfTable();
    for (let i = 0; i < count; i++) values[i] = table[halves[i]];
    return values;
  }
  const { min, scale } = quantization;
  if (typeof min !== 'number' || !Number.isFinite(min) || typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new ValueError(`${context}: expected ${what}, quantized to ${quantization.dtype}, to have a finite min and scale but received ${describe({ min, scale })}`);
  }
  const start = bytes.byteOffset + offset;
  const stored = quantization.dtype === 'uint8' ? new Uint8Array(bytes.buffer, start, count) : new Uint16Array(bytes.buffer.slice(start, start + count * 2));
  for (let i = 0; i < count; i++) values[i] = stored[i] * scale + min;
  return values;
}

let halves: Float32Array | undefined;

/** Every float16 bit pattern's value (IEEE 754 binary16), made once. */
function halfTable(): Float32Array {
  if (halves) return halves;
  halves = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) halves[bits] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 31) halves[bits] = fraction ? NaN : sign * Infinity;
    else halves[bits] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return halves;
}
