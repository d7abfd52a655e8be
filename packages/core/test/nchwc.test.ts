import {
  GraphBuilder,
  GraphError,
  InvalidOptionError,
  NCHWC_DOMAIN,
  Rng,
  Runtime,
  Tensor,
  lowerConvsToNchwc,
  nchwcBlockSize,
  serializeModel,
  type ModelDescription,
} from '@dc/core';
import { relMaxError } from './helpers';

interface ConvCase {
  name: string;
  /** Input channels as a multiple of the block. */
  inBlocks: number;
  outBlocks: number;
  size: [number, number];
  kernel: [number, number];
  attributes: Record<string, number[]>;
  bias?: boolean;
}

const CASES: ConvCase[] = [
  { name: '3x3, stride 1, padded', inBlocks: 2, outBlocks: 2, size: [9, 9], kernel: [3, 3], attributes: { pads: [1, 1, 1, 1], strides: [1, 1] } },
  { name: '3x3, stride 2, odd size, bias', inBlocks: 1, outBlocks: 2, size: [11, 11], kernel: [3, 3], attributes: { pads: [1, 1, 1, 1], strides: [2, 2] }, bias: true },
  { name: '1x1, stride 2 (a shortcut)', inBlocks: 2, outBlocks: 1, size: [8, 8], kernel: [1, 1], attributes: { strides: [2, 2] } },
  { name: '5x3, dilation 2, uneven pads', inBlocks: 1, outBlocks: 1, size: [12, 10], kernel: [5, 3], attributes: { pads: [2, 1, 3, 0], dilations: [2, 2] } },
  { name: '3x3, stride (1, 2), bias, non-square', inBlocks: 3, outBlocks: 1, size: [9, 7], kernel: [3, 3], attributes: { pads: [1, 1, 1, 1], strides: [1, 2] }, bias: true },
];

function convGraph(c: ConvCase, block: number, batch = 3): { g: GraphBuilder; feeds: Record<string, Tensor> } {
  const inC = c.inBlocks * block;
  const outC = c.outBlocks * block;
  const g = new GraphBuilder({ name: 'conv' });
  const x = g.input('x', 'float32', [batch, inC, ...c.size]);
  const w = g.input('w', 'float32', [outC, inC, ...c.kernel]);
  const b = c.bias ? g.input('b', 'float32', [outC]) : null;
  g.output(g.op('Conv', b ? [x, w, b] : [x, w], { kernel_shape: c.kernel, ...c.attributes }), 'y');
  const rng = new Rng(7);
  const tensor = (shape: number[]) => {
    const t = Tensor.zeros(shape);
    rng.fillNormal(t.data);
    return t;
  };
  const feeds: Record<string, Tensor> = { x: tensor([batch, inC, ...c.size]), w: tensor([outC, inC, ...c.kernel]) };
  if (c.bias) feeds.b = tensor([outC]);
  return { g, feeds };
}

const blockedConvs = (m: ModelDescription) => m.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv').length;

describe('blocked-layout (NCHWc) convolutions on the CPU', () => {
  let block = 0;
  let blocked: Runtime;
  let plain: Runtime;
  beforeAll(async () => {
    block = await nchwcBlockSize();
    blocked = await Runtime.create({ device: 'cpu', threads: 1, blockedConvolutions: true });
    plain = await Runtime.create({ device: 'cpu', threads: 1, blockedConvolutions: false });
  });
  afterAll(async () => {
    await blocked.dispose();
    await plain.dispose();
  });

  it('finds the kernels\' channel block on this CPU (a power of two, or 0 where the build has none)', () => {
    expect([0, 4, 8, 16, 32]).toContain(block);
  });

  it.each(CASES)('gives the standard Conv\'s output: $name', async (c) => {
    const { g, feeds } = convGraph(c, block || 16);
    const model = g.toModel();
    const lowered = lowerConvsToNchwc(model, block, { minPositions: 0, minMultiplyAdds: 0 });
    expect(blockedConvs(lowered)).toBe(block > 0 ? 1 : 0);
    const want = (await (await plain.session(model)).run(feeds)).y!;
    const got = (await (await blocked.session(lowered)).run(feeds)).y!;
    expect(got.shape).toEqual(want.shape);
    expect(relMaxError(got, want)).toBeLessThan(1e-5);
  });

  it('by default lowers only 3x3 stride-1 Convs with 64 channels and more in and out', async () => {
    const byDefault = await Runtime.create({ device: 'cpu', threads: 1 });
    try {
      const session = async (inC: number, outC: number, strides: number[], kernel = 3) => {
        const g = new GraphBuilder({ name: 'wide' });
        const x = g.input('x', 'float32', [64, inC, 16, 16]);
        const w = g.input('w', 'float32', [outC, inC, kernel, kernel]);
        g.output(g.op('Conv', [x, w], { kernel_shape: [kernel, kernel], pads: kernel === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], strides }), 'y');
        return (await byDefault.session(g)).blockedConvolutions;
      };
      // 64 x 16 x 16 positions and 64 x 64 x 9 weights per position: 604 million multiply-adds, above the thresholds.
      expect(await session(64, 64, [1, 1])).toBe(block > 0 ? 1 : 0);
      expect(await session(32, 64, [1, 1])).toBe(0); // 32 input channels
      expect(await session(64, 32, [1, 1])).toBe(0); // 32 output channels
      expect(await session(64, 64, [2, 2])).toBe(0); // strided, as in the autoencoders
      expect(await session(64, 64, [1, 1], 1)).toBe(0); // 1x1
    } finally {
      await byDefault.dispose();
    }
  });

  it('lowers every eligible Conv when a session is compiled on the CPU with the option true, with the same result', async () => {
    // 128 x 9 x 9 positions of 4 x 4 blocks of channels: 95 million multiply-adds or more, above the default threshold.
    const c: ConvCase = { ...CASES[0]!, inBlocks: 4, outBlocks: 4 };
    const { g, feeds } = convGraph(c, block || 16, 128);
    const sa = await blocked.session(g);
    const sb = await plain.session(g);
    expect(sa.blockedConvolutions).toBe(block > 0 ? 1 : 0);
    expect(sb.blockedConvolutions).toBe(0);
    const a = (await sa.run(feeds)).y!;
    const b = (await sb.run(feeds)).y!;
    expect(a.shape).toEqual(b.shape);
    const ad = a.data as Float32Array;
    const bd = b.data as Float32Array;
    for (let i = 0; i < ad.length; i += 97) expect(Math.abs(ad[i]! - bd[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(bd[i]!)));
    const small = convGraph(CASES[0]!, block || 16, 64).g; // 64 x 9 x 9 positions, 2 x 2 blocks: 48 million at most
    expect((await blocked.session(small)).blockedConvolutions).toBe(0); // below the default 50 million
  });

  it('leaves alone the Convs the kernel cannot run or that are too small to gain', () => {
    const B = block || 16;
    const g = new GraphBuilder({ name: 'not_lowered' });
    const x = g.input('x', 'float32', [2, 2 * B, 8, 8]);
    const grouped = g.op('Conv', [x, g.input('w1', 'float32', [2 * B, B, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 2 });
    const ragged = g.op('Conv', [x, g.input('w2', 'float32', [B + 1, 2 * B, 1, 1])], { kernel_shape: [1, 1] });
    const xd = g.input('xd', 'float64', [2, B, 8, 8]);
    const double = g.op('Conv', [xd, g.input('w3', 'float64', [B, B, 1, 1])], { kernel_shape: [1, 1] });
    const xs = g.input('xs', 'float32', ['n', B, 8, 8]);
    const symbolic = g.op('Conv', [xs, g.input('w4', 'float32', [B, B, 1, 1])], { kernel_shape: [1, 1] });
    const xp = g.input('xp', 'float32', [2, 3, 8, 8]);
    const plainStem = g.op('Conv', [xp, g.input('w6', 'float32', [B, 3, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    const small = g.op('Conv', [x, g.input('w5', 'float32', [B, 2 * B, 1, 1])], { kernel_shape: [1, 1] });
    for (const [i, v] of [grouped, ragged, double, symbolic, plainStem, small].entries()) g.output(v, `y${i}`);
    const model = g.toModel();
    expect(lowerConvsToNchwc(model, B, { minPositions: 1000, minMultiplyAdds: 0 })).toBe(model); // 2 x 8 x 8 = 128 positions
    expect(lowerConvsToNchwc(model, B, { minPositions: 0, minMultiplyAdds: 1e6 })).toBe(model); // 128 x 2B x B multiply-adds
    expect(blockedConvs(lowerConvsToNchwc(model, B, { minPositions: 0, minMultiplyAdds: 0 }))).toBe(1); // only the small one
    expect(lowerConvsToNchwc(model, 0, { minPositions: 0, minMultiplyAdds: 0 })).toBe(model);
  });

  it('reorders a tensor read by several Convs, and a weight, once', () => {
    const B = block || 16;
    const g = new GraphBuilder({ name: 'shared' });
    const x = g.input('x', 'float32', [4, B, 16, 16]);
    const w = g.input('w', 'float32', [B, B, 3, 3]);
    const s = g.input('s', 'float32', [2 * B, B, 1, 1]);
    g.output(g.op('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), 'a');
    g.output(g.op('Conv', [x, s], { kernel_shape: [1, 1], strides: [2, 2] }), 'b');
    g.output(g.op('Conv', [g.op('Relu', [x]), w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), 'c');
    const lowered = lowerConvsToNchwc(g.toModel(), B, { minPositions: 0, minMultiplyAdds: 0 });
    const count = (op: string) => lowered.nodes.filter((n) => n.opType === op).length;
    expect(blockedConvs(lowered)).toBe(3);
    expect(count('ReorderInput')).toBe(2); // x once, relu(x) once
    expect(count('MatMul')).toBe(2); // w once, s once (the first step of each weight's reorder)
    expect(count('Transpose')).toBe(4);
    expect(count('ReorderOutput')).toBe(3);
  });

  it('reorders the weights into the kernel layout (O/B, I/B, KH, KW, Bi, Bo) exactly', async () => {
    if (block === 0) return; // no blocked kernels in this build: nothing to run
    const B = block;
    const [out, inC, kh, kw] = [2 * B, 3 * B, 3, 2];
    const g = new GraphBuilder({ name: 'weights' });
    const x = g.input('x', 'float32', [2, inC, 6, 5]);
    const w = g.input('w', 'float32', [out, inC, kh, kw]);
    g.output(g.op('Conv', [x, w], { kernel_shape: [kh, kw], pads: [1, 0, 1, 1] }), 'y');
    const lowered = lowerConvsToNchwc(g.toModel(), B, { minPositions: 0, minMultiplyAdds: 0 });
    const reordered = lowered.nodes.flatMap((n) => n.outputs).find((v) => v.name === 'nchwc/0/w')!;
    const model = { ...lowered, outputs: [...lowered.outputs, { name: reordered.name, dtype: reordered.dtype, shape: reordered.shape }] };
    // Values of every magnitude and sign, so any rounding or mixing of entries would show.
    const wt = Tensor.zeros([out, inC, kh, kw]);
    for (let i = 0; i < wt.data.length; i++) wt.data[i] = Math.sin(i + 1) * 1e3 ** Math.cos(3 * i);
    const got = (await (await plain.session(model)).run({ x: Tensor.zeros([2, inC, 6, 5]), w: wt }))['nchwc/0/w']!.data;
    const kk = kh * kw;
    let mismatches = 0;
    for (let o = 0; o < out; o++) {
      for (let c = 0; c < inC; c++) {
        for (let k = 0; k < kk; k++) {
          const at = (((Math.floor(o / B) * (inC / B) + Math.floor(c / B)) * kk + k) * B + (c % B)) * B + (o % B);
          if (!Object.is(got[at], wt.data[(o * inC + c) * kk + k])) mismatches++;
        }
      }
    }
    expect(mismatches).toBe(0);
  });

  it('names what it adds apart from the names the model already uses, and the result runs', async () => {
    const B = block || 16;
    const g = new GraphBuilder({ name: 'taken' });
    const x = g.input('nchwc/0/x', 'float32', [4, B, 16, 16]);
    const w = g.input('nchwc/shape_0', 'float32', [B, B, 3, 3]);
    g.output(g.op('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), 'y');
    const lowered = lowerConvsToNchwc(g.toModel(), B, { minPositions: 0, minMultiplyAdds: 0 });
    const values = [...lowered.inputs, ...lowered.initializers, ...lowered.nodes.flatMap((n) => n.outputs)].map((v) => v.name);
    expect(new Set(values).size).toBe(values.length);
    expect(new Set(lowered.nodes.map((n) => n.name)).size).toBe(lowered.nodes.length);
    expect(lowered.nodes.filter((n) => n.domain === NCHWC_DOMAIN).every((n) => n.name.startsWith('nchwc_/'))).toBe(true);
    if (block > 0) {
      const rng = new Rng(1);
      const feeds = { 'nchwc/0/x': Tensor.zeros([4, B, 16, 16]), 'nchwc/shape_0': Tensor.zeros([B, B, 3, 3]) };
      rng.fillNormal(feeds['nchwc/0/x'].data);
      rng.fillNormal(feeds['nchwc/shape_0'].data);
      const got = (await (await blocked.session(lowered)).run(feeds)).y!;
      const want = (await (await plain.session(g)).run(feeds)).y!;
      const gd = got.data as Float32Array;
      const wd = want.data as Float32Array;
      for (let i = 0; i < wd.length; i += 13) expect(Math.abs(gd[i]! - wd[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(wd[i]!)));
    }
  });

  it("takes the Runtime option as a boolean or 'wide' only", async () => {
    await expect(Runtime.create({ device: 'cpu', blockedConvolutions: 1 as never })).rejects.toThrow(InvalidOptionError);
    await expect(Runtime.create({ device: 'cpu', blockedConvolutions: 'all' as never })).rejects.toThrow(InvalidOptionError);
  });

  it('serialises only the operator domains it knows', () => {
    const g = new GraphBuilder({ name: 'odd' });
    const x = g.input('x', 'float32', [2]);
    g.output(g.op('Relu', [x]), 'y');
    const model = g.toModel();
    const odd: ModelDescription = { ...model, nodes: model.nodes.map((n) => ({ ...n, domain: 'org.example' })) };
    expect(() => serializeModel(odd)).toThrow(GraphError);
    expect(() => serializeModel(odd)).toThrow("unknown operator domain 'org.example'");
  });
});
