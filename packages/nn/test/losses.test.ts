import { GraphError, InvalidOptionError, ShapeError, Tensor, UnknownOptionError, type GraphBuilder, type Value } from '@dc/core';
import { crossEntropy, doubleSoftmaxCrossEntropy, entropyOfMean, infoNce, mse, ntXent, scanLoss, scanLossTerms } from '@dc/nn';
import { disposeTestRuntime, randn, runGraph, scalar } from './helpers';

afterAll(disposeTestRuntime);

const N = 6;
const C = 4;
const logits = randn([N, C], 1, 2);
const labels = Tensor.fromArray([0, 3, 1, -1, 2, 3], 'int64');

function rows(t: Tensor): number[][] {
  return t.toArray() as number[][];
}

function logSoftmax(r: number[]): number[] {
  const m = Math.max(...r);
  const lse = m + Math.log(r.reduce((a, x) => a + Math.exp(x - m), 0));
  return r.map((x) => x - lse);
}

function softmax(r: number[]): number[] {
  return logSoftmax(r).map(Math.exp);
}

/** Runs a loss on named float/int inputs. */
async function loss(build: (g: GraphBuilder, v: Record<string, Value>) => Value, feeds: Record<string, Tensor>): Promise<Tensor> {
  const out = await runGraph((g) => {
    const v = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, g.input(k, t.dtype, t.shape)]));
    return { loss_out: build(g, v) };
  }, feeds);
  return out.loss_out!;
}

describe('crossEntropy', () => {
  const lp = rows(logits).map(logSoftmax);
  const lab = [0, 3, 1, -1, 2, 3];
  const perSample = lab.map((y, i) => (y < 0 ? 0 : -lp[i]![y]!));

  it('hard labels: mean over the labelled samples, negative labels ignored', async () => {
    const got = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.y!), { x: logits, y: labels }));
    expect(got).toBeCloseTo(perSample.reduce((a, b) => a + b, 0) / 5, 5);
  });

  it("reduction 'none' and 'sum'", async () => {
    const none = await loss((g, v) => crossEntropy(g, v.x!, v.y!, { reduction: 'none' }), { x: logits, y: labels });
    expect(none.shape).toEqual([N]);
    Array.from(none.data as Float32Array).forEach((x, i) => expect(x).toBeCloseTo(perSample[i]!, 5));
    const sum = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.y!, { reduction: 'sum' }), { x: logits, y: labels }));
    expect(sum).toBeCloseTo(perSample.reduce((a, b) => a + b, 0), 4);
  });

  it('label smoothing follows PyTorch: (1 - eps) * nll + eps * mean_c(-log p_c)', async () => {
    const eps = 0.2;
    const want = lab.map((y, i) => (y < 0 ? 0 : (1 - eps) * -lp[i]![y]! + (eps * -lp[i]!.reduce((a, b) => a + b, 0)) / C));
    const got = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.y!, { labelSmoothing: eps }), { x: logits, y: labels }));
    expect(got).toBeCloseTo(want.reduce((a, b) => a + b, 0) / 5, 5);
  });

  it('per-sample weights and masks: weighted mean, or mean over the batch', async () => {
    const w = Tensor.fromArray([1, 0.5, 2, 1, 0, 3]);
    const mask = Tensor.fromArray([1, 1, 0, 1, 1, 1]);
    const eff = lab.map((y, i) => (y < 0 ? 0 : w.data[i]! * mask.data[i]!));
    const num = perSample.reduce((a, l, i) => a + l * eff[i]!, 0);
    const weighted = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.y!, { weights: v.w, mask: v.m }), { x: logits, y: labels, w, m: mask }));
    expect(weighted).toBeCloseTo(num / eff.reduce((a, b) => a + b, 0), 5);
    const batch = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.y!, { weights: v.w, mask: v.m, reduction: 'batchmean' }), { x: logits, y: labels, w, m: mask }));
    expect(batch).toBeCloseTo(num / N, 5);
  });

  it('a bool mask works, and an all-masked batch gives 0 instead of NaN', async () => {
    const none = Tensor.fromArray([0, 0, 0, 0, 0, 0], 'bool');
    const got = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.y!, { mask: v.m }), { x: logits, y: labels, m: none }));
    expect(got).toBe(0);
  });

  it('soft targets give the same value as their one-hot hard labels, and mixtures interpolate', async () => {
    const hard = Tensor.fromArray([0, 3, 1, 2, 2, 3], 'int64');
    const onehot = Tensor.zeros([N, C]);
    [0, 3, 1, 2, 2, 3].forEach((y, i) => onehot.set([i, y], 1));
    const a = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.y!), { x: logits, y: hard }));
    const b = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.t!), { x: logits, t: onehot }));
    expect(b).toBeCloseTo(a, 5);
    const uniform = Tensor.full([N, C], 1 / C);
    const u = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.t!), { x: logits, t: uniform }));
    const want = lp.reduce((acc, r) => acc - r.reduce((x, y) => x + y, 0) / C, 0) / N;
    expect(u).toBeCloseTo(want, 5);
  });

  it('accepts int32 labels', async () => {
    const got = scalar(await loss((g, v) => crossEntropy(g, v.x!, v.y!), { x: logits, y: Tensor.fromArray([0, 3, 1, -1, 2, 3], 'int32') }));
    expect(got).toBeCloseTo(perSample.reduce((a, b) => a + b, 0) / 5, 5);
  });

  it.each([
    ['labels of the wrong length', (g: GraphBuilder) => crossEntropy(g, g.input('x', 'float32', [N, C]), g.input('y', 'int64', [N + 1])), ShapeError],
    ['soft targets of the wrong width', (g: GraphBuilder) => crossEntropy(g, g.input('x', 'float32', [N, C]), g.input('t', 'float32', [N, C + 1])), GraphError],
    ['rank-3 logits', (g: GraphBuilder) => crossEntropy(g, g.input('x', 'float32', [N, C, 1]), g.input('y', 'int64', [N])), ShapeError],
    ['float64 labels', (g: GraphBuilder) => crossEntropy(g, g.input('x', 'float32', [N, C]), g.input('y', 'float64', [N])), GraphError],
    ['weights of the wrong length', (g: GraphBuilder) => crossEntropy(g, g.input('x', 'float32', [N, C]), g.input('y', 'int64', [N]), { weights: g.input('w', 'float32', [2]) }), ShapeError],
    ['labelSmoothing = 1', (g: GraphBuilder) => crossEntropy(g, g.input('x', 'float32', [N, C]), g.input('y', 'int64', [N]), { labelSmoothing: 1 }), InvalidOptionError],
    ['an unknown reduction', (g: GraphBuilder) => crossEntropy(g, g.input('x', 'float32', [N, C]), g.input('y', 'int64', [N]), { reduction: 'avg' as never }), InvalidOptionError],
    // misspelt options would otherwise be ignored
    ['a misspelt option', (g: GraphBuilder) => crossEntropy(g, g.input('x', 'float32', [N, C]), g.input('y', 'int64', [N]), { labelSmothing: 0.1 } as never), UnknownOptionError],
    ['an unknown mse reduction', (g: GraphBuilder) => mse(g, g.input('x', 'float32', [N, C]), g.input('t', 'float32', [N, C]), { reduction: 'batchmean' as never }), InvalidOptionError],
    ['an unknown mse option', (g: GraphBuilder) => mse(g, g.input('x', 'float32', [N, C]), g.input('t', 'float32', [N, C]), { reduce: 'sum' } as never), UnknownOptionError],
    ['an unknown ntXent option', (g: GraphBuilder) => ntXent(g, g.input('a', 'float32', [N, C]), g.input('b', 'float32', [N, C]), { tau: 0.1 } as never), UnknownOptionError],
    ['an unknown infoNce option', (g: GraphBuilder) => infoNce(g, g.input('q', 'float32', [N, C]), g.input('k', 'float32', [N, C]), g.input('m', 'float32', [8, C]), { temp: 0.1 } as never), UnknownOptionError],
    ['an unknown scanLoss option', (g: GraphBuilder) => scanLoss(g, g.input('a', 'float32', [N, C]), g.input('b', 'float32', [N, C]), { weight: 2 } as never), UnknownOptionError],
  ])('rejects %s', async (_label, build, type) => {
    const { GraphBuilder } = await import('@dc/core');
    expect(() => build(new GraphBuilder())).toThrow(type as never);
  });
});

describe('doubleSoftmaxCrossEntropy (SPICE, Eq. 5)', () => {
  it('is cross-entropy of softmax(p) where p are probabilities', async () => {
    const probs = Tensor.fromArray(rows(logits).map(softmax));
    const got = scalar(await loss((g, v) => doubleSoftmaxCrossEntropy(g, v.p!, v.y!), { p: probs, y: labels }));
    const lab = [0, 3, 1, -1, 2, 3];
    const want = rows(probs).map(logSoftmax).reduce((a, r, i) => (lab[i]! < 0 ? a : a - r[lab[i]!]!), 0) / 5;
    expect(got).toBeCloseTo(want, 5);
    // Double softmax keeps the loss within log(C) +- 1 whatever the confidence: outputs are squashed twice.
    expect(got).toBeLessThan(Math.log(C) + 1);
  });
});

describe('mse', () => {
  it('mean, sum and elementwise', async () => {
    const a = randn([3, 5], 2);
    const b = randn([3, 5], 3);
    const sq = Array.from(a.data, (x, i) => (x - b.data[i]!) ** 2);
    expect(scalar(await loss((g, v) => mse(g, v.a!, v.b!), { a, b }))).toBeCloseTo(sq.reduce((x, y) => x + y, 0) / 15, 5);
    expect(scalar(await loss((g, v) => mse(g, v.a!, v.b!, { reduction: 'sum' }), { a, b }))).toBeCloseTo(sq.reduce((x, y) => x + y, 0), 4);
    expect((await loss((g, v) => mse(g, v.a!, v.b!, { reduction: 'none' }), { a, b })).shape).toEqual([3, 5]);
  });

  it('rejects mismatched shapes', async () => {
    const { GraphBuilder } = await import('@dc/core');
    const g = new GraphBuilder();
    expect(() => mse(g, g.input('a', 'float32', [3, 5]), g.input('b', 'float32', [5, 3]))).toThrow(GraphError);
  });
});

function normalizeRows(r: number[][]): number[][] {
  return r.map((x) => {
    const n = Math.sqrt(x.reduce((a, b) => a + b * b, 0));
    return x.map((v) => v / n);
  });
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('ntXent (SimCLR)', () => {
  it('matches a naive implementation over the 2N views', async () => {
    const z1 = randn([5, 8], 4);
    const z2 = randn([5, 8], 5);
    const tau = 0.3;
    const z = normalizeRows([...rows(z1), ...rows(z2)]);
    let total = 0;
    for (let i = 0; i < 10; i++) {
      const pos = (i + 5) % 10;
      const others = z.map((r, j) => (j === i ? -Infinity : dot(z[i]!, r) / tau));
      total -= logSoftmax(others)[pos]!;
    }
    const got = scalar(await loss((g, v) => ntXent(g, v.a!, v.b!, { temperature: tau }), { a: z1, b: z2 }));
    expect(got).toBeCloseTo(total / 10, 4);
  });

  it('is minimal when the two views agree and differ from the other samples', async () => {
    const base = Tensor.fromArray([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const aligned = scalar(await loss((g, v) => ntXent(g, v.a!, v.b!, { temperature: 0.1 }), { a: base, b: base.clone() }));
    const shuffled = Tensor.fromArray([[0, 1, 0], [0, 0, 1], [1, 0, 0]]);
    const wrong = scalar(await loss((g, v) => ntXent(g, v.a!, v.b!, { temperature: 0.1 }), { a: base, b: shuffled }));
    expect(aligned).toBeLessThan(0.01);
    expect(wrong).toBeGreaterThan(5);
  });

  it.each([
    ['different shapes', [4, 8], [5, 8], GraphError],
    ['a single sample', [1, 8], [1, 8], GraphError],
  ] as const)('rejects %s', async (_l, s1, s2, type) => {
    const { GraphBuilder } = await import('@dc/core');
    const g = new GraphBuilder();
    expect(() => ntXent(g, g.input('a', 'float32', s1), g.input('b', 'float32', s2))).toThrow(type);
  });

  it('rejects a non-positive temperature', async () => {
    const { GraphBuilder } = await import('@dc/core');
    const g = new GraphBuilder();
    expect(() => ntXent(g, g.input('a', 'float32', [4, 8]), g.input('b', 'float32', [4, 8]), { temperature: 0 })).toThrow(InvalidOptionError);
  });
});

describe('infoNce (MoCo)', () => {
  it('matches a naive implementation with the positive in column 0', async () => {
    const q = randn([4, 6], 6);
    const k = randn([4, 6], 7);
    const queue = Tensor.fromArray(normalizeRows(rows(randn([9, 6], 8))));
    const tau = 0.2;
    const qn = normalizeRows(rows(q));
    const kn = normalizeRows(rows(k));
    let total = 0;
    for (let i = 0; i < 4; i++) {
      const l = [dot(qn[i]!, kn[i]!), ...rows(queue).map((r) => dot(qn[i]!, r))].map((x) => x / tau);
      total -= logSoftmax(l)[0]!;
    }
    const got = scalar(await loss((g, v) => infoNce(g, v.q!, v.k!, v.queue!, { temperature: tau }), { q, k, queue }));
    expect(got).toBeCloseTo(total / 4, 4);
  });

  it('rejects a queue of another width', async () => {
    const { GraphBuilder } = await import('@dc/core');
    const g = new GraphBuilder();
    expect(() => infoNce(g, g.input('q', 'float32', [4, 6]), g.input('k', 'float32', [4, 6]), g.input('m', 'float32', [9, 5]))).toThrow(GraphError);
  });
});

describe('entropyOfMean and the SCAN loss', () => {
  it('entropy of the mean prediction: log C for balanced, 0 for a collapsed batch', async () => {
    const balanced = Tensor.fromArray([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(scalar(await loss((g, v) => entropyOfMean(g, v.p!), { p: balanced }))).toBeCloseTo(Math.log(3), 5);
    const collapsed = Tensor.fromArray([[1, 0, 0], [1, 0, 0]]);
    expect(scalar(await loss((g, v) => entropyOfMean(g, v.p!), { p: collapsed }))).toBeCloseTo(0, 5);
  });

  it('SCAN: consistency - w * entropy, matching a naive implementation', async () => {
    const a = randn([5, 3], 9);
    const nb = randn([5, 3], 10);
    const pa = rows(a).map(softmax);
    const pn = rows(nb).map(softmax);
    const consistency = -pa.reduce((s, p, i) => s + Math.log(dot(p, pn[i]!)), 0) / 5;
    const mean = [0, 1, 2].map((c) => pa.reduce((s, p) => s + p[c]!, 0) / 5);
    const entropy = -mean.reduce((s, m) => s + m * Math.log(m), 0);
    const out = await runGraph((g) => {
      const t = scanLossTerms(g, g.input('a', 'float32', [5, 3]), g.input('n', 'float32', [5, 3]), { entropyWeight: 2 });
      return { total: t.total, consistency: t.consistency, entropy: t.entropy };
    }, { a, n: nb });
    expect(scalar(out.consistency)).toBeCloseTo(consistency, 5);
    expect(scalar(out.entropy)).toBeCloseTo(entropy, 5);
    expect(scalar(out.total)).toBeCloseTo(consistency - 2 * entropy, 5);
    const probs = scalar(await loss((g, v) => scanLoss(g, v.a!, v.n!, { entropyWeight: 2, inputs: 'probabilities' }), {
      a: Tensor.fromArray(pa), n: Tensor.fromArray(pn),
    }));
    expect(probs).toBeCloseTo(consistency - 2 * entropy, 5);
  });

  it.each([
    ['a negative entropyWeight', { entropyWeight: -1 }],
    ['unknown inputs kind', { inputs: 'scores' as never }],
  ])('rejects %s', async (_l, o) => {
    const { GraphBuilder } = await import('@dc/core');
    const g = new GraphBuilder();
    expect(() => scanLoss(g, g.input('a', 'float32', [4, 3]), g.input('b', 'float32', [4, 3]), o)).toThrow(InvalidOptionError);
  });

  it('rejects anchors and neighbours of different shapes', async () => {
    const { GraphBuilder } = await import('@dc/core');
    const g = new GraphBuilder();
    expect(() => scanLoss(g, g.input('a', 'float32', [4, 3]), g.input('b', 'float32', [4, 2]))).toThrow(GraphError);
  });
});
