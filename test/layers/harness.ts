/**
 * The one harness every layer goes through, as Keras's layer tests do: a table of
 * (layer, input shape) -> output shape, weight shapes and parameter count (Keras's numbers), a config
 * round trip (the rebuilt layer's config and its outputs), bad options with their messages, and inputs the layer must refuse.
 */
import { CompileArgs, InputLayer, Layer, Sequential, tensor, TensorLike, zeros } from '../../lib';
import { seededRandom, values } from '../helpers';

export interface ShapeCase {
  /** Shown as the test's title. */
  title: string;
  make: () => Layer;
  inputShape: number[];
  outputShape: number[];
  /** Keras's count_params() for this layer on this input. */
  params: number;
  /** Keras's weight shapes, in Keras's order (kernel [kh, kw, in, out] / [in, out], then bias ...). */
  weightShapes: number[][];
  /** Whether `new Class(layer.getConfig())` recreates the layer (default true). */
  roundTrip?: boolean;
}

export interface BadOptionCase {
  title: string;
  make: () => unknown;
  error: RegExp;
}

export interface BadInputCase {
  title: string;
  make: () => Layer;
  inputShape: number[];
  error: RegExp;
}

function modelOf(layer: Layer, inputShape: number[]): Sequential {
  return new Sequential([new InputLayer({ inputShape }), layer]);
}

export function describeLayer(
  name: string,
  table: { shapes: ShapeCase[]; badOptions: BadOptionCase[]; badInputs?: BadInputCase[] },
): void {
  describe(`${name} (shared layer harness)`, () => {
    if (table.shapes.length > 0) test.each(table.shapes.map((c) => [c.title, c] as const))('shapes and weights: %s', async (_title, c) => {
      const layer = c.make();
      expect(layer.computeOutputShape(c.inputShape)).toEqual(c.outputShape);
      const model = modelOf(layer, c.inputShape);
      expect(model.outputShape).toEqual(c.outputShape);
      expect(model.countParams()).toBe(c.params);
      // The native modules agree with the TypeScript shape inference and with Keras's weight layouts.
      expect(model.getWeights().map((w) => [...w.shape])).toEqual(c.weightShapes);
      const output = await model.predict(zeros([2, ...c.inputShape]));
      expect(output.shape).toEqual([2, ...c.outputShape]);
      expect(output.dtype).toBe('float32');
    });

    const roundTrips = table.shapes.filter((c) => c.roundTrip !== false);
    if (roundTrips.length > 0) {
      test.each(roundTrips.map((c) => [c.title, c] as const))('config round trip: %s', async (_title, c) => {
        const layer = c.make();
        const config = layer.getConfig();
        const Class = layer.constructor as new (config: Record<string, unknown>) => Layer;
        const copy = new Class(JSON.parse(JSON.stringify(config)));
        expect(copy.className).toBe(layer.className);
        expect(copy.getConfig()).toEqual(config);
        expect(copy.computeOutputShape(c.inputShape)).toEqual(c.outputShape);
        // The rebuilt layer computes what the original computes: a setting its config drops or misreads
        // (padding, strides, activation, axis...) shows in the outputs on random inputs with the same weights.
        const original = modelOf(layer, c.inputShape);
        const rebuilt = modelOf(copy, c.inputShape);
        rebuilt.setWeights(original.getWeights());
        const next = seededRandom(c.inputShape.length * 31 + c.params);
        const size = 2 * c.inputShape.reduce((a, b) => a * b, 1);
        const x = tensor(Float32Array.from({ length: size }, () => next() * 4 - 2), [2, ...c.inputShape]);
        expect(values(await rebuilt.predict(x))).toEqual(values(await original.predict(x)));
      });
    }

    test.each(table.badOptions.map((c) => [c.title, c] as const))('rejects bad option: %s', (_title, c) => {
      expect(() => c.make()).toThrow(c.error);
    });

    if (table.badInputs && table.badInputs.length > 0) {
      test.each(table.badInputs.map((c) => [c.title, c] as const))('rejects bad input: %s', (_title, c) => {
        expect(() => modelOf(c.make(), c.inputShape)).toThrow(c.error);
      });
    }
  });
}

/**
 * A model of `layers` on `inputShape`, compiled with `compile` when given, whose weights are then set to
 * `weights` (Keras layouts).
 */
export function fixedModel(inputShape: number[], layers: Layer[], weights: TensorLike[] = [], compile?: CompileArgs): Sequential {
  const model = new Sequential([new InputLayer({ inputShape }), ...layers]);
  if (compile) model.compile(compile);
  if (weights.length > 0) model.setWeights(weights);
  return model;
}
