/**
 * Seeded parameter initialisation with PyTorch's conventions: fan-in is dim 1 times the receptive field, fan-out
 * dim 0 times the receptive field (so a ConvTranspose weight [in, out/groups, k, k] gets fan-in (out/groups)*k*k,
 * as in torch.nn.init). Values are drawn in float64 from our Rng and stored as float32.
 */
import { InvalidOptionError, type Rng } from '@dc/core';

/** Fills a parameter of `shape` from `rng`. */
export type Initializer = (shape: readonly number[], rng: Rng) => Float32Array;

export type Nonlinearity = 'linear' | 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid';

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** [fanIn, fanOut] of a weight, as torch.nn.init._calculate_fan_in_and_fan_out computes them. */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length < 2) throw new InvalidOptionError('fans', 'shape', 'a shape of rank >= 2', [...shape]);
  const receptive = size(shape.slice(2));
  return [shape[1]! * receptive, shape[0]! * receptive];
}

/** torch.nn.init.calculate_gain. */
export function gain(nonlinearity: Nonlinearity, negativeSlope = 0.01): number {
  switch (nonlinearity) {
    case 'linear':
    case 'sigmoid':
      return 1;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + negativeSlope * negativeSlope));
    case 'tanh':
      return 5 / 3;
  }
}

function uniformFill(n: number, bound: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}

function normalFill(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal(0, std);
  return out;
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (PyTorch's layer default uses sqrt(5)). */
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
}

function kaimingStd(shape: readonly number[], o: KaimingOptions): number {
  const [fanIn, fanOut] = fans(shape);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  return gain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}

export const init = {
  zeros: (): Initializer => (shape) => new Float32Array(size(shape)),
  ones: (): Initializer => (shape) => new Float32Array(size(shape)).fill(1),
  constant: (value: number): Initializer => (shape) => new Float32Array(size(shape)).fill(value),
  /** U(-bound, bound). */
  uniform: (bound: number): Initializer => (shape, rng) => uniformFill(size(shape), bound, rng),
  normal: (std: number): Initializer => (shape, rng) => normalFill(size(shape), std, rng),
  /** torch.nn.init.kaiming_uniform_. */
  kaimingUniform: (o: KaimingOptions = {}): Initializer => (shape, rng) => uniformFill(size(shape), Math.sqrt(3) * kaimingStd(shape, o), rng),
  /** torch.nn.init.kaiming_normal_. */
  kaimingNormal: (o: KaimingOptions = {}): Initializer => (shape, rng) => normalFill(size(shape), kaimingStd(shape, o), rng),
  /** torch.nn.init.xavier_uniform_. */
  xavierUniform: (g = 1): Initializer => (shape, rng) => {
    const [fanIn, fanOut] = fans(shape);
    return uniformFill(size(shape), g * Math.sqrt(6 / (fanIn + fanOut)), rng);
  },
  /** torch.nn.init.xavier_normal_. */
  xavierNormal: (g = 1): Initializer => (shape, rng) => {
    const [fanIn, fanOut] = fans(shape);
    return normalFill(size(shape), g * Math.sqrt(2 / (fanIn + fanOut)), rng);
  },
  /** The default of torch.nn.Linear / Conv*d weights: kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)). */
  torchDefaultWeight: (): Initializer => init.kaimingUniform({ a: Math.sqrt(5) }),
  /** The default of their biases: U(+-1/sqrt(fan_in)) with the weight's fan-in. */
  torchDefaultBias: (fanIn: number): Initializer => init.uniform(fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0),
} as const;

/** How a model's weights are initialised: PyTorch's layer defaults, or a named scheme applied to every weight. */
export type WeightInit = 'torch' | 'kaiming-normal-fan-out' | 'kaiming-uniform' | 'xavier-uniform' | 'xavier-normal';

export const WEIGHT_INITS: readonly WeightInit[] = ['torch', 'kaiming-normal-fan-out', 'kaiming-uniform', 'xavier-uniform', 'xavier-normal'];

/** The initializer a layer uses for its weight under a scheme. */
export function weightInitializer(scheme: WeightInit, nonlinearity: Nonlinearity = 'relu'): Initializer {
  switch (scheme) {
    case 'torch':
      return init.torchDefaultWeight();
    case 'kaiming-normal-fan-out':
      return init.kaimingNormal({ mode: 'fan_out', nonlinearity });
    case 'kaiming-uniform':
      return init.kaimingUniform({ nonlinearity });
    case 'xavier-uniform':
      return init.xavierUniform(gain(nonlinearity));
    case 'xavier-normal':
      return init.xavierNormal(gain(nonlinearity));
  }
}
