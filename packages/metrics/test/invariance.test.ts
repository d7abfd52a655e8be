/**
 * Invariances in the style of scikit-learn's metrics/cluster/tests/test_common.py: symmetry where it holds,
 * invariance to relabelling and to the input format, bounds, perfect and worst cases, and ACC against a
 * brute-force search over all one-to-one mappings.
 */
import { Rng, Tensor } from '@dc/core';
import { ami, ari, clusteringAccuracy, contingency, mutualInfo, nmi, purity, type LabelInput } from '@dc/metrics';
import { bruteForceAccuracy, randomLabels } from './helpers';

type Metric = (pred: LabelInput, truth: LabelInput) => number;

const SYMMETRIC: Record<string, Metric> = {
  ari: (p, t) => ari(p, t),
  'nmi arithmetic': (p, t) => nmi(p, t),
  'nmi geometric': (p, t) => nmi(p, t, { average: 'geometric' }),
  'nmi min': (p, t) => nmi(p, t, { average: 'min' }),
  'nmi max': (p, t) => nmi(p, t, { average: 'max' }),
  'ami arithmetic': (p, t) => ami(p, t),
  'ami geometric': (p, t) => ami(p, t, { average: 'geometric' }),
  'ami min': (p, t) => ami(p, t, { average: 'min' }),
  'ami max': (p, t) => ami(p, t, { average: 'max' }),
  'mutual info': (p, t) => mutualInfo(p, t),
  acc: (p, t) => clusteringAccuracy(p, t).accuracy,
};
const NON_SYMMETRIC: Record<string, Metric> = { purity: (p, t) => purity(p, t) };
const NORMALIZED: Record<string, Metric> = {
  acc: SYMMETRIC.acc!,
  purity: NON_SYMMETRIC.purity!,
  ari: SYMMETRIC.ari!,
  'nmi arithmetic': SYMMETRIC['nmi arithmetic']!,
  'nmi geometric': SYMMETRIC['nmi geometric']!,
  'nmi min': SYMMETRIC['nmi min']!,
  'nmi max': SYMMETRIC['nmi max']!,
  'ami arithmetic': SYMMETRIC['ami arithmetic']!,
  'ami max': SYMMETRIC['ami max']!,
};
const ALL = { ...SYMMETRIC, ...NON_SYMMETRIC };

const rng = new Rng(42);
const y1 = randomLabels(rng, 60, 4);
const y2 = randomLabels(rng, 60, 6, [5, 1, 1, 2, 0.5, 3]);

describe('symmetry', () => {
  it.each(Object.entries(SYMMETRIC))('%s is symmetric', (_name, f) => {
    expect(f(y1, y2)).toBeCloseTo(f(y2, y1), 12);
  });

  it.each(Object.entries(NON_SYMMETRIC))('%s is not symmetric', (_name, f) => {
    expect(Math.abs(f(y1, y2) - f(y2, y1))).toBeGreaterThan(1e-3);
  });
});

describe('normalized output', () => {
  const upper = [0, 0, 0, 1, 1, 1];
  const lower = [0, 1, 2, 3, 4, 5];
  it.each(Object.entries(NORMALIZED))('%s is 1 on a perfect match, lower otherwise, and bounded', (_name, f) => {
    expect(f([0, 0, 0, 1, 1], [0, 0, 0, 1, 1])).toBeCloseTo(1, 12);
    expect(f([0, 0, 0, 1, 1], [1, 1, 1, 0, 0])).toBeCloseTo(1, 12);
    expect(f([0, 0, 1, 1, 2, 2], [0, 1, 2, 0, 1, 2])).toBeLessThan(1);
    for (let trial = 0; trial < 10; trial++) {
      const a = randomLabels(rng, 100, 2 + (trial % 5));
      const b = randomLabels(rng, 100, 3 + (trial % 4));
      const v = f(a, b);
      expect(v).toBeLessThanOrEqual(1 + 1e-12);
      expect(v).toBeGreaterThanOrEqual(-1); // ARI and AMI may dip below 0
    }
    // scores stay in range for extreme partitions
    for (const [a, b] of [
      [upper, lower],
      [lower, upper],
    ] as const) {
      const v = f(a, b);
      expect(v).toBeGreaterThanOrEqual(-1e-12);
      expect(v).toBeLessThanOrEqual(1 + 1e-12);
    }
  });

  it('ACC, purity and NMI stay in [0, 1] on random labelings', () => {
    for (let trial = 0; trial < 20; trial++) {
      const a = randomLabels(rng, 50, 1 + (trial % 7));
      const b = randomLabels(rng, 50, 1 + ((trial * 3) % 8));
      for (const f of [NORMALIZED.acc!, NORMALIZED.purity!, NORMALIZED['nmi arithmetic']!, NORMALIZED['nmi min']!]) {
        const v = f(a, b);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1 + 1e-12);
      }
    }
  });

  it('independent random labelings score about 0 on the adjusted indices', () => {
    const a = randomLabels(rng, 5000, 10);
    const b = randomLabels(rng, 5000, 10);
    expect(Math.abs(ari(a, b))).toBeLessThan(0.01);
    expect(Math.abs(ami(a, b))).toBeLessThan(0.01);
  });

  it('worst cases: ARI is negative for anti-correlated pairs and ACC reaches 1/k', () => {
    // Two classes split perfectly against the pairs of a second labelling.
    expect(ari([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12);
    expect(clusteringAccuracy([0, 1, 2, 0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1, 2, 2, 2]).accuracy).toBeCloseTo(1 / 3, 12);
    expect(nmi([0, 1, 2, 0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1, 2, 2, 2])).toBe(0);
  });
});

describe('invariance to relabelling', () => {
  it.each(Object.entries(ALL))('%s does not change when labels are permuted or renamed', (_name, f) => {
    const base = f(y1, y2);
    const perm = rng.permutation(6);
    const renamed = [1_000_003, -17, 42, -1, 9, 123_456_789_012];
    expect(f(y1, y2.map((v) => perm[v]!))).toBeCloseTo(base, 12);
    expect(f(y1.map((v) => v * 1000 - 5), y2.map((v) => renamed[v]!))).toBeCloseTo(base, 12);
  });

  it.each(Object.entries(ALL))('%s gives the same value for every input format', (_name, f) => {
    const base = f(y1, y2);
    const formats: [LabelInput, LabelInput][] = [
      [Int32Array.from(y1), Int32Array.from(y2)],
      [Float64Array.from(y1), Float32Array.from(y2)],
      [Uint8Array.from(y1), Int16Array.from(y2)],
      [BigInt64Array.from(y1.map(BigInt)), y2],
      [Tensor.from(Int32Array.from(y1)), new Tensor('int64', BigInt64Array.from(y2.map(BigInt)), [y2.length])],
      [Tensor.from(Float32Array.from(y1)), Tensor.from(Float64Array.from(y2))],
    ];
    for (const [a, b] of formats) expect(f(a, b)).toBe(base);
  });

  it('the contingency table reorders with the labels and keeps the cells', () => {
    const t = contingency(y1, y2);
    const u = contingency(y1.map((v) => 3 - v), y2);
    expect(t.n).toBe(60);
    expect(Array.from(u.cellCount).sort()).toEqual(Array.from(t.cellCount).sort());
  });
});

describe('clustering accuracy equals brute-force search on small cases', () => {
  it('matches every injective mapping search, with equal and unequal label counts', () => {
    for (let trial = 0; trial < 60; trial++) {
      const n = 5 + (trial % 25);
      const k1 = 1 + (trial % 6);
      const k2 = 1 + ((trial * 5) % 7);
      const truth = randomLabels(rng, n, k1);
      const pred = trial % 3 === 0 ? truth.map((v) => (rng.uniform() < 0.3 ? rng.int(k2) : v % k2)) : randomLabels(rng, n, k2);
      const got = clusteringAccuracy(pred, truth);
      expect(got.accuracy).toBeCloseTo(bruteForceAccuracy(pred, truth), 12);
      // The returned mapping is one-to-one and achieves the reported accuracy.
      const clusters = new Set(got.mapping.map((m) => m.cluster));
      const classes = new Set(got.mapping.map((m) => m.class));
      expect(clusters.size).toBe(got.mapping.length);
      expect(classes.size).toBe(got.mapping.length);
      expect(got.mapping.length).toBe(Math.min(new Set(pred).size, new Set(truth).size));
      const map = new Map(got.mapping.map((m) => [m.cluster, m.class]));
      const correct = pred.filter((p, i) => map.get(p) === truth[i]).length;
      expect(correct).toBe(got.correct);
      expect(got.unmatchedClusters.length + got.mapping.length).toBe(new Set(pred).size);
      expect(got.unmatchedClasses.length + got.mapping.length).toBe(new Set(truth).size);
    }
  });

  it('leaves extra clusters unmatched and counts their samples as errors', () => {
    const truth = [0, 0, 0, 1, 1, 1];
    const pred = [5, 5, 6, 7, 7, 8];
    const r = clusteringAccuracy(pred, truth);
    expect(r.accuracy).toBeCloseTo(4 / 6, 12);
    expect(r.mapping).toEqual([
      { cluster: 5, class: 0 },
      { cluster: 7, class: 1 },
    ]);
    expect(r.unmatchedClusters).toEqual([6, 8]);
    expect(r.unmatchedClasses).toEqual([]);
    // Purity maps many-to-one, so it is never below ACC.
    expect(purity(pred, truth)).toBe(1);
  });

  it('leaves classes unmatched when there are fewer clusters', () => {
    const r = clusteringAccuracy([1, 1, 1, 2, 2, 2], [0, 0, 1, 2, 2, 3]);
    expect(r.accuracy).toBeCloseTo(4 / 6, 12);
    expect(r.unmatchedClasses).toEqual([1, 3]);
  });
});
