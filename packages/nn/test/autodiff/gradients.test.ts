/** The semantics of gradients(), stopGradient() and customGradient(): what is differentiated and how. */
import { GraphBuilder, GraphError, Tensor, type Value } from '@dc/core';
import { customGradient, gradients, stopGradient } from '../../src/autodiff/gradients.js';
import { disposeRuntime, expectClose, randn, run, toArray } from './util.js';

afterAll(disposeRuntime);

const sum = (g: GraphBuilder, v: Value) => g.op('ReduceSum', [v], { keepdims: 0 });
const added = (g: GraphBuilder, from: number) => g.nodes.slice(from).map((n) => n.opType);

describe('gradients', () => {
  it('sums fan-out gradients with one Sum node: d/dx sum(2x + exp(x) + x) = 3 + exp(x)', async () => {
    const x = randn([5]);
    let ops: string[] = [];
    const out = await run((g) => {
      const xv = g.input('x', 'float64', [5]);
      const y = g.op('Add', [g.op('Add', [g.op('Mul', [xv, g.constant(2, 'float64')]), g.op('Exp', [xv])]), xv]);
      const before = g.nodes.length;
      const [dx] = gradients(g, sum(g, y), [xv]);
      ops = added(g, before);
      return { dx: dx! };
    }, { x });
    expectClose(out.dx!, toArray(x).map((v) => 3 + Math.exp(v)), 1e-12, 1e-12);
    expect(ops.filter((t) => t === 'Sum')).toHaveLength(1);
  });

  it('gives zeros of the right shape for a value the loss does not depend on, with no other nodes', async () => {
    let ops: string[] = [];
    const out = await run((g) => {
      const x = g.input('x', 'float64', [3]);
      const unused = g.input('w', 'float32', [2, 4]);
      const loss = sum(g, x);
      const before = g.nodes.length;
      const [dw] = gradients(g, loss, [unused]);
      ops = added(g, before);
      return { dw: dw!, loss };
    }, { x: randn([3]), w: randn([2, 4], 'float32') });
    expect(out.dw!.shape).toEqual([2, 4]);
    expect(out.dw!.dtype).toBe('float32');
    expect(toArray(out.dw!)).toEqual(new Array(8).fill(0));
    expect(ops).toEqual(['ConstantOfShape']);
  });

  it('builds nothing for frozen parameters: only dW2 of a two-layer product', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [8, 4]);
    const w1 = g.input('w1', 'float32', [4, 6]);
    const w2 = g.input('w2', 'float32', [6, 3]);
    const h = g.op('Relu', [g.op('MatMul', [x, w1])]);
    const loss = sum(g, g.op('MatMul', [h, w2]));
    const before = g.nodes.length;
    gradients(g, loss, [w2]);
    // d loss / d out (Expand of the seed), then dW2 = h^T dOut as one Gemm; no Relu or first-layer gradient.
    expect(added(g, before).sort()).toEqual(['Expand', 'Gemm']);
  });

  it('passes no gradient through int values (ArgMax -> Gather): x gets zeros, the table its scatter', async () => {
    const out = await run((g) => {
      const x = g.input('x', 'float64', [3, 4]);
      const table = g.input('t', 'float64', [4, 2]);
      const picked = g.op('Gather', [table, g.op('ArgMax', [x], { axis: 1, keepdims: 0 })], { axis: 0 });
      const [dx, dt] = gradients(g, sum(g, picked), [x, table]);
      return { dx: dx!, dt: dt! };
    }, { x: Tensor.fromArray([[0, 5, 1, 2], [9, 0, 0, 0], [0, 7, 1, 1]], 'float64'), t: randn([4, 2]) });
    expect(toArray(out.dx!)).toEqual(new Array(12).fill(0));
    expect(toArray(out.dt!)).toEqual([1, 1, 2, 2, 0, 0, 0, 0]);
  });

  it('differentiates with respect to an intermediate value and repeated wrt entries', async () => {
    const x = randn([4]);
    const out = await run((g) => {
      const xv = g.input('x', 'float64', [4]);
      const h = g.op('Mul', [xv, g.constant(2, 'float64')]);
      const [dh, dx, dh2] = gradients(g, sum(g, g.op('Mul', [h, h])), [h, xv, h]);
      return { dh: dh!, dx: dx!, dh2: dh2! };
    }, { x });
    const xs = toArray(x);
    expectClose(out.dh!, xs.map((v) => 4 * v), 1e-12);
    expectClose(out.dh2!, xs.map((v) => 4 * v), 1e-12);
    expectClose(out.dx!, xs.map((v) => 8 * v), 1e-12);
  });

  it('accepts a loss of shape [1] and the loss itself in wrt', async () => {
    const out = await run((g) => {
      const x = g.input('x', 'float64', [3]);
      const loss = g.op('ReduceSum', [x], { keepdims: 1 });
      const [dl, dx] = gradients(g, loss, [loss, x]);
      return { dl: dl!, dx: dx! };
    }, { x: randn([3]) });
    expect(toArray(out.dl!)).toEqual([1]);
    expect(toArray(out.dx!)).toEqual([1, 1, 1]);
  });

  describe('errors', () => {
    const graph = () => {
      const g = new GraphBuilder();
      const x = g.input('x', 'float32', [2, 3]);
      return { g, x };
    };
    it('names the op that has no backward rule', () => {
      const { g, x } = graph();
      const loss = sum(g, g.op('ReduceProd', [x], { keepdims: 0 }));
      expect(() => gradients(g, loss, [x])).toThrow(GraphError);
      expect(() => gradients(g, loss, [x])).toThrow(/no gradient is defined for op 'ReduceProd'/);
    });
    it('does not complain about ops without a rule that are off the path', async () => {
      const { g, x } = graph();
      const other = g.input('o', 'float32', [2, 3]);
      const loss = g.op('Add', [sum(g, x), sum(g, g.op('ReduceProd', [other], { keepdims: 0 }))]);
      expect(() => gradients(g, loss, [x])).not.toThrow();
    });
    it('rejects a loss that is not a float scalar', () => {
      const { g, x } = graph();
      expect(() => gradients(g, x, [x])).toThrow(/scalar/);
      const n = g.op('Size', [x]);
      expect(() => gradients(g, n, [x])).toThrow(/float32 or float64/);
    });
    it('rejects int wrt values and values of another graph', () => {
      const { g, x } = graph();
      const loss = sum(g, x);
      const idx = g.input('i', 'int64', [2]);
      expect(() => gradients(g, loss, [idx])).toThrow(/only float values/);
      const other = graph();
      expect(() => gradients(g, loss, [other.x])).toThrow(/another graph/);
      expect(() => gradients(other.g, loss, [other.x])).toThrow(/another graph/);
      expect(() => gradients(g, loss, 'x' as unknown as Value[])).toThrow(GraphError);
    });
    it('reports a backward rule that returns the wrong shape', () => {
      const { g, x } = graph();
      const y = g.op('Mul', [x, g.constant(2, 'float32')]);
      customGradient(g, { inputs: [x], outputs: [y], backward: () => [g.constant(Tensor.zeros([3, 2]))] });
      expect(() => gradients(g, sum(g, y), [x])).toThrow(/has shape \[3, 2\], expected \[2, 3\]/);
    });
  });
});

describe('stopGradient', () => {
  it('treats its output as a constant: d/dx sum(stop(x) * x) = x', async () => {
    const x = randn([4]);
    const out = await run((g) => {
      const xv = g.input('x', 'float64', [4]);
      const [dx] = gradients(g, sum(g, g.op('Mul', [stopGradient(g, xv), xv])), [xv]);
      return { dx: dx! };
    }, { x });
    expectClose(out.dx!, toArray(x), 1e-12);
  });
  it('cuts the path completely: no gradient nodes behind it', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [4]);
    const loss = sum(g, g.op('Exp', [stopGradient(g, g.op('Tanh', [x]))]));
    const before = g.nodes.length;
    gradients(g, loss, [x]);
    expect(added(g, before)).toEqual(['ConstantOfShape']);
  });
});

describe('customGradient', () => {
  it('replaces the region: the declared backward is used, not the nodes in between', async () => {
    const out = await run((g) => {
      const x = g.input('x', 'float64', [3]);
      const y = g.op('Mul', [g.op('Mul', [x, x]), x]); // x^3
      customGradient(g, { inputs: [x], outputs: [y], backward: ({ gradOutputs }) => [g.op('Mul', [gradOutputs[0]!, g.constant(7, 'float64')])] });
      return { dx: gradients(g, sum(g, y), [x])[0]! };
    }, { x: randn([3]) });
    expect(toArray(out.dx!)).toEqual([7, 7, 7]);
  });
  it('still differentiates an intermediate of the region that the loss uses directly', async () => {
    const x = randn([3]);
    const out = await run((g) => {
      const xv = g.input('x', 'float64', [3]);
      const t = g.op('Mul', [xv, xv]);
      const y = g.op('Mul', [t, xv]);
      customGradient(g, {
        inputs: [xv],
        outputs: [y],
        backward: ({ gradOutputs }) => [g.op('Mul', [gradOutputs[0]!, g.op('Mul', [t, g.constant(3, 'float64')])])],
      });
      return { dx: gradients(g, g.op('Add', [sum(g, y), sum(g, t)]), [xv])[0]! };
    }, { x });
    expectClose(out.dx!, toArray(x).map((v) => 3 * v * v + 2 * v), 1e-12);
  });
  it('passes gradOutputs (null for unused outputs) and needsGrad', async () => {
    const seen: { grads: boolean[]; needs: boolean[] }[] = [];
    const out = await run((g) => {
      const a = g.input('a', 'float64', [2]);
      const b = g.input('b', 'float64', [2]);
      const s = g.op('Add', [a, b]);
      const d = g.op('Sub', [a, b]);
      customGradient(g, {
        inputs: [a, b],
        outputs: [s, d],
        backward: ({ gradOutputs, needsGrad }) => {
          seen.push({ grads: gradOutputs.map((v) => v !== null), needs: [...needsGrad] });
          return [gradOutputs[0], null];
        },
      });
      return { da: gradients(g, sum(g, s), [a])[0]! };
    }, { a: randn([2]), b: randn([2]) });
    expect(seen).toEqual([{ grads: [true, false], needs: [true, false] }]);
    expect(toArray(out.da!)).toEqual([1, 1]);
  });
  it('rejects outputs that are graph inputs, outputs declared twice and inputs computed after the outputs', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2]);
    expect(() => customGradient(g, { inputs: [], outputs: [x], backward: () => [] })).toThrow(/computed by a node/);
    const y = g.op('Neg', [x]);
    customGradient(g, { inputs: [x], outputs: [y], backward: () => [] });
    expect(() => customGradient(g, { inputs: [x], outputs: [y], backward: () => [] })).toThrow(/already the output/);
    const later = g.op('Exp', [y]);
    const z = g.op('Tanh', [x]);
    void z;
    const g2 = new GraphBuilder();
    const x2 = g2.input('x', 'float32', [2]);
    const early = g2.op('Neg', [x2]);
    const late = g2.op('Exp', [x2]);
    customGradient(g2, { inputs: [late], outputs: [early], backward: () => [] });
    expect(() => gradients(g2, sum(g2, g2.op('Add', [early, late])), [x2])).toThrow(/computed after/);
    expect(() => customGradient(g, { inputs: [x], outputs: [], backward: () => [] })).toThrow(GraphError);
    expect(() => customGradient(g, { inputs: [x], outputs: [later], backward: 3 as never })).toThrow(GraphError);
  });
});
