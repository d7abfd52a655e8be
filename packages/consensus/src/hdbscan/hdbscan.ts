/**
 * HDBSCAN (Campello, Moulavi and Sander 2013; McInnes, Healy and Astels 2017), our own implementation:
 * core distances from an exact kNN query, the minimum spanning tree of mutual reachability (KD-tree Boruvka in
 * low dimensions, Prim's algorithm on the implicit dense graph in high dimensions), the single-linkage hierarchy,
 * the condensed tree, excess-of-mass or leaf selection, and SPC's exactly-K cut.
 *
 * `minPts` follows R's dbscan::hdbscan: the point itself counts, so the core distance is the distance to the
 * (minPts - 1)-th nearest other point, and minPts is also the default minimum cluster size. Points leave clusters
 * as in R by default (see `PointExit`); merges of equal height are one event (see `condenseTree`).
 */
import { InvalidInputError, ShapeError, Tensor, assertMatrix, c, validateOptions } from '@dc/core';
import { KdTree } from '../internal/kdtree.js';
import { toFloat64Rows } from '../internal/matrix.js';
import { cutExactly, exactCuts, achievableCounts, type ExactCut } from './cut.js';
import { boruvkaMst, primMst, type MstEdges } from './mst.js';
import {
  condenseTree,
  labelPoints,
  membershipProbabilities,
  outlierScores,
  selectClusters,
  singleLinkage,
  stabilities,
  deathLambda,
  type CondensedTree,
  type PointExit,
  type SingleLinkage,
} from './tree.js';

export type HdbscanAlgorithm = 'auto' | 'boruvka' | 'prim';
export type HdbscanStage = 'core-distances' | 'spanning-tree' | 'hierarchy';

export interface HdbscanOptions {
  /** Neighbourhood size for core distances, the point itself included (R's minPts). Default 5. */
  minPts?: number;
  /** Smallest cluster; smaller groups splitting off are noise. Default: minPts. */
  minClusterSize?: number;
  /** 'eom' (excess of mass, default) or 'leaf' (the leaves of the condensed tree: finer clusters). */
  selection?: 'eom' | 'leaf';
  /** Cut the hierarchy to exactly this many clusters instead of selecting by stability (SPC's mode). */
  nClusters?: number;
  /**
   * When points leave a cluster: 'singleton' (default, R's dbscan::hdbscan) or 'component' (Campello et al. 2015,
   * the Python hdbscan library). See `PointExit`.
   */
  pointExit?: PointExit;
  /** 'auto' (default): Boruvka over a KD-tree up to 10 dimensions, Prim above (see benchmarks/hdbscan). */
  algorithm?: HdbscanAlgorithm;
  /** KD-tree leaf size (default 16). */
  leafSize?: number;
  onProgress?: (progress: { stage: HdbscanStage; done: number; total: number }) => void;
}

export interface HdbscanPrediction {
  labels: Int32Array;
  probabilities: Float64Array;
}

export interface HdbscanResult {
  /** Cluster per point, 0..nClusters-1, or -1 for noise. */
  labels: Int32Array;
  nClusters: number;
  /** Membership strength in [0, 1]; 0 for noise. */
  probabilities: Float64Array;
  /** GLOSH outlier score per point in [0, 1]: higher is more outlying. */
  outlierScores: Float64Array;
  coreDistances: Float64Array;
  /** Excess of mass of each returned cluster (empty after an exactly-K cut). */
  clusterStability: Float64Array;
  /** The cut distance when `nClusters` was given, otherwise null. */
  cutDistance: number | null;
  minPts: number;
  minClusterSize: number;
  hierarchy: SingleLinkage;
  condensedTree: CondensedTree;
  /** Labels for exactly k clusters from the same hierarchy; throws NoExactCutError when no cut gives k. */
  cut(k: number): ExactCut;
  /**
   * Every stretch of cut distances with exactly k clusters, lowest first (`cut(k)` is the last); empty when none.
   * The count of clusters of minClusterSize points is not monotone in the distance, so there can be several.
   */
  cuts(k: number): ExactCut[];
  /** Every cluster count a cut of the hierarchy can give. */
  achievableClusterCounts(): number[];
  /** Labels new points with the fitted hierarchy (approximate, as hdbscan's approximate_predict). */
  predict(x: Tensor): HdbscanPrediction;
}

/**
 * Dimensions up to which KD-tree Boruvka beats dense Prim. Measured on 10,000 clustered points (profile.ts in
 * benchmarks/hdbscan): Boruvka 4x faster at d = 6, 2.6x at d = 10, Prim 1.6x faster at d = 16.
 */
export const BORUVKA_MAX_DIMENSIONS = 10;

export function fitHdbscan(x: Tensor, options: HdbscanOptions = {}): HdbscanResult {
  const { data, n, d } = toFloat64Rows('x', x, 2);
  const o = validateOptions('fitHdbscan', options, {
    minPts: c.int({ min: 2, max: n }),
    minClusterSize: c.optional(c.int({ min: 2, max: n })),
    selection: c.oneOf(['eom', 'leaf'] as const),
    nClusters: c.optional(c.int({ min: 1, max: n })),
    pointExit: c.oneOf(['singleton', 'component'] as const),
    algorithm: c.oneOf(['auto', 'boruvka', 'prim'] as const),
    leafSize: c.int({ min: 1 }),
    onProgress: c.optional(c.func<NonNullable<HdbscanOptions['onProgress']>>()),
  }, { minPts: 5, selection: 'eom', pointExit: 'singleton', algorithm: 'auto', leafSize: 16 });
  const minPts = o.minPts;
  const minClusterSize = o.minClusterSize ?? minPts;
  const k = minPts - 1;
  const progress = o.onProgress;

  progress?.({ stage: 'core-distances', done: 0, total: n });
  const tree = new KdTree(data, n, d, o.leafSize);
  const nn = tree.knnAll(k);
  const core = new Float64Array(n);
  for (let i = 0; i < n; i++) core[i] = nn.distances[i * k + k - 1]!;
  progress?.({ stage: 'core-distances', done: n, total: n });

  const algorithm = o.algorithm === 'auto' ? (d <= BORUVKA_MAX_DIMENSIONS ? 'boruvka' : 'prim') : o.algorithm;
  progress?.({ stage: 'spanning-tree', done: 0, total: n - 1 });
  const onEdges = progress ? (done: number, total: number) => progress({ stage: 'spanning-tree', done, total }) : undefined;
  const mst: MstEdges = algorithm === 'boruvka' ? boruvkaMst(tree, core, nn.indices, nn.distances, k, onEdges) : primMst(data, n, d, core, onEdges);
  if (algorithm === 'prim') progress?.({ stage: 'spanning-tree', done: n - 1, total: n - 1 });

  const hierarchy = singleLinkage(mst, n);
  const condensed = condenseTree(hierarchy, minClusterSize, o.pointExit);
  const stability = stabilities(condensed);
  const scores = outlierScores(condensed);
  progress?.({ stage: 'hierarchy', done: 1, total: 1 });

  const checkK = (kk: number) => {
    if (!Number.isInteger(kk) || kk < 1 || kk > n) throw new InvalidInputError('k', `must be an integer in [1, ${n}], got ${kk}`);
  };
  const cut = (kk: number): ExactCut => {
    checkK(kk);
    return cutExactly(hierarchy, kk, minClusterSize);
  };
  const cuts = (kk: number): ExactCut[] => {
    checkK(kk);
    return exactCuts(hierarchy, kk, minClusterSize);
  };

  let labels: Int32Array;
  let probabilities: Float64Array;
  let clusterStability: Float64Array;
  let cutDistance: number | null = null;
  let labelOfCluster: Int32Array | null = null;
  let clusterOfLabel: Int32Array | null = null;
  if (o.nClusters !== undefined) {
    const exact = cut(o.nClusters);
    labels = exact.labels;
    cutDistance = exact.distance;
    probabilities = coreDistanceStrength(labels, core, o.nClusters);
    clusterStability = new Float64Array(0);
  } else {
    const selected = selectClusters(condensed, stability, o.selection);
    const flat = labelPoints(condensed, selected);
    labels = flat.labels;
    labelOfCluster = flat.labelOfCluster;
    clusterOfLabel = flat.clusterOfLabel;
    probabilities = membershipProbabilities(condensed, flat);
    clusterStability = Float64Array.from(flat.clusterOfLabel, (cl) => stability[cl]!);
  }
  const nClusters = o.nClusters ?? (clusterOfLabel ? clusterOfLabel.length : 0);

  const predict = (q: Tensor): HdbscanPrediction => {
    const [m, dq] = assertMatrix('x', q);
    if (dq !== d) throw new ShapeError('x', ['m', d], q.shape, 'New points must have as many columns as the fitted data.');
    const qs = Float64Array.from(q.data as Float32Array);
    // Like hdbscan's approximate_predict: the new point's core distance and its cheapest mutual-reachability
    // link are taken among its 2 * minPts nearest fitted points.
    const kq = Math.min(n, 2 * minPts);
    const idx = new Int32Array(kq);
    const dist = new Float64Array(kq);
    const outLabels = new Int32Array(m).fill(-1);
    const outProb = new Float64Array(m);
    const maxLambda = labelOfCluster ? deathLambdaForLabels(condensed, clusterOfLabel!) : null;
    for (let r = 0; r < m; r++) {
      const found = tree.query(qs, r * d, kq, -1, idx, dist, 0);
      const coreQ = Math.sqrt(dist[Math.min(found, minPts - 1) - 1]!);
      let best = -1;
      let bestW = Infinity;
      for (let j = 0; j < found; j++) {
        const i = tree.index[idx[j]!]!;
        const w = Math.max(coreQ, core[i]!, Math.sqrt(dist[j]!));
        if (w < bestW) {
          bestW = w;
          best = i;
        }
      }
      if (cutDistance !== null) {
        if (bestW <= cutDistance) {
          outLabels[r] = labels[best]!;
          outProb[r] = outLabels[r]! >= 0 ? 1 : 0;
        }
        continue;
      }
      // Join the deepest condensed cluster on the neighbour's path that already exists at the link's density.
      const lambda = bestW > 0 ? 1 / bestW : Infinity;
      let cl = condensed.pointCluster[best]!;
      while (cl > 0 && condensed.birth[cl]! > lambda) cl = condensed.parent[cl]!;
      const label = labelOfCluster![cl]!;
      outLabels[r] = label;
      if (label >= 0) {
        const top = maxLambda![label]!;
        outProb[r] = top === 0 || !Number.isFinite(lambda) ? 1 : Math.min(lambda, top) / top;
      }
    }
    return { labels: outLabels, probabilities: outProb };
  };

  return {
    labels,
    nClusters,
    probabilities,
    outlierScores: scores,
    coreDistances: core,
    clusterStability,
    cutDistance,
    minPts,
    minClusterSize,
    hierarchy,
    condensedTree: condensed,
    cut,
    cuts,
    achievableClusterCounts: () => achievableCounts(hierarchy, minClusterSize),
    predict,
  };
}

function deathLambdaForLabels(tree: CondensedTree, clusterOfLabel: Int32Array): Float64Array {
  const top = deathLambda(tree);
  return Float64Array.from(clusterOfLabel, (cl) => top[cl]!);
}

/** Membership after an exactly-K cut, as R's dbscan defines it: (max core distance - core) / max within a cluster. */
function coreDistanceStrength(labels: Int32Array, core: Float64Array, k: number): Float64Array {
  const maxCore = new Float64Array(k);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l >= 0 && core[i]! > maxCore[l]!) maxCore[l] = core[i]!;
  }
  const out = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0) continue;
    const m = maxCore[l]!;
    out[i] = m > 0 ? (m - core[i]!) / m : 1;
  }
  return out;
}
