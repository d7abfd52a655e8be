/**
 * Thin functional layers over the ONNX ops, in PyTorch's argument conventions (weights [out, in] and
 * [out, in/groups, kh, kw]; symmetric padding). They check ranks and channel counts when the graph is built so a
 * mistake is a ShapeError here, not an ONNX Runtime failure later.
 */
import { checkParameter, c, InvalidOptionError, ShapeError, type GraphBuilder, type Value } from '@dc/core';
import { checkBuilder, checkDtype, checkValue, shapeForError } from './common.js';

type Pair = number | readonly [number, number];

function pair(caller: string, name: string, v: Pair | undefined, fallback: number, min: number): [number, number] {
  const value = v ?? fallback;
  const p: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  if (!Array.isArray(value) && typeof value !== 'number') throw new InvalidOptionError(caller, name, `an integer >= ${min} or a pair of them`, value);
  for (const x of p) {
    if (!Number.isInteger(x) || x < min) throw new InvalidOptionError(caller, name, `an integer >= ${min} or a pair of them`, value);
  }
  return p;
}

/** y = x W^T + b for x [N, in] (one Gemm) or [..., in] (MatMul), W [out, in], b [out]. */
export function linear(g: GraphBuilder, x: Value, weight: Value, bias?: Value | null): Value {
  const caller = 'linear';
  checkBuilder(caller, g);
  checkValue(caller, 'x', g, x);
  checkValue(caller, 'weight', g, weight, [2], '[out, in]');
  checkDtype('weight', weight, x);
  const [out, inF] = weight.shape;
  if (x.rank < 1 || (typeof inF === 'number' && typeof x.shape[x.rank - 1] === 'number' && x.shape[x.rank - 1] !== inF)) {
    throw new ShapeError('x', `[..., ${inF}]`, shapeForError(x.shape));
  }
  if (bias) {
    checkValue(caller, 'bias', g, bias, [1], `[${out}]`);
    checkDtype('bias', bias, x);
    if (typeof out === 'number' && bias.shape[0] !== out) throw new ShapeError('bias', [out], shapeForError(bias.shape));
  }
  if (x.rank === 2) return g.op('Gemm', bias ? [x, weight, bias] : [x, weight], { transB: 1 });
  const y = g.op('MatMul', [x, g.op('Transpose', [weight], { perm: [1, 0] })]);
  return bias ? g.op('Add', [y, bias]) : y;
}

export interface Conv2dParams {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

function convChecks(caller: string, g: GraphBuilder, x: Value, weight: Value, bias: Value | null | undefined, outChannels: () => number | string): void {
  checkBuilder(caller, g);
  checkValue(caller, 'x', g, x, [4], '[N, C, H, W]');
  checkValue(caller, 'weight', g, weight, [4]);
  checkDtype('weight', weight, x);
  if (bias) {
    checkValue(caller, 'bias', g, bias, [1]);
    checkDtype('bias', bias, x);
    const out = outChannels();
    if (typeof out === 'number' && bias.shape[0] !== out) throw new ShapeError('bias', [out], shapeForError(bias.shape));
  }
}

/** 2-D convolution, x [N, C, H, W], weight [M, C/groups, kh, kw], bias [M]. */
export function conv2d(g: GraphBuilder, x: Value, weight: Value, bias?: Value | null, p: Conv2dParams = {}): Value {
  const caller = 'conv2d';
  convChecks(caller, g, x, weight, bias, () => weight.shape[0]!);
  const groups = checkParameter(caller, 'groups', p.groups ?? 1, c.int({ min: 1 }));
  const [m, cg] = weight.shape;
  if (typeof x.shape[1] === 'number' && typeof cg === 'number' && cg * groups !== x.shape[1]) {
    throw new ShapeError('weight', `[M, ${Number(x.shape[1]) / groups}, kh, kw] for ${x.shape[1]} input channels and groups ${groups}`, shapeForError(weight.shape));
  }
  if (typeof m === 'number' && m % groups !== 0) throw new InvalidOptionError(caller, 'groups', `a divisor of the output channels (${m})`, groups);
  const [sh, sw] = pair(caller, 'stride', p.stride, 1, 1);
  const [ph, pw] = pair(caller, 'padding', p.padding, 0, 0);
  const [dh, dw] = pair(caller, 'dilation', p.dilation, 1, 1);
  return g.op('Conv', bias ? [x, weight, bias] : [x, weight], { dilations: [dh, dw], group: groups, pads: [ph, pw, ph, pw], strides: [sh, sw] });
}

export interface ConvTranspose2dParams extends Conv2dParams {
  outputPadding?: Pair;
}

/** 2-D transposed convolution, x [N, C, H, W], weight [C, M/groups, kh, kw], bias [M]. */
export function convTranspose2d(g: GraphBuilder, x: Value, weight: Value, bias?: Value | null, p: ConvTranspose2dParams = {}): Value {
  const caller = 'convTranspose2d';
  const groups = checkParameter(caller, 'groups', p.groups ?? 1, c.int({ min: 1 }));
  convChecks(caller, g, x, weight, bias, () => (typeof weight.shape[1] === 'number' ? weight.shape[1] * groups : '?'));
  if (typeof x.shape[1] === 'number' && typeof weight.shape[0] === 'number' && x.shape[1] !== weight.shape[0]) {
    throw new ShapeError('weight', `[${x.shape[1]}, M/groups, kh, kw]`, shapeForError(weight.shape));
  }
  const [sh, sw] = pair(caller, 'stride', p.stride, 1, 1);
  const [ph, pw] = pair(caller, 'padding', p.padding, 0, 0);
  const [dh, dw] = pair(caller, 'dilation', p.dilation, 1, 1);
  const [oh, ow] = pair(caller, 'outputPadding', p.outputPadding, 0, 0);
  if (oh >= Math.max(sh, dh) || ow >= Math.max(sw, dw)) {
    throw new InvalidOptionError(caller, 'outputPadding', 'smaller than the stride or the dilation', p.outputPadding);
  }
  return g.op('ConvTranspose', bias ? [x, weight, bias] : [x, weight], {
    dilations: [dh, dw],
    group: groups,
    pads: [ph, pw, ph, pw],
    strides: [sh, sw],
    ...(oh || ow ? { output_padding: [oh, ow] } : {}),
  });
}

export interface Pool2dParams {
  kernelSize: Pair;
  /** Defaults to kernelSize (as in PyTorch). */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

function poolAttrs(caller: string, p: Pool2dParams) {
  if (typeof p !== 'object' || p === null) throw new InvalidOptionError(caller, 'params', 'an object with kernelSize', p);
  const k = pair(caller, 'kernelSize', p.kernelSize, 0, 1);
  const stride = p.stride === undefined ? k : pair(caller, 'stride', p.stride, 1, 1);
  const [ph, pw] = pair(caller, 'padding', p.padding, 0, 0);
  if (ph * 2 > k[0] || pw * 2 > k[1]) throw new InvalidOptionError(caller, 'padding', 'at most half the kernel size', p.padding);
  const ceil = checkParameter(caller, 'ceilMode', p.ceilMode ?? false, c.bool());
  return { kernel_shape: k, strides: stride, pads: [ph, pw, ph, pw], ...(ceil ? { ceil_mode: 1 } : {}) };
}

/** Max pooling; returns the pooled values and their flat indices into x (the backward pass scatters through them). */
export function maxPool2d(g: GraphBuilder, x: Value, p: Pool2dParams): { values: Value; indices: Value } {
  const caller = 'maxPool2d';
  checkBuilder(caller, g);
  checkValue(caller, 'x', g, x, [4], '[N, C, H, W]');
  const [values, indices] = g.opMulti('MaxPool', [x], poolAttrs(caller, p), 2);
  return { values: values!, indices: indices! };
}

/** Average pooling; padded positions count in the divisor unless countIncludePad is false (PyTorch's default is true). */
export function avgPool2d(g: GraphBuilder, x: Value, p: Pool2dParams & { countIncludePad?: boolean }): Value {
  const caller = 'avgPool2d';
  checkBuilder(caller, g);
  checkValue(caller, 'x', g, x, [4], '[N, C, H, W]');
  const { countIncludePad, ...rest } = p;
  const include = checkParameter(caller, 'countIncludePad', countIncludePad ?? true, c.bool());
  return g.op('AveragePool', [x], { ...poolAttrs(caller, rest), count_include_pad: include ? 1 : 0 });
}

/** Mean over the spatial axes: [N, C, H, W] -> [N, C]. */
export function globalAvgPool2d(g: GraphBuilder, x: Value): Value {
  const caller = 'globalAvgPool2d';
  checkBuilder(caller, g);
  checkValue(caller, 'x', g, x, [4], '[N, C, H, W]');
  return g.op('Flatten', [g.op('GlobalAveragePool', [x])], { axis: 1 });
}
