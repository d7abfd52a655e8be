import { join } from 'node:path';
import { InvalidOptionError, NonFiniteError, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import { fitKMeans, type KMeansOptions } from '@dc/consensus';
import { adjustedRandIndex, readJson } from './helpers';

const points = readJson<{ x: number[][] }>(join(__dirname, 'fixtures', 'gmm', 'sklearn.json')).x;
const ref = readJson<{ inertia: Record<string, number>; labels3: number[] }>(join(__dirname, 'fixtures', 'kmeans', 'sklearn.json'));
const x = new Tensor('float64', Float64Array.from(points.flat()), [points.length, 3]);

describe('fitKMeans', () => {
  it.each(Object.keys(ref.inertia))("comes within 0.1% of scikit-learn's best inertia over 10 restarts for k = %s", (k) => {
    // Restarts land in different local optima (k = 5: ours 963.57 with seed 1, scikit-learn 963.51).
    const km = fitKMeans(x, { k: Number(k), nInit: 10, seed: 1 });
    expect(km.inertia).toBeLessThanOrEqual(ref.inertia[k]! * 1.001);
    expect(km.converged).toBe(true);
  });

  it("finds scikit-learn's partition for k = 3 and predicts it back", () => {
    const km = fitKMeans(x, { k: 3, nInit: 10, seed: 1 });
    expect(adjustedRandIndex(km.labels, ref.labels3)).toBe(1);
    expect(Array.from(km.predict(x))).toEqual(Array.from(km.labels));
    // The inertia is the sum of squared distances to the assigned centroids.
    let s = 0;
    points.forEach((p, i) => p.forEach((v, j) => (s += (v - km.centroids[km.labels[i]! * 3 + j]!) ** 2)));
    expect(km.inertia).toBeCloseTo(s, 8);
  });

  it('labels every row with its nearest returned centroid when the iteration limit ends the run', () => {
    const km = fitKMeans(x, { k: 5, maxIterations: 1, seed: 2 });
    expect(Array.from(km.predict(x))).toEqual(Array.from(km.labels));
    let s = 0;
    points.forEach((p, i) => p.forEach((v, j) => (s += (v - km.centroids[km.labels[i]! * 3 + j]!) ** 2)));
    expect(km.inertia).toBeCloseTo(s, 8);
  });

  it('is reproducible from its seed', () => {
    const a = fitKMeans(x, { k: 4, seed: 7 });
    const b = fitKMeans(x, { k: 4, seed: 7 });
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
  });

  const bad: [string, Record<string, unknown>, new (...args: never[]) => Error][] = [
    ['k 0', { k: 0 }, InvalidOptionError],
    ['k above n', { k: 601 }, InvalidOptionError],
    ['nInit 0', { k: 2, nInit: 0 }, InvalidOptionError],
    ['maxIterations 0', { k: 2, maxIterations: 0 }, InvalidOptionError],
    ['negative tolerance', { k: 2, tolerance: -1 }, InvalidOptionError],
    ['a misspelt option', { k: 2, seeds: 1 }, UnknownOptionError],
  ];
  it.each(bad)('rejects %s', (_, options, type) => {
    expect(() => fitKMeans(x, options as unknown as KMeansOptions)).toThrow(type);
  });

  it('rejects bad data and new rows of the wrong width', () => {
    expect(() => fitKMeans(new Tensor('float32', Float32Array.from([0, NaN]), [1, 2]), { k: 1 })).toThrow(NonFiniteError);
    expect(() => fitKMeans(x, { k: 2 }).predict(Tensor.zeros([2, 2]))).toThrow(ShapeError);
  });
});
