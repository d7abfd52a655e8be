/**
 * Conv gradient methods, layer by layer (issue 3: the autodiff picks the input- and weight-gradient method of
 * each Conv from its geometry; this measures every method so the rule can be checked on any machine).
 *
 * For the ResNet-18 CIFAR layers at batch 32 and the conv-autoencoder layers at batch 128 it times, with the
 * same thread count: the forward Conv, the input gradient by ConvTranspose / flipped-kernel Conv / Gemm + Col2Im
 * fold, the weight gradient by transposed Conv / unfold + one Gemm / unfold + per-sample MatMul / row gather +
 * one product per tap / Winograd's F(4x4, 3x3) (3x3 stride-1 layers), and PyTorch's forward, conv2d_input and
 * conv2d_weight. Ours runs on the Runtime's defaults, so the forward Conv and the flipped-kernel input gradient
 * of the layers it runs by Winograd (winogradConvolutions) are timed that way. Times are process CPU time (all
 * threads), the median of DC_BENCH_REPS runs with the methods of a layer run in turn, so load from other work on
 * the machine moves them less than wall time. Rows compare the method 'auto' picks with PyTorch; the note lists
 * every method and whether 'auto' picked the fastest. DC_BENCH_THREADS (default 2) and DC_BENCH_REPS (9).
 */
import { join } from 'node:path';
import { GraphBuilder, Rng, Runtime, Tensor, type Session, type Value } from '@dc/core';
import { convInputGrad, convWeightGrad, pickInputGrad, pickWeightGrad, type ConvGeometry } from '../../packages/core/src/graph/ops/conv.js';
import { winogradApplies, winogradConvGains } from '../../packages/core/src/graph/ops/winograd.js';
import { BENCH_ROOT, Report, runPython } from '../harness.js';

const threads = Number(process.env.DC_BENCH_THREADS ?? 2);
const reps = Number(process.env.DC_BENCH_REPS ?? 9);

interface Layer {
  name: string;
  n: number;
  c: number;
  m: number;
  h: number;
  k: number;
  s: number;
  p: number;
}

const layers: Layer[] = [
  { name: 'resnet18 stem 3->64 32x32', n: 32, c: 3, m: 64, h: 32, k: 3, s: 1, p: 1 },
  { name: 'resnet18 64->64 32x32', n: 32, c: 64, m: 64, h: 32, k: 3, s: 1, p: 1 },
  { name: 'resnet18 64->128 s2', n: 32, c: 64, m: 128, h: 32, k: 3, s: 2, p: 1 },
  { name: 'resnet18 128->128 16x16', n: 32, c: 128, m: 128, h: 16, k: 3, s: 1, p: 1 },
  { name: 'resnet18 1x1 64->128 s2', n: 32, c: 64, m: 128, h: 32, k: 1, s: 2, p: 0 },
  { name: 'resnet18 128->256 s2', n: 32, c: 128, m: 256, h: 16, k: 3, s: 2, p: 1 },
  { name: 'resnet18 256->256 8x8', n: 32, c: 256, m: 256, h: 8, k: 3, s: 1, p: 1 },
  { name: 'resnet18 256->512 s2', n: 32, c: 256, m: 512, h: 8, k: 3, s: 2, p: 1 },
  { name: 'resnet18 512->512 4x4', n: 32, c: 512, m: 512, h: 4, k: 3, s: 1, p: 1 },
  { name: 'autoencoder 1->32 28x28 s2', n: 128, c: 1, m: 32, h: 28, k: 3, s: 2, p: 1 },
  { name: 'autoencoder 32->64 14x14 s2', n: 128, c: 32, m: 64, h: 14, k: 3, s: 2, p: 1 },
  { name: 'autoencoder 64->128 7x7 s2', n: 128, c: 64, m: 128, h: 7, k: 3, s: 2, p: 1 },
];

const runtime = await Runtime.create({ device: 'cpu', threads });

type Build = (g: GraphBuilder, x: Value, w: Value, dy: Value) => Value;

/**
 * Median CPU time (seconds) of each graph, the graphs run in turn; each result is reduced to one element so output
 * copies do not count.
 */
async function time(l: Layer, ho: number, builds: Record<string, Build>): Promise<Record<string, number>> {
  const rng = new Rng(1);
  const feeds = { x: Tensor.zeros([l.n, l.c, l.h, l.h]), w: Tensor.zeros([l.m, l.c, l.k, l.k]), dy: Tensor.zeros([l.n, l.m, ho, ho]) };
  for (const t of Object.values(feeds)) rng.fillNormal(t.data);
  const sessions: Record<string, Session> = {};
  for (const [name, build] of Object.entries(builds)) {
    const g = new GraphBuilder({ name: 'conv-grad' });
    const x = g.input('x', 'float32', feeds.x.shape);
    const w = g.input('w', 'float32', feeds.w.shape);
    const dy = g.input('dy', 'float32', feeds.dy.shape);
    const out = g.op('Reshape', [build(g, x, w, dy), g.int64s([-1])]);
    g.output(g.op('Slice', [out, g.int64s([0]), g.int64s([1])]), 'out');
    sessions[name] = await runtime.session(g);
    for (let i = 0; i < 2; i++) await sessions[name]!.run(feeds);
  }
  const times: Record<string, number[]> = {};
  for (let i = 0; i < reps; i++) {
    for (const [name, session] of Object.entries(sessions)) {
      const u = process.cpuUsage();
      await session.run(feeds);
      const d = process.cpuUsage(u);
      (times[name] ??= []).push((d.user + d.system) / 1e6);
    }
  }
  const out: Record<string, number> = {};
  for (const [name, session] of Object.entries(sessions)) {
    await session.release();
    const v = times[name]!.sort((a, b) => a - b);
    out[name] = v[Math.floor(v.length / 2)]!;
  }
  return out;
}

const report = new Report('conv-grad');
const ms = (v: number) => `${(v * 1000).toFixed(2)} ms`;
for (const l of layers) {
  const geo: ConvGeometry = { kernel: [l.k, l.k], strides: [l.s, l.s], dilations: [1, 1], pads: [l.p, l.p, l.p, l.p], group: 1 };
  const ho = Math.floor((l.h + 2 * l.p - l.k) / l.s) + 1;
  const wShape = [l.m, l.c, l.k, l.k];
  const { fwd } = await time(l, ho, { fwd: (g, x, w) => g.op('Conv', [x, w], { pads: geo.pads, strides: geo.strides }) });
  const dxBuilds: Record<string, Build> = {};
  for (const method of ['convTranspose', 'conv', 'fold'] as const) {
    if (method === 'conv' && l.s !== 1) continue;
    dxBuilds[method] = (g, _x, w, dy) => convInputGrad(g, dy, w, [l.h, l.h], geo, method);
  }
  const dx = await time(l, ho, dxBuilds);
  const dwBuilds: Record<string, Build> = {};
  for (const method of ['conv', 'unfold', 'unfold-batched', 'gather', 'winograd'] as const) {
    if (method === 'winograd' && !(l.k === 3 && l.s === 1 && l.p === 1 && ho % 4 === 0)) continue;
    dwBuilds[method] = (g, x, _w, dy) => convWeightGrad(g, x, dy, wShape, geo, method);
  }
  const dw = await time(l, ho, dwBuilds);
  const flipPossible = l.s === 1 && l.p <= l.k - 1;
  // As convInputGrad and convWeightGrad pick them (the Runtime runs the 'conv' input gradient of layers that
  // winogradConvGains by Winograd, as it does their forward Conv).
  const winograd = winogradApplies('float32', geo.kernel, geo.strides, geo.dilations, geo.pads, 1, [ho, ho]);
  const autoX = pickInputGrad(l.c, ho * ho, 1, flipPossible, winograd && winogradConvGains(l.m, l.c, [ho, ho]));
  const autoW = pickWeightGrad(l.n, l.c, l.m, l.k * l.k, ho * ho, 1, winograd);
  const torch = await runPython<{ fwd: number; dx: number; dw: number }>(join(BENCH_ROOT, 'conv-grad', 'torch_conv.py'), [l.n, l.c, l.m, l.h, l.k, l.s, l.p, threads, reps].map(String));
  const ref = torch.available ? torch.value! : null;
  const missing = torch.available ? '' : ` (PyTorch: ${torch.reason})`;
  const best = (r: Record<string, number>) => Object.entries(r).sort((a, b) => a[1] - b[1])[0]![0];
  report.add({ case: l.name, metric: 'forward Conv', ours: fwd!, reference: ref?.fwd ?? null, unit: 's', note: `reference: torch conv2d${missing}` });
  report.add({
    case: l.name,
    metric: `input grad (${autoX})`,
    ours: dx[autoX]!,
    reference: ref?.dx ?? null,
    unit: 's',
    note: `${Object.entries(dx).map(([k, v]) => `${k} ${ms(v)}`).join(', ')}; fastest ${best(dx)}; reference torch conv2d_input${missing}`,
  });
  report.add({
    case: l.name,
    metric: `weight grad (${autoW})`,
    ours: dw[autoW]!,
    reference: ref?.dw ?? null,
    unit: 's',
    note: `${Object.entries(dw).map(([k, v]) => `${k} ${ms(v)}`).join(', ')}; fastest ${best(dw)}; reference torch conv2d_weight${missing}`,
  });
}
await runtime.dispose();
report.finish();
