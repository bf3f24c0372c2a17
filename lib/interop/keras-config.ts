/**
 * Keras's own model configs, as Keras 2, Keras 3 and TensorFlow.js write them (snake_case fields,
 * `{class_name, config}` objects, Keras 3's `module`/`registered_name`, DTypePolicy objects, `batch_shape`
 * and `{args, kwargs}` nodes), read into keras-torch's configs (camelCase options, `{className, config}`),
 * which the layer registry and Model.fromConfig then build as they build a model file's config. Every
 * option that reaches a layer is checked by the layer itself, so an option keras-torch lacks fails there,
 * by name; this reader only spells, and reads past the fields listed below that change nothing a model
 * computes or learns.
 */
import { describe, ValueError } from '../errors';
import { isLayerClassName, layerClassNames } from '../layers/registry';
import type { TensorReference } from '../models/functional';

type Json = Record<string, unknown>;

/** A config translated: the class to build and keras-torch's config for it. */
export interface TranslatedModel {
  className: 'Sequential' | 'Functional';
  config: Json;
}

const MODEL_CLASSES = new Set(['Sequential', 'Functional']);

/** Old spellings of class names that Keras versions wrote for the same layer. */
const CLASS_ALIASES: Record<string, string> = { BatchNormalizationV1: 'BatchNormalization', BatchNormalizationV2: 'BatchNormalization', Model: 'Functional' };

/**
 * Fields read past whatever they hold, because they change nothing keras-torch computes or trains:
 * - `batch_size` (InputLayer): keras-torch takes batches of any size;
 * - `fused` (BatchNormalization): which TensorFlow kernel runs, not what it computes;
 * - `renorm_momentum`: used only with `renorm`, which is refused unless off (below);
 * - every `*_initializer`: initializers only draw a layer's first weights, and every weight of an imported
 *   model is replaced by the file's (the layers keep keras-torch's default initializers).
 */
const IGNORED_FIELDS = new Set(['batch_size', 'fused', 'renorm_momentum']);

/**
 * Options with one value keras-torch has, read past when they hold it; any other value is refused by name.
 * Every keras-torch layer is channels-last, so `data_format` is read past whether or not the layer takes it.
 */
const FIXED_VALUES: Record<string, { value: unknown; why: string }> = {
  sparse: { value: false, why: 'keras-torch has no sparse inputs' },
  ragged: { value: false, why: 'keras-torch has no ragged inputs' },
  optional: { value: false, why: 'keras-torch has no optional inputs' },
  renorm: { value: false, why: 'keras-torch has no batch renormalization' },
  synchronized: { value: false, why: 'keras-torch has no batch statistics synchronized across devices' },
  rms_scaling: { value: false, why: 'keras-torch has no RMS-only layer normalization' },
  data_format: { value: 'channels_last', why: "keras-torch's layers are channels-last" },
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `kernel_size` -> `kernelSize`. */
function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function fail(context: string, message: string): never {
  throw new ValueError(`${context}: ${message}`);
}

/** A Keras 2 `class_name`, or Keras 3's (with `module` and `registered_name` beside it), with old aliases resolved. */
function classNameOf(entry: Json): string | undefined {
  const name = entry.class_name;
  return typeof name === 'string' ? (CLASS_ALIASES[name] ?? name) : undefined;
}

/** A layer entry's name: Keras writes it beside the config, in it, or both. */
function entryName(entry: Json): unknown {
  return entry.name ?? (isObject(entry.config) ? entry.config.name : undefined);
}

/**
 * The model a TensorFlow.js `modelTopology` (or a Keras `model_config`) describes, in keras-torch's config.
 * Layer kinds keras-torch does not have are named all at once, before anything is built.
 */
export function translateModelConfig(context: string, topology: unknown): TranslatedModel {
  const root = isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology;
  if (!isObject(root)) fail(context, `expected a model config ({class_name, config}) but received ${describe(root)}`);
  const className = classNameOf(root);
  if (className !== 'Sequential' && className !== 'Functional') {
    fail(context, `expected a Sequential or Functional model config but received class_name ${describe(root.class_name)}`);
  }
  const unknown = unknownLayerKinds(root);
  if (unknown.size > 0) {
    const list = [...unknown].map(([kind, layers]) => `${kind} (${layers.map((l) => `'${l}'`).join(', ')})`);
    fail(
      context,
      `keras-torch has no layer ${unknown.size === 1 ? 'kind' : 'kinds'} ${list.join(', ')}; the kinds it has are ${layerClassNames().filter((n) => n !== 'Model').join(', ')}`,
    );
  }
  return { className, config: modelConfig(context, className, root.config) };
}

/** Layer kind -> the layers of that kind, for every kind in the config (nested models included) that keras-torch lacks. */
function unknownLayerKinds(root: Json): Map<string, string[]> {
  const unknown = new Map<string, string[]>();
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const model = pending.pop() as Json;
    const config = model.config;
    const layers = Array.isArray(config) ? config : isObject(config) && Array.isArray(config.layers) ? config.layers : [];
    for (const entry of layers) {
      if (!isObject(entry)) continue;
      const className = classNameOf(entry);
      if (className !== undefined && MODEL_CLASSES.has(className)) pending.push(entry);
      else if (className === undefined || !isLayerClassName(className)) {
        const kind = className ?? describe(entry.class_name);
        unknown.set(kind, [...(unknown.get(kind) ?? []), String(entryName(entry) ?? '?')]);
      }
    }
  }
  return unknown;
}

function modelConfig(context: string, className: 'Sequential' | 'Functional', raw: unknown): Json {
  return className === 'Sequential' ? sequentialConfig(context, raw) : functionalConfig(context, raw);
}

/** A layer entry of a model config -> keras-torch's `{className, config}` (a nested model's config translated too). */
function layerEntry(context: string, entry: unknown, position: string): { className: string; config: Json } {
  if (!isObject(entry)) fail(context, `expected ${position} to be a layer config ({class_name, config}) but received ${describe(entry)}`);
  const className = classNameOf(entry)!;
  const where = `${context}: layer '${String(entryName(entry) ?? position)}' (${className})`;
  if (className === 'Sequential' || className === 'Functional') return { className, config: modelConfig(where, className, entry.config) };
  if (!isObject(entry.config)) fail(where, `expected its config to be an object but received ${describe(entry.config)}`);
  return { className, config: layerConfig(where, entry.config) };
}

/**
 * Keras 2's Sequential config (`{name, layers}`, or the layers alone as Keras 2.1 wrote it), or Keras 3's
 * (`{name, trainable, dtype, layers, build_input_shape}`).
 */
function sequentialConfig(context: string, raw: unknown): Json {
  const config = Array.isArray(raw) ? { layers: raw } : raw;
  if (!isObject(config) || !Array.isArray(config.layers)) fail(context, `expected a Sequential config with a list of layers but received ${describe(raw)}`);
  if (config.dtype !== undefined) checkFloat32(context, config.dtype);
  const out: Json = { layers: config.layers.map((entry, i) => layerEntry(context, entry, `layers[${i}]`)) };
  if (config.name !== undefined) out.name = config.name;
  if (config.trainable === false) out.trainable = false;
  if (config.build_input_shape !== undefined && config.build_input_shape !== null) {
    out.inputShape = sampleShape(context, 'build_input_shape', config.build_input_shape);
  }
  return out;
}

/** Keras's functional config: layers with their inbound nodes, and the model's input and output tensors. */
function functionalConfig(context: string, raw: unknown): Json {
  if (!isObject(raw) || !Array.isArray(raw.layers)) fail(context, `expected a Functional config with a list of layers but received ${describe(raw)}`);
  const entries = raw.layers as unknown[];
  const offsets = nestedModelNodeOffsets(entries, raw.output_layers);
  const reference = (value: unknown, what: string): TensorReference => {
    const ref = tensorReference(context, value, what);
    const offset = offsets.get(ref[0]) ?? 0;
    return [ref[0], ref[1] - offset, ref[2], ...(ref[3] ? [ref[3]] : [])] as TensorReference;
  };
  const layers = entries.map((entry, i) => {
    const { className, config } = layerEntry(context, entry, `layers[${i}]`);
    const record = entry as Json;
    const name = entryName(record);
    if (typeof name !== 'string') fail(context, `expected layers[${i}] to have a name but received ${describe(name)}`);
    const nodes = record.inbound_nodes ?? [];
    if (!Array.isArray(nodes)) fail(context, `expected the inbound_nodes of layer '${name}' to be a list but received ${describe(nodes)}`);
    const inboundNodes = nodes.map((node, n) => nodeInputs(`${context}: layer '${name}'`, node, `inbound_nodes[${n}]`).map((ref) => reference(ref, `an input of layer '${name}'`)));
    return { className, name, config, inboundNodes };
  });
  const out: Json = {
    layers,
    inputLayers: tensorList(context, raw.input_layers, 'input_layers').map((ref) => reference(ref, 'input_layers')),
    outputLayers: tensorList(context, raw.output_layers, 'output_layers').map((ref) => reference(ref, 'output_layers')),
  };
  if (raw.name !== undefined) out.name = raw.name;
  if (raw.trainable === false) out.trainable = false;
  return out;
}

/**
 * Keras 2 and TensorFlow.js count a nested model's own graph as its first node, so the nodes that apply
 * it inside the outer model are numbered from 1 (Keras 2's `_should_skip_first_node`); Keras 3 and
 * keras-torch number them from 0. Seen from the config: references reach one past the model's own
 * inbound nodes. Layer name -> how much to take off its node indices.
 */
function nestedModelNodeOffsets(entries: unknown[], outputs: unknown): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of entries) {
    if (isObject(entry) && MODEL_CLASSES.has(classNameOf(entry) ?? '') && typeof entryName(entry) === 'string') {
      counts.set(entryName(entry) as string, Array.isArray(entry.inbound_nodes) ? entry.inbound_nodes.length : 0);
    }
  }
  const highest = new Map<string, number>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'number') {
      if (counts.has(value[0])) highest.set(value[0], Math.max(highest.get(value[0]) ?? -1, value[1]));
    } else if (isObject(value) && value.class_name === '__keras_tensor__') {
      return; // Keras 3 numbers nodes from 0 already.
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (isObject(value)) {
      Object.values(value).forEach(visit);
    }
  };
  for (const entry of entries) if (isObject(entry)) visit(entry.inbound_nodes);
  visit(outputs);
  const offsets = new Map<string, number>();
  for (const [name, count] of counts) if ((highest.get(name) ?? -1) >= count && count > 0) offsets.set(name, 1);
  return offsets;
}

/**
 * One inbound node's input tensors: Keras 2's list of `[layer, node, tensor, kwargs]`, or Keras 3's
 * `{args, kwargs}` whose args hold `__keras_tensor__` objects (a merge layer's as one list). The call's
 * `training` argument is kept; other keyword arguments must be null.
 */
function nodeInputs(context: string, node: unknown, what: string): unknown[] {
  if (Array.isArray(node)) return node;
  if (!isObject(node) || !Array.isArray(node.args)) fail(context, `expected ${what} to be a list of tensors or {args, kwargs} but received ${describe(node)}`);
  const args = node.args.length === 1 && Array.isArray(node.args[0]) ? node.args[0] : node.args;
  const kwargs = node.kwargs === undefined ? {} : node.kwargs;
  if (!isObject(kwargs)) fail(context, `expected ${what}.kwargs to be an object but received ${describe(kwargs)}`);
  const call = callArguments(context, kwargs, `${what}.kwargs`);
  return args.map((arg) => (call ? [...kerasHistory(context, arg, `${what}.args`), call] : arg));
}

/** The `training` call argument of `kwargs`, refusing the others keras-torch cannot honour. */
function callArguments(context: string, kwargs: Json, what: string): { training: boolean } | undefined {
  let training: boolean | undefined;
  for (const [key, value] of Object.entries(kwargs)) {
    if (key === 'training' && typeof value === 'boolean') training = value;
    else if (value !== null && value !== undefined) {
      fail(context, `expected ${what} to hold only training (a boolean) or null arguments but received ${key}: ${describe(value)}`);
    }
  }
  return training === undefined ? undefined : { training };
}

/** `[layer, node, tensor]` of a Keras 3 `__keras_tensor__` (its keras_history) or of a Keras 2 reference. */
function kerasHistory(context: string, value: unknown, what: string): [string, number, number] {
  const history = isObject(value) && value.class_name === '__keras_tensor__' ? (isObject(value.config) ? value.config.keras_history : undefined) : value;
  return tensorReference(context, history, what).slice(0, 3) as [string, number, number];
}

/** `[layer, node, tensor]` (with Keras 2's kwargs fourth) or a Keras 3 `__keras_tensor__`. */
function tensorReference(context: string, value: unknown, what: string): TensorReference {
  if (isObject(value) && value.class_name === '__keras_tensor__') return kerasHistory(context, value, what);
  const valid =
    Array.isArray(value) &&
    value.length >= 3 &&
    typeof value[0] === 'string' &&
    [value[1], value[2]].every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0);
  if (!valid) fail(context, `expected ${what} to be a tensor reference [layer name, node index, tensor index] but received ${describe(value)}`);
  const kwargs = value[3];
  const call = isObject(kwargs) ? callArguments(context, kwargs, `the arguments of ${what}`) : undefined;
  return call ? [value[0], value[1], value[2], call] : [value[0], value[1], value[2]];
}

/** `input_layers`/`output_layers`: a list of references, one reference alone (Keras 3.0), or an object of them. */
function tensorList(context: string, value: unknown, what: string): unknown[] {
  if (Array.isArray(value) && typeof value[0] === 'string') return [value];
  if (Array.isArray(value) && value.length > 0) return value;
  if (isObject(value) && Object.keys(value).length > 0) return Object.values(value);
  fail(context, `expected ${what} to list the model's tensors but received ${describe(value)}`);
}

/** A layer's Keras config -> its keras-torch options. */
function layerConfig(context: string, raw: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(raw)) {
    if (IGNORED_FIELDS.has(key) || key.endsWith('_initializer')) continue;
    if (Object.hasOwn(FIXED_VALUES, key)) {
      const { value: only, why } = FIXED_VALUES[key];
      if (value !== only && value !== null) fail(context, `expected ${key} to be ${describe(only)} (${why}) but received ${describe(value)}`);
      continue;
    }
    // Keras's None: the option is off or at its default (an absent option means the same to keras-torch);
    // `axis: null` means "every axis" to Normalization, so it reaches the layer.
    if (value === null && key !== 'axis') continue;
    switch (key) {
      case 'dtype':
        checkFloat32(context, value);
        break;
      case 'batch_input_shape':
      case 'batch_shape':
        out.inputShape = sampleShape(context, key, value);
        break;
      case 'activation':
        out.activation = activationName(value);
        break;
      case 'target_shape':
        // TensorFlow.js writes Reshape's inferred axis (-1) as null.
        out.targetShape = Array.isArray(value) ? value.map((d) => (d === null ? -1 : d)) : value;
        break;
      default:
        out[camelCase(key)] = serializedObject(value);
    }
  }
  return out;
}

/** Keras's `{class_name, config}` (a regularizer, a constraint) -> keras-torch's `{className, config}`. */
function serializedObject(value: unknown): unknown {
  if (!isObject(value) || typeof value.class_name !== 'string') return value;
  const config = isObject(value.config) ? value.config : {};
  const camel: Json = {};
  for (const [key, item] of Object.entries(config)) if (item !== null) camel[camelCase(key)] = item;
  return { className: value.class_name, config: camel };
}

/** An activation: its name, or Keras 3's serialized function `{class_name: 'function', config: 'relu'}`. */
function activationName(value: unknown): unknown {
  return isObject(value) && typeof value.config === 'string' ? value.config : value;
}

/**
 * A layer's dtype: 'float32', or a DTypePolicy (Keras 3) / Policy (Keras 2 mixed precision) of float32;
 * keras-torch computes and stores weights in float32 only.
 */
function checkFloat32(context: string, value: unknown): void {
  const name = isObject(value) ? (isObject(value.config) ? value.config.name : undefined) : value;
  if (name !== 'float32') fail(context, `expected dtype 'float32' (keras-torch computes in float32) but received ${describe(isObject(value) ? name ?? value : value)}`);
}

/** A Keras batch shape (`[null, 64, 64, 3]`) -> the sample shape keras-torch layers take. */
function sampleShape(context: string, key: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length < 2) fail(context, `expected ${key} to be a shape with a batch axis but received ${describe(value)}`);
  const sample = value.slice(1);
  if (!sample.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1)) {
    fail(context, `expected ${key} to give every axis after the batch axis a size (keras-torch fixes input shapes) but received ${describe(value)}`);
  }
  return sample as number[];
}
