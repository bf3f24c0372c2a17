/**
 * The base of every layer: a name, an optional input shape, shape inference, `apply` for the functional
 * API, and the native specs that build its torch::nn modules once its input shape is known (tfjs-layers'
 * `build(inputShape)`). A layer owns its weights: the native layer is built once and shared by every node
 * and every model that uses the layer.
 */
import { Constraint, ConstraintIdentifier, getConstraint, serializeConstraint } from '../constraints';
import { described, invalidArgument, ValueError } from '../errors';
import type { LayerSpec, NativeLayer, NativeWeightInfo } from '../native/binding';
import { loadBinding } from '../native/loader';
import { getRegularizer, Regularizer, RegularizerIdentifier, serializeRegularizer } from '../regularizers';
import { checkBoolean, checkKnownOptions, checkPlainObject, checkShape, formatShape } from '../validation';
import { isSymbolicTensor, Node, SymbolicTensor } from './symbolic';

/** Options every layer accepts. */
export interface LayerArgs {
  /** The input shape without the batch axis, e.g. `[64, 64, 3]`; only the first layer needs it. */
  inputShape?: number[];
  /** Keras's legacy spelling of a one-axis inputShape (`inputDim: 784` is `inputShape: [784]`). */
  inputDim?: number;
  /** Unique within a model; defaults to the snake_case class name with a counter (`conv2d_1`). */
  name?: string;
  /** Whether training updates the layer's weights. Default true. */
  trainable?: boolean;
  /**
   * A penalty on the layer's output, added to the loss divided by the batch size, as Keras does (in fit
   * and evaluate alike). Default none.
   */
  activityRegularizer?: RegularizerIdentifier | null;
}

export const LAYER_ARG_KEYS = ['inputShape', 'inputDim', 'name', 'trainable', 'activityRegularizer'] as const;

/** The regularizer and constraint options of a layer with a kernel and a bias (Dense, Conv2D, ...). */
export interface KernelAndBiasRegularizationArgs {
  /** A penalty on the kernel added to the loss. Default none. */
  kernelRegularizer?: RegularizerIdentifier | null;
  /** A penalty on the bias added to the loss. Default none. */
  biasRegularizer?: RegularizerIdentifier | null;
  /** A projection of the kernel after each optimizer step. Default none. */
  kernelConstraint?: ConstraintIdentifier | null;
  /** A projection of the bias after each optimizer step. Default none. */
  biasConstraint?: ConstraintIdentifier | null;
}

/** Keras's option prefixes of a kernel-and-bias layer, each naming the weight it applies to. */
export const KERNEL_AND_BIAS = { kernel: 'kernel', bias: 'bias' } as const;

/** The option names `regularizeWeights` reads for these prefixes: `kernelRegularizer`, `kernelConstraint`, ... */
export function weightOptionKeys(prefixes: Record<string, string>): string[] {
  return Object.keys(prefixes).flatMap((prefix) => [`${prefix}Regularizer`, `${prefix}Constraint`]);
}

/** A weight's regularizer and constraint, and the option prefix they were given under. */
interface WeightOptions {
  prefix: string;
  regularizer: Regularizer | null;
  constraint: Constraint | null;
}

/** Options of `layer.apply`. */
export interface ApplyOptions {
  /**
   * Keras's `training` argument: false runs this application in inference mode always (BatchNormalization on
   * its moving statistics, no dropout), as Keras's transfer-learning guide applies a base model; true, in
   * training mode always. Default: the mode of the step (fit trains, predict and evaluate infer).
   */
  training?: boolean;
}

/** One weight as Keras names and shapes it. */
export interface WeightInfo {
  name: string;
  shape: number[];
  trainable: boolean;
}

const nameCounters = new Map<string, number>();

/** Keras's to_snake_case: `Conv2D` -> `conv2d`, `MaxPooling2D` -> `max_pooling2d`. */
function snakeCase(className: string): string {
  return className
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** `conv2d`, then `conv2d_1`, `conv2d_2`, ... as Keras names layers. */
function uniqueName(className: string): string {
  const base = snakeCase(className);
  const count = nameCounters.get(base) ?? 0;
  nameCounters.set(base, count + 1);
  return count === 0 ? base : `${base}_${count}`;
}

export abstract class Layer {
  /** Keras's class name, shown by summary() and stored in saved configs. */
  abstract readonly className: string;
  readonly name: string;
  /** The input shape given at construction (without the batch axis), if any. */
  readonly batchInputShape?: readonly number[];
  /** Every application of this layer, in order (Keras's inbound nodes). */
  readonly inboundNodes: Node[] = [];
  private trainableFlag: boolean;
  /** The input shapes the weights were made for, once known. */
  private builtShapes?: number[][];
  /** Native modules by input shapes: one for a layer with weights; weightless layers may take several shapes. */
  private readonly natives = new Map<string, NativeLayer>();
  /** The built models that use the layer's weights; the last one disposed frees them. */
  private readonly users = new Set<object>();
  private weightsDisposed = false;
  /** Keras's weight name -> its regularizer and constraint, for the weights the layer lets users regularize. */
  private readonly weightOptions = new Map<string, WeightOptions>();
  /** A penalty on the layer's output (Keras's activity_regularizer), or null. */
  readonly activityRegularizer: Regularizer | null;

  constructor(args: LayerArgs, className: string) {
    checkPlainObject(className, 'options', args);
    if (args.name !== undefined && (typeof args.name !== 'string' || args.name.length === 0)) {
      throw invalidArgument(className, 'name to be a non-empty string', args.name);
    }
    this.name = args.name ?? uniqueName(className);
    this.trainableFlag = args.trainable === undefined ? true : checkBoolean(className, 'trainable', args.trainable);
    if (args.inputShape !== undefined && args.inputDim !== undefined) {
      throw invalidArgument(className, 'either inputShape or inputDim, not both', args);
    }
    if (args.inputShape !== undefined) this.batchInputShape = checkShape(className, 'inputShape', args.inputShape);
    if (args.inputDim !== undefined) this.batchInputShape = checkShape(className, 'inputDim', [args.inputDim]);
    this.activityRegularizer = getRegularizer(`${className} '${this.name}'`, 'activityRegularizer', args.activityRegularizer);
  }

  /**
   * Reads the regularizer and constraint options of the layer's weights, for each Keras option prefix and
   * the weight it applies to (`{ kernel: 'kernel', bias: 'bias' }`; DepthwiseConv2D's `{ depthwise:
   * 'kernel', bias: 'bias' }`): `kernelRegularizer`, `kernelConstraint`, ... The penalties then reach the
   * native layer with the weights (a weight the layer does not have, a bias with useBias false, is left
   * alone, as Keras does) and the options appear in getConfig. Call once, in the constructor.
   */
  protected regularizeWeights(args: object, prefixes: Record<string, string>): void {
    const context = `${this.className} '${this.name}'`;
    const options = args as Record<string, unknown>;
    for (const [prefix, weight] of Object.entries(prefixes)) {
      this.weightOptions.set(weight, {
        prefix,
        regularizer: getRegularizer(context, `${prefix}Regularizer`, options[`${prefix}Regularizer`]),
        constraint: getConstraint(context, `${prefix}Constraint`, options[`${prefix}Constraint`]),
      });
    }
  }

  /** @internal The weights as the native layer takes them: WeightInfo with each weight's penalties. */
  nativeWeightInfo(inputShape: readonly number[]): NativeWeightInfo[] {
    const context = `${this.className} '${this.name}'`;
    return this.weightInfo(inputShape).map((weight) => {
      const options = this.weightOptions.get(weight.name);
      const described: NativeWeightInfo = { ...weight };
      if (options?.regularizer) described.regularizer = options.regularizer.toSpec();
      if (options?.constraint) described.constraint = options.constraint.toSpec(context, `${options.prefix}Constraint`, weight.shape.length);
      return described;
    });
  }

  get trainable(): boolean {
    return this.trainableFlag;
  }
  /** Takes effect at the next training step of every model that holds the layer. */
  set trainable(value: boolean) {
    this.trainableFlag = checkBoolean(this.name, 'trainable', value);
  }

  /** The output shape (without the batch axis) for `inputShape`; throws when the input does not fit. */
  abstract computeOutputShape(inputShape: readonly number[]): number[];

  /** Whether the layer reads several tensors at once (the merge layers). */
  get takesMultipleInputs(): boolean {
    return false;
  }

  /** The output shape for all of the layer's inputs; merge layers override it. */
  computeOutputShapeOf(inputShapes: readonly (readonly number[])[]): number[] {
    return this.computeOutputShape(inputShapes[0]);
  }

  /**
   * Applies the layer to symbolic tensors (from `Input()` or another layer's `apply`), recording the
   * connection, and returns the symbolic output: `const y = new Dense(10).apply(x)`.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[], options: ApplyOptions = {}): SymbolicTensor {
    const node = this.connect(inputs, `${this.className} '${this.name}'.apply`, options);
    return node.outputs[0];
  }

  /** @internal Checks inputs, fixes the layer's input shapes, and records the node. */
  protected connect(inputs: SymbolicTensor | SymbolicTensor[], context: string, options: ApplyOptions = {}): Node {
    checkPlainObject(context, 'options', options);
    checkKnownOptions(context, options, ['training']);
    const training = options.training === undefined ? undefined : checkBoolean(context, 'training', options.training);
    const list = Array.isArray(inputs) ? inputs : [inputs];
    list.forEach((input, i) => {
      if (!isSymbolicTensor(input)) {
        throw invalidArgument(
          context,
          `${Array.isArray(inputs) ? `inputs[${i}]` : 'its input'} to be a symbolic tensor (from Input() or another layer's apply; to run a model on data use predict)`,
          input,
        );
      }
    });
    if (list.length === 0) throw invalidArgument(context, 'at least one input', described('an empty array'));
    if (!this.takesMultipleInputs && list.length !== 1) {
      throw invalidArgument(context, 'one input tensor', described(`${list.length} tensors`));
    }
    const shapes = list.map((t) => t.sampleShape);
    const outputShapes = this.outputShapesFor(shapes);
    this.fixInputShapes(context, shapes);
    const node = new Node(this, list, training);
    node.outputs = outputShapes.map((shape, i) => new SymbolicTensor([null, ...shape], node, i));
    this.inboundNodes.push(node);
    return node;
  }

  /** @internal The shapes of what the layer produces for `inputShapes` (several for a nested model). */
  outputShapesFor(inputShapes: readonly (readonly number[])[]): number[][] {
    return [this.computeOutputShapeOf(inputShapes)];
  }

  /** @internal The input shapes the weights were made for (undefined until the layer is first used). */
  get inputShapes(): number[][] | undefined {
    return this.builtShapes?.map((shape) => [...shape]);
  }

  /**
   * @internal Fixes the input shapes the layer's weights are made for; a layer with weights refuses other
   * shapes later, since its weights would not fit them.
   */
  fixInputShapes(context: string, shapes: readonly (readonly number[])[]): void {
    const copy = shapes.map((shape) => [...shape]);
    if (!this.builtShapes) {
      // A constraint's axes must exist on its weight: say so when the layer is connected, not at the first step.
      this.nativeWeightInfo(copy[0]);
      this.builtShapes = copy;
      return;
    }
    if (JSON.stringify(this.builtShapes) === JSON.stringify(copy)) return;
    if (this.weightInfo(this.builtShapes[0]).length > 0) {
      throw new ValueError(
        `${context}: layer '${this.name}' was built for input ${this.builtShapes.map((s) => formatShape(s, null)).join(', ')} ` +
          `and its weights cannot take ${copy.map((s) => formatShape(s, null)).join(', ')}`,
      );
    }
  }

  /** @internal The native modules for these input shapes, built (and their weights initialised) on first use. */
  nativeLayer(shapes: readonly (readonly number[])[]): NativeLayer {
    if (this.weightsDisposed) throw new ValueError(`${this.className} '${this.name}': its weights were freed when the model holding it was disposed`);
    const key = JSON.stringify(shapes);
    let native = this.natives.get(key);
    if (!native) {
      this.fixInputShapes(`${this.className} '${this.name}'`, shapes);
      native = new (loadBinding().NativeLayer)(
        this.toSpecs(shapes[0]),
        this.trainable,
        this.nativeWeightInfo(shapes[0]),
        this.activityRegularizer?.toSpec() ?? null,
      );
      this.natives.set(key, native);
    }
    return native;
  }

  /** @internal The native modules built so far, one per input shapes. */
  protected builtNatives(): IterableIterator<NativeLayer> {
    return this.natives.values();
  }

  /** @internal A built model now uses the layer's weights. */
  addUser(model: object): void {
    this.users.add(model);
  }

  /** @internal A model that used the layer was disposed; the last one frees the weights. */
  removeUser(model: object): void {
    this.users.delete(model);
    if (this.users.size > 0) return;
    for (const native of this.natives.values()) native.dispose();
    this.natives.clear();
    this.weightsDisposed = true;
  }

  /** The native modules for this layer, given a checked input shape. */
  abstract toSpecs(inputShape: readonly number[]): LayerSpec[];

  /** The layer's weights, in Keras's order and shapes, for `inputShape`. */
  weightInfo(_inputShape: readonly number[]): WeightInfo[] {
    return [];
  }

  /** The activation the layer ends with ('linear' when none), so a loss can fold it in. */
  get finalActivation(): string {
    return 'linear';
  }

  /** The constructor arguments that recreate this layer (Keras's get_config). */
  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = { name: this.name, trainable: this.trainable };
    if (this.batchInputShape) config.inputShape = [...this.batchInputShape];
    for (const { prefix, regularizer, constraint } of this.weightOptions.values()) {
      config[`${prefix}Regularizer`] = serializeRegularizer(regularizer);
      config[`${prefix}Constraint`] = serializeConstraint(constraint);
    }
    if (this.activityRegularizer) config.activityRegularizer = serializeRegularizer(this.activityRegularizer);
    return config;
  }

  /** Kernel (and bias, with `useBias`) weights, as Dense and Conv2D have them. */
  protected kernelAndBias(kernelShape: number[], units: number, useBias: boolean): WeightInfo[] {
    const weights = [{ name: 'kernel', shape: kernelShape, trainable: this.trainable }];
    if (useBias) weights.push({ name: 'bias', shape: [units], trainable: this.trainable });
    return weights;
  }

  /** `spec`, followed by an activation module unless the activation is linear. */
  protected withActivation(spec: LayerSpec, activation: string): LayerSpec[] {
    return activation === 'linear' ? [spec] : [spec, { kind: 'activation', activation }];
  }

  /** The error for an input this layer cannot take, naming the expected and received shapes. */
  protected inputError(expected: string, inputShape: readonly number[]): Error {
    return new ValueError(
      `${this.className} '${this.name}': expected input of ${expected} but received ${formatShape(inputShape)}`,
    );
  }

  /**
   * Keras's `axis` option (counted with the batch axis, negative from the end) on an input of `inputShape`:
   * the axes counted from the batch axis, sorted, as Keras canonicalizes them.
   */
  protected canonicalAxes(axis: number | readonly number[], inputShape: readonly number[]): number[] {
    const rank = inputShape.length + 1;
    const list = typeof axis === 'number' ? [axis] : axis;
    const axes = list.map((a) => (a < 0 ? a + rank : a));
    if (axes.some((a) => a < 1 || a >= rank) || new Set(axes).size !== axes.length) {
      throw this.inputError(`a rank with distinct axes ${JSON.stringify(axis)} after the batch axis 0`, inputShape);
    }
    return [...axes].sort((a, b) => a - b);
  }

  /** The rank check most layers start with. */
  protected requireRank(inputShape: readonly number[], rank: number, description: string): void {
    if (inputShape.length !== rank) throw this.inputError(`rank ${rank} (${description})`, inputShape);
  }
}

/**
 * Keras's `axis` option: a non-zero integer (counted with the batch axis, negative from the end) or, with
 * `several`, a non-empty list of distinct ones.
 */
export function checkAxis(context: string, value: unknown, several: boolean): number | number[] {
  const isAxis = (a: unknown): a is number => typeof a === 'number' && Number.isInteger(a) && a !== 0;
  if (isAxis(value)) return value;
  if (several && Array.isArray(value) && value.length > 0 && value.every(isAxis) && new Set(value).size === value.length) return [...value];
  const what = several ? 'a non-zero integer or a list of distinct ones' : 'a non-zero integer';
  throw invalidArgument(context, `axis to be ${what} (counted with the batch axis 0, negative from the end)`, value);
}

/** The options object that follows positional arguments, checked before it is spread (a string would spread into '0', '1', ...). */
export function optionsAfterPositional<T>(className: string, options: T): T {
  checkPlainObject(className, 'options', options);
  return options;
}

/** Splits Keras's two calling conventions: positional required arguments, or one options object. */
export function isOptionsObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
