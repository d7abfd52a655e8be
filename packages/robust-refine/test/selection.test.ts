import { InvalidInputError, InvalidOptionError, NonFiniteError, Rng, ShapeError, Tensor, UnknownOptionError, disposeSharedRuntimes } from '@dc/core';
import { confidenceMask, neighbourVote, readPseudoLabels, selectCleanSamples } from '@dc/robust-refine';

afterAll(() => disposeSharedRuntimes());

describe('readPseudoLabels', () => {
  it('reads hard labels and infers the number of clusters', () => {
    const p = readPseudoLabels([0, 2, 1, 2]);
    expect(p.numClusters).toBe(3);
    expect(Array.from(p.labels)).toEqual([0, 2, 1, 2]);
    expect(p.probabilities).toBeNull();
    expect(readPseudoLabels(Tensor.fromArray([1, 0], 'int32'), { numClusters: 4 }).numClusters).toBe(4);
  });

  it('reads probabilities: argmax labels and max confidence', () => {
    const p = readPseudoLabels(Tensor.fromArray([[0.1, 0.9], [0.7, 0.3], [0.5, 0.5]]));
    expect(p.numClusters).toBe(2);
    expect(Array.from(p.labels)).toEqual([1, 0, 0]);
    expect(p.confidence![0]).toBeCloseTo(0.9, 6);
    expect(readPseudoLabels([[0.2, 0.8], [1, 0]]).labels[0]).toBe(1);
  });

  it('rejects labels of the wrong length', () => {
    expect(() => readPseudoLabels([0, 1, 1], { n: 4 })).toThrow(ShapeError);
  });

  it('rejects non-integer and negative labels', () => {
    expect(() => readPseudoLabels([0, 1.5])).toThrow(InvalidInputError);
    expect(() => readPseudoLabels([0, -1])).toThrow(InvalidInputError);
    expect(() => readPseudoLabels([0, NaN])).toThrow(InvalidInputError);
  });

  it('rejects labels too large for 32 bits instead of wrapping them', () => {
    expect(() => readPseudoLabels([0, 1, 2, 2 ** 32])).toThrow(/at most 2147483647/);
    expect(() => readPseudoLabels([0, 2 ** 31])).toThrow(InvalidInputError);
  });

  it('checks its options', () => {
    expect(() => readPseudoLabels([0, 1], { numCluster: 3 } as never)).toThrow(UnknownOptionError);
    expect(() => readPseudoLabels([[0.9, 0.9]], { tolerance: NaN })).toThrow(InvalidOptionError);
    expect(() => readPseudoLabels([[0.5, 0.5]], { tolerance: -1 })).toThrow(InvalidOptionError);
    expect(() => readPseudoLabels([0, 1], { numClusters: 1 })).toThrow(InvalidOptionError);
    // a looser tolerance accepts what the default rejects
    expect(() => readPseudoLabels([[0.5, 0.502]])).toThrow(/sum to 1/);
    expect(readPseudoLabels([[0.5, 0.502]], { tolerance: 0.01 }).labels[0]).toBe(1);
  });

  it('rejects labels beyond numClusters', () => {
    expect(() => readPseudoLabels([0, 3], { numClusters: 3 })).toThrow(InvalidInputError);
  });

  it('rejects probabilities of the wrong shape', () => {
    expect(() => readPseudoLabels(Tensor.fromArray([[0.5, 0.5]]), { n: 2 })).toThrow(ShapeError);
    expect(() => readPseudoLabels(Tensor.fromArray([[0.5, 0.5]]), { numClusters: 3 })).toThrow(ShapeError);
    expect(() => readPseudoLabels(Tensor.fromArray([[1], [1]]))).toThrow(ShapeError);
    expect(() => readPseudoLabels(Tensor.zeros([2, 2, 2]))).toThrow(ShapeError);
    expect(() => readPseudoLabels([[0.5, 0.5], [1]])).toThrow(InvalidInputError);
  });

  it('rejects probability rows that do not sum to 1', () => {
    expect(() => readPseudoLabels(Tensor.fromArray([[0.5, 0.6], [0.5, 0.5]]))).toThrow(/row 0 sums to 1.1/);
    expect(() => readPseudoLabels(Tensor.fromArray([[0.5, 0.6]]))).toThrow(InvalidInputError);
  });

  it('rejects negative and non-finite probabilities', () => {
    expect(() => readPseudoLabels(Tensor.fromArray([[1.5, -0.5]]))).toThrow(InvalidInputError);
    expect(() => readPseudoLabels(Tensor.fromArray([[NaN, 1]]))).toThrow(NonFiniteError);
  });

  it('rejects inputs that are neither labels nor probabilities', () => {
    expect(() => readPseudoLabels(42 as never)).toThrow(InvalidInputError);
    expect(() => readPseudoLabels(Tensor.fromArray([[0.5, 0.5]], 'int32') as Tensor)).toThrow(InvalidInputError);
  });
});

describe('confidence strategy', () => {
  it('keeps max(p) > tau1', () => {
    expect(Array.from(confidenceMask([0.995, 0.6, 0.999, 0.99], 0.99))).toEqual([1, 0, 1, 0]);
  });

  it('selects from probabilities', async () => {
    const probs = Tensor.fromArray([[0.995, 0.005], [0.6, 0.4], [0.001, 0.999]]);
    const s = await selectCleanSamples(probs);
    expect(s.strategy).toBe('confidence');
    expect(Array.from(s.clean)).toEqual([1, 0, 1]);
    expect(Array.from(s.cleanIndices)).toEqual([0, 2]);
    expect(Array.from(s.uncleanIndices)).toEqual([1]);
    expect(Array.from(s.cleanPerCluster)).toEqual([1, 1]);
    const loose = await selectCleanSamples(probs, { tau1: 0.5 });
    expect(Array.from(loose.clean)).toEqual([1, 1, 1]);
  });
});

describe('metric strategy', () => {
  it('votes with the plurality of the neighbours (ties count for the own label)', () => {
    const labels = Int32Array.from([0, 0, 1, 1]);
    // k = 2 neighbours per sample
    const nb = Int32Array.from([1, 2, /**/ 0, 3, /**/ 0, 1, /**/ 2, 2]);
    const v = neighbourVote(labels, nb, 2, 2);
    // 0: {0, 1} tie -> agree; 1: {0, 1} tie -> agree; 2: {0, 0} -> disagree; 3: {1, 1} -> agree
    expect(Array.from(v.agree)).toEqual([1, 1, 0, 1]);
    expect(Array.from(v.share)).toEqual([0.5, 0.5, 0, 1]);
  });

  // two groups on a line: 0, 0.1, 0.2 and 10, 10.1, 10.2; the sample at 0.2 carries the wrong label 1
  const points = Tensor.fromArray([[0], [0.1], [0.2], [10], [10.1], [10.2]]);
  const labels = [0, 0, 1, 1, 1, 1];

  it('rejects a label its nearest neighbours do not share (exact kNN)', async () => {
    const s = await selectCleanSamples(labels, { embeddings: points, k: 2, knnMetric: 'euclidean' });
    expect(s.strategy).toBe('metric');
    // sample 0 has neighbours 0.1 (0) and 0.2 (1): a tie with its own label, kept
    expect(Array.from(s.clean)).toEqual([1, 1, 0, 1, 1, 1]);
    expect(s.k).toBe(2);
  });

  it('defaults k to min(100, n - 1)', async () => {
    const s = await selectCleanSamples(labels, { embeddings: points, knnMetric: 'euclidean' });
    expect(s.k).toBe(5);
    // with all 5 other samples as neighbours the plurality is label 1 (4 of them for samples 0 and 1)
    expect(Array.from(s.clean)).toEqual([0, 0, 1, 1, 1, 1]);
  });

  it('finds mislabeled samples in blobs', async () => {
    const rng = new Rng(3);
    const n = 300;
    const x = Tensor.zeros([n, 8]);
    const truth = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      truth[i] = i % 3;
      for (let j = 0; j < 8; j++) x.data[i * 8 + j] = rng.normal() * 0.5 + (j === truth[i] ? 4 : 0);
    }
    const noisy = truth.slice();
    const flipped = new Set<number>();
    for (const i of rng.choice(n, 60)) {
      noisy[i] = (truth[i]! + 1 + rng.int(2)) % 3;
      flipped.add(i);
    }
    const s = await selectCleanSamples(noisy, { embeddings: x, k: 10 });
    let caught = 0;
    let wrongly = 0;
    for (let i = 0; i < n; i++) {
      if (flipped.has(i) && !s.clean[i]) caught++;
      if (!flipped.has(i) && !s.clean[i]) wrongly++;
    }
    // every flipped label is caught; a correct label is lost only when noise outvotes it among its neighbours
    expect(caught).toBe(60);
    expect(wrongly).toBeLessThanOrEqual(3);
  });
});

describe('hybrid strategy', () => {
  it('keeps samples both strategies keep', async () => {
    const probs = Tensor.fromArray([[0.995, 0.005], [0.999, 0.001], [0.6, 0.4], [0.001, 0.999], [0.3, 0.7], [0.002, 0.998]]);
    const emb = Tensor.fromArray([[0], [0.1], [0.2], [10], [10.1], [10.2]]);
    const s = await selectCleanSamples(probs, { embeddings: emb, k: 2, knnMetric: 'euclidean' });
    expect(s.strategy).toBe('hybrid');
    expect(Array.from(s.masks.confidence!)).toEqual([1, 1, 0, 1, 0, 1]);
    expect(Array.from(s.masks.metric!)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(s.clean)).toEqual([1, 1, 0, 1, 0, 1]);
    const m = await selectCleanSamples(probs, { embeddings: emb, k: 2, knnMetric: 'euclidean', strategy: 'metric' });
    expect(Array.from(m.clean)).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('selectCleanSamples input checks', () => {
  const emb = Tensor.fromArray([[0], [1], [2], [3]]);
  const probs = Tensor.fromArray([[1, 0], [1, 0], [0, 1], [0, 1]]);

  it('rejects k out of range', async () => {
    await expect(selectCleanSamples([0, 0, 1, 1], { embeddings: emb, k: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(selectCleanSamples([0, 0, 1, 1], { embeddings: emb, k: 4 })).rejects.toThrow(/range \[1, 3\]/);
    await expect(selectCleanSamples([0, 0, 1, 1], { embeddings: emb, k: 2.5 })).rejects.toThrow(InvalidOptionError);
  });

  it('rejects tau1 outside (0, 1)', async () => {
    for (const tau1 of [0, 1, 1.5, -0.2, NaN]) {
      await expect(selectCleanSamples(probs, { tau1 })).rejects.toThrow(InvalidOptionError);
    }
    expect(() => confidenceMask([0.5], 1)).toThrow(InvalidOptionError);
  });

  it('rejects unknown options and strategies', async () => {
    await expect(selectCleanSamples(probs, { tau: 0.9 } as never)).rejects.toThrow(UnknownOptionError);
    await expect(selectCleanSamples(probs, { strategy: 'knn' } as never)).rejects.toThrow(InvalidOptionError);
  });

  it('needs probabilities for the confidence and hybrid strategies', async () => {
    await expect(selectCleanSamples([0, 0, 1, 1])).rejects.toThrow(/needs per-class probabilities/);
    await expect(selectCleanSamples([0, 0, 1, 1], { embeddings: emb, strategy: 'hybrid' })).rejects.toThrow(InvalidInputError);
  });

  it('needs embeddings for the metric and hybrid strategies', async () => {
    await expect(selectCleanSamples(probs, { strategy: 'metric' })).rejects.toThrow(InvalidInputError);
  });

  it('rejects embeddings with another number of rows, wrong shape or NaN', async () => {
    await expect(selectCleanSamples([0, 0, 1], { embeddings: emb })).rejects.toThrow(/one row per sample/);
    await expect(selectCleanSamples([0, 0, 1, 1], { embeddings: Tensor.zeros([4]) })).rejects.toThrow(ShapeError);
    await expect(selectCleanSamples([0, 0, 1, 1], { embeddings: Tensor.fromArray([[0], [NaN], [1], [2]]) })).rejects.toThrow(NonFiniteError);
  });
});
