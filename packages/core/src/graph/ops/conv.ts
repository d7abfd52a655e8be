/**
 * Conv and ConvTranspose (N-d, groups, dilations, explicit or automatic padding), with their gradients.
 *
 * Conv input gradient: ConvTranspose with an explicit output_padding (it is nonzero whenever the forward window
 * did not reach the last rows, e.g. 28 -> 14 with k3 s2 p1), or for stride 1 a Conv with the flipped, in/out
 * transposed kernel. Conv weight gradient: a Conv whose batch is the forward channels and whose kernel is dY
 * ('conv'), or patches unfolded by a one-hot grouped Conv and contracted with dY by one Gemm ('unfold'); 1x1
 * kernels need no unfolding. ConvTranspose is the adjoint of Conv, so its gradients reuse the same pieces.
 */
import { GraphError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import type { GraphBuilder, NodeRecord, Value } from '../builder.js';
import type { GradContext, GradOptions, OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import { intAttr, intsAttr, reshapeTo, stringAttr } from './grad-utils.js';
import { resolvePads, sameDim, windowOutput } from './shape-utils.js';

export const defs: OpDef[] = [];

defs.push({
  type: 'Conv',
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1]);
    const x = ctx.input(0).shape;
    const w = ctx.input(1).shape;
    if (x.length < 3) ctx.fail(`X must be [N, C, spatial...], got [${x.join(', ')}]`);
    if (w.length !== x.length) ctx.fail(`W must have rank ${x.length}, got [${w.join(', ')}]`);
    const n = x.length - 2;
    const group = ctx.int('group', 1);
    const kernel = ctx.ints('kernel_shape', w.slice(2).map((d) => (typeof d === 'number' ? d : ctx.fail('W needs static kernel dims'))));
    const strides = ctx.ints('strides', new Array<number>(n).fill(1));
    const dilations = ctx.ints('dilations', new Array<number>(n).fill(1));
    const c = x[1]!;
    const m = w[0]!;
    if (typeof c === 'number' && typeof w[1] === 'number' && w[1] * group !== c) {
      ctx.fail(`W expects ${w[1] * group} input channels (${w[1]} x group ${group}), X has ${c}`);
    }
    if (typeof m === 'number' && m % group !== 0) ctx.fail(`output channels ${m} are not divisible by group ${group}`);
    const b = ctx.optionalInput(2);
    if (b && (b.shape.length !== 1 || !sameDim(b.shape[0], m))) ctx.fail(`B must have shape [${m}]`);
    const pads = resolvePads(ctx, x.slice(2), kernel, strides, dilations);
    const spatial: Dim[] = x.slice(2).map((d, i) => windowOutput(ctx, d, kernel[i]!, strides[i]!, pads[i]!, pads[i + n]!, dilations[i]!));
    return [{ dtype, shape: [x[0]!, m, ...spatial] }];
  },
  backward: convBackward,
});

defs.push({
  type: 'ConvTranspose',
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1]);
    const x = ctx.input(0).shape;
    const w = ctx.input(1).shape;
    if (x.length < 3 || w.length !== x.length) ctx.fail(`X [N, C, ...] and W [C, M/group, k...] of equal rank expected`);
    const n = x.length - 2;
    const group = ctx.int('group', 1);
    if (!sameDim(x[1], w[0])) ctx.fail(`W expects ${String(w[0])} input channels, X has ${String(x[1])}`);
    const kernel = ctx.ints('kernel_shape', w.slice(2).map((d) => (typeof d === 'number' ? d : ctx.fail('W needs static kernel dims'))));
    const strides = ctx.ints('strides', new Array<number>(n).fill(1));
    const dilations = ctx.ints('dilations', new Array<number>(n).fill(1));
    const outputPadding = ctx.ints('output_padding', new Array<number>(n).fill(0));
    const m = typeof w[1] === 'number' ? w[1] * group : ctx.unknownDim();
    const explicit = ctx.ints('output_shape', []);
    const pads = ctx.ints('pads', new Array<number>(2 * n).fill(0));
    if (ctx.string('auto_pad', 'NOTSET') !== 'NOTSET' && explicit.length === 0) {
      ctx.fail('auto_pad other than NOTSET needs output_shape');
    }
    for (let i = 0; i < n; i++) {
      // ONNX allows output_padding < max(stride, dilation); ONNX Runtime rejects anything >= stride at run time.
      if (outputPadding[i]! >= strides[i]!) {
        ctx.fail(`output_padding ${outputPadding[i]} must be smaller than the stride (${strides[i]}) on axis ${i}`);
      }
    }
    const spatial: Dim[] =
      explicit.length === n
        ? [...explicit]
        : x.slice(2).map((d, i) =>
            typeof d === 'number'
              ? strides[i]! * (d - 1) + outputPadding[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - pads[i]! - pads[i + n]!
              : ctx.unknownDim(),
          );
    for (const d of spatial) if (typeof d === 'number' && d <= 0) ctx.fail(`output spatial size ${d} is not positive`);
    return [{ dtype, shape: [x[0]!, m, ...spatial] }];
  },
  backward: convTransposeBackward,
});

// ---- gradients ------------------------------------------------------------------------------------------------

/** The geometry of a Conv or ConvTranspose node with every default and auto_pad resolved. */
export interface ConvGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin..., end...] */
  pads: number[];
  group: number;
}

function staticSpatial(v: Value, what: string): number[] {
  const s = v.shape.slice(2);
  if (!s.every((d): d is number => typeof d === 'number')) {
    throw new GraphError(`${what}: the gradient needs static spatial sizes, got [${v.shape.join(', ')}]`);
  }
  return s;
}

/** Resolves a node's attributes (auto_pad SAME as in the shape rule, from the input's spatial sizes). */
export function convGeometry(node: NodeRecord, w: Value, spatialIn: readonly number[]): ConvGeometry {
  const n = w.rank - 2;
  const kernel = intsAttr(node, 'kernel_shape', w.shape.slice(2) as number[]);
  const strides = intsAttr(node, 'strides', new Array<number>(n).fill(1));
  const dilations = intsAttr(node, 'dilations', new Array<number>(n).fill(1));
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  let pads = intsAttr(node, 'pads', new Array<number>(2 * n).fill(0));
  if (autoPad === 'VALID') pads = new Array<number>(2 * n).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(spatialIn[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + dilations[i]! * (kernel[i]! - 1) + 1 - spatialIn[i]!);
      const small = Math.floor(total / 2);
      begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      end.push(autoPad === 'SAME_UPPER' ? total - small : small);
    }
    pads = [...begin, ...end];
  }
  return { kernel, strides, dilations, pads, group: intAttr(node, 'group', 1) };
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);
const product = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);

/** The kernel of the adjoint Conv: in/out channels swapped per group, spatially flipped. [C, M/g, k...] */
function flippedTransposedKernel(g: GraphBuilder, w: Value, group: number): Value {
  const [m, cg, ...k] = w.staticShape as [number, number, ...number[]];
  const mg = m / group;
  let t = w;
  if (cg !== 1 || mg !== 1) {
    if (group === 1) t = g.op('Transpose', [w], { perm: [1, 0, ...range(k.length, 2)] });
    else {
      const r = g.op('Reshape', [w, g.int64s([group, mg, cg, ...k])]);
      const tr = g.op('Transpose', [r], { perm: [0, 2, 1, ...range(k.length, 3)] });
      t = g.op('Reshape', [tr, g.int64s([group * cg, mg, ...k])]);
    }
  }
  const axes = range(k.length, 2).filter((_, i) => k[i]! > 1);
  if (axes.length === 0) return t;
  return g.op('Slice', [t, g.int64s(axes.map(() => -1)), g.int64s(axes.map((a) => -(k[a - 2]! + 1))), g.int64s(axes), g.int64s(axes.map(() => -1))]);
}

/**
 * The one-hot kernel [k^n, 1, k...] of the patch-unfolding Conv. ONNX Runtime rewrites a Conv whose weight is a
 * constant into its blocked (NCHWc) layout plus a reorder of the output, which for this Conv (one input channel,
 * an output k^n times its input) was measured up to 1.8x slower than the plain kernel. A Where whose condition
 * depends on run-time data (`probe`; both branches are the same constant, so the result never changes) keeps
 * the weight from being a constant.
 */
function unfoldKernel(g: GraphBuilder, kernel: readonly number[], dtype: 'float32' | 'float64', probe: Value): Value {
  const kk = product(kernel);
  const t = Tensor.zeros([kk, 1, ...kernel], dtype);
  for (let i = 0; i < kk; i++) t.data[i * kk + i] = 1;
  const onehot = g.constant(t);
  const first = g.op('Slice', [g.op('Reshape', [probe, g.int64s([-1])]), g.int64s([0]), g.int64s([1])]);
  return g.op('Where', [g.op('Greater', [first, first]), onehot, onehot]);
}

/** Patches of x [N, C, s...] under the window geometry: [N, C * k^n, P] (im2col as a one-hot Conv). */
function unfold(g: GraphBuilder, x: Value, geo: ConvGeometry, spatialOut: readonly number[]): Value {
  const [nb, c, ...spatial] = x.staticShape as [number, number, ...number[]];
  const n = geo.kernel.length;
  const kk = product(geo.kernel);
  const p = product(spatialOut);
  if (kk === 1 && geo.pads.every((q) => q === 0)) {
    // A 1x1 window: the patches are x itself, strided.
    const strided = geo.strides.some((s) => s !== 1)
      ? g.op('Slice', [x, g.int64s(range(n).map(() => 0)), g.int64s(spatialOut.map((o, i) => (o - 1) * geo.strides[i]! + 1)), g.int64s(range(n, 2)), g.int64s(geo.strides)])
      : x;
    return g.op('Reshape', [strided, g.int64s([nb, c, p])]);
  }
  const flat = reshapeTo(g, x, [nb * c, 1, ...spatial]);
  const patches = g.op('Conv', [flat, unfoldKernel(g, geo.kernel, x.dtype as 'float32' | 'float64', x)], {
    dilations: geo.dilations,
    pads: geo.pads,
    strides: geo.strides,
  });
  return g.op('Reshape', [patches, g.int64s([nb, c * kk, p])]);
}

/** The adjoint of `unfold`: patch gradients [N, C * k^n, P] summed back into an input of `spatialIn`. */
function fold(g: GraphBuilder, cols: Value, c: number, spatialIn: readonly number[], spatialOut: readonly number[], geo: ConvGeometry): Value {
  const n = geo.kernel.length;
  const nb = cols.staticShape[0]!;
  const kk = product(geo.kernel);
  const t = Tensor.zeros([kk, 1, ...geo.kernel], cols.dtype as 'float32');
  for (let i = 0; i < kk; i++) t.data[i * kk + i] = 1;
  const outputPadding = spatialIn.map((h, i) => h - ((spatialOut[i]! - 1) * geo.strides[i]! - geo.pads[i]! - geo.pads[i + n]! + geo.dilations[i]! * (geo.kernel[i]! - 1) + 1));
  const summed = g.op('ConvTranspose', [g.op('Reshape', [cols, g.int64s([nb * c, kk, ...spatialOut])]), g.constant(t)], {
    dilations: geo.dilations,
    pads: geo.pads,
    strides: geo.strides,
    ...(outputPadding.some((q) => q !== 0) ? { output_padding: outputPadding } : {}),
  });
  return g.op('Reshape', [summed, g.int64s([nb, c, ...spatialIn])]);
}

export type InputGradMethod = 'convTranspose' | 'conv' | 'fold';
export type WeightGradMethod = 'conv' | 'unfold' | 'unfold-batched';

/**
 * Input-gradient method for a layer, from measurements on onnxruntime-node 1.30 (CPU, AVX2; ResNet-18 CIFAR
 * and conv-autoencoder layers, single thread, CPU time): for small maps (at most 24 output pixels per sample)
 * one Gemm over the whole batch and a fold beat ConvTranspose by up to 3x (ConvTranspose runs one tiny product
 * per sample there); otherwise, at stride 1, the flipped-kernel Conv beats ConvTranspose by 1.2-2x unless it
 * has very few output channels (the image-facing layer); ConvTranspose for the rest.
 */
export function pickInputGrad(c: number, p: number, group: number, flipPossible: boolean): InputGradMethod {
  if (group === 1 && p <= 24) return 'fold';
  if (flipPossible && c >= 16) return 'conv';
  return 'convTranspose';
}

/**
 * Weight-gradient method, measured as above: per-sample products of the patches with dY (summed over the
 * batch) win while each sample has enough pixels (>= 32) and the [N, C k^n, M] partial products stay small
 * (at most 2^24 values, 64 MiB in float32, also a memory bound);
 * one Gemm over all N*P columns wins for small maps. The transposed-Conv method was never the fastest (its
 * "kernel" is a whole feature map, which ONNX Runtime's im2col handles poorly); it stays as an option.
 */
export function pickWeightGrad(nb: number, c: number, m: number, kk: number, p: number, group: number): WeightGradMethod {
  const partials = nb * (c / group) * kk * (m / group) * group;
  return p >= 32 && partials <= 1 << 24 ? 'unfold-batched' : 'unfold';
}

/**
 * dX of Y = Conv(X, W): the adjoint of the forward Conv. `spatialIn` are the sizes of X.
 * 'conv': with stride 1 and pads within the kernel span, a Conv with the flipped kernel. 'convTranspose': with
 * output_padding = H - ((Ho-1)s - pb - pe + d(k-1) + 1) restoring the rows the forward window never reached.
 * 'fold': patch gradients dY^T W as one Gemm over the batch, folded back by a one-hot ConvTranspose.
 */
export function convInputGrad(g: GraphBuilder, dy: Value, w: Value, spatialIn: readonly number[], geo: ConvGeometry, choice: GradOptions['convInputGrad'] = 'auto'): Value {
  const n = geo.kernel.length;
  const spatialOut = staticSpatial(dy, 'Conv');
  const [m, cg] = w.staticShape as [number, number];
  const c = cg * geo.group;
  const span = geo.kernel.map((k, i) => geo.dilations[i]! * (k - 1));
  const flipPads = [...span.map((s, i) => s - geo.pads[i]!), ...span.map((s, i) => s - geo.pads[i + n]!)];
  const flipPossible = geo.strides.every((s) => s === 1) && flipPads.every((q) => q >= 0);
  const p = product(spatialOut);
  let method: InputGradMethod = choice === 'auto' || choice === undefined ? pickInputGrad(c, p, geo.group, flipPossible) : choice;
  if (method === 'conv' && !flipPossible) method = 'convTranspose';
  if (method === 'fold' && geo.group !== 1) method = 'convTranspose';
  if (method === 'conv') {
    return g.op('Conv', [dy, flippedTransposedKernel(g, w, geo.group)], { dilations: geo.dilations, group: geo.group, pads: flipPads, strides: geo.strides });
  }
  if (method === 'fold') {
    const nb = dy.staticShape[0]!;
    const ckk = c * product(geo.kernel);
    // Rows (n, p): [N P, M] x [M, C k^n], then back to [N, C k^n, P] for the fold.
    const dyRows = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [dy, g.int64s([nb, m, p])])], { perm: [0, 2, 1] }), g.int64s([nb * p, m])]);
    const dcols = g.op('Gemm', [dyRows, g.op('Reshape', [w, g.int64s([m, ckk])])]);
    const cols = g.op('Transpose', [g.op('Reshape', [dcols, g.int64s([nb, p, ckk])])], { perm: [0, 2, 1] });
    return fold(g, cols, c, spatialIn, spatialOut, geo);
  }
  const outputPadding = spatialIn.map((h, i) => h - ((spatialOut[i]! - 1) * geo.strides[i]! - geo.pads[i]! - geo.pads[i + n]! + span[i]! + 1));
  return g.op('ConvTranspose', [dy, w], {
    dilations: geo.dilations,
    group: geo.group,
    kernel_shape: geo.kernel,
    pads: geo.pads,
    strides: geo.strides,
    ...(outputPadding.some((q) => q !== 0) ? { output_padding: outputPadding } : {}),
  });
}

/**
 * dW of Y = Conv(X, W) for W of shape [M, C/g, k...], from X [N, C, s...] and dY [N, M, o...].
 * 'unfold': patches [N, C k^n, P], then one Gemm over all N*P columns. 'unfold-batched': per-sample products
 * patches[n] dY[n]^T (the Transpose fuses into the MatMul), summed over the batch. 'conv': a Conv over X with
 * channels and batch swapped, dY as the kernel, strides and dilations exchanged; its output covers at least k
 * positions per axis and is sliced to k.
 */
export function convWeightGrad(g: GraphBuilder, x: Value, dy: Value, wShape: readonly number[], geo: ConvGeometry, choice: GradOptions['convWeightGrad'] = 'auto'): Value {
  const [nb, c] = x.staticShape as [number, number];
  const [m, cg] = wShape as [number, number];
  const n = geo.kernel.length;
  const spatialOut = staticSpatial(dy, 'Conv');
  const p = product(spatialOut);
  const group = geo.group;
  const mg = m / group;
  const kk = product(geo.kernel);
  const method = choice === 'auto' || choice === undefined ? pickWeightGrad(nb, c, m, kk, p, group) : choice;
  if (method !== 'conv') {
    const cols = unfold(g, x, geo, spatialOut); // [N, C kk, P]
    const ckk = cg * kk; // per group
    // Both orders produce dW^T [C kk, M] per group (the larger operand on the left measured faster); the final
    // Transpose is of weight size only.
    let dwT: Value;
    if (method === 'unfold-batched') {
      const colsB = group === 1 ? cols : g.op('Reshape', [cols, g.int64s([nb, group, ckk, p])]);
      const dyB = g.op('Reshape', [dy, g.int64s(group === 1 ? [nb, m, p] : [nb, group, mg, p])]);
      const prod = g.op('MatMul', [colsB, g.op('Transpose', [dyB], { perm: group === 1 ? [0, 2, 1] : [0, 1, 3, 2] })]);
      dwT = g.op('ReduceSum', [prod, g.int64s([0])], { keepdims: 0 }); // [g?, C kk, M/g]
    } else if (group === 1) {
      const colsT = g.op('Reshape', [g.op('Transpose', [cols], { perm: [1, 0, 2] }), g.int64s([ckk, nb * p])]);
      const dyT = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [dy, g.int64s([nb, m, p])])], { perm: [1, 0, 2] }), g.int64s([m, nb * p])]);
      dwT = g.op('Gemm', [colsT, dyT], { transB: 1 });
    } else {
      const colsG = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [cols, g.int64s([nb, group, ckk, p])])], { perm: [1, 2, 0, 3] }), g.int64s([group, ckk, nb * p])]);
      const dyG = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [dy, g.int64s([nb, group, mg, p])])], { perm: [1, 0, 3, 2] }), g.int64s([group, nb * p, mg])]);
      dwT = g.op('MatMul', [colsG, dyG]);
    }
    const dw = g.op('Transpose', [dwT], { perm: group === 1 ? [1, 0] : [0, 2, 1] });
    return reshapeTo(g, dw, wShape);
  }
  // 'conv': input [C/g, g*N, s...] (group-major channels), kernel dY^T [M, N, o...].
  const spatialIn = staticSpatial(x, 'Conv');
  const input =
    group === 1
      ? g.op('Transpose', [x], { perm: [1, 0, ...range(n, 2)] })
      : g.op('Reshape', [
          g.op('Transpose', [g.op('Reshape', [x, g.int64s([nb, group, cg, ...spatialIn])])], { perm: [2, 1, 0, ...range(n, 3)] }),
          g.int64s([cg, group * nb, ...spatialIn]),
        ]);
  const kernel = g.op('Transpose', [dy], { perm: [1, 0, ...range(n, 2)] });
  let out = g.op('Conv', [input, kernel], { dilations: geo.strides, group, pads: geo.pads, strides: geo.dilations }); // [C/g, M, k'...]
  const got = out.staticShape.slice(2);
  if (got.some((d, i) => d !== geo.kernel[i])) {
    out = g.op('Slice', [out, g.int64s(range(n).map(() => 0)), g.int64s(geo.kernel), g.int64s(range(n, 2))]);
  }
  return g.op('Transpose', [out], { perm: [1, 0, ...range(n, 2)] });
}

function optionsOf(ctx: GradContext): GradOptions {
  return ctx.options ?? {};
}

function convBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const [x, w, b] = node.inputs as [Value, Value, Value | null | undefined];
  const dy = ctx.gradOutputs[0];
  if (!dy) return [];
  const spatialIn = staticSpatial(x, 'Conv');
  const geo = convGeometry(node, w, spatialIn);
  const o = optionsOf(ctx);
  const n = geo.kernel.length;
  return [
    ctx.needsGrad[0] ? convInputGrad(g, dy, w, spatialIn, geo, o.convInputGrad) : null,
    ctx.needsGrad[1] ? convWeightGrad(g, x, dy, w.staticShape, geo, o.convWeightGrad) : null,
    b && ctx.needsGrad[2] ? g.op('ReduceSum', [dy, g.int64s([0, ...range(n, 2)])], { keepdims: 0 }) : null,
  ];
}

/**
 * Y = ConvTranspose(X, W) is the adjoint of Conv(., W) from Y's space to X's, so dX = Conv(dY, W) with the same
 * attributes, and dW is the Conv weight gradient with dY in the role of the Conv input and X in the role of its
 * output gradient. That Conv reads dY up to (H-1)s + d(k-1) - pb: the end pad becomes pe - output_padding, and
 * where that is negative the trailing rows of dY (which no window of X reaches) are cut instead, so both Convs
 * come out at exactly H and k.
 */
function convTransposeBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const [x, w, b] = node.inputs as [Value, Value, Value | null | undefined];
  const dy = ctx.gradOutputs[0];
  if (!dy) return [];
  const n = w.rank - 2;
  if (intsAttr(node, 'output_shape', []).length > 0 || stringAttr(node, 'auto_pad', 'NOTSET') !== 'NOTSET') {
    throw new GraphError('ConvTranspose: the gradient needs explicit pads (no output_shape or auto_pad)', node.name);
  }
  const spatialIn = staticSpatial(x, 'ConvTranspose');
  const spatialOut = staticSpatial(dy, 'ConvTranspose');
  const base = convGeometry(node, w, spatialIn);
  const outputPadding = intsAttr(node, 'output_padding', new Array<number>(n).fill(0));
  const endPads = range(n).map((i) => base.pads[i + n]! - outputPadding[i]!);
  const geo: ConvGeometry = { ...base, pads: [...base.pads.slice(0, n), ...endPads.map((p) => Math.max(0, p))] };
  const dyIn = endPads.some((p) => p < 0)
    ? g.op('Slice', [dy, g.int64s(range(n).map(() => 0)), g.int64s(spatialOut.map((o, i) => o + Math.min(0, endPads[i]!))), g.int64s(range(n, 2))])
    : dy;
  const attrs = { dilations: geo.dilations, group: geo.group, kernel_shape: geo.kernel, pads: geo.pads, strides: geo.strides };
  return [
    ctx.needsGrad[0] ? g.op('Conv', [dyIn, w], attrs) : null,
    ctx.needsGrad[1] ? convWeightGrad(g, dyIn, x, w.staticShape, geo, optionsOf(ctx).convWeightGrad) : null,
    b && ctx.needsGrad[2] ? g.op('ReduceSum', [dy, g.int64s([0, ...range(n, 2)])], { keepdims: 0 }) : null,
  ];
}
