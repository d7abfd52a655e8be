/** Finite-difference checks of reductions, the softmax family and Lp normalisation (float64 graphs). */
import { Tensor, type GraphBuilder, type Value } from '@dc/core';
import { gradients } from '../../src/autodiff/gradients.js';
import { disposeRuntime, distinct, expectClose, expectGradOk, randn, randu, run } from './util.js';

afterAll(disposeRuntime);

function reduce(op: string, axes: number[] | null, keepdims: number) {
  return (g: GraphBuilder, [x]: Value[]) => g.op(op, axes ? [x!, g.int64s(axes)] : [x!], { keepdims });
}

const cases: [number[] | null, number][] = [
  [[1], 1],
  [[1], 0],
  [[0, 2], 1],
  [[0, 2], 0],
  [[-1], 0],
  [null, 0],
  [null, 1],
];

describe('reductions', () => {
  it.each(cases)('ReduceSum, ReduceMean, ReduceSumSquare, ReduceLogSumExp over axes %j keepdims %d', async (axes, keepdims) => {
    for (const op of ['ReduceSum', 'ReduceMean', 'ReduceSumSquare', 'ReduceLogSumExp']) {
      await expectGradOk(reduce(op, axes, keepdims), [randn([3, 4, 5])]);
    }
  });
  it.each(cases)('ReduceL1 and ReduceL2 over axes %j keepdims %d', async (axes, keepdims) => {
    await expectGradOk(reduce('ReduceL1', axes, keepdims), [randu([3, 4, 5], 0.2, 1)]);
    await expectGradOk(reduce('ReduceL2', axes, keepdims), [randn([3, 4, 5])]);
  });
  it.each(cases)('ReduceMax and ReduceMin over axes %j keepdims %d (distinct values)', async (axes, keepdims) => {
    await expectGradOk(reduce('ReduceMax', axes, keepdims), [distinct([3, 4, 5])]);
    await expectGradOk(reduce('ReduceMin', axes, keepdims), [distinct([3, 4, 5])]);
  });
  it('ReduceMax shares the gradient evenly among tied maxima', async () => {
    const x = Tensor.fromArray([[1, 3, 3, 0], [2, 2, 2, 1]], 'float64');
    const out = await run((g) => {
      const xv = g.input('x', 'float64', [2, 4]);
      const loss = g.op('ReduceSum', [g.op('ReduceMax', [xv, g.int64s([1])], { keepdims: 0 })], { keepdims: 0 });
      return { dx: gradients(g, loss, [xv])[0]! };
    }, { x });
    expectClose(out.dx!, [0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3, 0]);
  });
  it('ReduceL2 of a zero row has a zero (not NaN) gradient', async () => {
    const x = Tensor.fromArray([[0, 0], [3, 4]], 'float64');
    const out = await run((g) => {
      const xv = g.input('x', 'float64', [2, 2]);
      const loss = g.op('ReduceSum', [g.op('ReduceL2', [xv, g.int64s([1])], { keepdims: 0 })], { keepdims: 0 });
      return { dx: gradients(g, loss, [xv])[0]! };
    }, { x });
    expectClose(out.dx!, [0, 0, 0.6, 0.8]);
  });
});

describe('softmax family and normalisation', () => {
  it.each([-1, 0, 1, 2])('Softmax and LogSoftmax over axis %d', async (axis) => {
    await expectGradOk((g, [x]) => g.op('Softmax', [x!], { axis }), [randn([3, 4, 5], 'float64', 2)]);
    await expectGradOk((g, [x]) => g.op('LogSoftmax', [x!], { axis }), [randn([3, 4, 5], 'float64', 2)]);
  });
  it('Hardmax has a zero gradient', async () => {
    const out = await run((g) => {
      const x = g.input('x', 'float32', [2, 3]);
      const loss = g.op('ReduceSum', [g.op('Mul', [g.op('Hardmax', [x], { axis: 1 }), x])], { keepdims: 0 });
      return { dx: gradients(g, loss, [x])[0]! };
    }, { x: Tensor.fromArray([[1, 3, 2], [0, -1, 5]], 'float32') });
    expectClose(out.dx!, [0, 1, 0, 0, 0, 1]);
  });
  it.each([
    [2, -1],
    [2, 0],
    [1, 1],
  ])('LpNormalization p=%d axis %d', async (p, axis) => {
    const x = p === 1 ? randu([4, 6], 0.2, 1.5) : randn([4, 6]);
    await expectGradOk((g, [v]) => g.op('LpNormalization', [v!], { axis, p }), [x]);
  });
});
