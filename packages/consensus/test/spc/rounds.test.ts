/** SPC's per-round logic without training: alignment and agreement, noise filling, and the stopping rule. */
import { InvalidOptionError, Tensor } from '@dc/core';
import { agreementDecision } from '@dc/consensus';
import { fillNoise, fragmentedCut } from '../../src/spc/cluster';
import { ensembleRound, matchLabels } from '../../src/spc/ensemble';
import { fillTargets } from '../../src/spc/targets';

const arr = (xs: number[]) => Int32Array.from(xs);
const member = (labels: number[], filled = labels) => ({ labels: arr(labels), filled: arr(filled) });

describe('agreementDecision (stop when the number of agreed points stops increasing)', () => {
  it('keeps going while every round agrees on more points', () => {
    const d = agreementDecision([100, 200, 300], 1);
    expect(d).toEqual({ improved: true, bestRound: 2, stop: false });
  });

  it('stops after `patience` rounds in a row without a new maximum', () => {
    expect(agreementDecision([100, 200, 150], 2).stop).toBe(false);
    expect(agreementDecision([100, 200, 150, 180], 2).stop).toBe(true);
    expect(agreementDecision([100, 200, 150], 1).stop).toBe(true);
  });

  it('counts only strict increases over the best round so far, not over the previous round', () => {
    // 150 -> 180 rises but stays below 200: still no progress.
    const d = agreementDecision([100, 200, 150, 180], 3);
    expect(d.improved).toBe(false);
    expect(d.bestRound).toBe(1);
    expect(d.stop).toBe(false);
    // A tie with the best is not progress either, and the earliest best round is kept.
    const tie = agreementDecision([100, 200, 200], 1);
    expect(tie).toEqual({ improved: false, bestRound: 1, stop: true });
  });

  it('resets the count of stale rounds on a new maximum', () => {
    const d = agreementDecision([100, 90, 80, 120, 110], 3);
    expect(d.bestRound).toBe(3);
    expect(d.stop).toBe(false);
  });

  it('treats round 0 alone as progress', () => {
    expect(agreementDecision([5], 1)).toEqual({ improved: true, bestRound: 0, stop: false });
  });

  it('rejects an empty history and a bad patience', () => {
    expect(() => agreementDecision([], 1)).toThrow(InvalidOptionError);
    expect(() => agreementDecision([1, 2], 0)).toThrow(InvalidOptionError);
  });
});

describe('matchLabels', () => {
  it('recovers a permutation of the labels', () => {
    const a = arr([0, 0, 1, 1, 2, 2, 2]);
    const b = arr([2, 2, 0, 0, 1, 1, 1]);
    expect(Array.from(matchLabels(a, b, 3))).toEqual([2, 0, 1]);
  });

  it('maximises agreement when the labellings differ, ignoring negative labels', () => {
    const a = arr([0, 0, 0, 1, 1, -1, -1]);
    const b = arr([1, 1, 0, 0, 0, 0, 0]);
    // 0 -> 1 keeps 2 points and 1 -> 0 keeps 2; the noise points count for nothing.
    expect(Array.from(matchLabels(a, b, 2))).toEqual([1, 0]);
  });
});

describe('ensembleRound (align, vote, agree)', () => {
  it('aligns permuted copies of one labelling into full agreement', () => {
    const base = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
    const perm = (p: number[]) => base.map((l) => p[l]!);
    const r = ensembleRound([member(base), member(perm([2, 0, 1])), member(perm([1, 2, 0]))], 3, 1, null);
    expect(r.agreedCount).toBe(10);
    expect(r.members).toBe(3);
    // Consensus is a relabelling of the base partition.
    const map = matchLabels(r.consensus, arr(base), 3);
    expect(Array.from(r.consensus, (l) => map[l])).toEqual(base);
  });

  it('agrees only where every member gives the consensus label (unanimous)', () => {
    const a = [0, 0, 0, 0, 1, 1, 1, 1];
    const b = [0, 0, 0, 1, 1, 1, 1, 1];
    const c = [0, 0, 1, 0, 1, 1, 1, 1];
    const r = ensembleRound([member(a), member(b), member(c)], 2, 1, null);
    expect(Array.from(r.consensus)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(r.agreed)).toEqual([1, 1, 0, 0, 1, 1, 1, 1]);
    expect(r.agreedCount).toBe(6);
  });

  it('with a fraction, agrees where at least that share of members give the consensus label', () => {
    const a = [0, 0, 0, 0, 1, 1, 1, 1];
    const b = [0, 0, 0, 1, 1, 1, 1, 1];
    const c = [0, 0, 1, 0, 1, 1, 1, 1];
    const r = ensembleRound([member(a), member(b), member(c)], 2, 2 / 3, null);
    expect(r.agreedCount).toBe(8);
    const strict = ensembleRound([member(a), member(b), member(c)], 2, 0.7, null);
    expect(strict.agreedCount).toBe(6);
  });

  it('never agrees on a point a member calls noise, but still gives it a consensus label', () => {
    const a = member([0, 0, 1, 1], [0, 0, 1, 1]);
    const b = member([0, -1, 1, 1], [0, 0, 1, 1]);
    const r = ensembleRound([a, b], 2, 1, null);
    expect(Array.from(r.agreed)).toEqual([1, 0, 1, 1]);
    expect(Array.from(r.consensus)).toEqual([0, 0, 1, 1]);
    // The noise point's vote abstains.
    expect(Array.from(r.votes)).toEqual([2, 0, 1, 0, 0, 2, 0, 2]);
  });

  it('counts the aligned votes of every member per point and label', () => {
    const a = [0, 0, 0, 0, 1, 1, 1, 1];
    const b = [1, 1, 1, 0, 0, 0, 0, 0]; // a's partition with the labels swapped and point 3 moved
    const c = [0, 0, 1, 0, 1, 1, 1, 1];
    const r = ensembleRound([member(a), member(b), member(c)], 2, 1, null);
    // Columns in the order [label of a's first group, the other].
    const first = r.consensus[0]!;
    const votes = Array.from({ length: 8 }, (_, i) => [r.votes[2 * i + first], r.votes[2 * i + 1 - first]]);
    expect(votes).toEqual([[3, 0], [3, 0], [2, 1], [2, 1], [0, 3], [0, 3], [0, 3], [0, 3]]);
  });

  it('gives each member its labels in the consensus names, noise kept as -1', () => {
    const a = member([0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2]);
    const b = member([2, 2, 0, -1, 1, 1], [2, 2, 0, 0, 1, 1]);
    const r = ensembleRound([a, b], 3, 1, null);
    expect(r.aligned).toHaveLength(2);
    expect(Array.from(r.aligned[0]!)).toEqual(Array.from(r.consensus));
    expect(Array.from(r.aligned[1]!)).toEqual([...Array.from(r.consensus.subarray(0, 3)), -1, ...Array.from(r.consensus.subarray(4))]);
  });

  it("renames the consensus to match the previous round's labels", () => {
    const labels = [0, 0, 1, 1, 2, 2];
    const previous = arr([2, 2, 0, 0, 1, 1]);
    const r = ensembleRound([member(labels), member(labels)], 3, 1, previous);
    expect(Array.from(r.consensus)).toEqual(Array.from(previous));
    // The members' labels follow the renaming.
    for (const a of r.aligned) expect(Array.from(a)).toEqual(Array.from(previous));
  });
});

describe('fillTargets', () => {
  // Three points, k = 3: unanimous, a 2-1 split, and a point every member called noise.
  const round = {
    consensus: arr([0, 1, 2]),
    agreed: Uint8Array.from([1, 0, 0]),
    votes: arr([3, 0, 0, 0, 2, 1, 0, 0, 0]),
  };
  const out = () => ({ votes: new Float32Array(9).fill(7), confidence: new Float32Array(3).fill(7) });

  it("'agreed' (Eq. 2): the consensus label with confidence 1 on agreed points, nothing elsewhere", () => {
    const t = out();
    fillTargets(round, 3, 'agreed', t);
    expect(Array.from(t.votes)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(t.confidence)).toEqual([1, 0, 0]);
  });

  it("'votes': vote shares with confidence 1 / (1 + entropy), 0 where no member voted", () => {
    const t = out();
    fillTargets(round, 3, 'votes', t);
    expect(Array.from(t.votes.subarray(0, 3))).toEqual([1, 0, 0]);
    expect(t.votes[4]).toBeCloseTo(2 / 3, 6);
    expect(t.votes[5]).toBeCloseTo(1 / 3, 6);
    expect(Array.from(t.votes.subarray(6))).toEqual([0, 0, 0]);
    // H(2/3, 1/3) = ln 3 - (2/3) ln 2 = 0.636514...
    const h = Math.log(3) - (2 / 3) * Math.log(2);
    expect(t.confidence[0]).toBe(1);
    expect(t.confidence[1]).toBeCloseTo(1 / (1 + h), 6);
    expect(t.confidence[2]).toBe(0);
  });
});

describe('fragmentedCut', () => {
  const labels = Int32Array.from([0, 0, 1, 1, -1, -1, 2, 2, -1, 2]);
  it('accepts a cut that leaves at most maxNoiseFraction of the points as noise', () => {
    expect(fragmentedCut(labels, 0.3)).toBeNull();
    expect(fragmentedCut(labels, 1)).toBeNull();
    expect(fragmentedCut(Int32Array.from([0, 1, 1, 0]), 0)).toBeNull();
  });
  it('rejects one that leaves more, saying how much', () => {
    expect(fragmentedCut(labels, 0.29)).toBe('the exactly-K cut leaves 3 of 10 points (30.0%) as noise, more than hdbscan.maxNoiseFraction 0.29');
    expect(fragmentedCut(labels, 0)).toMatch(/3 of 10 points/);
  });
});

describe('fillNoise', () => {
  it("gives noise points the majority label of their labelled neighbours, then the nearest centroid's", () => {
    // Points 0-2 in cluster 0, 3-5 in cluster 1; point 6 is noise next to cluster 1, point 7 has only noise
    // neighbours and sits near cluster 0 in the embedding.
    const labels = arr([0, 0, 0, 1, 1, 1, -1, -1]);
    const k = 3;
    const nbrs = [
      [0, 1, 2], [1, 0, 2], [2, 0, 1], [3, 4, 5], [4, 3, 5], [5, 3, 4], [6, 4, 5], [7, 7, 7],
    ];
    const knn = { indices: new Tensor('int32', Int32Array.from(nbrs.flat()), [8, k]), values: Tensor.zeros([8, k]), metric: 'euclidean' as const, k };
    const embedding = new Tensor('float32', Float32Array.from([0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10, 10, 10.5, 0.2, 0.2]), [8, 2]);
    expect(Array.from(fillNoise(labels, { knn, embedding }, 2))).toEqual([0, 0, 0, 1, 1, 1, 1, 0]);
  });

  it('propagates labels through chains of noise points', () => {
    const labels = arr([0, -1, -1, 1]);
    const nbrs = [[0, 1], [1, 0], [2, 1], [3, 2]];
    const knn = { indices: new Tensor('int32', Int32Array.from(nbrs.flat()), [4, 2]), values: Tensor.zeros([4, 2]), metric: 'euclidean' as const, k: 2 };
    const embedding = Tensor.zeros([4, 2]);
    expect(Array.from(fillNoise(labels, { knn, embedding }, 2))).toEqual([0, 0, 0, 1]);
  });
});
