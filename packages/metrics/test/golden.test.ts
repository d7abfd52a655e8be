/**
 * Golden values from scikit-learn 1.2, SciPy and mpmath (fixtures/generate_sklearn_fixtures.py).
 */
import { Tensor } from '@dc/core';
import {
  ami,
  ari,
  calibration,
  cleanSetQuality,
  clusteringAccuracy,
  confusionMatrix,
  contingency,
  evaluateClustering,
  expectedMutualInformation,
  mutualInfo,
  nmi,
  purity,
} from '@dc/metrics';
import { golden, type Average } from './helpers';

const AVERAGES: Average[] = ['arithmetic', 'geometric', 'min', 'max'];
const data = golden();

describe('golden labelings against scikit-learn', () => {
  it('has at least 50 labelings of varied sizes and label counts', () => {
    expect(data.labelings.length).toBeGreaterThanOrEqual(50);
    const sizes = new Set(data.labelings.map((c) => c.n));
    expect(sizes.size).toBeGreaterThan(10);
    expect(data.versions.sklearn).toMatch(/^1\.2/);
  });

  it.each(data.labelings.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const e = c.expected;
    const table = contingency(c.pred, c.truth);
    expect(Array.from(table.classes)).toEqual(e.classes);
    expect(Array.from(table.clusters)).toEqual(e.clusters);
    const m = confusionMatrix(table);
    expect(m.counts).toEqual(e.contingency);
    expect(m.classes).toEqual(e.classes);
    expect(m.clusters).toEqual(e.clusters);

    expect(Math.abs(mutualInfo(table) - e.mi)).toBeLessThan(1e-10);
    for (const average of AVERAGES) {
      expect(Math.abs(nmi(table, { average }) - e.nmi[average])).toBeLessThan(1e-10);
      expect(Math.abs(ami(table, { average }) - e.ami[average])).toBeLessThan(1e-10);
    }
    expect(Math.abs(ari(table) - e.ari)).toBeLessThan(1e-10);
    expect(Math.abs(clusteringAccuracy(table).accuracy - e.acc)).toBeLessThan(1e-12);
    expect(Math.abs(purity(table) - e.purity)).toBeLessThan(1e-12);

    // The one-call form agrees with the per-metric functions.
    const all = evaluateClustering(c.pred, c.truth);
    expect(all.nmi).toBe(nmi(c.pred, c.truth));
    expect(all.ami).toBe(ami(table));
    expect(all.ari).toBe(ari(table));
    expect(all.accuracy).toBe(clusteringAccuracy(table).accuracy);
  });

  it('reads int64 and float tensors and typed arrays identically', () => {
    for (const c of data.labelings.slice(0, 25)) {
      const p64 = new Tensor('int64', BigInt64Array.from(c.pred.map(BigInt)), [c.n]);
      const tF = Tensor.from(Float64Array.from(c.truth));
      expect(ami(p64, tF)).toBe(ami(c.pred, c.truth));
      expect(ari(Float64Array.from(c.pred), c.truth)).toBe(ari(c.pred, c.truth));
    }
  });
});

describe('exact expected mutual information (mpmath, 50 digits)', () => {
  it.each(data.emi.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const exact = Number(c.exact);
    const ours = expectedMutualInformation(c.classSizes, c.clusterSizes, c.n);
    expect(Math.abs(ours - exact) / exact).toBeLessThan(1e-13);
    // scikit-learn's log-gamma sums drift with n (2e-9 relative at n = 400,000); ours does not.
    expect(Math.abs(ours - exact)).toBeLessThanOrEqual(Math.abs(c.sklearn - exact));
  });
});

describe('golden calibration and clean-set quality (NumPy reference)', () => {
  it.each(data.calibration.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = calibration(c.probabilities, c.truth, { bins: c.bins });
    expect(Math.abs(result.ece - c.expected.ece)).toBeLessThan(1e-12);
    expect(Math.abs(result.accuracy - c.expected.accuracy)).toBeLessThan(1e-12);
    expect(result.bins.map((b) => b.count)).toEqual(c.expected.bins.map((b) => b.count));
    result.bins.forEach((b, m) => {
      expect(Math.abs(b.accuracy - c.expected.bins[m]!.accuracy)).toBeLessThan(1e-12);
      expect(Math.abs(b.confidence - c.expected.bins[m]!.confidence)).toBeLessThan(1e-12);
    });

    const k = c.probabilities[0]!.length;
    const flat = Float64Array.from(c.probabilities.flat());
    const pred = c.probabilities.map((row) => row.indexOf(Math.max(...row)));
    const q = cleanSetQuality(pred, c.truth, c.clean);
    const want = c.expected.clean;
    expect(q.selected).toBe(want.selected);
    expect(q.selectedCorrect).toBe(want.selectedCorrect);
    expect(q.totalCorrect).toBe(want.totalCorrect);
    expect(q.precision).toBeCloseTo(want.precision, 14);
    expect(q.recall).toBeCloseTo(want.recall, 14);
    expect(q.f1).toBeCloseTo(want.f1, 14);

    const all = evaluateClustering(pred, c.truth, { probabilities: new Tensor('float64', flat, [c.truth.length, k]), clean: c.clean, bins: c.bins });
    expect(all.cleanSet).toEqual(q);
    expect(all.calibration).toEqual(result);
  });
});
