import * as ort from 'onnxruntime-node';
import {
  GraphBuilder,
  GraphError,
  Runtime,
  Tensor,
  defineOp,
  getOpDef,
  parseModel,
  registeredOps,
  serializeModel,
} from '@dc/core';

let runtime: Runtime;
beforeAll(async () => {
  runtime = await Runtime.create({ device: 'cpu', threads: 1 });
});
afterAll(() => runtime.dispose());

async function run(g: GraphBuilder, feeds: Record<string, Tensor>) {
  const session = await runtime.session(g);
  return session.run(feeds);
}

describe('GraphBuilder shape inference', () => {
  it('infers shapes through a small MLP and ONNX Runtime agrees', async () => {
    const g = new GraphBuilder({ name: 'mlp' });
    const x = g.input('x', 'float32', ['batch', 4]);
    const w1 = g.initializer('w1', Tensor.from(Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 10), [4, 3]));
    const b1 = g.initializer('b1', Tensor.fromArray([0.1, -0.2, 0.3]));
    const h = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, w1]), b1])]);
    expect(h.shape).toEqual(['batch', 3]);
    const p = g.op('Softmax', [h], { axis: -1 });
    const y = g.output(p, 'y');
    expect(y.shape).toEqual(['batch', 3]);
    const out = await run(g, { x: Tensor.fromArray([[1, 2, 3, 4], [0, 0, 0, 0]]) });
    expect(out.y!.shape).toEqual([2, 3]);
    const rows = out.y!.toArray() as number[][];
    for (const r of rows) expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // row 2: softmax(relu(b1)) = softmax([0.1, 0, 0.3])
    const e = [Math.exp(0.1), 1, Math.exp(0.3)];
    const z = e[0]! + e[1]! + e[2]!;
    expect(rows[1]![0]).toBeCloseTo(e[0]! / z, 5);
  });

  it('infers conv, pooling, reshape and reduction shapes', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [8, 1, 28, 28]);
    const w = g.initializer('w', Tensor.zeros([16, 1, 3, 3]));
    const c = g.op('Conv', [x, w], { strides: [2, 2], pads: [1, 1, 1, 1] });
    expect(c.shape).toEqual([8, 16, 14, 14]);
    const [mp, idx] = g.opMulti('MaxPool', [c], { kernel_shape: [2, 2], strides: [2, 2] }, 2);
    expect(mp!.shape).toEqual([8, 16, 7, 7]);
    expect(idx!.dtype).toBe('int64');
    const wt = g.initializer('wt', Tensor.zeros([16, 4, 3, 3]));
    const up = g.op('ConvTranspose', [mp!, wt], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] });
    expect(up.shape).toEqual([8, 4, 14, 14]);
    const flat = g.op('Reshape', [up, g.int64s([0, -1])]);
    expect(flat.shape).toEqual([8, 4 * 14 * 14]);
    expect(g.op('ReduceMean', [flat, g.int64s([1])], { keepdims: 0 }).shape).toEqual([8]);
    expect(g.op('ReduceSum', [flat]).shape).toEqual([1, 1]);
    expect(g.op('GlobalAveragePool', [c]).shape).toEqual([8, 16, 1, 1]);
    expect(g.op('Transpose', [c], { perm: [0, 2, 3, 1] }).shape).toEqual([8, 14, 14, 16]);
    const parts = g.opMulti('Split', [c], { axis: 1, num_outputs: 2 }, 2);
    expect(parts.map((p) => p.shape)).toEqual([[8, 8, 14, 14], [8, 8, 14, 14]]);
    expect(g.op('Concat', [parts[0]!, parts[1]!, parts[0]!], { axis: 1 }).shape).toEqual([8, 24, 14, 14]);
    expect(g.op('Slice', [c, g.int64s([2]), g.int64s([-1]), g.int64s([2])]).shape).toEqual([8, 16, 11, 14]);
    expect(g.op('Gather', [c, g.int64s([0, 3, 5])], { axis: 1 }).shape).toEqual([8, 3, 14, 14]);
    expect(g.op('Unsqueeze', [flat, g.int64s([0, -1])]).shape).toEqual([1, 8, 784, 1]);
    const [vals] = g.opMulti('TopK', [flat, g.int64s([5])], { axis: 1 }, 2);
    expect(vals!.shape).toEqual([8, 5]);
    expect(g.op('Gemm', [flat, g.initializer('gw', Tensor.zeros([10, 784]))], { transB: 1 }).shape).toEqual([8, 10]);
    expect(g.op('Cast', [flat], { to: 7 }).dtype).toBe('int64');
    expect(g.op('Equal', [flat, flat]).dtype).toBe('bool');
    expect(g.op('Pad', [x, g.int64s([0, 0, 2, 2, 0, 0, 2, 2])]).shape).toEqual([8, 1, 32, 32]);
  });

  it('keeps a symbolic batch dim through Flatten and Reshape where the element count says so', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['N', 64, 4, 4]);
    expect(g.op('Flatten', [x]).shape).toEqual(['N', 1024]);
    expect(g.op('Flatten', [x], { axis: 2 }).shape[1]).toBe(16);
    expect(g.op('Reshape', [x, g.int64s([0, -1])]).shape).toEqual(['N', 1024]);
    expect(g.op('Reshape', [x, g.int64s([-1, 1024])]).shape).toEqual(['N', 1024]);
    expect(g.op('Reshape', [x, g.int64s([-1, 64, 16])]).shape).toEqual(['N', 64, 16]);
    const flat = g.op('Reshape', [x, g.int64s([0, -1])]);
    expect(g.op('Reshape', [flat, g.int64s([0, 64, -1, 4])]).shape).toEqual(['N', 64, 4, 4]);
    const one = g.input('one', 'float32', ['B', 1]);
    expect(g.op('Flatten', [one], { axis: 2 }).shape).toEqual(['B', 1]);
    expect(g.op('Reshape', [one, g.int64s([-1])]).shape).toEqual(['B']);
    // Where -1 is not one known dim (N x 2 here, or two symbols), it is a fresh symbol, not a guess.
    const halves = g.op('Reshape', [x, g.int64s([-1, 512])]).shape;
    expect(typeof halves[0]).toBe('string');
    expect(halves[0]).not.toBe('N');
    const two = g.input('two', 'float32', ['A', 'B', 3]);
    const merged = g.op('Flatten', [two], { axis: 2 }).shape;
    expect(merged[0]).not.toBe('A');
    expect(merged[0]).not.toBe('B');
    expect(merged[1]).toBe(3);
  });

  it('folds shape arithmetic so computed Reshape targets are still checked', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [4, 6, 5]);
    const shape = g.op('Shape', [x]);
    expect(Array.from(shape.constant!.data as BigInt64Array)).toEqual([4n, 6n, 5n]);
    const first = g.op('Gather', [shape, g.int64s([0])]);
    const target = g.op('Concat', [first, g.int64s([-1])], { axis: 0 });
    expect(g.op('Reshape', [x, target]).shape).toEqual([4, 30]);
  });

  it('reports mistakes at build time with the node name', () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    const i = g.input('i', 'int32', [2, 3]);
    expect(() => g.op('MatMul', [a, b])).toThrow(GraphError);
    expect(() => g.op('MatMul', [a, b])).toThrow(/MatMul.*inner dimensions differ/);
    expect(() => g.op('Add', [a, b])).toThrow(/cannot be broadcast/);
    expect(() => g.op('Add', [a, i])).toThrow(/dtype/);
    expect(() => g.op('Reshape', [a, g.int64s([4, 2])])).toThrow(/cannot reshape/);
    expect(() => g.op('Reshape', [a, b])).toThrow(/must be a constant/);
    expect(() => g.op('Conv', [a, b])).toThrow(/X must be/);
    expect(() => g.op('Transpose', [a], { perm: [0, 0] })).toThrow(/not a permutation/);
    expect(() => g.op('Softmax', [a], { axis: 2 })).toThrow(/out of range/);
    expect(() => g.op('NoSuchOp', [a])).toThrow(/no definition for op 'NoSuchOp'/);
    expect(() => g.input('a', 'float32', [1])).toThrow(/already used/);
    const other = new GraphBuilder();
    expect(() => other.op('Relu', [a])).toThrow(/another graph/);
    expect(() => new GraphBuilder().toModel()).toThrow(/no outputs/);
    try {
      g.op('MatMul', [a, b], {}, { name: 'proj' });
    } catch (e) {
      expect((e as GraphError).node).toMatch(/^proj/);
    }
  });

  it('handles float attributes, numeric operands and scopes', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [3]);
    const y = g.scope('block', () => g.op('LeakyRelu', [g.op('Mul', [x, 2])], { alpha: 1 }));
    expect(y.name.startsWith('block/')).toBe(true);
    g.output(y, 'y');
    const out = await run(g, { x: Tensor.fromArray([-1, 0, 2]) });
    // alpha must be serialised as a float (1.0) even though it is an integral number
    expect(out.y!.toArray()).toEqual([-2, 0, 4]);
  });

  it('keeps outputs that are inputs or initializers valid', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2]);
    g.output(x);
    g.output(g.constant(Tensor.fromArray([5, 6])), 'c');
    const out = await run(g, { x: Tensor.fromArray([1, 2]) });
    expect(Object.values(out).map((t) => t.toArray())).toEqual(expect.arrayContaining([[1, 2], [5, 6]]));
  });

  it('runs int64 and bool graphs', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'int64', [3]);
    const m = g.op('Greater', [x, g.constant(1, 'int64')]);
    g.output(m, 'mask');
    g.output(g.op('Where', [m, x, g.constant(0, 'int64')]), 'kept');
    const out = await run(g, { x: Tensor.fromArray([0, 2, 5], 'int64') });
    expect(out.mask!.toArray()).toEqual([false, true, true]);
    expect(out.kept!.toArray()).toEqual([0, 2, 5]);
  });
});

describe('serialisation', () => {
  it('writes standard ONNX that plain onnxruntime loads, and reads it back', async () => {
    const g = new GraphBuilder({ name: 'affine' });
    g.metadata.producer_note = 'test';
    const x = g.input('x', 'float64', ['n', 2]);
    const w = g.initializer('w', Tensor.from(new Float64Array([1, 2, 3, 4]), [2, 2]));
    const b = g.initializer('b', Tensor.from(new BigInt64Array([7n, 8n]), [2]));
    g.output(g.op('Gemm', [x, w], { alpha: 0.5 }), 'y');
    g.output(g.op('Identity', [b]), 'b_out');
    const bytes = serializeModel(g.toModel('doc'));
    const session = await ort.InferenceSession.create(bytes);
    const res = await session.run({ x: new ort.Tensor('float64', new Float64Array([1, 1]), [1, 2]) });
    expect(Array.from(res.y!.data as Float64Array)).toEqual([2, 3]);
    await session.release();

    const parsed = parseModel(bytes);
    expect(parsed.name).toBe('affine');
    expect(parsed.opset).toBe(18);
    expect(parsed.producer).toBe('deep-cluster');
    expect(parsed.inputs).toEqual([{ name: 'x', dtype: 'float64', shape: ['n', 2] }]);
    expect(parsed.outputs.map((o) => o.name)).toEqual(['y', 'b_out']);
    expect(parsed.initializers.get('w')!.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(parsed.initializers.get('b')!.data).toEqual(new BigInt64Array([7n, 8n]));
    const gemm = parsed.nodes.find((n) => n.opType === 'Gemm')!;
    expect(gemm.attributes.alpha).toEqual({ type: 'float', value: 0.5 });
    expect(parsed.metadata.producer_note).toBe('test');
  });

  it('drops unused initializers and rejects garbage bytes', () => {
    const g = new GraphBuilder();
    g.initializer('unused', Tensor.zeros([1000]));
    const x = g.input('x', 'float32', [1]);
    g.output(g.op('Neg', [x]));
    expect(g.toModel().initializers).toHaveLength(0);
    expect(() => parseModel(new Uint8Array([0xff, 0xff, 0xff, 0x0f]))).toThrow(GraphError);
  });
});

describe('op registry', () => {
  it('lists the built-in ops and accepts new definitions', () => {
    const ops = registeredOps();
    for (const op of ['Conv', 'ConvTranspose', 'MaxPool', 'Gemm', 'TopK', 'ScatterElements', 'ReduceMax', 'LogSoftmax']) {
      expect(ops).toContain(op);
    }
    expect(getOpDef('Conv')).toBeDefined();
    defineOp({ type: 'MyOp', domain: 'test.domain', infer: (ctx) => [{ dtype: 'float32', shape: ctx.input(0).shape }] });
    const g = new GraphBuilder();
    const v = g.op('MyOp', [g.input('x', 'float32', [2])], {}, { domain: 'test.domain' });
    expect(v.shape).toEqual([2]);
  });
});
