/**
 * Clean-set selection (RUC Section 3.1). A pseudo-label is kept as clean when
 *   - confidence: the clustering was sure of it, max(p) > tau1;
 *   - metric: it agrees with the plurality label of the sample's k nearest neighbours in an embedding space
 *     (exact kNN from @dc/core);
 *   - hybrid: both hold.
 * Everything else is unclean: its label is discarded and it is used as unlabeled data.
 */
import { InvalidInputError, Tensor, assertMatrix, c, checkParameter, knn, validateOptions, type KnnMetric } from '@dc/core';
import { readPseudoLabels, type PseudoLabelInput, type PseudoLabels } from './pseudo-labels.js';

export type SelectionStrategy = 'confidence' | 'metric' | 'hybrid';
export const SELECTION_STRATEGIES: readonly SelectionStrategy[] = ['confidence', 'metric', 'hybrid'];

export interface SelectCleanOptions {
  /**
   * Default: 'hybrid' when probabilities and embeddings are both given, otherwise the one strategy the inputs
   * allow ('confidence' with probabilities, 'metric' with embeddings).
   */
  strategy?: SelectionStrategy;
  /** Confidence threshold tau1 in (0, 1) (default 0.99). */
  tau1?: number;
  /** Neighbours for the metric strategy, in [1, n - 1] (default min(100, n - 1)). */
  k?: number;
  /** [n, d] embeddings from an unsupervised encoder, for the metric and hybrid strategies. */
  embeddings?: Tensor;
  /** Similarity for the neighbour search (default 'cosine'). */
  knnMetric?: KnnMetric;
  /** Number of clusters (default from the pseudo-labels). */
  numClusters?: number;
  device?: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  threads?: number;
}

export interface CleanSelection {
  strategy: SelectionStrategy;
  numClusters: number;
  /** The pseudo-label of each sample (argmax). */
  labels: Int32Array;
  /** 1 where the pseudo-label is selected as clean. */
  clean: Uint8Array;
  cleanIndices: Int32Array;
  uncleanIndices: Int32Array;
  /** Number of clean samples per cluster. */
  cleanPerCluster: Int32Array;
  /** max(p) per sample, when probabilities were given. */
  confidence: Float32Array | null;
  /** Share of the k neighbours that carry the sample's own label, when embeddings were given. */
  neighbourAgreement: Float32Array | null;
  /** What each strategy alone selects, for the strategies the inputs allow (used by the evaluation helpers). */
  masks: { confidence: Uint8Array | null; metric: Uint8Array | null };
  /** The parameters used. */
  tau1: number;
  k: number | null;
}

const open01 = c.number({ min: 0, max: 1, minExclusive: true, maxExclusive: true });

/** Confidence strategy: 1 where max(p) > tau1. */
export function confidenceMask(confidence: ArrayLike<number>, tau1: number): Uint8Array {
  checkParameter('confidenceMask', 'tau1', tau1, open01);
  const out = new Uint8Array(confidence.length);
  for (let i = 0; i < confidence.length; i++) out[i] = confidence[i]! > tau1 ? 1 : 0;
  return out;
}

/**
 * Metric strategy from a neighbour table ([n, k] row-major indices): a sample agrees when no label is more
 * frequent among its neighbours than its own (ties with its own label count as agreement).
 */
export function neighbourVote(labels: Int32Array, neighbours: Int32Array, k: number, numClusters: number): { agree: Uint8Array; share: Float32Array } {
  const n = labels.length;
  if (neighbours.length !== n * k) throw new InvalidInputError('neighbours', `expected ${n} x ${k} indices, got ${neighbours.length}`);
  const agree = new Uint8Array(n);
  const share = new Float32Array(n);
  const counts = new Int32Array(numClusters);
  for (let i = 0; i < n; i++) {
    counts.fill(0);
    let top = 0;
    for (let j = 0; j < k; j++) {
      const nb = neighbours[i * k + j]!;
      const cnt = ++counts[labels[nb]!]!;
      if (cnt > top) top = cnt;
    }
    const own = counts[labels[i]!]!;
    agree[i] = own === top ? 1 : 0;
    share[i] = own / k;
  }
  return { agree, share };
}

function indicesWhere(mask: Uint8Array, value: number): Int32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === value) count++;
  const out = new Int32Array(count);
  let w = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === value) out[w++] = i;
  return out;
}

/** Builds a selection from a clean mask (shared by selectCleanSamples and the refurbishing loop). */
export function selectionFromMask(
  base: Omit<CleanSelection, 'clean' | 'cleanIndices' | 'uncleanIndices' | 'cleanPerCluster'>,
  clean: Uint8Array,
): CleanSelection {
  const cleanPerCluster = new Int32Array(base.numClusters);
  for (let i = 0; i < clean.length; i++) if (clean[i]) cleanPerCluster[base.labels[i]!]!++;
  return { ...base, clean, cleanIndices: indicesWhere(clean, 1), uncleanIndices: indicesWhere(clean, 0), cleanPerCluster };
}

/**
 * Splits pseudo-labels into clean and unclean samples with the confidence, metric or hybrid strategy. Usable on
 * its own (e.g. to inspect a clustering) and the first step of `fitRuc`.
 */
export async function selectCleanSamples(pseudoLabels: PseudoLabelInput | PseudoLabels, options: SelectCleanOptions = {}): Promise<CleanSelection> {
  const pre = validateOptions('selectCleanSamples', options, {
    strategy: c.optional(c.oneOf(SELECTION_STRATEGIES)),
    tau1: open01,
    k: c.optional(c.int()),
    embeddings: c.optional(c.instanceOf(Tensor)),
    knnMetric: c.oneOf(['cosine', 'euclidean'] as const),
    numClusters: c.optional(c.int({ min: 2 })),
    device: c.oneOf(['auto', 'cpu', 'cuda', 'webgpu'] as const),
    threads: c.int({ min: 0 }),
  }, { tau1: 0.99, knnMetric: 'cosine', device: 'cpu', threads: 0 });
  const pseudo = isPseudoLabels(pseudoLabels)
    ? pseudoLabels
    : readPseudoLabels(pseudoLabels, pre.numClusters !== undefined ? { numClusters: pre.numClusters } : {});
  const n = pseudo.n;
  const hasProbabilities = pseudo.probabilities !== null;
  const hasEmbeddings = pre.embeddings !== undefined;
  const strategy: SelectionStrategy = pre.strategy ?? (hasProbabilities && hasEmbeddings ? 'hybrid' : hasEmbeddings ? 'metric' : 'confidence');

  const needConfidence = strategy !== 'metric';
  const needMetric = strategy !== 'confidence';
  if (needConfidence && !hasProbabilities) {
    throw new InvalidInputError(
      'pseudoLabels',
      `the '${strategy}' strategy needs per-class probabilities ([n, K]); hard labels carry no confidence. Use strategy 'metric' with embeddings, or pass probabilities.`,
    );
  }
  if (needMetric && !hasEmbeddings) {
    throw new InvalidInputError('embeddings', `the '${strategy}' strategy needs embeddings ([n, d]) for the neighbour vote`);
  }

  let k: number | null = null;
  let metricMask: Uint8Array | null = null;
  let share: Float32Array | null = null;
  if (hasEmbeddings) {
    const [rows] = assertMatrix('embeddings', pre.embeddings, { minRows: 2 });
    if (rows !== n) throw new InvalidInputError('embeddings', `must have one row per sample: ${n} pseudo-labels but ${rows} rows`);
    k = validateOptions('selectCleanSamples', { k: pre.k ?? Math.min(100, n - 1) }, { k: c.int({ min: 1, max: n - 1 }) }, {}).k;
    const nn = await knn(pre.embeddings!, { k, metric: pre.knnMetric, device: pre.device, threads: pre.threads });
    const vote = neighbourVote(pseudo.labels, nn.indices.data, k, pseudo.numClusters);
    metricMask = vote.agree;
    share = vote.share;
  } else if (pre.k !== undefined) {
    validateOptions('selectCleanSamples', { k: pre.k }, { k: c.int({ min: 1, max: n - 1 }) }, {});
  }
  const confMask = pseudo.confidence ? confidenceMask(pseudo.confidence, pre.tau1) : null;

  let clean: Uint8Array;
  switch (strategy) {
    case 'confidence':
      clean = confMask!.slice();
      break;
    case 'metric':
      clean = metricMask!.slice();
      break;
    case 'hybrid':
      clean = new Uint8Array(n);
      for (let i = 0; i < n; i++) clean[i] = confMask![i]! & metricMask![i]!;
      break;
  }
  return selectionFromMask(
    {
      strategy,
      numClusters: pseudo.numClusters,
      labels: pseudo.labels,
      confidence: pseudo.confidence,
      neighbourAgreement: share,
      masks: { confidence: confMask, metric: metricMask },
      tau1: pre.tau1,
      k,
    },
    clean,
  );
}

function isPseudoLabels(v: unknown): v is PseudoLabels {
  return typeof v === 'object' && v !== null && !(v instanceof Tensor) && (v as PseudoLabels).labels instanceof Int32Array && typeof (v as PseudoLabels).numClusters === 'number';
}
