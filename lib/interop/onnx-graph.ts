/**
 * An ONNX graph under construction and its encoding as a ModelProto (field numbers from onnx/onnx.proto):
 * nodes in the order they are added (each after the values it reads), float32 and int64 initializers, and
 * the graph's inputs and outputs with a symbolic batch axis. The ops whose form changed between the opsets
 * this writes (the reductions' axes, an attribute until opset 18 and an input since) are written here, in
 * the form of the graph's opset.
 */
import { ProtobufMessage } from './protobuf';

/** The ONNX opsets the writer produces; onnxruntime 1.30 runs all of them. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

/** The IR version that introduced each opset (onnx/onnx's docs/Versioning.md): the lowest a file of it may declare. */
function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

const FLOAT = 1; // TensorProto.DataType
const INT64 = 7;

/** An attribute value of the type ONNX expects for it (an int and a float are different attributes). */
export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string };

export const int = (value: number): Attribute => ({ kind: 'int', value });
export const ints = (value: readonly number[]): Attribute => ({ kind: 'ints', value });
export const float = (value: number): Attribute => ({ kind: 'float', value });
export const string = (value: string): Attribute => ({ kind: 'string', value });

/** A graph value's shape with the batch axis symbolic: `[batch, 64, 64, 3]`. */
export type ValueShape = readonly (number | 'batch')[];

export class OnnxGraph {
  private readonly nodes: ProtobufMessage[] = [];
  private readonly initializers: ProtobufMessage[] = [];
  private readonly inputs: ProtobufMessage[] = [];
  private readonly outputs: ProtobufMessage[] = [];
  private readonly names = new Set<string>();
  private readonly cache = new Map<string, string>();
  /** The prefix of the names made next (the layer being written): `base/conv2d`. */
  scope = '';

  constructor(readonly opset: number) {}

  /** A name not used yet in the graph, `scope/base` or `scope/base_1`. */
  uniqueName(base: string): string {
    const stem = this.scope ? `${this.scope}/${base}` : base;
    let name = stem;
    for (let i = 1; this.names.has(name); i++) name = `${stem}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Reserves a name exactly as given (a graph input or output); false when it is taken. */
  reserve(name: string): boolean {
    if (this.names.has(name)) return false;
    this.names.add(name);
    return true;
  }

  /** Adds a node and returns the name of its output (or writes to `outputName`). */
  node(opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, outputName?: string): string {
    const output = outputName ?? this.uniqueName(opType);
    const node = new ProtobufMessage();
    for (const input of inputs) node.string(1, input);
    node.string(2, output);
    node.string(3, output);
    node.string(4, opType);
    for (const [name, attribute] of Object.entries(attributes)) node.message(5, encodeAttribute(name, attribute));
    this.nodes.push(node);
    return output;
  }

  /** A float32 initializer of `dims` holding `values` (row-major). */
  floats(base: string, dims: readonly number[], values: ArrayLike<number>): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.initializer(base, FLOAT, dims, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  /** A one-axis int64 initializer (shapes, pads, axes, slice bounds). */
  int64s(base: string, values: readonly number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.initializer(base, INT64, [values.length], Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  /** A float32 scalar initializer. */
  scalar(base: string, value: number): string {
    return this.floats(base, [], [value]);
  }

  /** `make()`'s value the first time `key` is asked for, the same name after (weights shared by several nodes). */
  once(key: string, make: () => string): string {
    let name = this.cache.get(key);
    if (name === undefined) {
      name = make();
      this.cache.set(key, name);
    }
    return name;
  }

  /** A ReduceMean, ReduceMax, ReduceSum or ReduceLogSumExp over `axes`, in the form of the graph's opset. */
  reduce(opType: 'ReduceMean' | 'ReduceMax' | 'ReduceSum' | 'ReduceLogSumExp', input: string, axes: readonly number[], keepDims: boolean): string {
    // ReduceSum takes its axes as an input since opset 13, the others since opset 18.
    if (opType === 'ReduceSum' || this.opset >= 18) return this.node(opType, [input, this.int64s('axes', axes)], { keepdims: int(keepDims ? 1 : 0) });
    return this.node(opType, [input], { axes: ints(axes), keepdims: int(keepDims ? 1 : 0) });
  }

  /** Declares a graph input of float32 values. */
  addInput(name: string, shape: ValueShape): void {
    this.inputs.push(valueInfo(name, shape));
  }

  /** Declares a graph output of float32 values. */
  addOutput(name: string, shape: ValueShape): void {
    this.outputs.push(valueInfo(name, shape));
  }

  /** The ModelProto's bytes. */
  encode(graphName: string): Buffer {
    const graph = new ProtobufMessage();
    for (const node of this.nodes) graph.message(1, node);
    graph.string(2, graphName);
    for (const initializer of this.initializers) graph.message(5, initializer);
    for (const input of this.inputs) graph.message(11, input);
    for (const output of this.outputs) graph.message(12, output);
    return new ProtobufMessage()
      .int(1, irVersionFor(this.opset))
      .string(2, 'keras-torch')
      .message(7, graph)
      .message(8, new ProtobufMessage().string(1, '').int(2, this.opset))
      .toBuffer();
  }

  private initializer(base: string, dataType: number, dims: readonly number[], raw: Uint8Array): string {
    const name = this.uniqueName(base);
    const tensor = new ProtobufMessage();
    for (const dim of dims) tensor.int(1, dim);
    tensor.int(2, dataType).string(8, name).bytes(9, raw);
    this.initializers.push(tensor);
    return name;
  }
}

function encodeAttribute(name: string, attribute: Attribute): ProtobufMessage {
  // AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7).
  const message = new ProtobufMessage().string(1, name);
  switch (attribute.kind) {
    case 'int':
      return message.int(3, attribute.value).int(20, 2);
    case 'float':
      return message.float(2, attribute.value).int(20, 1);
    case 'string':
      return message.string(4, attribute.value).int(20, 3);
    case 'ints':
      for (const value of attribute.value) message.int(8, value);
      return message.int(20, 7);
  }
}

/** ValueInfoProto of a float32 tensor: name 1, type 2 (TypeProto.tensor_type 1: elem_type 1, shape 2). */
function valueInfo(name: string, shape: ValueShape): ProtobufMessage {
  const dims = new ProtobufMessage();
  for (const dim of shape) dims.message(1, typeof dim === 'number' ? new ProtobufMessage().int(1, dim) : new ProtobufMessage().string(2, dim));
  const tensorType = new ProtobufMessage().int(1, FLOAT).message(2, dims);
  return new ProtobufMessage().string(1, name).message(2, new ProtobufMessage().message(1, tensorType));
}
