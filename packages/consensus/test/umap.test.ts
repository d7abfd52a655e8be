import { join } from 'node:path';
import { InvalidInputError, InvalidOptionError, NonFiniteError, Rng, ShapeError, Tensor, UnknownOptionError, knn } from '@dc/core';
import { UMAP } from 'umap-js';
import { fitUmap, fitHdbscan, trustworthiness, type UmapOptions } from '@dc/consensus';
import { CoefficientTable, gradientCoefficients } from '../src/umap/optimize';
import { jacobiEigen } from '../src/umap/init';
import { fillUint32, uniformSource } from '../src/internal/random';
import { adjustedRandIndex, readJson } from './helpers';

/** Five Gaussian blobs in 10-D, 60 points each. */
function blobs(n = 300, d = 10, seed = 8): { x: Tensor<'float32'>; truth: number[] } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 5 }, () => Array.from({ length: d }, () => rng.normal(0, 3)));
  const x = Tensor.zeros([n, d]);
  const truth: number[] = [];
  for (let i = 0; i < n; i++) {
    truth.push(i % 5);
    for (let j = 0; j < d; j++) x.data[i * d + j] = centres[i % 5]![j]! + rng.normal();
  }
  return { x, truth };
}

describe('trustworthiness', () => {
  const f = readJson<{ x: number[][]; embedding: number[][]; values: Record<string, number> }>(join(__dirname, 'fixtures', 'trustworthiness', 'sklearn.json'));
  const x = new Tensor('float64', Float64Array.from(f.x.flat()), [f.x.length, 5]);
  const y = new Tensor('float64', Float64Array.from(f.embedding.flat()), [f.x.length, 2]);

  it.each(Object.keys(f.values))("equals scikit-learn's value for k = %s", (k) => {
    expect(trustworthiness(x, y, { k: Number(k) })).toBeCloseTo(f.values[k]!, 12);
  });

  it('is 1 for an embedding that keeps every neighbourhood', () => {
    expect(trustworthiness(x, x, { k: 7 })).toBe(1);
  });

  it('rejects k >= n / 2 and mismatched rows', () => {
    expect(() => trustworthiness(x, y, { k: 80 })).toThrow(InvalidOptionError);
    expect(() => trustworthiness(x, y, { k: 0 })).toThrow(InvalidOptionError);
    expect(() => trustworthiness(x, Tensor.zeros([10, 2]))).toThrow(ShapeError);
  });
});

describe('fitUmap', () => {
  const { x, truth } = blobs();

  it('builds exactly the fuzzy graph umap-js builds from the same kNN', async () => {
    const res = await fitUmap(x, { seed: 1, epochs: 1 });
    const n = 300;
    const k = 15;
    const nn = await knn(x, { k, metric: 'euclidean', includeSelf: true });
    const reference = new UMAP({ nNeighbors: k }) as unknown as {
      setPrecomputedKNN(i: number[][], d: number[][]): void;
      fuzzySimplicialSet(x: number[][], k: number, mix: number): { getAll(): { row: number; col: number; value: number }[] };
    };
    reference.setPrecomputedKNN(
      Array.from({ length: n }, (_, i) => Array.from(nn.indices.data.subarray(i * k, (i + 1) * k))),
      Array.from({ length: n }, (_, i) => Array.from(nn.values.data.subarray(i * k, (i + 1) * k))),
    );
    const want = reference.fuzzySimplicialSet(Array.from({ length: n }, () => [0]), k, 1).getAll().filter((e) => e.value > 0);
    expect(res.graph.weights.length).toBe(want.length);
    want.forEach((e, i) => {
      expect(res.graph.rows[i]).toBe(e.row);
      expect(res.graph.cols[i]).toBe(e.col);
      expect(res.graph.weights[i]).toBe(e.value);
    });
  });

  it('gives the same embedding for the same seed and a different one for another seed', async () => {
    const a = await fitUmap(x, { seed: 3, epochs: 50 });
    const b = await fitUmap(x, { seed: 3, epochs: 50 });
    const c = await fitUmap(x, { seed: 4, epochs: 50 });
    expect(Array.from(a.embedding.data)).toEqual(Array.from(b.embedding.data));
    expect(Array.from(a.embedding.data)).not.toEqual(Array.from(c.embedding.data));
    expect(a.embedding.shape).toEqual([300, 2]);
  });

  it('preserves neighbourhoods of clustered data as well as umap-js does', async () => {
    // Measured on this data (k = 10): ours 0.968, umap-js on the same kNN graph 0.959 after 100 epochs and 0.965
    // after 200, the PCA start alone 0.94, random points 0.51. We ask for 0.95 and for no more than 0.01 below
    // umap-js (100 epochs: umap-js is slow under jest).
    const ours = await fitUmap(x, { seed: 1 });
    const reference = await fitUmap(x, { seed: 1, engine: 'umap-js', epochs: 100 });
    const tOurs = trustworthiness(x, ours.embedding, { k: 10 });
    const tRef = trustworthiness(x, reference.embedding, { k: 10 });
    expect(tOurs).toBeGreaterThan(0.95);
    expect(tOurs).toBeGreaterThan(tRef - 0.01);
    // The clusters stay apart: HDBSCAN cut to 5 clusters on the embedding recovers them (truth used only here).
    const cut = fitHdbscan(ours.embedding, { minPts: 10, nClusters: 5 });
    const kept = [...cut.labels.keys()].filter((i) => cut.labels[i]! >= 0);
    expect(kept.length).toBeGreaterThan(290);
    expect(adjustedRandIndex(kept.map((i) => cut.labels[i]!), kept.map((i) => truth[i]!))).toBeGreaterThan(0.99);
  });

  it('embeds into other dimensions, with cosine distances and random initialisation', async () => {
    const three = await fitUmap(x, { seed: 1, nComponents: 3, epochs: 100 });
    expect(three.embedding.shape).toEqual([300, 3]);
    expect(trustworthiness(x, three.embedding, { k: 10 })).toBeGreaterThan(0.95);
    const cosine = await fitUmap(x, { seed: 1, metric: 'cosine', init: 'random', epochs: 200 });
    expect(trustworthiness(x, cosine.embedding, { k: 10 })).toBeGreaterThan(0.9);
  });

  it('embeds data of fewer dimensions than the layout (PCA start on the axes the data has)', async () => {
    // two groups on a line, laid out in 3-D: the axis beyond the data's one starts random
    const line = Tensor.fromArray(Array.from({ length: 120 }, (_, i) => [i < 60 ? i / 60 : 5 + i / 60]), 'float32');
    const r = await fitUmap(line, { seed: 0, nComponents: 3, nNeighbors: 10, epochs: 50 });
    expect(r.embedding.shape).toEqual([120, 3]);
    expect(Array.from(r.embedding.data).every(Number.isFinite)).toBe(true);
    const again = await fitUmap(line, { seed: 0, nComponents: 3, nNeighbors: 10, epochs: 50 });
    expect(Array.from(again.embedding.data)).toEqual(Array.from(r.embedding.data));
  });

  it('accepts a precomputed kNN and reports progress for every stage', async () => {
    const nn = await knn(x, { k: 15, metric: 'euclidean', includeSelf: true });
    const stages = new Set<string>();
    const withKnn = await fitUmap(x, { seed: 2, epochs: 20, knn: nn, onProgress: (p) => stages.add(p.stage) });
    const without = await fitUmap(x, { seed: 2, epochs: 20 });
    expect(Array.from(withKnn.embedding.data)).toEqual(Array.from(without.embedding.data));
    expect([...stages]).toEqual(['knn', 'graph', 'init', 'optimize']);
  });

  it('rejects a precomputed kNN that does not fit', async () => {
    const wrongK = await knn(x, { k: 10, metric: 'euclidean', includeSelf: true });
    await expect(fitUmap(x, { knn: wrongK })).rejects.toThrow(InvalidInputError);
    const noSelf = await knn(x, { k: 15, metric: 'euclidean' });
    await expect(fitUmap(x, { knn: noSelf })).rejects.toThrow(/includeSelf/);
    const cosine = await knn(x, { k: 15, metric: 'cosine', includeSelf: true });
    await expect(fitUmap(x, { knn: cosine })).rejects.toThrow(/metric/);
  });

  const bad: [string, Record<string, unknown>, new (...args: never[]) => Error][] = [
    ['nComponents 0', { nComponents: 0 }, InvalidOptionError],
    ['nNeighbors 1', { nNeighbors: 1 }, InvalidOptionError],
    ['nNeighbors >= n', { nNeighbors: 300 }, InvalidOptionError],
    ['negative minDist', { minDist: -0.1 }, InvalidOptionError],
    ['minDist above spread', { minDist: 2, spread: 1 }, InvalidOptionError],
    ['spread 0', { spread: 0 }, InvalidOptionError],
    ['epochs 0', { epochs: 0 }, InvalidOptionError],
    ['learningRate 0', { learningRate: 0 }, InvalidOptionError],
    ['setOpMixRatio above 1', { setOpMixRatio: 1.5 }, InvalidOptionError],
    ['unknown metric', { metric: 'manhattan' }, InvalidOptionError],
    ['a PCA start with umap-js', { engine: 'umap-js', init: 'pca' }, InvalidOptionError],
    ['unknown init', { init: 'spectral' }, InvalidOptionError],
    ['unknown engine', { engine: 'python' }, InvalidOptionError],
    ['fractional seed', { seed: 1.5 }, InvalidOptionError],
    ['a misspelt option', { nNeighbours: 10 }, UnknownOptionError],
  ];
  it.each(bad)('rejects %s', async (_, options, type) => {
    await expect(fitUmap(x, options as UmapOptions)).rejects.toThrow(type);
  });

  it('rejects data that is not a finite matrix of at least 3 rows', async () => {
    await expect(fitUmap(Tensor.zeros([2, 4]))).rejects.toThrow(InvalidInputError);
    await expect(fitUmap(Tensor.zeros([12]))).rejects.toThrow(ShapeError);
    const nan = Tensor.zeros([10, 2]);
    nan.data[3] = NaN;
    await expect(fitUmap(nan)).rejects.toThrow(NonFiniteError);
  });
});

describe('layout internals', () => {
  it('tabulates the gradient coefficients to within 3e-6 of the exact formulas', () => {
    const { attract, repel } = gradientCoefficients(1.577, 0.895, 1);
    const ta = new CoefficientTable(attract);
    const tr = new CoefficientTable(repel);
    const rng = new Rng(1);
    let worst = 0;
    for (let i = 0; i < 20000; i++) {
      const s = Math.exp(rng.uniform(Math.log(2 ** -32), Math.log(2 ** 16)));
      worst = Math.max(worst, Math.abs(ta.at(s) / attract(s) - 1), Math.abs(tr.at(s) / repel(s) - 1));
    }
    expect(worst).toBeLessThan(3e-6);
    expect(ta.at(2 ** 20)).toBeNaN();
    expect(tr.at(2 ** -40)).toBeNaN();
  });

  it('draws exactly the numbers of the Rng, in batches', () => {
    const a = new Rng(11);
    const b = new Rng(11);
    const batch = fillUint32(a, new Uint32Array(1000));
    for (let i = 0; i < 1000; i++) expect(batch[i]).toBe(b.nextUint32());
    expect(a.nextUint32()).toBe(b.nextUint32());
    const uniform = uniformSource(new Rng(12), 64);
    const c = new Rng(12);
    for (let i = 0; i < 200; i++) expect(uniform()).toBe(c.uniform());
  });

  it('diagonalises a symmetric matrix (Jacobi) for the PCA start', () => {
    const m = Float64Array.from([4, 1, 2, 1, 3, 0, 2, 0, 5]);
    const { values, vectors } = jacobiEigen(m, 3);
    for (let c = 0; c < 3; c++) {
      for (let r = 0; r < 3; r++) {
        let mv = 0;
        for (let j = 0; j < 3; j++) mv += m[r * 3 + j]! * vectors[j * 3 + c]!;
        expect(mv).toBeCloseTo(values[c]! * vectors[r * 3 + c]!, 10);
      }
    }
    expect(values[0]).toBeGreaterThanOrEqual(values[1]!);
    expect(values[1]).toBeGreaterThanOrEqual(values[2]!);
  });
});
