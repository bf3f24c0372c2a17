import { Conv2D, Dense, INITIALIZERS, InputLayer, Sequential, setSeed, Layer } from '../lib';
import { moments } from './helpers';

/** The kernel and bias of `layer` built on `inputShape`. */
function weightsOf(layer: Layer, inputShape: number[]): Float32Array[] {
  const model = new Sequential([new InputLayer({ inputShape }), layer]);
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function maxAbs(list: Float32Array): number {
  let max = 0;
  for (const v of list) max = Math.max(max, Math.abs(v));
  return max;
}

// Keras draws its *_normal initializers from a normal truncated at two standard deviations, scaled so
// that the truncated distribution has the stated variance.
const TRUNCATION_CORRECTION = 0.87962566103423978;

describe('initializers', () => {
  beforeAll(() => setSeed(1234));

  test('glorot_uniform (the default kernel) on a big Dense kernel: bounds and variance; zeros bias', () => {
    const [kernel, bias] = weightsOf(new Dense(500), [1000]);
    const limit = Math.sqrt(6 / (1000 + 500));
    expect(maxAbs(kernel)).toBeLessThanOrEqual(limit + 1e-7);
    expect(maxAbs(kernel)).toBeGreaterThan(0.99 * limit);
    const { mean, variance } = moments(kernel);
    expect(Math.abs(mean)).toBeLessThan(0.01 * limit);
    expect(variance / (limit * limit / 3)).toBeCloseTo(1, 1);
    expect(Math.abs(variance / (limit * limit / 3) - 1)).toBeLessThan(0.02);
    expect(Array.from(bias).every((v) => v === 0)).toBe(true);
  });

  test('glorot_uniform on a Conv2D kernel uses fans multiplied by the receptive field, as Keras', () => {
    const [kernel] = weightsOf(new Conv2D(64, 3), [8, 8, 32]);
    const limit = Math.sqrt(6 / (32 * 9 + 64 * 9));
    expect(maxAbs(kernel)).toBeLessThanOrEqual(limit + 1e-7);
    expect(maxAbs(kernel)).toBeGreaterThan(0.99 * limit);
    expect(Math.abs(moments(kernel).variance / (limit * limit / 3) - 1)).toBeLessThan(0.03);
  });

  test.each([
    ['he_normal', Math.sqrt(2 / 1000)],
    ['glorot_normal', Math.sqrt(2 / (1000 + 400))],
    ['lecun_normal', Math.sqrt(1 / 1000)],
  ])('%s: truncated normal with the stated standard deviation', (name, std) => {
    const [kernel] = weightsOf(new Dense(400, { kernelInitializer: name as 'he_normal' }), [1000]);
    const { mean, variance } = moments(kernel);
    expect(Math.abs(mean)).toBeLessThan(0.01 * std);
    expect(Math.abs(Math.sqrt(variance) / std - 1)).toBeLessThan(0.02);
    // Truncated at two standard deviations of the untruncated normal.
    const bound = (2 * std) / TRUNCATION_CORRECTION;
    expect(maxAbs(kernel)).toBeLessThanOrEqual(bound * (1 + 1e-5));
    expect(maxAbs(kernel)).toBeGreaterThan(0.98 * bound);
  });

  test.each([
    ['he_uniform', Math.sqrt(6 / 1000)],
    ['lecun_uniform', Math.sqrt(3 / 1000)],
  ])('%s: uniform within the stated limit', (name, limit) => {
    const [kernel] = weightsOf(new Dense(400, { kernelInitializer: name as 'he_uniform' }), [1000]);
    expect(maxAbs(kernel)).toBeLessThanOrEqual(limit + 1e-7);
    expect(maxAbs(kernel)).toBeGreaterThan(0.99 * limit);
    expect(Math.abs(moments(kernel).variance / (limit * limit / 3) - 1)).toBeLessThan(0.02);
  });

  test('random_normal, random_uniform and truncated_normal take Keras arguments and defaults', () => {
    const [normal] = weightsOf(new Dense(400, { kernelInitializer: { name: 'random_normal', mean: 1, stddev: 0.5 } }), [500]);
    const n = moments(normal);
    expect(n.mean).toBeCloseTo(1, 2);
    expect(Math.sqrt(n.variance)).toBeCloseTo(0.5, 2);

    const [defaultNormal] = weightsOf(new Dense(400, { kernelInitializer: 'random_normal' }), [500]);
    expect(Math.sqrt(moments(defaultNormal).variance)).toBeCloseTo(0.05, 3);

    const [uniform] = weightsOf(new Dense(400, { kernelInitializer: { name: 'random_uniform', minval: 2, maxval: 3 } }), [500]);
    expect(uniform.reduce((a, b) => Math.min(a, b), Infinity)).toBeGreaterThanOrEqual(2);
    expect(uniform.reduce((a, b) => Math.max(a, b), -Infinity)).toBeLessThanOrEqual(3);
    expect(moments(uniform).mean).toBeCloseTo(2.5, 2);

    const [truncated] = weightsOf(new Dense(400, { kernelInitializer: { name: 'truncated_normal', stddev: 0.1 } }), [500]);
    expect(maxAbs(truncated)).toBeLessThanOrEqual(0.2 * (1 + 1e-5));
    // Keras's TruncatedNormal: the stddev is that of the untruncated normal; truncation at 2 std shrinks it by 0.8796.
    expect(Math.sqrt(moments(truncated).variance) / 0.1).toBeCloseTo(TRUNCATION_CORRECTION, 1);
  });

  test.each([
    ['truncated_normal, fan_out', { scale: 2, mode: 'fan_out', distribution: 'truncated_normal' }, Math.sqrt(2 / 400), 'truncated'],
    ['untruncated_normal, fan_avg', { scale: 1, mode: 'fan_avg', distribution: 'untruncated_normal' }, Math.sqrt(1 / 700), 'normal'],
    ['uniform, fan_out', { scale: 1 / 3, mode: 'fan_out', distribution: 'uniform' }, Math.sqrt(1 / 3 / 400), 'uniform'],
  ] as const)('variance_scaling (%s): Keras\'s VarianceScaling variance scale / fan', (_title, options, std, shape) => {
    const [kernel] = weightsOf(new Dense(400, { kernelInitializer: { name: 'variance_scaling', ...options } }), [1000]);
    const { mean, variance } = moments(kernel);
    expect(Math.abs(mean)).toBeLessThan(0.01 * std);
    expect(Math.abs(Math.sqrt(variance) / std - 1)).toBeLessThan(0.02);
    if (shape === 'uniform') expect(maxAbs(kernel)).toBeLessThanOrEqual(Math.sqrt(3) * std * (1 + 1e-6));
    if (shape === 'truncated') expect(maxAbs(kernel)).toBeLessThanOrEqual(((2 * std) / TRUNCATION_CORRECTION) * (1 + 1e-5));
    // An untruncated normal reaches past two standard deviations.
    if (shape === 'normal') expect(maxAbs(kernel)).toBeGreaterThan(3 * std);
  });

  test('variance_scaling on a Conv2D kernel counts the receptive field in fan_out, as EfficientNet relies on', () => {
    const [kernel] = weightsOf(new Conv2D(64, 3, { kernelInitializer: { name: 'variance_scaling', scale: 2, mode: 'fan_out' } }), [8, 8, 32]);
    expect(Math.abs(Math.sqrt(moments(kernel).variance) / Math.sqrt(2 / (64 * 9)) - 1)).toBeLessThan(0.04);
  });

  test('zeros, ones and constant; camelCase names are accepted', () => {
    const [kernel, bias] = weightsOf(new Dense(3, { kernelInitializer: 'ones', biasInitializer: { name: 'constant', value: -0.5 } }), [2]);
    expect(Array.from(kernel)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(bias)).toEqual([-0.5, -0.5, -0.5]);
    const [zeroKernel] = weightsOf(new Dense(3, { kernelInitializer: 'zeros' }), [2]);
    expect(Array.from(zeroKernel)).toEqual([0, 0, 0, 0, 0, 0]);
    const layer = new Dense(3, { kernelInitializer: 'heNormal' as 'he_normal' });
    expect(layer.kernelInitializer).toEqual({ name: 'he_normal' });
  });

  test('setSeed gives identical draws', () => {
    setSeed(7);
    const [a] = weightsOf(new Dense(20), [30]);
    setSeed(7);
    const [b] = weightsOf(new Dense(20), [30]);
    expect(Array.from(a)).toEqual(Array.from(b));
    setSeed(8);
    const [c] = weightsOf(new Dense(20), [30]);
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  test('unknown names and bad arguments are rejected, listing the valid names', () => {
    expect(() => new Dense(3, { kernelInitializer: 'xavier' as 'zeros' })).toThrow(
      new RegExp(`expected kernelInitializer to be one of ${INITIALIZERS.join(', ')} \\(or \\{name, \\.\\.\\.\\}\\) but received "xavier"`),
    );
    expect(() => new Dense(3, { biasInitializer: 5 as unknown as 'zeros' })).toThrow(/expected biasInitializer to be one of .* but received 5/);
    expect(() => new Dense(3, { kernelInitializer: { name: 'constant', value: Infinity } })).toThrow(/expected kernelInitializer\.value to be a finite number but received Infinity/);
    expect(() => new Dense(3, { kernelInitializer: { name: 'variance_scaling', mode: 'fan_mid' as 'fan_in' } })).toThrow(
      /expected kernelInitializer\.mode to be one of 'fan_in', 'fan_out', 'fan_avg' but received "fan_mid"/,
    );
    expect(() => new Dense(3, { kernelInitializer: { name: 'variance_scaling', scale: 0 } })).toThrow(/expected kernelInitializer\.scale to be a positive number but received 0/);
  });
});
