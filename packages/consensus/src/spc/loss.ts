/**
 * SPC's training loss for one member (Mahon and Lukasiewicz, Eq. 2, generalised to weighted targets): per point,
 * `crossEntropyWeight * confidence * CE(head, target distribution) + (1 - confidence) * reconstruction error`,
 * averaged over the batch. With the 'agreed' targets (targets.ts) this is Eq. 2 exactly: cross-entropy against the
 * consensus label on agreed points, reconstruction on the others. Pretraining is the same graph with confidence 0
 * everywhere, so one compiled step serves both phases.
 *
 * Batch inputs: `x` [B, C, H, W] images; `votes` [B, K] target distributions; `confidence` [B] in [0, 1]. The
 * reconstruction error is the per-pixel mean absolute error (the paper follows Zhao et al.'s advice to use L1;
 * the authors' code takes the mean over pixels, as here).
 */
import type { Value } from '@dc/core';
import { crossEntropy, type StepContext, type StepLossResult } from '@dc/nn';
import type { SpcForward } from './network.js';

export function spcLoss(crossEntropyWeight: number): (ctx: StepContext) => StepLossResult {
  return (ctx) => {
    const { g } = ctx;
    const x = ctx.input('x');
    const votes = ctx.input('votes');
    const confidence = ctx.input('confidence');
    const out = ctx.forward<SpcForward>(x);
    const batch = x.staticShape[0]!;
    const sum = (v: Value) => g.op('ReduceSum', [v], { keepdims: 0 });
    // Per-sample mean absolute error [B].
    const l1 = g.op('ReduceMean', [g.op('Abs', [g.op('Sub', [out.reconstruction!, x])]), g.int64s([1, 2, 3])], { keepdims: 0 });
    const ce = crossEntropy(g, out.logits, votes, { reduction: 'none' });
    const ceSum = sum(g.op('Mul', [ce, confidence]));
    const reconSum = sum(g.op('Mul', [l1, g.op('Sub', [g.constant(1), confidence])]));
    const loss = g.op('Div', [g.op('Add', [g.op('Mul', [ceSum, g.constant(crossEntropyWeight)]), reconSum]), g.constant(batch)]);
    const weight = sum(confidence);
    const safe = (v: Value) => g.op('Max', [v, g.constant(1e-6)]);
    return {
      loss,
      metrics: {
        // Confidence-weighted mean cross-entropy, and the mean L1 over the whole batch (0 when no point counts).
        cross_entropy: g.op('Div', [ceSum, safe(weight)]),
        reconstruction: g.op('Div', [sum(l1), g.constant(batch)]),
        confidence: g.op('Div', [weight, g.constant(batch)]),
      },
    };
  };
}
