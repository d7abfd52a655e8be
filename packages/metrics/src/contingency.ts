/**
 * The contingency table of two labelings, built once and shared by every metric. Rows are the true classes and
 * columns the predicted clusters, both in ascending order of label value (scikit-learn's `contingency_matrix`
 * orientation). Counting is one pass over typed arrays into a dense table; when classes x clusters is much larger
 * than the number of samples (thousands of tiny clusters) the nonzero cells are found by sorting instead.
 */
import { InvalidInputError, c, linearSumAssignment, validateOptions } from '@dc/core';
import { encodeLabels, readLabels, type EncodedLabels, type LabelInput } from './labels.js';

/** How the noise label -1 in the predictions is treated. */
export type NoiseHandling = 'cluster' | 'exclude';

export interface ContingencyOptions {
  /**
   * 'cluster' (default): -1 is an ordinary label, so noise points form one more cluster (what scikit-learn does).
   * 'exclude': samples predicted as -1 are left out of every metric; `excluded` counts them.
   */
  noise?: NoiseHandling;
}

export const NOISE_LABEL = -1;

const schema = { noise: c.oneOf(['cluster', 'exclude'] as const) };
const defaults = { noise: 'cluster' as NoiseHandling };

/** Largest table built by `dense()`: 2^25 cells (256 MiB of float64). */
const MAX_DENSE_CELLS = 2 ** 25;

/** The optimal one-to-one mapping of clusters to classes (indices into `clusters` and `classes`). */
export interface IndexAssignment {
  /** For each cluster index, its class index, or -1 when the cluster is left unmatched. */
  clusterToClass: Int32Array;
  /** Samples whose cluster is mapped to their class. */
  correct: number;
}

export class Contingency {
  /** Samples counted (after excluding noise). */
  readonly n: number;
  /** Samples left out because their prediction was the noise label -1 (with `noise: 'exclude'`). */
  readonly excluded: number;
  /** Distinct true labels, ascending (the rows). */
  readonly classes: Float64Array;
  /** Distinct predicted labels, ascending (the columns). */
  readonly clusters: Float64Array;
  /** Samples per class (row sums). */
  readonly classSizes: Float64Array;
  /** Samples per cluster (column sums). */
  readonly clusterSizes: Float64Array;
  /** Nonzero cells: row (class index), column (cluster index) and count, row-major order. */
  readonly cellRow: Int32Array;
  readonly cellCol: Int32Array;
  readonly cellCount: Float64Array;
  /** Class index and cluster index of every counted sample, in sample order. */
  readonly classCodes: Int32Array;
  readonly clusterCodes: Int32Array;
  /** Which input samples were counted (1) or excluded (0); null when none was excluded. */
  readonly kept: Uint8Array | null;

  private denseTable: Float64Array | null;
  private assignmentCache: IndexAssignment | null = null;
  /** @internal Memoised derived quantities (entropies, mutual information, its expectation). */
  readonly memo = new Map<string, number>();

  /** @internal Use `contingency(pred, truth)`. */
  constructor(truth: EncodedLabels, pred: EncodedLabels, kept: Uint8Array | null, excluded: number) {
    this.n = truth.codes.length;
    this.excluded = excluded;
    this.kept = kept;
    this.classes = truth.uniques;
    this.clusters = pred.uniques;
    this.classSizes = truth.sizes;
    this.clusterSizes = pred.sizes;
    this.classCodes = truth.codes;
    this.clusterCodes = pred.codes;
    const R = this.classes.length;
    const C = this.clusters.length;
    const n = this.n;
    const rows = truth.codes;
    const cols = pred.codes;

    // Dense counting when the table is small next to n, but never above the cap `dense()` enforces: with more
    // than 2^24 samples, 2n alone would allow tables beyond it.
    if (R * C <= Math.min(MAX_DENSE_CELLS, Math.max(1 << 20, 2 * n))) {
      const counts = new Int32Array(R * C);
      for (let i = 0; i < n; i++) counts[rows[i]! * C + cols[i]!]!++;
      let nnz = 0;
      for (let k = 0; k < counts.length; k++) if (counts[k] !== 0) nnz++;
      this.cellRow = new Int32Array(nnz);
      this.cellCol = new Int32Array(nnz);
      this.cellCount = new Float64Array(nnz);
      const dense = new Float64Array(R * C);
      let j = 0;
      for (let r = 0, k = 0; r < R; r++) {
        for (let col = 0; col < C; col++, k++) {
          const v = counts[k]!;
          if (v === 0) continue;
          dense[k] = v;
          this.cellRow[j] = r;
          this.cellCol[j] = col;
          this.cellCount[j++] = v;
        }
      }
      this.denseTable = dense;
    } else {
      // Far more cells than samples: sort the cell keys (row * C + col, exact below 2^53) and count runs.
      const keys = new Float64Array(n);
      for (let i = 0; i < n; i++) keys[i] = rows[i]! * C + cols[i]!;
      keys.sort();
      let nnz = 0;
      for (let i = 0; i < n; i++) if (i === 0 || keys[i] !== keys[i - 1]) nnz++;
      this.cellRow = new Int32Array(nnz);
      this.cellCol = new Int32Array(nnz);
      this.cellCount = new Float64Array(nnz);
      let j = -1;
      for (let i = 0; i < n; i++) {
        if (i === 0 || keys[i] !== keys[i - 1]) {
          j++;
          const key = keys[i]!;
          const r = Math.floor(key / C);
          this.cellRow[j] = r;
          this.cellCol[j] = key - r * C;
        }
        this.cellCount[j]!++;
      }
      this.denseTable = null;
    }
  }

  /** Number of classes (rows). */
  get numClasses(): number {
    return this.classes.length;
  }

  /** Number of clusters (columns). */
  get numClusters(): number {
    return this.clusters.length;
  }

  /** The full table, row-major [classes x clusters]. Throws when it would exceed 2^25 cells. */
  dense(): Float64Array {
    const R = this.numClasses;
    const C = this.numClusters;
    // Checked before the cache too, so the limit holds whichever path built the table.
    if (R * C > MAX_DENSE_CELLS) {
      throw new InvalidInputError(
        'labels',
        `a dense ${R} x ${C} contingency table (classes x clusters) has more than 2^25 cells; ` +
          'the confusion matrix and the one-to-one mapping are not available for this many labels',
      );
    }
    if (this.denseTable) return this.denseTable;
    const dense = new Float64Array(R * C);
    for (let k = 0; k < this.cellCount.length; k++) dense[this.cellRow[k]! * C + this.cellCol[k]!] = this.cellCount[k]!;
    this.denseTable = dense;
    return dense;
  }

  /**
   * The one-to-one mapping of clusters to classes that maximises the number of correctly labelled samples
   * (Hungarian algorithm through `linearSumAssignment` of @dc/core). With more clusters than classes some
   * clusters stay unmatched (their samples count as errors); with fewer, some classes stay unmatched.
   */
  assignment(): IndexAssignment {
    if (this.assignmentCache) return this.assignmentCache;
    const R = this.numClasses;
    const C = this.numClusters;
    const dense = this.dense();
    const gain: number[][] = new Array(C);
    for (let col = 0; col < C; col++) {
      const row = new Array<number>(R);
      for (let r = 0; r < R; r++) row[r] = dense[r * C + col]!;
      gain[col] = row;
    }
    const { pairs } = linearSumAssignment(gain, { maximize: true });
    const clusterToClass = new Int32Array(C).fill(-1);
    let correct = 0;
    for (const [col, r] of pairs) {
      clusterToClass[col] = r;
      correct += dense[r * C + col]!;
    }
    this.assignmentCache = { clusterToClass, correct };
    return this.assignmentCache;
  }
}

/** Builds the contingency table of predicted clusters against true classes. */
export function contingency(pred: LabelInput, truth: LabelInput, options?: ContingencyOptions): Contingency {
  const { noise } = validateOptions('contingency', options, schema, defaults);
  return buildContingency(pred, truth, noise);
}

/** @internal Shared by every metric that takes (pred, truth). */
export function buildContingency(pred: LabelInput, truth: LabelInput, noise: NoiseHandling): Contingency {
  const p = readLabels('pred', pred);
  const t = readLabels('truth', truth, p.values.length);
  let kept: Uint8Array | null = null;
  let count = p.values.length;
  if (noise === 'exclude' && p.min <= NOISE_LABEL && p.max >= NOISE_LABEL) {
    kept = new Uint8Array(count);
    let k = 0;
    const v = p.values;
    for (let i = 0; i < v.length; i++) {
      const keep = v[i] !== NOISE_LABEL ? 1 : 0;
      kept[i] = keep;
      k += keep;
    }
    if (k === 0) throw new InvalidInputError('pred', `every prediction is the noise label -1, so nothing is left to evaluate with noise: 'exclude'`);
    count = k;
  }
  const excluded = p.values.length - count;
  return new Contingency(encodeLabels(t, kept ?? undefined, count), encodeLabels(p, kept ?? undefined, count), excluded > 0 ? kept : null, excluded);
}

/** A Contingency given directly, or built from (pred, truth). */
export function isContingency(value: unknown): value is Contingency {
  return value instanceof Contingency;
}
