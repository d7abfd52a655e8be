/** Finite-difference checks of the elementwise backward rules (float64 graphs unless the op is float32-only). */
import { Tensor, type GraphBuilder, type Value } from '@dc/core';
import { gradients } from '../../src/autodiff/gradients.js';
import { LINEAR_F32, awayFromZero, disposeRuntime, expectClose, expectGradOk, int64, randn, randu, run, toArray } from './util.js';

afterAll(disposeRuntime);

const unary = (op: string, attrs: Record<string, number> = {}) => (g: GraphBuilder, [x]: Value[]) => g.op(op, [x!], attrs);
const binary = (op: string) => (g: GraphBuilder, [a, b]: Value[]) => g.op(op, [a!, b!]);

describe('binary arithmetic with broadcasting', () => {
  const shapes: [number[], number[]][] = [
    [[3, 4], [3, 4]],
    [[2, 3, 4], [4]],
    [[2, 1, 4], [3, 1]],
    [[5], [2, 3, 5]],
    [[2, 3], []],
    [[1, 3, 1], [2, 1, 4]],
  ];
  it.each(shapes)('Add, Sub, Mul %j with %j', async (sa, sb) => {
    for (const op of ['Add', 'Sub', 'Mul']) await expectGradOk(binary(op), [randn(sa), randn(sb)]);
  });
  it.each(shapes)('Div %j / %j', async (sa, sb) => {
    await expectGradOk(binary('Div'), [randn(sa), awayFromZero(sb, 0.5, 2)]);
  });
  it('Mul of a value with itself (x * x)', async () => {
    await expectGradOk((g, [x]) => g.op('Mul', [x!, x!]), [randn([3, 5])]);
  });
});

describe('Pow', () => {
  it.each([2, 3, 0.5, 1, -1.5])('constant exponent %p', async (e) => {
    await expectGradOk((g, [x]) => g.op('Pow', [x!, g.constant(e, 'float64')]), [randu([3, 4], 0.3, 2)]);
  });
  it('variable base and exponent, broadcast', async () => {
    await expectGradOk(binary('Pow'), [randu([2, 3, 4], 0.3, 2), randu([4], -1, 2)]);
  });
});

describe('unary maths and activations', () => {
  it.each(['Neg', 'Exp', 'Sigmoid', 'Tanh', 'Softplus', 'Sin', 'Cos', 'Identity'])('%s', async (op) => {
    await expectGradOk(unary(op), [randn([2, 3, 4])]);
  });
  it.each(['Log', 'Sqrt', 'Reciprocal'])('%s on positive inputs', async (op) => {
    await expectGradOk(unary(op), [randu([3, 5], 0.3, 3)]);
  });
  it.each([
    ['Abs', {}],
    ['Relu', {}],
    ['LeakyRelu', { alpha: 0.2 }],
    ['LeakyRelu', { alpha: -0.3 }],
    ['Elu', { alpha: 0.7 }],
  ] as const)('%s away from the kink', async (op, attrs) => {
    await expectGradOk(unary(op, attrs), [awayFromZero([4, 6])]);
  });
  it('HardSigmoid inside and outside its linear part', async () => {
    await expectGradOk(unary('HardSigmoid', { alpha: 0.3, beta: 0.4 }), [awayFromZero([4, 6], 0.1, 4)]);
  });
  it('Erf (float32 only in ONNX Runtime)', async () => {
    await expectGradOk(unary('Erf'), [randn([3, 4], 'float32')], { eps: 1e-2, atol: 1e-3, rtol: 1e-2 });
  });
});

describe('piecewise-constant ops', () => {
  it.each(['Sign', 'Floor', 'Ceil', 'Round'])('%s has a zero gradient', async (op) => {
    const out = await run((g) => {
      const x = g.input('x', 'float64', [5]);
      const loss = g.op('ReduceSum', [g.op('Mul', [g.op(op, [x]), x])], { keepdims: 0 });
      return { dx: gradients(g, loss, [x])[0]!, y: g.op(op, [x]) };
    }, { x: Tensor.fromArray([-1.7, -0.2, 0.4, 1.5, 2.6], 'float64') });
    // d/dx (f(x) * x) = f(x) when f' = 0.
    expectClose(out.dx!, toArray(out.y!));
  });
});

describe('Clip, Where, Cast, variadic ops', () => {
  it('Clip with both bounds', async () => {
    await expectGradOk((g, [x]) => g.op('Clip', [x!, g.constant(-0.5, 'float64'), g.constant(0.7, 'float64')]), [awayFromZero([5, 6], 0.05, 2)]);
  });
  it('Clip with a lower bound only, and with the bounds as differentiated inputs', async () => {
    await expectGradOk((g, [x]) => g.op('Clip', [x!, g.constant(0.3, 'float64')]), [randu([4, 5], -1, 1)]);
    await expectGradOk((g, [x, lo, hi]) => g.op('Clip', [x!, lo!, hi!]), [randu([4, 5], -2, 2), Tensor.full([], -0.5, 'float64'), Tensor.full([], 0.9, 'float64')]);
  });
  it('Where with broadcast branches', async () => {
    await expectGradOk((g, [c, a, b]) => g.op('Where', [g.op('Greater', [c!, g.constant(0, 'float64')]), a!, b!]), [randn([3, 4]), randn([4]), randn([3, 1])], {
      wrt: [1, 2],
    });
  });
  it('Cast float64 -> float32 -> float64 passes the gradient through', async () => {
    await expectGradOk((g, [x]) => g.op('Cast', [g.op('Mul', [g.op('Cast', [x!], { to: 1 }), g.constant(3, 'float32')])], { to: 11 }), [randn([3, 3])], {
      eps: 1e-2,
      atol: 1e-5,
      rtol: 1e-5,
    });
  });
  it('Sum of three broadcast inputs', async () => {
    await expectGradOk((g, [a, b, c]) => g.op('Sum', [a!, b!, c!]), [randn([2, 3]), randn([3]), randn([2, 1])]);
  });
  it('Mean of three broadcast inputs (float32 only)', async () => {
    await expectGradOk((g, [a, b, c]) => g.op('Mean', [a!, b!, c!]), [randn([2, 3], 'float32'), randn([3], 'float32'), randn([2, 1], 'float32')], LINEAR_F32);
  });
  it.each(['Max', 'Min'])('%s of two inputs', async (op) => {
    const a = randn([3, 4]);
    const b = randn([3, 4]);
    await expectGradOk(binary(op), [a, b]);
    await expectGradOk(binary(op), [randn([3, 4]), randn([4])]);
  });
  it('Dropout op in training mode: dX = dY * mask / (1 - ratio), with the mask of the same run', async () => {
    const x = randn([6, 7], 'float32');
    const w = randn([6, 7], 'float32');
    const out = await run((g) => {
      const xv = g.input('x', 'float32', [6, 7]);
      const [y, mask] = g.opMulti('Dropout', [xv, g.constant(0.25, 'float32'), g.constant(Tensor.fromArray([1], 'bool').reshape([]))], {}, 2);
      const loss = g.op('ReduceSum', [g.op('Mul', [y!, g.constant(w)])], { keepdims: 0 });
      return { mask: mask!, dx: gradients(g, loss, [xv])[0]! };
    }, { x });
    const mask = toArray(out.mask!);
    expect(mask.some((m) => m === 0) && mask.some((m) => m === 1)).toBe(true);
    toArray(out.dx!).forEach((d, i) => expect(d).toBeCloseTo((w.data[i]! * mask[i]!) / 0.75, 5));
  });
  it('Dropout op in inference mode is the identity', async () => {
    await expectGradOk((g, [v]) => g.op('Dropout', [v!]), [randn([4, 5])]);
  });
  it('int inputs get no gradient (Cast from int64)', async () => {
    await expectGradOk((g, [x, i]) => g.op('Mul', [x!, g.op('Cast', [i!], { to: 11 })]), [randn([3]), int64([1, 2, 3])], { wrt: [0] });
  });
});
