/**
 * Gaussian mixture models fitted by expectation-maximisation, with full or diagonal covariances. The EM loop,
 * the convergence test (change of the mean log-likelihood below `tol`), the covariance regularisation
 * (`regCovar` added to the diagonal) and the final E-step for the labels follow scikit-learn's
 * GaussianMixture, so the same initial parameters give the same fit (tested against scikit-learn fixtures).
 *
 * Initialisation: 'kmeans++' (default) puts each component on one k-means++ seed and lets the first E-step
 * assign the points, as scikit-learn's init_params='k-means++'; 'kmeans' starts from a k-means clustering
 * (scikit-learn's default); or explicit weights, means and covariances.
 */
import { InvalidInputError, InvalidOptionError, Rng, ShapeError, Tensor, assertMatrix, c, validateOptions } from '@dc/core';
import { SingularCovarianceError } from '../errors.js';
import { kmeansPlusPlus } from '../internal/kmeanspp.js';
import { toFloat64Rows } from '../internal/matrix.js';
import { fitKMeans } from '../kmeans/kmeans.js';

// Math functions used in hot loops are module constants: under jest's VM context every `Math.x` in a loop is
// a slow global lookup (measured 10x slower layout loops in tests).
const { exp, log, sqrt } = Math;

export type CovarianceType = 'full' | 'diag';

export interface GmmInitialParameters {
  /** [k] mixing weights (positive, summing to 1). */
  weights: readonly number[];
  /** [k][d] means. */
  means: readonly (readonly number[])[];
  /** [k][d][d] for 'full', [k][d] variances for 'diag'. */
  covariances: readonly (readonly number[])[] | readonly (readonly (readonly number[])[])[];
}

export interface GmmOptions {
  nComponents: number;
  covarianceType?: CovarianceType;
  /** Stop when the mean log-likelihood changes by less than this (default 1e-3). */
  tol?: number;
  /** Added to covariance diagonals so they stay positive definite (default 1e-6). */
  regCovar?: number;
  maxIter?: number;
  /** Restarts from different seeds; the fit with the highest log-likelihood is kept (default 1). */
  nInit?: number;
  init?: 'kmeans++' | 'kmeans' | GmmInitialParameters;
  seed?: number;
  onProgress?: (progress: { run: number; iteration: number; logLikelihood: number }) => void;
}

export interface GaussianMixture {
  nComponents: number;
  covarianceType: CovarianceType;
  weights: Float64Array;
  /** [k * d] row-major. */
  means: Float64Array;
  /** [k * d * d] for 'full', [k * d] for 'diag'. */
  covariances: Float64Array;
  /** Hard labels of the training data (argmax of the responsibilities after the last E-step). */
  labels: Int32Array;
  /** Mean log-likelihood per sample at convergence (scikit-learn's lower_bound_). */
  logLikelihood: number;
  converged: boolean;
  iterations: number;
  /** Most probable component of each row. */
  predict(x: Tensor): Int32Array;
  /** [n, k] posterior probabilities. */
  predictProba(x: Tensor): Tensor<'float64'>;
  /** Log-likelihood of each row. */
  scoreSamples(x: Tensor): Float64Array;
  /** Mean log-likelihood of the rows. */
  score(x: Tensor): number;
  /** Bayesian information criterion on x (lower is better): -2 n score + parameters * ln n. */
  bic(x: Tensor): number;
}

const LOG_2PI = log(2 * Math.PI);
const EPS = 2.220446049250313e-16;

interface Params {
  weights: Float64Array;
  means: Float64Array;
  covariances: Float64Array;
  /** 'full': upper-triangular U per component with U U^T = inverse covariance; 'diag': 1 / sqrt(variance). */
  precChol: Float64Array;
}

/** In-place lower Cholesky factor of a [d, d] block at offset o; false when not positive definite. */
function cholesky(a: Float64Array, o: number, d: number): boolean {
  for (let j = 0; j < d; j++) {
    let s = a[o + j * d + j]!;
    for (let k = 0; k < j; k++) s -= a[o + j * d + k]! ** 2;
    if (!(s > 0)) return false;
    const l = sqrt(s);
    a[o + j * d + j] = l;
    for (let i = j + 1; i < d; i++) {
      let t = a[o + i * d + j]!;
      for (let k = 0; k < j; k++) t -= a[o + i * d + k]! * a[o + j * d + k]!;
      a[o + i * d + j] = t / l;
    }
    for (let i = 0; i < j; i++) a[o + i * d + j] = 0;
  }
  return true;
}

function precisionCholesky(cov: Float64Array, k: number, d: number, type: CovarianceType, regCovar: number): Float64Array {
  if (type === 'diag') {
    const out = new Float64Array(k * d);
    for (let i = 0; i < k * d; i++) {
      if (!(cov[i]! > 0)) throw new SingularCovarianceError(Math.floor(i / d), regCovar);
      out[i] = 1 / sqrt(cov[i]!);
    }
    return out;
  }
  const out = new Float64Array(k * d * d);
  const l = new Float64Array(d * d);
  for (let c2 = 0; c2 < k; c2++) {
    l.set(cov.subarray(c2 * d * d, (c2 + 1) * d * d));
    if (!cholesky(l, 0, d)) throw new SingularCovarianceError(c2, regCovar);
    // inv(L) by forward substitution; the precision factor is inv(L)^T (upper triangular).
    const o = c2 * d * d;
    for (let col = 0; col < d; col++) {
      for (let row = col; row < d; row++) {
        let s = row === col ? 1 : 0;
        for (let m = col; m < row; m++) s -= l[row * d + m]! * out[o + col * d + m]!;
        // out[col][row] = inv(L)[row][col], i.e. the transpose.
        out[o + col * d + row] = s / l[row * d + row]!;
      }
    }
  }
  return out;
}

/** [n, k] log N(x | mu_k, Sigma_k) + log w_k. */
function weightedLogProb(x: Float64Array, n: number, d: number, p: Params, k: number, type: CovarianceType): Float64Array {
  const out = new Float64Array(n * k);
  const y = new Float64Array(d);
  for (let c2 = 0; c2 < k; c2++) {
    const logW = log(p.weights[c2]!);
    if (type === 'full') {
      const o = c2 * d * d;
      let logDet = 0;
      for (let j = 0; j < d; j++) logDet += log(p.precChol[o + j * d + j]!);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) y[j] = x[i * d + j]! - p.means[c2 * d + j]!;
        // || (x - mu) U ||^2 with U upper triangular: column j of U has rows 0..j.
        let q = 0;
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let r = 0; r <= j; r++) s += y[r]! * p.precChol[o + r * d + j]!;
          q += s * s;
        }
        out[i * k + c2] = -0.5 * (d * LOG_2PI + q) + logDet + logW;
      }
    } else {
      let logDet = 0;
      for (let j = 0; j < d; j++) logDet += log(p.precChol[c2 * d + j]!);
      for (let i = 0; i < n; i++) {
        let q = 0;
        for (let j = 0; j < d; j++) {
          const t = (x[i * d + j]! - p.means[c2 * d + j]!) * p.precChol[c2 * d + j]!;
          q += t * t;
        }
        out[i * k + c2] = -0.5 * (d * LOG_2PI + q) + logDet + logW;
      }
    }
  }
  return out;
}

/** Normalises rows into log responsibilities in place; returns each row's log-sum-exp. */
function normalizeRows(logProb: Float64Array, n: number, k: number): Float64Array {
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c2 = 0; c2 < k; c2++) if (logProb[i * k + c2]! > max) max = logProb[i * k + c2]!;
    let s = 0;
    for (let c2 = 0; c2 < k; c2++) s += exp(logProb[i * k + c2]! - max);
    const lse = max + log(s);
    norm[i] = lse;
    for (let c2 = 0; c2 < k; c2++) logProb[i * k + c2] = logProb[i * k + c2]! - lse;
  }
  return norm;
}

/** M-step from responsibilities [n, k] (probabilities, not logs). */
function mStep(x: Float64Array, n: number, d: number, resp: Float64Array, k: number, type: CovarianceType, regCovar: number): Params {
  const nk = new Float64Array(k).fill(10 * EPS);
  for (let i = 0; i < n; i++) for (let c2 = 0; c2 < k; c2++) nk[c2] = nk[c2]! + resp[i * k + c2]!;
  const means = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    for (let c2 = 0; c2 < k; c2++) {
      const r = resp[i * k + c2]!;
      if (r === 0) continue;
      for (let j = 0; j < d; j++) means[c2 * d + j] = means[c2 * d + j]! + r * x[i * d + j]!;
    }
  }
  for (let c2 = 0; c2 < k; c2++) for (let j = 0; j < d; j++) means[c2 * d + j] = means[c2 * d + j]! / nk[c2]!;
  let covariances: Float64Array;
  if (type === 'full') {
    covariances = new Float64Array(k * d * d);
    const diff = new Float64Array(d);
    for (let c2 = 0; c2 < k; c2++) {
      const o = c2 * d * d;
      for (let i = 0; i < n; i++) {
        const r = resp[i * k + c2]!;
        if (r === 0) continue;
        for (let j = 0; j < d; j++) diff[j] = x[i * d + j]! - means[c2 * d + j]!;
        for (let a = 0; a < d; a++) {
          const ra = r * diff[a]!;
          for (let b = 0; b <= a; b++) covariances[o + a * d + b] = covariances[o + a * d + b]! + ra * diff[b]!;
        }
      }
      for (let a = 0; a < d; a++) {
        for (let b = 0; b <= a; b++) {
          const v = covariances[o + a * d + b]! / nk[c2]!;
          covariances[o + a * d + b] = v;
          covariances[o + b * d + a] = v;
        }
        covariances[o + a * d + a] = covariances[o + a * d + a]! + regCovar;
      }
    }
  } else {
    // scikit-learn's form: E[x^2] - 2 mu E[x] + mu^2 + reg.
    const avgX2 = new Float64Array(k * d);
    const avgX = new Float64Array(k * d);
    for (let i = 0; i < n; i++) {
      for (let c2 = 0; c2 < k; c2++) {
        const r = resp[i * k + c2]!;
        if (r === 0) continue;
        for (let j = 0; j < d; j++) {
          const v = x[i * d + j]!;
          avgX2[c2 * d + j] = avgX2[c2 * d + j]! + r * v * v;
          avgX[c2 * d + j] = avgX[c2 * d + j]! + r * v;
        }
      }
    }
    covariances = new Float64Array(k * d);
    for (let c2 = 0; c2 < k; c2++) {
      for (let j = 0; j < d; j++) {
        const m = means[c2 * d + j]!;
        const e = c2 * d + j;
        covariances[e] = avgX2[e]! / nk[c2]! - (2 * m * avgX[e]!) / nk[c2]! + m * m + regCovar;
      }
    }
  }
  const weights = Float64Array.from(nk, (v) => v / n);
  return { weights, means, covariances, precChol: precisionCholesky(covariances, k, d, type, regCovar) };
}

function oneHot(n: number, k: number, labelOf: (i: number) => number): Float64Array {
  const resp = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const l = labelOf(i);
    if (l >= 0) resp[i * k + l] = 1;
  }
  return resp;
}

function explicitParams(init: GmmInitialParameters, k: number, d: number, type: CovarianceType, regCovar: number): Params {
  const bad = (what: string) => new InvalidInputError('init', what);
  if (!Array.isArray(init.weights) || init.weights.length !== k) throw bad(`weights must have ${k} entries`);
  if (!Array.isArray(init.means) || init.means.length !== k) throw bad(`means must have ${k} rows`);
  const weights = Float64Array.from(init.weights);
  let total = 0;
  for (const w of weights) {
    if (!(w > 0) || !Number.isFinite(w)) throw bad('weights must be positive and finite');
    total += w;
  }
  if (Math.abs(total - 1) > 1e-6) throw bad(`weights must sum to 1, got ${total}`);
  const means = new Float64Array(k * d);
  const meanRows: readonly (readonly number[])[] = init.means;
  meanRows.forEach((row, c2) => {
    if (!Array.isArray(row) || row.length !== d) throw bad(`means[${c2}] must have ${d} entries`);
    for (let j = 0; j < d; j++) {
      const v: unknown = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`means[${c2}][${j}] is not finite`);
      means[c2 * d + j] = v;
    }
  });
  if (!Array.isArray(init.covariances) || init.covariances.length !== k) throw bad(`covariances must have ${k} entries`);
  const covariances = new Float64Array(type === 'full' ? k * d * d : k * d);
  init.covariances.forEach((cov, c2) => {
    if (type === 'diag') {
      const row = cov as readonly number[];
      if (row.length !== d || row.some((v) => typeof v !== 'number' || !Number.isFinite(v))) throw bad(`covariances[${c2}] must be ${d} finite variances`);
      row.forEach((v, j) => (covariances[c2 * d + j] = v));
    } else {
      const m = cov as readonly (readonly number[])[];
      if (m.length !== d || m.some((r) => !Array.isArray(r) || r.length !== d)) throw bad(`covariances[${c2}] must be a ${d} x ${d} matrix`);
      m.forEach((r, a) =>
        r.forEach((v, b) => {
          if (!Number.isFinite(v) || v !== m[b]![a]) throw bad(`covariances[${c2}] must be finite and symmetric`);
          covariances[c2 * d * d + a * d + b] = v;
        }),
      );
    }
  });
  return { weights, means, covariances, precChol: precisionCholesky(covariances, k, d, type, regCovar) };
}

export function fitGmm(x: Tensor, options: GmmOptions): GaussianMixture {
  const { data, n, d } = toFloat64Rows('x', x);
  const o = validateOptions('fitGmm', options, {
    nComponents: c.int({ min: 1, max: n }),
    covarianceType: c.oneOf(['full', 'diag'] as const),
    tol: c.number({ min: 0 }),
    regCovar: c.number({ min: 0 }),
    maxIter: c.int({ min: 1 }),
    nInit: c.int({ min: 1 }),
    init: c.anyOf(c.oneOf(['kmeans++', 'kmeans'] as const), c.object<GmmInitialParameters>()),
    seed: c.int({ min: 0 }),
    onProgress: c.optional(c.func<NonNullable<GmmOptions['onProgress']>>()),
  }, { covarianceType: 'full', tol: 1e-3, regCovar: 1e-6, maxIter: 100, nInit: 1, init: 'kmeans++', seed: 0 });
  const k = o.nComponents;
  const type = o.covarianceType;
  const rng = new Rng(o.seed);
  if (typeof o.init === 'object' && o.nInit > 1) {
    throw new InvalidOptionError('fitGmm', 'nInit', '1 when explicit initial parameters are given', o.nInit);
  }

  let best: { params: Params; logLikelihood: number; converged: boolean; iterations: number } | null = null;
  for (let run = 0; run < o.nInit; run++) {
    const runRng = rng.fork();
    let params: Params;
    if (typeof o.init === 'object') {
      params = explicitParams(o.init, k, d, type, o.regCovar);
    } else if (o.init === 'kmeans++') {
      const seeds = kmeansPlusPlus(data, n, d, k, runRng);
      const slot = new Map<number, number>();
      seeds.forEach((row, c2) => slot.set(row, c2));
      params = mStep(data, n, d, oneHot(n, k, (i) => slot.get(i) ?? -1), k, type, o.regCovar);
    } else {
      const km = fitKMeans(x, { k, seed: runRng.nextSeed() % 2 ** 31 });
      params = mStep(data, n, d, oneHot(n, k, (i) => km.labels[i]!), k, type, o.regCovar);
    }
    let lowerBound = -Infinity;
    let converged = false;
    let iterations = 0;
    for (let it = 1; it <= o.maxIter; it++) {
      const prev = lowerBound;
      const logResp = weightedLogProb(data, n, d, params, k, type);
      const norm = normalizeRows(logResp, n, k);
      let mean = 0;
      for (let i = 0; i < n; i++) mean += norm[i]!;
      mean /= n;
      for (let i = 0; i < logResp.length; i++) logResp[i] = exp(logResp[i]!);
      params = mStep(data, n, d, logResp, k, type, o.regCovar);
      lowerBound = mean;
      iterations = it;
      o.onProgress?.({ run, iteration: it, logLikelihood: lowerBound });
      if (Math.abs(lowerBound - prev) < o.tol) {
        converged = true;
        break;
      }
    }
    if (!best || lowerBound > best.logLikelihood) best = { params, logLikelihood: lowerBound, converged, iterations };
  }
  const fitted = best!;
  const p = fitted.params;

  const rows = (t: Tensor): { data: Float64Array; n: number } => {
    const [m, dq] = assertMatrix('x', t);
    if (dq !== d) throw new ShapeError('x', ['m', d], t.shape, 'Rows must have as many columns as the fitted data.');
    return { data: Float64Array.from(t.data as Float32Array), n: m };
  };
  const logResp = (q: Float64Array, m: number) => {
    const lp = weightedLogProb(q, m, d, p, k, type);
    const norm = normalizeRows(lp, m, k);
    return { lp, norm };
  };
  const argmax = (lp: Float64Array, m: number) => {
    const out = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      let bestC = 0;
      for (let c2 = 1; c2 < k; c2++) if (lp[i * k + c2]! > lp[i * k + bestC]!) bestC = c2;
      out[i] = bestC;
    }
    return out;
  };
  const labels = argmax(logResp(data, n).lp, n);
  const scoreSamples = (t: Tensor) => {
    const q = rows(t);
    return logResp(q.data, q.n).norm;
  };
  const score = (t: Tensor) => {
    const s = scoreSamples(t);
    return s.reduce((a, b) => a + b, 0) / s.length;
  };
  const nParameters = (k - 1) + k * d + (type === 'full' ? (k * d * (d + 1)) / 2 : k * d);
  return {
    nComponents: k,
    covarianceType: type,
    weights: p.weights,
    means: p.means,
    covariances: p.covariances,
    labels,
    logLikelihood: fitted.logLikelihood,
    converged: fitted.converged,
    iterations: fitted.iterations,
    predict: (t) => {
      const q = rows(t);
      return argmax(logResp(q.data, q.n).lp, q.n);
    },
    predictProba: (t) => {
      const q = rows(t);
      const { lp } = logResp(q.data, q.n);
      return new Tensor('float64', lp.map(Math.exp), [q.n, k]);
    },
    scoreSamples,
    score,
    bic: (t) => -2 * score(t) * t.shape[0]! + nParameters * log(t.shape[0]!),
  };
}
