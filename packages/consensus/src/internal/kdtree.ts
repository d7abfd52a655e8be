/**
 * A KD-tree over n points in d dimensions (Euclidean), built by median splits on the widest dimension of each
 * node's bounding box. Points are copied into tree order so a leaf is one contiguous block of memory; `index`
 * maps a tree position back to the caller's row. Used for exact kNN (core distances) and by Boruvka's MST.
 */

// Math functions used in hot loops are module constants: under jest's VM context every `Math.x` in a loop is
// a slow global lookup (measured 10x slower layout loops in tests).
const { sqrt } = Math;

export class KdTree {
  readonly n: number;
  readonly d: number;
  /** Points in tree order, [n * d]. */
  readonly points: Float64Array;
  /** Tree position -> original row. */
  readonly index: Int32Array;
  /** Original row -> tree position. */
  readonly position: Int32Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** Child node ids, -1 for a leaf. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Bounding boxes, [nodes * d]. */
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly nodeCount: number;
  /** Node ids with parents before children (0 is the root). */
  readonly order: Int32Array;

  constructor(data: Float64Array, n: number, d: number, leafSize = 16) {
    this.n = n;
    this.d = d;
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const starts: number[] = [];
    const ends: number[] = [];
    const lefts: number[] = [];
    const rights: number[] = [];
    const los: number[] = [];
    const his: number[] = [];
    const boxLo = new Float64Array(d);
    const boxHi = new Float64Array(d);
    // Explicit stack of [node, start, end]; node ids are assigned when a node is created, parents first.
    const stack: number[] = [];
    const newNode = (s: number, e: number): number => {
      const id = starts.length;
      starts.push(s);
      ends.push(e);
      lefts.push(-1);
      rights.push(-1);
      return id;
    };
    stack.push(newNode(0, n));
    const pendingBoxes: number[] = [];
    while (stack.length > 0) {
      const node = stack.pop()!;
      const s = starts[node]!;
      const e = ends[node]!;
      boxLo.fill(Infinity);
      boxHi.fill(-Infinity);
      for (let p = s; p < e; p++) {
        const o = perm[p]! * d;
        for (let j = 0; j < d; j++) {
          const v = data[o + j]!;
          if (v < boxLo[j]!) boxLo[j] = v;
          if (v > boxHi[j]!) boxHi[j] = v;
        }
      }
      pendingBoxes.push(node);
      for (let j = 0; j < d; j++) {
        los[node * d + j] = boxLo[j]!;
        his[node * d + j] = boxHi[j]!;
      }
      if (e - s <= leafSize) continue;
      let dim = 0;
      let widest = -1;
      for (let j = 0; j < d; j++) {
        const w = boxHi[j]! - boxLo[j]!;
        if (w > widest) {
          widest = w;
          dim = j;
        }
      }
      if (widest <= 0) continue; // all points identical: keep as one leaf
      const mid = (s + e) >> 1;
      selectNth(perm, data, d, dim, s, e - 1, mid);
      const l = newNode(s, mid);
      const r = newNode(mid, e);
      lefts[node] = l;
      rights[node] = r;
      stack.push(r, l);
    }
    this.nodeCount = starts.length;
    this.start = Int32Array.from(starts);
    this.end = Int32Array.from(ends);
    this.left = Int32Array.from(lefts);
    this.right = Int32Array.from(rights);
    this.lo = Float64Array.from(los);
    this.hi = Float64Array.from(his);
    this.order = Int32Array.from(pendingBoxes);
    this.index = perm;
    this.position = new Int32Array(n);
    this.points = new Float64Array(n * d);
    for (let p = 0; p < n; p++) {
      const i = perm[p]!;
      this.position[i] = p;
      for (let j = 0; j < d; j++) this.points[p * d + j] = data[i * d + j]!;
    }
  }

  /** Squared distance from point q (at offset qo of buf) to the bounding box of a node. */
  boxDist2(buf: Float64Array, qo: number, node: number): number {
    const d = this.d;
    const lo = this.lo;
    const hi = this.hi;
    const base = node * d;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = buf[qo + j]!;
      const a = lo[base + j]!;
      if (v < a) {
        s += (a - v) * (a - v);
        continue;
      }
      const b = hi[base + j]!;
      if (v > b) s += (v - b) * (v - b);
    }
    return s;
  }

  /**
   * The k nearest tree positions to a query (squared distances ascending), skipping tree position `exclude`
   * (-1 for none). Writes into outIdx/outDist at offset `oo`; returns how many were found.
   */
  query(buf: Float64Array, qo: number, k: number, exclude: number, outIdx: Int32Array, outDist: Float64Array, oo: number): number {
    const d = this.d;
    const pts = this.points;
    const heapD = this.heapD.length >= k ? this.heapD : (this.heapD = new Float64Array(k));
    const heapI = this.heapI.length >= k ? this.heapI : (this.heapI = new Int32Array(k));
    let size = 0;
    const stackN = this.stackN;
    const stackB = this.stackB;
    let sp = 0;
    stackN[sp] = 0;
    stackB[sp++] = this.boxDist2(buf, qo, 0);
    while (sp > 0) {
      sp--;
      const node = stackN[sp]!;
      if (size === k && stackB[sp]! >= heapD[0]!) continue;
      const l = this.left[node]!;
      if (l < 0) {
        const e = this.end[node]!;
        for (let p = this.start[node]!; p < e; p++) {
          if (p === exclude) continue;
          let s = 0;
          const po = p * d;
          for (let j = 0; j < d; j++) {
            const t = buf[qo + j]! - pts[po + j]!;
            s += t * t;
          }
          if (size < k) {
            // sift up
            let c = size++;
            while (c > 0) {
              const parent = (c - 1) >> 1;
              if (heapD[parent]! >= s) break;
              heapD[c] = heapD[parent]!;
              heapI[c] = heapI[parent]!;
              c = parent;
            }
            heapD[c] = s;
            heapI[c] = p;
          } else if (s < heapD[0]!) {
            siftDown(heapD, heapI, size, s, p);
          }
        }
        continue;
      }
      const r = this.right[node]!;
      const bl = this.boxDist2(buf, qo, l);
      const br = this.boxDist2(buf, qo, r);
      if (bl <= br) {
        stackN[sp] = r;
        stackB[sp++] = br;
        stackN[sp] = l;
        stackB[sp++] = bl;
      } else {
        stackN[sp] = l;
        stackB[sp++] = bl;
        stackN[sp] = r;
        stackB[sp++] = br;
      }
    }
    // heap -> ascending
    for (let m = size - 1; m >= 0; m--) {
      outDist[oo + m] = heapD[0]!;
      outIdx[oo + m] = heapI[0]!;
      const lastD = heapD[m]!;
      const lastI = heapI[m]!;
      siftDown(heapD, heapI, m, lastD, lastI);
    }
    return size;
  }

  /**
   * Exact k nearest neighbours of every point among the others: [n * k] original row ids and Euclidean distances
   * (ascending), in the caller's row order.
   */
  knnAll(k: number): { indices: Int32Array; distances: Float64Array } {
    const { n, d } = this;
    const indices = new Int32Array(n * k);
    const distances = new Float64Array(n * k);
    const idx = new Int32Array(k);
    const dist = new Float64Array(k);
    for (let p = 0; p < n; p++) {
      this.query(this.points, p * d, k, p, idx, dist, 0);
      const i = this.index[p]!;
      for (let m = 0; m < k; m++) {
        indices[i * k + m] = this.index[idx[m]!]!;
        distances[i * k + m] = sqrt(dist[m]!);
      }
    }
    return { indices, distances };
  }

  private heapD = new Float64Array(16);
  private heapI = new Int32Array(16);
  // Depth-first stacks: each pop pushes two children, so depth + 2 entries suffice; 4 * log2(n) is ample.
  private stackN = new Int32Array(256);
  private stackB = new Float64Array(256);
}

/** Replaces the heap top with (value, id) and restores the max-heap order over `size` entries. */
function siftDown(heapD: Float64Array, heapI: Int32Array, size: number, value: number, id: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    const r = l + 1;
    const m = r < size && heapD[r]! > heapD[l]! ? r : l;
    if (heapD[m]! <= value) break;
    heapD[c] = heapD[m]!;
    heapI[c] = heapI[m]!;
    c = m;
  }
  heapD[c] = value;
  heapI[c] = id;
}

/** Reorders perm[lo..hi] so that perm[k] holds the k-th smallest coordinate `dim` (3-way quickselect). */
function selectNth(perm: Int32Array, data: Float64Array, d: number, dim: number, lo: number, hi: number, k: number): void {
  while (hi > lo) {
    const a = data[perm[lo]! * d + dim]!;
    const b = data[perm[(lo + hi) >> 1]! * d + dim]!;
    const c = data[perm[hi]! * d + dim]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = data[perm[i]! * d + dim]!;
      if (v < pivot) {
        const t = perm[lt]!;
        perm[lt++] = perm[i]!;
        perm[i++] = t;
      } else if (v > pivot) {
        const t = perm[gt]!;
        perm[gt--] = perm[i]!;
        perm[i] = t;
      } else {
        i++;
      }
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return;
  }
}
