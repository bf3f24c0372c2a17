/**
 * Keras's learning-rate schedules (`optimizers.schedules`): pass one as an optimizer's `learningRate` and
 * the rate follows it at every training step, counted by the optimizer's `iterations`. The formulas run
 * natively (native/optim.cc), where each step reads its rate without a round trip to JavaScript; `call`
 * evaluates the same code at any step.
 */
import { invalidArgument } from './errors';
import { isOptionsObject, optionsAfterPositional } from './layers/layer';
import { loadBinding } from './native/loader';
import {
  checkBoolean,
  checkKnownOptions,
  checkNumberInRange,
  checkPlainObject,
} from './validation';

type ScheduleConfig = Record<string, number | boolean | number[] | null>;

export abstract class LearningRateSchedule {
  /** Keras's class name ('ExponentialDecay', ...). */
  readonly className: string;
  private readonly config: ScheduleConfig;

  protected constructor(className: string, config: ScheduleConfig) {
    this.className = className;
    this.config = config;
  }

  /** The learning rate at optimizer step `step` (0 for the first update), as Keras's `schedule(step)`. */
  call(step: number): number {
    checkNumberInRange(this.className, 'step', step, 0, Infinity);
    return loadBinding().scheduleLearningRate(this.toSpec(), step);
  }

  /** Keras's constructor arguments, for saving. */
  getConfig(): ScheduleConfig {
    return { ...this.config };
  }

  /** @internal What the native side evaluates. */
  toSpec(): { className: string; [option: string]: unknown } {
    return { className: this.className, ...this.config };
  }
}

/**
 * A schedule's arguments in either of Keras's conventions, positional required arguments then an options
 * object, or one options object; checks the names and that the required ones are there.
 */
function readArgs(className: string, args: unknown[], required: string[], optional: string[]): Record<string, unknown> {
  let options: Record<string, unknown>;
  if (args.length === 1 && isOptionsObject(args[0])) {
    options = args[0];
  } else {
    options = { ...(args.length > required.length ? optionsAfterPositional(className, args[required.length] as Record<string, unknown>) : {}) };
    required.forEach((name, i) => {
      if (args[i] !== undefined) options[name] = args[i];
    });
  }
  checkPlainObject(className, 'options', options);
  checkKnownOptions(className, options, [...required, ...optional]);
  for (const name of required) {
    if (options[name] === undefined) throw invalidArgument(className, `${name} to be given`, undefined);
  }
  return options;
}

const rate = (className: string, name: string, value: unknown): number => checkNumberInRange(className, name, value, 0, Infinity);
const steps = (className: string, name: string, value: unknown): number =>
  checkNumberInRange(className, name, value, 0, Infinity, { minExclusive: true });

/** The arguments ExponentialDecay and InverseTimeDecay share (Keras gives them the same four). */
function decayRateConfig(name: string, args: unknown[]): ScheduleConfig {
  const options = readArgs(name, args, ['initialLearningRate', 'decaySteps', 'decayRate'], ['staircase']);
  return {
    initialLearningRate: rate(name, 'initialLearningRate', options.initialLearningRate),
    decaySteps: steps(name, 'decaySteps', options.decaySteps),
    decayRate: rate(name, 'decayRate', options.decayRate),
    staircase: checkBoolean(name, 'staircase', options.staircase ?? false),
  };
}

export interface ExponentialDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  /** Decay in whole periods of decaySteps. Default false. */
  staircase?: boolean;
}

/** `initialLearningRate * decayRate ^ (step / decaySteps)` (the exponent floored with `staircase`). */
export class ExponentialDecay extends LearningRateSchedule {
  constructor(args: ExponentialDecayArgs);
  constructor(initialLearningRate: number, decaySteps: number, decayRate: number, options?: { staircase?: boolean });
  constructor(...args: unknown[]) {
    super('ExponentialDecay', decayRateConfig('ExponentialDecay', args));
  }
}

export interface PiecewiseConstantDecayArgs {
  /** Increasing step numbers. */
  boundaries: number[];
  /** One more than boundaries: values[i] while step <= boundaries[i], the last one after. */
  values: number[];
}

export class PiecewiseConstantDecay extends LearningRateSchedule {
  constructor(args: PiecewiseConstantDecayArgs);
  constructor(boundaries: number[], values: number[]);
  constructor(...args: unknown[]) {
    const name = 'PiecewiseConstantDecay';
    const options = readArgs(name, args, ['boundaries', 'values'], []);
    const { boundaries, values } = options;
    if (!Array.isArray(boundaries) || boundaries.some((b, i) => typeof b !== 'number' || !Number.isFinite(b) || (i > 0 && b <= boundaries[i - 1]))) {
      throw invalidArgument(name, 'boundaries to be an array of increasing finite numbers', boundaries);
    }
    if (!Array.isArray(values) || values.length !== boundaries.length + 1) {
      throw invalidArgument(name, `values to be an array of ${boundaries.length + 1} numbers (one more than boundaries)`, values);
    }
    values.forEach((value, i) => rate(name, `values[${i}]`, value));
    super(name, { boundaries: [...boundaries], values: [...values] });
  }
}

export interface PolynomialDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  /** Default 0.0001. */
  endLearningRate?: number;
  /** Default 1 (linear). */
  power?: number;
  /** Start over after decaySteps, decaying over the next multiple of it. Default false. */
  cycle?: boolean;
}

/** `(initial - end) * (1 - step / decaySteps) ^ power + end`, holding `end` after decaySteps unless `cycle`. */
export class PolynomialDecay extends LearningRateSchedule {
  constructor(args: PolynomialDecayArgs);
  constructor(initialLearningRate: number, decaySteps: number, options?: Omit<PolynomialDecayArgs, 'initialLearningRate' | 'decaySteps'>);
  constructor(...args: unknown[]) {
    const name = 'PolynomialDecay';
    const options = readArgs(name, args, ['initialLearningRate', 'decaySteps'], ['endLearningRate', 'power', 'cycle']);
    super(name, {
      initialLearningRate: rate(name, 'initialLearningRate', options.initialLearningRate),
      decaySteps: steps(name, 'decaySteps', options.decaySteps),
      endLearningRate: rate(name, 'endLearningRate', options.endLearningRate ?? 0.0001),
      power: rate(name, 'power', options.power ?? 1),
      cycle: checkBoolean(name, 'cycle', options.cycle ?? false),
    });
  }
}

export interface InverseTimeDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  /** Default false. */
  staircase?: boolean;
}

/** `initialLearningRate / (1 + decayRate * step / decaySteps)` (the ratio floored with `staircase`). */
export class InverseTimeDecay extends LearningRateSchedule {
  constructor(args: InverseTimeDecayArgs);
  constructor(initialLearningRate: number, decaySteps: number, decayRate: number, options?: { staircase?: boolean });
  constructor(...args: unknown[]) {
    super('InverseTimeDecay', decayRateConfig('InverseTimeDecay', args));
  }
}

export interface CosineDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  /** The final rate as a fraction of the decay's start. Default 0. */
  alpha?: number;
  /** With warm-up: the rate reached linearly from initialLearningRate over warmupSteps, where the decay starts. Default none. */
  warmupTarget?: number | null;
  /** Default 0. */
  warmupSteps?: number;
}

export class CosineDecay extends LearningRateSchedule {
  constructor(args: CosineDecayArgs);
  constructor(initialLearningRate: number, decaySteps: number, options?: Omit<CosineDecayArgs, 'initialLearningRate' | 'decaySteps'>);
  constructor(...args: unknown[]) {
    const name = 'CosineDecay';
    const options = readArgs(name, args, ['initialLearningRate', 'decaySteps'], ['alpha', 'warmupTarget', 'warmupSteps']);
    const warmupTarget = options.warmupTarget ?? null;
    const warmupSteps = options.warmupSteps ?? 0;
    super(name, {
      initialLearningRate: rate(name, 'initialLearningRate', options.initialLearningRate),
      decaySteps: steps(name, 'decaySteps', options.decaySteps),
      alpha: checkNumberInRange(name, 'alpha', options.alpha ?? 0, 0, 1),
      warmupTarget: warmupTarget === null ? null : rate(name, 'warmupTarget', warmupTarget),
      warmupSteps: checkNumberInRange(name, 'warmupSteps', warmupSteps, 0, Infinity),
    });
  }
}

export interface CosineDecayRestartsArgs {
  initialLearningRate: number;
  /** The length of the first period. */
  firstDecaySteps: number;
  /** Each period's length relative to the one before. Default 2. */
  tMul?: number;
  /** Each period's starting rate relative to the one before. Default 1. */
  mMul?: number;
  /** The final rate of a period as a fraction of its start. Default 0. */
  alpha?: number;
}

export class CosineDecayRestarts extends LearningRateSchedule {
  constructor(args: CosineDecayRestartsArgs);
  constructor(initialLearningRate: number, firstDecaySteps: number, options?: Omit<CosineDecayRestartsArgs, 'initialLearningRate' | 'firstDecaySteps'>);
  constructor(...args: unknown[]) {
    const name = 'CosineDecayRestarts';
    const options = readArgs(name, args, ['initialLearningRate', 'firstDecaySteps'], ['tMul', 'mMul', 'alpha']);
    super(name, {
      initialLearningRate: rate(name, 'initialLearningRate', options.initialLearningRate),
      firstDecaySteps: steps(name, 'firstDecaySteps', options.firstDecaySteps),
      tMul: steps(name, 'tMul', options.tMul ?? 2),
      mMul: rate(name, 'mMul', options.mMul ?? 1),
      alpha: checkNumberInRange(name, 'alpha', options.alpha ?? 0, 0, 1),
    });
  }
}

const BY_CLASS_NAME: Record<string, new (config: never) => LearningRateSchedule> = {
  ExponentialDecay,
  PiecewiseConstantDecay,
  PolynomialDecay,
  InverseTimeDecay,
  CosineDecay,
  CosineDecayRestarts,
};

/** Keras's `schedules.serialize`: the class name and config a model file stores. */
export function serialize(schedule: LearningRateSchedule): { className: string; config: ScheduleConfig } {
  return { className: schedule.className, config: schedule.getConfig() };
}

/** Keras's `schedules.deserialize`. */
export function deserialize(stored: { className: string; config: Record<string, unknown> }): LearningRateSchedule {
  const constructor = stored && Object.hasOwn(BY_CLASS_NAME, stored.className) ? BY_CLASS_NAME[stored.className] : undefined;
  if (!constructor) throw invalidArgument('learning rate schedule config', `className to be one of ${Object.keys(BY_CLASS_NAME).join(', ')}`, stored?.className);
  return new constructor(stored.config as never);
}
