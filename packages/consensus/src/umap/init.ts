/**
 * Initial layouts. 'pca': the leading principal components, found by randomized subspace iteration on up to
 * 10,000 sampled rows, then every row projected; scaled so the largest coordinate is 10 and jittered slightly,
 * as the Python package scales its spectral and PCA layouts (axes beyond the data's own dimension start uniform
 * in [-10, 10]). 'random': uniform in [-10, 10], umap-js's only
 * initialisation.
 */
import type { Rng } from '@dc/core';

export function randomInit(n: number, dim: number, rng: Rng): Float64Array {
  const y = new Float64Array(n * dim);
  for (let i = 0; i < y.length; i++) y[i] = rng.uniform(-10, 10);
  return y;
}

/** Orthonormalises the columns of q ([d, b], column-major) in place by modified Gram-Schmidt. */
function orthonormalize(q: Float64Array, d: number, b: number): void {
  for (let c = 0; c < b; c++) {
    const oc = c * d;
    for (let p = 0; p < c; p++) {
      const op = p * d;
      let dot = 0;
      for (let i = 0; i < d; i++) dot += q[oc + i]! * q[op + i]!;
      for (let i = 0; i < d; i++) q[oc + i] = q[oc + i]! - dot * q[op + i]!;
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += q[oc + i]! ** 2;
    norm = Math.sqrt(norm);
    // A rank-deficient sample can zero a column; keep it zero rather than dividing by 0.
    const inv = norm > 1e-300 ? 1 / norm : 0;
    for (let i = 0; i < d; i++) q[oc + i] = q[oc + i]! * inv;
  }
}

export function pcaInit(data: Float64Array, n: number, d: number, dim: number, rng: Rng): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / n;
  const sampleSize = Math.min(n, 10_000);
  const rows = sampleSize === n ? Int32Array.from({ length: n }, (_, i) => i) : rng.choice(n, sampleSize);
  const xs = new Float64Array(sampleSize * d);
  for (let r = 0; r < sampleSize; r++) {
    const i = rows[r]!;
    for (let j = 0; j < d; j++) xs[r * d + j] = data[i * d + j]! - mean[j]!;
  }
  const b = Math.min(d, dim + 4);
  const q = new Float64Array(d * b);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  orthonormalize(q, d, b);
  const t = new Float64Array(sampleSize * b);
  for (let iter = 0; iter < 8; iter++) {
    // q <- orth(X^T X q)
    t.fill(0);
    for (let r = 0; r < sampleSize; r++) {
      for (let c = 0; c < b; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += xs[r * d + j]! * q[c * d + j]!;
        t[r * b + c] = s;
      }
    }
    q.fill(0);
    for (let r = 0; r < sampleSize; r++) {
      for (let c = 0; c < b; c++) {
        const v = t[r * b + c]!;
        for (let j = 0; j < d; j++) q[c * d + j] = q[c * d + j]! + xs[r * d + j]! * v;
      }
    }
    orthonormalize(q, d, b);
  }
  // Rayleigh-Ritz: eigenvectors of the small b x b matrix Q^T C Q order the directions by variance.
  const small = new Float64Array(b * b);
  for (let r = 0; r < sampleSize; r++) {
    for (let c = 0; c < b; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += xs[r * d + j]! * q[c * d + j]!;
      t[r * b + c] = s;
    }
  }
  for (let r = 0; r < sampleSize; r++) {
    for (let c1 = 0; c1 < b; c1++) for (let c2 = 0; c2 < b; c2++) small[c1 * b + c2] = small[c1 * b + c2]! + t[r * b + c1]! * t[r * b + c2]!;
  }
  const { vectors } = jacobiEigen(small, b);
  // Data of fewer dimensions than the layout has only d principal directions; the other axes start random.
  const pcs = Math.min(dim, d);
  const axes = new Float64Array(pcs * d);
  for (let c = 0; c < pcs; c++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let e = 0; e < b; e++) s += q[e * d + j]! * vectors[e * b + c]!;
      axes[c * d + j] = s;
    }
  }
  const y = new Float64Array(n * dim);
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < pcs; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (data[i * d + j]! - mean[j]!) * axes[c * d + j]!;
      y[i * dim + c] = s;
      if (Math.abs(s) > maxAbs) maxAbs = Math.abs(s);
    }
  }
  const expand = maxAbs > 0 ? 10 / maxAbs : 1;
  for (let i = 0; i < y.length; i++) y[i] = i % dim < pcs ? y[i]! * expand + rng.normal(0, 1e-4) : rng.uniform(-10, 10);
  return y;
}

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi; columns of `vectors`, values descending. */
export function jacobiEigen(matrix: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += a[p * m + q]! ** 2;
    if (off < 1e-24) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * m + q]! - a[p * m + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = a[k * m + p]!;
          const akq = a[k * m + q]!;
          a[k * m + p] = c * akp - s * akq;
          a[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const apk = a[p * m + k]!;
          const aqk = a[q * m + k]!;
          a[p * m + k] = c * apk - s * aqk;
          a[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p]!;
          const vkq = v[k * m + q]!;
          v[k * m + p] = c * vkp - s * vkq;
          v[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => a[y * m + y]! - a[x * m + x]!);
  const values = Float64Array.from(order, (i) => a[i * m + i]!);
  const vectors = new Float64Array(m * m);
  order.forEach((src, dst) => {
    for (let k = 0; k < m; k++) vectors[k * m + dst] = v[k * m + src]!;
  });
  return { values, vectors };
}
