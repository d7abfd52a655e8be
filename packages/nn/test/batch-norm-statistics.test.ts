/** recalibrateBatchNorm: running statistics re-estimated from data, checked against statistics computed by hand. */
import { GraphError, InvalidInputError, Rng, ShapeError, Tensor, type Value } from '@dc/core';
import { BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Linear, Module, ReLU, Sequential, WithHead, init, predict, recalibrateBatchNorm, type ForwardContext, type ModelState } from '@dc/nn';
import { disposeTestRuntime, randn, relError, testRuntime } from './helpers';

afterAll(disposeTestRuntime);

/** Mean and unbiased variance per channel of [N, C] or [N, C, H, W] values. */
function channelStats(x: Tensor<'float32'>): { mean: Float64Array; variance: Float64Array } {
  const [n, ch] = x.shape as [number, number];
  const spatial = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const count = n * spatial;
  const mean = new Float64Array(ch);
  const variance = new Float64Array(ch);
  for (let c = 0; c < ch; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) for (let p = 0; p < spatial; p++) s += x.data[(i * ch + c) * spatial + p]!;
    const m = s / count;
    let q = 0;
    for (let i = 0; i < n; i++) for (let p = 0; p < spatial; p++) q += (x.data[(i * ch + c) * spatial + p]! - m) ** 2;
    mean[c] = m;
    variance[c] = q / (count - 1);
  }
  return { mean, variance };
}

function average(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts[0]!.length);
  for (const p of parts) p.forEach((v, i) => (out[i]! += v / parts.length));
  return out;
}

describe('recalibrateBatchNorm', () => {
  test('running statistics become the mean of the batch means and unbiased batch variances', async () => {
    const runtime = await testRuntime();
    // Linear -> BN1d: the BN input is the Linear output, which predict() on the sub-module gives exactly.
    const model = new Sequential(new Linear(5, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 3), new BatchNorm1d(3));
    const state = model.init(3);
    const batches = [randn([16, 5], 1, 2), randn([16, 5], 2, 2), randn([16, 5], 3, 2)];
    const out = await recalibrateBatchNorm(model, state, batches, { runtime });

    const lin0 = new Sequential(new Linear(5, 4));
    const lin0State: ModelState = { parameters: new Map([['0.weight', state.parameters.get('0.weight')!], ['0.bias', state.parameters.get('0.bias')!]]), buffers: new Map() };
    const stats0 = await Promise.all(batches.map(async (b) => channelStats((await predict(lin0, lin0State, b, { runtime })).output!)));
    expect(relError(out.buffers.get('1.running_mean')!.data, average(stats0.map((s) => s.mean)))).toBeLessThan(1e-5);
    expect(relError(out.buffers.get('1.running_var')!.data, average(stats0.map((s) => s.variance)))).toBeLessThan(1e-5);

    // The second BN sees the first normalised with each batch's own statistics (training mode).
    const stats1 = batches.map((b) => channelStats(hidden(b, state)));
    expect(relError(out.buffers.get('4.running_mean')!.data, average(stats1.map((s) => s.mean)))).toBeLessThan(1e-4);
    expect(relError(out.buffers.get('4.running_var')!.data, average(stats1.map((s) => s.variance)))).toBeLessThan(1e-4);

    // Parameters are the same tensors; the input state is not modified.
    for (const [k, t] of state.parameters) expect(out.parameters.get(k)).toBe(t);
    expect(Array.from(state.buffers.get('1.running_mean')!.data)).toEqual([0, 0, 0, 0]);
  });

  test('BatchNorm2d statistics are per channel over batch and space; momentum 0 keeps the old values', async () => {
    const runtime = await testRuntime();
    const model = new Sequential(new BatchNorm2d(3), new Conv2d(3, 2, 3, { padding: 1 }), new BatchNorm2d(2, { momentum: 0 }));
    const state = model.init(1);
    const frozen = new Tensor('float32', Float32Array.from([0.5, -0.5]), [2]);
    state.buffers.set('2.running_mean', frozen);
    const batches = [randn([4, 3, 5, 5], 7, 3), randn([4, 3, 5, 5], 8, 3)];
    const out = await recalibrateBatchNorm(model, state, batches, { runtime });
    const stats = batches.map((b) => channelStats(b));
    expect(relError(out.buffers.get('0.running_mean')!.data, average(stats.map((s) => s.mean)))).toBeLessThan(1e-5);
    expect(relError(out.buffers.get('0.running_var')!.data, average(stats.map((s) => s.variance)))).toBeLessThan(1e-5);
    expect(out.buffers.get('2.running_mean')).toBe(frozen);
  });

  test('a sub-module is recalibrated under its own names', async () => {
    const runtime = await testRuntime();
    const model = new WithHead(new Sequential(new Linear(3, 4), new BatchNorm1d(4)), new Linear(4, 2));
    const state = model.init(0);
    const batch = randn([8, 3], 4);
    const whole = await recalibrateBatchNorm(model, state, [batch], { runtime });
    const sub = await recalibrateBatchNorm(model, state, [batch], { runtime, module: 'backbone' });
    expect(Array.from(sub.buffers.get('backbone.1.running_mean')!.data)).toEqual(Array.from(whole.buffers.get('backbone.1.running_mean')!.data));
  });

  test('models with random inputs need an rng and are reproducible with one', async () => {
    const runtime = await testRuntime();
    const model = new Sequential(new Linear(3, 6), new Dropout(0.5), new BatchNorm1d(6));
    const state = model.init(0);
    const batch = randn([10, 3], 5);
    await expect(recalibrateBatchNorm(model, state, [batch], { runtime })).rejects.toThrow(InvalidInputError);
    const a = await recalibrateBatchNorm(model, state, [batch], { runtime, rng: new Rng(9) });
    const b = await recalibrateBatchNorm(model, state, [batch], { runtime, rng: new Rng(9) });
    expect(Array.from(a.buffers.get('2.running_var')!.data)).toEqual(Array.from(b.buffers.get('2.running_var')!.data));
  });

  test('bad input is rejected', async () => {
    const runtime = await testRuntime();
    const model = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
    const state = model.init(0);
    await expect(recalibrateBatchNorm(model, state, [], { runtime })).rejects.toThrow(InvalidInputError);
    await expect(recalibrateBatchNorm(model, state, [randn([1, 3], 1)], { runtime })).rejects.toThrow(InvalidInputError);
    await expect(recalibrateBatchNorm(model, state, [randn([4, 3], 1), randn([5, 3], 2)], { runtime })).rejects.toThrow(ShapeError);
    await expect(recalibrateBatchNorm(model, state, [randn([4, 3], 1)], { runtime, bogus: 1 } as never)).rejects.toThrow(/bogus/);
  });

  test('a module that writes a buffer without a BatchNorm momentum is refused', async () => {
    const runtime = await testRuntime();
    const model = new Sequential(new Linear(3, 2), new StepCounter());
    await expect(recalibrateBatchNorm(model, model.init(0), [randn([4, 3], 1)], { runtime })).rejects.toThrow(new GraphError("buffer '1.calls' is written by a module without a BatchNorm momentum; only BatchNorm statistics can be re-estimated"));
  });
});

/** Counts its training-mode calls in a buffer: written state that is not a BatchNorm statistic. */
class StepCounter extends Module<[Value], Value> {
  constructor() {
    super();
    this.registerBuffer('calls', [1], init.zeros());
  }
  forward(ctx: ForwardContext, x: Value): Value {
    if (ctx.training) ctx.setBuffer('calls', ctx.g.op('Add', [ctx.buffer('calls'), ctx.g.constant(Tensor.ones([1]))]));
    return x;
  }
}

/** ReLU(BN_batch(Linear0(x))) then Linear3, the input of the model's second BatchNorm, in float64. */
function hidden(x: Tensor<'float32'>, state: ModelState): Tensor<'float32'> {
  const w0 = state.parameters.get('0.weight')!.data;
  const b0 = state.parameters.get('0.bias')!.data;
  const g1 = state.parameters.get('1.weight')!.data;
  const c1 = state.parameters.get('1.bias')!.data;
  const w3 = state.parameters.get('3.weight')!.data;
  const b3 = state.parameters.get('3.bias')!.data;
  const n = x.shape[0]!;
  const h0 = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) for (let o = 0; o < 4; o++) {
    let s = b0[o]!;
    for (let j = 0; j < 5; j++) s += x.data[i * 5 + j]! * w0[o * 5 + j]!;
    h0[i * 4 + o] = s;
  }
  const st = channelStats(new Tensor('float32', h0, [n, 4]));
  const h1 = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = new Float64Array(4);
    for (let o = 0; o < 4; o++) {
      // Training-mode BN normalises with the biased batch variance.
      const biased = (st.variance[o]! * (n - 1)) / n;
      a[o] = Math.max(0, ((h0[i * 4 + o]! - st.mean[o]!) / Math.sqrt(biased + 1e-5)) * g1[o]! + c1[o]!);
    }
    for (let o = 0; o < 3; o++) {
      let s = b3[o]!;
      for (let j = 0; j < 4; j++) s += a[j]! * w3[o * 4 + j]!;
      h1[i * 3 + o] = s;
    }
  }
  return new Tensor('float32', h1, [n, 3]);
}
