/** Reductions (opset 18: axes as an optional constant input), ArgMax/ArgMin, Softmax family, Lp normalisation. */
import type { InferContext, OpDef } from '../registry.js';
import type { Dim, ValueType } from '../types.js';
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
