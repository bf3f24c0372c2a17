/**
 * ONNX export, Keras 3's `model.export(filepath, format='onnx')`: the model's inference graph as ONNX ops,
 * with its weights. It writes the same layer specs the native model is built from (Layer.toSpecs; their
 * semantics are native/layers.cc's and native/preprocessing.cc's), one converter per spec kind, so the file
 * computes what `predict` computes: BatchNormalization on its moving statistics, Dropout, GaussianNoise and
 * the random augmentation layers as the identity (RandomCrop as its centred resize). Values stay in Keras's
 * channels-last layout between ops; the ops that want channels-first (convolutions, pooling, Resize) are
 * wrapped in Transposes, which ONNX Runtime's graph optimizer cancels where two meet.
 */
import { invalidArgument, ValueError } from '../errors';
import type { Layer } from '../layers/layer';
import type { Node, SymbolicTensor } from '../layers/symbolic';
import type { LayerSpec } from '../native/binding';
import type { Tensor } from '../tensor';
import { checkKnownOptions, checkOneOf, checkPlainObject } from '../validation';
import { isNestedModel, Topology } from '../models/functional';
import { Attribute, float, int, ints, MAX_OPSET, MIN_OPSET, OnnxGraph, string } from './onnx-graph';

export interface ExportOptions {
  /** The file format: only 'onnx' (Keras's default, 'tf_saved_model', needs TensorFlow). Default 'onnx'. */
  format?: 'onnx';
  /** The ONNX opset the file declares, 13 to 21. Default 17. */
  opset?: number;
}

export const DEFAULT_OPSET = 17;

/** Checks export's options; returns the opset. */
export function checkExportOptions(operation: string, options: unknown): number {
  const checked = checkPlainObject(operation, 'options', options);
  checkKnownOptions(operation, checked, ['format', 'opset']);
  checkOneOf(operation, 'format', checked.format ?? 'onnx', ['onnx']);
  const opset = checked.opset ?? DEFAULT_OPSET;
  if (typeof opset !== 'number' || !Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw invalidArgument(operation, `opset to be an integer from ${MIN_OPSET} to ${MAX_OPSET}`, opset);
  }
  return opset;
}

/** What export needs of a model; lib/models/model.ts provides it. */
export interface ExportableModel {
  readonly name: string;
  readonly topology: Topology;
  readonly inputNames: string[];
  readonly outputNames: string[];
  getWeights(): Tensor[];
}

/** One weight of a layer as getWeights gives it: Keras's name, shape and layout. */
interface LayerWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** A layer's weights, handed to its specs' converters in order (a SeparableConv2D's depthwise spec takes the first). */
class WeightCursor {
  private next = 0;

  constructor(
    private readonly graph: OnnxGraph,
    private readonly path: string,
    private readonly weights: readonly LayerWeight[],
  ) {}

  /** The next weight, and a name for an initializer made from it (made once, for all nodes of a shared layer). */
  take(): LayerWeight & { initializer: (variant: string, make: (weight: LayerWeight) => string) => string } {
    const index = this.next++;
    const weight = this.weights[index];
    if (!weight) throw new Error(`ONNX export: layer '${this.path}' has fewer weights than its specs read`);
    return { ...weight, initializer: (variant, make) => this.graph.once(`${this.path}#${index}#${variant}`, () => make(weight)) };
  }

  /** Whether every weight was read: the specs and the weights agree. */
  get finished(): boolean {
    return this.next === this.weights.length;
  }
}

/** What a spec's converter gets: the graph, the spec, the names of its inputs and the layer's shapes. */
interface ConversionContext {
  graph: OnnxGraph;
  spec: LayerSpec;
  inputs: string[];
  /**
   * The shape of the layer's (first) input without the batch axis: what the first of a layer's specs
   * reads. The specs after the first (an activation, SeparableConv2D's pointwise convolution) need none.
   */
  inputShape: readonly number[];
  weights: WeightCursor;
}

type Converter = (context: ConversionContext) => string;

/** Spec kinds that differ between training and inference: a node that always trains cannot be exported. */
const MODE_DEPENDENT = new Set([
  'dropout',
  'gaussian_noise',
  'batch_normalization',
  'random_flip',
  'random_rotation',
  'random_zoom',
  'random_translation',
  'random_contrast',
  'random_brightness',
  'random_crop',
]);

/** The largest message protocol buffers parse, so the largest ONNX file without external data. */
const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

/** The ONNX file of `model`'s inference graph, at `opset`. */
export function encodeOnnx(model: ExportableModel, opset: number): Buffer {
  const topology = model.topology;
  const graph = new OnnxGraph(opset);

  const all = model.getWeights();
  const layers = new Map<Layer, { path: string; weights: LayerWeight[] }>();
  let position = 0;
  let bytes = 0;
  for (const leaf of topology.leafLayers()) {
    const weights = leaf.weights.map((info) => {
      const weight = all[position++];
      const values = weight.dataSync() as Float32Array;
      weight.dispose();
      bytes += values.byteLength;
      return { name: info.name, shape: info.shape, values };
    });
    layers.set(leaf.layer, { path: leaf.path, weights });
  }
  if (bytes > MAX_PROTOBUF_BYTES) {
    throw new ValueError(
      `export: the model's weights take ${(bytes / 2 ** 30).toFixed(1)} GiB; an ONNX file holds at most 2 GiB ` +
        "(protocol buffers' limit; larger models need ONNX's external data files, which export does not write)",
    );
  }

  const problems: string[] = [];
  const writeLayer = (node: Node, reads: string[], training: boolean | undefined): string => {
    const layer = node.layer;
    const { path, weights } = layers.get(layer)!;
    const inputShape = node.inputs[0].sampleShape;
    const specs = layer.toSpecs(inputShape);
    if (training === true && specs.some((spec) => MODE_DEPENDENT.has(spec.kind))) {
      problems.push(`'${path}' (${layer.className} applied with training: true, which has no inference form)`);
      return reads[0];
    }
    const unknown = specs.find((spec) => !Object.hasOwn(CONVERTERS, spec.kind));
    if (unknown) {
      problems.push(`'${path}' (${layer.className}: no ONNX form for its '${unknown.kind}' module)`);
      return reads[0];
    }
    graph.scope = path.replace(/\./g, '/');
    const cursor = new WeightCursor(graph, path, weights);
    let current = reads;
    for (const spec of specs) current = [CONVERTERS[spec.kind]({ graph, spec, inputs: current, inputShape, weights: cursor })];
    if (!cursor.finished) throw new Error(`ONNX export: layer '${path}' has more weights than its specs read`);
    // A layer without modules (Activation('linear'), ActivityRegularization) passes its input on.
    const output = specs.length === 0 ? graph.node('Identity', reads) : current[0];
    graph.scope = '';
    return output;
  };

  const emit = (inner: Topology, inputNames: string[], inherited: boolean | undefined): string[] => {
    const names = new Map<SymbolicTensor, string>();
    inner.inputs.forEach((input, i) => names.set(input, inputNames[i]));
    for (const node of inner.nodes) {
      if (node.inputs.length === 0) continue;
      const reads = node.inputs.map((tensor) => names.get(tensor)!);
      // A node's own `training` wins; a nested model's applies to every node inside it (as the native graph).
      const training = node.training ?? inherited;
      if (isNestedModel(node.layer)) {
        const produced = emit(node.layer.topology, reads, training);
        node.outputs.forEach((tensor, i) => names.set(tensor, produced[i]));
      } else {
        names.set(node.outputs[0], writeLayer(node, reads, training));
      }
    }
    return inner.outputs.map((output) => names.get(output)!);
  };

  const inputNames = model.inputNames;
  topology.inputs.forEach((input, i) => {
    graph.reserve(inputNames[i]);
    graph.addInput(inputNames[i], ['batch', ...input.sampleShape]);
  });
  const produced = emit(topology, inputNames, undefined);
  if (problems.length > 0) {
    throw new ValueError(`export: these layers cannot be written to ONNX: ${problems.join('; ')}`);
  }
  model.outputNames.forEach((name, i) => {
    // Each output under the name predict keys it by; an input returned as it is already has its name.
    const value = produced[i] === name ? name : graph.node('Identity', [produced[i]], {}, graph.reserve(name) ? name : graph.uniqueName(name));
    graph.addOutput(value, ['batch', ...topology.outputs[i].sampleShape]);
  });
  return graph.encode(model.name);
}

// ---- layouts ---------------------------------------------------------------------------------------

/** The permutation that moves the channels (last) axis to axis 1: NHWC -> NCHW, [N, steps, C] -> [N, C, steps]. */
function channelsFirst(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** The inverse of channelsFirst. */
function channelsLast(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

/** `op` on the channels-first view of a channels-last value, back in channels-last. */
function onChannelsFirst(graph: OnnxGraph, input: string, rank: number, op: (first: string) => string): string {
  const first = graph.node('Transpose', [input], { perm: ints(channelsFirst(rank)) });
  return graph.node('Transpose', [op(first)], { perm: ints(channelsLast(rank)) });
}

/** `values` of `shape` with its axes reordered: axis i of the result is axis `perm[i]` of the input (row-major). */
function permuted(values: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const sourceStrides = new Array<number>(rank);
  for (let axis = rank - 1, stride = 1; axis >= 0; axis--) {
    sourceStrides[axis] = stride;
    stride *= shape[axis];
  }
  const sizes = perm.map((axis) => shape[axis]);
  const strides = perm.map((axis) => sourceStrides[axis]);
  const result = new Float32Array(values.length);
  const index = new Array<number>(rank).fill(0);
  let source = 0;
  for (let target = 0; target < result.length; target++) {
    result[target] = values[source];
    for (let axis = rank - 1; axis >= 0; axis--) {
      source += strides[axis];
      if (++index[axis] < sizes[axis]) break;
      source -= strides[axis] * sizes[axis];
      index[axis] = 0;
    }
  }
  return result;
}

// ---- converters ------------------------------------------------------------------------------------

/** The fields of a spec that a converter reads (lib/layers/*'s toSpecs write them). */
function fields<T>(spec: LayerSpec): T {
  return spec as unknown as T;
}

interface ConvolutionSpec {
  filters: number;
  groups?: number;
  kernelSize: [number, number];
  strides: [number, number];
  dilationRate: [number, number];
  /** [top, bottom, left, right]. */
  padding: [number, number, number, number];
  useBias: boolean;
}

/** The bias initializer of a convolution or Dense layer, when it has one. */
function takeBias(context: ConversionContext, useBias: boolean): string[] {
  if (!useBias) return [];
  const bias = context.weights.take();
  return [bias.initializer('bias', (weight) => context.graph.floats(weight.name, weight.shape, weight.values))];
}

/** Conv2D and SeparableConv2D's pointwise convolution: the Keras kernel [kh, kw, in / groups, out] as ONNX's [out, in / groups, kh, kw]. */
const conv2d: Converter = (context) => {
  const { graph, inputs } = context;
  const spec = fields<ConvolutionSpec>(context.spec);
  const kernel = context.weights.take();
  const [kh, kw, perGroup, filters] = kernel.shape;
  const weight = kernel.initializer('oihw', (w) => graph.floats(w.name, [filters, perGroup, kh, kw], permuted(w.values, w.shape, [3, 2, 0, 1])));
  return convolution2d(graph, inputs[0], [weight, ...takeBias(context, spec.useBias)], spec, spec.groups ?? 1);
};

/** DepthwiseConv2D (and SeparableConv2D's first step): [kh, kw, in, multiplier] as [in * multiplier, 1, kh, kw], one group per channel. */
const depthwiseConv2d: Converter = (context) => {
  const { graph, inputs } = context;
  const spec = fields<ConvolutionSpec & { inChannels: number }>(context.spec);
  const kernel = context.weights.take();
  const [kh, kw, channels, multiplier] = kernel.shape;
  const weight = kernel.initializer('oihw', (w) => graph.floats(w.name, [channels * multiplier, 1, kh, kw], permuted(w.values, w.shape, [2, 3, 0, 1])));
  return convolution2d(graph, inputs[0], [weight, ...takeBias(context, spec.useBias)], spec, spec.inChannels);
};

function convolution2d(graph: OnnxGraph, input: string, weights: string[], spec: ConvolutionSpec, groups: number): string {
  const [top, bottom, left, right] = spec.padding;
  return onChannelsFirst(graph, input, 4, (x) =>
    graph.node('Conv', [x, ...weights], {
      kernel_shape: ints(spec.kernelSize),
      strides: ints(spec.strides),
      dilations: ints(spec.dilationRate),
      pads: ints([top, left, bottom, right]),
      group: int(groups),
    }),
  );
}

/** Conv1D on [batch, steps, channels]: the Keras kernel [k, in / groups, out] as [out, in / groups, k]. */
const conv1d: Converter = (context) => {
  const { graph, inputs } = context;
  const spec = fields<{ kernelSize: number; strides: number; dilationRate: number; groups: number; padding: [number, number]; useBias: boolean }>(context.spec);
  const kernel = context.weights.take();
  const [size, perGroup, filters] = kernel.shape;
  const weight = kernel.initializer('oik', (w) => graph.floats(w.name, [filters, perGroup, size], permuted(w.values, w.shape, [2, 1, 0])));
  const bias = takeBias(context, spec.useBias);
  return onChannelsFirst(graph, inputs[0], 3, (x) =>
    graph.node('Conv', [x, weight, ...bias], {
      kernel_shape: ints([spec.kernelSize]),
      strides: ints([spec.strides]),
      dilations: ints([spec.dilationRate]),
      pads: ints(spec.padding),
      group: int(spec.groups),
    }),
  );
};

/**
 * Conv2DTranspose: torch's full transposed output, cropped (negative padding) or extended with zeros
 * (positive) to Keras's size, then the bias, so that extended cells get it too (native/layers.cc's
 * KerasConvTranspose2d). The Keras kernel [kh, kw, filters, in] is ONNX's [in, filters, kh, kw].
 */
const conv2dTranspose: Converter = (context) => {
  const { graph, inputs } = context;
  const spec = fields<ConvolutionSpec>(context.spec);
  const kernel = context.weights.take();
  const [kh, kw, filters, channels] = kernel.shape;
  const weight = kernel.initializer('iohw', (w) => graph.floats(w.name, [channels, filters, kh, kw], permuted(w.values, w.shape, [3, 2, 0, 1])));
  const [top, bottom, left, right] = spec.padding;
  const crop = (amount: number) => Math.max(-amount, 0);
  const extend = (amount: number) => Math.max(amount, 0);
  let y = onChannelsFirst(graph, inputs[0], 4, (x) =>
    graph.node('ConvTranspose', [x, weight], {
      kernel_shape: ints(spec.kernelSize),
      strides: ints(spec.strides),
      dilations: ints(spec.dilationRate),
      pads: ints([crop(top), crop(left), crop(bottom), crop(right)]),
    }),
  );
  if ([top, bottom, left, right].some((amount) => amount > 0)) {
    y = graph.node('Pad', [y, graph.int64s('pads', [0, extend(top), extend(left), 0, 0, extend(bottom), extend(right), 0])]);
  }
  const [bias] = takeBias(context, spec.useBias);
  return bias ? graph.node('Add', [y, bias]) : y;
};

/** Dense on the last axis of any rank: x · kernel [in, units] + bias. */
const dense: Converter = (context) => {
  const { graph, inputs } = context;
  const kernel = context.weights.take();
  const weight = kernel.initializer('kernel', (w) => graph.floats(w.name, w.shape, w.values));
  const y = graph.node('MatMul', [inputs[0], weight]);
  const [bias] = takeBias(context, fields<{ useBias: boolean }>(context.spec).useBias);
  return bias ? graph.node('Add', [y, bias]) : y;
};

/**
 * Windowed pooling. 1D specs carry the 2D pooling native code runs on [batch, channels, 1, steps] (pool 1 and
 * no padding on the added axis); here they pool the steps directly. Padded cells count for neither: ONNX's
 * MaxPool ignores them and AveragePool without count_include_pad averages over the cells inside, as Keras.
 */
function pooling(opType: 'MaxPool' | 'AveragePool', steps: boolean): Converter {
  return (context) => {
    const { graph, inputs } = context;
    const spec = fields<{ poolSize: [number, number]; strides: [number, number]; padding: [number, number, number, number] }>(context.spec);
    const [top, bottom, left, right] = spec.padding;
    const window = steps
      ? { kernel_shape: ints([spec.poolSize[1]]), strides: ints([spec.strides[1]]), pads: ints([left, right]) }
      : { kernel_shape: ints(spec.poolSize), strides: ints(spec.strides), pads: ints([top, left, bottom, right]) };
    const attributes = opType === 'AveragePool' ? { ...window, count_include_pad: int(0) } : window;
    return onChannelsFirst(graph, inputs[0], steps ? 3 : 4, (x) => graph.node(opType, [x], attributes));
  };
}

function globalPooling(opType: 'ReduceMean' | 'ReduceMax', axes: number[]): Converter {
  return ({ graph, inputs, spec }) => graph.reduce(opType, inputs[0], axes, fields<{ keepDims: boolean }>(spec).keepDims);
}

const globalPooling1d: Converter = (context) => {
  const operation = fields<{ operation: 'mean' | 'max' }>(context.spec).operation;
  return globalPooling(operation === 'max' ? 'ReduceMax' : 'ReduceMean', [1])(context);
};

const identity: Converter = ({ graph, inputs }) => graph.node('Identity', [inputs[0]]);

/**
 * BatchNormalization on its moving statistics: (x - moving_mean) * gamma / sqrt(moving_variance + epsilon)
 * + beta, the factors broadcast along Keras's axis.
 */
const batchNormalization: Converter = (context) => {
  const { graph, inputs, weights } = context;
  const spec = fields<{ features: number; axis: number; rank: number; epsilon: number; center: boolean; scale: boolean }>(context.spec);
  const gamma = spec.scale ? weights.take() : undefined;
  const beta = spec.center ? weights.take() : undefined;
  const mean = weights.take();
  const variance = weights.take();
  // [features, 1, ...]: the axis, then the axes after it; the axes before it broadcast.
  const dims = [spec.features, ...new Array<number>(spec.rank - 1 - spec.axis).fill(1)];
  const factor = Float64Array.from(variance.values, (v, i) => (gamma ? gamma.values[i] : 1) / Math.sqrt(v + spec.epsilon));
  const centered = graph.node('Sub', [inputs[0], mean.initializer('broadcast', (w) => graph.floats(w.name, dims, w.values))]);
  let y = graph.node('Mul', [centered, variance.initializer('factor', () => graph.floats('factor', dims, factor))]);
  if (beta) y = graph.node('Add', [y, beta.initializer('broadcast', (w) => graph.floats(w.name, dims, w.values))]);
  return y;
};

/** Keras's activations, as native/layers.cc's ApplyActivation computes them. */
const activation: Converter = ({ graph, inputs, spec }) => {
  const { activation: name, alpha } = fields<{ activation: string; alpha?: number }>(spec);
  const x = inputs[0];
  switch (name) {
    case 'relu':
      return graph.node('Relu', [x]);
    case 'sigmoid':
      return graph.node('Sigmoid', [x]);
    case 'softmax':
      return graph.node('Softmax', [x], { axis: int(-1) });
    case 'tanh':
      return graph.node('Tanh', [x]);
    case 'linear':
      return graph.node('Identity', [x]);
    case 'elu':
      return graph.node('Elu', [x], { alpha: float(alpha ?? 1) });
    case 'selu':
      return graph.node('Selu', [x]);
    case 'gelu': {
      // The exact GELU, as torch::gelu: x / 2 * (1 + erf(x / sqrt(2))).
      const erf = graph.node('Erf', [graph.node('Div', [x, graph.scalar('sqrt2', Math.SQRT2)])]);
      const half = graph.node('Mul', [x, graph.scalar('half', 0.5)]);
      return graph.node('Mul', [half, graph.node('Add', [erf, graph.scalar('one', 1)])]);
    }
    case 'leaky_relu':
      return graph.node('LeakyRelu', [x], { alpha: float(alpha ?? 0.2) });
    case 'softplus':
      return graph.node('Softplus', [x]);
    case 'softsign':
      return graph.node('Softsign', [x]);
    case 'swish':
    case 'silu':
      return graph.node('Mul', [x, graph.node('Sigmoid', [x])]);
    case 'exponential':
      return graph.node('Exp', [x]);
    case 'relu6':
      return graph.node('Clip', [x, graph.scalar('min', 0), graph.scalar('max', 6)]);
    default:
      throw new ValueError(`export: no ONNX form for the activation '${name}'`);
  }
};

/** Keras's ReLU layer with maxValue, negativeSlope or threshold, term for term as native/layers.cc's ReLU. */
const relu: Converter = ({ graph, inputs, spec }) => {
  const { maxValue, negativeSlope, threshold } = fields<{ maxValue: number | null; negativeSlope: number; threshold: number }>(spec);
  const x = inputs[0];
  const clips = maxValue !== null && maxValue !== undefined;
  if (negativeSlope !== 0 && !clips && threshold === 0) return graph.node('LeakyRelu', [x], { alpha: float(negativeSlope) });
  let y: string;
  let clip = clips;
  if (threshold !== 0) {
    const above = graph.node('Cast', [graph.node('Greater', [x, graph.scalar('threshold', threshold)])], { to: int(1) });
    y = graph.node('Mul', [x, above]);
  } else if (clips && maxValue === 6) {
    y = graph.node('Clip', [x, graph.scalar('min', 0), graph.scalar('max', 6)]);
    clip = false;
  } else {
    y = graph.node('Relu', [x]);
  }
  if (clip) y = graph.node('Clip', [y, graph.scalar('min', 0), graph.scalar('max', maxValue!)]);
  if (negativeSlope !== 0) {
    const below = graph.node('Relu', [graph.node('Sub', [graph.scalar('threshold', threshold), x])]);
    y = graph.node('Sub', [y, graph.node('Mul', [below, graph.scalar('negative_slope', negativeSlope)])]);
  }
  return y;
};

const rescaling: Converter = ({ graph, inputs, spec }) => {
  const { scale, offset } = fields<{ scale: number; offset: number }>(spec);
  const y = graph.node('Mul', [inputs[0], graph.scalar('scale', scale)]);
  return offset === 0 ? y : graph.node('Add', [y, graph.scalar('offset', offset)]);
};

/** The merge layers, left to right as native/layers.cc's Merge; Average divides the sum. */
const merge: Converter = ({ graph, inputs, spec }) => {
  const { operation, axis, rank } = fields<{ operation: string; axis?: number; rank: number }>(spec);
  if (operation === 'concatenate') return graph.node('Concat', inputs, { axis: int(axis! < 0 ? axis! + rank : axis!) });
  const opType = { add: 'Add', average: 'Add', subtract: 'Sub', multiply: 'Mul', maximum: 'Max', minimum: 'Min' }[operation];
  if (!opType) throw new ValueError(`export: no ONNX form for the merge operation '${operation}'`);
  let y = inputs[0];
  for (const other of inputs.slice(1)) y = graph.node(opType, [y, other]);
  return operation === 'average' ? graph.node('Div', [y, graph.scalar('count', inputs.length)]) : y;
};

/** Pads rows and columns of an NHWC value ([top, bottom, left, right]) with `value`. */
function padImage(graph: OnnxGraph, input: string, [top, bottom, left, right]: readonly number[], value = 0): string {
  const pads = graph.int64s('pads', [0, top, left, 0, 0, bottom, right, 0]);
  return graph.node('Pad', value === 0 ? [input, pads] : [input, pads, graph.scalar('fill', value)]);
}

/** Rows [top, top + height) and columns [left, left + width) of an NHWC value. */
function cropImage(graph: OnnxGraph, input: string, top: number, left: number, height: number, width: number): string {
  return graph.node('Slice', [input, graph.int64s('starts', [top, left]), graph.int64s('ends', [top + height, left + width]), graph.int64s('axes', [1, 2])]);
}

const zeroPadding2d: Converter = ({ graph, inputs, spec }) => padImage(graph, inputs[0], fields<{ padding: number[] }>(spec).padding);

const cropping2d: Converter = ({ graph, inputs, spec, inputShape }) => {
  const [top, bottom, left, right] = fields<{ cropping: number[] }>(spec).cropping;
  return cropImage(graph, inputs[0], top, left, inputShape[0] - top - bottom, inputShape[1] - left - right);
};

const reshape: Converter = ({ graph, inputs, spec }) =>
  // 0 keeps the batch size; the target is each sample's shape in channels-last order, as Keras reshapes.
  graph.node('Reshape', [inputs[0], graph.int64s('shape', [0, ...fields<{ targetShape: number[] }>(spec).targetShape])]);

const flatten: Converter = ({ graph, inputs }) => graph.node('Reshape', [inputs[0], graph.int64s('shape', [0, -1])]);

const permute: Converter = ({ graph, inputs, spec }) => graph.node('Transpose', [inputs[0]], { perm: ints([0, ...fields<{ dims: number[] }>(spec).dims]) });

/** Softmax over one of Keras's axes, or over several at once: exp(x - logsumexp(x)). */
const softmax: Converter = ({ graph, inputs, spec }) => {
  const { axes } = fields<{ axes: number[] }>(spec);
  if (axes.length === 1) return graph.node('Softmax', [inputs[0]], { axis: int(axes[0]) });
  return graph.node('Exp', [graph.node('Sub', [inputs[0], graph.reduce('ReduceLogSumExp', inputs[0], axes, true)])]);
};

/** PReLU: alpha has the input's sample shape (1 on shared axes) and broadcasts over the batch. */
const prelu: Converter = ({ graph, inputs, weights }) => {
  const alpha = weights.take();
  return graph.node('PRelu', [inputs[0], alpha.initializer('alpha', (w) => graph.floats(w.name, w.shape, w.values))]);
};

/**
 * LayerNormalization: ONNX's LayerNormalization (opset 17) where Keras's axes are the trailing ones, which
 * is what it normalizes; otherwise its formula over the axes, with the biased variance.
 */
const layerNormalization: Converter = (context) => {
  const { graph, inputs, weights } = context;
  const spec = fields<{ axes: number[]; rank: number; paramShape: number[]; epsilon: number; center: boolean; scale: boolean }>(context.spec);
  const gamma = spec.scale ? weights.take() : undefined;
  const beta = spec.center ? weights.take() : undefined;
  const trailing = spec.axes.every((axis, i) => axis === spec.rank - spec.axes.length + i);
  if (trailing && graph.opset >= 17) {
    const scale = gamma
      ? gamma.initializer('gamma', (w) => graph.floats(w.name, w.shape, w.values))
      : graph.floats('ones', spec.paramShape, new Float32Array(spec.paramShape.reduce((a, b) => a * b, 1)).fill(1));
    const bias = beta ? [beta.initializer('beta', (w) => graph.floats(w.name, w.shape, w.values))] : [];
    return graph.node('LayerNormalization', [inputs[0], scale, ...bias], { axis: int(spec.axes[0]), epsilon: float(spec.epsilon) });
  }
  // Keras's weights over the axes, shaped to broadcast against a sample: the axes' sizes, 1 elsewhere.
  const dims = Array.from({ length: spec.rank - 1 }, (_, i) => {
    const at = spec.axes.indexOf(i + 1);
    return at < 0 ? 1 : spec.paramShape[at];
  });
  const mean = graph.reduce('ReduceMean', inputs[0], spec.axes, true);
  const centered = graph.node('Sub', [inputs[0], mean]);
  const variance = graph.reduce('ReduceMean', graph.node('Mul', [centered, centered]), spec.axes, true);
  let y = graph.node('Div', [centered, graph.node('Sqrt', [graph.node('Add', [variance, graph.scalar('epsilon', spec.epsilon)])])]);
  if (gamma) y = graph.node('Mul', [y, gamma.initializer('broadcast', (w) => graph.floats(w.name, dims, w.values))]);
  if (beta) y = graph.node('Add', [y, beta.initializer('broadcast', (w) => graph.floats(w.name, dims, w.values))]);
  return y;
};

/**
 * Keras's Normalization: (x - mean) / max(sqrt(variance), 1e-7), or its inverse, with the adapted statistics
 * (the layer's weights) or the ones it was given (constants in its spec).
 */
const normalization: Converter = ({ graph, inputs, spec, weights }) => {
  const fieldsOf = fields<{ broadcastShape: number[]; mean: number[]; variance: number[]; invert: boolean; adaptable: boolean }>(spec);
  let mean: ArrayLike<number> = fieldsOf.mean;
  let variance: ArrayLike<number> = fieldsOf.variance;
  if (fieldsOf.adaptable) {
    mean = weights.take().values;
    variance = weights.take().values;
    weights.take(); // count: kept by Keras for older files, never read
  }
  const dims = fieldsOf.broadcastShape;
  const meanName = graph.floats('mean', dims, mean);
  const scale = graph.floats('scale', dims, Float64Array.from(variance, (v) => Math.max(Math.sqrt(v), 1e-7)));
  if (fieldsOf.invert) return graph.node('Add', [meanName, graph.node('Mul', [inputs[0], scale])]);
  return graph.node('Div', [graph.node('Sub', [inputs[0], meanName]), scale]);
};

// ---- image resizing --------------------------------------------------------------------------------

type ResizeMethod = 'bilinear' | 'nearest' | 'bicubic' | 'area';

/**
 * Resizes an NHWC value of static `height` x `width` to `targetHeight` x `targetWidth` as native/preprocessing.cc's
 * Resize (torch's interpolate, half-pixel centres): ONNX's Resize for bilinear and nearest ('nearest-exact');
 * bicubic, 'area' (adaptive average pooling) and the antialiased filters as the matrices of their weights
 * along each axis, which is what they are (ONNX Runtime's cubic Resize takes no channels-first images).
 */
function resizeImage(
  graph: OnnxGraph,
  input: string,
  [height, width, channels]: readonly number[],
  targetHeight: number,
  targetWidth: number,
  method: ResizeMethod,
  antialias: boolean,
): string {
  if (height === targetHeight && width === targetWidth) return input;
  if (method === 'bilinear' && !antialias) {
    return resizeTo(graph, input, channels, targetHeight, targetWidth, { mode: string('linear'), coordinate_transformation_mode: string('half_pixel') });
  }
  if (method === 'nearest') {
    // torch's nearest-exact: source floor((i + 0.5) * scale), which is half_pixel's coordinate rounded up at halves.
    const attributes = { mode: string('nearest'), coordinate_transformation_mode: string('half_pixel'), nearest_mode: string('round_prefer_ceil') };
    return resizeTo(graph, input, channels, targetHeight, targetWidth, attributes);
  }
  return onChannelsFirst(graph, input, 4, (x) => {
    let y = x;
    if (targetHeight !== height) y = graph.node('MatMul', [graph.floats('rows', [targetHeight, height], resizeWeights(height, targetHeight, method, antialias)), y]);
    if (targetWidth !== width) {
      const columns = permuted(resizeWeights(width, targetWidth, method, antialias), [targetWidth, width], [1, 0]);
      y = graph.node('MatMul', [y, graph.floats('columns', [width, targetWidth], columns)]);
    }
    return y;
  });
}

/** ONNX's Resize of an NHWC value to `height` x `width`, on its NCHW view, the batch size read at run time. */
function resizeTo(graph: OnnxGraph, input: string, channels: number, height: number, width: number, attributes: Record<string, Attribute>): string {
  return onChannelsFirst(graph, input, 4, (x) => {
    const batch = graph.node('Slice', [graph.node('Shape', [x]), graph.int64s('starts', [0]), graph.int64s('ends', [1])]);
    const sizes = graph.node('Concat', [batch, graph.int64s('sizes', [channels, height, width])], { axis: int(0) });
    return graph.node('Resize', [x, '', '', sizes], attributes);
  });
}

/**
 * The [output, input] weights of resizing one axis as torch does it: adaptive average pooling for 'area';
 * bicubic's four taps (a = -0.75, half-pixel centres, taps past the edges on the edge pixels); for
 * antialiased bilinear and bicubic, torch's separable filter (the triangle, or the cubic with a = -0.5,
 * widened by the scale when downsampling, each row normalised to sum 1).
 */
function resizeWeights(size: number, target: number, method: 'bicubic' | 'area' | 'bilinear', antialias: boolean): Float32Array {
  const weights = new Float32Array(target * size);
  const scale = size / target;
  if (method === 'area') {
    for (let i = 0; i < target; i++) {
      const start = Math.floor((i * size) / target);
      const end = Math.ceil(((i + 1) * size) / target);
      for (let j = start; j < end; j++) weights[i * size + j] = 1 / (end - start);
    }
    return weights;
  }
  const cubic = (x: number, a: number) => {
    const t = Math.abs(x);
    if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
    return 0;
  };
  if (!antialias) {
    for (let i = 0; i < target; i++) {
      const source = scale * (i + 0.5) - 0.5;
      const first = Math.floor(source);
      for (let tap = -1; tap <= 2; tap++) {
        const j = Math.min(Math.max(first + tap, 0), size - 1);
        weights[i * size + j] += cubic(source - (first + tap), -0.75);
      }
    }
    return weights;
  }
  const filterSize = method === 'bicubic' ? 4 : 2;
  const filter = method === 'bicubic' ? (x: number) => cubic(x, -0.5) : (x: number) => Math.max(1 - Math.abs(x), 0);
  const support = scale >= 1 ? (filterSize / 2) * scale : filterSize / 2;
  const inverseScale = scale >= 1 ? 1 / scale : 1;
  for (let i = 0; i < target; i++) {
    const center = scale * (i + 0.5);
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const last = Math.min(Math.trunc(center + support + 0.5), size);
    const row = [];
    for (let j = first; j < last; j++) row.push(filter((j - center + 0.5) * inverseScale));
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((w, k) => {
      weights[i * size + first + k] = total === 0 ? w : w / total;
    });
  }
  return weights;
}

/** Keras's crop_to_aspect_ratio on a static image: the largest centred window of the target's aspect ratio. */
function cropToAspectRatio(graph: OnnxGraph, input: string, [height, width, channels]: readonly number[], targetHeight: number, targetWidth: number) {
  const cropHeight = Math.max(Math.min(height, Math.trunc((width * targetHeight) / targetWidth)), 1);
  const cropWidth = Math.max(Math.min(width, Math.trunc((height * targetWidth) / targetHeight)), 1);
  if (cropHeight === height && cropWidth === width) return { value: input, shape: [height, width, channels] };
  const top = Math.trunc((height - cropHeight) / 2);
  const left = Math.trunc((width - cropWidth) / 2);
  return { value: cropImage(graph, input, top, left, cropHeight, cropWidth), shape: [cropHeight, cropWidth, channels] };
}

/** Keras's smart_resize: the centred window of the target's aspect ratio, resized bilinearly. */
function smartResize(graph: OnnxGraph, input: string, shape: readonly number[], height: number, width: number): string {
  const cropped = cropToAspectRatio(graph, input, shape, height, width);
  return resizeImage(graph, cropped.value, cropped.shape, height, width, 'bilinear', false);
}

const resizing: Converter = ({ graph, inputs, spec, inputShape }) => {
  const s = fields<{ height: number; width: number; interpolation: ResizeMethod; cropToAspectRatio: boolean; padToAspectRatio: boolean; fillValue: number; antialias: boolean }>(spec);
  let value = inputs[0];
  let shape = [...inputShape];
  if (s.cropToAspectRatio) ({ value, shape } = cropToAspectRatio(graph, value, shape, s.height, s.width));
  if (s.padToAspectRatio) {
    // Keras's pad_to_aspect_ratio: as many rows (columns) above and below (left and right) as its integer arithmetic gives.
    const [height, width] = shape;
    const rows = Math.trunc((Math.max(height, Math.trunc((width * s.height) / s.width)) - height) / 2);
    const columns = Math.trunc((Math.max(width, Math.trunc((height * s.width) / s.height)) - width) / 2);
    if (rows > 0 || columns > 0) {
      value = padImage(graph, value, [rows, rows, columns, columns], s.fillValue);
      shape = [height + 2 * rows, width + 2 * columns, shape[2]];
    }
  }
  const output = resizeImage(graph, value, shape, s.height, s.width, s.interpolation, s.antialias);
  return output === inputs[0] ? graph.node('Identity', [output]) : output;
};

/** CenterCrop: the centred window when the image is large enough on both axes, Keras's smart_resize otherwise. */
const centerCrop: Converter = ({ graph, inputs, spec, inputShape }) => {
  const { height, width } = fields<{ height: number; width: number }>(spec);
  const extraRows = inputShape[0] - height;
  const extraColumns = inputShape[1] - width;
  if (extraRows >= 0 && extraColumns >= 0) return cropImage(graph, inputs[0], Math.trunc(extraRows / 2), Math.trunc(extraColumns / 2), height, width);
  return smartResize(graph, inputs[0], inputShape, height, width);
};

/** RandomCrop in inference: Keras's smart_resize to its size. */
const randomCrop: Converter = ({ graph, inputs, spec, inputShape }) => {
  const { height, width } = fields<{ height: number; width: number }>(spec);
  const output = smartResize(graph, inputs[0], inputShape, height, width);
  return output === inputs[0] ? graph.node('Identity', [output]) : output;
};

/** UpSampling2D: whole factors, each pixel repeated (torch's legacy 'nearest') or interpolated bilinearly. */
const upSampling2d: Converter = ({ graph, inputs, spec, inputShape }) => {
  const { size, interpolation } = fields<{ size: [number, number]; interpolation: 'nearest' | 'bilinear' }>(spec);
  const [height, width, channels] = inputShape;
  const attributes: Record<string, Attribute> =
    interpolation === 'bilinear'
      ? { mode: string('linear'), coordinate_transformation_mode: string('half_pixel') }
      : { mode: string('nearest'), coordinate_transformation_mode: string('asymmetric'), nearest_mode: string('floor') };
  return resizeTo(graph, inputs[0], channels, height * size[0], width * size[1], attributes);
};

/** One converter per native spec kind (native/layers.cc's BuildKind, native/preprocessing.cc's BuildPreprocessingLayer). */
const CONVERTERS: Record<string, Converter> = {
  conv2d,
  dense,
  max_pooling2d: pooling('MaxPool', false),
  average_pooling2d: pooling('AveragePool', false),
  global_average_pooling2d: globalPooling('ReduceMean', [1, 2]),
  flatten,
  dropout: identity,
  batch_normalization: batchNormalization,
  activation,
  rescaling,
  merge,
  depthwise_conv2d: depthwiseConv2d,
  conv2d_transpose: conv2dTranspose,
  conv1d,
  zero_padding2d: zeroPadding2d,
  cropping2d,
  up_sampling2d: upSampling2d,
  global_max_pooling2d: globalPooling('ReduceMax', [1, 2]),
  max_pooling1d: pooling('MaxPool', true),
  average_pooling1d: pooling('AveragePool', true),
  global_pooling1d: globalPooling1d,
  relu,
  reshape,
  permute,
  softmax,
  prelu,
  layer_normalization: layerNormalization,
  gaussian_noise: identity,
  normalization,
  resizing,
  center_crop: centerCrop,
  random_flip: identity,
  random_rotation: identity,
  random_zoom: identity,
  random_translation: identity,
  random_contrast: identity,
  random_brightness: identity,
  random_crop: randomCrop,
};
