import { InvalidInputError, InvalidOptionError, NonFiniteError, Rng, ShapeError, Tensor, UnknownOptionError, knn } from '@dc/core';

function randomMatrix(n: number, d: number, seed: number): Tensor<'float32'> {
  const t = Tensor.zeros([n, d]);
  new Rng(seed).fillNormal(t.data);
  return t;
}

/** Naive reference: all pairs in float64, sorted. */
function naive(x: Tensor<'float32'>, k: number, metric: 'cosine' | 'euclidean', includeSelf: boolean, query = x) {
  const [n, d] = x.shape as [number, number];
  const m = query.shape[0]!;
  const out: { idx: number[]; val: number[] }[] = [];
  for (let i = 0; i < m; i++) {
    const scored: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (!includeSelf && query === x && i === j) continue;
      let dot = 0, na = 0, nb = 0, sq = 0;
      for (let c = 0; c < d; c++) {
        const a = query.data[i * d + c]!, b = x.data[j * d + c]!;
        dot += a * b; na += a * a; nb += b * b; sq += (a - b) ** 2;
      }
      scored.push([metric === 'cosine' ? dot / Math.sqrt(na * nb) : Math.sqrt(sq), j]);
    }
    scored.sort((a, b) => (metric === 'cosine' ? b[0] - a[0] : a[0] - b[0]));
    out.push({ idx: scored.slice(0, k).map((s) => s[1]), val: scored.slice(0, k).map((s) => s[0]) });
  }
  return out;
}

describe('knn', () => {
  const x = randomMatrix(300, 12, 3);

  it.each([
    ['cosine', false],
    ['cosine', true],
    ['euclidean', false],
    ['euclidean', true],
  ] as const)('matches a naive reference (%s, includeSelf=%s)', async (metric, includeSelf) => {
    const k = 7;
    const got = await knn(x, { k, metric, includeSelf, blockSize: 64 });
    const want = naive(x, k, metric, includeSelf);
    expect(got.indices.shape).toEqual([300, k]);
    for (let i = 0; i < 300; i++) {
      for (let j = 0; j < k; j++) {
        expect(got.values.get(i, j)).toBeCloseTo(want[i]!.val[j]!, 4);
      }
      // indices agree except where two neighbours are tied to float precision
      const ids = Array.from(got.indices.data.subarray(i * k, (i + 1) * k));
      expect(ids).toEqual(want[i]!.idx);
    }
  });

  it('finds neighbours of separate query rows', async () => {
    const q = randomMatrix(20, 12, 9);
    const got = await knn(x, { k: 5, query: q, metric: 'euclidean' });
    const want = naive(x, 5, 'euclidean', true, q);
    for (let i = 0; i < 20; i++) expect(Array.from(got.indices.data.subarray(i * 5, i * 5 + 5))).toEqual(want[i]!.idx);
  });

  it('rejects bad input with typed errors', async () => {
    await expect(knn(x, { k: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(knn(x, { k: 300 })).rejects.toThrow(InvalidOptionError);
    await expect(knn(x, { k: 2.5 })).rejects.toThrow(InvalidOptionError);
    await expect(knn(x, { k: 3, metric: 'manhattan' as 'cosine' })).rejects.toThrow(InvalidOptionError);
    await expect(knn(x, { k: 3, kk: 2 } as never)).rejects.toThrow(UnknownOptionError);
    await expect(knn(Tensor.zeros([5]), { k: 1 })).rejects.toThrow(ShapeError);
    await expect(knn(Tensor.zeros([1, 3]), { k: 1 })).rejects.toThrow(InvalidInputError);
    const bad = x.clone();
    bad.data[17] = NaN;
    await expect(knn(bad, { k: 3 })).rejects.toThrow(NonFiniteError);
    await expect(knn(x, { k: 3, query: Tensor.zeros([2, 5]) })).rejects.toThrow(ShapeError);
  });

  it('reports the constraint in the message', async () => {
    await expect(knn(x, { k: 300 })).rejects.toThrow("The 'k' parameter of knn must be an integer in the range [1, 299]. Got 300 instead.");
  });
});
