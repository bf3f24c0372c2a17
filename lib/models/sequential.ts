/**
 * Sequential: a stack of layers, as in Keras 3 a functional model whose graph is a chain. Layers are
 * checked as they are added and their shapes inferred; the graph is made once the input shape is known
 * (from the first layer's inputShape, or from the first data the model sees).
 */
import { invalidArgument, ValueError } from '../errors';
import { InputLayer } from '../layers/core';
import { Layer } from '../layers/layer';
import { registerLayerFactory } from '../layers/registry';
import type { SymbolicTensor } from '../layers/symbolic';
import { getOptimizerFromConfig } from '../optimizers';
import { checkPlainObject, formatShape } from '../validation';
import { Topology } from './functional';
import { checkModelSource, Model, ModelArgs, TensorStructure } from './model';
import { checkStoredWeights, layersFromConfig, ModelSource, readModelFile, restoreWeights, SequentialConfig, sourceName } from './persistence';

export interface SequentialArgs {
  layers?: Layer[];
  name?: string;
  /** Default true. False freezes every layer. */
  trainable?: boolean;
}

export class Sequential extends Model<SymbolicTensor> {
  override readonly className: string = 'Sequential';
  private readonly stack: Layer[] = [];
  /** The chain of symbolic tensors, once the input shape is known; the topology is read off it when needed. */
  private chain?: { input: SymbolicTensor; output: SymbolicTensor };

  constructor(layersOrArgs?: Layer[] | SequentialArgs) {
    const args = Array.isArray(layersOrArgs) ? { layers: layersOrArgs } : (layersOrArgs ?? {});
    checkPlainObject('Sequential', 'options', args);
    super({ name: args.name } as ModelArgs<SymbolicTensor>);
    for (const layer of args.layers ?? []) this.add(layer);
    if (args.trainable === false) this.trainable = false;
  }

  /** The layers, in order (InputLayer excluded, as in Keras). */
  override get layers(): Layer[] {
    return this.stack.filter((layer) => !(layer instanceof InputLayer));
  }

  override get inputNames(): string[] {
    return [this.chain?.input.sourceLayer.name ?? 'input'];
  }

  override get outputNames(): string[] {
    const last = this.layers[this.layers.length - 1];
    return [last?.name ?? 'output'];
  }

  override get trainable(): boolean {
    return super.trainable;
  }
  override set trainable(value: boolean) {
    super.trainable = value;
    for (const layer of this.stack ?? []) layer.trainable = value;
  }

  /** Adds a layer on top; its input shape must fit the layer below. */
  add(layer: Layer): void {
    if (!(layer instanceof Layer)) throw invalidArgument('Sequential.add', 'a Layer instance', layer);
    if (this.trainer.isTraining) throw new ValueError('Sequential.add: the model is training; wait for fit to finish');
    if (this.stack.some((existing) => existing.name === layer.name)) {
      throw invalidArgument('Sequential.add', `a layer with a unique name (the model already has '${layer.name}')`, layer.name);
    }
    if (this.stack.length > 0 && layer.batchInputShape && !(layer instanceof InputLayer)) {
      // Keras ignores (and warns about) inputShape below the first layer; a mismatch is surely a mistake.
      const current = this.outputShape;
      if (current && formatShape(current) !== formatShape(layer.batchInputShape)) {
        throw invalidArgument(
          `Sequential.add '${layer.name}'`,
          `inputShape ${formatShape(current)} (the output of the layer below)`,
          formatShape(layer.batchInputShape),
        );
      }
    }
    this.stack.push(layer);
    try {
      if (!this.chain) this.makeGraph(this.declaredInputShape());
      else if (layer instanceof InputLayer) layer.computeOutputShape(this.chain.output.sampleShape);
      // Only the new layer is applied: adding n layers is linear in n.
      else this.chain = { input: this.chain.input, output: layer.apply(this.chain.output) };
    } catch (error) {
      this.stack.pop();
      throw error;
    }
    this.invalidate();
    this.graph = undefined;
  }

  override get outputShape(): number[] | undefined {
    return this.chain?.output.sampleShape;
  }

  /** Removes the top layer and returns it. */
  pop(): Layer {
    if (this.trainer.isTraining) throw new ValueError('Sequential.pop: the model is training; wait for fit to finish');
    if (this.layers.length === 0) throw new ValueError('Sequential.pop: the model has no layers');
    const layer = this.stack.pop()!;
    this.makeGraph(this.chain?.input.sampleShape ?? this.declaredInputShape());
    return layer;
  }

  private declaredInputShape(): number[] | undefined {
    const first = this.stack[0];
    return first?.batchInputShape ? [...first.batchInputShape] : undefined;
  }

  /** The chain of layers applied to an input of `inputShape`; none while the shape is unknown. */
  private makeGraph(inputShape: number[] | undefined): void {
    this.invalidate();
    this.graph = undefined;
    this.chain = undefined;
    if (!inputShape || this.stack.length === 0) return;
    const first = this.stack[0];
    const input = first instanceof InputLayer ? first.output : new InputLayer({ inputShape, name: `${this.name}_input` }).output;
    let x: SymbolicTensor = input;
    for (const layer of this.layers) x = layer.apply(x);
    this.chain = { input, output: x };
  }

  protected override makeTopology(): Topology | undefined {
    return this.chain ? new Topology(`Sequential '${this.name}'`, [this.chain.input], [this.chain.output]) : undefined;
  }

  /** @internal */
  protected override prepareGraph(operation: string, inputShapes?: number[][]): void {
    if (this.layers.length === 0) throw new ValueError(`${operation}: the model has no layers; add some first`);
    if (this.chain) return;
    if (!inputShapes) this.requireGraph(operation);
    this.makeGraph(inputShapes![0]);
  }

  /** @internal Makes the graph for an input shape known from elsewhere (a saved config). */
  buildFor(inputShape: number[]): void {
    if (!this.chain) this.makeGraph(inputShape);
  }

  override getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      trainable: this.trainable,
      inputShape: this.inputShape,
      layers: this.stack.map((layer) => ({ className: layer.className, config: layer.getConfig() })),
    };
  }

  /** @internal The config model files store (the format every release has written). */
  override modelConfig(): Record<string, unknown> {
    return { className: 'Sequential', ...this.getConfig() };
  }
}

function sequentialFromConfig(file: string, config: SequentialConfig): Sequential {
  const model = new Sequential({ name: config.name });
  for (const layer of layersFromConfig(file, config)) model.add(layer);
  if (!model.inputShape && config.inputShape) {
    if (!Array.isArray(config.inputShape) || !config.inputShape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
      throw new ValueError(`${file}: expected the config's inputShape to be positive integers but received ${JSON.stringify(config.inputShape)}`);
    }
    model.buildFor(config.inputShape);
  }
  if ((config as { trainable?: boolean }).trainable === false) model.trainable = false;
  return model;
}

registerLayerFactory('Sequential', (config) => sequentialFromConfig('Sequential config', config as unknown as SequentialConfig));

/**
 * Recreates a model saved with `model.save()`, from its file or from the Buffer `save()` resolved: same
 * layers and graph, weights, compile options, optimizer state. Typed as a one-output model; for several
 * outputs name their form: `loadModel<SymbolicTensor[]>(file)`.
 */
export async function loadModel<O extends TensorStructure = SymbolicTensor>(source: ModelSource): Promise<Model<O>> {
  checkModelSource('loadModel', source);
  const loaded = await readModelFile(source);
  const file = sourceName(source);
  let model: Model<O>;
  try {
    model = loaded.config.className === 'Sequential' ? (sequentialFromConfig(file, loaded.config) as unknown as Model<O>) : (Model.fromConfig(loaded.config.config as never) as Model<O>);
  } catch (error) {
    const message = (error as Error).message;
    throw new ValueError(message.startsWith(file) ? message : `${file}: ${message}`);
  }
  // Before anything is built: a config that contradicts the stored weights (a hostile file asking for
  // Dense(1e9)) must be refused before libtorch allocates what it asks for.
  if (model.knownInputShapes()) {
    const { names, weights } = model.weightFileNames();
    checkStoredWeights(file, names, weights, loaded);
  }
  if (loaded.compile) {
    const { optimizer, loss, metrics, lossWeights } = loaded.compile;
    let instance;
    try {
      instance = getOptimizerFromConfig(optimizer);
    } catch (error) {
      const reason = (error as Error).message;
      throw new ValueError(
        reason.startsWith('optimizer config:')
          ? `${file}: unknown optimizer ${JSON.stringify(optimizer?.className)} in the compile config`
          : `${file}: the compile config's optimizer is invalid: ${reason}`,
      );
    }
    model.compile({ optimizer: instance, loss: loss as never, metrics: metrics as never, ...(lossWeights !== undefined ? { lossWeights: lossWeights as never } : {}) });
  }
  restoreWeights(model, file, loaded);
  if (loaded.classIndices) model.classIndices = loaded.classIndices;
  return model;
}
