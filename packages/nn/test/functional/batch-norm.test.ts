/** batchNorm: PyTorch semantics (fixture from torch), closed-form gradient, eval mode, argument errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder, InvalidInputError, InvalidOptionError, ShapeError, Tensor } from '@dc/core';
import { gradients } from '../../src/autodiff/gradients.js';
import { batchNorm } from '../../src/functional/batch-norm.js';
import { disposeRuntime, expectClose, expectGradOk, randn, randu, run, toArray } from '../autodiff/util.js';

afterAll(disposeRuntime);

interface FixtureCase {
  shape: number[];
  momentum: number;
  eps: number;
  y: number[];
  dx: number[];
  dweight: number[];
  dbias: number[];
  running_mean: number[];
  running_var: number[];
}
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'batchnorm.json'), 'utf8')) as { cases: FixtureCase[] };

/** The generator's formula (fixtures/generate_batchnorm.py). */
function formula(n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + salt) * 1.5 + ((i * 7 + salt) % 5) * 0.2);
}

describe('batchNorm in training mode', () => {
  it.each(fixture.cases.map((c) => [c.shape, c] as const))('matches PyTorch for x %j (y, gradients, running statistics)', async (shape, c) => {
    const ch = shape[1]!;
    const numel = shape.reduce((a, b) => a * b, 1);
    const t = (values: number[], s: readonly number[]) => new Tensor('float64', Float64Array.from(values), s);
    const feeds = {
      x: t(formula(numel, 1), shape),
      w: t(formula(ch, 3), [ch]),
      b: t(formula(ch, 4), [ch]),
      rm: t(formula(ch, 5), [ch]),
      rv: t(formula(ch, 6).map((v) => Math.abs(v) + 0.5), [ch]),
    };
    const out = await run((g) => {
      const x = g.input('x', 'float64', shape);
      const [w, b, rm, rv] = ['w', 'b', 'rm', 'rv'].map((n) => g.input(n, 'float64', [ch]));
      const r = batchNorm(g, x, { weight: w!, bias: b!, runningMean: rm!, runningVar: rv!, training: true, momentum: c.momentum, eps: c.eps });
      const loss = g.op('ReduceSum', [g.op('Mul', [r.y, g.constant(t(formula(numel, 2), shape))])], { keepdims: 0 });
      const [dx, dw, db] = gradients(g, loss, [x, w!, b!]);
      return { y: r.y, dx: dx!, dw: dw!, db: db!, newMean: r.newRunningMean!, newVar: r.newRunningVar! };
    }, feeds);
    expectClose(out.y!, c.y, 1e-10, 1e-9);
    expectClose(out.dx!, c.dx, 1e-10, 1e-8);
    expectClose(out.dw!, c.dweight, 1e-10, 1e-9);
    expectClose(out.db!, c.dbias, 1e-10, 1e-9);
    expectClose(out.newMean!, c.running_mean, 1e-12, 1e-10);
    expectClose(out.newVar!, c.running_var, 1e-12, 1e-10);
  });

  it.each([[[5, 3]], [[3, 2, 4]], [[2, 3, 3, 4]]])('closed-form gradient passes a finite-difference check for x %j', async (shape) => {
    await expectGradOk(
      (g, [x, w, b]) => batchNorm(g, x!, { weight: w!, bias: b!, runningMean: g.constant(Tensor.zeros([shape[1]!], 'float64')), runningVar: g.constant(Tensor.ones([shape[1]!], 'float64')), training: true }).y,
      [randn(shape), randn([shape[1]!]), randn([shape[1]!])],
    );
  });

  it('is differentiated through its custom gradient, not node by node', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [8, 4, 5, 5]);
    const p = ['w', 'b', 'm', 'v'].map((n) => g.input(n, 'float32', [4]));
    const { y } = batchNorm(g, x, { weight: p[0]!, bias: p[1]!, runningMean: p[2]!, runningVar: p[3]!, training: true });
    const loss = g.op('ReduceSum', [y], { keepdims: 0 });
    const before = g.nodes.length;
    gradients(g, loss, [x, p[0]!, p[1]!]);
    const nodes = g.nodes.slice(before);
    const ops = nodes.map((n) => n.opType);
    // Expand of the seed, two per-channel sums (each a pass over the full tensor, then a sum over the batch),
    // per-channel coefficients and three full-size passes for dx.
    const fullSize = nodes.filter((n) => n.opType.startsWith('Reduce') && n.inputs[0]!.shape.join() === '8,4,5,5');
    expect(fullSize).toHaveLength(2);
    expect(ops).not.toContain('Sqrt');
    expect(ops).not.toContain('Reciprocal');
  });

  it('keeps float32 statistics accurate when the mean is large against the spread', async () => {
    // 65536 values per channel around 1000 with spread 0.01: a float32 mean is off by ~2e-4 here, 2% of the
    // spread, which a single-pass mean would pass on to every normalised output.
    const shape = [256, 2, 16, 16];
    const x = randn(shape, 'float32', 0.01);
    for (let i = 0; i < x.size; i++) x.data[i] = x.data[i]! + 1000;
    const out = await run((g) => {
      const xv = g.input('x', 'float32', shape);
      const r = batchNorm(g, xv, { weight: g.constant(Tensor.ones([2])), bias: g.constant(Tensor.zeros([2])), runningMean: g.constant(Tensor.zeros([2])), runningVar: g.constant(Tensor.ones([2])), training: true });
      return { y: r.y };
    }, { x });
    const inner = 256;
    const want = new Float64Array(x.size);
    // (reference statistics in float64 from the same float32 inputs)
    for (const ch of [0, 1]) {
      const idx = Array.from({ length: x.size }, (_, i) => i).filter((i) => Math.floor(i / inner) % 2 === ch);
      const mean = idx.reduce((a, i) => a + x.data[i]!, 0) / idx.length;
      const variance = idx.reduce((a, i) => a + (x.data[i]! - mean) ** 2, 0) / idx.length;
      for (const i of idx) want[i] = (x.data[i]! - mean) / Math.sqrt(variance + 1e-5);
    }
    expectClose(out.y!, want, 1e-3, 0);
  });

  it('takes a symbolic batch size (element count computed at run time)', async () => {
    const x = randn([6, 2]);
    const out = await run((g) => {
      const xv = g.input('x', 'float64', ['n', 2]);
      const r = batchNorm(g, xv, {
        weight: g.constant(Tensor.ones([2], 'float64')),
        bias: g.constant(Tensor.zeros([2], 'float64')),
        runningMean: g.constant(Tensor.zeros([2], 'float64')),
        runningVar: g.constant(Tensor.ones([2], 'float64')),
        training: true,
        momentum: 1,
      });
      return { y: r.y, newVar: r.newRunningVar! };
    }, { x });
    const col = (j: number) => toArray(x).filter((_, i) => i % 2 === j);
    const ys = toArray(out.y!);
    for (const j of [0, 1]) {
      const v = col(j);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const varB = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
      expectClose(ys.filter((_, i) => i % 2 === j), v.map((u) => (u - mean) / Math.sqrt(varB + 1e-5)), 1e-9, 1e-9);
      expect(out.newVar!.data[j]).toBeCloseTo((varB * v.length) / (v.length - 1), 10);
    }
  });
});

describe('batchNorm in evaluation mode', () => {
  it.each([[[4, 3]], [[2, 3, 5]], [[2, 3, 4, 4]]])('normalises with the running statistics for x %j and has a checked gradient', async (shape) => {
    const x = randn(shape);
    const [w, b, m] = [randn([3]), randn([3]), randn([3])];
    const v = randu([3], 0.5, 2);
    const out = await run((g) => {
      const xv = g.input('x', 'float64', shape);
      const r = batchNorm(g, xv, { weight: g.constant(w), bias: g.constant(b), runningMean: g.constant(m), runningVar: g.constant(v), training: false, eps: 1e-3 });
      expect(r.newRunningMean).toBeUndefined();
      return { y: r.y };
    }, { x });
    const inner = shape.slice(2).reduce((a, c) => a * c, 1);
    const want = toArray(x).map((u, i) => {
      const ch = Math.floor(i / inner) % 3;
      return ((u - m.data[ch]!) / Math.sqrt(v.data[ch]! + 1e-3)) * w.data[ch]! + b.data[ch]!;
    });
    expectClose(out.y!, want, 1e-10, 1e-10);
    await expectGradOk(
      (g, [xv, wv, bv]) => batchNorm(g, xv!, { weight: wv!, bias: bv!, runningMean: g.constant(m), runningVar: g.constant(v), training: false }).y,
      [x, w, b],
    );
  });
});

describe('batchNorm argument errors', () => {
  const setup = () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [4, 3, 2, 2]);
    const p = { weight: g.input('w', 'float32', [3]), bias: g.input('b', 'float32', [3]), runningMean: g.input('m', 'float32', [3]), runningVar: g.input('v', 'float32', [3]), training: true };
    return { g, x, p };
  };
  it('rejects an input of rank 1 or 5', () => {
    const { g, p } = setup();
    expect(() => batchNorm(g, g.input('y', 'float32', [3]), p)).toThrow(ShapeError);
    expect(() => batchNorm(g, g.input('z', 'float32', [1, 3, 1, 1, 1]), p)).toThrow(ShapeError);
  });
  it.each(['weight', 'bias', 'runningMean', 'runningVar'] as const)('rejects a %s of the wrong length', (name) => {
    const { g, x, p } = setup();
    expect(() => batchNorm(g, x, { ...p, [name]: g.input(`bad_${name}`, 'float32', [4]) })).toThrow(ShapeError);
  });
  it('rejects a parameter of another dtype', () => {
    const { g, x, p } = setup();
    expect(() => batchNorm(g, x, { ...p, weight: g.input('w64', 'float64', [3]) })).toThrow(InvalidInputError);
  });
  it('rejects an int input', () => {
    const { g, p } = setup();
    expect(() => batchNorm(g, g.input('xi', 'int64', [4, 3]), p)).toThrow(InvalidInputError);
  });
  it.each([
    ['momentum', -0.1],
    ['momentum', 1.5],
    ['eps', 0],
    ['eps', Number.NaN],
    ['training', 'yes'],
  ] as const)('rejects %s = %p', (name, value) => {
    const { g, x, p } = setup();
    expect(() => batchNorm(g, x, { ...p, [name]: value } as never)).toThrow(InvalidOptionError);
  });
  it('rejects training with one value per channel', () => {
    const { g, p } = setup();
    expect(() => batchNorm(g, g.input('one', 'float32', [1, 3]), p)).toThrow(/more than one value per channel/);
  });
  it('rejects a missing parameter object', () => {
    const { g, x } = setup();
    expect(() => batchNorm(g, x, null as never)).toThrow(InvalidInputError);
  });
});
