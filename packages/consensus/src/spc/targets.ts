/**
 * The per-point training targets of one pseudo-label round: a class distribution (a row of `votes`) and a
 * confidence in [0, 1]. The loss (loss.ts) weighs the pseudo-classifier's cross-entropy by the confidence and the
 * reconstruction error by one minus it.
 *
 * - 'agreed' is the paper's Eq. 2 as written: the consensus label with confidence 1 on agreed points, and
 *   confidence 0 (reconstruction only) on the others.
 * - 'votes' follows the authors' code: every point's target is the share of members voting for each label, with
 *   confidence 1 / (1 + H(votes)) (natural-log entropy of the vote shares); a unanimous point gets exactly the
 *   'agreed' target. Points no member clustered (all noise) get confidence 0. Unlike 'agreed', a cluster on
 *   which no point is unanimous still receives training signal: with 'agreed' such a cluster has no examples,
 *   the pseudo-classifier learns to put its points in neighbouring clusters, and the next round merges them
 *   (measured on MNIST; see the README's SPC section).
 */
import type { EnsembleRound } from './ensemble.js';

export type SpcPseudoLabels = 'agreed' | 'votes';

export const PSEUDO_LABEL_MODES: readonly SpcPseudoLabels[] = ['agreed', 'votes'];

export interface TrainingTargets {
  /** [n * k] target distribution per point (rows sum to 1, or 0 where the confidence is 0). */
  votes: Float32Array;
  /** [n] weight of the cross-entropy term; 1 minus it weighs the reconstruction term. */
  confidence: Float32Array;
}

/** Writes round `r`'s targets into `out` (shared buffers the training workers read). */
export function fillTargets(round: Pick<EnsembleRound, 'consensus' | 'agreed' | 'votes'>, k: number, mode: SpcPseudoLabels, out: TrainingTargets): void {
  const n = round.consensus.length;
  const { votes, confidence } = out;
  votes.fill(0);
  confidence.fill(0);
  if (mode === 'agreed') {
    for (let i = 0; i < n; i++) {
      if (!round.agreed[i]) continue;
      votes[i * k + round.consensus[i]!] = 1;
      confidence[i] = 1;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let l = 0; l < k; l++) total += round.votes[i * k + l]!;
    if (total === 0) continue;
    let entropy = 0;
    for (let l = 0; l < k; l++) {
      const share = round.votes[i * k + l]! / total;
      votes[i * k + l] = share;
      if (share > 0) entropy -= share * Math.log(share);
    }
    confidence[i] = 1 / (1 + entropy);
  }
}
