/** MatMul (numpy semantics, batch broadcasting) and Gemm. */
import type { OpDef } from '../registry.js';
import type { Dim } from '../types.js';
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
});
