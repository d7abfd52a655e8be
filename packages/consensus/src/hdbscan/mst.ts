/**
 * Minimum spanning trees of the mutual reachability graph, mrd(a, b) = max(core[a], core[b], |a - b|), without
 * building the n x n matrix.
 *
 * - `boruvkaMst`: Boruvka rounds where each point asks a KD-tree for its cheapest edge to another component. A
 *   node is skipped when all its points are in the asker's component or when max(core[a], smallest core in the
 *   node, distance to the node's box) cannot beat the best edge found so far for the component. Most points are
 *   settled from their kNN list alone: a neighbour b in another component with core[b] <= core[a] gives
 *   mrd = core[a], the smallest value any edge of a can have.
 * - `primMst`: Prim's algorithm over the implicit dense graph, O(n^2 d). In higher dimensions box bounds prune
 *   little and this is faster (measured in benchmarks/hdbscan).
 *
 * Both return n - 1 edges (from, to, weight) in the order they were found.
 */
import { KdTree } from '../internal/kdtree.js';
import { UnionFind } from '../internal/union-find.js';

// Math functions used in hot loops are module constants: under jest's VM context every `Math.x` in a loop is
// a slow global lookup (measured 10x slower layout loops in tests).
const { sqrt } = Math;

export interface MstEdges {
  from: Int32Array;
  to: Int32Array;
  weight: Float64Array;
}

export function primMst(data: Float64Array, n: number, d: number, core: Float64Array, onProgress?: (edges: number, total: number) => void): MstEdges {
  const from = new Int32Array(Math.max(0, n - 1));
  const to = new Int32Array(Math.max(0, n - 1));
  const weight = new Float64Array(Math.max(0, n - 1));
  const best = new Float64Array(n).fill(Infinity);
  const bestFrom = new Int32Array(n).fill(-1);
  // Points not yet in the tree, kept compact so each step scans only those.
  const rest = new Int32Array(n);
  let restCount = 0;
  for (let i = 1; i < n; i++) rest[restCount++] = i;
  let cur = 0;
  for (let e = 0; e < n - 1; e++) {
    const co = cur * d;
    const cc = core[cur]!;
    let next = -1;
    let nextW = Infinity;
    let nextPos = -1;
    for (let r = 0; r < restCount; r++) {
      const j = rest[r]!;
      let w = best[j]!;
      const floor = cc > core[j]! ? cc : core[j]!;
      if (floor < w) {
        // Only now is the distance needed: the core distances alone do not rule this edge out.
        const jo = j * d;
        let s = 0;
        for (let c = 0; c < d; c++) {
          const t = data[co + c]! - data[jo + c]!;
          s += t * t;
        }
        const dist = sqrt(s);
        const m = dist > floor ? dist : floor;
        if (m < w) {
          w = m;
          best[j] = m;
          bestFrom[j] = cur;
        }
      }
      if (w < nextW) {
        nextW = w;
        next = j;
        nextPos = r;
      }
    }
    from[e] = bestFrom[next]!;
    to[e] = next;
    weight[e] = nextW;
    rest[nextPos] = rest[--restCount]!;
    cur = next;
    if (onProgress && (e + 1) % 4096 === 0) onProgress(e + 1, n - 1);
  }
  return { from, to, weight };
}

/**
 * Boruvka over a KD-tree. `knnIdx`/`knnDist` are each point's k nearest other points (original ids, ascending),
 * already computed for the core distances.
 */
export function boruvkaMst(
  tree: KdTree,
  core: Float64Array,
  knnIdx: Int32Array,
  knnDist: Float64Array,
  k: number,
  onRound?: (edges: number, total: number) => void,
): MstEdges {
  const { n, d, points, index, left, right, start, end } = tree;
  const nodes = tree.nodeCount;
  // Work in tree positions throughout; translate to original ids at the end.
  const coreP = new Float64Array(n);
  for (let p = 0; p < n; p++) coreP[p] = core[index[p]!]!;
  const nodeMinCore = new Float64Array(nodes);
  for (let o = nodes - 1; o >= 0; o--) {
    const node = tree.order[o]!;
    const l = left[node]!;
    if (l < 0) {
      let m = Infinity;
      for (let p = start[node]!; p < end[node]!; p++) if (coreP[p]! < m) m = coreP[p]!;
      nodeMinCore[node] = m;
    } else {
      const a = nodeMinCore[l]!;
      const b = nodeMinCore[right[node]!]!;
      nodeMinCore[node] = a < b ? a : b;
    }
  }
  const uf = new UnionFind(n);
  const comp = new Int32Array(n);
  const nodeComp = new Int32Array(nodes);
  const bestW = new Float64Array(n);
  const bestFrom = new Int32Array(n);
  const bestTo = new Int32Array(n);
  const from = new Int32Array(Math.max(0, n - 1));
  const to = new Int32Array(Math.max(0, n - 1));
  const weight = new Float64Array(Math.max(0, n - 1));
  let edges = 0;
  const stackN = new Int32Array(512);
  const stackB = new Float64Array(512);
  const knnPos = new Int32Array(knnIdx.length);
  for (let i = 0; i < knnIdx.length; i++) knnPos[i] = tree.position[knnIdx[i]!]!;

  while (edges < n - 1) {
    for (let p = 0; p < n; p++) comp[p] = uf.find(p);
    for (let o = nodes - 1; o >= 0; o--) {
      const node = tree.order[o]!;
      const l = left[node]!;
      if (l < 0) {
        const s = start[node]!;
        let c = comp[s]!;
        for (let p = s + 1; p < end[node]!; p++) {
          if (comp[p] !== c) {
            c = -1;
            break;
          }
        }
        nodeComp[node] = c;
      } else {
        const a = nodeComp[l]!;
        nodeComp[node] = a >= 0 && a === nodeComp[right[node]!]! ? a : -1;
      }
    }
    bestW.fill(Infinity);
    // Pass 1: candidates from each point's kNN list (cheap; settles most points outright).
    const needsSearch = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      const c = comp[p]!;
      const cp = coreP[p]!;
      if (cp >= bestW[c]!) continue;
      const i = index[p]!;
      let settled = false;
      for (let m = 0; m < k; m++) {
        const q = knnPos[i * k + m]!;
        if (comp[q] === c) continue;
        const cq = coreP[q]!;
        const dq = knnDist[i * k + m]!;
        let w = cp > cq ? cp : cq;
        if (dq > w) w = dq;
        if (w < bestW[c]!) {
          bestW[c] = w;
          bestFrom[c] = p;
          bestTo[c] = q;
        }
        if (w === cp) {
          settled = true;
          break;
        }
      }
      if (!settled) needsSearch[p] = 1;
    }
    // Pass 2: tree searches for the points whose kNN list could not prove their cheapest edge.
    for (let p = 0; p < n; p++) {
      if (!needsSearch[p]) continue;
      const c = comp[p]!;
      const cp = coreP[p]!;
      let bound = bestW[c]!;
      if (cp >= bound) continue;
      const po = p * d;
      let found = -1;
      let sp = 0;
      stackN[sp] = 0;
      stackB[sp++] = 0;
      while (sp > 0) {
        sp--;
        const node = stackN[sp]!;
        if (stackB[sp]! >= bound || nodeComp[node] === c) continue;
        const l = left[node]!;
        if (l < 0) {
          for (let q = start[node]!; q < end[node]!; q++) {
            if (comp[q] === c) continue;
            const cq = coreP[q]!;
            let w = cp > cq ? cp : cq;
            if (w >= bound) continue;
            const qo = q * d;
            let s = 0;
            for (let j = 0; j < d; j++) {
              const t = points[po + j]! - points[qo + j]!;
              s += t * t;
            }
            const dist = sqrt(s);
            if (dist > w) w = dist;
            if (w < bound) {
              bound = w;
              found = q;
            }
          }
          continue;
        }
        const r = right[node]!;
        const bl = lowerBound(tree, points, po, l, cp, nodeMinCore);
        const br = lowerBound(tree, points, po, r, cp, nodeMinCore);
        if (bl <= br) {
          if (br < bound) {
            stackN[sp] = r;
            stackB[sp++] = br;
          }
          if (bl < bound) {
            stackN[sp] = l;
            stackB[sp++] = bl;
          }
        } else {
          if (bl < bound) {
            stackN[sp] = l;
            stackB[sp++] = bl;
          }
          if (br < bound) {
            stackN[sp] = r;
            stackB[sp++] = br;
          }
        }
      }
      if (found >= 0) {
        bestW[c] = bound;
        bestFrom[c] = p;
        bestTo[c] = found;
      }
    }
    // Join components along their cheapest edges. Ties can make these edges form a cycle; such a cycle consists
    // of equal weights, so skipping the edge that closes it keeps the tree minimal.
    let added = 0;
    for (let c = 0; c < n; c++) {
      if (comp[c] !== c || bestW[c] === Infinity) continue;
      const a = bestFrom[c]!;
      const b = bestTo[c]!;
      if (uf.union(a, b) < 0) continue;
      from[edges] = index[a]!;
      to[edges] = index[b]!;
      weight[edges] = bestW[c]!;
      edges++;
      added++;
    }
    if (added === 0) break; // cannot happen for finite data; guards against an endless loop
    onRound?.(edges, n - 1);
  }
  return { from, to, weight };
}

function lowerBound(tree: KdTree, points: Float64Array, po: number, node: number, cp: number, nodeMinCore: Float64Array): number {
  const dist = sqrt(tree.boxDist2(points, po, node));
  const mc = nodeMinCore[node]!;
  let b = cp > mc ? cp : mc;
  if (dist > b) b = dist;
  return b;
}
