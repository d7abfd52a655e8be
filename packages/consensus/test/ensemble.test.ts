import { InvalidInputError, InvalidOptionError, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import {
  AgreementHistory,
  agreementMask,
  agreementStats,
  alignLabelings,
  choosePivot,
  confidenceBatches,
  consensusLabels,
  ensembleConfidence,
  hasPlateaued,
  matchedAgreement,
  normalizedMutualInformation,
} from '@dc/consensus';

const arr = (a: ArrayLike<number>) => Array.from(a);

describe('choosePivot', () => {
  // A and B are the same partition under different names; C cuts across both (NMI 0 with them).
  const A = [0, 0, 1, 1, 2, 2];
  const B = [1, 1, 0, 0, 2, 2];
  const C = [0, 1, 0, 1, 0, 1];

  it('scores members by mean NMI with the others and picks the best (ties to the lower index)', () => {
    expect(normalizedMutualInformation(Int32Array.from(A), Int32Array.from(B))).toBeCloseTo(1, 12);
    expect(normalizedMutualInformation(Int32Array.from(A), Int32Array.from(C))).toBeCloseTo(0, 12);
    const { pivot, scores } = choosePivot([C, A, B]);
    expect(pivot).toBe(1);
    expect(arr(scores).map((s) => +s.toFixed(12))).toEqual([0, 0.5, 0.5]);
  });

  it("scores by matched agreement with criterion 'matched'", () => {
    expect(matchedAgreement(Int32Array.from(A), Int32Array.from(C))).toBeCloseTo(2 / 6, 12);
    const { pivot, scores } = choosePivot([C, B, A], { criterion: 'matched' });
    expect(pivot).toBe(1);
    expect(scores[0]).toBeCloseTo(1 / 3, 12);
    expect(scores[1]).toBeCloseTo((1 + 1 / 3) / 2, 12);
  });

  it('ignores points that either labeling calls noise', () => {
    expect(normalizedMutualInformation(Int32Array.from([0, 0, 1, 1, -1]), Int32Array.from([1, 1, 0, 0, 0]))).toBeCloseTo(1, 12);
  });
});

describe('alignLabelings', () => {
  const pivot = [0, 0, 0, 1, 1, 1, 2, 2, 2];

  it('renames each member to the pivot clusters it overlaps most', () => {
    const members = [
      pivot,
      [5, 5, 5, 7, 7, 7, 9, 9, 9], // same partition, other names
      [1, 1, 1, 0, 0, 0, 2, 2, 3], // four clusters: 3 is left over
      [-1, 0, 0, 1, 1, 1, -1, -1, -1], // two clusters and noise
    ];
    const al = alignLabelings(members, { pivot: 0 });
    expect(al.pivot).toBe(0);
    expect(arr(al.labelings[0]!)).toEqual(pivot);
    expect(arr(al.labelings[1]!)).toEqual(pivot);
    expect([...al.mappings[1]!.entries()].sort()).toEqual([[5, 0], [7, 1], [9, 2]]);
    expect(arr(al.labelings[2]!)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 3]);
    expect(arr(al.labelings[3]!)).toEqual([-1, 0, 0, 1, 1, 1, -1, -1, -1]);
  });

  it('gives a cluster matched only to a pivot cluster it shares no point with a new label', () => {
    const al = alignLabelings([[0, 0, 0, 1, 1, -1, -1], [0, 0, 0, 0, 0, 1, 1]], { pivot: 0 });
    expect(arr(al.labelings[1]!)).toEqual([0, 0, 0, 0, 0, 2, 2]);
  });

  it('numbers new labels above the pivot labels, in member order', () => {
    const al = alignLabelings([[0, 0, 1, 1], [0, 1, 2, 3], [3, 2, 1, 0]], { pivot: 0 });
    const fresh = new Set([...al.labelings[1]!, ...al.labelings[2]!].filter((l) => l > 1));
    expect([...fresh].sort()).toEqual([2, 3, 4, 5]);
    expect(al.labelings[1]!.filter((l) => l > 1).every((l) => l < 4)).toBe(true);
  });

  it('chooses the pivot itself by default, without ground truth', () => {
    const al = alignLabelings([[0, 1, 0, 1, 0, 1], [0, 0, 1, 1, 2, 2], [2, 2, 1, 1, 0, 0]]);
    expect(al.pivot).toBe(1);
    expect(arr(al.labelings[2]!)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(al.scores.length).toBe(3);
  });

  it('rejects bad labelings and options', () => {
    expect(() => alignLabelings([])).toThrow(InvalidInputError);
    expect(() => alignLabelings('abc' as never)).toThrow(InvalidInputError);
    expect(() => alignLabelings([[0, 1], [0, 1, 2]])).toThrow(ShapeError);
    expect(() => alignLabelings([[0, 1.5]])).toThrow(InvalidInputError);
    expect(() => alignLabelings([[0, -2]])).toThrow(InvalidInputError);
    expect(() => alignLabelings([[0, 1], [1, 0]], { pivot: 2 })).toThrow(InvalidOptionError);
    expect(() => alignLabelings([[0, 1], [1, 0]], { pivot: 'best' as never })).toThrow(InvalidOptionError);
    expect(() => alignLabelings([[0, 1], [1, 0]], { pivto: 0 } as never)).toThrow(UnknownOptionError);
    expect(() => choosePivot([[0, 1]], { criterion: 'ari' as never })).toThrow(InvalidOptionError);
  });

  it('accepts label tensors', () => {
    const al = alignLabelings([Tensor.from(Int32Array.from([0, 0, 1])), Tensor.from(Int32Array.from([1, 1, 0]))], { pivot: 0 });
    expect(arr(al.labelings[1]!)).toEqual([0, 0, 1]);
  });
});

describe('consensus and agreement', () => {
  const aligned = [
    [0, 0, 1, 1, -1],
    [0, 1, 1, 1, -1],
    [0, 1, 2, -1, -1],
  ];

  it('takes the mode of the votes, noise abstaining', () => {
    const c = consensusLabels(aligned);
    expect(arr(c.labels)).toEqual([0, 1, 1, 1, -1]);
    expect(arr(c.votes)).toEqual([3, 2, 2, 2, 0]);
  });

  it('breaks ties to the smallest label, or to a preferred member', () => {
    expect(arr(consensusLabels([[0, 3], [1, 2]]).labels)).toEqual([0, 2]);
    expect(arr(consensusLabels([[0, 3], [1, 2]], { preferMember: 1 }).labels)).toEqual([1, 2]);
    expect(() => consensusLabels([[0], [1]], { preferMember: 2 })).toThrow(InvalidOptionError);
  });

  it('masks unanimous points, or points with a large enough share of votes', () => {
    expect(arr(agreementMask(aligned))).toEqual([1, 0, 0, 0, 0]);
    expect(arr(agreementMask(aligned, { rule: 'fraction', fraction: 0.6 }))).toEqual([1, 1, 1, 1, 0]);
    expect(arr(agreementMask(aligned, { rule: 'fraction', fraction: 0.7 }))).toEqual([1, 0, 0, 0, 0]);
    expect(() => agreementMask(aligned, { rule: 'fraction', fraction: 0 })).toThrow(InvalidOptionError);
    expect(() => agreementMask(aligned, { rule: 'majority' as never })).toThrow(InvalidOptionError);
  });

  it('computes the statistics of a round by hand', () => {
    const s = agreementStats(aligned);
    expect(s.n).toBe(5);
    expect(s.members).toBe(3);
    expect(s.agreed).toBe(1);
    expect(s.agreedFraction).toBeCloseTo(0.2, 12);
    expect(s.unanimous).toBe(1);
    expect([...s.agreedPerCluster.entries()]).toEqual([[0, 1]]);
    expect(s.meanPairwiseAgreement).toBeCloseTo(6 / 15, 12);
    expect(arr(s.memberAgreement).map((v) => +v.toFixed(12))).toEqual([0.6, 0.8, 0.4]);
    expect(arr(s.memberNoise).map((v) => +v.toFixed(12))).toEqual([0.2, 0.2, 0.4]);
    expect(agreementStats(aligned, { rule: 'fraction', fraction: 0.6 }).agreed).toBe(4);
  });

  it("stops when the agreed count stops increasing (SPC's rule)", () => {
    expect(hasPlateaued([100])).toBe(false);
    expect(hasPlateaued([100, 150, 160])).toBe(false);
    expect(hasPlateaued([100, 150, 150])).toBe(true);
    expect(hasPlateaued([100, 150, 140])).toBe(true);
    expect(hasPlateaued([100, 150, 140, 150], { patience: 2 })).toBe(true);
    expect(hasPlateaued([100, 150, 140, 151], { patience: 2 })).toBe(false);
    expect(hasPlateaued([100, 150, 153], { minIncrease: 5 })).toBe(true);
    expect(() => hasPlateaued([1, NaN])).toThrow(InvalidOptionError);
    expect(() => hasPlateaued([1, 2], { patience: 0 })).toThrow(InvalidOptionError);
  });

  it('keeps per-round statistics in an AgreementHistory', () => {
    const h = new AgreementHistory();
    h.record(aligned);
    expect(h.plateaued()).toBe(false);
    h.record([[0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0]]);
    expect(h.rounds.map((r) => r.agreed)).toEqual([1, 4]);
    expect(h.plateaued()).toBe(false);
    h.record([[0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0]]);
    expect(h.plateaued()).toBe(true);
  });
});

describe("ProFeat's ensemble confidence", () => {
  // c(i, j) by hand: (0,1) 3, (4,5) 3, (0,2) (1,2) (3,4) (3,5) (2,3) 2, (0,3) (1,3) (2,4) (2,5) 1, others 0.
  const members = [
    [0, 0, 0, 1, 1, 1],
    [0, 0, 1, 1, 1, 1],
    [2, 2, 2, 2, 0, 0],
  ];
  const all = [0, 1, 2, 3, 4, 5];

  it('counts the members that put each pair together', () => {
    const r = ensembleConfidence(members, all);
    const c = (i: number, j: number) => r.confidence[i * 6 + j];
    expect([c(0, 1), c(4, 5), c(0, 2), c(2, 3), c(3, 5), c(0, 3), c(2, 5), c(0, 4), c(1, 5)]).toEqual([3, 3, 2, 2, 2, 1, 1, 0, 0]);
    for (let i = 0; i < 6; i++) {
      expect(c(i, i)).toBe(0);
      for (let j = 0; j < 6; j++) expect(c(i, j)).toBe(c(j, i));
    }
  });

  it('connects unanimous pairs by default and derives positive and negative pairs', () => {
    const r = ensembleConfidence(members, all);
    expect(arr(r.connections)).toEqual([1, 1, 0, 0, 1, 1]);
    expect(arr(r.confident)).toEqual([1, 1, 0, 0, 1, 1]);
    expect(arr(r.positives)).toEqual([0, 1, 4, 5]);
    expect(arr(r.negatives)).toEqual([0, 4, 0, 5, 1, 4, 1, 5]);
  });

  it('drops points with fewer than minConnections connections (t_c), with their pairs', () => {
    const r = ensembleConfidence(members, all, { minAgreeing: 2, minConnections: 3 });
    expect(arr(r.connections)).toEqual([2, 2, 3, 3, 2, 2]);
    expect(arr(r.confident)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(arr(r.positives)).toEqual([2, 3]);
    expect(arr(r.negatives)).toEqual([]);
  });

  it('works on any mini-batch, in batch-local indices', () => {
    const r = ensembleConfidence(members, [5, 4, 0]);
    expect(arr(r.batch)).toEqual([5, 4, 0]);
    expect(arr(r.confident)).toEqual([1, 1, 0]);
    expect(arr(r.positives)).toEqual([0, 1]);
  });

  it('never connects noise', () => {
    const r = ensembleConfidence([[-1, -1, 0], [-1, -1, 0]], [0, 1, 2]);
    expect(r.confidence[1]).toBe(0);
  });

  it('walks the points in shuffled mini-batches of B x B memory', () => {
    const n = 50;
    const labels = [Array.from({ length: n }, (_, i) => i % 3), Array.from({ length: n }, (_, i) => i % 3)];
    const seen: number[] = [];
    for (const b of confidenceBatches(labels, { batchSize: 16, seed: 1 })) {
      expect(b.confidence.length).toBe(b.batch.length ** 2);
      seen.push(...b.batch);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    const again = [...confidenceBatches(labels, { batchSize: 16, seed: 1 })].map((b) => arr(b.batch));
    const other = [...confidenceBatches(labels, { batchSize: 16, seed: 2 })].map((b) => arr(b.batch));
    expect([...confidenceBatches(labels, { batchSize: 16, seed: 1 })].map((b) => arr(b.batch))).toEqual(again);
    expect(other).not.toEqual(again);
    expect([...confidenceBatches(labels, { batchSize: 16, dropLast: true })].length).toBe(3);
  });

  it('rejects bad batches and options', () => {
    expect(() => ensembleConfidence(members, [0])).toThrow(InvalidInputError);
    expect(() => ensembleConfidence(members, [0, 6])).toThrow(InvalidInputError);
    expect(() => ensembleConfidence(members, [0, 0.5])).toThrow(InvalidInputError);
    expect(() => ensembleConfidence(members, [1, 1])).toThrow(InvalidInputError);
    expect(() => ensembleConfidence(members, all, { minAgreeing: 4 })).toThrow(InvalidOptionError);
    expect(() => ensembleConfidence(members, all, { minAgreeing: 0 })).toThrow(InvalidOptionError);
    expect(() => ensembleConfidence(members, all, { minConnections: 6 })).toThrow(InvalidOptionError);
    expect(() => ensembleConfidence(members, all, { te: 2 } as never)).toThrow(UnknownOptionError);
    expect(() => [...confidenceBatches(members, { batchSize: 1 })]).toThrow(InvalidOptionError);
    expect(() => [...confidenceBatches(members, {} as never)]).toThrow(InvalidOptionError);
  });
});
