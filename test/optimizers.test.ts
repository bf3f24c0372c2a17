import { Adagrad, Adam, Adamax, AdamW, Dense, getOptimizer, InputLayer, Lion, Nadam, Optimizer, RMSprop, Sequential, SGD, tensor } from '../lib';
import { expectClose, values } from './helpers';
import { pythonHas, runPython } from './helpers/python';
import { describeIf } from './helpers/peers';

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

// Keras 3's own update rules (keras/src/optimizers/*.py), written out.
function nadamRule(lr: number, b1: number, b2: number, eps: number): Rule {
  const momentum = (t: number) => b1 * (1 - 0.5 * 0.96 ** t);
  return (p, g, s, t) => {
    s.product = (s.product ?? 1) * momentum(t);
    const productNext = s.product * momentum(t + 1);
    s.m = (s.m ?? 0) + (g - (s.m ?? 0)) * (1 - b1);
    s.v = (s.v ?? 0) + (g * g - (s.v ?? 0)) * (1 - b2);
    const mHat = (momentum(t + 1) * s.m) / (1 - productNext) + ((1 - momentum(t)) * g) / (1 - s.product);
    const vHat = s.v / (1 - b2 ** t);
    return p - (mHat * lr) / (Math.sqrt(vHat) + eps);
  };
}

function adamaxRule(lr: number, b1: number, b2: number, eps: number): Rule {
  return (p, g, s, t) => {
    s.m = (s.m ?? 0) + (g - (s.m ?? 0)) * (1 - b1);
    s.u = Math.max(b2 * (s.u ?? 0), Math.abs(g));
    return p - (lr * s.m) / ((1 - b1 ** t) * (s.u + eps));
  };
}

function lionRule(lr: number, b1: number, b2: number): Rule {
  return (p, g, s) => {
    const m = s.m ?? 0;
    s.m = m * b2 + g * (1 - b2);
    return p - lr * Math.sign(m * b1 + g * (1 - b1));
  };
}

/** Keras's decoupled weight decay around any rule: p -= p * weightDecay * lr before the update. */
function withWeightDecay(rule: Rule, lr: number, weightDecay: number): Rule {
  return (p, g, s, t) => rule(p - p * weightDecay * lr, g, s, t);
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

  test("Nadam follows Keras's formula (its momentum schedule, not PyTorch's NAdam's) over four steps", async () => {
    await compareSteps(linearModel(new Nadam({ learningRate: 0.05, beta1: 0.8, beta2: 0.95 })), nadamRule(0.05, 0.8, 0.95, 1e-7), 4);
  });

  test("Adamax follows Keras's formula over four steps", async () => {
    await compareSteps(linearModel(new Adamax({ learningRate: 0.05, beta2: 0.9 })), adamaxRule(0.05, 0.9, 0.9, 1e-7), 4);
  });

  test("Lion follows Keras's formula over four steps", async () => {
    await compareSteps(linearModel(new Lion({ learningRate: 0.05, beta1: 0.7 })), lionRule(0.05, 0.7, 0.99), 4);
  });

  test('weightDecay on any optimizer decays the weights by weightDecay * lr before its update, as Keras does', async () => {
    await compareSteps(linearModel(new SGD({ learningRate: 0.1, momentum: 0.5, weightDecay: 0.2 })), withWeightDecay(sgdRule(() => 0.1, 0.5, false), 0.1, 0.2), 3);
    await compareSteps(linearModel(new Nadam({ learningRate: 0.05, weightDecay: 0.3 })), withWeightDecay(nadamRule(0.05, 0.9, 0.999, 1e-7), 0.05, 0.3), 3);
  });

  test('the new optimizers by name, with their Keras defaults', () => {
    expect(getOptimizer('nadam').getConfig()).toEqual({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(getOptimizer('Adamax').getConfig()).toEqual({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(getOptimizer('lion').getConfig()).toEqual({ learningRate: 0.001, beta1: 0.9, beta2: 0.99 });
    expect(new SGD({ clipnorm: 1, weightDecay: 0.01 }).getConfig()).toEqual({ learningRate: 0.01, momentum: 0, nesterov: false, clipnorm: 1, weightDecay: 0.01 });
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
    expect(() => getOptimizer('adadelta')).toThrow(
      /compile: expected optimizer to be one of 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', 'nadam', 'adamax', 'lion' or an Optimizer instance but received "adadelta"/,
    );
    expect(() => new SGD({ clipnorm: 1, clipvalue: 0.5 })).toThrow(/SGD: expected only one of clipnorm, globalClipnorm and clipvalue but received "clipnorm and clipvalue"/);
    expect(() => new Adam({ clipnorm: 0 })).toThrow(/Adam: expected clipnorm to be a number in \(0, Infinity\] but received 0/);
    expect(() => new Adam({ globalClipnorm: -1 })).toThrow(/Adam: expected globalClipnorm to be a number in \(0, Infinity\] but received -1/);
    expect(() => new RMSprop({ weightDecay: -0.1 })).toThrow(/RMSprop: expected weightDecay to be a number in \[0, Infinity\] but received -0\.1/);
    expect(() => new Lion({ beta1: 0 })).toThrow(/Lion: expected beta1 to be a number in \(0, 1\) but received 0/);
  });
});

// PyTorch on the same data: one SGD step after torch.nn.utils' clipping, and Adam's AMSGrad over steps.
const describeWithTorch = describeIf(pythonHas('torch'), 'the optimizer comparisons with PyTorch need python3-torch (apt-get install python3-torch)');

const TORCH_REFERENCE = `
import json, torch
X = torch.tensor(${JSON.stringify(X)}); Y = torch.tensor(${JSON.stringify(Y)})
def model():
    linear = torch.nn.Linear(2, 1)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([${JSON.stringify(W0)}])); linear.bias.fill_(${B0})
    return linear
def params(linear):
    return linear.weight.flatten().tolist() + linear.bias.tolist()
def loss(linear):
    return ((linear(X) - Y) ** 2).mean()
def clipped(kind, amount):
    linear = model()
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    loss(linear).backward()
    if kind == 'clipnorm':
        for p in linear.parameters(): torch.nn.utils.clip_grad_norm_([p], amount)
    elif kind == 'globalClipnorm':
        torch.nn.utils.clip_grad_norm_(list(linear.parameters()), amount)
    else:
        torch.nn.utils.clip_grad_value_(list(linear.parameters()), amount)
    optimizer.step()
    return params(linear)
def adam(amsgrad):
    linear = model()
    optimizer = torch.optim.Adam(linear.parameters(), lr=0.3, betas=(0.5, 0.6), eps=1e-7, amsgrad=amsgrad)
    trajectory = []
    for _ in range(6):
        optimizer.zero_grad(); loss(linear).backward(); optimizer.step()
        trajectory.append(params(linear))
    return trajectory
def rmsprop(momentum, centered):
    linear = model()
    optimizer = torch.optim.RMSprop(linear.parameters(), lr=0.05, alpha=0.8, eps=1e-7, momentum=momentum, centered=centered)
    trajectory = []
    for _ in range(5):
        optimizer.zero_grad(); loss(linear).backward(); optimizer.step()
        trajectory.append(params(linear))
    return trajectory
print(json.dumps({
    'clipnorm': clipped('clipnorm', 0.5), 'globalClipnorm': clipped('globalClipnorm', 0.5), 'clipvalue': clipped('clipvalue', 0.3),
    'amsgrad': adam(True), 'adam': adam(False),
    'rmsprop': rmsprop(0, False), 'rmsprop-momentum': rmsprop(0.7, False), 'rmsprop-centered': rmsprop(0, True), 'rmsprop-both': rmsprop(0.7, True),
}))
`;

describeWithTorch('optimizers against PyTorch', () => {
  let reference: Record<string, number[] & number[][]>;
  beforeAll(() => {
    reference = JSON.parse(runPython(TORCH_REFERENCE));
  });

  test.each([
    ['clipnorm', 0.5],
    ['globalClipnorm', 0.5],
    ['clipvalue', 0.3],
  ] as const)('%s %d: one SGD step equals PyTorch clipping the gradients first', async (kind, amount) => {
    // The unclipped gradient is larger than every threshold here, so each clipping changes the step.
    const g = gradient([W0[0], W0[1], B0]);
    expect(Math.hypot(g[0], g[1])).toBeGreaterThan(0.5);
    expect(Math.abs(g[2])).toBeGreaterThan(0.5);
    const model = linearModel(new SGD({ learningRate: 0.1, [kind]: amount }));
    await model.trainOnBatch(tensor(X), tensor(Y));
    const unclipped = [W0[0], W0[1], B0].map((p, i) => p - 0.1 * g[i]);
    expect(Math.max(...unclipped.map((p, i) => Math.abs(p - reference[kind][i])))).toBeGreaterThan(1e-3);
    expectClose(paramsOf(model), reference[kind], 1e-5);
  });

  test.each([
    ['rmsprop-momentum', 0.7, false],
    ['rmsprop-centered', 0, true],
    ['rmsprop-both', 0.7, true],
  ] as const)('%s: RMSprop follows PyTorch over five steps (where the option changes the trajectory)', async (name, momentum, centered) => {
    // Keras adds epsilon under the square root and PyTorch outside it; at 1e-7 that is far below the tolerance.
    expect(Math.max(...reference[name].flat().map((p, i) => Math.abs(p - reference.rmsprop.flat()[i])))).toBeGreaterThan(1e-3);
    const model = linearModel(new RMSprop({ learningRate: 0.05, rho: 0.8, epsilon: 1e-7, momentum, centered }));
    for (const expected of reference[name]) {
      await model.trainOnBatch(tensor(X), tensor(Y));
      expectClose(paramsOf(model), expected, 1e-5);
    }
  });

  test('Adam with amsgrad follows PyTorch over six steps (where its maximum differs from plain Adam)', async () => {
    const model = linearModel(new Adam({ learningRate: 0.3, beta1: 0.5, beta2: 0.6, amsgrad: true }));
    // The reference is meaningful: AMSGrad's trajectory departs from plain Adam's.
    expect(Math.max(...reference.amsgrad.flat().map((p, i) => Math.abs(p - reference.adam.flat()[i])))).toBeGreaterThan(1e-3);
    for (const expected of reference.amsgrad) {
      await model.trainOnBatch(tensor(X), tensor(Y));
      expectClose(paramsOf(model), expected, 1e-5);
    }
  });
});
