/**
 * A model's structure, read off the symbolic tensors its inputs and outputs are: the nodes in an order
 * that computes each before it is read, the layers in Keras's order (by depth from the outputs), the
 * checks Keras makes on a graph, the native graph spec (nested models expanded into their layers), and
 * Keras's functional config (layers with their inbound connections).
 */
import { ValueError } from '../errors';
import { InputLayer } from '../layers/core';
import type { Layer, WeightInfo } from '../layers/layer';
import type { Node, SymbolicTensor } from '../layers/symbolic';
import type { GraphSpec, NativeLayer } from '../native/binding';
import { formatShape } from '../validation';

/**
 * A reference to a tensor in a config: [layer name, node index within the model, output index], and, as
 * Keras writes them, the call's arguments (`{training: false}`) on the node's inbound references.
 */
export type TensorReference = [string, number, number, { training?: boolean }?];

export interface FunctionalConfig {
  name: string;
  trainable?: boolean;
  layers: { className: string; name: string; config: Record<string, unknown>; inboundNodes: TensorReference[][] }[];
  inputLayers: TensorReference[];
  outputLayers: TensorReference[];
}

/** A model nested in another is a layer whose nodes expand to its own graph; lib/models/model.ts implements it. */
export interface NestedModel extends Layer {
  readonly topology: Topology;
}

export function isNestedModel(layer: Layer): layer is NestedModel {
  return (layer as Partial<NestedModel>).topology instanceof Topology;
}

/** A leaf layer (not a model) with the path of models it sits in, for weight names. */
export interface LeafLayer {
  layer: Layer;
  /** `base.conv2d` for a layer of a nested model `base`; the layer's name at the top level. */
  path: string;
  /** The names of the nested models the layer sits in, outermost first (`['base']`; none at the top level). */
  scope: string[];
  weights: WeightInfo[];
}

export class Topology {
  readonly inputs: SymbolicTensor[];
  readonly outputs: SymbolicTensor[];
  /** Every node of the model, inputs' nodes first, each after the nodes it reads. */
  readonly nodes: Node[];
  /** Keras's `model.layers`: input layers included, deepest first, ties in the order they were reached. */
  readonly layers: Layer[];

  constructor(context: string, inputs: SymbolicTensor[], outputs: SymbolicTensor[]) {
    this.inputs = inputs;
    this.outputs = outputs;
    inputs.forEach((input, i) => {
      if (!(input.sourceLayer instanceof InputLayer)) {
        throw new ValueError(
          `${context}: expected inputs[${i}] to be a tensor made by Input() but received the output of layer '${input.sourceLayer.name}'`,
        );
      }
    });
    if (new Set(inputs).size !== inputs.length) throw new ValueError(`${context}: the same input is given twice`);

    // Depth-first from the outputs, with an explicit stack (graphs of many thousands of layers are fine):
    // a node is listed after the nodes it reads.
    const nodes: Node[] = [];
    const state = new Map<Node, 'visiting' | 'done'>();
    const modelInputs = new Set(inputs);
    outputs.forEach((output, i) => {
      const stack: { tensor: SymbolicTensor; consumer: string; expanded: boolean }[] = [{ tensor: output, consumer: `output ${i}`, expanded: false }];
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        const node = top.tensor.node;
        if (top.expanded) {
          stack.pop();
          state.set(node, 'done');
          nodes.push(node);
          continue;
        }
        if (state.get(node) === 'done') {
          stack.pop();
          continue;
        }
        if (node.inputs.length === 0 && !modelInputs.has(top.tensor)) {
          throw new ValueError(
            `${context}: graph disconnected: ${top.consumer} reads input '${top.tensor.name}' (shape ${formatShape(top.tensor.sampleShape, null)}), ` +
              `which is not among the model's inputs [${inputs.map((t) => `'${t.name}'`).join(', ')}]`,
          );
        }
        if (state.get(node) === 'visiting') throw new ValueError(`${context}: the graph has a cycle through layer '${node.layer.name}'`);
        state.set(node, 'visiting');
        top.expanded = true;
        for (let j = node.inputs.length - 1; j >= 0; j--) {
          stack.push({ tensor: node.inputs[j], consumer: `layer '${node.layer.name}'`, expanded: false });
        }
      }
    });
    const seen = new Set(nodes);
    inputs.forEach((input) => {
      if (!seen.has(input.node)) {
        throw new ValueError(`${context}: input '${input.name}' is not used: no output depends on it`);
      }
    });
    // Inputs first, in the order given, as Keras lists them.
    this.nodes = [...inputs.map((t) => t.node), ...nodes.filter((node) => node.inputs.length > 0)];

    // Keras orders layers by their depth from the outputs, deepest first.
    const depth = new Map<Node, number>();
    for (const output of outputs) depth.set(output.node, 0);
    for (const node of [...this.nodes].reverse()) {
      const own = depth.get(node) ?? 0;
      for (const input of node.inputs) depth.set(input.node, Math.max(depth.get(input.node) ?? 0, own + 1));
    }
    const layerDepth = new Map<Layer, number>();
    const firstSeen = new Map<Layer, number>();
    this.nodes.forEach((node, i) => {
      layerDepth.set(node.layer, Math.max(layerDepth.get(node.layer) ?? 0, depth.get(node) ?? 0));
      if (!firstSeen.has(node.layer)) firstSeen.set(node.layer, i);
    });
    this.layers = [...layerDepth.keys()].sort(
      (a, b) => layerDepth.get(b)! - layerDepth.get(a)! || firstSeen.get(a)! - firstSeen.get(b)!,
    );
    const names = new Map<string, Layer>();
    for (const layer of this.layers) {
      const other = names.get(layer.name);
      if (other && other !== layer) {
        throw new ValueError(`${context}: layer names must be unique, but two layers are named '${layer.name}' (${other.className} and ${layer.className})`);
      }
      names.set(layer.name, layer);
    }
  }

  /** The model's nodes that apply `layer`, in the layer's order (Keras's node indices within the model). */
  nodesOf(layer: Layer): Node[] {
    this.nodeSet ??= new Set(this.nodes);
    return layer.inboundNodes.filter((node) => this.nodeSet!.has(node));
  }

  private nodeSet?: Set<Node>;

  /** Every layer that holds weights or computes, nested models expanded, each once, in Keras's weight order. */
  leafLayers(prefix = ''): LeafLayer[] {
    const result: LeafLayer[] = [];
    const seen = new Set<Layer>();
    const walk = (topology: Topology, path: string, scope: string[]) => {
      for (const layer of topology.layers) {
        if (layer instanceof InputLayer || seen.has(layer)) continue;
        seen.add(layer);
        if (isNestedModel(layer)) {
          walk(layer.topology, `${path}${layer.name}.`, [...scope, layer.name]);
          continue;
        }
        const shapes = layer.inputShapes;
        result.push({ layer, path: `${path}${layer.name}`, scope, weights: shapes ? layer.weightInfo(shapes[0]) : [] });
      }
    };
    walk(this, prefix, []);
    return result;
  }

  /** The native graph: nested models expanded, each native layer once, weighted layers in Keras's order. */
  graphSpec(): { spec: GraphSpec; graphLayers: Layer[] } {
    const natives: NativeLayer[] = [];
    const graphLayers: Layer[] = [];
    const index = new Map<NativeLayer, number>();
    const register = (layer: Layer, shapes: readonly (readonly number[])[]): number => {
      const native = layer.nativeLayer(shapes);
      let position = index.get(native);
      if (position === undefined) {
        position = natives.length;
        natives.push(native);
        graphLayers.push(layer);
        index.set(native, position);
      }
      return position;
    };
    for (const { layer } of this.leafLayers()) register(layer, layer.inputShapes!);

    const nodes: GraphSpec['nodes'] = [];
    const inputCount = this.inputs.length;
    const emit = (topology: Topology, inputIds: number[], inherited?: boolean): number[] => {
      const ids = new Map<SymbolicTensor, number>();
      topology.inputs.forEach((input, i) => ids.set(input, inputIds[i]));
      for (const node of topology.nodes) {
        if (node.inputs.length === 0) continue;
        const reads = node.inputs.map((tensor) => ids.get(tensor)!);
        // A node's own `training` wins; a nested model's applies to every node inside it.
        const training = node.training ?? inherited;
        if (isNestedModel(node.layer)) {
          const produced = emit(node.layer.topology, reads, training);
          node.outputs.forEach((tensor, i) => ids.set(tensor, produced[i]));
        } else {
          const layer = register(node.layer, node.inputs.map((t) => t.sampleShape));
          nodes.push(training === undefined ? { layer, inputs: reads } : { layer, inputs: reads, training });
          ids.set(node.outputs[0], inputCount + nodes.length - 1);
        }
      }
      return topology.outputs.map((output) => ids.get(output)!);
    };
    const outputs = emit(this, this.inputs.map((_, i) => i));
    return { spec: { layers: natives, nodes, inputCount, outputs }, graphLayers };
  }

  /** The activation output `index` ends with, looking into nested models ('linear' when none). */
  finalActivation(index: number): string {
    const output = this.outputs[index];
    const layer = output.sourceLayer;
    if (isNestedModel(layer)) return layer.topology.finalActivation(output.outputIndex);
    return output.node.inputs.length === 0 ? 'linear' : layer.finalActivation;
  }

  /** Keras's functional config: each layer with the tensors each of its nodes reads. */
  config(name: string, trainable: boolean): FunctionalConfig {
    const reference = (tensor: SymbolicTensor): TensorReference => [
      tensor.sourceLayer.name,
      this.nodesOf(tensor.sourceLayer).indexOf(tensor.node),
      tensor.outputIndex,
    ];
    return {
      name,
      trainable,
      layers: this.layers.map((layer) => ({
        className: layer.className,
        name: layer.name,
        config: layer.getConfig(),
        inboundNodes: this.nodesOf(layer)
          .filter((node) => node.inputs.length > 0)
          .map((node) => node.inputs.map((tensor) => {
            const entry = reference(tensor);
            if (node.training !== undefined) entry.push({ training: node.training });
            return entry;
          })),
      })),
      inputLayers: this.inputs.map(reference),
      outputLayers: this.outputs.map(reference),
    };
  }
}
