/**
 * The functional API's placeholders: a SymbolicTensor stands for the batch a layer will produce (its
 * shape, with `null` for the batch axis, and where it comes from); a Node records one application of a
 * layer to such tensors. Models are read off these records (lib/models/functional.ts), as in Keras's
 * KerasTensor/Node and TensorFlow.js's SymbolicTensor.
 */
import type { Layer } from './layer';

let tensorCounter = 0;

export class SymbolicTensor {
  /** Unique among symbolic tensors, for messages and diagrams. */
  readonly id = tensorCounter++;

  constructor(
    /** The shape with its batch axis first (`null`, any size): `[null, 64, 64, 3]`. */
    readonly shape: readonly (number | null)[],
    /** The node that produces it (an Input's node has no inbound tensors). */
    readonly node: Node,
    /** Which of the node's outputs it is (a nested model can have several). */
    readonly outputIndex: number,
  ) {}

  /** The layer that produces it. */
  get sourceLayer(): Layer {
    return this.node.layer;
  }

  /** Keras's name for it: `dense_1/output` or, for an input, the input's name. */
  get name(): string {
    return this.node.inputs.length === 0 ? this.node.layer.name : `${this.node.layer.name}/output${this.outputIndex || ''}`;
  }

  /** The shape of one sample (without the batch axis). */
  get sampleShape(): number[] {
    return this.shape.slice(1) as number[];
  }
}

/** One application of a layer: the tensors it read and the ones it produced. */
export class Node {
  outputs: SymbolicTensor[] = [];

  constructor(
    readonly layer: Layer,
    readonly inputs: readonly SymbolicTensor[],
    /** Keras's `training` argument: run this node in training (true) or inference (false) mode always. */
    readonly training?: boolean,
  ) {}
}

/** True for what `layer.apply()` and `new Model({inputs, outputs})` take. */
export function isSymbolicTensor(value: unknown): value is SymbolicTensor {
  return value instanceof SymbolicTensor;
}
