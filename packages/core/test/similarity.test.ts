import { InvalidInputError, NonFiniteError, Rng, ShapeError, Tensor, cosineSimilarity, l2Normalize, linearSumAssignment, squaredEuclidean } from '@dc/core';

const rng = new Rng(11);
const a = Tensor.zeros([7, 5]);
const b = Tensor.zeros([4, 5]);
rng.fillNormal(a.data);
rng.fillNormal(b.data);

function dot(x: Tensor, i: number, y: Tensor, j: number): number {
  const d = x.shape[1]!;
  let s = 0;
  for (let c = 0; c < d; c++) s += x.data[i * d + c]! as number * (y.data[j * d + c]! as number);
  return s;
}

describe('similarity kernels', () => {
  it('l2Normalize gives unit rows and leaves zero rows at zero', async () => {
    const x = Tensor.fromArray([[3, 4], [0, 0], [1e-30, 0]]);
    const y = await l2Normalize(x);
    expect(y.get(0, 0)).toBeCloseTo(0.6, 6);
    expect(y.get(0, 1)).toBeCloseTo(0.8, 6);
    expect((y.toArray() as number[][])[1]).toEqual([0, 0]);
    expect(Number.isFinite(y.get(2, 0))).toBe(true);
  });

  it('cosineSimilarity matches the definition', async () => {
    const s = await cosineSimilarity(a, b);
    expect(s.shape).toEqual([7, 4]);
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 4; j++) {
        const want = dot(a, i, b, j) / Math.sqrt(dot(a, i, a, i) * dot(b, j, b, j));
        expect(s.get(i, j)).toBeCloseTo(want, 5);
      }
    }
    const self = await cosineSimilarity(a);
    for (let i = 0; i < 7; i++) expect(self.get(i, i)).toBeCloseTo(1, 5);
  });

  it('squaredEuclidean matches the definition and is never negative', async () => {
    const s = await squaredEuclidean(a, b);
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 4; j++) {
        const want = dot(a, i, a, i) + dot(b, j, b, j) - 2 * dot(a, i, b, j);
        expect(s.get(i, j)).toBeCloseTo(want, 4);
      }
    }
    const self = await squaredEuclidean(a);
    for (let i = 0; i < 7; i++) expect(self.get(i, i)).toBeGreaterThanOrEqual(0);
  });

  it('accepts float64 input and rejects bad input', async () => {
    expect((await l2Normalize(a.astype('float64'))).dtype).toBe('float32');
    await expect(cosineSimilarity(a, Tensor.zeros([2, 3]))).rejects.toThrow(ShapeError);
    await expect(l2Normalize(Tensor.zeros([3]))).rejects.toThrow(ShapeError);
    await expect(l2Normalize(Tensor.zeros([0, 3]))).rejects.toThrow(InvalidInputError);
    const bad = a.clone();
    bad.data[3] = NaN;
    await expect(squaredEuclidean(bad)).rejects.toThrow(NonFiniteError);
  });
});

describe('linearSumAssignment', () => {
  function bruteForce(m: number[][]): number {
    const n = m.length;
    const cols = m[0]!.length;
    let best = Infinity;
    const used = new Array(cols).fill(false);
    const go = (r: number, acc: number) => {
      if (r === Math.min(n, cols) && n <= cols) return void (best = Math.min(best, acc));
      if (r === n) return void (best = Math.min(best, acc));
      for (let c = 0; c < cols; c++) {
        if (used[c]) continue;
        used[c] = true;
        go(r + 1, acc + m[r]![c]!);
        used[c] = false;
      }
    };
    go(0, 0);
    return best;
  }

  it('finds the optimum of random square and wide matrices', () => {
    const r = new Rng(5);
    for (let t = 0; t < 30; t++) {
      const n = 1 + r.int(5);
      const cols = n + r.int(3);
      const m = Array.from({ length: n }, () => Array.from({ length: cols }, () => r.int(20)));
      const res = linearSumAssignment(m);
      expect(res.pairs).toHaveLength(n);
      expect(new Set(res.pairs.map((p) => p[1])).size).toBe(n);
      expect(res.total).toBe(bruteForce(m));
    }
  });

  it('maximises and handles tall matrices', () => {
    const m = [[1, 9], [8, 2], [5, 5]];
    const res = linearSumAssignment(m, { maximize: true });
    expect(res.total).toBe(17);
    expect(res.pairs).toEqual([[0, 1], [1, 0]]);
    expect(linearSumAssignment([]).pairs).toEqual([]);
  });

  it('rejects ragged or non-finite matrices', () => {
    expect(() => linearSumAssignment([[1, 2], [3]])).toThrow(InvalidInputError);
    expect(() => linearSumAssignment([[1, NaN]])).toThrow(NonFiniteError);
  });
});
