/** The thin functional layers: PyTorch conventions, gradients through them, and their argument errors. */
import { GraphBuilder, InvalidOptionError, ShapeError, Tensor } from '@dc/core';
import { avgPool2d, conv2d, convTranspose2d, globalAvgPool2d, linear, maxPool2d } from '../../src/functional/layers.js';
import { LINEAR_F32, disposeRuntime, distinct, expectClose, expectGradOk, randn, run } from '../autodiff/util.js';

afterAll(disposeRuntime);

describe('linear', () => {
  it('computes x W^T + b for 2-D and batched 3-D inputs', async () => {
    const x = Tensor.fromArray([[1, 2], [3, 4]], 'float64');
    const w = Tensor.fromArray([[1, 0], [0, 1], [1, 1]], 'float64');
    const b = Tensor.fromArray([0.5, -0.5, 0], 'float64');
    const out = await run((g) => {
      const [xv, wv, bv] = [g.input('x', 'float64', [2, 2]), g.input('w', 'float64', [3, 2]), g.input('b', 'float64', [3])];
      return { y: linear(g, xv, wv, bv), y3: linear(g, g.op('Unsqueeze', [xv, g.int64s([0])]), wv) };
    }, { x, w, b });
    expectClose(out.y!, [1.5, 1.5, 3, 3.5, 3.5, 7]);
    expect(out.y3!.shape).toEqual([1, 2, 3]);
    expectClose(out.y3!, [1, 2, 3, 3, 4, 7]);
  });
  it('gradients pass finite-difference checks', async () => {
    await expectGradOk((g, [x, w, b]) => linear(g, x!, w!, b!), [randn([4, 3]), randn([5, 3]), randn([5])]);
    await expectGradOk((g, [x, w]) => linear(g, x!, w!), [randn([2, 4, 3]), randn([5, 3])]);
  });
  it('rejects mismatched shapes', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [4, 3]);
    expect(() => linear(g, x, g.input('w', 'float32', [5, 2]))).toThrow(ShapeError);
    expect(() => linear(g, x, g.input('w1', 'float32', [5]))).toThrow(ShapeError);
    expect(() => linear(g, x, g.input('w2', 'float32', [5, 3]), g.input('b', 'float32', [4]))).toThrow(ShapeError);
  });
});

describe('conv2d and convTranspose2d', () => {
  it('conv2d with stride, padding, dilation and groups has checked gradients', async () => {
    await expectGradOk((g, [x, w, b]) => conv2d(g, x!, w!, b!, { stride: 2, padding: [1, 2], dilation: [1, 2], groups: 2 }), [randn([2, 4, 7, 8], 'float32'), randn([6, 2, 3, 3], 'float32'), randn([6], 'float32')], LINEAR_F32);
  });
  it('convTranspose2d doubles 7 -> 14 with outputPadding 1 and has checked gradients', async () => {
    const build = (g: GraphBuilder, [x, w, b]: ReturnType<GraphBuilder['input']>[]) => convTranspose2d(g, x!, w!, b!, { stride: 2, padding: 1, outputPadding: 1 });
    const g = new GraphBuilder();
    expect(build(g, [g.input('x', 'float32', [1, 3, 7, 7]), g.input('w', 'float32', [3, 2, 3, 3]), g.input('b', 'float32', [2])]).shape).toEqual([1, 2, 14, 14]);
    await expectGradOk(build, [randn([2, 3, 7, 7], 'float32'), randn([3, 2, 3, 3], 'float32'), randn([2], 'float32')], LINEAR_F32);
  });
  it('rejects wrong ranks, channel counts and options', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 4, 8, 8]);
    const w = g.input('w', 'float32', [6, 4, 3, 3]);
    expect(() => conv2d(g, g.input('x3', 'float32', [2, 4, 8]), w)).toThrow(ShapeError);
    expect(() => conv2d(g, x, g.input('wc', 'float32', [6, 3, 3, 3]))).toThrow(ShapeError);
    expect(() => conv2d(g, x, w, g.input('b5', 'float32', [5]))).toThrow(ShapeError);
    expect(() => conv2d(g, x, w, null, { stride: 0 })).toThrow(InvalidOptionError);
    expect(() => conv2d(g, x, w, null, { padding: -1 })).toThrow(InvalidOptionError);
    expect(() => conv2d(g, x, w, null, { groups: 0 })).toThrow(InvalidOptionError);
    expect(() => conv2d(g, x, g.input('wg', 'float32', [5, 2, 3, 3]), null, { groups: 2 })).toThrow(InvalidOptionError);
    expect(() => convTranspose2d(g, x, g.input('wt', 'float32', [3, 2, 3, 3]))).toThrow(ShapeError);
    expect(() => convTranspose2d(g, x, g.input('wt2', 'float32', [4, 2, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(InvalidOptionError);
  });
});

describe('pooling', () => {
  it('maxPool2d returns values and flat indices into x; its gradient scatters through them', async () => {
    const x = Tensor.fromArray([[[[1, 9, 2, 3], [4, 5, 8, 6]]]], 'float64');
    const out = await run((g) => {
      const r = maxPool2d(g, g.input('x', 'float64', [1, 1, 2, 4]), { kernelSize: 2 });
      return { values: r.values, indices: r.indices };
    }, { x });
    expect(Array.from(out.values!.data as Float64Array)).toEqual([9, 8]);
    expect(Array.from(out.indices!.data as BigInt64Array, Number)).toEqual([1, 6]);
    await expectGradOk((g, [v]) => maxPool2d(g, v!, { kernelSize: 3, stride: 2, padding: 1 }).values, [distinct([2, 2, 7, 7])]);
  });
  it('avgPool2d counts padding by default (PyTorch) and not when asked; gradients are checked', async () => {
    const x = Tensor.ones([1, 1, 2, 2]);
    const out = await run((g) => {
      const xv = g.input('x', 'float32', [1, 1, 2, 2]);
      return { incl: avgPool2d(g, xv, { kernelSize: 2, stride: 1, padding: 1 }), excl: avgPool2d(g, xv, { kernelSize: 2, stride: 1, padding: 1, countIncludePad: false }) };
    }, { x });
    expectClose(out.incl!, [0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25], 1e-7);
    expectClose(out.excl!, new Array(9).fill(1), 1e-7);
    await expectGradOk((g, [v]) => avgPool2d(g, v!, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }), [randn([1, 2, 6, 6], 'float32')], LINEAR_F32);
  });
  it('globalAvgPool2d gives [N, C]', async () => {
    const g = new GraphBuilder();
    expect(globalAvgPool2d(g, g.input('x', 'float32', [2, 3, 4, 4])).shape).toEqual([2, 3]);
    await expectGradOk((gg, [v]) => globalAvgPool2d(gg, v!), [randn([2, 3, 3, 4], 'float32')], LINEAR_F32);
  });
  it('rejects bad kernel sizes, strides and paddings', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 1, 4, 4]);
    expect(() => maxPool2d(g, x, { kernelSize: 0 })).toThrow(InvalidOptionError);
    expect(() => maxPool2d(g, x, { kernelSize: 2, stride: [1, 0] })).toThrow(InvalidOptionError);
    expect(() => maxPool2d(g, x, { kernelSize: 2, padding: 2 })).toThrow(InvalidOptionError);
    expect(() => maxPool2d(g, x, undefined as never)).toThrow(InvalidOptionError);
    expect(() => avgPool2d(g, g.input('x3', 'float32', [1, 4, 4]), { kernelSize: 2 })).toThrow(ShapeError);
    expect(() => avgPool2d(g, x, { kernelSize: 2, countIncludePad: 1 as never })).toThrow(InvalidOptionError);
  });
});
