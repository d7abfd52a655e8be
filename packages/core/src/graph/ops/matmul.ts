/**
 * MatMul (numpy semantics, batch broadcasting) and Gemm, with their gradients. 2-D products (and a batched
 * operand times a 2-D weight, flattened to 2-D for free) use Gemm with transpose flags, so no Transpose node is
 * emitted; batched products use MatMul with a Transpose that ONNX Runtime fuses into the MatMul.
 */
import { GraphError } from '../../errors.js';
import type { GraphBuilder, Value } from '../builder.js';
import type { GradContext, OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import { floatAttr, intAttr, reshapeTo, sumToShape } from './grad-utils.js';
import { broadcast, sameDim } from './shape-utils.js';

export const defs: OpDef[] = [];

defs.push({
  type: 'MatMul',
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1]);
    const a = ctx.input(0).shape;
    const b = ctx.input(1).shape;
    if (a.length === 0 || b.length === 0) ctx.fail('inputs must have rank >= 1');
    const a2 = a.length === 1 ? [1, a[0]!] : a;
    const b2 = b.length === 1 ? [b[0]!, 1] : b;
    const k1 = a2[a2.length - 1];
    const k2 = b2[b2.length - 2];
    if (!sameDim(k1, k2)) ctx.fail(`inner dimensions differ: [${a.join(', ')}] x [${b.join(', ')}]`);
    const batch = broadcast(ctx, [a2.slice(0, -2), b2.slice(0, -2)]);
    const out: Dim[] = [...batch];
    if (a.length > 1) out.push(a2[a2.length - 2]!);
    if (b.length > 1) out.push(b2[b2.length - 1]!);
    return [{ dtype, shape: out }];
  },
  backward: matmulBackward,
});

defs.push({
  type: 'Gemm',
  floatAttributes: ['alpha', 'beta'],
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1]);
    ctx.requireRank(0, 2);
    ctx.requireRank(1, 2);
    const a = ctx.input(0).shape;
    const b = ctx.input(1).shape;
    const [m, ka] = ctx.int('transA', 0) ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
    const [kb, n] = ctx.int('transB', 0) ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
    if (!sameDim(ka, kb)) ctx.fail(`inner dimensions differ: ${String(ka)} vs ${String(kb)}`);
    const c = ctx.optionalInput(2);
    if (c) {
      if (c.dtype !== dtype) ctx.fail(`C must have dtype ${dtype}`);
      const shape = broadcast(ctx, [[m, n], c.shape]);
      if (shape.length !== 2) ctx.fail(`C of shape [${c.shape.join(', ')}] does not broadcast to [${m}, ${n}]`);
    }
    return [{ dtype, shape: [m, n] }];
  },
  backward: gemmBackward,
});

// ---- gradients ------------------------------------------------------------------------------------------------

/** Swaps the last two axes. */
function swapLast(g: GraphBuilder, v: Value): Value {
  const r = v.rank;
  return g.op('Transpose', [v], { perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });
}

function lastDim(v: Value, what: string): number {
  const d = v.shape[v.rank - 1];
  if (typeof d !== 'number') throw new GraphError(`MatMul: the gradient needs a static ${what} size, got [${v.shape.join(', ')}]`);
  return d;
}

function matmulBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const gy = ctx.gradOutputs[0];
  if (!gy) return [];
  const [a, b] = node.inputs as [Value, Value];
  const [needA, needB] = [ctx.needsGrad[0], ctx.needsGrad[1]];
  if (a.rank === 1 && b.rank === 1) {
    return [needA ? g.op('Mul', [gy, b]) : null, needB ? g.op('Mul', [gy, a]) : null];
  }
  if (b.rank === 1) {
    // b as a column [K, 1]; y gains a trailing 1.
    const k = lastDim(a, 'inner');
    const gy2 = g.op('Unsqueeze', [gy, g.int64s([-1])]);
    const db = () => (a.rank === 2 ? g.op('Gemm', [a, gy2], { transA: 1 }) : sumToShape(g, g.op('MatMul', [swapLast(g, a), gy2]), [k, 1]));
    return [needA ? sumToShape(g, g.op('Mul', [gy2, b]), a.shape) : null, needB ? reshapeTo(g, db(), [k]) : null];
  }
  if (a.rank === 1) {
    // a as a row [1, K]; y gains a 1 before its last axis.
    const k = a.shape[0]!;
    const a2 = reshapeTo(g, a, [1, k]);
    const gy2 = g.op('Unsqueeze', [gy, g.int64s([-2])]);
    if (b.rank === 2) {
      return [needA ? reshapeTo(g, g.op('Gemm', [gy2, b], { transB: 1 }), [k]) : null, needB ? g.op('Gemm', [a2, gy2], { transA: 1 }) : null];
    }
    return [
      needA ? reshapeTo(g, sumToShape(g, g.op('MatMul', [gy2, swapLast(g, b)]), [1, k]), [k]) : null,
      needB ? sumToShape(g, g.op('MatMul', [reshapeTo(g, a, [k, 1]), gy2]), b.shape) : null,
    ];
  }
  if (a.rank === 2 && b.rank === 2) {
    return [needA ? g.op('Gemm', [gy, b], { transB: 1 }) : null, needB ? g.op('Gemm', [a, gy], { transA: 1 }) : null];
  }
  if (b.rank === 2) {
    // A batch of rows times one weight matrix: flatten the batch into rows (a free Reshape) and use Gemm.
    const k = lastDim(a, 'inner');
    const n = lastDim(b, 'output');
    const a2 = g.op('Reshape', [a, g.int64s([-1, k])]);
    const gy2 = g.op('Reshape', [gy, g.int64s([-1, n])]);
    return [
      needA ? reshapeTo(g, g.op('Gemm', [gy2, b], { transB: 1 }), a.shape) : null,
      needB ? g.op('Gemm', [a2, gy2], { transA: 1 }) : null,
    ];
  }
  return [
    needA ? sumToShape(g, g.op('MatMul', [gy, swapLast(g, b)]), a.shape) : null,
    needB ? sumToShape(g, g.op('MatMul', [swapLast(g, a), gy]), b.shape) : null,
  ];
}

/** Y = alpha op(A) op(B) + beta C, op = transpose when the flag is set: every gradient is one Gemm. */
function gemmBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const gy = ctx.gradOutputs[0];
  if (!gy) return [];
  const [a, b, c] = node.inputs as [Value, Value, Value | null | undefined];
  const ta = intAttr(node, 'transA', 0) === 1;
  const tb = intAttr(node, 'transB', 0) === 1;
  const alpha = floatAttr(node, 'alpha', 1);
  const beta = floatAttr(node, 'beta', 1);
  const scaled: Record<string, number> = alpha !== 1 ? { alpha } : {};
  let da: Value | null = null;
  if (ctx.needsGrad[0]) {
    // dA = alpha gy op(B)^T (transA = 0), or its transpose alpha op(B) gy^T (transA = 1)
    da = ta ? g.op('Gemm', [b, gy], { transA: tb ? 1 : 0, transB: 1, ...scaled }) : g.op('Gemm', [gy, b], { transB: tb ? 0 : 1, ...scaled });
  }
  let db: Value | null = null;
  if (ctx.needsGrad[1]) {
    // dB = alpha op(A)^T gy (transB = 0), or alpha gy^T op(A) (transB = 1)
    db = tb ? g.op('Gemm', [gy, a], { transA: 1, transB: ta ? 1 : 0, ...scaled }) : g.op('Gemm', [a, gy], { transA: ta ? 0 : 1, ...scaled });
  }
  let dc: Value | null = null;
  if (c && ctx.needsGrad[2]) {
    const summed = sumToShape(g, gy, c.shape);
    dc = beta !== 1 ? g.op('Mul', [summed, g.constant(beta, gy.dtype)]) : summed;
  }
  return [da, db, dc];
}
