import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, InvalidOptionError, NonFiniteError, Rng, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import { NoExactCutError, fitHdbscan, stabilities, type HdbscanOptions } from '@dc/consensus';
import { POINT_SETS } from './fixtures/hdbscan/points';
import { KdTree } from '../src/internal/kdtree';
import { boruvkaMst, primMst } from '../src/hdbscan/mst';
import { adjustedRandIndex, readFloat32 } from './helpers';

const DIR = join(__dirname, 'fixtures', 'hdbscan');

/** Noise points as singletons: ARI then compares the cluster structure without one giant "noise cluster". */
const noiseAsSingletons = (labels: ArrayLike<number>) => Array.from(labels, (v, i) => (v < 0 ? -1 - i : v));

function line(values: number[]): Tensor<'float32'> {
  return new Tensor('float32', Float32Array.from(values), [values.length, 1]);
}

describe('fitHdbscan against R dbscan::hdbscan (committed fixtures)', () => {
  for (const set of POINT_SETS) {
    describe(`${set.name} (${set.n} x ${set.d})`, () => {
      const stored = readFloat32(join(DIR, `${set.name}.f32`));
      const x = new Tensor('float32', stored, [set.n, set.d]);

      it('regenerates the stored points bit for bit', () => {
        expect(Buffer.from(set.make().buffer).equals(Buffer.from(stored.buffer))).toBe(true);
      });

      it.each(set.minPts)('minPts = %i: same core distances, spanning tree weights, labels and outlier scores', (minPts) => {
        const n = set.n;
        const buf = readFileSync(join(DIR, `${set.name}_minpts${minPts}.bin`));
        const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
        const rLabels = Array.from(new Int32Array(ab, 0, n), (v) => v - 1);
        const rCore = new Float32Array(ab, 4 * n, n);
        const rGlosh = new Float32Array(ab, 8 * n, n);
        const rHeights = new Float32Array(ab, 12 * n, n - 1);

        const res = fitHdbscan(x, { minPts });
        // R's values went through float32; compare relative errors (expect() per element would be slow).
        let coreError = 0;
        for (let i = 0; i < n; i++) coreError = Math.max(coreError, Math.abs(res.coreDistances[i]! - rCore[i]!) / rCore[i]!);
        expect(coreError).toBeLessThan(1e-6);
        // The MST is not unique under ties, but its sorted weights are.
        const heights = Float64Array.from(res.hierarchy.height).sort();
        let heightError = 0;
        for (let i = 0; i < n - 1; i++) heightError = Math.max(heightError, Math.abs(heights[i]! - rHeights[i]!) / rHeights[i]!);
        expect(heightError).toBeLessThan(1e-6);

        const rClusters = Math.max(...rLabels) + 1;
        expect(Math.abs(res.nClusters - rClusters)).toBeLessThanOrEqual(Math.max(1, Math.round(0.01 * rClusters)));
        // Labels equal up to renaming. R applies merges of equal height one at a time in its Prim scan order, we
        // apply them together, so a point bridging two clusters at exactly their split height is noise for us and
        // a member of one side (the one R's scan reached first) for R. These points are the only differences.
        expect(adjustedRandIndex(noiseAsSingletons(res.labels), noiseAsSingletons(rLabels))).toBeGreaterThanOrEqual(0.99);
        let sameNoise = 0;
        for (let i = 0; i < n; i++) if (res.labels[i]! < 0 === rLabels[i]! < 0) sameNoise++;
        expect(sameNoise / n).toBeGreaterThanOrEqual(0.98);
        if (rClusters < 50) expect(adjustedRandIndex(res.labels, rLabels)).toBeGreaterThanOrEqual(0.99);

        let close = 0;
        for (let i = 0; i < n; i++) if (Math.abs(res.outlierScores[i]! - rGlosh[i]!) < 1e-3) close++;
        expect(close / n).toBeGreaterThanOrEqual(0.95);
      });
    });
  }

  it('gives the same labels with Boruvka and with Prim (ties are resolved by the hierarchy, not the tree)', () => {
    const set = POINT_SETS[2]!;
    const x = new Tensor('float32', set.make(), [set.n, set.d]);
    for (const minPts of set.minPts) {
      const a = fitHdbscan(x, { minPts, algorithm: 'boruvka' });
      const b = fitHdbscan(x, { minPts, algorithm: 'prim' });
      expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
      expect(Array.from(a.outlierScores)).toEqual(Array.from(b.outlierScores));
    }
  });
});

describe('fitHdbscan on hand-computed examples', () => {
  // 1-D, minPts = 2: core distances 1, 1, 2 | 1, 1, 2; spanning tree weights 1, 2 | 1, 2 and 17 between.
  const x = line([0, 1, 3, 20, 21, 23]);

  it('splits into the two groups with the stabilities worked out by hand', () => {
    const res = fitHdbscan(x, { minPts: 2 });
    expect(Array.from(res.coreDistances)).toEqual([1, 1, 2, 1, 1, 2]);
    expect(Array.from(res.hierarchy.height).sort((a, b) => a - b)).toEqual([1, 1, 2, 2, 17]);
    expect(Array.from(res.labels)).toEqual([0, 0, 0, 1, 1, 1]);
    // Born at lambda 1/17; point 3 leaves at 1/2, points 0 and 1 at 1.
    const s = 0.5 - 1 / 17 + 2 * (1 - 1 / 17);
    expect(res.clusterStability[0]).toBeCloseTo(s, 12);
    expect(res.clusterStability[1]).toBeCloseTo(s, 12);
    // The same from the condensed tree, whose root (born at lambda 0) holds the two clusters' births: 6 * 1/17.
    const all = stabilities(res.condensedTree);
    expect(all).toHaveLength(3);
    expect(all[0]).toBeCloseTo(6 / 17, 12);
    expect(all[1]).toBeCloseTo(s, 12);
    expect(all[2]).toBeCloseTo(s, 12);
    expect(Array.from(res.probabilities)).toEqual([1, 1, 0.5, 1, 1, 0.5]);
    expect(Array.from(res.outlierScores)).toEqual([0, 0, 0.5, 0, 0, 0.5]);
  });

  it("keeps a small part in its cluster until its points separate ('singleton', as R) or drops it ('component')", () => {
    // minClusterSize 3: at height 2 each group splits into {a, b} (2 points) and a singleton.
    const r = fitHdbscan(x, { minPts: 2, minClusterSize: 3 });
    const p = fitHdbscan(x, { minPts: 2, minClusterSize: 3, pointExit: 'component' });
    expect(Array.from(r.labels)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(Array.from(p.labels)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(r.clusterStability[0]).toBeCloseTo(0.5 - 1 / 17 + 2 * (1 - 1 / 17), 12);
    expect(p.clusterStability[0]).toBeCloseTo(3 * (0.5 - 1 / 17), 12);
  });

  it('labels everything noise when no split leaves two groups of minClusterSize', () => {
    const res = fitHdbscan(x, { minPts: 2, minClusterSize: 4 });
    expect(res.nClusters).toBe(0);
    expect(Array.from(res.labels)).toEqual([-1, -1, -1, -1, -1, -1]);
    expect(Array.from(res.probabilities)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('treats merges of equal height as one event (a three-way split)', () => {
    // Three groups of 3 spaced so that both gaps are 10: the tree merges them at the same height.
    const res = fitHdbscan(line([0, 1, 2, 12, 13, 14, 24, 25, 26]), { minPts: 2, minClusterSize: 3 });
    expect(res.nClusters).toBe(3);
    expect(res.condensedTree.children[0]!.length).toBe(3);
    expect(res.achievableClusterCounts()).toEqual([1, 3]);
    expect(() => res.cut(2)).toThrow(NoExactCutError);
    expect(res.cuts(2)).toEqual([]);
  });

  it('lists every stretch of cut distances with exactly k clusters (the count is not monotone)', () => {
    // A and B: three points 1 apart, merged at 1. C: two points 1 apart and a third 9 away, so C reaches three
    // points only at 9. Counts: 2 from 1 (A, B; C's points noise), 3 from 9, 2 again from 98 (A and B merge), 1
    // from 198. (Whole numbers, so that float32 inputs keep the ties.)
    const res = fitHdbscan(line([0, 1, 2, 100, 101, 102, 300, 301, 310]), { minPts: 2, minClusterSize: 3 });
    const two = res.cuts(2);
    expect(two.map((c) => [c.lowestDistance, c.distance, c.nextDistance])).toEqual([[1, 1, 9], [98, 98, 198]]);
    expect(Array.from(two[0]!.labels)).toEqual([0, 0, 0, 1, 1, 1, -1, -1, -1]);
    expect(Array.from(two[1]!.labels)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1]);
    // cut(k) is the highest stretch.
    expect(res.cut(2)).toEqual(two[1]);
    expect(res.cuts(3).map((c) => Array.from(c.labels))).toEqual([[0, 0, 0, 1, 1, 1, 2, 2, 2]]);
    expect(res.cuts(1)).toHaveLength(1);
    expect(res.cuts(1)[0]!.nextDistance).toBe(Infinity);
    expect(res.cuts(4)).toEqual([]);
    expect(() => res.cuts(0)).toThrow(InvalidInputError);
  });
});

describe('selection', () => {
  const rng = new Rng(4);
  const pts: number[] = [];
  // A parent with two sub-clusters and a separate cluster.
  for (const [cx, cy, s, m] of [[0, 0, 0.3, 80], [3, 0, 0.3, 80], [20, 20, 1, 120]] as const) {
    for (let i = 0; i < m; i++) pts.push(cx + s * rng.normal(), cy + s * rng.normal());
  }
  const x = new Tensor('float32', Float32Array.from(pts), [pts.length / 2, 2]);

  it("'leaf' returns exactly the leaves of the condensed tree", () => {
    const res = fitHdbscan(x, { minPts: 10, selection: 'leaf' });
    const tree = res.condensedTree;
    const leaves = [];
    for (let cl = 1; cl < tree.clusters; cl++) if (tree.children[cl]!.length === 0) leaves.push(cl);
    expect(res.nClusters).toBe(leaves.length);
  });

  it("'eom' selects disjoint clusters whose total stability is at least the leaves' and the root's children's", () => {
    const eom = fitHdbscan(x, { minPts: 10 });
    const leaf = fitHdbscan(x, { minPts: 10, selection: 'leaf' });
    const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
    expect(sum(eom.clusterStability)).toBeGreaterThanOrEqual(sum(leaf.clusterStability) - 1e-9);
    expect(eom.nClusters).toBeGreaterThanOrEqual(2);
    for (const p of eom.probabilities) expect(p >= 0 && p <= 1).toBe(true);
    for (let l = 0; l < eom.nClusters; l++) {
      const probs = eom.probabilities.filter((_, i) => eom.labels[i] === l);
      expect(Math.max(...probs)).toBe(1);
    }
    eom.labels.forEach((l, i) => {
      if (l < 0) expect(eom.probabilities[i]).toBe(0);
    });
  });
});

describe('exactly-K cut (SPC mode)', () => {
  const rng = new Rng(9);
  const centres = [[0, 0], [10, 0], [0, 12], [30, 30]];
  const truth: number[] = [];
  const pts: number[] = [];
  centres.forEach(([cx, cy], c) => {
    for (let i = 0; i < 150; i++) {
      pts.push(cx! + rng.normal(), cy! + rng.normal());
      truth.push(c);
    }
  });
  const x = new Tensor('float32', Float32Array.from(pts), [600, 2]);
  const fitted = fitHdbscan(x, { minPts: 5, minClusterSize: 20 });

  it('recovers the four blobs with nClusters = 4', () => {
    const res = fitHdbscan(x, { minPts: 5, minClusterSize: 20, nClusters: 4 });
    expect(res.nClusters).toBe(4);
    expect(new Set(res.labels.filter((l) => l >= 0)).size).toBe(4);
    const clustered = [...res.labels.keys()].filter((i) => res.labels[i]! >= 0);
    expect(clustered.length).toBeGreaterThan(580);
    expect(adjustedRandIndex(clustered.map((i) => res.labels[i]!), clustered.map((i) => truth[i]!))).toBe(1);
    expect(res.cutDistance).not.toBeNull();
    expect(Array.from(fitted.cut(4).labels)).toEqual(Array.from(res.labels));
  });

  it('gives exactly k clusters of at least minClusterSize for every achievable k', () => {
    const counts = fitted.achievableClusterCounts();
    expect(counts).toEqual(expect.arrayContaining([1, 2, 3, 4]));
    for (const k of counts) {
      const cut = fitted.cut(k);
      const sizes = new Map<number, number>();
      for (const l of cut.labels) if (l >= 0) sizes.set(l, (sizes.get(l) ?? 0) + 1);
      expect(sizes.size).toBe(k);
      for (const s of sizes.values()) expect(s).toBeGreaterThanOrEqual(20);
      expect(cut.nextDistance).toBeGreaterThan(cut.distance);
    }
    // Going up the hierarchy the two closest blobs (0 and 1, 10 apart) merge first.
    const three = fitted.cut(3).labels;
    expect(three[0]).toBe(three[150]);
    expect(three[0]).not.toBe(three[300]);
    expect(three[300]).not.toBe(three[450]);
  });

  it('throws NoExactCutError, naming the achievable counts, when no cut gives k', () => {
    const k = Math.max(...fitted.achievableClusterCounts()) + 1;
    let error: unknown;
    try {
      fitHdbscan(x, { minPts: 5, minClusterSize: 20, nClusters: k });
    } catch (e) {
      error = e;
    }
    expect(NoExactCutError.isInstance(error)).toBe(true);
    const e = error as NoExactCutError;
    expect(e.requested).toBe(k);
    expect(e.achievable).toEqual(fitted.achievableClusterCounts());
    expect(e.message).toMatch(new RegExp(`exactly ${k} clusters`));
    expect(() => fitted.cut(0)).toThrow(InvalidInputError);
    expect(() => fitted.cut(2.5)).toThrow(InvalidInputError);
  });
});

describe('predict', () => {
  const rng = new Rng(2);
  const pts: number[] = [];
  for (const [cx, cy] of [[0, 0], [8, 8]]) for (let i = 0; i < 200; i++) pts.push(cx! + 0.5 * rng.normal(), cy! + 0.5 * rng.normal());
  const x = new Tensor('float32', Float32Array.from(pts), [400, 2]);
  const res = fitHdbscan(x, { minPts: 8 });

  it('labels points near each cluster with that cluster and far points as noise', () => {
    expect(res.nClusters).toBe(2);
    const q = new Tensor('float32', Float32Array.from([0.1, -0.1, 8.1, 7.9, 50, 50]), [3, 2]);
    const p = res.predict(q);
    expect(p.labels[0]).toBe(res.labels[0]);
    expect(p.labels[1]).toBe(res.labels[200]);
    expect(p.labels[2]).toBe(-1);
    expect(p.probabilities[0]).toBeGreaterThan(0.5);
    expect(p.probabilities[2]).toBe(0);
  });

  it('reproduces the fitted labels of most training points', () => {
    const p = res.predict(x);
    let same = 0;
    for (let i = 0; i < 400; i++) if (p.labels[i] === res.labels[i]) same++;
    expect(same / 400).toBeGreaterThan(0.95);
  });

  it('predicts with the cut after an exactly-K fit', () => {
    const cut = fitHdbscan(x, { minPts: 8, nClusters: 2 });
    const p = cut.predict(new Tensor('float32', Float32Array.from([0, 0, 8, 8, 40, -40]), [3, 2]));
    expect(p.labels[0]).toBe(cut.labels[0]);
    expect(p.labels[1]).toBe(cut.labels[200]);
    expect(p.labels[2]).toBe(-1);
  });

  it('rejects new points with the wrong number of columns', () => {
    expect(() => res.predict(Tensor.zeros([2, 3]))).toThrow(ShapeError);
  });
});

describe('fitHdbscan input checks', () => {
  const x = line([0, 1, 2, 3, 10, 11, 12, 13]);
  const bad: [string, unknown, new (...args: never[]) => Error][] = [
    ['minPts below 2', { minPts: 1 }, InvalidOptionError],
    ['minPts above n', { minPts: 9 }, InvalidOptionError],
    ['fractional minPts', { minPts: 2.5 }, InvalidOptionError],
    ['minClusterSize below 2', { minClusterSize: 1 }, InvalidOptionError],
    ['minClusterSize above n', { minClusterSize: 9 }, InvalidOptionError],
    ['unknown selection', { selection: 'best' }, InvalidOptionError],
    ['unknown pointExit', { pointExit: 'late' }, InvalidOptionError],
    ['nClusters 0', { nClusters: 0 }, InvalidOptionError],
    ['nClusters above n', { nClusters: 9 }, InvalidOptionError],
    ['unknown algorithm', { algorithm: 'kruskal' }, InvalidOptionError],
    ['leafSize 0', { leafSize: 0 }, InvalidOptionError],
    ['onProgress not a function', { onProgress: 3 }, InvalidOptionError],
    ['a misspelt option', { minpts: 3 }, UnknownOptionError],
  ];
  it.each(bad)('rejects %s', (_, options, type) => {
    expect(() => fitHdbscan(x, { minPts: 2, ...(options as HdbscanOptions) })).toThrow(type);
  });

  it('rejects data that is not a finite [n, d] matrix with at least 2 rows', () => {
    expect(() => fitHdbscan([[1, 2]] as unknown as Tensor)).toThrow(InvalidInputError);
    expect(() => fitHdbscan(Tensor.zeros([4]))).toThrow(ShapeError);
    expect(() => fitHdbscan(line([1]), { minPts: 2 })).toThrow(InvalidInputError);
    expect(() => fitHdbscan(line([0, 1, NaN, 3]), { minPts: 2 })).toThrow(NonFiniteError);
    expect(() => fitHdbscan(Tensor.zeros([4, 2], 'int32'), { minPts: 2 })).toThrow(InvalidInputError);
  });

  it('reports progress for each stage', () => {
    const stages = new Set<string>();
    fitHdbscan(x, { minPts: 2, onProgress: (p) => stages.add(p.stage) });
    expect([...stages]).toEqual(['core-distances', 'spanning-tree', 'hierarchy']);
  });

  it('handles duplicated points (zero distances) without NaN', () => {
    const res = fitHdbscan(line([0, 0, 0, 0, 5, 5, 5, 5]), { minPts: 3 });
    expect(Array.from(res.labels)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    for (const v of [...res.outlierScores, ...res.probabilities, ...res.clusterStability]) expect(Number.isNaN(v)).toBe(false);
  });
});

describe('KD-tree and spanning trees', () => {
  it.each([1, 2, 5, 12])('finds the exact k nearest neighbours in %i dimensions', (d) => {
    const n = 400;
    const rng = new Rng(d);
    const data = Float64Array.from({ length: n * d }, () => rng.normal());
    const k = 6;
    const { indices, distances } = new KdTree(data, n, d, 8).knnAll(k);
    for (let i = 0; i < n; i += 7) {
      const all = Array.from({ length: n }, (_, j) => j)
        .filter((j) => j !== i)
        .map((j) => [Math.hypot(...Array.from({ length: d }, (_, c) => data[i * d + c]! - data[j * d + c]!)), j] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let m = 0; m < k; m++) expect(distances[i * k + m]).toBeCloseTo(all[m]![0], 12);
    }
  });

  it.each([2, 3, 8])('Boruvka and Prim find spanning trees of equal weight in %i dimensions', (d) => {
    const n = 500;
    const rng = new Rng(40 + d);
    const data = Float64Array.from({ length: n * d }, () => rng.normal() + (rng.uniform() < 0.5 ? 5 : 0));
    const tree = new KdTree(data, n, d, 16);
    const k = 4;
    const nn = tree.knnAll(k);
    const core = Float64Array.from({ length: n }, (_, i) => nn.distances[i * k + k - 1]!);
    const a = boruvkaMst(tree, core, nn.indices, nn.distances, k);
    const b = primMst(data, n, d, core);
    const total = (w: Float64Array) => w.reduce((s, v) => s + v, 0);
    expect(a.weight.length).toBe(n - 1);
    expect(total(a.weight)).toBeCloseTo(total(b.weight), 9);
    // A spanning tree: n - 1 edges joining all points.
    const parent = Int32Array.from({ length: n }, (_, i) => i);
    const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
    for (let e = 0; e < n - 1; e++) parent[find(a.from[e]!)] = find(a.to[e]!);
    expect(new Set(Array.from({ length: n }, (_, i) => find(i))).size).toBe(1);
  });
});
