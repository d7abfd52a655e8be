/**
 * Consensus of aligned labelings: the mode label per point, agreement masks (unanimous, as SPC selects its
 * training points, or a fraction of members), agreement statistics per round and SPC's stopping rule (the
 * number of agreed points stops increasing).
 */
import { InvalidOptionError, c, validateOptions } from '@dc/core';
import { checkLabelings, type Labeling } from './labelings.js';

export interface Consensus {
  /** Most common non-noise label per point; -1 when every member says noise. */
  labels: Int32Array;
  /** Members voting for the consensus label. */
  votes: Int32Array;
  members: number;
}

export interface ConsensusOptions {
  /** Ties go to this member's label when it is among the tied ones; otherwise to the smallest tied label. */
  preferMember?: number;
}

/** The mode of the aligned labels of each point (noise votes abstain); deterministic tie-breaking. */
export function consensusLabels(aligned: readonly Labeling[], options: ConsensusOptions = {}): Consensus {
  const members = checkLabelings('aligned', aligned);
  const o = validateOptions('consensusLabels', options, { preferMember: c.optional(c.int({ min: 0 })) }, {});
  if (o.preferMember !== undefined && o.preferMember >= members.length) {
    throw new InvalidOptionError('consensusLabels', 'preferMember', `a member index in [0, ${members.length - 1}]`, o.preferMember);
  }
  return modeOf(members, o.preferMember);
}

function modeOf(members: Int32Array[], prefer?: number): Consensus {
  const m = members.length;
  const n = members[0]!.length;
  const labels = new Int32Array(n);
  const votes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestVotes = 0;
    for (let a = 0; a < m; a++) {
      const l = members[a]![i]!;
      if (l < 0) continue;
      let count = 0;
      for (let b = 0; b < m; b++) if (members[b]![i] === l) count++;
      if (count > bestVotes || (count === bestVotes && l < best)) {
        best = l;
        bestVotes = count;
      }
    }
    if (prefer !== undefined && best >= 0) {
      const p = members[prefer]![i]!;
      if (p >= 0 && p !== best) {
        let count = 0;
        for (let b = 0; b < m; b++) if (members[b]![i] === p) count++;
        if (count === bestVotes) best = p;
      }
    }
    labels[i] = best;
    votes[i] = bestVotes;
  }
  return { labels, votes, members: m };
}

export interface AgreementOptions {
  /** 'unanimous' (default): every member gives the same non-noise label. 'fraction': at least `fraction` do. */
  rule?: 'unanimous' | 'fraction';
  /** For rule 'fraction', in (0, 1] (default 0.5). */
  fraction?: number;
}

function agreementRule(caller: string, options: AgreementOptions) {
  const o = validateOptions(caller, options, {
    rule: c.oneOf(['unanimous', 'fraction'] as const),
    fraction: c.number({ min: 0, max: 1, minExclusive: true }),
  }, { rule: 'unanimous', fraction: 0.5 });
  return (votes: number, members: number) => (o.rule === 'unanimous' ? votes === members : votes >= o.fraction * members);
}

/** 1 where the aligned members agree on a point's label under the rule, else 0. */
export function agreementMask(aligned: readonly Labeling[], options: AgreementOptions = {}): Uint8Array {
  const members = checkLabelings('aligned', aligned);
  const agrees = agreementRule('agreementMask', options);
  const { votes } = modeOf(members);
  return Uint8Array.from(votes, (v) => (agrees(v, members.length) ? 1 : 0));
}

export interface AgreementStats {
  n: number;
  members: number;
  /** Points agreed on under the rule, and their fraction. */
  agreed: number;
  agreedFraction: number;
  /** Points on which every member gives the same non-noise label. */
  unanimous: number;
  /** Agreed points per consensus label. */
  agreedPerCluster: Map<number, number>;
  /** Mean over member pairs of the fraction of points they label identically (noise never matches). */
  meanPairwiseAgreement: number;
  /** Per member: fraction of points where it gives the consensus label. */
  memberAgreement: Float64Array;
  /** Per member: fraction of points it calls noise. */
  memberNoise: Float64Array;
}

/** Statistics of one round of aligned labelings. */
export function agreementStats(aligned: readonly Labeling[], options: AgreementOptions = {}): AgreementStats {
  const members = checkLabelings('aligned', aligned);
  const agrees = agreementRule('agreementStats', options);
  const m = members.length;
  const n = members[0]!.length;
  const { labels, votes } = modeOf(members);
  let agreed = 0;
  let unanimous = 0;
  const agreedPerCluster = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (votes[i] === m) unanimous++;
    if (agrees(votes[i]!, m)) {
      agreed++;
      agreedPerCluster.set(labels[i]!, (agreedPerCluster.get(labels[i]!) ?? 0) + 1);
    }
  }
  let pairSum = 0;
  let pairs = 0;
  for (let a = 0; a < m; a++) {
    for (let b = a + 1; b < m; b++) {
      let same = 0;
      for (let i = 0; i < n; i++) if (members[a]![i]! >= 0 && members[a]![i] === members[b]![i]) same++;
      pairSum += same / n;
      pairs++;
    }
  }
  const memberAgreement = new Float64Array(m);
  const memberNoise = new Float64Array(m);
  members.forEach((member, a) => {
    let same = 0;
    let noise = 0;
    for (let i = 0; i < n; i++) {
      if (member[i]! < 0) noise++;
      else if (member[i] === labels[i]) same++;
    }
    memberAgreement[a] = same / n;
    memberNoise[a] = noise / n;
  });
  return {
    n,
    members: m,
    agreed,
    agreedFraction: agreed / n,
    unanimous,
    agreedPerCluster,
    meanPairwiseAgreement: pairs ? pairSum / pairs : 1,
    memberAgreement,
    memberNoise,
  };
}

export interface PlateauOptions {
  /** Rounds in a row without a large enough increase before stopping (default 1, as SPC). */
  patience?: number;
  /** An increase must exceed this many points to count (default 0). */
  minIncrease?: number;
}

/**
 * SPC's stopping rule on the agreed-point counts of successive rounds: true once the last `patience` rounds
 * each failed to beat the best earlier count by more than `minIncrease`.
 */
export function hasPlateaued(agreedCounts: readonly number[], options: PlateauOptions = {}): boolean {
  const o = validateOptions('hasPlateaued', options, { patience: c.int({ min: 1 }), minIncrease: c.number({ min: 0 }) }, { patience: 1, minIncrease: 0 });
  if (!Array.isArray(agreedCounts) || agreedCounts.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
    throw new InvalidOptionError('hasPlateaued', 'agreedCounts', 'an array of finite non-negative numbers', agreedCounts);
  }
  if (agreedCounts.length <= o.patience) return false;
  const cut = agreedCounts.length - o.patience;
  let best = -Infinity;
  for (let i = 0; i < cut; i++) best = Math.max(best, agreedCounts[i]!);
  for (let i = cut; i < agreedCounts.length; i++) {
    if (agreedCounts[i]! > best + o.minIncrease) return false;
    best = Math.max(best, agreedCounts[i]!);
  }
  return true;
}

/** Keeps the statistics of each round and applies the stopping rule. */
export class AgreementHistory {
  readonly rounds: AgreementStats[] = [];

  constructor(private readonly options: AgreementOptions & PlateauOptions = {}) {}

  record(aligned: readonly Labeling[]): AgreementStats {
    const { patience: _p, minIncrease: _m, ...rule } = this.options;
    const stats = agreementStats(aligned, rule);
    this.rounds.push(stats);
    return stats;
  }

  plateaued(): boolean {
    const { patience, minIncrease } = this.options;
    return hasPlateaued(this.rounds.map((r) => r.agreed), { ...(patience !== undefined ? { patience } : {}), ...(minIncrease !== undefined ? { minIncrease } : {}) });
  }
}
