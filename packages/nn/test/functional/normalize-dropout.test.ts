/** l2Normalize and dropout: values, gradients (closed form and finite differences), argument errors. */
import { GraphBuilder, InvalidInputError, InvalidOptionError, ShapeError, Tensor } from '@dc/core';
import { gradients } from '../../src/autodiff/gradients.js';
import { dropout } from '../../src/functional/dropout.js';
import { l2Normalize } from '../../src/functional/l2-normalize.js';
import { disposeRuntime, expectClose, expectGradOk, randn, randu, run, toArray } from '../autodiff/util.js';

afterAll(disposeRuntime);

describe('l2Normalize', () => {
  it('divides each row by its norm, as torch.nn.functional.normalize', async () => {
    const x = Tensor.fromArray([[3, 4], [0, 0], [1e-14, 0]], 'float64');
    const out = await run((g) => ({ y: l2Normalize(g, g.input('x', 'float64', [3, 2])) }), { x });
    // Rows below eps are divided by eps (1e-12), not by their norm.
    expectClose(out.y!, [0.6, 0.8, 0, 0, 0.01, 0], 1e-15, 1e-12);
  });
  it.each([
    [[4, 5], -1],
    [[4, 5], 0],
    [[2, 3, 4], 1],
  ])('gradient passes a finite-difference check for x %j on axis %d', async (shape, axis) => {
    await expectGradOk((g, [x]) => l2Normalize(g, x!, axis), [randn(shape)]);
  });
  it('gradient in the clamped regime is dy / eps', async () => {
    await expectGradOk((g, [x]) => l2Normalize(g, x!, -1, 0.5), [randu([3, 2], -0.1, 0.1)]);
  });
  it('rejects a bad axis or eps, and int input', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 3]);
    expect(() => l2Normalize(g, x, 2)).toThrow(InvalidOptionError);
    expect(() => l2Normalize(g, x, -3)).toThrow(InvalidOptionError);
    expect(() => l2Normalize(g, x, 1.5)).toThrow(InvalidOptionError);
    expect(() => l2Normalize(g, x, -1, 0)).toThrow(InvalidOptionError);
    expect(() => l2Normalize(g, g.input('i', 'int64', [2]))).toThrow(InvalidInputError);
    expect(() => l2Normalize(g, g.input('s', 'float32', []))).toThrow(InvalidOptionError);
  });
});

describe('dropout', () => {
  it('scales kept entries by 1 / (1 - p) and zeroes the rest; the gradient uses the same mask', async () => {
    const x = randn([3, 4]);
    const mask = new Tensor('float64', Float64Array.from([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0]), [3, 4]);
    const w = randn([3, 4]);
    const out = await run((g) => {
      const xv = g.input('x', 'float64', [3, 4]);
      const y = dropout(g, xv, g.input('mask', 'float64', [3, 4]), 0.2);
      const loss = g.op('ReduceSum', [g.op('Mul', [y, g.constant(w)])], { keepdims: 0 });
      return { y, dx: gradients(g, loss, [xv])[0]! };
    }, { x, mask });
    const m = toArray(mask);
    expectClose(out.y!, toArray(x).map((v, i) => (v * m[i]!) / 0.8), 1e-15, 1e-12);
    expectClose(out.dx!, toArray(w).map((v, i) => (v * m[i]!) / 0.8), 1e-15, 1e-12);
  });
  it('accepts a broadcastable mask (channel dropout) and passes a finite-difference check', async () => {
    const mask = new Tensor('float64', Float64Array.from([1, 0, 1, 1, 1, 0]), [2, 3, 1, 1]);
    await expectGradOk((g, [x, m]) => dropout(g, x!, m!, 0.5), [randn([2, 3, 2, 2]), mask], { wrt: [0] });
  });
  it('with p = 0 multiplies by the mask only', async () => {
    const out = await run((g) => ({ y: dropout(g, g.input('x', 'float64', [2]), g.input('m', 'float64', [2]), 0) }), {
      x: Tensor.fromArray([2, 3], 'float64'),
      m: Tensor.fromArray([1, 0], 'float64'),
    });
    expect(toArray(out.y!)).toEqual([2, 0]);
  });
  it('rejects p outside [0, 1), a mask of another shape or dtype', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 3]);
    const m = g.input('m', 'float32', [2, 3]);
    expect(() => dropout(g, x, m, 1)).toThrow(InvalidOptionError);
    expect(() => dropout(g, x, m, -0.1)).toThrow(InvalidOptionError);
    expect(() => dropout(g, x, g.input('m2', 'float32', [3, 2]), 0.5)).toThrow(ShapeError);
    expect(() => dropout(g, x, g.input('m3', 'float32', [1, 2, 3]), 0.5)).toThrow(ShapeError);
    expect(() => dropout(g, x, g.input('m4', 'float64', [2, 3]), 0.5)).toThrow(InvalidInputError);
  });
});
