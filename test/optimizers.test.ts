import { Adagrad, Adam, AdamW, Dense, getOptimizer, InputLayer, Optimizer, RMSprop, Sequential, SGD, tensor } from '../lib';
import { expectClose, values } from './helpers';

// A linear model y = x . w + b on two features, trained with mse: its gradient is known in closed form.
const X = [[1, 2], [3, -1], [-0.5, 0.5]];
const Y = [[1], [0], [2]];
const W0 = [0.5, -0.25];
const B0 = 0.1;

/** [dL/dw0, dL/dw1, dL/db] of mean((x . w + b - y)^2) over the batch. */
function gradient(params: number[]): number[] {
  const g = [0, 0, 0];
  X.forEach((x, i) => {
    const error = x[0] * params[0] + x[1] * params[1] + params[2] - Y[i][0];
    g[0] += (2 / X.length) * error * x[0];
    g[1] += (2 / X.length) * error * x[1];
    g[2] += (2 / X.length) * error;
  });
  return g;
}

function loss(params: number[]): number {
  return X.reduce((sum, x, i) => sum + (x[0] * params[0] + x[1] * params[1] + params[2] - Y[i][0]) ** 2, 0) / X.length;
}

/** One optimizer's update rule, per parameter, with its own state (libtorch's torch.optim formulas). */
type Rule = (param: number, grad: number, state: Record<string, number>, step: number) => number;

function adamRule(lr: number, b1: number, b2: number, eps: number, weightDecay = 0): Rule {
  return (p, g, s, t) => {
    p *= 1 - lr * weightDecay;
    s.m = b1 * (s.m ?? 0) + (1 - b1) * g;
    s.v = b2 * (s.v ?? 0) + (1 - b2) * g * g;
    return p - (lr / (1 - b1 ** t)) * (s.m / (Math.sqrt(s.v) / Math.sqrt(1 - b2 ** t) + eps));
  };
}

function sgdRule(lr: () => number, momentum: number, nesterov: boolean): Rule {
  return (p, g, s, t) => {
    if (momentum === 0) return p - lr() * g;
    s.buf = t === 1 ? g : momentum * s.buf + g;
    return p - lr() * (nesterov ? g + momentum * s.buf : s.buf);
  };
}

function rmspropRule(lr: number, rho: number, eps: number): Rule {
  return (p, g, s) => {
    s.square = rho * (s.square ?? 0) + (1 - rho) * g * g;
    return p - (lr * g) / (Math.sqrt(s.square) + eps);
  };
}

function adagradRule(lr: number, initial: number, eps: number): Rule {
  return (p, g, s) => {
    s.sum = (s.sum ?? initial) + g * g;
    return p - (lr * g) / (Math.sqrt(s.sum) + eps);
  };
}

function linearModel(optimizer: Optimizer | 'adam' | 'sgd'): Sequential {
  const model = new Sequential([new InputLayer({ inputShape: [2] }), new Dense(1)]);
  model.compile({ optimizer, loss: 'mse' });
  model.setWeights([[[W0[0]], [W0[1]]], [B0]]);
  return model;
}

function paramsOf(model: Sequential): number[] {
  const [kernel, bias] = model.getWeights().map(values);
  return [...kernel, ...bias];
}

/** Runs `steps` trainOnBatch calls and the reference rule side by side, comparing after each. */
async function compareSteps(model: Sequential, rule: Rule, steps = 3, between?: (step: number) => void): Promise<void> {
  let params = [W0[0], W0[1], B0];
  const states = params.map(() => ({}) as Record<string, number>);
  for (let t = 1; t <= steps; t++) {
    const expectedLoss = loss(params);
    const g = gradient(params);
    params = params.map((p, i) => rule(p, g[i], states[i], t));
    const reported = (await model.trainOnBatch(tensor(X), tensor(Y))) as number;
    expect(reported).toBeCloseTo(expectedLoss, 5);
    expectClose(paramsOf(model), params, 1e-5);
    between?.(t);
  }
}

describe('optimizers', () => {
  test('one Adam step with Keras defaults (lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7) equals the formula', async () => {
    const model = linearModel('adam');
    const g = gradient([W0[0], W0[1], B0]);
    const lr = 0.001, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    // p -= lr / (1 - b1) * m / (sqrt(v) / sqrt(1 - b2) + eps), with m = (1 - b1) g, v = (1 - b2) g^2
    const expected = [W0[0], W0[1], B0].map((p, i) => {
      const m = (1 - b1) * g[i];
      const v = (1 - b2) * g[i] * g[i];
      return p - (lr / (1 - b1)) * (m / (Math.sqrt(v) / Math.sqrt(1 - b2) + eps));
    });
    await model.trainOnBatch(tensor(X), tensor(Y));
    expectClose(paramsOf(model), expected, 1e-6);
    // The first Adam step moves each parameter by about lr, against its gradient's sign.
    expect(paramsOf(model)).toHaveLength([W0[0], W0[1], B0].length);
    paramsOf(model).forEach((p, i) => expect(Math.abs(p - [W0[0], W0[1], B0][i])).toBeCloseTo(0.001, 6));
  });

  test('Adam over three steps, with non-default options', async () => {
    await compareSteps(linearModel(new Adam({ learningRate: 0.05, beta1: 0.8, beta2: 0.99, epsilon: 1e-3 })), adamRule(0.05, 0.8, 0.99, 1e-3));
  });

  test('AdamW decays weights before the Adam update', async () => {
    await compareSteps(linearModel(new AdamW({ learningRate: 0.05, weightDecay: 0.1 })), adamRule(0.05, 0.9, 0.999, 1e-7, 0.1));
  });

  test('SGD, plain (Keras default learning rate 0.01)', async () => {
    await compareSteps(linearModel('sgd'), sgdRule(() => 0.01, 0, false));
  });

  test('SGD with momentum', async () => {
    await compareSteps(linearModel(new SGD({ learningRate: 0.05, momentum: 0.9 })), sgdRule(() => 0.05, 0.9, false), 4);
  });

  test('SGD with Nesterov momentum', async () => {
    await compareSteps(linearModel(new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true })), sgdRule(() => 0.05, 0.9, true), 4);
  });

  test('RMSprop', async () => {
    await compareSteps(linearModel(new RMSprop({ learningRate: 0.01, rho: 0.8 })), rmspropRule(0.01, 0.8, 1e-7));
  });

  test('Adagrad (initial accumulator 0.1)', async () => {
    await compareSteps(linearModel(new Adagrad({ learningRate: 0.1 })), adagradRule(0.1, 0.1, 1e-7));
  });

  test('the learning rate can be read and changed between steps, and the change takes effect', async () => {
    const optimizer = new SGD({ learningRate: 0.1 });
    expect(optimizer.learningRate).toBe(0.1);
    const model = linearModel(optimizer);
    expect(model.optimizer).toBe(optimizer);
    expect(model.optimizer!.learningRate).toBeCloseTo(0.1, 12);
    let rate = 0.1;
    await compareSteps(model, sgdRule(() => rate, 0, false), 3, (step) => {
      rate = step === 1 ? 0.5 : 0.02;
      model.optimizer!.learningRate = rate;
      expect(model.optimizer!.learningRate).toBeCloseTo(rate, 12);
    });
    expect(() => {
      optimizer.learningRate = -1;
    }).toThrow(/SGD: expected learningRate to be a number in \[0, Infinity\] but received -1/);
  });

  test("Keras's defaults and the legacy lr spelling", () => {
    expect(new Adam().getConfig()).toEqual({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false });
    expect(new SGD().getConfig()).toEqual({ learningRate: 0.01, momentum: 0, nesterov: false });
    expect(new RMSprop().getConfig()).toEqual({ learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false });
    expect(new Adagrad().getConfig()).toEqual({ learningRate: 0.001, initialAccumulatorValue: 0.1, epsilon: 1e-7 });
    expect(new AdamW().getConfig()).toMatchObject({ learningRate: 0.001, weightDecay: 0.004 });
    expect(new Adam({ lr: 0.02 } as never).learningRate).toBe(0.02);
  });

  test('getOptimizer resolves names in any case and instances', () => {
    expect(getOptimizer('adam')).toBeInstanceOf(Adam);
    expect(getOptimizer('SGD')).toBeInstanceOf(SGD);
    expect(getOptimizer('RMSprop')).toBeInstanceOf(RMSprop);
    expect(getOptimizer('adamw')).toBeInstanceOf(AdamW);
    expect(getOptimizer('adagrad')).toBeInstanceOf(Adagrad);
    const instance = new Adam();
    expect(getOptimizer(instance)).toBe(instance);
  });

  test('bad options name the argument and the range', () => {
    expect(() => new Adam({ beta1: 1 })).toThrow(/Adam: expected beta1 to be a number in \[0, 1\) but received 1/);
    expect(() => new Adam({ learningRate: -0.1 })).toThrow(/Adam: expected learningRate to be a number in \[0, Infinity\] but received -0\.1/);
    expect(() => new SGD({ nesterov: true })).toThrow(/SGD: expected a positive momentum when nesterov is true but received 0/);
    expect(() => new SGD({ momentum: 0.9, nesterov: 'yes' as unknown as boolean })).toThrow(/SGD: expected nesterov to be a boolean but received "yes"/);
    expect(() => new RMSprop({ rho: 2 })).toThrow(/RMSprop: expected rho to be a number in \[0, 1\] but received 2/);
    expect(() => new Adam({ decay: 0.1 } as never)).toThrow(/Adam: expected options among learningRate, lr, .* but received "decay"/);
    expect(() => getOptimizer('adamax')).toThrow(
      /compile: expected optimizer to be one of 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad' or an Optimizer instance but received "adamax"/,
    );
  });
});
