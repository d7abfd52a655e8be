/**
 * When SPC stops (Section 3: "training ends when the number of agreed points stops increasing"): a round counts
 * as progress only when it agrees on strictly more points than every earlier round; after `patience` rounds in a
 * row without progress the run ends (the package's hasPlateaued). The best round is the first one with the most
 * agreed points, and its consensus labels are the result; no ground truth enters this choice.
 */
import { InvalidOptionError } from '@dc/core';
import { hasPlateaued } from '../ensemble/consensus.js';

export interface AgreementDecision {
  /** Whether the last round agreed on more points than every earlier one (true for round 0). */
  improved: boolean;
  /** Round (index into the counts) with the most agreed points, the earliest among ties. */
  bestRound: number;
  /** Whether to stop after the last round. */
  stop: boolean;
}

/** The stopping decision after the last of `counts` (agreed points per round, round 0 first). */
export function agreementDecision(counts: readonly number[], patience: number): AgreementDecision {
  if (!Array.isArray(counts) || counts.length === 0) throw new InvalidOptionError('agreementDecision', 'counts', 'a non-empty array of agreed-point counts', counts);
  const stop = hasPlateaued(counts, { patience });
  let best = 0;
  for (let r = 1; r < counts.length; r++) if (counts[r]! > counts[best]!) best = r;
  return { improved: best === counts.length - 1, bestRound: best, stop };
}
