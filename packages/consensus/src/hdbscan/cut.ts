/**
 * SPC's use of HDBSCAN: cut the (mutual reachability) single-linkage hierarchy at a distance that leaves exactly
 * K connected components of at least `minClusterSize` points; smaller components are noise.
 *
 * As the cut distance grows, components of size >= minClusterSize appear (a small one grows past the minimum) and
 * disappear (two large ones merge), so their count is not monotone and a bisection could miss a valid level. We
 * sweep every merge height once instead and keep the highest level giving K clusters: the one with the fewest
 * noise points. Merges of equal height are applied together, since no cut separates them.
 */
import { UnionFind } from '../internal/union-find.js';
import { NoExactCutError } from '../errors.js';
import type { SingleLinkage } from './tree.js';

export interface ExactCut {
  labels: Int32Array;
  /** Any cut distance in [distance, nextDistance) gives these labels. */
  distance: number;
  nextDistance: number;
  /**
   * The lowest cut distance with k clusters in this stretch of the hierarchy. Between it and `distance` the
   * count stays k while small groups join the clusters, so the labels above have the fewest noise points.
   */
  lowestDistance: number;
}

/** The cluster count after each group of equal-height merges, and the merge index ending each group. */
function sweep(sl: SingleLinkage, minClusterSize: number, visit: (count: number, lastMerge: number) => boolean | void): void {
  const n = sl.n;
  const m = sl.height.length;
  const size = new Int32Array(n + m);
  size.fill(1, 0, n);
  let count = minClusterSize <= 1 ? n : 0;
  for (let k = 0; k < m; k++) {
    const a = size[sl.left[k]!]!;
    const b = size[sl.right[k]!]!;
    const s = a + b;
    size[n + k] = s;
    count += (s >= minClusterSize ? 1 : 0) - (a >= minClusterSize ? 1 : 0) - (b >= minClusterSize ? 1 : 0);
    if (k + 1 < m && sl.height[k + 1] === sl.height[k]) continue;
    if (visit(count, k) === false) return;
  }
}

/** Every cluster count that some cut gives, ascending. */
export function achievableCounts(sl: SingleLinkage, minClusterSize: number): number[] {
  const seen = new Set<number>();
  sweep(sl, minClusterSize, (count) => {
    if (count > 0) seen.add(count);
  });
  return [...seen].sort((a, b) => a - b);
}

/**
 * Every stretch of cut distances that leaves exactly k clusters, lowest first, each with the labels at its top
 * (the fewest noise points of the stretch). Empty when no cut gives k. `which: 'highest'` reads the labels of the
 * last stretch only.
 */
export function exactCuts(sl: SingleLinkage, k: number, minClusterSize: number, which: 'all' | 'highest' = 'all'): ExactCut[] {
  const n = sl.n;
  const m = sl.height.length;
  // The group ends where a stretch of k clusters ends (the next group changes the count), with its first end.
  const tops = new Map<number, number>();
  let first = -1;
  let previous = -1;
  sweep(sl, minClusterSize, (count, end) => {
    if (count === k) {
      if (first < 0) first = end;
      previous = end;
      return;
    }
    if (first >= 0) tops.set(previous, first);
    first = -1;
  });
  if (first >= 0) tops.set(previous, first);
  if (tops.size === 0) return [];
  if (which === 'highest') {
    // Only the last stretch's labels: no passes over the points for the lower ones.
    const top = Math.max(...tops.keys());
    const start = tops.get(top)!;
    tops.clear();
    tops.set(top, start);
  }
  // Replay the merges once, reading the labels at each stretch's top.
  const uf = new UnionFind(n);
  // Node id -> any point below it, to replay merges on points.
  const rep = new Int32Array(n + m);
  for (let i = 0; i < n; i++) rep[i] = i;
  const cuts: ExactCut[] = [];
  for (let j = 0; j < m && cuts.length < tops.size; j++) {
    rep[n + j] = rep[sl.left[j]!]!;
    uf.union(rep[sl.left[j]!]!, rep[sl.right[j]!]!);
    const start = tops.get(j);
    if (start === undefined) continue;
    const labels = new Int32Array(n).fill(-1);
    const labelOfRoot = new Int32Array(n).fill(-1);
    let next = 0;
    for (let i = 0; i < n; i++) {
      const r = uf.find(i);
      if (uf.size[r]! < minClusterSize) continue;
      if (labelOfRoot[r] === -1) labelOfRoot[r] = next++;
      labels[i] = labelOfRoot[r]!;
    }
    cuts.push({ labels, distance: sl.height[j]!, nextDistance: j + 1 < m ? sl.height[j + 1]! : Infinity, lowestDistance: sl.height[start]! });
  }
  return cuts;
}

/** SPC's cut: the highest stretch with exactly k clusters (the fewest noise points); NoExactCutError if none. */
export function cutExactly(sl: SingleLinkage, k: number, minClusterSize: number): ExactCut {
  const cuts = exactCuts(sl, k, minClusterSize, 'highest');
  if (cuts.length === 0) throw new NoExactCutError(k, achievableCounts(sl, minClusterSize), minClusterSize);
  return cuts[cuts.length - 1]!;
}
