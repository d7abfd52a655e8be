import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, InvalidOptionError, NonFiniteError, Rng, Tensor, UnknownOptionError, type Value } from '@dc/core';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  LeakyReLU,
  Linear,
  MLP,
  MaxPool2d,
  ReLU,
  Sequential,
  Trainer,
  TrainingDivergedError,
  adam,
  cosineLr,
  crossEntropy,
  decodeCheckpoint,
  loadCheckpoint,
  sgd,
  tensorDataset,
  type LossBuilder,
  type TrainProgress,
} from '@dc/nn';
import { accuracy, bars, blobs } from './data';
import { disposeTestRuntime, testRuntime } from './helpers';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dc-nn-trainer-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await disposeTestRuntime();
});

const ceLoss: LossBuilder = (ctx) => crossEntropy(ctx.g, ctx.forward(ctx.input('x')), ctx.input('y'));

function sameBits(a: Map<string, Tensor<'float32'>>, b: Map<string, Tensor<'float32'>>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, t] of a) {
    const u = b.get(k);
    if (!u || u.data.length !== t.data.length) return false;
    const x = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    const y = new Uint32Array(u.data.buffer, u.data.byteOffset, u.data.length);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

describe('learnability', () => {
  it('an MLP reaches high training accuracy on separable blobs within a few seconds', async () => {
    const { x, y, labels } = blobs(4, 60, 6, 1);
    const model = new MLP({ inputDim: 6, hidden: [32], outputDim: 4, batchNorm: true });
    const trainer = new Trainer({ model, loss: ceLoss, optimizer: adam({ lr: 0.01 }), seed: 1, runtime: await testRuntime() });
    const t0 = performance.now();
    const r = await trainer.fit(tensorDataset({ x, y }), { epochs: 15, batchSize: 32 });
    const seconds = (performance.now() - t0) / 1000;
    const acc = accuracy((await trainer.predict(x)).output!, labels);
    expect(acc).toBeGreaterThan(0.97);
    expect(r.history[r.history.length - 1]!.loss).toBeLessThan(r.history[0]!.loss / 3);
    expect(seconds).toBeLessThan(20);
    await trainer.dispose();
  }, 60_000);

  it('a small CNN (conv, BatchNorm, max-pool) learns horizontal vs vertical bars', async () => {
    const { x, y, labels } = bars(128, 2);
    const model = new Sequential(
      new Conv2d(1, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
      new Conv2d(8, 8, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
      new Flatten(), new Linear(8 * 2 * 2, 2),
    );
    const trainer = new Trainer({ model, loss: ceLoss, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), seed: 3, runtime: await testRuntime() });
    await trainer.fit(tensorDataset({ x, y }), { epochs: 12, batchSize: 16 });
    expect(accuracy((await trainer.predict(x)).output!, labels)).toBeGreaterThan(0.95);
    await trainer.dispose();
  }, 60_000);
});

describe('the training loop', () => {
  const { x, y } = blobs(3, 20, 4, 5);
  const data = tensorDataset({ x, y });

  it('reports progress with epoch, step, loss, lr, throughput and ETA', async () => {
    const events: TrainProgress[] = [];
    const trainer = new Trainer({
      model: new MLP({ inputDim: 4, hidden: [8], outputDim: 3 }),
      loss: ceLoss,
      optimizer: sgd({ lr: 0.1 }),
      schedule: cosineLr({ lr: 0.1, totalSteps: 6 }),
      runtime: await testRuntime(),
    });
    const r = await trainer.fit(data, { epochs: 2, batchSize: 16, onProgress: (e) => events.push(e), evaluate: () => ({ answer: 42 }) });
    const steps = events.filter((e) => e.type === 'step');
    const epochs = events.filter((e) => e.type === 'epoch');
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(steps.map((e) => e.stepInEpoch)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(steps[0]!.stepsPerEpoch).toBe(3);
    expect(steps[0]!.totalSteps).toBe(6);
    expect(steps[0]!.lr).toBeCloseTo(0.1, 9);
    expect(steps[2]!.lr).toBeCloseTo(cosineLr({ lr: 0.1, totalSteps: 6 })(2), 9);
    for (const e of steps) {
      expect(Number.isFinite(e.loss)).toBe(true);
      expect(e.samplesPerSecond).toBeGreaterThan(0);
      expect(e.etaSeconds).toBeGreaterThanOrEqual(0);
      expect(e.metrics.grad_norm).toBeGreaterThan(0);
    }
    expect(steps[5]!.etaSeconds).toBe(0);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(epochs[1]!.evaluation).toEqual({ answer: 42 });
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(r.steps).toBe(6);
    expect(trainer.progress).toEqual({ epoch: 2, stepInEpoch: 0, globalStep: 6 });
    await trainer.dispose();
  });

  it("pads the last batch and weights the padding 0 through ctx.sampleWeight()", async () => {
    const seen: number[] = [];
    const trainer = new Trainer({
      model: new MLP({ inputDim: 4, outputDim: 3 }),
      loss: (ctx) => crossEntropy(ctx.g, ctx.forward(ctx.input('x')), ctx.input('y'), { weights: ctx.sampleWeight() }),
      optimizer: sgd({ lr: 0.1 }),
      runtime: await testRuntime(),
    });
    const probe = {
      size: data.size,
      batch(idx: Int32Array, rng: Rng) {
        seen.push(idx.length);
        return data.batch(idx, rng);
      },
    };
    const r = await trainer.fit(probe, { epochs: 1, batchSize: 16, lastBatch: 'pad' });
    expect(seen).toEqual([16, 16, 16, 16]);
    expect(r.steps).toBe(4);
    await trainer.dispose();
  });

  it('stops with TrainingDivergedError on a NaN loss and keeps the last good state (and checkpoints it)', async () => {
    const bad = x.clone();
    const trainer = new Trainer({ model: new MLP({ inputDim: 4, outputDim: 3 }), loss: ceLoss, optimizer: sgd({ lr: 0.1, momentum: 0.9 }), runtime: await testRuntime() });
    let calls = 0;
    const poisoned = {
      size: data.size,
      batch(idx: Int32Array) {
        calls++;
        const b = { x: bad.gatherRows(idx), y: y.gatherRows(idx) };
        if (calls === 3) b.x.data[5] = Number.NaN;
        return b;
      },
    };
    const path = join(dir, 'diverged.ckpt');
    let before: Map<string, Tensor<'float32'>> | null = null;
    const err = await trainer.fit(poisoned, {
      epochs: 3,
      batchSize: 16,
      checkpoint: { path, everyEpochs: 0 },
      onStep: (_o, step) => {
        if (step === 2) before = new Map([...trainer.modelState.parameters].map(([k, t]) => [k, t.clone()]));
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect(TrainingDivergedError.isInstance(err)).toBe(true);
    expect((err as TrainingDivergedError).globalStep).toBe(3);
    expect((err as Error).message).toMatch(/diverged at epoch 1, step 3/);
    expect(sameBits(before!, trainer.modelState.parameters)).toBe(true);
    expect(trainer.progress.globalStep).toBe(2);
    const saved = await loadCheckpoint(path);
    expect(saved.progress.globalStep).toBe(2);
    expect(sameBits(saved.state.model.parameters, trainer.modelState.parameters)).toBe(true);
    await trainer.dispose();
  });

  it('frozen parameters stay unchanged and are not given optimizer state', async () => {
    const model = new MLP({ inputDim: 4, hidden: [8], outputDim: 3 });
    const trainer = new Trainer({ model, loss: ceLoss, optimizer: adam({ lr: 0.01 }), frozen: ['layers.0.'], runtime: await testRuntime() });
    const w0 = trainer.modelState.parameters.get('layers.0.weight')!.clone();
    const h0 = trainer.modelState.parameters.get('layers.2.weight')!.clone();
    await trainer.fit(data, { epochs: 1, batchSize: 16 });
    expect(Array.from(trainer.modelState.parameters.get('layers.0.weight')!.data)).toEqual(Array.from(w0.data));
    expect(Array.from(trainer.modelState.parameters.get('layers.2.weight')!.data)).not.toEqual(Array.from(h0.data));
    expect([...trainer.state.optimizer.slots.exp_avg!.keys()]).toEqual(['layers.2.weight', 'layers.2.bias']);
    await trainer.dispose();
  });

  it('an EMA target follows its source: t = m t + (1 - m) s before the forward pass, and is not trained', async () => {
    class TwoNets extends Sequential {}
    const model = new TwoNets(new Linear(4, 3), new Linear(4, 3));
    // Loss on net 0 (online) plus a term through net 1 (target), which must not receive gradients.
    const loss: LossBuilder = (ctx) => {
      const xv = ctx.input('x');
      const online = ctx.forward<Value>(xv, { module: '0' });
      const target = ctx.forward<Value>(xv, { module: '1' });
      return ctx.g.op('Add', [crossEntropy(ctx.g, online, ctx.input('y')), ctx.g.op('ReduceMean', [target], { keepdims: 0 })]);
    };
    const trainer = new Trainer({ model, loss, optimizer: sgd({ lr: 0.1 }), ema: { target: '1', source: '0', momentum: 0.9 }, runtime: await testRuntime() });
    const s0 = new Map([...trainer.modelState.parameters].map(([k, t]) => [k, t.clone()]));
    await trainer.step(data.batch(Int32Array.from({ length: 8 }, (_, i) => i), new Rng(0)) as Record<string, Tensor>);
    const p = trainer.modelState.parameters;
    const t1 = p.get('1.weight')!.data;
    const want = Array.from(s0.get('1.weight')!.data, (t, i) => 0.9 * t + 0.1 * s0.get('0.weight')!.data[i]!);
    want.forEach((w, i) => expect(t1[i]).toBeCloseTo(w, 6));
    // No gradient reaches the online net through the target: its step is that of the cross-entropy alone.
    const alone = new Trainer({
      model: new TwoNets(new Linear(4, 3), new Linear(4, 3)),
      state: { parameters: new Map([...s0].map(([k, t]) => [k, t.clone()])), buffers: new Map() },
      loss: (ctx) => crossEntropy(ctx.g, ctx.forward<Value>(ctx.input('x'), { module: '0' }), ctx.input('y')),
      optimizer: sgd({ lr: 0.1 }),
      runtime: await testRuntime(),
    });
    await alone.step(data.batch(Int32Array.from({ length: 8 }, (_, i) => i), new Rng(0)) as Record<string, Tensor>);
    const online = p.get('0.weight')!.data;
    Array.from(alone.modelState.parameters.get('0.weight')!.data).forEach((w, i) => expect(online[i]).toBeCloseTo(w, 6));
    expect(Array.from(online)).not.toEqual(Array.from(s0.get('0.weight')!.data));
    expect(trainer.state.optimizer.slots).toEqual({});
    await Promise.all([trainer.dispose(), alone.dispose()]);
  });

  it('trains correctly when a target shares its very tensors with its source (aliased feeds are copied)', async () => {
    const model = new Sequential(new Linear(4, 3), new Linear(4, 3));
    const state = model.init(1);
    // MoCo initialises the key encoder as a copy of the query encoder; here it is the very same tensors.
    state.parameters.set('1.weight', state.parameters.get('0.weight')!);
    state.parameters.set('1.bias', state.parameters.get('0.bias')!);
    const w0 = state.parameters.get('0.weight')!.clone();
    const loss: LossBuilder = (ctx) => {
      const xv = ctx.input('x');
      const q = ctx.forward<Value>(xv, { module: '0' });
      const k = ctx.forward<Value>(xv, { module: '1' });
      return ctx.g.op('Add', [crossEntropy(ctx.g, q, ctx.input('y')), ctx.g.op('ReduceMean', [k], { keepdims: 0 })]);
    };
    const trainer = new Trainer({ model, state, loss, optimizer: sgd({ lr: 0.5 }), ema: { target: '1', source: '0', momentum: 0.99 }, runtime: await testRuntime() });
    await trainer.step(data.batch(Int32Array.from({ length: 8 }, (_, i) => i), new Rng(0)) as Record<string, Tensor>);
    // t = 0.99 t + 0.01 s with t = s: the target keeps the old source values; the source itself moved.
    const t1 = trainer.modelState.parameters.get('1.weight')!.data;
    Array.from(w0.data).forEach((w, i) => expect(t1[i]).toBeCloseTo(w, 6));
    expect(Array.from(trainer.modelState.parameters.get('0.weight')!.data)).not.toEqual(Array.from(w0.data));
    await trainer.dispose();
  });

  it('returns requested outputs after each step (e.g. keys for a MoCo queue)', async () => {
    const trainer = new Trainer({
      model: new MLP({ inputDim: 4, outputDim: 3 }),
      loss: (ctx) => {
        const logits = ctx.forward<Value>(ctx.input('x'));
        return { loss: crossEntropy(ctx.g, logits, ctx.input('y')), outputs: { logits }, metrics: { mean_logit: ctx.g.op('ReduceMean', [logits], { keepdims: 0 }) } };
      },
      optimizer: sgd({ lr: 0.1 }),
      runtime: await testRuntime(),
    });
    const got: number[][] = [];
    await trainer.fit(data, { epochs: 1, batchSize: 20, onStep: (o) => void got.push([...o.outputs.logits!.shape, o.metrics.mean_logit ?? NaN]) });
    expect(got.length).toBe(3);
    expect(got[0]!.slice(0, 2)).toEqual([20, 3]);
    expect(Number.isFinite(got[0]![2])).toBe(true);
    await trainer.dispose();
  });

  it.each([
    ['an unknown option', () => new Trainer({ model: new MLP({ inputDim: 2, outputDim: 2 }), loss: ceLoss, optimizer: sgd({ lr: 1 }), epochs: 3 } as never), UnknownOptionError],
    ['a negative seed', () => new Trainer({ model: new MLP({ inputDim: 2, outputDim: 2 }), loss: ceLoss, optimizer: sgd({ lr: 1 }), seed: -1 }), InvalidOptionError],
    ['a state that does not fit the model', () => new Trainer({ model: new MLP({ inputDim: 2, outputDim: 2 }), loss: ceLoss, optimizer: sgd({ lr: 1 }), state: new MLP({ inputDim: 3, outputDim: 2 }).init() }), InvalidInputError],
    ['a state with a NaN weight', () => {
      const model = new MLP({ inputDim: 2, outputDim: 2 });
      const state = model.init();
      state.parameters.values().next().value!.data[1] = NaN;
      return new Trainer({ model, loss: ceLoss, optimizer: sgd({ lr: 1 }), state });
    }, NonFiniteError],
    ['a scalar named like the learning rate', () => new Trainer({ model: new MLP({ inputDim: 2, outputDim: 2 }), loss: ceLoss, optimizer: sgd({ lr: 1 }), scalars: { lr: 0.5 } }), InvalidOptionError],
    ['an EMA momentum above 1', () => {
      const model = new MLP({ inputDim: 2, outputDim: 2 });
      return new Trainer({ model, loss: ceLoss, optimizer: sgd({ lr: 1 }), ema: { target: 'layers', source: 'layers', momentum: 1.5 } as never });
    }, InvalidOptionError],
  ])('rejects %s', (_label, make, type) => {
    expect(make).toThrow(type as never);
  });

  it('rejects frozen names that match no parameter (they would freeze nothing)', async () => {
    const trainer = new Trainer({ model: new MLP({ inputDim: 4, outputDim: 3 }), loss: ceLoss, optimizer: sgd({ lr: 0.1 }), frozen: ['layer.0.'], runtime: await testRuntime() });
    await expect(trainer.fit(data, { epochs: 1, batchSize: 8 })).rejects.toThrow(/frozen/);
    await trainer.dispose();
  });

  it('a batch that fails to load leaves the generator where it was', async () => {
    const trainer = new Trainer({ model: new MLP({ inputDim: 4, outputDim: 3 }), loss: ceLoss, optimizer: sgd({ lr: 0.1 }), runtime: await testRuntime() });
    const before = trainer.checkpoint().rng;
    const broken = { size: data.size, batch: () => { throw new Error('disk gone'); } };
    await expect(trainer.fit(broken, { epochs: 1, batchSize: 8, shuffle: false })).rejects.toThrow('disk gone');
    expect(trainer.checkpoint().rng).toEqual(before);
    await trainer.dispose();
  });

  it("a step's random inputs are not drawn from the stream that the next step's batch receives", async () => {
    // Dropout keep-masks are one 32-bit draw per element (kept when the draw is at least p * 2^32). Were the
    // streams to overlap, each step's mask would equal the threshold test of the next batch's first draws.
    const width = 8;
    const batchSize = 8;
    const model = new Sequential(new Dropout(0.5), new Linear(width, 2));
    const batchDraws: Uint32Array[] = [];
    const masks: Float32Array[] = [];
    const probe = {
      size: 32,
      batch: (indices: Int32Array, rng: Rng) => {
        batchDraws.push(Uint32Array.from({ length: indices.length * width }, () => rng.nextUint32()));
        return {
          x: new Tensor('float32', new Float32Array(indices.length * width).fill(1), [indices.length, width]),
          y: Tensor.zeros([indices.length], 'int64'),
        };
      },
    };
    const trainer = new Trainer({
      model,
      loss: (ctx) => {
        const x = ctx.input('x');
        const dropped = ctx.forward<Value>(x, { module: '0' }); // the first mask drawn: x is all ones, so 2 * mask
        return { loss: crossEntropy(ctx.g, ctx.forward<Value>(x), ctx.input('y')), outputs: { dropped } };
      },
      optimizer: sgd({ lr: 0.1 }),
      runtime: await testRuntime(),
    });
    await trainer.fit(probe, { epochs: 2, batchSize, onStep: (o) => void masks.push(Float32Array.from(o.outputs.dropped!.data as Float32Array)) });
    expect(masks.length).toBe(8);
    for (let k = 0; k + 1 < masks.length; k++) {
      const next = batchDraws[k + 1]!;
      let same = 0;
      for (let i = 0; i < next.length; i++) if ((masks[k]![i]! > 0) === next[i]! >= 0.5 * 4294967296) same++;
      expect(same / next.length).toBeLessThan(0.8);
    }
    await trainer.dispose();
  });

  it('rejects bad fit options and data', async () => {
    const trainer = new Trainer({ model: new MLP({ inputDim: 4, outputDim: 3 }), loss: ceLoss, optimizer: sgd({ lr: 0.1 }), runtime: await testRuntime() });
    await expect(trainer.fit(data, { epochs: 1, batchSize: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(trainer.fit({ size: 0, batch: () => ({}) }, { epochs: 1, batchSize: 4 })).rejects.toThrow(InvalidInputError);
    await expect(trainer.fit(data, { epochs: 1, batchSize: 100 })).rejects.toThrow(/larger than the dataset/);
    // The loss asks for an input the batch does not have.
    const other = new Trainer({ model: new MLP({ inputDim: 4, outputDim: 3 }), loss: (ctx) => crossEntropy(ctx.g, ctx.forward(ctx.input('x')), ctx.input('labels')), optimizer: sgd({ lr: 0.1 }), runtime: await testRuntime() });
    await expect(other.fit(data, { epochs: 1, batchSize: 8 })).rejects.toThrow(/'labels'/);
    await trainer.dispose();
    await other.dispose();
  });
});

describe('bad input to the step context and to predict', () => {
  const { x, y } = blobs(2, 8, 4, 3);
  const data = tensorDataset({ x, y });
  const model = () => new MLP({ inputDim: 4, outputDim: 2 });

  it.each([
    ['a scalar that was not declared', (ctx: import('@dc/nn').StepContext) => crossEntropy(ctx.g, ctx.g.op('Mul', [ctx.forward(ctx.input('x')), ctx.scalar('temperature')]), ctx.input('y')), /'temperature' is not among the declared scalars/],
    ['an input of another dtype', (ctx: import('@dc/nn').StepContext) => crossEntropy(ctx.g, ctx.forward(ctx.input('x', 'float64')), ctx.input('y')), /is float32, the loss expects float64/],
    ['an input of another shape', (ctx: import('@dc/nn').StepContext) => crossEntropy(ctx.g, ctx.forward(ctx.input('x', 'float32', [8, 5])), ctx.input('y')), /has shape \[8, 4\]/],
    ['a loss that is not a scalar', (ctx: import('@dc/nn').StepContext) => ctx.forward(ctx.input('x')), /must be a float32 scalar/],
    ['a sub-module that does not exist', (ctx: import('@dc/nn').StepContext) => crossEntropy(ctx.g, ctx.forward(ctx.input('x'), { module: 'head' }), ctx.input('y')), /no sub-module 'head'/],
  ])('rejects %s', async (_label, loss, message) => {
    const trainer = new Trainer({ model: model(), loss: loss as LossBuilder, optimizer: sgd({ lr: 0.1 }), runtime: await testRuntime() });
    await expect(trainer.fit(data, { epochs: 1, batchSize: 8 })).rejects.toThrow(message);
    await trainer.dispose();
  });

  it('a declared scalar is fed every step (constant or a function of the step)', async () => {
    const seen: number[] = [];
    const trainer = new Trainer({
      model: model(),
      loss: (ctx) => ({ loss: crossEntropy(ctx.g, ctx.forward(ctx.input('x')), ctx.input('y')), metrics: { w: ctx.g.op('Identity', [ctx.scalar('w')]) } }),
      scalars: { w: (step) => step * 10 },
      optimizer: sgd({ lr: 0.1 }),
      runtime: await testRuntime(),
    });
    await trainer.fit(data, { epochs: 1, batchSize: 4, onStep: (o) => void seen.push(o.metrics.w!) });
    expect(seen).toEqual([0, 10, 20, 30]);
    await trainer.dispose();
  });

  it('predict rejects empty input, inputs of different lengths and unknown options', async () => {
    const { predict } = await import('@dc/nn');
    const m = model();
    const s = m.init(0);
    await expect(predict(m, s, Tensor.zeros([0, 4]))).rejects.toThrow(InvalidInputError);
    await expect(predict(m, s, [Tensor.zeros([3, 4]), Tensor.zeros([2, 4])])).rejects.toThrow(/same number of rows/);
    await expect(predict(m, s, Tensor.zeros([3, 4]), { batch: 2 } as never)).rejects.toThrow(UnknownOptionError);
    await expect(predict(m, s, Tensor.zeros([3, 4]), { batchSize: 0 })).rejects.toThrow(InvalidOptionError);
  });
});

describe('checkpoints and exact resume', () => {
  const { x, y } = blobs(3, 25, 5, 7);
  const data = tensorDataset({ x, y });
  // Dropout (random masks), BatchNorm (buffers), Adam (slots), a schedule and shuffling: everything resume must restore.
  const options = () => ({
    model: new Sequential(new Linear(5, 16), new BatchNorm1d(16), new LeakyReLU(0.1), new Dropout(0.3), new Linear(16, 3)),
    loss: ceLoss,
    optimizer: adam({ lr: 0.02 }),
    schedule: cosineLr({ lr: 0.02, totalSteps: 40 }),
    seed: 11,
  });

  // 10 steps stop mid-epoch; 7 (one epoch of 7 batches) stop at the boundary, after the next epoch's order is drawn.
  it.each([
    [10, { epoch: 1, stepInEpoch: 3, globalStep: 10 }],
    [7, { epoch: 1, stepInEpoch: 0, globalStep: 7 }],
  ])('training interrupted after %i steps and resumed gives bit-identical parameters', async (steps, at) => {
    const runtime = await testRuntime();
    const fit = { epochs: 4, batchSize: 10 };
    const full = new Trainer({ ...options(), runtime });
    const whole = await full.fit(data, fit);

    const path = join(dir, 'resume.ckpt');
    const first = new Trainer({ ...options(), runtime });
    const r1 = await first.fit(data, { ...fit, maxSteps: steps, checkpoint: { path } });
    expect(r1.stopped).toBe(true);
    expect(first.progress).toEqual(at);
    expect(existsSync(path)).toBe(true);

    const second = new Trainer({ ...options(), runtime });
    await second.restore(path);
    expect(second.progress.globalStep).toBe(steps);
    const r2 = await second.fit(data, fit);
    expect(second.progress.globalStep).toBe(full.progress.globalStep);
    // The run's epoch history, the epoch cut by the interruption included, is the uninterrupted run's.
    const losses = (h: readonly { loss: number; metrics: Record<string, number> }[]) => h.map((e) => [e.loss, e.metrics]);
    expect(r2.history).toHaveLength(3);
    expect(losses(r2.runHistory)).toEqual(losses(whole.history));
    expect(losses(second.history)).toEqual(losses(whole.runHistory));
    expect(sameBits(second.modelState.parameters, full.modelState.parameters)).toBe(true);
    expect(sameBits(second.modelState.buffers, full.modelState.buffers)).toBe(true);
    expect(sameBits(second.state.optimizer.slots.exp_avg_sq!, full.state.optimizer.slots.exp_avg_sq!)).toBe(true);
    await Promise.all([full.dispose(), first.dispose(), second.dispose()]);
  }, 60_000);

  it('refuses a checkpoint of another model or optimizer, and mid-epoch resume with other batching', async () => {
    const runtime = await testRuntime();
    const path = join(dir, 'other.ckpt');
    const t = new Trainer({ ...options(), runtime });
    await t.fit(data, { epochs: 1, batchSize: 10, maxSteps: 2, checkpoint: { path } });
    const wrongModel = new Trainer({ ...options(), model: new MLP({ inputDim: 5, outputDim: 3 }), runtime });
    await expect(wrongModel.restore(path)).rejects.toThrow(/does not fit this model/);
    const wrongOpt = new Trainer({ ...options(), optimizer: sgd({ lr: 0.1 }), runtime });
    await expect(wrongOpt.restore(path)).rejects.toThrow(/optimizer 'adam'/);
    // the same kind with other settings (another learning rate is fine: it is not state)
    const otherBetas = new Trainer({ ...options(), optimizer: adam({ lr: 0.02, betas: [0.5, 0.999] }), runtime });
    await expect(otherBetas.restore(path)).rejects.toThrow(/optimizer settings/);
    const otherLr = new Trainer({ ...options(), optimizer: adam({ lr: 0.001 }), runtime });
    await otherLr.restore(path);
    await otherBetas.dispose();
    await otherLr.dispose();
    const resumed = new Trainer({ ...options(), runtime });
    await resumed.restore(path);
    await expect(resumed.fit(data, { epochs: 1, batchSize: 5 })).rejects.toThrow(/same data and batching/);
    await Promise.all([t.dispose(), wrongModel.dispose(), wrongOpt.dispose(), resumed.dispose()]);
  });

  it('a step checkpoint that falls on the last step of an epoch is written at the epoch boundary', async () => {
    const runtime = await testRuntime();
    const path = join(dir, 'steps.ckpt');
    // 75 rows in batches of 15: 5 steps an epoch, so every 5th step is an epoch's last; no epoch checkpoints.
    const saved: number[] = [];
    const t = new Trainer({ ...options(), runtime });
    await t.fit(data, {
      epochs: 2,
      batchSize: 15,
      checkpoint: { path, everySteps: 5, everyEpochs: 0 },
      onProgress: (e) => {
        if (e.type === 'epoch' && existsSync(path)) saved.push(decodeCheckpoint(readFileSync(path)).progress.globalStep);
      },
    });
    expect(saved).toEqual([5, 10]);
    expect(decodeCheckpoint(readFileSync(path)).progress).toEqual({ epoch: 2, stepInEpoch: 0, globalStep: 10 });
    await t.dispose();
  });
});
