/** The finite-difference checker itself: it passes correct gradients, catches wrong ones, validates options. */
import { InvalidInputError, InvalidOptionError, Tensor, UnknownOptionError } from '@dc/core';
import { customGradient } from '../../src/autodiff/gradients.js';
import { gradcheck } from '../../src/autodiff/gradcheck.js';
import { disposeRuntime, int64, randn, runtime } from './util.js';

afterAll(disposeRuntime);

describe('gradcheck', () => {
  it('passes a correct gradient and reports the analytic gradient, the loss and errors', async () => {
    const x = randn([3, 4]);
    const r = await gradcheck((g, [v]) => g.op('Tanh', [v!]), [x], { runtime: await runtime() });
    expect(r.ok).toBe(true);
    expect(r.maxScaledError).toBeLessThanOrEqual(1);
    expect(r.inputs).toHaveLength(1);
    expect(r.inputs[0]!.analytic.shape).toEqual([3, 4]);
    expect(r.inputs[0]!.indices).toHaveLength(12);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.failures).toEqual([]);
  });

  it('catches a wrong gradient (a custom backward off by 10%)', async () => {
    const r = await gradcheck(
      (g, [v]) => {
        const y = g.op('Mul', [v!, v!]);
        customGradient(g, { inputs: [v!], outputs: [y], backward: ({ gradOutputs }) => [g.op('Mul', [gradOutputs[0]!, g.op('Mul', [v!, g.constant(2.2, 'float64')])])] });
        return y;
      },
      [randn([5])],
      { runtime: await runtime() },
    );
    expect(r.ok).toBe(false);
    expect(r.maxScaledError).toBeGreaterThan(100);
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures[0]).toMatch(/input 0 element \d+: analytic .*, numeric/);
  });

  it('catches a gradient that ignores one element (a wrong index, not a wrong scale)', async () => {
    const r = await gradcheck(
      (g, [v]) => {
        const y = g.op('Exp', [v!]);
        customGradient(g, {
          inputs: [v!],
          outputs: [y],
          backward: ({ gradOutputs }) => [g.op('Mul', [g.op('Mul', [gradOutputs[0]!, y]), g.constant(Tensor.fromArray([1, 1, 0, 1], 'float64'))])],
        });
        return y;
      },
      [randn([4])],
      { runtime: await runtime() },
    );
    expect(r.ok).toBe(false);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatch(/element 2/);
  });

  it('checks a random subset with maxElements and only the inputs in wrt', async () => {
    const r = await gradcheck((g, [a, b]) => g.op('Mul', [a!, b!]), [randn([10, 10]), randn([10, 10])], { runtime: await runtime(), maxElements: 7, wrt: [1] });
    expect(r.ok).toBe(true);
    expect(r.inputs.map((i) => i.input)).toEqual([1]);
    expect(r.inputs[0]!.indices).toHaveLength(7);
    expect(new Set(r.inputs[0]!.indices).size).toBe(7);
  });

  it('skips int inputs by default and int outputs in the loss', async () => {
    const r = await gradcheck(
      (g, [x, i]) => [g.op('Gather', [x!, i!], { axis: 0 }), g.op('ArgMax', [x!], { axis: 0 })],
      [randn([4, 2]), int64([3, 1])],
      { runtime: await runtime() },
    );
    expect(r.ok).toBe(true);
    expect(r.inputs.map((i) => i.input)).toEqual([0]);
  });

  describe('argument errors', () => {
    const f = (g: Parameters<Parameters<typeof gradcheck>[0]>[0], v: Parameters<Parameters<typeof gradcheck>[0]>[1]) => g.op('Neg', [v[0]!]);
    it('rejects a non-function build and non-Tensor inputs', async () => {
      await expect(gradcheck(3 as never, [randn([2])])).rejects.toThrow(InvalidInputError);
      await expect(gradcheck(f, [[1, 2]] as never)).rejects.toThrow(InvalidInputError);
    });
    it.each([
      ['eps', 0],
      ['atol', -1],
      ['rtol', Number.NaN],
      ['maxElements', 0],
      ['wrt', [1]],
      ['seed', 0.5],
    ])('rejects %s = %p', async (name, value) => {
      await expect(gradcheck(f, [randn([2])], { [name]: value })).rejects.toThrow(InvalidOptionError);
    });
    it('rejects unknown options and int inputs in wrt', async () => {
      await expect(gradcheck(f, [randn([2])], { epsilon: 1 } as never)).rejects.toThrow(UnknownOptionError);
      await expect(gradcheck((g, [, i]) => g.op('Cast', [i!], { to: 11 }), [randn([2]), int64([1])], { wrt: [1] })).rejects.toThrow(/only float inputs/);
    });
    it('rejects a build without float outputs', async () => {
      await expect(gradcheck((g, [x]) => g.op('ArgMax', [x!]), [randn([3])], { runtime: await runtime() })).rejects.toThrow(/at least one float output/);
    });
  });
});
