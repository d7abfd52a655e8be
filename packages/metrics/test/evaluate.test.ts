/** evaluateClustering, formatEvaluation, noise handling, the confusion matrix and the sparse paths. */
import { InvalidInputError, InvalidOptionError, Rng, UnknownOptionError } from '@dc/core';
import {
  Contingency,
  ami,
  ari,
  cleanSetQuality,
  clusteringAccuracy,
  confusionMatrix,
  contingency,
  evaluateClustering,
  formatEvaluation,
  mutualInfo,
  nmi,
  purity,
} from '@dc/metrics';
import { randomLabels } from './helpers';

const truth = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
const pred = [7, 7, 7, 5, 5, 5, 5, 9, 9, 9, 9, 7];

describe('evaluateClustering', () => {
  it('returns every metric as a plain, JSON-serialisable object', () => {
    const r = evaluateClustering(pred, truth, { clean: pred.map((_, i) => i % 4 !== 3) });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.n).toBe(12);
    expect(r.numClusters).toBe(3);
    expect(r.numClasses).toBe(3);
    expect(r.accuracy).toBeCloseTo(9 / 12, 14);
    expect(r.mapping).toEqual([
      { cluster: 5, class: 1 },
      { cluster: 7, class: 0 },
      { cluster: 9, class: 2 },
    ]);
    expect(r.nmi).toBe(nmi(pred, truth));
    expect(r.ami).toBe(ami(pred, truth));
    expect(r.ari).toBe(ari(pred, truth));
    expect(r.purity).toBe(purity(pred, truth));
    expect(r.mutualInfo).toBe(mutualInfo(pred, truth));
    expect(r.nmiByAverage.min).toBe(nmi(pred, truth, { average: 'min' }));
    expect(r.amiByAverage.geometric).toBe(ami(pred, truth, { average: 'geometric' }));
    // the clean set drops the last sample of each group of four: exactly the wrong ones
    expect(r.cleanSet).toEqual({ precision: 1, recall: 1, f1: 1, selected: 9, selectedCorrect: 9, totalCorrect: 9, n: 12 });
    expect(r.calibration).toBeUndefined();
  });

  it('uses the requested average for the headline NMI and AMI', () => {
    const r = evaluateClustering(pred, truth, { average: 'max' });
    expect(r.nmi).toBe(r.nmiByAverage.max);
    expect(r.ami).toBe(r.amiByAverage.max);
  });

  it('reorders the confusion matrix so the mapping is on the diagonal', () => {
    const r = evaluateClustering(pred, truth);
    expect(r.confusion).toEqual({
      classes: [0, 1, 2],
      clusters: [7, 5, 9],
      counts: [
        [3, 1, 0],
        [0, 3, 1],
        [1, 0, 3],
      ],
    });
    const raw = confusionMatrix(pred, truth);
    expect(raw.clusters).toEqual([5, 7, 9]);
    expect(raw.counts[0]).toEqual([1, 3, 0]);
  });

  it('puts unmatched clusters and classes after the matched ones', () => {
    const m = confusionMatrix([3, 3, 1, 1, 2, 0], [0, 0, 1, 1, 1, 1], { reorder: true });
    expect(m.classes).toEqual([0, 1]);
    expect(m.clusters).toEqual([3, 1, 0, 2]);
    expect(m.counts).toEqual([
      [2, 0, 0, 0],
      [0, 2, 1, 1],
    ]);
    const fewer = confusionMatrix([4, 4, 4, 5], [0, 1, 1, 2], { reorder: true });
    expect(fewer.counts.length).toBe(3);
    const trace = fewer.counts.reduce((s, row, i) => s + (row[i] ?? 0), 0);
    expect(trace).toBe(clusteringAccuracy([4, 4, 4, 5], [0, 1, 1, 2]).correct);
  });

  it('leaves the confusion matrix out above maxConfusionCells', () => {
    expect(evaluateClustering(pred, truth, { maxConfusionCells: 4 }).confusion).toBeNull();
  });

  it('shares one contingency table between metrics', () => {
    const rng = new Rng(3);
    const a = randomLabels(rng, 500, 7);
    const b = randomLabels(rng, 500, 5, [4, 1, 1, 1, 2]);
    const table = contingency(a, b);
    expect(nmi(table)).toBe(nmi(a, b));
    expect(ami(table, { average: 'min' })).toBe(ami(a, b, { average: 'min' }));
    expect(clusteringAccuracy(table)).toEqual(clusteringAccuracy(a, b));
    expect(table.assignment()).toBe(table.assignment());
  });
});

describe('noise label -1', () => {
  const p = [0, 0, -1, 1, 1, -1, 2, 2, 2, -1];
  const t = [0, 0, 0, 1, 1, 1, 2, 2, 0, 2];
  const keep = p.map((v) => v !== -1);
  const pKept = p.filter((_, i) => keep[i]);
  const tKept = t.filter((_, i) => keep[i]);

  it("is an ordinary cluster with noise: 'cluster' (the default), as in scikit-learn", () => {
    const renamed = p.map((v) => (v === -1 ? 99 : v));
    expect(ami(p, t)).toBe(ami(renamed, t));
    expect(clusteringAccuracy(p, t).accuracy).toBe(clusteringAccuracy(renamed, t).accuracy);
    expect(evaluateClustering(p, t).numClusters).toBe(4);
  });

  it("is left out of every metric with noise: 'exclude'", () => {
    const opts = { noise: 'exclude' } as const;
    expect(ari(p, t, opts)).toBe(ari(pKept, tKept));
    expect(nmi(p, t, opts)).toBe(nmi(pKept, tKept));
    expect(ami(p, t, opts)).toBe(ami(pKept, tKept));
    expect(purity(p, t, opts)).toBe(purity(pKept, tKept));
    expect(clusteringAccuracy(p, t, opts)).toEqual(clusteringAccuracy(pKept, tKept));
    const r = evaluateClustering(p, t, opts);
    expect(r.n).toBe(7);
    expect(r.excluded).toBe(3);
    expect(r.numClusters).toBe(3);
    const table = contingency(p, t, opts);
    expect(table.excluded).toBe(3);
    expect(table.n).toBe(7);
  });

  it('drops the mask entries of excluded samples in the clean-set quality', () => {
    const clean = [1, 1, 1, 0, 1, 1, 1, 1, 1, 0];
    const q = cleanSetQuality(p, t, clean, { noise: 'exclude' });
    expect(q).toEqual(cleanSetQuality(pKept, tKept, clean.filter((_, i) => keep[i])));
    expect(q.n).toBe(7);
  });

  it('is never excluded from the truth', () => {
    const r = evaluateClustering([0, 1, 1], [-1, 1, 1], { noise: 'exclude' });
    expect(r.n).toBe(3);
    expect(r.accuracy).toBe(1);
  });
});

describe('clean-set quality', () => {
  it('is precision/recall of the selected labels being correct after the ACC mapping', () => {
    // mapping: 7->0, 5->1, 9->2; correct = all but indices 3, 7, 11
    const clean = [1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1];
    const q = cleanSetQuality(pred, truth, clean);
    // selected 8, of which index 3 and 11 are wrong
    expect(q.selected).toBe(8);
    expect(q.selectedCorrect).toBe(6);
    expect(q.totalCorrect).toBe(9);
    expect(q.precision).toBeCloseTo(6 / 8, 14);
    expect(q.recall).toBeCloseTo(6 / 9, 14);
    expect(q.f1).toBeCloseTo((2 * (6 / 8) * (6 / 9)) / (6 / 8 + 6 / 9), 14);
    expect(cleanSetQuality(contingency(pred, truth), clean.map(Boolean))).toEqual(q);
  });

  it('gives 0 for an empty selection', () => {
    const q = cleanSetQuality(pred, truth, new Uint8Array(12));
    expect([q.precision, q.recall, q.f1, q.selected]).toEqual([0, 0, 0, 0]);
  });
});

describe('many labels', () => {
  it('switches to a sparse table when classes x clusters dwarfs the samples, with the same results', () => {
    const n = 3000;
    const singletons = Array.from({ length: n }, (_, i) => i * 7 + 1);
    const classes = Array.from({ length: n }, (_, i) => i % 10);
    const table = contingency(singletons, classes);
    expect(table.cellCount.length).toBe(n);
    // Closed forms: every cluster is pure, MI = H(classes), no pair is together in the prediction.
    const h = Math.log(10);
    expect(mutualInfo(table)).toBeCloseTo(h, 12);
    expect(nmi(table)).toBeCloseTo((2 * h) / (h + Math.log(n)), 12);
    expect(nmi(table, { average: 'min' })).toBeCloseTo(1, 12);
    expect(ari(table)).toBe(0);
    expect(purity(table)).toBe(1);
    expect(clusteringAccuracy(table).accuracy).toBeCloseTo(10 / n, 14);
    expect(ami(table, { average: 'min' })).toBe(1);
    expect(Math.abs(ami(table))).toBeLessThan(1e-12);
  });

  it('refuses a dense confusion matrix beyond 2^25 cells but still computes the information scores', () => {
    const n = 6000;
    const a = Array.from({ length: n }, (_, i) => i);
    const b = Array.from({ length: n }, (_, i) => (i * 7919) % n);
    expect(() => confusionMatrix(a, b)).toThrow(InvalidInputError);
    expect(nmi(a, b)).toBeCloseTo(1, 12);
    expect(ari(a, b)).toBe(1);
  });

  it('never builds a dense table beyond 2^25 cells, even with more than 2^24 samples', () => {
    // R x C = 2^25 + 2 cells is within 2n for n = 2^24 + 1 samples, which once took the dense path, so dense()
    // returned a table above its own limit. The constructor is internal; calling it directly skips encoding
    // 16 million labels (all samples share one cell, which is enough here).
    const n = 2 ** 24 + 1;
    const R = 2 * 97 * 257;
    const C = 673;
    expect(R * C).toBe(2 ** 25 + 2);
    const codes = new Int32Array(n);
    const side = (k: number) => ({ codes, uniques: Float64Array.from({ length: k }, (_, i) => i), sizes: Float64Array.from({ length: k }, (_, i) => (i === 0 ? n : 0)) });
    const table = new Contingency(side(R), side(C), null, 0);
    expect(Array.from(table.cellCount)).toEqual([n]);
    expect(() => table.dense()).toThrow(/more than 2\^25 cells/);
    expect(() => table.assignment()).toThrow(InvalidInputError);
  });

  it('encodes widely spread label values by sorting', () => {
    const rng = new Rng(11);
    const base = randomLabels(rng, 400, 6);
    const other = randomLabels(rng, 400, 4);
    const spread = base.map((v) => v * 1e12 - 3e12);
    expect(ami(spread, other)).toBe(ami(base, other));
    expect(confusionMatrix(spread, other).clusters).toEqual([-3e12, -2e12, -1e12, 0, 1e12, 2e12]);
  });
});

describe('formatEvaluation', () => {
  it('prints the scores, the reliability table, the clean set and a small confusion matrix', () => {
    // NMI 0.4881, AMI 0.3501 and ARI 0.3125 are scikit-learn's values for these labels.
    const probabilities = pred.map((p) => {
      const row = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      row[p] = 0.8;
      row[(p + 1) % 10] = 0.2;
      return row;
    });
    const r = evaluateClustering(pred, truth, { probabilities, clean: pred.map((_, i) => i % 2 === 0), bins: 5 });
    const text = formatEvaluation(r);
    expect(text).toBe(
      [
        '12 samples, 3 clusters, 3 classes',
        'metric             value',
        'ACC               0.7500',
        'NMI (arithmetic)  0.4881',
        'AMI (arithmetic)  0.3501',
        'ARI               0.3125',
        'purity            0.7500',
        '',
        'calibration (5 bins): ECE 0.0500, MCE 0.0500, mean confidence 0.8000, accuracy 0.7500',
        'bin           count  accuracy  confidence',
        '(0.60, 0.80]     12    0.7500      0.8000',
        '',
        'clean set: 6 of 12 selected; precision 1.0000, recall 0.6667, F1 0.8000',
        '',
        'confusion matrix (rows: true classes, columns: clusters, ACC mapping on the diagonal)',
        '   7  5  9',
        '0  3  1  0',
        '1  0  3  1',
        '2  1  0  3',
      ].join('\n'),
    );
    expect(formatEvaluation(r, { confusion: false, reliability: false, digits: 2 })).not.toMatch(/confusion matrix|accuracy  confidence/);
  });

  it('validates its options', () => {
    const r = evaluateClustering(pred, truth);
    expect(() => formatEvaluation(r, { digit: 2 } as never)).toThrow(UnknownOptionError);
    expect(() => formatEvaluation(r, { digit: 2 } as never)).toThrow(/Did you mean 'digits'/);
    expect(() => formatEvaluation(r, { digits: -1 })).toThrow(InvalidOptionError);
    expect(() => formatEvaluation(r, { digits: 21 })).toThrow(/'digits' parameter of formatEvaluation must be an integer in the range \[0, 20\]/);
    expect(() => formatEvaluation(r, { digits: 2.5 })).toThrow(InvalidOptionError);
    expect(() => formatEvaluation(r, { digits: '2' as never })).toThrow(InvalidOptionError);
    expect(() => formatEvaluation(r, { confusion: 'always' as never })).toThrow(InvalidOptionError);
    expect(() => formatEvaluation(r, { reliability: 1 as never })).toThrow(InvalidOptionError);
    expect(() => formatEvaluation(r, 'short' as never)).toThrow(InvalidOptionError);
    expect(formatEvaluation(r, { digits: 0, confusion: 'auto' })).toMatch(/^ACC +1$/m);
    expect(formatEvaluation(r, { digits: 20 })).toMatch(/^ACC +0\.75000000000000000000$/m);
  });
});
