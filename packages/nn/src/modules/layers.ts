/**
 * Layers: Linear, Conv2d, ConvTranspose2d, BatchNorm1d/2d, Dropout, activations, pooling and shape layers,
 * Sequential. Parameter names, shapes and default initialisation follow torch.nn, so a PyTorch state_dict maps
 * onto ours name for name.
 */
import { GraphError, InvalidOptionError, Tensor, c, validateOptions, type Value } from '@dc/core';
import { batchNorm, dropout, l2Normalize } from '../functional/index.js';
import { init, weightInitializer, type WeightInit, WEIGHT_INITS } from './init.js';
import { Module, type ForwardContext } from './module.js';

type Pair = number | readonly [number, number];

function pair(caller: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new InvalidOptionError(caller, name, `an integer >= ${min} or a pair of them`, v);
  }
  return p;
}

const pairRule = (min: number) =>
  c.custom<Pair>(`an integer >= ${min} or a pair of them`, (v) =>
    (typeof v === 'number' && Number.isInteger(v) && v >= min) ||
    (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= min)),
  );

function requireRank(layer: string, x: Value, rank: number, layout: string): void {
  if (x.rank !== rank) throw new GraphError(`${layer} expects input ${layout}, got ${x.toString()}`);
}

export interface LinearOptions {
  bias?: boolean;
  /** Weight initialisation (default 'torch': U(+-1/sqrt(in)), as torch.nn.Linear). */
  weightInit?: WeightInit;
}

/** y = x W^T + b with W [out, in] (torch.nn.Linear). Input [N, in]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const o = validateOptions('Linear', options, { bias: c.bool(), weightInit: c.oneOf(WEIGHT_INITS) }, { bias: true, weightInit: 'torch' });
    this.inFeatures = checkCount('Linear', 'inFeatures', inFeatures);
    this.outFeatures = checkCount('Linear', 'outFeatures', outFeatures);
    this.hasBias = o.bias;
    this.registerParameter('weight', [outFeatures, inFeatures], weightInitializer(o.weightInit, 'linear'));
    if (o.bias) this.registerParameter('bias', [outFeatures], init.torchDefaultBias(inFeatures));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    requireRank('Linear', x, 2, `[N, ${this.inFeatures}]`);
    if (x.shape[1] !== this.inFeatures) throw new GraphError(`Linear expects ${this.inFeatures} input features, got ${x.toString()}`);
    const inputs = this.hasBias ? [x, ctx.param('weight'), ctx.param('bias')] : [x, ctx.param('weight')];
    return ctx.g.op('Gemm', inputs, { transB: 1 });
  }
}

function checkCount(caller: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new InvalidOptionError(caller, name, 'an integer >= 1', v);
  return v;
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  weightInit?: WeightInit;
}

const convSchema = {
  stride: pairRule(1),
  padding: pairRule(0),
  dilation: pairRule(1),
  groups: c.int({ min: 1 }),
  bias: c.bool(),
  weightInit: c.oneOf(WEIGHT_INITS),
};

/** 2-D convolution, weight [out, in/groups, kh, kw] (torch.nn.Conv2d). Input [N, in, H, W]. */
export class Conv2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    const o = validateOptions('Conv2d', options, convSchema, { stride: 1, padding: 0, dilation: 1, groups: 1, bias: true, weightInit: 'torch' });
    checkCount('Conv2d', 'inChannels', inChannels);
    checkCount('Conv2d', 'outChannels', outChannels);
    this.kernel = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', o.stride, 1);
    this.padding = pair('Conv2d', 'padding', o.padding, 0);
    this.dilation = pair('Conv2d', 'dilation', o.dilation, 1);
    this.groups = o.groups;
    if (inChannels % o.groups !== 0 || outChannels % o.groups !== 0) {
      throw new InvalidOptionError('Conv2d', 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, o.groups);
    }
    this.hasBias = o.bias;
    const shape = [outChannels, inChannels / o.groups, ...this.kernel];
    this.registerParameter('weight', shape, weightInitializer(o.weightInit, 'relu'));
    if (o.bias) this.registerParameter('bias', [outChannels], init.torchDefaultBias((inChannels / o.groups) * this.kernel[0] * this.kernel[1]));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    requireRank('Conv2d', x, 4, `[N, ${this.inChannels}, H, W]`);
    const inputs = this.hasBias ? [x, ctx.param('weight'), ctx.param('bias')] : [x, ctx.param('weight')];
    return ctx.g.op('Conv', inputs, {
      kernel_shape: this.kernel,
      strides: this.stride,
      pads: [this.padding[0], this.padding[1], this.padding[0], this.padding[1]],
      dilations: this.dilation,
      group: this.groups,
    });
  }

  /** Output spatial size for an input size (floor((H + 2p - d(k-1) - 1)/s) + 1). */
  outputSize(h: number, w: number): [number, number] {
    const f = (n: number, i: 0 | 1) => Math.floor((n + 2 * this.padding[i] - this.dilation[i] * (this.kernel[i] - 1) - 1) / this.stride[i]) + 1;
    return [f(h, 0), f(w, 1)];
  }
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/** 2-D transposed convolution, weight [in, out/groups, kh, kw] (torch.nn.ConvTranspose2d). */
export class ConvTranspose2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: ConvTranspose2dOptions = {}) {
    super();
    const o = validateOptions('ConvTranspose2d', options, { ...convSchema, outputPadding: pairRule(0) }, {
      stride: 1, padding: 0, dilation: 1, groups: 1, bias: true, weightInit: 'torch', outputPadding: 0,
    });
    checkCount('ConvTranspose2d', 'inChannels', inChannels);
    checkCount('ConvTranspose2d', 'outChannels', outChannels);
    this.kernel = pair('ConvTranspose2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('ConvTranspose2d', 'stride', o.stride, 1);
    this.padding = pair('ConvTranspose2d', 'padding', o.padding, 0);
    this.dilation = pair('ConvTranspose2d', 'dilation', o.dilation, 1);
    this.outputPadding = pair('ConvTranspose2d', 'outputPadding', o.outputPadding, 0);
    for (const i of [0, 1] as const) {
      if (this.outputPadding[i] >= Math.max(this.stride[i], this.dilation[i])) {
        throw new InvalidOptionError('ConvTranspose2d', 'outputPadding', 'smaller than stride or dilation', o.outputPadding);
      }
    }
    this.groups = o.groups;
    if (inChannels % o.groups !== 0 || outChannels % o.groups !== 0) {
      throw new InvalidOptionError('ConvTranspose2d', 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, o.groups);
    }
    this.hasBias = o.bias;
    const shape = [inChannels, outChannels / o.groups, ...this.kernel];
    this.registerParameter('weight', shape, weightInitializer(o.weightInit, 'relu'));
    // PyTorch's bias bound uses the weight's fan-in, which for [in, out/g, k, k] is (out/g)*k*k.
    if (o.bias) this.registerParameter('bias', [outChannels], init.torchDefaultBias((outChannels / o.groups) * this.kernel[0] * this.kernel[1]));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    requireRank('ConvTranspose2d', x, 4, `[N, ${this.inChannels}, H, W]`);
    const inputs = this.hasBias ? [x, ctx.param('weight'), ctx.param('bias')] : [x, ctx.param('weight')];
    return ctx.g.op('ConvTranspose', inputs, {
      kernel_shape: this.kernel,
      strides: this.stride,
      pads: [this.padding[0], this.padding[1], this.padding[0], this.padding[1]],
      output_padding: this.outputPadding,
      dilations: this.dilation,
      group: this.groups,
    });
  }
}

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch statistic in the running average (PyTorch's default 0.1). */
  momentum?: number;
  affine?: boolean;
}

abstract class BatchNormBase extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;

  constructor(readonly numFeatures: number, options: BatchNormOptions, caller: string) {
    super();
    const o = validateOptions(caller, options, { eps: c.number({ min: 0, minExclusive: true }), momentum: c.number({ min: 0, max: 1 }), affine: c.bool() }, {
      eps: 1e-5,
      momentum: 0.1,
      affine: true,
    });
    checkCount(caller, 'numFeatures', numFeatures);
    this.eps = o.eps;
    this.momentum = o.momentum;
    this.affine = o.affine;
    if (o.affine) {
      this.registerParameter('weight', [numFeatures], init.ones());
      this.registerParameter('bias', [numFeatures], init.zeros());
    }
    // PyTorch also keeps num_batches_tracked, used only when momentum is None (a cumulative average), which we do
    // not offer; the running statistics are the state that matters.
    this.registerBuffer('running_mean', [numFeatures], init.zeros());
    this.registerBuffer('running_var', [numFeatures], init.ones());
  }

  protected abstract checkInput(x: Value): void;

  forward(ctx: ForwardContext, x: Value): Value {
    this.checkInput(x);
    const g = ctx.g;
    // Without affine parameters, constant ones/zeros stand in for them (they receive no gradient).
    const weight = this.affine ? ctx.param('weight') : g.constant(Tensor.ones([this.numFeatures]));
    const bias = this.affine ? ctx.param('bias') : g.constant(Tensor.zeros([this.numFeatures]));
    const r = batchNorm(g, x, {
      weight,
      bias,
      runningMean: ctx.buffer('running_mean'),
      runningVar: ctx.buffer('running_var'),
      training: ctx.training,
      momentum: this.momentum,
      eps: this.eps,
    });
    if (ctx.training) {
      if (r.newRunningMean) ctx.setBuffer('running_mean', r.newRunningMean);
      if (r.newRunningVar) ctx.setBuffer('running_var', r.newRunningVar);
    }
    return r.y;
  }
}

/** Batch normalisation over [N, C] (torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, 'BatchNorm1d');
  }

  protected checkInput(x: Value): void {
    requireRank('BatchNorm1d', x, 2, `[N, ${this.numFeatures}]`);
    if (x.shape[1] !== this.numFeatures) throw new GraphError(`BatchNorm1d expects ${this.numFeatures} features, got ${x.toString()}`);
  }
}

/** Batch normalisation over [N, C, H, W] (torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, 'BatchNorm2d');
  }

  protected checkInput(x: Value): void {
    requireRank('BatchNorm2d', x, 4, `[N, ${this.numFeatures}, H, W]`);
    if (x.shape[1] !== this.numFeatures) throw new GraphError(`BatchNorm2d expects ${this.numFeatures} channels, got ${x.toString()}`);
  }
}

/**
 * Inverted dropout: in training, y = x * mask / (1 - p) with a 0/1 mask that the trainer draws from its seeded
 * Rng and feeds as a graph input (training stays reproducible and resumable); identity in evaluation.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(typeof p === 'number' && p >= 0 && p < 1)) throw new InvalidOptionError('Dropout', 'p', 'a number in the range [0, 1)', p);
  }

  forward(ctx: ForwardContext, x: Value): Value {
    if (!ctx.training || this.p === 0) return x;
    const mask = ctx.dropoutMask('mask', x.staticShape, this.p);
    return dropout(ctx.g, x, mask, this.p);
  }
}

/** Elementwise activations and softmax-like maps without parameters. */
export class ReLU extends Module {
  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.g.op('Relu', [x]);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (!(typeof negativeSlope === 'number' && Number.isFinite(negativeSlope) && negativeSlope >= 0)) {
      throw new InvalidOptionError('LeakyReLU', 'negativeSlope', 'a finite number >= 0', negativeSlope);
    }
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.g.op('LeakyRelu', [x], { alpha: this.negativeSlope });
  }
}

export class Sigmoid extends Module {
  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.g.op('Sigmoid', [x]);
  }
}

export class Tanh extends Module {
  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.g.op('Tanh', [x]);
  }
}

export class Softmax extends Module {
  constructor(readonly axis = -1) {
    super();
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.g.op('Softmax', [x], { axis: this.axis });
  }
}

export class LogSoftmax extends Module {
  constructor(readonly axis = -1) {
    super();
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.g.op('LogSoftmax', [x], { axis: this.axis });
  }
}

/** Rows scaled to unit L2 norm (contrastive features). */
export class L2Normalize extends Module {
  constructor(readonly axis = -1, readonly eps = 1e-12) {
    super();
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return l2Normalize(ctx.g, x, this.axis, this.eps);
  }
}

export class Identity extends Module {
  forward(_ctx: ForwardContext, x: Value): Value {
    return x;
  }
}

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
}

/** Max pooling over [N, C, H, W] (stride defaults to the kernel size, as in PyTorch). */
export class MaxPool2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(kernelSize: Pair, options: Pool2dOptions = {}) {
    super();
    const o = validateOptions('MaxPool2d', options, { stride: c.optional(pairRule(1)), padding: pairRule(0) }, { padding: 0 });
    this.kernel = pair('MaxPool2d', 'kernelSize', kernelSize, 1);
    this.stride = o.stride === undefined ? this.kernel : pair('MaxPool2d', 'stride', o.stride, 1);
    this.padding = pair('MaxPool2d', 'padding', o.padding, 0);
  }

  forward(ctx: ForwardContext, x: Value): Value {
    requireRank('MaxPool2d', x, 4, '[N, C, H, W]');
    // Both outputs: the backward rule scatters the gradient through the Indices output.
    const [y] = ctx.g.opMulti('MaxPool', [x], {
      kernel_shape: this.kernel,
      strides: this.stride,
      pads: [this.padding[0], this.padding[1], this.padding[0], this.padding[1]],
    }, 2);
    return y!;
  }
}

/** Average pooling over [N, C, H, W] (padding counted as in PyTorch's default count_include_pad=True). */
export class AvgPool2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(kernelSize: Pair, options: Pool2dOptions = {}) {
    super();
    const o = validateOptions('AvgPool2d', options, { stride: c.optional(pairRule(1)), padding: pairRule(0) }, { padding: 0 });
    this.kernel = pair('AvgPool2d', 'kernelSize', kernelSize, 1);
    this.stride = o.stride === undefined ? this.kernel : pair('AvgPool2d', 'stride', o.stride, 1);
    this.padding = pair('AvgPool2d', 'padding', o.padding, 0);
  }

  forward(ctx: ForwardContext, x: Value): Value {
    requireRank('AvgPool2d', x, 4, '[N, C, H, W]');
    return ctx.g.op('AveragePool', [x], {
      kernel_shape: this.kernel,
      strides: this.stride,
      pads: [this.padding[0], this.padding[1], this.padding[0], this.padding[1]],
      count_include_pad: 1,
    });
  }
}

/** Mean over H and W: [N, C, H, W] -> [N, C] (adaptive average pooling to 1x1, then flatten). */
export class GlobalAvgPool2d extends Module {
  forward(ctx: ForwardContext, x: Value): Value {
    requireRank('GlobalAvgPool2d', x, 4, '[N, C, H, W]');
    return ctx.g.op('Flatten', [ctx.g.op('GlobalAveragePool', [x])], { axis: 1 });
  }
}

/** [N, ...] -> [N, prod(...)]. */
export class Flatten extends Module {
  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.g.op('Flatten', [x], { axis: 1 });
  }
}

/** [N, ...] -> [N, ...shape] (the batch dimension is kept). */
export class Unflatten extends Module {
  constructor(readonly shape: readonly number[]) {
    super();
    if (!shape.every((d) => Number.isInteger(d) && d >= 1)) throw new InvalidOptionError('Unflatten', 'shape', 'positive integers', [...shape]);
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.g.op('Reshape', [x, ctx.g.int64s([0, ...this.shape])]);
  }
}

/** Runs children in order; children are named '0', '1', ... as in torch.nn.Sequential. */
export class Sequential extends Module {
  readonly length: number;

  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
    this.length = layers.length;
  }

  forward(ctx: ForwardContext, x: Value): Value {
    let y = x;
    for (let i = 0; i < this.length; i++) y = ctx.call<[Value], Value>(String(i), y);
    return y;
  }
}
