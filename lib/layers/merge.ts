/**
 * Keras's merge layers: they read several tensors of one shape (element-wise: Add, Subtract, Multiply,
 * Average, Maximum, Minimum) or of shapes that differ along one axis (Concatenate).
 */
import { described, invalidArgument } from '../errors';
import type { LayerSpec } from '../native/binding';
import { checkKnownOptions, formatShape } from '../validation';
import { Layer, LayerArgs, LAYER_ARG_KEYS } from './layer';

type ElementwiseOperation = 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'minimum';

abstract class Merge extends Layer {
  override get takesMultipleInputs(): boolean {
    return true;
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return this.computeOutputShapeOf([inputShape]);
  }

  protected get context(): string {
    return `${this.className} '${this.name}'`;
  }

  protected shapesError(expected: string, inputShapes: readonly (readonly number[])[]): Error {
    return invalidArgument(
      this.context,
      expected,
      described(`shapes ${inputShapes.map((shape) => formatShape(shape, null)).join(', ')}`),
    );
  }
}

abstract class ElementwiseMerge extends Merge {
  protected abstract readonly operation: ElementwiseOperation;

  constructor(args: LayerArgs, className: string) {
    checkKnownOptions(className, args ?? {}, LAYER_ARG_KEYS);
    super(args ?? {}, className);
  }

  /** Keras's rule: equal sizes, or 1 where one input broadcasts over the other. */
  override computeOutputShapeOf(inputShapes: readonly (readonly number[])[]): number[] {
    const exactlyTwo = this.operation === 'subtract';
    if (exactlyTwo ? inputShapes.length !== 2 : inputShapes.length < 2) {
      throw invalidArgument(this.context, exactlyTwo ? 'exactly 2 inputs' : 'at least 2 inputs', described(`${inputShapes.length}`));
    }
    const rank = inputShapes[0].length;
    if (inputShapes.some((shape) => shape.length !== rank)) {
      throw this.shapesError('inputs of the same rank', inputShapes);
    }
    const output = [...inputShapes[0]];
    for (const shape of inputShapes.slice(1)) {
      shape.forEach((size, axis) => {
        if (size === output[axis] || size === 1) return;
        if (output[axis] === 1) output[axis] = size;
        else throw this.shapesError('inputs of compatible shapes (equal sizes, or 1 where they broadcast)', inputShapes);
      });
    }
    return output;
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    return [{ kind: 'merge', operation: this.operation, rank: inputShape.length + 1 }];
  }
}

/** Sums its inputs. */
export class Add extends ElementwiseMerge {
  readonly className = 'Add';
  protected readonly operation = 'add';
  constructor(args: LayerArgs = {}) {
    super(args, 'Add');
  }
}

/** Its first input minus its second. */
export class Subtract extends ElementwiseMerge {
  readonly className = 'Subtract';
  protected readonly operation = 'subtract';
  constructor(args: LayerArgs = {}) {
    super(args, 'Subtract');
  }
}

/** Multiplies its inputs element by element. */
export class Multiply extends ElementwiseMerge {
  readonly className = 'Multiply';
  protected readonly operation = 'multiply';
  constructor(args: LayerArgs = {}) {
    super(args, 'Multiply');
  }
}

/** The element-wise mean of its inputs. */
export class Average extends ElementwiseMerge {
  readonly className = 'Average';
  protected readonly operation = 'average';
  constructor(args: LayerArgs = {}) {
    super(args, 'Average');
  }
}

/** The element-wise maximum of its inputs. */
export class Maximum extends ElementwiseMerge {
  readonly className = 'Maximum';
  protected readonly operation = 'maximum';
  constructor(args: LayerArgs = {}) {
    super(args, 'Maximum');
  }
}

/** The element-wise minimum of its inputs. */
export class Minimum extends ElementwiseMerge {
  readonly className = 'Minimum';
  protected readonly operation = 'minimum';
  constructor(args: LayerArgs = {}) {
    super(args, 'Minimum');
  }
}

export interface ConcatenateArgs extends LayerArgs {
  /** The axis to join along, counted with the batch axis; negative counts from the end. Default -1 (channels). */
  axis?: number;
}

/** Joins its inputs along one axis; their other sizes must agree. */
export class Concatenate extends Merge {
  readonly className = 'Concatenate';
  readonly axis: number;

  constructor(args: ConcatenateArgs = {}) {
    checkKnownOptions('Concatenate', args ?? {}, [...LAYER_ARG_KEYS, 'axis']);
    super(args ?? {}, 'Concatenate');
    const axis = args?.axis ?? -1;
    if (!Number.isInteger(axis) || axis === 0) {
      throw invalidArgument(this.context, 'axis to be a non-zero integer (axis 0 is the batch)', args?.axis);
    }
    this.axis = axis;
  }

  override computeOutputShapeOf(inputShapes: readonly (readonly number[])[]): number[] {
    if (inputShapes.length < 2) throw invalidArgument(this.context, 'at least 2 inputs', described(`${inputShapes.length}`));
    const rank = inputShapes[0].length + 1;
    const axis = this.axis < 0 ? this.axis + rank : this.axis;
    if (axis < 1 || axis >= rank) {
      throw invalidArgument(this.context, `axis within inputs of rank ${rank} (batch axis included)`, this.axis);
    }
    const sampleAxis = axis - 1;
    const sameElsewhere = inputShapes.every(
      (shape) => shape.length === rank - 1 && shape.every((size, i) => i === sampleAxis || size === inputShapes[0][i]),
    );
    if (!sameElsewhere) {
      throw this.shapesError(`inputs whose shapes agree except along axis ${this.axis}`, inputShapes);
    }
    const output = [...inputShapes[0]];
    output[sampleAxis] = inputShapes.reduce((total, shape) => total + shape[sampleAxis], 0);
    return output;
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    return [{ kind: 'merge', operation: 'concatenate', axis: this.axis, rank: inputShape.length + 1 }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}
