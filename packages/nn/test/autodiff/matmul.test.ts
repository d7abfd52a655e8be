/** Finite-difference checks of MatMul (every rank combination) and Gemm (every flag combination). */
import type { GraphBuilder, Value } from '@dc/core';
import { gradients } from '../../src/autodiff/gradients.js';
import { disposeRuntime, expectGradOk, randn } from './util.js';

afterAll(disposeRuntime);

const matmul = (g: GraphBuilder, [a, b]: Value[]) => g.op('MatMul', [a!, b!]);

describe('MatMul', () => {
  it.each([
    [[3, 4], [4, 5]],
    [[2, 3, 4], [4, 5]],
    [[2, 2, 3, 4], [4, 5]],
    [[2, 3, 4], [2, 4, 5]],
    [[2, 3, 4], [1, 4, 5]],
    [[3, 4], [2, 4, 5]],
    [[2, 1, 3, 4], [3, 4, 5]],
    [[4], [4, 5]],
    [[4], [2, 4, 5]],
    [[3, 4], [4]],
    [[2, 3, 4], [4]],
    [[4], [4]],
  ])('%j x %j', async (sa, sb) => {
    await expectGradOk(matmul, [randn(sa), randn(sb)]);
  });

  it('2-D products use Gemm with transpose flags and no Transpose node', async () => {
    const { GraphBuilder } = await import('@dc/core');
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [8, 4]);
    const b = g.input('b', 'float32', [4, 3]);
    const loss = g.op('ReduceSum', [g.op('MatMul', [a, b])], { keepdims: 0 });
    const before = g.nodes.length;
    gradients(g, loss, [a, b]);
    const added = g.nodes.slice(before).map((n) => n.opType);
    expect(added.filter((t) => t === 'Gemm')).toHaveLength(2);
    expect(added).not.toContain('Transpose');
  });
});

describe('Gemm', () => {
  it.each([
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ])('transA=%d transB=%d with alpha, beta and a [N] bias', async (ta, tb) => {
    const a = randn(ta ? [4, 3] : [3, 4]);
    const b = randn(tb ? [5, 4] : [4, 5]);
    await expectGradOk((g, [x, y, c]) => g.op('Gemm', [x!, y!, c!], { transA: ta, transB: tb, alpha: 0.7, beta: 1.3 }), [a, b, randn([5])]);
  });
  it.each([[[3, 5]], [[1, 5]], [[3, 1]], [[]]])('bias of shape %j', async (sc) => {
    await expectGradOk((g, [x, y, c]) => g.op('Gemm', [x!, y!, c!], { transB: 1 }), [randn([3, 4]), randn([5, 4]), randn(sc)]);
  });
  it('without bias', async () => {
    await expectGradOk((g, [x, y]) => g.op('Gemm', [x!, y!]), [randn([3, 4]), randn([4, 2])]);
  });
});
