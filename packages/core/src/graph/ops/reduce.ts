/**
 * Reductions (opset 18: axes as an optional constant input), ArgMax/ArgMin, Softmax family, Lp normalisation,
 * with their gradients. A reduction's gradient is formed at the reduced size and broadcast once at the end;
 * ReduceMax/ReduceMin share the gradient evenly among tied maxima (as torch.amax does).
 */
import { GraphError } from '../../errors.js';
import type { Value } from '../builder.js';
import type { GradContext, GradRule, InferContext, OpDef } from '../registry.js';
import type { Dim, ValueType } from '../types.js';
import { countOf, expandTo, intAttr, keptShape, reductionAxes, reshapeTo } from './grad-utils.js';
import { intValues } from './shape-utils.js';

export const defs: OpDef[] = [];

function reducedShape(ctx: InferContext, shape: readonly Dim[], axes: readonly number[] | null, keepdims: boolean): Dim[] {
  const rank = shape.length;
  const set = new Set((axes ?? shape.map((_, i) => i)).map((a) => ctx.axis(a, rank)));
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduceRule(ctx: InferContext): ValueType[] {
  const x = ctx.input(0);
  ctx.requireDtype(0, ['float32', 'float64', 'int32', 'int64']);
  const keepdims = ctx.int('keepdims', 1) === 1;
  const axesInput = ctx.optionalInput(1);
  let axes: number[] | null = null;
  if (axesInput) {
    if (axesInput.dtype !== 'int64') ctx.fail('axes must be int64');
    axes = intValues(ctx.constantInput(1, 'axes'));
    if (axes.length === 0) axes = ctx.int('noop_with_empty_axes', 0) === 1 ? [] : null;
  }
  return [{ dtype: x.dtype, shape: reducedShape(ctx, x.shape, axes, keepdims) }];
}

for (const type of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp']) {
  defs.push({ type, infer: reduceRule });
}

for (const type of ['ArgMax', 'ArgMin']) {
  defs.push({
    type,
    infer(ctx) {
      const x = ctx.input(0);
      const axis = ctx.int('axis', 0);
      return [{ dtype: 'int64', shape: reducedShape(ctx, x.shape, [axis], ctx.int('keepdims', 1) === 1) }];
    },
  });
}

for (const type of ['Softmax', 'LogSoftmax', 'Hardmax']) {
  defs.push({
    type,
    infer(ctx) {
      const x = ctx.input(0);
      ctx.requireDtype(0, ['float32', 'float64']);
      ctx.axis(ctx.int('axis', -1), x.shape.length);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
  });
}

defs.push({
  type: 'LpNormalization',
  infer(ctx) {
    const x = ctx.input(0);
    ctx.requireDtype(0, ['float32', 'float64']);
    ctx.axis(ctx.int('axis', -1), x.shape.length);
    const p = ctx.int('p', 2);
    if (p !== 1 && p !== 2) ctx.fail(`p must be 1 or 2, got ${p}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
});

// ---- gradients ------------------------------------------------------------------------------------------------

interface ReductionParts {
  x: Value;
  /** Output and incoming gradient in a form that broadcasts against x (keepdims form, or as is when the
   * reduced axes lead, since numpy broadcasting aligns trailing axes). */
  yk: () => Value;
  gk: Value;
  axes: number[];
}

function reductionParts(ctx: GradContext): ReductionParts | null {
  const { g, node } = ctx;
  const gy = ctx.gradOutputs[0];
  if (!gy || !ctx.needsGrad[0]) return null;
  const x = node.inputs[0]!;
  const axes = reductionAxes(node, x.rank);
  if (axes === null) throw new GraphError(`${node.opType}: the gradient needs constant axes`, node.name);
  const kept = keptShape(x.shape, axes);
  const leading = axes.every((a, i) => a === i);
  const direct = intAttr(node, 'keepdims', 1) === 1 || leading;
  const y = node.outputs[0]!;
  return { x, axes, yk: () => (direct ? y : reshapeTo(g, y, kept)), gk: direct ? gy : reshapeTo(g, gy, kept) };
}

function reduction(f: (ctx: GradContext, p: ReductionParts) => Value): GradRule {
  return (ctx) => {
    const p = reductionParts(ctx);
    return p ? [f(ctx, p)] : [];
  };
}

function softmaxAxis(ctx: GradContext, x: Value): number {
  const a = intAttr(ctx.node, 'axis', -1);
  return a < 0 ? a + x.rank : a;
}

function extremum(ctx: GradContext, { x, yk, gk, axes }: ReductionParts): Value {
  const { g } = ctx;
  const hit = g.op('Cast', [g.op('Equal', [x, yk()])], { to: x.dtype === 'float64' ? 11 : 1 });
  const count = g.op('ReduceSum', [hit, g.int64s(axes)], { keepdims: 1 });
  return g.op('Mul', [hit, g.op('Div', [gk, count])]);
}

const BACKWARD: Record<string, GradRule> = {
  ReduceSum: reduction(({ g }, { x, gk }) => expandTo(g, gk, x.shape)),
  ReduceMean: reduction(({ g, node }, { x, gk, axes }) =>
    expandTo(g, g.op('Mul', [gk, g.constant(1 / countOf(x.shape, axes, node.opType), x.dtype)]), x.shape),
  ),
  ReduceMax: reduction(extremum),
  ReduceMin: reduction(extremum),
  ReduceSumSquare: reduction(({ g }, { x, gk }) => g.op('Mul', [x, g.op('Mul', [gk, g.constant(2, x.dtype)])])),
  ReduceL1: reduction(({ g }, { x, gk }) => g.op('Mul', [g.op('Sign', [x]), gk])),
  ReduceL2: reduction(({ g }, { x, yk, gk }) => {
    // x * gy / ||x||, with 0 where the norm is 0 (the subgradient PyTorch picks).
    const zero = g.constant(0, x.dtype);
    const norm = yk();
    const isZero = g.op('Equal', [norm, zero]);
    const safe = g.op('Where', [isZero, g.constant(1, x.dtype), norm]);
    return g.op('Mul', [x, g.op('Where', [isZero, zero, g.op('Div', [gk, safe])])]);
  }),
  ReduceLogSumExp: reduction(({ g }, { x, yk, gk }) => g.op('Mul', [g.op('Exp', [g.op('Sub', [x, yk()])]), gk])),
  Softmax(ctx) {
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const y = node.outputs[0]!;
    const axis = g.int64s([softmaxAxis(ctx, y)]);
    const dot = g.op('ReduceSum', [g.op('Mul', [gy, y]), axis], { keepdims: 1 });
    return [g.op('Mul', [y, g.op('Sub', [gy, dot])])];
  },
  LogSoftmax(ctx) {
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const y = node.outputs[0]!;
    const total = g.op('ReduceSum', [gy, g.int64s([softmaxAxis(ctx, y)])], { keepdims: 1 });
    return [g.op('Sub', [gy, g.op('Mul', [g.op('Exp', [y]), total])])];
  },
  // Piecewise constant: zero gradient almost everywhere.
  Hardmax: () => [],
  LpNormalization(ctx) {
    // y = x / ||x||_p: dx = (gy - s * sum(gy * y)) / ||x||_p with s = y (p = 2) or sign(x) (p = 1).
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    const axis = g.int64s([softmaxAxis(ctx, x)]);
    const p = intAttr(node, 'p', 2);
    const norm = g.op(p === 1 ? 'ReduceL1' : 'ReduceL2', [x, axis], { keepdims: 1 });
    const dot = g.op('ReduceSum', [g.op('Mul', [gy, y]), axis], { keepdims: 1 });
    const s = p === 1 ? g.op('Sign', [x]) : y;
    return [g.op('Div', [g.op('Sub', [gy, g.op('Mul', [s, dot])]), norm])];
  },
};

for (const def of defs) {
  const rule = BACKWARD[def.type];
  if (rule) def.backward = rule;
}
