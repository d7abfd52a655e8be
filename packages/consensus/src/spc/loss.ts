/**
 * SPC's training loss for one member (Mahon and Lukasiewicz, Eq. 2): for each point, cross-entropy of the
 * pseudo-classifier against the consensus label when the ensemble agrees on the point, and the reconstruction
 * error otherwise; averaged over the batch. Pretraining is the same graph with no agreed point in the batch, so
 * one compiled step serves both phases.
 *
 * Batch inputs: `x` [B, C, H, W] images in [0, 1]; `target` int64 [B], the consensus label of an agreed point
 * and -1 for the others. The reconstruction error is the per-pixel L1 distance (the paper follows Zhao et al.'s
 * advice; the authors' code uses L1).
 */
import type { Value } from '@dc/core';
import { crossEntropy, type StepContext, type StepLossResult } from '@dc/nn';
import type { SpcForward } from './network.js';

export function spcLoss(ctx: StepContext): StepLossResult {
  const { g } = ctx;
  const x = ctx.input('x');
  const target = ctx.input('target');
  const out = ctx.forward<SpcForward>(x);
  const reconstruction = out.reconstruction!;
  const batch = x.staticShape[0]!;
  // Per-sample mean absolute error [B].
  const l1 = g.op('ReduceMean', [g.op('Abs', [g.op('Sub', [reconstruction, x])]), g.int64s([1, 2, 3])], { keepdims: 0 });
  const agreed = g.op('Cast', [g.op('GreaterOrEqual', [target, g.constant(0, 'int64')])], { to: 1 });
  const other = g.op('Sub', [g.constant(1), agreed]);
  // Negative targets give 0 cross-entropy (the loss ignores them), so only agreed points contribute.
  const ce = crossEntropy(g, out.logits, target, { reduction: 'none' });
  const sum = (v: Value) => g.op('ReduceSum', [v], { keepdims: 0 });
  const ceSum = sum(ce);
  const reconSum = sum(g.op('Mul', [l1, other]));
  const loss = g.op('Div', [g.op('Add', [ceSum, reconSum]), g.constant(batch)]);
  const agreedCount = sum(agreed);
  const otherCount = sum(other);
  const safe = (v: Value) => g.op('Max', [v, g.constant(1)]);
  return {
    loss,
    metrics: {
      // Mean cross-entropy over the batch's agreed points and mean L1 over the others (0 when there are none).
      cross_entropy: g.op('Div', [ceSum, safe(agreedCount)]),
      reconstruction: g.op('Div', [reconSum, safe(otherCount)]),
      agreed: agreedCount,
    },
  };
}
