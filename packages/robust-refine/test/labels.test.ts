import { InvalidInputError, InvalidOptionError, Rng } from '@dc/core';
import {
  coRefineLabels,
  guessLabels,
  minMaxNormalize,
  mixMatch,
  mixRows,
  mixWeight,
  oneHot,
  refurbish,
  refurbishThreshold,
  rowArgmax,
  rowMax,
  sharpen,
  smoothLabels,
} from '@dc/robust-refine';

const close = (got: ArrayLike<number>, want: number[], digits = 6) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, digits));
};

describe('label smoothing (Eq. 8)', () => {
  it('keeps 1 - eps on the label and shares eps over the other K - 1 classes', () => {
    close(smoothLabels([0, 2], 3, 0.5), [0.5, 0.25, 0.25, 0.25, 0.25, 0.5]);
    close(smoothLabels([1], 2, 0.5), [0.5, 0.5]);
    close(smoothLabels([3], 5, 0.2), [0.05, 0.05, 0.05, 0.8, 0.05]);
  });

  it('is the one-hot label at eps = 0 and rows always sum to 1', () => {
    close(smoothLabels([1, 0], 3, 0), [0, 1, 0, 1, 0, 0]);
    const s = smoothLabels([0, 1, 2, 3], 4, 0.37);
    for (let r = 0; r < 4; r++) expect(s.subarray(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('rejects eps outside [0, 1] and labels outside 0..K-1', () => {
    expect(() => smoothLabels([0], 3, 1.5)).toThrow(InvalidOptionError);
    expect(() => smoothLabels([0], 3, -0.1)).toThrow(InvalidOptionError);
    expect(() => smoothLabels([3], 3, 0.5)).toThrow(InvalidInputError);
    expect(() => oneHot([0], 1)).toThrow(InvalidOptionError);
  });
});

describe('sharpening', () => {
  it('raises to 1/T and renormalises', () => {
    // T = 0.5 squares: [0.36, 0.16] / 0.52
    close(sharpen([0.6, 0.4], 2, 0.5), [0.36 / 0.52, 0.16 / 0.52]);
    // [0.25, 0.09, 0.04] / 0.38
    close(sharpen([0.5, 0.3, 0.2], 3, 0.5), [0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38]);
    // T = 1 is the identity on normalised rows
    close(sharpen([0.1, 0.2, 0.7], 3, 1), [0.1, 0.2, 0.7]);
  });

  it('tends to one-hot for small T without underflowing', () => {
    close(sharpen([0.4, 0.35, 0.25], 3, 0.001), [1, 0, 0]);
  });

  it('rejects T <= 0 and rows without a positive entry', () => {
    expect(() => sharpen([0.5, 0.5], 2, 0)).toThrow(InvalidOptionError);
    expect(() => sharpen([0, 0], 2, 0.5)).toThrow(InvalidInputError);
    expect(() => sharpen([0.5, 0.5, 0], 2, 0.5)).toThrow(InvalidInputError);
    // T = 0.5 squares: a negative entry would come out positive
    expect(() => sharpen([-0.5, 0.5, 1], 3, 0.5)).toThrow(/must be >= 0; found -0.5 at row 0, column 0/);
  });
});

describe('co-refinement weights and labels (Eqs. 11-12)', () => {
  it('min-max normalises confidences to [0, 1]', () => {
    close(minMaxNormalize([0.5, 0.7, 0.9]), [0, 0.5, 1]);
    close(minMaxNormalize([0.8, 0.8]), [0, 0]);
    expect(() => minMaxNormalize([0.5, NaN])).toThrow(InvalidInputError);
  });

  it('mixes the label with the counter prediction by w, then sharpens', () => {
    // w = 0.5: (0.5 [1, 0] + 0.5 [0.2, 0.8]) = [0.6, 0.4] -> [0.36, 0.16] / 0.52
    close(coRefineLabels([0], [0.2, 0.8], [0.5], 2, 0.5), [0.36 / 0.52, 0.16 / 0.52]);
    // w = 0 keeps the label; w = 1 takes the sharpened counter prediction [0.04, 0.64] / 0.68
    close(coRefineLabels([0, 0], [0.2, 0.8, 0.2, 0.8], [0, 1], 2, 0.5), [1, 0, 0.04 / 0.68, 0.64 / 0.68]);
  });

  it('rejects weights outside [0, 1] and mismatched shapes', () => {
    expect(() => coRefineLabels([0], [0.2, 0.8], [1.2], 2, 0.5)).toThrow(InvalidInputError);
    expect(() => coRefineLabels([0], [0.2, 0.8, 0.1], [0.5], 2, 0.5)).toThrow(InvalidInputError);
    expect(() => coRefineLabels([0, 1], [0.2, 0.8, 0.5, 0.5], [0.5], 2, 0.5)).toThrow(InvalidInputError);
  });
});

describe('guessed labels (Eqs. 13-14)', () => {
  it('averages the predictions of both networks over M views and sharpens', () => {
    // mean of [0.7, 0.3], [0.5, 0.5], [0.6, 0.4], [0.6, 0.4] is [0.6, 0.4]
    const g = guessLabels([[0.7, 0.3], [0.5, 0.5], [0.6, 0.4], [0.6, 0.4]], 2, 0.5);
    close(g, [0.36 / 0.52, 0.16 / 0.52]);
  });

  it('needs at least one prediction of a consistent shape', () => {
    expect(() => guessLabels([], 2, 0.5)).toThrow(InvalidInputError);
    expect(() => guessLabels([[0.5, 0.5], [0.5, 0.5, 0.2, 0.8]], 2, 0.5)).toThrow(InvalidInputError);
  });
});

describe('MixMatch mixing (Eqs. 1-4)', () => {
  it('mixes each row with its permutation partner', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    // row 0: 0.75 [1, 2] + 0.25 [5, 6]; row 1: 0.75 [3, 4] + 0.25 [1, 2]; row 2: 0.75 [5, 6] + 0.25 [3, 4]
    close(mixRows(x, 2, 0.75, [2, 0, 1]), [2, 3, 2.5, 3.5, 4.5, 5.5]);
    close(mixRows(x, 2, 1, [2, 0, 1]), [1, 2, 3, 4, 5, 6]);
  });

  it("draws lambda' = max(lambda, 1 - lambda) >= 0.5; its mean under Beta(1, 1) is 3/4", () => {
    const rng = new Rng(5);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    const draws = 20000;
    for (let i = 0; i < draws; i++) {
      const l = mixWeight(rng, 1);
      min = Math.min(min, l);
      max = Math.max(max, l);
      sum += l;
    }
    expect(min).toBeGreaterThanOrEqual(0.5);
    expect(max).toBeLessThanOrEqual(1);
    expect(sum / draws).toBeCloseTo(0.75, 2);
  });

  it('mixes inputs and targets with the same lambda and permutation, reproducibly', () => {
    const inputs = Float32Array.from({ length: 4 * 3 }, (_, i) => i);
    const targets = oneHot([0, 1, 1, 0], 2);
    const a = mixMatch(inputs, targets, 2, new Rng(11), 4);
    const b = mixMatch(inputs, targets, 2, new Rng(11), 4);
    expect(Array.from(a.inputs)).toEqual(Array.from(b.inputs));
    expect(a.lambda).toBe(b.lambda);
    for (let i = 0; i < 4; i++) {
      const j = a.perm[i]!;
      for (let c = 0; c < 3; c++) expect(a.inputs[i * 3 + c]).toBeCloseTo(a.lambda * inputs[i * 3 + c]! + (1 - a.lambda) * inputs[j * 3 + c]!, 5);
      for (let c = 0; c < 2; c++) expect(a.targets[i * 2 + c]).toBeCloseTo(a.lambda * targets[i * 2 + c]! + (1 - a.lambda) * targets[j * 2 + c]!, 6);
    }
  });

  it('stays finite for tiny alpha, where Beta(alpha, alpha) sits at 0 or 1', () => {
    const rng = new Rng(2);
    for (let i = 0; i < 100; i++) expect(mixWeight(rng, 1e-4)).toBeCloseTo(1, 3);
  });

  it('rejects bad alpha, lambda and permutations', () => {
    expect(() => mixWeight(new Rng(1), 0)).toThrow(InvalidOptionError);
    expect(() => mixRows(new Float32Array(4), 2, 1.5, [0, 1])).toThrow(InvalidOptionError);
    expect(() => mixRows(new Float32Array(4), 2, 0.5, [0, 2])).toThrow(InvalidInputError);
    expect(() => mixRows(new Float32Array(4), 3, 0.5, [0])).toThrow(InvalidInputError);
  });
});

describe('co-refurbishing (Eqs. 18-19)', () => {
  it('relabels unclean samples whose more confident network exceeds tau2', () => {
    const k = 3;
    const clean = Uint8Array.from([1, 0, 0, 0]);
    const labels = Int32Array.from([0, 0, 1, 2]);
    const p1 = [0.01, 0.01, 0.98, /**/ 0.92, 0.04, 0.04, /**/ 0.5, 0.3, 0.2, /**/ 0.05, 0.05, 0.9];
    const p2 = [0.01, 0.98, 0.01, /**/ 0.02, 0.96, 0.02, /**/ 0.3, 0.4, 0.3, /**/ 0.1, 0.1, 0.8];
    const r = refurbish([p1, p2], clean, labels, k, 0.9);
    // sample 0 is clean and kept; sample 1: network 2 is more confident (0.96 > 0.92) -> label 1;
    // sample 2: best 0.5 <= 0.9; sample 3: best is exactly 0.9, not above it.
    expect(Array.from(r.clean)).toEqual([1, 1, 0, 0]);
    expect(Array.from(r.labels)).toEqual([0, 1, 1, 2]);
    expect(Array.from(r.refurbished)).toEqual([1]);
    // inputs untouched
    expect(Array.from(clean)).toEqual([1, 0, 0, 0]);
    // one network (no co-training)
    expect(Array.from(refurbish([p1], clean, labels, k, 0.9).labels)).toEqual([0, 0, 1, 2]);
    expect(Array.from(refurbish([p1], clean, labels, k, 0.85).labels)).toEqual([0, 0, 1, 2]);
    expect(Array.from(refurbish([p1], clean, labels, k, 0.85).clean)).toEqual([1, 1, 0, 1]);
  });

  it('raises tau2 from 0.9 by 0.02 every 40 epochs', () => {
    expect(refurbishThreshold(0)).toBeCloseTo(0.9, 12);
    expect(refurbishThreshold(39)).toBeCloseTo(0.9, 12);
    expect(refurbishThreshold(40)).toBeCloseTo(0.92, 12);
    expect(refurbishThreshold(199)).toBeCloseTo(0.98, 12);
    expect(refurbishThreshold(10, { start: 0.8, step: 0.05, every: 5 })).toBeCloseTo(0.9, 12);
    expect(() => refurbishThreshold(-1)).toThrow(InvalidOptionError);
  });

  it('rejects probabilities of the wrong size', () => {
    expect(() => refurbish([[0.5, 0.5]], Uint8Array.from([0, 0]), Int32Array.from([0, 1]), 2, 0.9)).toThrow(InvalidInputError);
    expect(() => refurbish([], Uint8Array.from([0]), Int32Array.from([0]), 2, 0.9)).toThrow(InvalidInputError);
  });
});

describe('row helpers', () => {
  it('max and argmax per row', () => {
    close(rowMax([0.1, 0.9, 0.6, 0.4], 2), [0.9, 0.6]);
    expect(Array.from(rowArgmax([0.1, 0.9, 0.6, 0.4, 0.5, 0.5], 2))).toEqual([1, 0, 0]);
  });
});
