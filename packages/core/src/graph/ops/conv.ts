/**
 * Conv and ConvTranspose (N-d, groups, dilations, explicit or automatic padding), with their gradients.
 *
 * Conv input gradient: ConvTranspose with an explicit output_padding (it is nonzero whenever the forward window
 * did not reach the last rows, e.g. 28 -> 14 with k3 s2 p1), or for stride 1 a Conv with the flipped, in/out
 * transposed kernel, or for small maps one Gemm over the batch and Col2Im ('fold'). Conv weight gradient: a Conv
 * whose batch is the forward channels and whose kernel is dY ('conv'), patches unfolded by a one-hot grouped Conv
 * and contracted with dY ('unfold', 'unfold-batched'; 1x1 kernels need no unfolding), for small maps patch rows
 * gathered from a spatial-major copy of the input ('gather'), or for 3x3 stride-1 layers Winograd's F(4x4, 3x3)
 * (`winograd.ts`). ConvTranspose is the adjoint of Conv, so its
 * gradients reuse the same pieces.
 */
import { GraphError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import type { GraphBuilder, NodeRecord, Value } from '../builder.js';
import type { GradContext, GradOptions, OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import { intAttr, intsAttr, reshapeTo, spatialTable, stringAttr } from './grad-utils.js';
import { resolvePads, sameDim, windowOutput } from './shape-utils.js';
import { WIDE_CHANNELS, winogradApplies, winogradConvGains, winogradWeightGrad } from './winograd.js';

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

defs.push({
  type: 'Col2Im',
  infer(ctx) {
    const x = ctx.input(0).shape;
    const image = ctx.constantInput(1, 'image_shape');
    const block = ctx.constantInput(2, 'block_shape');
    const img = Array.from(image.data as ArrayLike<number | bigint>, Number);
    const blk = Array.from(block.data as ArrayLike<number | bigint>, Number);
    if (x.length !== 3) ctx.fail(`input must be [N, C * prod(block_shape), L], got [${x.join(', ')}]`);
    if (img.length !== blk.length) ctx.fail('image_shape and block_shape must have the same length');
    const kk = blk.reduce((a, b) => a * b, 1);
    const ckk = x[1]!;
    if (typeof ckk === 'number' && ckk % kk !== 0) ctx.fail(`input channels ${ckk} are not a multiple of the block size ${kk}`);
    return [{ dtype: ctx.input(0).dtype, shape: [x[0]!, typeof ckk === 'number' ? ckk / kk : ctx.unknownDim(), ...img] }];
  },
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
  const kk = product(k);
  if (kk === 1) return t;
  // Flipping every spatial axis reverses the row-major tap index. A product with the exchange matrix does that
  // 2x faster than a Slice with negative steps (which ONNX Runtime copies element by element); it is exact, as
  // each output is one weight times 1 plus zeros.
  const flat = g.op('MatMul', [g.op('Reshape', [t, g.int64s([-1, kk])]), g.constant(exchangeMatrix(kk, w.dtype as 'float32'))]);
  return g.op('Reshape', [flat, g.int64s(t.staticShape)]);
}

/** The k x k exchange matrix (ones on the anti-diagonal): a product with it reverses the order of k values. */
function exchangeMatrix(k: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  const exchange = Tensor.zeros([k, k], dtype);
  for (let i = 0; i < k; i++) exchange.data[i * k + (k - 1 - i)] = 1;
  return exchange;
}

/**
 * The 4-D kernel w of which `value` is the ungrouped flippedTransposedKernel, or null: the CPU runtime's
 * Winograd lowering runs an adjoint Conv from w itself, folding the flip into its kernel transform and the
 * channel swap into its product, instead of computing the flipped copy (for a 512 x 512 x 3 x 3 kernel the
 * Transpose alone took 2.2 ms). `producer` gives the node that writes a value name, `constant` an initializer.
 */
export function flippedTransposedSource(value: Value, producer: (name: string) => NodeRecord | undefined, constant: (name: string) => Tensor | undefined): Value | null {
  const from = (v: Value | null | undefined, opType: string) => {
    const node = v ? producer(v.name) : undefined;
    return node && node.opType === opType && node.domain === '' ? node : null;
  };
  const outer = from(value, 'Reshape');
  const product = from(outer?.inputs[0], 'MatMul');
  const inner = from(product?.inputs[0], 'Reshape');
  const transpose = from(inner?.inputs[0], 'Transpose');
  const w = transpose?.inputs[0];
  if (!product || !transpose || !w || w.rank !== 4 || value.shape.join() !== [w.shape[1], w.shape[0], ...w.shape.slice(2)].join()) return null;
  const kk = w.shape.slice(2).reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
  const perm = intsAttr(transpose, 'perm', []);
  if (!Number.isInteger(kk) || perm.join() !== '1,0,2,3') return null;
  const exchange = product.inputs[1] ? constant(product.inputs[1].name) : undefined;
  const want = exchangeMatrix(kk);
  if (!exchange || exchange.dtype !== 'float32' || exchange.shape.join() !== want.shape.join() || !exchange.data.every((e, i) => e === want.data[i])) return null;
  return w;
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

/**
 * The adjoint of `unfold`: patch gradients [N, C * k^n, P] summed back into an input of `spatialIn`, by Col2Im
 * (measured 1.2-1.35x faster than a ConvTranspose with a one-hot kernel; ONNX Runtime implements Col2Im, like
 * Conv, for float32 only).
 */
function fold(g: GraphBuilder, cols: Value, spatialIn: readonly number[], geo: ConvGeometry): Value {
  return g.op('Col2Im', [cols, g.int64s(spatialIn), g.int64s(geo.kernel)], { dilations: geo.dilations, pads: geo.pads, strides: geo.strides });
}

/**
 * Row indices for the spatial-major layout of the 'gather' weight gradient: the input as a table [Sp, N*C] (one row per
 * position of the zero-padded input, each row all batch-channel pairs), and for each kernel tap t (row-major over
 * the kernel) and output position p (row-major) the row that the window of p reads at t: [k^n * P] values.
 */
function gatherRows(spatialIn: readonly number[], spatialOut: readonly number[], geo: ConvGeometry): number[] {
  const n = geo.kernel.length;
  const padded = spatialIn.map((h, i) => h + geo.pads[i]! + geo.pads[i + n]!);
  const kk = product(geo.kernel);
  const p = product(spatialOut);
  const rows = new Array<number>(kk * p);
  const tap = new Array<number>(n).fill(0);
  const pos = new Array<number>(n).fill(0);
  for (let t = 0; t < kk; t++) {
    for (let i = n - 1, r = t; i >= 0; i--) {
      tap[i] = r % geo.kernel[i]!;
      r = Math.floor(r / geo.kernel[i]!);
    }
    for (let q = 0; q < p; q++) {
      for (let i = n - 1, r = q; i >= 0; i--) {
        pos[i] = r % spatialOut[i]!;
        r = Math.floor(r / spatialOut[i]!);
      }
      let row = 0;
      for (let i = 0; i < n; i++) row = row * padded[i]! + pos[i]! * geo.strides[i]! + tap[i]! * geo.dilations[i]!;
      rows[t * p + q] = row;
    }
  }
  return rows;
}

/**
 * The k x k identity as a constant. A transpose that moves a short axis (k values) past a long one is faster as
 * a product with it (ONNX Runtime fuses the Transpose into the MatMul as transA or transB, and MLAS transposes
 * while packing) than as a Transpose node, which ONNX Runtime runs element by element for such shapes: for the
 * taps of a 512x512x3x3 weight the Transpose took 25x the time of the product, which costs 2k FLOPs per element.
 */
export function identity(k: number, dtype: string): Tensor {
  const eye = Tensor.zeros([k, k], dtype as 'float32');
  for (let i = 0; i < k; i++) eye.data[i * k + i] = 1;
  return eye;
}

/** [kk, R] -> [R, kk] (see identity). */
function tapsLast(g: GraphBuilder, v: Value, kk: number, dtype: string): Value {
  return g.op('MatMul', [g.op('Transpose', [v], { perm: [1, 0] }), g.constant(identity(kk, dtype))]);
}

/**
 * The sum over the leading (batch) axis of `v` [N, ...]. From 2^18 summands on, a product with a row of ones:
 * ONNX Runtime's ReduceSum over axis 0 runs slower on two threads than on one there (measured on 2 cores for
 * [32, 1152 x 128]: 1.86 ms against 0.50 on one thread, the product 0.33 ms), while below it both take the same
 * few microseconds, so smaller sums keep ReduceSum and their results to the bit (among them every layer of the
 * autoencoders SPC and RUC's pretrainEncoder train).
 */
function batchSum(g: GraphBuilder, v: Value): Value {
  const [nb, ...rest] = v.staticShape as [number, ...number[]];
  const size = product(rest);
  if (nb * size < BATCH_SUM_PRODUCT_MIN) return g.op('ReduceSum', [v, g.int64s([0])], { keepdims: 0 });
  const ones = g.constant(Tensor.ones([1, nb], v.dtype));
  return g.op('Reshape', [g.op('MatMul', [ones, g.op('Reshape', [v, g.int64s([nb, size])])]), g.int64s(rest)]);
}
const BATCH_SUM_PRODUCT_MIN = 1 << 18;

export type InputGradMethod = 'convTranspose' | 'conv' | 'fold';
export type WeightGradMethod = 'conv' | 'unfold' | 'unfold-batched' | 'gather' | 'winograd';

/**
 * Input-gradient method for a layer, from measurements on onnxruntime-node 1.30 (CPU, AVX2; ResNet-18 CIFAR
 * and conv-autoencoder layers, single thread, CPU time): for small maps (at most 24 output pixels per sample)
 * one Gemm over the whole batch and a fold beat ConvTranspose by up to 3x (ConvTranspose runs one tiny product
 * per sample there); otherwise, at stride 1, the flipped-kernel Conv beats ConvTranspose by 1.2-2x unless it
 * has very few output channels (the image-facing layer); ConvTranspose for the rest. A layer the CPU runtime runs
 * by Winograd's F(4x4, 3x3) (`winograd`; winogradConvGains) takes the flipped-kernel Conv, which the runtime's
 * lowering then runs that way too, on 4x4 maps as well (512 channels, batch 32: 9 ms against the fold's 14).
 */
export function pickInputGrad(c: number, p: number, group: number, flipPossible: boolean, winograd = false): InputGradMethod {
  if (winograd) return 'conv';
  if (group === 1 && p <= 24) return 'fold';
  if (flipPossible && c >= 16) return 'conv';
  return 'convTranspose';
}

/**
 * Weight-gradient method, measured as above (CPU time): Winograd's F(4x4, 3x3) wherever it applies (3x3, stride 1,
 * pad 1, sizes divisible by 4; `winograd`) with at least 64 input and output channels (ResNet-18's stages, 2
 * threads, kernel time per layer in whole steps on a 2-core EPYC: 64 channels at 32x32 about 14 ms against 21,
 * 128 at 16x16 9 against 20, 256 at 8x8 8 against 18, 512 at 4x4 10 against 16; fewer channels were not measured,
 * and the autoencoders' layers and, on 28x28 images, RUC's small CNN keep their methods and results). Otherwise, for small maps (at
 * most 64 output pixels per sample) with a window larger than 1x1, the row gather from the spatial-major table (1.25-2x faster than the one-hot unfold
 * there: ONNX Runtime's Conv spends most of its time per tiny image); otherwise per-sample products of the patches
 * with dY (summed over the batch) while each sample has enough pixels (>= 32) and the [N, C k^n, M] partial
 * products stay small (at most 2^24 values, 64 MiB in float32, also a memory bound); one Gemm over all N*P
 * columns for the rest. The transposed-Conv method was never the fastest (its "kernel" is a whole feature map,
 * which ONNX Runtime's im2col handles poorly); it stays as an option.
 */
export function pickWeightGrad(nb: number, c: number, m: number, kk: number, p: number, group: number, winograd = false): WeightGradMethod {
  if (winograd && c >= WIDE_CHANNELS && m >= WIDE_CHANNELS) return 'winograd';
  if (group === 1 && kk > 1 && p <= 64) return 'gather';
  const partials = nb * (c / group) * kk * (m / group) * group;
  return p >= 32 && partials <= 1 << 24 ? 'unfold-batched' : 'unfold';
}

/**
 * dX of Y = Conv(X, W): the adjoint of the forward Conv. `spatialIn` are the sizes of X.
 * 'conv': with stride 1 and pads within the kernel span, a Conv with the flipped kernel. 'convTranspose': with
 * output_padding = H - ((Ho-1)s - pb - pe + d(k-1) + 1) restoring the rows the forward window never reached.
 * 'fold': patch gradients dY^T W as one Gemm over the batch, summed back into the input by Col2Im.
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
  // A Conv that the CPU runtime lowers to Winograd's F(4x4, 3x3) (runtime/winograd.ts) gains over the fold too.
  const winograd = winogradConvGains(m, c, spatialIn) && winogradApplies(dy.dtype, geo.kernel, geo.strides, geo.dilations, geo.pads, geo.group, spatialIn);
  let method: InputGradMethod = choice === 'auto' || choice === undefined ? pickInputGrad(c, p, geo.group, flipPossible, winograd) : choice;
  if (method === 'conv' && !flipPossible) method = 'convTranspose';
  if (method === 'fold' && geo.group !== 1) method = 'convTranspose';
  if (method === 'conv') {
    return g.op('Conv', [dy, flippedTransposedKernel(g, w, geo.group)], { dilations: geo.dilations, group: geo.group, pads: flipPads, strides: geo.strides });
  }
  if (method === 'fold') {
    const nb = dy.staticShape[0]!;
    const ckk = c * product(geo.kernel);
    // Rows (n, p): [N P, M] x [M, C k^n], then back to [N, C k^n, P] for the fold. P is small here, so both
    // per-sample transposes are products with the P x P identity (see tapsLast).
    const eye = g.constant(identity(p, dy.dtype));
    const dyT = g.op('Transpose', [g.op('Reshape', [dy, g.int64s([nb, m, p])])], { perm: [0, 2, 1] });
    const dyRows = g.op('Reshape', [g.op('MatMul', [eye, dyT]), g.int64s([nb * p, m])]);
    const dcols = g.op('Gemm', [dyRows, g.op('Reshape', [w, g.int64s([m, ckk])])]);
    const cols = g.op('MatMul', [g.op('Transpose', [g.op('Reshape', [dcols, g.int64s([nb, p, ckk])])], { perm: [0, 2, 1] }), eye]);
    return fold(g, cols, spatialIn, geo);
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
 * positions per axis and is sliced to k. 'gather': X as a zero-padded table [Sp, N C] (one row per input
 * position), the rows each window reads gathered per tap into [k^n, P N, C], and one product per tap with dY as
 * [M, P N], so batch and pixels are contracted together without the per-image overhead of the unfolding Conv.
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
  const winograd = winogradApplies(x.dtype, geo.kernel, geo.strides, geo.dilations, geo.pads, group, spatialOut);
  let method = choice === 'auto' || choice === undefined ? pickWeightGrad(nb, c, m, kk, p, group, winograd) : choice;
  if (method === 'winograd') {
    if (winograd) {
      const dyTable = spatialTable(g, dy, geo.pads.map(() => 0));
      return winogradWeightGrad(g, spatialTable(g, x, geo.pads), dyTable, spatialOut, wShape);
    }
    method = pickWeightGrad(nb, c, m, kk, p, group);
  }
  if (method === 'gather' && group !== 1) method = 'unfold';
  if (method === 'gather') {
    // Patches gathered row-wise from the spatial-major table ([kk, P N, C]; each row a block of C values), then
    // one product per tap with dY as [M, P N]: the contraction runs over batch and pixels together.
    const rows = gatherRows(staticSpatial(x, 'Conv'), spatialOut, geo);
    const cols = g.op('Reshape', [g.op('Gather', [spatialTable(g, x, geo.pads), g.int64s(rows)], { axis: 0 }), g.int64s([kk, p * nb, c])]);
    const dyT = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [dy, g.int64s([nb, m, p])])], { perm: [1, 2, 0] }), g.int64s([m, p * nb])]);
    const dwTaps = g.op('Reshape', [g.op('MatMul', [dyT, cols]), g.int64s([kk, m * c])]); // [kk, M C]
    return reshapeTo(g, tapsLast(g, dwTaps, kk, x.dtype), wShape);
  }
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
      dwT = batchSum(g, prod); // [g?, C kk, M/g]
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

/**
 * dY = Z * s with s one value per output channel ([1, M, 1...]; the BatchNorm gradient ends so) costs a pass over
 * dY. The gradients of a Conv are linear in dY per output channel, so s can move onto the weight (input gradient)
 * and onto the weight gradient and bias gradient instead: two weight-sized products in place of one dY-sized one,
 * used while the weight has at most half the values of dY. Returns Z and s reshaped to broadcast over the weight's
 * output-channel axis `axis`, or null. The Mul is left without consumers (buildStepGraph prunes it).
 */
function channelScaled(g: GraphBuilder, dy: Value, w: Value, axis: number): { z: Value; sw: Value; sb: Value } | null {
  const node = dy.producer;
  const m = w.staticShape[axis]!;
  if (!node || node.opType !== 'Mul' || node.domain !== '' || 2 * product(w.staticShape) > product(dy.staticShape)) return null;
  const [a, b] = node.inputs as [Value | null, Value | null];
  for (const [z, s] of [[a, b], [b, a]] as const) {
    if (!z || !s || z.dtype !== dy.dtype || s.dtype !== dy.dtype || z.rank !== dy.rank || s.rank !== dy.rank) continue;
    if (z.shape.some((d, i) => d !== dy.shape[i]) || s.shape.some((d, i) => d !== (i === 1 ? m : 1))) continue;
    const sw = g.op('Reshape', [s, g.int64s(w.staticShape.map((_, i) => (i === axis ? m : 1)))]);
    return { z, sw, sb: g.op('Reshape', [s, g.int64s([m])]) };
  }
  return null;
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
  const biasGrad = (v: Value) => g.op('ReduceSum', [v, g.int64s([0, ...range(n, 2)])], { keepdims: 0 });
  const split = channelScaled(g, dy, w, 0);
  if (split) {
    const { z, sw, sb } = split;
    return [
      ctx.needsGrad[0] ? convInputGrad(g, z, g.op('Mul', [w, sw]), spatialIn, geo, o.convInputGrad) : null,
      ctx.needsGrad[1] ? g.op('Mul', [convWeightGrad(g, x, z, w.staticShape, geo, o.convWeightGrad), sw]) : null,
      b && ctx.needsGrad[2] ? g.op('Mul', [biasGrad(z), sb]) : null,
    ];
  }
  return [
    ctx.needsGrad[0] ? convInputGrad(g, dy, w, spatialIn, geo, o.convInputGrad) : null,
    ctx.needsGrad[1] ? convWeightGrad(g, x, dy, w.staticShape, geo, o.convWeightGrad) : null,
    b && ctx.needsGrad[2] ? biasGrad(dy) : null,
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
  // A per-output-channel scale on dY moves onto the weight (axis 1; ungrouped only) as for Conv.
  const split = geo.group === 1 ? channelScaled(g, dy, w, 1) : null;
  const grad = split ? split.z : dy;
  const wIn = split ? g.op('Mul', [w, split.sw]) : w;
  const dyIn = endPads.some((p) => p < 0)
    ? g.op('Slice', [grad, g.int64s(range(n).map(() => 0)), g.int64s(spatialOut.map((o, i) => o + Math.min(0, endPads[i]!))), g.int64s(range(n, 2))])
    : grad;
  const attrs = { dilations: geo.dilations, group: geo.group, kernel_shape: geo.kernel, pads: geo.pads, strides: geo.strides };
  const dw = ctx.needsGrad[1] ? convWeightGrad(g, dyIn, x, w.staticShape, geo, optionsOf(ctx).convWeightGrad) : null;
  const db = b && ctx.needsGrad[2] ? g.op('ReduceSum', [grad, g.int64s([0, ...range(n, 2)])], { keepdims: 0 }) : null;
  return [
    ctx.needsGrad[0] ? g.op('Conv', [dyIn, wIn], attrs) : null,
    dw && split ? g.op('Mul', [dw, split.sw]) : dw,
    db && split ? g.op('Mul', [db, split.sb]) : db,
  ];
}
