/**
 * UMAP's fuzzy simplicial set from a kNN graph (McInnes, Healy and Melville 2018, section 3), in typed arrays.
 *
 * umap-js builds the same graph with a SparseMatrix keyed by "row:col" strings and several intermediate copies
 * (transpose, product, sum, difference, scalings): measured on 70,000 x 32 points with our exact kNN
 * (benchmarks/umap/profile.ts), its initializeFit took 64 s and peaked at 3.2 GB, against the 60 s and 2 GB
 * budget for the whole embedding. Here each step is a pass over n * k entries.
 */

// Math functions used in hot loops are module constants: under jest's VM context every `Math.x` in a loop is
// a slow global lookup (measured 10x slower layout loops in tests).
const { exp, log2 } = Math;

const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/**
 * Per-point rho (distance to the nearest neighbour at `localConnectivity`) and sigma (the bandwidth making the
 * memberships sum to log2(k)), found by bisection. Row i of `distances` is ascending and starts with the point
 * itself, as in umap-js and the Python package.
 */
export function smoothKnnDistances(
  distances: Float64Array,
  n: number,
  k: number,
  localConnectivity = 1,
  nIter = 64,
  bandwidth = 1,
): { sigmas: Float64Array; rhos: Float64Array } {
  const target = log2(k) * bandwidth;
  const sigmas = new Float64Array(n);
  const rhos = new Float64Array(n);
  let meanAll = 0;
  for (let i = 0; i < n * k; i++) meanAll += distances[i]!;
  meanAll /= n * k;
  const nonZero = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let nz = 0;
    for (let j = 0; j < k; j++) if (distances[o + j]! > 0) nonZero[nz++] = distances[o + j]!;
    let rho = 0;
    if (nz >= localConnectivity) {
      const index = Math.floor(localConnectivity);
      const interpolation = localConnectivity - index;
      if (index > 0) {
        rho = nonZero[index - 1]!;
        if (interpolation > SMOOTH_K_TOLERANCE) rho += interpolation * (nonZero[index]! - nonZero[index - 1]!);
      } else {
        rho = interpolation * nonZero[0]!;
      }
    } else if (nz > 0) {
      for (let j = 0; j < nz; j++) if (nonZero[j]! > rho) rho = nonZero[j]!;
    }
    let lo = 0;
    let hi = Infinity;
    let mid = 1;
    for (let it = 0; it < nIter; it++) {
      let psum = 0;
      for (let j = 1; j < k; j++) {
        const d = distances[o + j]! - rho;
        psum += d > 0 ? exp(-(d / mid)) : 1;
      }
      if (Math.abs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = hi === Infinity ? mid * 2 : (lo + hi) / 2;
      }
    }
    let sigma = mid;
    if (rho > 0) {
      let mean = 0;
      for (let j = 0; j < k; j++) mean += distances[o + j]!;
      mean /= k;
      if (sigma < MIN_K_DIST_SCALE * mean) sigma = MIN_K_DIST_SCALE * mean;
    } else if (sigma < MIN_K_DIST_SCALE * meanAll) {
      sigma = MIN_K_DIST_SCALE * meanAll;
    }
    sigmas[i] = sigma;
    rhos[i] = rho;
  }
  return { sigmas, rhos };
}

/** A symmetric sparse graph in CSR order: entries sorted by row, then column; both directions stored. */
export interface FuzzyGraph {
  n: number;
  rows: Int32Array;
  cols: Int32Array;
  weights: Float64Array;
}

/**
 * The fuzzy union of the directed membership graph with its transpose:
 * w = mix * (a + b - a b) + (1 - mix) * a b, with a = w(i -> j), b = w(j -> i).
 */
export function fuzzySimplicialSet(indices: Int32Array, distances: Float64Array, n: number, k: number, localConnectivity = 1, setOpMixRatio = 1): FuzzyGraph {
  const { sigmas, rhos } = smoothKnnDistances(distances, n, k, localConnectivity);
  const member = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < k; m++) {
      const e = i * k + m;
      const j = indices[e]!;
      if (j < 0 || j === i) continue;
      const d = distances[e]! - rhos[i]!;
      member[e] = d <= 0 ? 1 : exp(-(d / sigmas[i]!));
    }
  }
  // Each unordered pair once, from the row that lists it (from the smaller row when both do).
  const headA: number[] = [];
  const tailA: number[] = [];
  const valA: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < k; m++) {
      const e = i * k + m;
      const j = indices[e]!;
      if (j < 0 || j === i) continue;
      const a = member[e]!;
      let b = 0;
      let listed = false;
      for (let r = 0; r < k; r++) {
        if (indices[j * k + r] === i) {
          b = member[j * k + r]!;
          listed = true;
          break;
        }
      }
      if (listed && j < i) continue;
      const v = setOpMixRatio * (a + b - a * b) + (1 - setOpMixRatio) * a * b;
      if (v <= 0) continue;
      headA.push(i);
      tailA.push(j);
      valA.push(v);
    }
  }
  // Both directions, counting-sorted by row, then each row by column.
  const m2 = headA.length * 2;
  const counts = new Int32Array(n + 1);
  for (let e = 0; e < headA.length; e++) {
    counts[headA[e]! + 1] = counts[headA[e]! + 1]! + 1;
    counts[tailA[e]! + 1] = counts[tailA[e]! + 1]! + 1;
  }
  for (let i = 0; i < n; i++) counts[i + 1] = counts[i + 1]! + counts[i]!;
  const fill = counts.slice(0, n);
  const rows = new Int32Array(m2);
  const cols = new Int32Array(m2);
  const weights = new Float64Array(m2);
  for (let e = 0; e < headA.length; e++) {
    const a = headA[e]!;
    const b = tailA[e]!;
    const v = valA[e]!;
    let p = fill[a]!;
    fill[a] = p + 1;
    rows[p] = a;
    cols[p] = b;
    weights[p] = v;
    p = fill[b]!;
    fill[b] = p + 1;
    rows[p] = b;
    cols[p] = a;
    weights[p] = v;
  }
  for (let i = 0; i < n; i++) {
    const s = counts[i]!;
    const e = counts[i + 1]!;
    // Insertion sort: rows hold about 1.5 k entries.
    for (let p = s + 1; p < e; p++) {
      const c = cols[p]!;
      const w = weights[p]!;
      let q = p - 1;
      while (q >= s && cols[q]! > c) {
        cols[q + 1] = cols[q]!;
        weights[q + 1] = weights[q]!;
        q--;
      }
      cols[q + 1] = c;
      weights[q + 1] = w;
    }
  }
  return { n, rows, cols, weights };
}
