/**
 * Finite-difference checks of Conv and ConvTranspose gradients. ONNX Runtime runs these ops in float32 only;
 * they are linear in each input, so central differences with a large step are exact and the tolerance only
 * covers float32 rounding (LINEAR_F32). Every geometry runs with every input- and weight-gradient method.
 */
import { GraphBuilder, Runtime, disposeSharedRuntimes, lowerConvsToWinograd, type GradOptions, type Tensor } from '@dc/core';
import { gradcheck } from '../../src/autodiff/gradcheck.js';
import { gradients } from '../../src/autodiff/gradients.js';
import { LINEAR_F32, disposeRuntime, expectGradOk, randn } from './util.js';

afterAll(disposeRuntime);

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  attrs: Record<string, number | number[] | string>;
  bias?: boolean;
}

const convCases: ConvCase[] = [
  { name: 'k3 s1 p1', x: [2, 2, 6, 7], w: [3, 2, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: 'k3 s1 p1 on 8x12 (Winograd tiles)', x: [2, 3, 8, 12], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: 'k3 s2 p1, 8 -> 4 (output_padding 1)', x: [2, 2, 8, 8], w: [3, 2, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, bias: true },
  { name: 'k3 s2 p1, 7 -> 4 (output_padding 0)', x: [1, 2, 7, 7], w: [3, 2, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
  { name: 'k5 s3 p0 on 11x10: last rows unread', x: [2, 1, 11, 10], w: [3, 1, 5, 5], attrs: { strides: [3, 3] } },
  { name: 'k3x2, strides 2x3, asymmetric pads, dilations 1x2', x: [2, 2, 9, 7], w: [3, 2, 3, 2], attrs: { pads: [1, 0, 2, 1], strides: [2, 3], dilations: [1, 2] } },
  { name: 'dilation 2, stride 1, pad 2', x: [1, 2, 9, 9], w: [3, 2, 3, 3], attrs: { pads: [2, 2, 2, 2], dilations: [2, 2] }, bias: true },
  { name: 'groups 2, stride 1', x: [2, 4, 6, 6], w: [6, 2, 3, 3], attrs: { pads: [1, 1, 1, 1], group: 2 } },
  { name: 'groups 2, stride 2, odd size', x: [2, 4, 7, 7], w: [6, 2, 3, 3], attrs: { pads: [1, 1, 1, 1], group: 2, strides: [2, 2] } },
  { name: 'depthwise, stride 2', x: [1, 3, 5, 5], w: [3, 1, 3, 3], attrs: { pads: [1, 1, 1, 1], group: 3, strides: [2, 2] } },
  { name: '1x1 stride 1', x: [2, 4, 5, 5], w: [3, 4, 1, 1], attrs: {}, bias: true },
  { name: '1x1 stride 2 on 7x7', x: [2, 4, 7, 7], w: [3, 4, 1, 1], attrs: { strides: [2, 2] } },
  { name: 'auto_pad SAME_UPPER stride 2', x: [1, 2, 7, 6], w: [3, 2, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: 'pads larger than the kernel span', x: [1, 2, 5, 5], w: [2, 2, 2, 2], attrs: { pads: [2, 2, 2, 2] } },
  { name: 'Conv1d k3 s2 p1', x: [2, 3, 10], w: [4, 3, 3], attrs: { pads: [1, 1], strides: [2] }, bias: true },
];

/** The default ('auto') methods are checked on every element, the alternatives on a random sample each. */
const methods: [GradOptions, number | undefined][] = [
  [{}, undefined],
  [{ convInputGrad: 'convTranspose', convWeightGrad: 'conv' }, 24],
  [{ convInputGrad: 'conv', convWeightGrad: 'unfold' }, 24],
  [{ convInputGrad: 'fold', convWeightGrad: 'unfold-batched' }, 24],
  [{ convWeightGrad: 'gather' }, 24],
  [{ convWeightGrad: 'winograd' }, 24],
];

async function checkAllMethods(op: string, inputs: Tensor[], attrs: ConvCase['attrs']): Promise<void> {
  for (const [k, [gradientOptions, maxElements]] of methods.entries()) {
    await expectGradOk((g, v) => g.op(op, v, attrs), inputs, { ...LINEAR_F32, gradientOptions, seed: k, ...(maxElements ? { maxElements } : {}) });
  }
}

describe('Conv', () => {
  it.each(convCases)('$name', async ({ x, w, attrs, bias }) => {
    await checkAllMethods('Conv', [randn(x, 'float32'), randn(w, 'float32'), ...(bias ? [randn([w[0]!], 'float32')] : [])], attrs);
  });

  it('picks the gradient method per layer: flipped Conv, ConvTranspose or Gemm + fold for dX; row gather, Winograd, batched or single product for dW', () => {
    const ops = (size: number, strides: number[], wrt: 'x' | 'w', channels = 16, batch = 2) => {
      const g = new GraphBuilder();
      const x = g.input('x', 'float32', [batch, channels, size, size]);
      const w = g.input('w', 'float32', [channels, channels, 3, 3]);
      const loss = g.op('ReduceSum', [g.op('Conv', [x, w], { pads: [1, 1, 1, 1], strides })], { keepdims: 0 });
      const before = g.nodes.length;
      gradients(g, loss, [wrt === 'x' ? x : w]);
      return g.nodes.slice(before).map((n) => n.opType);
    };
    // dX: stride 1 -> flipped-kernel Conv (the flip a product with the exchange matrix); stride 2 on a 12x12 map
    // (36 output pixels) -> ConvTranspose; stride 2 on 8x8 (16 output pixels) -> one Gemm and a fold (Col2Im).
    expect(ops(8, [1, 1], 'x')).toEqual(expect.arrayContaining(['Conv', 'MatMul']));
    expect(ops(8, [1, 1], 'x')).not.toContain('ConvTranspose');
    expect(ops(12, [2, 2], 'x')).toContain('ConvTranspose');
    expect(ops(12, [2, 2], 'x')).not.toContain('Gemm');
    expect(ops(8, [2, 2], 'x')).toEqual(expect.arrayContaining(['Gemm', 'Col2Im']));
    // Stride 1 on 4x4 (16 output pixels) -> the fold, except with 64 channels and more, where the flipped-kernel
    // Conv is one the runtime's Winograd option can run (winogradConvolutions).
    expect(ops(4, [1, 1], 'x')).toContain('Col2Im');
    expect(ops(4, [1, 1], 'x', 64)).not.toContain('Col2Im');
    expect(ops(4, [1, 1], 'x', 64)).toContain('Conv');
    // dW: at most 64 output pixels per sample -> row gather and one product per tap; 144 pixels -> per-sample
    // MatMul summed over the batch; the same with over 2^24 partial products -> one Gemm over batch and pixels.
    expect(ops(8, [1, 1], 'w')).toEqual(expect.arrayContaining(['Gather', 'MatMul']));
    expect(ops(8, [2, 2], 'w')).toEqual(expect.arrayContaining(['Gather', 'MatMul']));
    expect(ops(12, [1, 1], 'w')).toEqual(expect.arrayContaining(['MatMul', 'ReduceSum']));
    expect(ops(12, [1, 1], 'w')).not.toContain('Gather');
    expect(ops(10, [1, 1], 'w', 512, 64)).toContain('Gemm');
    expect(ops(10, [1, 1], 'w', 512, 64)).not.toContain('Gather');
    // 3x3, stride 1, pad 1, at least 64 channels in and out, sizes divisible by 4: Winograd's F(4x4, 3x3) (tiles
    // gathered from both tables, two transform products and one per position, the kernel transform a Gemm).
    const winograd = ops(8, [1, 1], 'w', 64);
    expect(winograd.filter((op) => op === 'Gather')).toHaveLength(2);
    expect(winograd.filter((op) => op === 'MatMul')).toHaveLength(3);
    expect(winograd).toContain('Gemm');
    expect(ops(8, [1, 1], 'w', 32)).not.toContain('Gemm');
    expect(ops(10, [1, 1], 'w', 64)).not.toContain('Gemm');
    // The batched products' batch sum: ReduceSum below 2^18 partial products, a product with a row of ones from
    // there on (8 x 576 x 64 = 294,912 here).
    expect(ops(10, [1, 1], 'w', 64, 8)).not.toContain('ReduceSum');
    expect(ops(10, [1, 1], 'w', 64, 8).filter((op) => op === 'MatMul')).toHaveLength(2);
  });

  it("the CPU runtime's Winograd lowering runs the input gradient from the kernel itself, without the flipped copy", async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 64, 4, 4]);
    const w = g.input('w', 'float32', [64, 64, 3, 3]);
    const loss = g.op('ReduceSum', [g.op('Mul', [g.op('Conv', [x, w], { pads: [1, 1, 1, 1] }), g.input('t', 'float32', [2, 64, 4, 4])])], { keepdims: 0 });
    const [dx] = gradients(g, loss, [x]);
    g.output(dx!, 'dx');
    const model = g.toModel();
    const lowered = lowerConvsToWinograd(model);
    expect(model.nodes.some((n) => n.opType === 'Transpose' && n.inputs[0]?.name === 'w')).toBe(true);
    expect(lowered.nodes.some((n) => n.opType === 'Transpose' && n.inputs[0]?.name === 'w')).toBe(false);
    expect(lowered.nodes.some((n) => n.opType === 'Conv')).toBe(false);
    const runtime = await Runtime.create({ device: 'cpu', threads: 1, winogradConvolutions: false });
    const feeds = { x: randn([2, 64, 4, 4], 'float32'), w: randn([64, 64, 3, 3], 'float32'), t: randn([2, 64, 4, 4], 'float32') };
    const want = (await (await runtime.session(model)).run(feeds)).dx!;
    const got = (await (await runtime.session(lowered)).run(feeds)).dx!;
    await runtime.dispose();
    const scale = Math.max(...Array.from(want.data as Float32Array, Math.abs));
    expect(Math.max(...Array.from(got.data as Float32Array, (v, i) => Math.abs(v - (want.data[i] as number))))).toBeLessThan(2e-5 * scale);
  });

  it('batched weight gradient summed over the batch by a product (2^18 partial products and more)', async () => {
    const x = randn([8, 64, 12, 12], 'float32');
    const w = randn([64, 64, 3, 3], 'float32');
    await expectGradOk((g, v) => g.op('Conv', v, { pads: [1, 1, 1, 1] }), [x, w], {
      ...LINEAR_F32,
      gradientOptions: { convWeightGrad: 'unfold-batched' },
      maxElements: 24,
    });
  });

  it('gradcheck without a runtime differentiates through the direct kernels, where the CPU runtime would use Winograd', async () => {
    // 64 channels on 8x8: the default runtime runs this Conv by Winograd's F(4x4, 3x3) (winogradConvolutions),
    // whose finite differences miss this tolerance on some of these 300 elements (checked).
    const x = randn([2, 64, 8, 8], 'float32', 1, 101);
    const w = randn([64, 64, 3, 3], 'float32', 1, 102);
    const r = await gradcheck((g, v) => g.op('Conv', v, { pads: [1, 1, 1, 1] }), [x, w], { ...LINEAR_F32, maxElements: 300 });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    await disposeSharedRuntimes();
  });

  it("Winograd weight gradient where 'auto' picks it: 64 channels on 8x8 and 4x4 maps", async () => {
    for (const size of [8, 4]) {
      const x = randn([2, 64, size, size], 'float32');
      const w = randn([64, 64, 3, 3], 'float32');
      await expectGradOk((g, v) => g.op('Conv', v, { pads: [1, 1, 1, 1] }), [x, w], { ...LINEAR_F32, maxElements: 24 });
    }
  });
});

const convTransposeCases: ConvCase[] = [
  { name: 's2 p1 output_padding 1 (4 -> 8)', x: [2, 3, 4, 4], w: [3, 2, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], output_padding: [1, 1] }, bias: true },
  { name: 's2 p1 (4 -> 7)', x: [2, 3, 4, 4], w: [3, 2, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
  { name: 's2 p0 output_padding 1: padding rows beyond the end pad', x: [1, 2, 3, 3], w: [2, 3, 3, 3], attrs: { strides: [2, 2], output_padding: [1, 1] } },
  { name: 'groups 2, stride 2', x: [1, 4, 3, 3], w: [4, 3, 3, 3], attrs: { strides: [2, 2], group: 2 }, bias: true },
  { name: 'dilation 2, stride 2, output_padding 1', x: [1, 2, 4, 4], w: [2, 2, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [2, 2], output_padding: [1, 1] } },
  { name: 'dilation 2, stride 1', x: [1, 2, 4, 4], w: [2, 2, 3, 3], attrs: { pads: [1, 2, 1, 0], dilations: [2, 2] } },
  { name: 'stride 3, asymmetric pads, output_padding 2x1', x: [2, 2, 3, 4], w: [2, 3, 4, 3], attrs: { strides: [3, 3], pads: [0, 1, 2, 0], output_padding: [2, 1] } },
  { name: 'ConvTranspose1d s2 p1 op1', x: [2, 3, 5], w: [3, 2, 3], attrs: { strides: [2], pads: [1, 1], output_padding: [1] } },
];

describe('ConvTranspose', () => {
  it.each(convTransposeCases)('$name', async ({ x, w, attrs, bias }) => {
    const inputs = [randn(x, 'float32'), randn(w, 'float32'), ...(bias ? [randn([w[1]! * Number(attrs.group ?? 1)], 'float32')] : [])];
    await checkAllMethods('ConvTranspose', inputs, attrs);
  });
});
