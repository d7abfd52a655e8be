import { join } from 'node:path';
import { InvalidInputError, InvalidOptionError, NonFiniteError, Rng, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import { SingularCovarianceError, fitGmm, fitKMeans, type GmmOptions } from '@dc/consensus';
import { adjustedRandIndex, readJson } from './helpers';

interface Fit {
  init: { weights: number[]; means: number[][]; covariances: number[][] | number[][][] };
  tol: number;
  maxIter: number;
  weights: number[];
  means: number[][];
  covariances: number[][] | number[][][];
  lowerBound: number;
  nIter: number;
  converged: boolean;
  labels: number[];
  scoreSamples: number[];
  proba: number[][];
  bic: number;
  defaultLowerBound: number;
  defaultLabels: number[];
}
const fixture = readJson<{ x: number[][]; fits: Record<'full' | 'diag', Fit> }>(join(__dirname, 'fixtures', 'gmm', 'sklearn.json'));
const n = fixture.x.length;
const x = new Tensor('float64', Float64Array.from(fixture.x.flat()), [n, 3]);

describe.each(['full', 'diag'] as const)("fitGmm against scikit-learn's GaussianMixture (%s covariance)", (type) => {
  const want = fixture.fits[type];

  it('follows the same EM path from the same initial parameters', () => {
    const gm = fitGmm(x, { nComponents: 3, covarianceType: type, init: want.init, tol: want.tol, maxIter: want.maxIter });
    expect(gm.iterations).toBe(want.nIter);
    expect(gm.converged).toBe(want.converged);
    expect(gm.logLikelihood).toBeCloseTo(want.lowerBound, 8);
    want.weights.forEach((w, k) => expect(gm.weights[k]).toBeCloseTo(w, 6));
    want.means.flat().forEach((m, i) => expect(gm.means[i]).toBeCloseTo(m, 5));
    (want.covariances.flat(2) as number[]).forEach((v, i) => expect(gm.covariances[i]).toBeCloseTo(v, 5));
    expect(Array.from(gm.labels)).toEqual(want.labels);
    const head = new Tensor('float64', Float64Array.from(fixture.x.slice(0, 25).flat()), [25, 3]);
    Array.from(gm.scoreSamples(head)).forEach((s, i) => expect(s).toBeCloseTo(want.scoreSamples[i]!, 5));
    const proba = gm.predictProba(head.reshape([25, 3]));
    want.proba.forEach((row, i) => row.forEach((p, k) => expect(proba.get(i, k)).toBeCloseTo(p, 6)));
    expect(gm.bic(x)).toBeCloseTo(want.bic, 3);
    expect(gm.score(x)).toBeCloseTo(gm.scoreSamples(x).reduce((a, b) => a + b, 0) / n, 12);
  });

  it('reaches the log-likelihood of scikit-learn\'s default fit from k-means++ seeds', () => {
    const gm = fitGmm(x, { nComponents: 3, covarianceType: type, nInit: 3, seed: 1 });
    expect(gm.logLikelihood).toBeGreaterThan(want.defaultLowerBound - 1e-3);
    // The components overlap, and both fits stop at tol = 1e-3: points near the boundaries may differ.
    expect(adjustedRandIndex(gm.labels, want.defaultLabels)).toBeGreaterThan(0.9);
  });
});

describe('fitGmm', () => {
  const rng = new Rng(3);
  const blobs = new Float32Array(400 * 2);
  for (let i = 0; i < 400; i++) {
    blobs[2 * i] = (i < 200 ? -4 : 4) + rng.normal();
    blobs[2 * i + 1] = rng.normal();
  }
  const xb = new Tensor('float32', blobs, [400, 2]);

  it('is reproducible from its seed and predicts the fitted labels', () => {
    const a = fitGmm(xb, { nComponents: 2, seed: 5 });
    const b = fitGmm(xb, { nComponents: 2, seed: 5 });
    expect(Array.from(a.means)).toEqual(Array.from(b.means));
    expect(Array.from(a.predict(xb))).toEqual(Array.from(a.labels));
    const p = a.predictProba(xb);
    for (let i = 0; i < 400; i++) expect(p.get(i, 0) + p.get(i, 1)).toBeCloseTo(1, 12);
    expect(adjustedRandIndex(a.labels, Array.from({ length: 400 }, (_, i) => (i < 200 ? 0 : 1)))).toBeGreaterThan(0.95);
  });

  it("starts from k-means with init 'kmeans'", () => {
    const gm = fitGmm(xb, { nComponents: 2, init: 'kmeans', covarianceType: 'diag' });
    expect(gm.converged).toBe(true);
    expect(adjustedRandIndex(gm.labels, fitKMeans(xb, { k: 2 }).labels)).toBeGreaterThan(0.95);
  });

  it('reports progress with a log-likelihood that never decreases (EM is monotone)', () => {
    const seen: number[] = [];
    fitGmm(xb, { nComponents: 3, tol: 1e-8, onProgress: (p) => seen.push(p.logLikelihood) });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]! - 1e-9);
  });

  it('throws SingularCovarianceError for a collapsed component without regularisation', () => {
    const pts = new Float32Array(40 * 2);
    for (let i = 20; i < 40; i++) pts[2 * i] = 10 + (i % 2);
    for (let i = 20; i < 40; i++) pts[2 * i + 1] = i % 3;
    const collapsed = new Tensor('float32', pts, [40, 2]);
    let error: unknown;
    try {
      fitGmm(collapsed, { nComponents: 2, regCovar: 0, covarianceType: 'full' });
    } catch (e) {
      error = e;
    }
    expect(SingularCovarianceError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/regCovar/);
    expect(() => fitGmm(collapsed, { nComponents: 2, regCovar: 0, covarianceType: 'diag' })).toThrow(SingularCovarianceError);
    // The default regularisation keeps the same data fittable.
    expect(fitGmm(collapsed, { nComponents: 2 }).converged).toBe(true);
  });

  const bad: [string, Partial<GmmOptions> & Record<string, unknown>, new (...args: never[]) => Error][] = [
    ['nComponents 0', { nComponents: 0 }, InvalidOptionError],
    ['nComponents above n', { nComponents: 401 }, InvalidOptionError],
    ['unknown covariance type', { nComponents: 2, covarianceType: 'tied' as never }, InvalidOptionError],
    ['negative tol', { nComponents: 2, tol: -1 }, InvalidOptionError],
    ['negative regCovar', { nComponents: 2, regCovar: -1e-6 }, InvalidOptionError],
    ['maxIter 0', { nComponents: 2, maxIter: 0 }, InvalidOptionError],
    ['nInit 0', { nComponents: 2, nInit: 0 }, InvalidOptionError],
    ['unknown init', { nComponents: 2, init: 'spectral' as never }, InvalidOptionError],
    ['negative seed', { nComponents: 2, seed: -1 }, InvalidOptionError],
    ['a misspelt option', { nComponents: 2, regcovar: 1 }, UnknownOptionError],
    ['nInit > 1 with explicit parameters', { nComponents: 1, nInit: 2, init: { weights: [1], means: [[0, 0]], covariances: [[[1, 0], [0, 1]]] } }, InvalidOptionError],
  ];
  it.each(bad)('rejects %s', (_, options, type) => {
    expect(() => fitGmm(xb, options as GmmOptions)).toThrow(type);
  });

  const badInit: [string, unknown][] = [
    ['too few weights', { weights: [1], means: [[0, 0], [1, 1]], covariances: [[1, 1], [1, 1]] }],
    ['weights not summing to 1', { weights: [0.5, 0.6], means: [[0, 0], [1, 1]], covariances: [[1, 1], [1, 1]] }],
    ['a mean of the wrong length', { weights: [0.5, 0.5], means: [[0, 0, 0], [1, 1]], covariances: [[1, 1], [1, 1]] }],
    ['a non-finite mean', { weights: [0.5, 0.5], means: [[0, NaN], [1, 1]], covariances: [[1, 1], [1, 1]] }],
    ['variances of the wrong length', { weights: [0.5, 0.5], means: [[0, 0], [1, 1]], covariances: [[1], [1, 1]] }],
  ];
  it.each(badInit)('rejects explicit initial parameters with %s', (_, init) => {
    expect(() => fitGmm(xb, { nComponents: 2, covarianceType: 'diag', init: init as never })).toThrow(InvalidInputError);
  });

  it('rejects an asymmetric or indefinite initial covariance', () => {
    const means = [[0, 0], [1, 1]];
    expect(() => fitGmm(xb, { nComponents: 2, init: { weights: [0.5, 0.5], means, covariances: [[[1, 0.5], [0, 1]], [[1, 0], [0, 1]]] } })).toThrow(InvalidInputError);
    expect(() => fitGmm(xb, { nComponents: 2, init: { weights: [0.5, 0.5], means, covariances: [[[1, 2], [2, 1]], [[1, 0], [0, 1]]] } })).toThrow(SingularCovarianceError);
  });

  it('rejects bad data and new rows of the wrong width', () => {
    expect(() => fitGmm(Tensor.zeros([5]), { nComponents: 1 })).toThrow(ShapeError);
    expect(() => fitGmm(new Tensor('float32', Float32Array.from([1, Infinity]), [1, 2]), { nComponents: 1 })).toThrow(NonFiniteError);
    const gm = fitGmm(xb, { nComponents: 2 });
    expect(() => gm.predict(Tensor.zeros([3, 3]))).toThrow(ShapeError);
    expect(() => gm.predictProba(Tensor.zeros([3, 1]))).toThrow(ShapeError);
  });
});
