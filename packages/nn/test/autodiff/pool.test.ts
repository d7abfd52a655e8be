/**
 * Finite-difference checks of pooling and inference BatchNormalization gradients. MaxPool and
 * BatchNormalization run in float64; AveragePool and GlobalAveragePool are float32-only in ONNX Runtime and
 * linear, so a large exact step is used.
 */
import { GraphBuilder, Tensor } from '@dc/core';
import { gradients } from '../../src/autodiff/gradients.js';
import { LINEAR_F32, disposeRuntime, distinct, expectClose, expectGradOk, randn, randu, run } from './util.js';

afterAll(disposeRuntime);

describe('MaxPool', () => {
  it.each([
    ['k2 s2', [2, 3, 6, 6], { kernel_shape: [2, 2], strides: [2, 2] }],
    ['k3 s2 p1 on an odd size (overlapping windows)', [2, 2, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['k3 s1 (every element in several windows)', [1, 2, 5, 6], { kernel_shape: [3, 3] }],
    ['k2x3 s(1,2) dilations 2x1', [1, 2, 7, 8], { kernel_shape: [2, 3], strides: [1, 2], dilations: [2, 1] }],
    ['ceil_mode', [1, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }],
    ['MaxPool1d k3 s2', [2, 3, 9], { kernel_shape: [3], strides: [2] }],
  ] as const)('%s', async (_name, shape, attrs) => {
    await expectGradOk((g, [x]) => g.opMulti('MaxPool', [x!], attrs, 2)[0]!, [distinct(shape as unknown as number[])]);
  });
  it('without the Indices output the gradient recomputes them', async () => {
    await expectGradOk((g, [x]) => g.op('MaxPool', [x!], { kernel_shape: [3, 3], strides: [2, 2] }), [distinct([2, 2, 7, 7])]);
  });
  it('overlapping windows that pick the same element accumulate its gradient', async () => {
    // 1x1x1x3 input [0, 5, 1], k2 s1: both windows pick the 5.
    const out = await run((g) => {
      const x = g.input('x', 'float64', [1, 1, 1, 3]);
      const y = g.opMulti('MaxPool', [x], { kernel_shape: [1, 2] }, 2)[0]!;
      const loss = g.op('ReduceSum', [g.op('Mul', [y, g.constant(Tensor.fromArray([[[[2, 3]]]], 'float64'))])], { keepdims: 0 });
      return { dx: gradients(g, loss, [x])[0]! };
    }, { x: Tensor.fromArray([[[[0, 5, 1]]]], 'float64') });
    expectClose(out.dx!, [0, 5, 0]);
  });
});

describe('AveragePool and GlobalAveragePool', () => {
  it.each([
    ['k2 s2', [2, 3, 6, 6], { kernel_shape: [2, 2], strides: [2, 2] }],
    ['k3 s2 p1 counting pads (7x7)', [1, 2, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }],
    ['k3 s2 p1 not counting pads (8x8)', [1, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0 }],
    ['k3 s1 asymmetric pads', [1, 2, 5, 6], { kernel_shape: [3, 3], pads: [0, 1, 2, 1] }],
    ['k2x3 s(2,1), windows missing the last row', [1, 2, 7, 5], { kernel_shape: [2, 3], strides: [2, 1] }],
    ['ceil_mode', [1, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }],
    ['ceil_mode with pads', [1, 1, 6, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 }],
  ] as const)('%s', async (_name, shape, attrs) => {
    await expectGradOk((g, [x]) => g.op('AveragePool', [x!], attrs), [randn(shape as unknown as number[], 'float32')], LINEAR_F32);
  });
  it('GlobalAveragePool', async () => {
    await expectGradOk((g, [x]) => g.op('GlobalAveragePool', [x!]), [randn([2, 3, 5, 4], 'float32')], LINEAR_F32);
  });
  it('GlobalMaxPool (float32 only; piecewise linear, so exact with a step below the gap between values)', async () => {
    await expectGradOk((g, [x]) => g.op('GlobalMaxPool', [x!]), [distinct([2, 3, 4, 5], 'float32')], { eps: 0.02, atol: 1e-5, rtol: 1e-5 });
  });
});

describe('BatchNormalization (inference op)', () => {
  it.each([[[4, 3]], [[2, 3, 5]], [[2, 3, 4, 4]]])('x %j: gradients for x, scale, bias, mean and var', async (shape) => {
    await expectGradOk(
      (g, [x, s, b, m, v]) => g.op('BatchNormalization', [x!, s!, b!, m!, v!], { epsilon: 1e-3 }),
      [randn(shape), randn([3]), randn([3]), randn([3]), randu([3], 0.5, 2)],
    );
  });
  it('builds no gradient nodes for frozen statistics', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 3]);
    const params = [1, 2, 3, 4].map((i) => g.input(`p${i}`, 'float32', [3]));
    const y = g.op('BatchNormalization', [x, ...params]);
    gradients(g, g.op('ReduceSum', [y], { keepdims: 0 }), [x]);
    const names = g.nodes.map((n) => n.opType);
    expect(names.filter((t) => t === 'ReduceSum')).toHaveLength(1); // the loss only: no per-channel sums
  });
});
