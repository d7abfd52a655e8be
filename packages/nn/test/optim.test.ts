import { InvalidOptionError, Tensor, UnknownOptionError } from '@dc/core';
import { adam, adamw, constantLr, cosineLr, sgd, stepLr, warmup, type Optimizer } from '@dc/nn';
import { disposeTestRuntime, randn, relError, runGraph } from './helpers';

afterAll(disposeTestRuntime);

/** torch.optim semantics in float64, step by step, as a reference. */
function reference(kind: 'sgd' | 'adam' | 'adamw', o: Record<string, number | boolean>, w0: Float64Array, grads: Float64Array[], lrs: number[]): Float64Array {
  const w = Float64Array.from(w0);
  const buf = new Float64Array(w.length);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  const wd = (o.weightDecay as number) ?? 0;
  grads.forEach((g0, s) => {
    const lr = lrs[s]!;
    if (kind === 'sgd') {
      const mu = (o.momentum as number) ?? 0;
      const damp = (o.dampening as number) ?? 0;
      for (let i = 0; i < w.length; i++) {
        let d = g0[i]! + wd * w[i]!;
        if (mu > 0) {
          buf[i] = s === 0 ? d : mu * buf[i]! + (1 - damp) * d;
          d = o.nesterov ? d + mu * buf[i]! : buf[i]!;
        }
        w[i] = w[i]! - lr * d;
      }
    } else {
      const [b1, b2, eps] = [0.9, 0.999, 1e-8];
      const t = s + 1;
      for (let i = 0; i < w.length; i++) {
        let g = g0[i]!;
        if (kind === 'adam') g += wd * w[i]!;
        else w[i] = w[i]! * (1 - lr * wd);
        m[i] = b1 * m[i]! + (1 - b1) * g;
        v[i] = b2 * v[i]! + (1 - b2) * g * g;
        const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
        w[i] = w[i]! - (lr / (1 - b1 ** t)) * (m[i]! / denom);
      }
    }
  });
  return w;
}

/** Runs the optimizer's in-graph update `grads.length` times, feeding slots and scalars back. */
async function runOptimizer(opt: Optimizer, w0: Tensor<'float32'>, grads: Tensor<'float32'>[], lrs: number[], decay = true): Promise<Float32Array> {
  let w = w0;
  let slots: Record<string, Tensor> = Object.fromEntries(opt.slots.map((s) => [s, Tensor.zeros(w0.shape)]));
  for (let s = 0; s < grads.length; s++) {
    const scalars = opt.scalars(s, lrs[s]!);
    const feeds: Record<string, Tensor> = { w, g: grads[s]! };
    for (const [k, v] of Object.entries(slots)) feeds[`slot_${k}`] = v;
    for (const [k, v] of Object.entries(scalars)) feeds[`scalar_${k}`] = Tensor.full([], v);
    const out = await runGraph((g) => {
      const wv = g.input('w', 'float32', w0.shape);
      const gv = g.input('g', 'float32', w0.shape);
      const sv = Object.fromEntries(opt.slots.map((k) => [k, g.input(`slot_${k}`, 'float32', w0.shape)]));
      const sc = Object.fromEntries(opt.scalarNames.map((k) => [k, g.input(`scalar_${k}`, 'float32', [])]));
      const upd = opt.update(g, { name: 'p', weight: wv, grad: gv, slots: sv, scalars: sc, decay });
      return { w_out: upd.weight, ...Object.fromEntries(Object.entries(upd.slots).map(([k, v]) => [`slot_out_${k}`, v])) };
    }, feeds);
    w = out.w_out as Tensor<'float32'>;
    slots = Object.fromEntries(opt.slots.map((k) => [k, out[`slot_out_${k}`]!]));
  }
  return w.data;
}

describe('optimizers match torch.optim update rules over several steps', () => {
  const shape = [5, 7];
  const w0 = randn(shape, 1);
  const grads = [2, 3, 4, 5].map((s) => randn(shape, s, 0.5));
  const lrs = [0.1, 0.05, 0.08, 0.02];
  const ref = (kind: 'sgd' | 'adam' | 'adamw', o: Record<string, number | boolean>) =>
    reference(kind, o, Float64Array.from(w0.data), grads.map((g) => Float64Array.from(g.data)), lrs);

  it.each([
    ['plain', {}],
    ['momentum', { momentum: 0.9 }],
    ['momentum + dampening', { momentum: 0.9, dampening: 0.3 }],
    ['nesterov + weight decay', { momentum: 0.8, nesterov: true, weightDecay: 0.01 }],
  ] as const)('SGD %s', async (_label, o) => {
    const got = await runOptimizer(sgd({ lr: 0.1, ...o }), w0, grads, lrs);
    expect(relError(got, ref('sgd', o))).toBeLessThan(1e-6);
  });

  it.each([
    ['adam', {}],
    ['adam', { weightDecay: 0.05 }],
    ['adamw', { weightDecay: 0.05 }],
  ] as const)('%s %j', async (kind, o) => {
    const opt = kind === 'adam' ? adam({ lr: 0.1, ...o }) : adamw({ lr: 0.1, ...o });
    const got = await runOptimizer(opt, w0, grads, lrs);
    expect(relError(got, ref(kind, o))).toBeLessThan(1e-6);
  });

  it('AdamW with weight decay differs from Adam with weight decay (decoupled vs L2)', async () => {
    const a = await runOptimizer(adam({ lr: 0.1, weightDecay: 0.05 }), w0, grads, lrs);
    const b = await runOptimizer(adamw({ lr: 0.1, weightDecay: 0.05 }), w0, grads, lrs);
    expect(relError(a, b)).toBeGreaterThan(1e-4);
  });

  it('skips weight decay for parameters the filter excludes', async () => {
    const opt = sgd({ lr: 0.1, weightDecay: 0.5, decayFilter: (n) => !n.endsWith('bias') });
    expect(opt.decays('fc.weight')).toBe(true);
    expect(opt.decays('fc.bias')).toBe(false);
    const got = await runOptimizer(opt, w0, grads.slice(0, 1), lrs, opt.decays('fc.bias'));
    const want = Float32Array.from(w0.data, (x, i) => x - 0.1 * grads[0]!.data[i]!);
    expect(relError(got, want)).toBeLessThan(1e-6);
  });

  it('feeds bias corrections as scalars so one graph serves every step', () => {
    const s1 = adam({ lr: 0.01 }).scalars(0, 0.01);
    expect(s1.step_size).toBeCloseTo(0.01 / 0.1, 12);
    expect(s1.bias_correction2_rsqrt).toBeCloseTo(1 / Math.sqrt(0.001), 9);
    expect(sgd({ lr: 1, momentum: 0.9, dampening: 0.5 }).scalars(0, 1).grad_scale).toBe(1);
    expect(sgd({ lr: 1, momentum: 0.9, dampening: 0.5 }).scalars(3, 1).grad_scale).toBe(0.5);
    expect(adamw({ lr: 0.01, weightDecay: 0.1 }).scalars(5, 0.01).decay_factor).toBeCloseTo(0.999, 12);
  });

  it.each([
    ['lr', () => sgd({ lr: -1 })],
    ['momentum', () => sgd({ lr: 0.1, momentum: 1.5 })],
    ['nesterov', () => sgd({ lr: 0.1, nesterov: true })],
    ['betas', () => adam({ betas: [0.9, 1] })],
    ['eps', () => adamw({ eps: -1 })],
    ['weightDecay', () => adam({ weightDecay: -0.1 })],
  ])('rejects an invalid %s', (option, make) => {
    expect(make).toThrow(InvalidOptionError);
    try {
      make();
    } catch (e) {
      expect((e as InvalidOptionError).option).toBe(option);
    }
  });

  it('rejects unknown options', () => {
    expect(() => sgd({ lr: 0.1, momentun: 0.9 } as never)).toThrow(UnknownOptionError);
  });
});

describe('learning-rate schedules', () => {
  it('cosine follows the closed form and stays at minLr after totalSteps', () => {
    const s = cosineLr({ lr: 0.1, totalSteps: 100, minLr: 0.001 });
    expect(s(0)).toBeCloseTo(0.1, 12);
    expect(s(50)).toBeCloseTo(0.001 + 0.099 / 2, 12);
    expect(s(100)).toBeCloseTo(0.001, 12);
    expect(s(250)).toBeCloseTo(0.001, 12);
    for (let t = 1; t <= 100; t++) expect(s(t)).toBeLessThanOrEqual(s(t - 1));
  });

  it('step decay multiplies by gamma every stepSize steps or at milestones', () => {
    const a = stepLr({ lr: 1, stepSize: 10, gamma: 0.5 });
    expect([a(0), a(9), a(10), a(25)]).toEqual([1, 1, 0.5, 0.25]);
    const b = stepLr({ lr: 1, milestones: [30, 5], gamma: 0.1 });
    expect(b(4)).toBe(1);
    expect(b(5)).toBeCloseTo(0.1, 12);
    expect(b(31)).toBeCloseTo(0.01, 12);
  });

  it('linear warm-up ramps to the wrapped schedule, then hands over', () => {
    const s = warmup(cosineLr({ lr: 0.4, totalSteps: 10 }), { steps: 4 });
    expect([s(0), s(1), s(2), s(3)].map((x) => +x.toFixed(12))).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(s(4)).toBeCloseTo(0.4, 12);
    expect(s(9)).toBeCloseTo(cosineLr({ lr: 0.4, totalSteps: 10 })(5), 12);
    expect(warmup(constantLr(1), { steps: 2, startFactor: 0.5 })(0)).toBeCloseTo(0.75, 12);
  });

  it.each([
    ['constantLr lr', () => constantLr(Number.NaN)],
    ['cosineLr totalSteps', () => cosineLr({ lr: 0.1, totalSteps: 0 })],
    ['stepLr without stepSize or milestones', () => stepLr({ lr: 0.1 })],
    ['stepLr with both', () => stepLr({ lr: 0.1, stepSize: 2, milestones: [3] })],
    ['warmup steps', () => warmup(constantLr(1), { steps: -1 })],
  ])('rejects %s', (_label, make) => {
    expect(make).toThrow(InvalidOptionError);
  });
});
