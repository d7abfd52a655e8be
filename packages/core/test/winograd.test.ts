import { GraphBuilder, InvalidOptionError, Rng, Runtime, Tensor, lowerConvsToWinograd, type ModelDescription, type Value } from '@dc/core';
import { relMaxError } from './helpers';

const rng = new Rng(11);
function randn(shape: number[]): Tensor {
  const t = Tensor.zeros(shape);
  rng.fillNormal(t.data);
  return t;
}

const convCount = (m: ModelDescription) => m.nodes.filter((n) => n.opType === 'Conv').length;

describe("Winograd F(4x4, 3x3) convolutions on the CPU (runtime option winogradConvolutions)", () => {
  let plain: Runtime;
  let winograd: Runtime;
  beforeAll(async () => {
    plain = await Runtime.create({ device: 'cpu', threads: 1, winogradConvolutions: false });
    winograd = await Runtime.create({ device: 'cpu', threads: 1 }); // on by default
  });
  afterAll(async () => {
    await plain.dispose();
    await winograd.dispose();
  });

  it.each([
    { name: '64 -> 64 channels, 8x8, bias', c: 64, m: 64, h: 8, w: 8, bias: true },
    { name: '64 -> 96 channels, 4x12 (non-square)', c: 64, m: 96, h: 4, w: 12, bias: false },
    { name: '80 -> 64 channels, 8x8, bias', c: 80, m: 64, h: 8, w: 8, bias: true },
    { name: '64 -> 64 channels, 4x4', c: 64, m: 64, h: 4, w: 4, bias: false },
  ])('gives the direct Conv\'s output to float32 rounding: $name', async ({ c, m, h, w, bias }) => {
    const g = new GraphBuilder({ name: 'conv' });
    const x = g.input('x', 'float32', [3, c, h, w]);
    const inputs: Value[] = [x, g.input('w', 'float32', [m, c, 3, 3])];
    if (bias) inputs.push(g.input('b', 'float32', [m]));
    g.output(g.op('Conv', inputs, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), 'y');
    const feeds: Record<string, Tensor> = { x: randn([3, c, h, w]), w: randn([m, c, 3, 3]) };
    if (bias) feeds.b = randn([m]);
    const model = g.toModel();
    const lowered = lowerConvsToWinograd(model);
    expect(convCount(lowered)).toBe(0);
    // The new nodes carry the prefix (the output's Identity is the graph's own); inputs and outputs keep their names.
    expect(lowered.nodes.filter((n) => n.opType !== 'Identity').every((n) => n.name.startsWith('winograd/'))).toBe(true);
    expect(lowered.inputs).toEqual(model.inputs);
    expect(lowered.outputs).toEqual(model.outputs);
    const want = (await (await plain.session(model)).run(feeds)).y!;
    const got = (await (await plain.session(lowered)).run(feeds)).y!;
    expect(got.shape).toEqual(want.shape);
    expect(relMaxError(got, want)).toBeLessThan(2e-5);
  });

  it('lowers when a session is compiled on the CPU (unless the option is off), with the same result', async () => {
    const g = new GraphBuilder({ name: 'conv' });
    g.output(g.op('Conv', [g.input('x', 'float32', [2, 64, 8, 8]), g.input('w', 'float32', [64, 64, 3, 3])], { pads: [1, 1, 1, 1] }), 'y');
    const feeds = { x: randn([2, 64, 8, 8]), w: randn([64, 64, 3, 3]) };
    const on = await winograd.session(g);
    const off = await plain.session(g);
    expect(on.winogradConvolutions).toBe(1);
    expect(off.winogradConvolutions).toBe(0);
    expect(relMaxError((await on.run(feeds)).y!, (await off.run(feeds)).y!)).toBeLessThan(2e-5);
  });

  it('leaves alone the Convs it cannot run or that do not gain', () => {
    const g = new GraphBuilder({ name: 'not_lowered' });
    const x = g.input('x', 'float32', [2, 64, 8, 8]);
    const w = g.input('w', 'float32', [64, 64, 3, 3]);
    const outs = [
      g.op('Conv', [x, w], { pads: [1, 1, 1, 1], strides: [2, 2] }), // stride 2
      g.op('Conv', [x, w], { pads: [1, 1, 1, 1], dilations: [2, 2] }), // dilation 2 (and a 6x6 output)
      g.op('Conv', [x, w]), // no padding: 6x6
      g.op('Conv', [x, g.input('w1', 'float32', [64, 64, 1, 1])]), // 1x1
      g.op('Conv', [x, g.input('w2', 'float32', [32, 64, 3, 3])], { pads: [1, 1, 1, 1] }), // 32 output channels
      g.op('Conv', [g.input('x3', 'float32', [2, 32, 8, 8]), g.input('w3', 'float32', [64, 32, 3, 3])], { pads: [1, 1, 1, 1] }), // 32 inputs
      g.op('Conv', [g.input('x4', 'float32', [2, 64, 12, 10]), w], { pads: [1, 1, 1, 1] }), // 10 not divisible by 4
      g.op('Conv', [g.input('x5', 'float32', [2, 64, 16, 16]), w], { pads: [1, 1, 1, 1] }), // 16x16: the direct kernel is as fast
      g.op('Conv', [g.input('x6', 'float32', [2, 128, 8, 8]), g.input('w6', 'float32', [128, 64, 3, 3])], { pads: [1, 1, 1, 1], group: 2 }),
      g.op('Conv', [g.input('x7', 'float32', ['n', 64, 8, 8]), w], { pads: [1, 1, 1, 1] }), // symbolic batch
      g.op('Conv', [g.input('x8', 'float64', [2, 64, 8, 8]), g.input('w8', 'float64', [64, 64, 3, 3])], { pads: [1, 1, 1, 1] }),
      g.op('Conv', [x, w], { auto_pad: 'SAME_UPPER' }),
    ];
    for (const [i, v] of outs.entries()) g.output(v, `y${i}`);
    const model = g.toModel();
    expect(lowerConvsToWinograd(model)).toBe(model);
  });

  // The flipped, channel-swapped kernel as the autodiff builds it for an input gradient (conv.ts'
  // flippedTransposedKernel): a Transpose, and a product with the exchange matrix that reverses the 9 taps.
  const flippedCopy = (g: GraphBuilder, w: Value, exchange: Value = g.constant(exchangeMatrix())) => {
    const [m, c] = w.staticShape as [number, number];
    const taps = g.op('Reshape', [g.op('Transpose', [w], { perm: [1, 0, 2, 3] }), g.int64s([-1, 9])]);
    return g.op('Reshape', [g.op('MatMul', [taps, exchange]), g.int64s([c, m, 3, 3])]);
  };
  function exchangeMatrix(): Tensor {
    const e = Tensor.zeros([9, 9]);
    for (let i = 0; i < 9; i++) e.data[i * 9 + 8 - i] = 1;
    return e;
  }

  it.each([
    { name: '64 -> 96 channels, 8x8, by F(4x4, 3x3)', m: 64, c: 96, h: 8, positions: 36 },
    { name: '128 -> 64 channels, 4x4, by F(2x2, 3x3)', m: 128, c: 64, h: 4, positions: 16 },
  ])("runs an input gradient's flipped-kernel Conv from the kernel itself: $name", async ({ m, c, h, positions }) => {
    const g = new GraphBuilder({ name: 'adjoint' });
    const dy = g.input('dy', 'float32', [2, m, h, h]);
    const w = g.input('w', 'float32', [m, c, 3, 3]);
    g.output(g.op('Conv', [dy, flippedCopy(g, w)], { pads: [1, 1, 1, 1] }), 'dx');
    const model = g.toModel();
    const lowered = lowerConvsToWinograd(model);
    // The flipped copy is gone: its Transpose, exchange product and constants (the only Transposes left are the
    // tile cut's, which read dy).
    expect(convCount(lowered)).toBe(0);
    expect(lowered.nodes.some((n) => n.opType === 'Transpose' && n.inputs[0]?.name === 'w')).toBe(false);
    expect(lowered.nodes.some((n) => n.inputs.some((v) => v?.name === model.nodes[2]!.outputs[0]!.name))).toBe(false);
    // The kernel transform: a Gemm to [positions, M C].
    expect(lowered.nodes.filter((n) => n.opType === 'Gemm').map((n) => n.outputs[0]!.shape)).toEqual([[positions, m * c]]);
    const read = new Set(lowered.nodes.flatMap((n) => n.inputs.map((v) => v?.name)));
    expect(lowered.initializers.filter((i) => !read.has(i.name))).toEqual([]);
    const feeds = { dy: randn([2, m, h, h]), w: randn([m, c, 3, 3]) };
    const want = (await (await plain.session(model)).run(feeds)).dx!;
    const got = (await (await plain.session(lowered)).run(feeds)).dx!;
    expect(got.shape).toEqual([2, c, h, h]);
    expect(relMaxError(got, want)).toBeLessThan(2e-5);
  });

  it('keeps a flipped copy that something else reads, and does not take a product with another matrix for the flip', async () => {
    const g = new GraphBuilder({ name: 'kept' });
    const dy = g.input('dy', 'float32', [2, 64, 8, 8]);
    const w = g.input('w', 'float32', [64, 64, 3, 3]);
    const flipped = flippedCopy(g, w);
    g.output(g.op('Conv', [dy, flipped], { pads: [1, 1, 1, 1] }), 'dx');
    g.output(flipped, 'flipped');
    // The same chain with the exchange matrix fed as an input: not known to be a flip, so the Conv reads the copy.
    g.output(g.op('Conv', [dy, flippedCopy(g, w, g.input('e', 'float32', [9, 9]))], { pads: [1, 1, 1, 1] }), 'dx2');
    const model = g.toModel();
    const lowered = lowerConvsToWinograd(model);
    expect(convCount(lowered)).toBe(0);
    expect(lowered.nodes.filter((n) => n.opType === 'Transpose' && n.inputs[0]?.name === 'w')).toHaveLength(2);
    const feeds = { dy: randn([2, 64, 8, 8]), w: randn([64, 64, 3, 3]), e: exchangeMatrix() };
    const want = await (await plain.session(model)).run(feeds);
    const got = await (await plain.session(lowered)).run(feeds);
    expect(got.flipped!.data).toEqual(want.flipped!.data);
    expect(relMaxError(got.dx!, want.dx!)).toBeLessThan(2e-5);
    expect(relMaxError(got.dx2!, want.dx!)).toBeLessThan(2e-5);
  });

  it('rejects a non-boolean option with a typed error', async () => {
    await expect(Runtime.create({ device: 'cpu', winogradConvolutions: 'yes' as never })).rejects.toThrow(InvalidOptionError);
  });
});
