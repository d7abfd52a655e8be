/**
 * From the minimum spanning tree to flat clusters: the single-linkage hierarchy, the condensed tree for a minimum
 * cluster size, cluster stabilities, excess-of-mass or leaf selection, labels, membership probabilities and GLOSH
 * outlier scores. Distances become lambda = 1 / distance as in the HDBSCAN papers.
 */
import { UnionFind } from '../internal/union-find.js';
import type { MstEdges } from './mst.js';

/** Agglomerative merges, scipy style: node ids 0..n-1 are points, n + k is the cluster made by merge k. */
export interface SingleLinkage {
  n: number;
  left: Int32Array;
  right: Int32Array;
  height: Float64Array;
  size: Int32Array;
}

export function singleLinkage(mst: MstEdges, n: number): SingleLinkage {
  const m = mst.weight.length;
  const order = new Int32Array(m);
  for (let i = 0; i < m; i++) order[i] = i;
  // Stable by weight, so ties keep the order the MST found them in.
  order.sort((a, b) => mst.weight[a]! - mst.weight[b]! || a - b);
  const uf = new UnionFind(n);
  const nodeOf = new Int32Array(n);
  for (let i = 0; i < n; i++) nodeOf[i] = i;
  const left = new Int32Array(m);
  const right = new Int32Array(m);
  const height = new Float64Array(m);
  const size = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const e = order[k]!;
    const ra = uf.find(mst.from[e]!);
    const rb = uf.find(mst.to[e]!);
    const na = nodeOf[ra]!;
    const nb = nodeOf[rb]!;
    left[k] = na < nb ? na : nb;
    right[k] = na < nb ? nb : na;
    height[k] = mst.weight[e]!;
    size[k] = uf.size[ra]! + uf.size[rb]!;
    nodeOf[uf.union(ra, rb)] = n + k;
  }
  return { n, left, right, height, size };
}

/** The condensed tree: clusters 0 (the root) .. clusters-1, parents before children; each point's exit. */
export interface CondensedTree {
  n: number;
  minClusterSize: number;
  clusters: number;
  /** Parent cluster (-1 for the root). */
  parent: Int32Array;
  /** lambda at which the cluster split off its parent (the root: 0). */
  birth: Float64Array;
  /** Points in the cluster when it was born. */
  size: Int32Array;
  /** Child clusters of each cluster (none, or two or more when a tie splits it several ways). */
  children: Int32Array[];
  /** The cluster each point fell out of, and at which lambda. */
  pointCluster: Int32Array;
  pointLambda: Float64Array;
}

const toLambda = (h: number) => (h > 0 ? 1 / h : Infinity);

/**
 * When points leave a cluster. 'singleton' (R's dbscan::hdbscan): a point stays in its cluster until it
 * separates from every other point, unless the cluster splits into two clusters first. 'component' (Campello et
 * al. 2015 and the Python hdbscan library): a group smaller than minClusterSize that splits off leaves at once.
 * The two give different exit lambdas, hence different stabilities, probabilities and outlier scores, and
 * sometimes a different excess-of-mass selection; the hierarchy and exactly-K cuts are the same.
 */
export type PointExit = 'singleton' | 'component';

/**
 * Condenses the hierarchy top-down. Merges of equal height are one event, as in Campello et al. (2015), where
 * edges of equal weight are removed from the spanning tree simultaneously: a cluster at that height splits into
 * all the parts below the tie at once. Taking equal-height merges one at a time instead would make the result
 * depend on the order in which ties were stored (and create clusters that are born and die at the same lambda).
 */
export function condenseTree(sl: SingleLinkage, minClusterSize: number, exit: PointExit = 'singleton'): CondensedTree {
  const n = sl.n;
  const parent: number[] = [-1];
  const birth: number[] = [0];
  const csize: number[] = [n];
  const children: number[][] = [[]];
  const pointCluster = new Int32Array(n);
  const pointLambda = new Float64Array(n);
  const sizeOf = (node: number) => (node < n ? 1 : sl.size[node - n]!);
  // Points below `node` leave `cluster` at `lambda`.
  const walk: number[] = [];
  const dropAll = (node: number, cluster: number, lambda: number) => {
    walk.push(node);
    while (walk.length > 0) {
      const x = walk.pop()!;
      if (x < n) {
        pointCluster[x] = cluster;
        pointLambda[x] = lambda;
      } else {
        walk.push(sl.left[x - n]!, sl.right[x - n]!);
      }
    }
  };
  if (n === 1) {
    pointCluster[0] = 0;
    pointLambda[0] = Infinity;
  }
  const parts: number[] = [];
  const tie: number[] = [];
  const stack: number[] = n > 1 ? [2 * n - 2, 0] : [];
  while (stack.length > 0) {
    const cluster = stack.pop()!;
    const node = stack.pop()!;
    const h = sl.height[node - n]!;
    const lambda = toLambda(h);
    // The parts left when every merge of height h below `node` is undone.
    parts.length = 0;
    tie.push(node);
    while (tie.length > 0) {
      const x = tie.pop()!;
      for (const child of [sl.left[x - n]!, sl.right[x - n]!]) {
        if (child >= n && sl.height[child - n] === h) tie.push(child);
        else parts.push(child);
      }
    }
    let big = 0;
    for (const part of parts) if (sizeOf(part) >= minClusterSize) big++;
    for (const part of parts) {
      const s = sizeOf(part);
      if (s < minClusterSize) {
        // 'singleton' keeps a small part in the cluster (unless the cluster itself splits here) until its
        // points separate one by one; 'component' drops the whole part now.
        if (part < n || exit === 'component' || big >= 2) dropAll(part, cluster, lambda);
        else stack.push(part, cluster);
      } else if (big === 1) {
        stack.push(part, cluster);
      } else {
        const id = parent.length;
        parent.push(cluster);
        birth.push(lambda);
        csize.push(s);
        children.push([]);
        children[cluster]!.push(id);
        stack.push(part, id);
      }
    }
  }
  return {
    n,
    minClusterSize,
    clusters: parent.length,
    parent: Int32Array.from(parent),
    birth: Float64Array.from(birth),
    size: Int32Array.from(csize),
    children: children.map((c) => Int32Array.from(c)),
    pointCluster,
    pointLambda,
  };
}

/** lambda - birth, with inf - inf (points and clusters born at distance 0) counted as 0. */
const span = (lambda: number, from: number) => (lambda === from ? 0 : lambda - from);

/** Excess of mass of each cluster: sum over its points of (lambda_exit - lambda_birth). */
export function stabilities(tree: CondensedTree): Float64Array {
  const s = new Float64Array(tree.clusters);
  for (let p = 0; p < tree.n; p++) {
    const c = tree.pointCluster[p]!;
    s[c] = s[c]! + span(tree.pointLambda[p]!, tree.birth[c]!);
  }
  for (let c = 1; c < tree.clusters; c++) {
    const par = tree.parent[c]!;
    s[par] = s[par]! + tree.size[c]! * span(tree.birth[c]!, tree.birth[par]!);
  }
  return s;
}

export type Selection = 'eom' | 'leaf';

/** Selected clusters (never the root): excess of mass, or every leaf of the condensed tree. */
export function selectClusters(tree: CondensedTree, stability: Float64Array, method: Selection): Uint8Array {
  const selected = new Uint8Array(tree.clusters);
  if (method === 'leaf') {
    for (let c = 1; c < tree.clusters; c++) if (tree.children[c]!.length === 0) selected[c] = 1;
    return selected;
  }
  const score = new Float64Array(tree.clusters);
  // Children have larger ids than their parents, so a descending sweep sees every subtree before its root.
  for (let c = tree.clusters - 1; c >= 1; c--) {
    const kids = tree.children[c]!;
    if (kids.length === 0) {
      selected[c] = 1;
      score[c] = stability[c]!;
      continue;
    }
    let sum = 0;
    for (const ch of kids) sum += score[ch]!;
    // Ties keep the parent, as the reference implementations do.
    if (stability[c]! < sum) {
      score[c] = sum;
    } else {
      score[c] = stability[c]!;
      selected[c] = 1;
      const stack = [...kids];
      while (stack.length > 0) {
        const x = stack.pop()!;
        selected[x] = 0;
        for (const y of tree.children[x]!) stack.push(y);
      }
    }
  }
  return selected;
}

export interface FlatClustering {
  labels: Int32Array;
  /** Condensed-tree cluster of each label. */
  clusterOfLabel: Int32Array;
  /** Selected ancestor (or self) of every condensed cluster, -1 when none. */
  labelOfCluster: Int32Array;
}

/** Points take the label of the selected cluster above the cluster they fell out of; others are noise (-1). */
export function labelPoints(tree: CondensedTree, selected: Uint8Array): FlatClustering {
  const labelOfCluster = new Int32Array(tree.clusters).fill(-1);
  const clusterOfLabel: number[] = [];
  for (let c = 1; c < tree.clusters; c++) {
    if (selected[c]) {
      labelOfCluster[c] = clusterOfLabel.length;
      clusterOfLabel.push(c);
    } else {
      labelOfCluster[c] = labelOfCluster[tree.parent[c]!]!;
    }
  }
  const labels = new Int32Array(tree.n);
  for (let p = 0; p < tree.n; p++) labels[p] = labelOfCluster[tree.pointCluster[p]!]!;
  return { labels, clusterOfLabel: Int32Array.from(clusterOfLabel), labelOfCluster };
}

/** Largest exit lambda of the points that leave each cluster directly (0 when none do). */
function directMaxLambda(tree: CondensedTree): Float64Array {
  const m = new Float64Array(tree.clusters);
  for (let p = 0; p < tree.n; p++) {
    const c = tree.pointCluster[p]!;
    if (tree.pointLambda[p]! > m[c]!) m[c] = tree.pointLambda[p]!;
  }
  return m;
}

/** The lambda at which each cluster ends: its last direct point exit or its split into children. */
export function deathLambda(tree: CondensedTree): Float64Array {
  const m = directMaxLambda(tree);
  for (let c = 1; c < tree.clusters; c++) {
    const par = tree.parent[c]!;
    if (tree.birth[c]! > m[par]!) m[par] = tree.birth[c]!;
  }
  return m;
}

/**
 * Membership strength in [0, 1] as in the hdbscan library: a point's exit lambda over the lambda at which its
 * selected cluster ends (capped at 1, so points of sub-clusters count fully); 0 for noise.
 */
export function membershipProbabilities(tree: CondensedTree, flat: FlatClustering): Float64Array {
  const maxLambda = deathLambda(tree);
  const prob = new Float64Array(tree.n);
  for (let p = 0; p < tree.n; p++) {
    const label = flat.labels[p]!;
    if (label < 0) continue;
    const top = maxLambda[flat.clusterOfLabel[label]!]!;
    const lambda = tree.pointLambda[p]!;
    prob[p] = top === 0 || !Number.isFinite(lambda) ? 1 : Math.min(lambda, top) / top;
  }
  return prob;
}

/** The largest exit lambda within each cluster's whole subtree. */
export function subtreeMaxLambda(tree: CondensedTree): Float64Array {
  const m = directMaxLambda(tree);
  for (let c = tree.clusters - 1; c >= 1; c--) {
    const par = tree.parent[c]!;
    if (m[c]! > m[par]!) m[par] = m[c]!;
  }
  return m;
}

/**
 * GLOSH outlier scores (Campello et al. 2015): 1 - lambda_exit / lambda_max, where lambda_max is the densest
 * exit within the subtree of the cluster the point fell out of. 0 = as dense as its cluster's core.
 */
export function outlierScores(tree: CondensedTree): Float64Array {
  const top = subtreeMaxLambda(tree);
  const out = new Float64Array(tree.n);
  for (let p = 0; p < tree.n; p++) {
    const m = top[tree.pointCluster[p]!]!;
    const lambda = tree.pointLambda[p]!;
    if (m === 0 || !Number.isFinite(m)) {
      out[p] = 0;
      continue;
    }
    out[p] = (m - lambda) / m;
  }
  return out;
}
