/**
 * One full optimizer step against PyTorch (fixtures/generate_step_fixtures.py, reference in float64): the loss,
 * every gradient, every updated parameter and update, the optimizer slots and the BatchNorm running statistics
 * must match to a relative error below 1e-4 (per tensor: its L2 norm, and the vector of sampled values).
 *
 * One exception, measured rather than assumed: a few ResNet-18 gradients at batch 8 (BatchNorm biases and the
 * tensors fed by them) are sums that cancel, and no float32 computation gets within 1e-4 of their exact value;
 * PyTorch's own float32 step is off by up to 4.7e-3 there (the fixture stores that error per tensor). For those
 * tensors the bound is 1.5x PyTorch's float32 error instead; every other tensor meets 1e-4.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, Tensor } from '@dc/core';
import {
  ConvAutoencoder,
  StepRunner,
  adam,
  buildStepGraph,
  crossEntropy,
  mse,
  resnet18,
  sgd,
  zeroSlots,
  type AutoencoderOutput,
  type LossBuilder,
  type Module,
  type Optimizer,
  type StepOutcome,
  type TrainState,
} from '@dc/nn';
import { disposeTestRuntime, norm, relError, testRuntime } from './helpers';
import { formulaState, inputPattern, type Record_, type StepFixture } from './formula';

afterAll(disposeTestRuntime);

const TOL = 1e-4;

function fixture(name: string): StepFixture {
  return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', `step-${name}.json`), 'utf8')) as StepFixture;
}

/** Tensors checked, and those that needed the float32-floor bound instead of 1e-4. */
const tally = { checked: 0, atFloor: [] as string[], worst: 0, ratios: [] as number[] };

function expectMatches(label: string, got: Float32Array | Float64Array, want: Record_): void {
  const gotNorm = norm(got);
  const normErr = Math.abs(gotNorm - want.norm) / Math.max(want.norm, 1e-30);
  const sample = want.indices.map((i) => got[i]!);
  const sampleErr = relError(sample, want.values);
  const bound = Math.max(TOL, 1.5 * want.float32_error);
  tally.checked++;
  tally.worst = Math.max(tally.worst, sampleErr);
  if (want.float32_error > 0) tally.ratios.push(sampleErr / want.float32_error);
  if (sampleErr >= TOL || normErr >= TOL) tally.atFloor.push(`${label} (${sampleErr.toExponential(1)}; PyTorch float32 ${want.float32_error.toExponential(1)})`);
  if (!(normErr < bound && sampleErr < bound)) {
    throw new Error(`${label}: norm ${gotNorm} vs ${want.norm} (rel ${normErr.toExponential(2)}), samples rel ${sampleErr.toExponential(2)}, ` +
      `bound ${bound.toExponential(2)} (PyTorch float32: ${want.float32_error.toExponential(2)})`);
  }
}

async function oneStep(
  model: Module<never[], unknown>,
  optimizer: Optimizer,
  loss: LossBuilder,
  batch: Record<string, Tensor>,
  lr: number,
): Promise<{ outcome: StepOutcome; before: TrainState }> {
  const model0 = formulaState(model);
  const specs = Object.fromEntries(Object.entries(batch).map(([k, t]) => [k, { dtype: t.dtype, shape: [...t.shape] }]));
  const step = buildStepGraph({ model, optimizer, loss, batch: specs, exposeGradients: true });
  const runner = await StepRunner.create(step, optimizer, specs, await testRuntime(), `fixture:${model.constructor.name}`);
  const state: TrainState = { model: model0, optimizer: { step: 0, slots: zeroSlots(optimizer.slots, model0.parameters, step.trained) } };
  const outcome = await runner.run(state, batch, { lr }, new Rng(0));
  await runner.session.release();
  return { outcome, before: state };
}

function compareAll(f: StepFixture, outcome: StepOutcome, before: TrainState): void {
  tally.checked = 0;
  tally.atFloor = [];
  tally.worst = 0;
  tally.ratios = [];
  expect(Math.abs(outcome.loss - f.loss) / f.loss).toBeLessThan(TOL);
  const names = Object.keys(f.grad);
  expect(new Set(outcome.gradients!.keys())).toEqual(new Set(names));
  for (const name of names) {
    expectMatches(`grad ${name}`, outcome.gradients!.get(name)!.data, f.grad[name]!);
    const w1 = outcome.next.model.parameters.get(name)!.data;
    expectMatches(`param ${name}`, w1, f.param_out[name]!);
    // The update itself (w' - w), so a tiny step cannot hide behind a large weight.
    const w0 = before.model.parameters.get(name)!.data;
    const delta = new Float64Array(w1.length);
    for (let i = 0; i < w1.length; i++) delta[i] = w1[i]! - w0[i]!;
    expectMatches(`update ${name}`, delta, f.delta[name]!);
    for (const [slot, recs] of Object.entries(f.state_out)) expectMatches(`${slot} ${name}`, outcome.next.optimizer.slots[slot]!.get(name)!.data, recs[name]!);
  }
  for (const [name, rec] of Object.entries(f.buffer_out)) expectMatches(`buffer ${name}`, outcome.next.model.buffers.get(name)!.data, rec);
}

describe('one optimizer step matches PyTorch', () => {
  it('conv autoencoder (28x28), batch 128, MSE, Adam', async () => {
    const f = fixture('conv-autoencoder');
    const model = new ConvAutoencoder({ inputShape: [1, 28, 28], latentDim: 10 });
    const x = inputPattern([128, 1, 28, 28], 1, 0.5);
    const loss: LossBuilder = (ctx) => {
      const input = ctx.input('x');
      return mse(ctx.g, ctx.forward<AutoencoderOutput>(input).reconstruction, input);
    };
    const { outcome, before } = await oneStep(model, adam({ lr: 1e-3 }), loss, { x }, 1e-3);
    compareAll(f, outcome, before);
    // Every tensor of the autoencoder step meets 1e-4 outright.
    expect(tally.atFloor).toEqual([]);
    expect(tally.checked).toBe(21 * 5 + 10);
  }, 60_000);

  it('ResNet-18 (CIFAR stem), batch 8, cross-entropy, SGD with momentum and weight decay, BatchNorm in training mode', async () => {
    const f = fixture('resnet18');
    const model = resnet18({ numClasses: 10 });
    const x = inputPattern([8, 3, 32, 32], 2);
    const y = Tensor.fromArray(Array.from({ length: 8 }, (_, i) => (3 * i + 1) % 10), 'int64');
    const loss: LossBuilder = (ctx) => crossEntropy(ctx.g, ctx.forward(ctx.input('x')), ctx.input('y'));
    const { outcome, before } = await oneStep(model, sgd({ lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }), loss, { x, y }, 0.1);
    compareAll(f, outcome, before);
    // The running statistics (forward pass only) all meet 1e-4 outright.
    expect(tally.atFloor.filter((l) => l.startsWith('buffer '))).toEqual([]);
    // Nearly every tensor does: batch norm's variance summed by ReduceSum of squares left 5 of 288 above 1e-4 on
    // the development machine, where ONNX Runtime's less accurate ReduceSumSquare left 111.
    expect(tally.atFloor.length).toBeLessThan(40);
    if (process.env.DC_NN_REPORT_FLOOR) {
      const r = [...tally.ratios].sort((a, b) => a - b);
      console.log(`${tally.atFloor.length} of ${tally.checked} tensors above 1e-4 (worst ${tally.worst.toExponential(2)}); ` +
        `our error / PyTorch float32's error: median ${r[r.length >> 1]!.toFixed(2)}, max ${r[r.length - 1]!.toFixed(2)}\n${tally.atFloor.join('\n')}`);
    }
  }, 120_000);
});
