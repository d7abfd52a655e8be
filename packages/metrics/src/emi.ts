/**
 * Expected mutual information of two labelings under the permutation model (Vinh, Epps and Bailey, 2010), the
 * correction term of AMI. It is the same quantity scikit-learn's `expected_mutual_information` computes:
 *
 *   EMI = sum_ij sum_k  k/N log(N k / (a_i b_j)) P(k; N, a_i, b_j)
 *
 * where P is the hypergeometric probability of k shared samples between a class of size a_i and a cluster of
 * size b_j. scikit-learn evaluates every k in [max(1, a+b-N), min(a, b)] with nine log-gamma calls each, which
 * is O(R C N / max(R, C)) (8.5 s for 10^6 labels and 100 x 100 clusters). Here:
 *  - P is unimodal, so each sum starts at the mode and walks outwards with the ratio P(k+1)/P(k), stopping once
 *    a term falls below 1e-20 of the mode's (the tails shrink faster than geometrically beyond that point);
 *  - P at the mode is computed with Loader's saddle-point method ("Fast and accurate computation of binomial
 *    probabilities", 2000), which keeps full relative precision for any N, unlike sums of log-gammas whose
 *    terms grow like N log N and cancel (they lose about 1e-8 relative at N = 10^6);
 *  - classes of equal size (and clusters of equal size) are evaluated once.
 */
import { InvalidInputError } from '@dc/core';

const LN_2PI = Math.log(2 * Math.PI);

/** stirlerr(n) = ln(n!) - ln(sqrt(2 pi n) (n/e)^n) for integers 1..15, from exact factorials. */
const STIRLERR_SMALL: Float64Array = (() => {
  const out = new Float64Array(16);
  let factorial = 1;
  for (let k = 1; k <= 15; k++) {
    factorial *= k; // exact in float64 up to 18!
    out[k] = Math.log(factorial) - (k + 0.5) * Math.log(k) + k - 0.5 * LN_2PI;
  }
  return out;
})();

/** The error of Stirling's approximation to ln(n!), for integer n >= 1. */
function stirlerr(n: number): number {
  if (n <= 15) return STIRLERR_SMALL[n]!;
  const inv2 = 1 / (n * n);
  // Asymptotic series 1/(12n) - 1/(360n^3) + 1/(1260n^5) - 1/(1680n^7) + 1/(1188n^9); the next term is
  // below 1e-16 relative for n > 15.
  return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - inv2 / 1188) * inv2) * inv2) * inv2) / n;
}

/** x ln(x / m) + m - x, computed without cancellation when x is close to m. */
function bd0(x: number, m: number): number {
  const d = x - m;
  if (Math.abs(d) < 0.1 * (x + m)) {
    // Series in v = d / (x + m): 2x sum_{j>=1} v^(2j+1) / (2j+1) - d v ... summed until it stops changing.
    const v = d / (x + m);
    let sum = d * v;
    let term = 2 * x * v;
    const v2 = v * v;
    for (let j = 1; j < 1000; j++) {
      term *= v2;
      const next = sum + term / (2 * j + 1);
      if (next === sum) return next;
      sum = next;
    }
    return sum;
  }
  return x * Math.log(x / m) + m - x;
}

/** ln of the binomial probability of x successes in n trials with success probability p (q = 1 - p). */
function logBinomial(x: number, n: number, p: number, q: number): number {
  if (x === 0) return n === 0 ? 0 : p < 0.1 ? -bd0(n, n * q) - n * p : n * Math.log(q);
  if (x === n) return q < 0.1 ? -bd0(n, n * p) - n * q : n * Math.log(p);
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
  const lf = LN_2PI + Math.log(x) + Math.log1p(-x / n);
  return lc - 0.5 * lf;
}

/**
 * ln P(k) for the hypergeometric distribution: k shared items when drawing b of N items of which a are marked.
 * Written as a ratio of binomial probabilities with p = b / N, each accurate to a few ulps. Needs 0 < b < N.
 */
export function logHypergeometric(k: number, n: number, a: number, b: number): number {
  const p = b / n;
  const q = (n - b) / n;
  return logBinomial(k, a, p, q) + logBinomial(b - k, n - a, p, q) - logBinomial(b, n, p, q);
}

/**
 * Terms below this fraction of the mode's probability end a walk. Past the mode the terms shrink at least
 * geometrically, so the dropped tail is below TAIL * sigma of the cell's sum: 1e-20 keeps it under 1e-16 for
 * any sigma up to 10^4.
 */
const TAIL = 1e-20;

/**
 * sum_k k/N ln(N k / (a b)) P(k; N, a, b) over k in [max(1, a+b-N), min(a, b)], for 0 < a, b < N.
 *
 * The sum cancels (the log changes sign at the mean k = ab/N, and the result is ~1/N while the terms are
 * ~sigma/N), so the log is taken as log1p((N k - a b) / (a b)) with N k - a b exact in float64, not as a
 * difference of large logs, whose rounding the cancellation would amplify.
 */
function cellTerm(a: number, b: number, n: number): number {
  const lo = Math.max(1, a + b - n);
  const hi = Math.min(a, b);
  const ab = a * b;
  const rest = n - a - b;
  let mode = Math.floor(((a + 1) * (b + 1)) / (n + 2));
  if (mode < lo) mode = lo;
  if (mode > hi) mode = hi;
  const pMode = Math.exp(logHypergeometric(mode, n, a, b));
  const floor = pMode * TAIL;
  let sum = pMode * mode * Math.log1p((n * mode - ab) / ab);
  let p = pMode;
  for (let k = mode; k < hi; k++) {
    // P(k+1) / P(k) = (a-k)(b-k) / ((k+1)(N-a-b+k+1))
    p *= ((a - k) * (b - k)) / ((k + 1) * (rest + k + 1));
    sum += p * (k + 1) * Math.log1p((n * (k + 1) - ab) / ab);
    if (p < floor) break;
  }
  p = pMode;
  for (let k = mode; k > lo; k--) {
    p *= (k * (rest + k)) / ((a - k + 1) * (b - k + 1));
    sum += p * (k - 1) * Math.log1p((n * (k - 1) - ab) / ab);
    if (p < floor) break;
  }
  return sum / n;
}

/**
 * Checks that `sizes` are the sizes of a labeling of n samples: positive integers summing to n. cellTerm
 * assumes 0 < size < n, and gives NaN or meaningless numbers otherwise (an empty cluster, a fractional size).
 */
function checkSizes(argument: string, sizes: ArrayLike<number>, n: number): void {
  if (sizes === null || typeof sizes !== 'object' || typeof sizes.length !== 'number') {
    throw new InvalidInputError(argument, 'expected an array of label sizes');
  }
  let total = 0;
  for (let i = 0; i < sizes.length; i++) {
    const v = sizes[i] as unknown;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new InvalidInputError(argument, `sizes must be positive integers (leave out empty labels); found ${String(v)} at index ${i}`);
    }
    total += v;
  }
  if (total !== n) throw new InvalidInputError(argument, `sizes sum to ${total}, but n is ${n}`);
}

/**
 * Expected mutual information (natural log) of two labelings with the given class and cluster sizes over n
 * samples. Zero when either labeling has a single label. Sizes must be positive integers, each list summing to n.
 */
export function expectedMutualInformation(rowSizes: ArrayLike<number>, colSizes: ArrayLike<number>, n: number): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new InvalidInputError('n', `must be a positive integer; got ${String(n)}`);
  checkSizes('rowSizes', rowSizes, n);
  checkSizes('colSizes', colSizes, n);
  if (rowSizes.length <= 1 || colSizes.length <= 1) return 0;
  // Group equal sizes: the sum only depends on the pair of sizes, and balanced labelings repeat them a lot.
  const rows = groupSizes(rowSizes);
  const cols = groupSizes(colSizes);
  let emi = 0;
  for (let i = 0; i < rows.values.length; i++) {
    const a = rows.values[i]!;
    let rowSum = 0;
    for (let j = 0; j < cols.values.length; j++) rowSum += cols.counts[j]! * cellTerm(a, cols.values[j]!, n);
    emi += rows.counts[i]! * rowSum;
  }
  return emi;
}

function groupSizes(sizes: ArrayLike<number>): { values: number[]; counts: number[] } {
  const sorted = Float64Array.from(sizes).sort();
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) counts[counts.length - 1]!++;
    else {
      values.push(sorted[i]!);
      counts.push(1);
    }
  }
  return { values, counts };
}
