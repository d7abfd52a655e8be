/**
 * One round's ensemble step, on the package's ensemble tools: align the members' labellings to a pivot with the
 * Hungarian algorithm (the pivot is the member that agrees most with the others: no ground truth), take the
 * consensus (the mode, the paper's "direct" method) and mark the agreed points.
 */
import { linearSumAssignment } from '@dc/core';
import { choosePivot } from '../ensemble/align.js';
import { agreementMask, consensusLabels } from '../ensemble/consensus.js';
import type { MemberLabels } from './cluster.js';

export interface EnsembleRound {
  /** Consensus label of every point, in 0..K-1. */
  consensus: Int32Array;
  /** 1 where enough members (all, for unanimous agreement) give the consensus label. */
  agreed: Uint8Array;
  agreedCount: number;
  /**
   * Votes [n * k]: how many members give point i label l (after alignment and renaming); HDBSCAN's noise
   * abstains. The training targets of the 'votes' pseudo-label mode are built from these.
   */
  votes: Int32Array;
  /** Members that took part. */
  members: number;
  /** Each member's labels renamed to the consensus's (-1: HDBSCAN noise), in member order. */
  aligned: Int32Array[];
}

/**
 * Permutation `map` of 0..k-1 with map[label in a] = label in b, maximising the points on which they agree
 * (negative labels are ignored).
 */
export function matchLabels(a: Int32Array, b: Int32Array, k: number): Int32Array {
  const table = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x >= 0 && y >= 0) table[x]![y]!++;
  }
  const map = new Int32Array(k).fill(-1);
  for (const [r, c] of linearSumAssignment(table, { maximize: true }).pairs) map[r] = c;
  return map;
}

function applyMap(labels: Int32Array, map: Int32Array): Int32Array {
  return Int32Array.from(labels, (l) => (l < 0 ? l : map[l]!));
}

/**
 * Every member must label its points 0..k-1 with all k clusters present (members without k clusters are left
 * out before this step), so alignment is a permutation. `fraction` is the share of members that must give the
 * consensus label (1: unanimous). With `previous`, the consensus is renamed to match the previous round's as
 * closely as possible, so labels keep their meaning from round to round (the pseudo-classifiers learnt them).
 */
export function ensembleRound(members: readonly MemberLabels[], k: number, fraction: number, previous: Int32Array | null): EnsembleRound {
  const filled = members.map((m) => m.filled);
  const { pivot } = choosePivot(filled);
  // A full permutation per member (alignLabelings would give a cluster matched to a pivot cluster it does not
  // overlap a new label above k; the pseudo-classifiers need exactly k).
  const maps = filled.map((f, i) => (i === pivot ? Int32Array.from({ length: k }, (_, l) => l) : matchLabels(f, filled[pivot]!, k)));
  // Vote on the labellings with HDBSCAN's noise filled in (every point gets a consensus label)...
  let consensus = consensusLabels(filled.map((f, i) => applyMap(f, maps[i]!)), { preferMember: pivot }).labels;
  // ...but agree only where members actually clustered the point: noise abstains.
  let withNoise = members.map((m, i) => applyMap(m.labels, maps[i]!));
  if (previous) {
    const map = matchLabels(consensus, previous, k);
    consensus = applyMap(consensus, map);
    withNoise = withNoise.map((a) => applyMap(a, map));
  }
  const agreed = agreementMask(withNoise, fraction >= 1 ? { rule: 'unanimous' } : { rule: 'fraction', fraction });
  // A label held by more than half the members is the unique mode with or without the noise filled in, so the
  // agreed points' consensus is the label they agree on.
  let agreedCount = 0;
  for (const a of agreed) agreedCount += a;
  const votes = new Int32Array(consensus.length * k);
  for (const labels of withNoise) for (let i = 0; i < labels.length; i++) if (labels[i]! >= 0) votes[i * k + labels[i]!]!++;
  return { consensus, agreed, agreedCount, votes, members: members.length, aligned: withNoise };
}
