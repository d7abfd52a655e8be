/** Finite-difference checks of the shape and indexing ops' gradients (float64). */
import { Tensor, type GraphBuilder, type Value } from '@dc/core';
import { gradients } from '../../src/autodiff/gradients.js';
import { disposeRuntime, distinct, expectClose, expectGradOk, int64, randn, run } from './util.js';

afterAll(disposeRuntime);

// Each op's output goes through a nonlinearity so that a wrongly placed gradient changes the result.
const sq = (g: GraphBuilder, v: Value) => g.op('Mul', [v, v]);

describe('reshaping ops', () => {
  it('Reshape, Flatten, Squeeze, Unsqueeze', async () => {
    await expectGradOk((g, [x]) => sq(g, g.op('Reshape', [x!, g.int64s([4, -1])])), [randn([2, 3, 4])]);
    await expectGradOk((g, [x]) => sq(g, g.op('Flatten', [x!], { axis: 2 })), [randn([2, 3, 4])]);
    await expectGradOk((g, [x]) => sq(g, g.op('Squeeze', [x!, g.int64s([1, 3])])), [randn([2, 1, 4, 1])]);
    await expectGradOk((g, [x]) => sq(g, g.op('Unsqueeze', [x!, g.int64s([0, -1])])), [randn([3, 4])]);
  });
  it.each([[[2, 0, 1]], [[0, 2, 1]], [null]])('Transpose perm %j', async (perm) => {
    await expectGradOk((g, [x]) => sq(g, g.op('Transpose', [x!], perm ? { perm } : {})), [randn([2, 3, 4])]);
  });
  it('Expand and Tile', async () => {
    await expectGradOk((g, [x]) => sq(g, g.op('Expand', [x!, g.int64s([2, 3, 4])])), [randn([3, 1])]);
    await expectGradOk((g, [x]) => sq(g, g.op('Tile', [x!, g.int64s([2, 1, 3])])), [randn([2, 3, 2])]);
  });
});

describe('joining and splitting', () => {
  it.each([0, 1, -1])('Concat on axis %d', async (axis) => {
    await expectGradOk((g, [a, b, c]) => sq(g, g.op('Concat', [a!, b!, c!], { axis })), [randn([2, 3, 2]), randn([2, 3, 2]), randn([2, 3, 2])]);
  });
  it('Concat of unequal parts where only one needs a gradient', async () => {
    await expectGradOk((g, [a, b]) => sq(g, g.op('Concat', [a!, b!], { axis: 1 })), [randn([2, 3]), randn([2, 5])], { wrt: [1] });
  });
  it('Split with sizes, and with some outputs unused', async () => {
    await expectGradOk((g, [x]) => g.opMulti('Split', [x!, g.int64s([1, 3, 2])], { axis: 1 }, 3).map((v) => sq(g, v)), [randn([2, 6])]);
    await expectGradOk((g, [x]) => sq(g, g.opMulti('Split', [x!, g.int64s([2, 2])], { axis: 0 }, 2)[1]!), [randn([4, 3])]);
    await expectGradOk((g, [x]) => g.opMulti('Split', [x!], { axis: 0, num_outputs: 2 }, 2).map((v) => sq(g, v)), [randn([4, 3])]);
  });
});

describe('slicing and padding', () => {
  it.each([
    ['unit steps', [1, 0], [3, -1], [0, 1], null],
    ['step 2 on one axis', [0, 1], [4, 5], [0, 1], [2, 1]],
    ['negative step (reversal)', [-1], [-100], [1], [-1]],
    ['step -2 and 3 on two axes', [4, 0], [0, 5], [0, 1], [-2, 3]],
    ['end past the size', [1], [1000], [1], null],
  ] as const)('Slice with %s', async (_n, starts, ends, axes, steps) => {
    await expectGradOk(
      (g, [x]) => sq(g, g.op('Slice', [x!, g.int64s(starts), g.int64s(ends), g.int64s(axes), ...(steps ? [g.int64s(steps)] : [])])),
      [randn([5, 6])],
    );
  });
  it('Pad (constant), with explicit axes', async () => {
    await expectGradOk((g, [x]) => sq(g, g.op('Pad', [x!, g.int64s([1, 0, 2, 3])])), [randn([3, 4])]);
    await expectGradOk((g, [x]) => sq(g, g.op('Pad', [x!, g.int64s([1, 2]), null, g.int64s([1])])), [randn([2, 3, 2])]);
  });
});

describe('gathers', () => {
  it.each([
    [0, [2, 0, 2, 1]],
    [1, [3, -1, 0]],
  ])('Gather on axis %d with repeated and negative indices', async (axis, idx) => {
    await expectGradOk((g, [x, i]) => sq(g, g.op('Gather', [x!, i!], { axis })), [randn([4, 5]), int64(idx)], { wrt: [0] });
  });
  it('Gather with a 2-D index and a scalar index', async () => {
    await expectGradOk((g, [x, i]) => sq(g, g.op('Gather', [x!, i!], { axis: 1 })), [randn([2, 4, 3]), int64([1, 1, 3, 0], [2, 2])], { wrt: [0] });
    await expectGradOk((g, [x, i]) => sq(g, g.op('Gather', [x!, i!], { axis: 0 })), [randn([4, 3]), int64([2], [])], { wrt: [0] });
  });
  it('GatherElements', async () => {
    await expectGradOk((g, [x, i]) => sq(g, g.op('GatherElements', [x!, i!], { axis: 1 })), [randn([3, 4]), int64([0, 0, 3, 1, 2, 2], [3, 2])], { wrt: [0] });
  });
  it('TopK values scatter back to the chosen positions', async () => {
    await expectGradOk((g, [x]) => sq(g, g.opMulti('TopK', [x!, g.int64s([2])], { axis: 1 }, 2)[0]!), [distinct([3, 5])]);
  });
  it.each(['none', 'add'])('ScatterElements (reduction %s) into data and from updates', async (reduction) => {
    await expectGradOk(
      (g, [x, i, u]) => sq(g, g.op('ScatterElements', [x!, i!, u!], { axis: 1, reduction })),
      [randn([3, 4]), int64([0, 2, 3, 1, 0, 2], [3, 2]), randn([3, 2])],
      { wrt: [0, 2] },
    );
  });
  it('Gather accumulates the gradient of a repeated index', async () => {
    const out = await run((g) => {
      const x = g.input('x', 'float64', [3]);
      const y = g.op('Gather', [x, g.int64s([2, 2, 0])]);
      const loss = g.op('ReduceSum', [g.op('Mul', [y, g.constant(Tensor.fromArray([1, 10, 100], 'float64'))])], { keepdims: 0 });
      return { dx: gradients(g, loss, [x])[0]! };
    }, { x: Tensor.fromArray([1, 2, 3], 'float64') });
    expectClose(out.dx!, [100, 0, 11]);
  });
});
