/**
 * Runs a compiled step graph: feeds the training state, the batch, random inputs and scalars; returns the loss,
 * metrics and the next state without touching the current one (so a diverged step can simply be dropped).
 */
import { InvalidInputError, ShapeError, Tensor, type Rng, type Runtime, type Session } from '@dc/core';
import type { NamedTensors } from '../modules/module.js';
import type { Optimizer } from '../optim/optimizers.js';
import type { TrainState } from './state.js';
import type { BatchSpec, RandomInputSpec, StepGraph } from './step.js';

export interface StepOutcome {
  loss: number;
  metrics: Record<string, number>;
  outputs: Record<string, Tensor>;
  /** Gradients of the trained parameters (clipped, before the update), when the graph exposes them. */
  gradients?: Map<string, Tensor<'float32'>>;
  next: TrainState;
}

/** Fills a random input from `rng`: dropout keep-masks (1 with probability 1 - p) or Gaussian noise. */
export function drawRandom(spec: RandomInputSpec, rng: Rng): Tensor<'float32'> {
  const t = Tensor.zeros(spec.shape);
  const d = t.data;
  if (spec.dist.kind === 'bernoulli') {
    // Compare 32-bit draws with the threshold: one generator call per element.
    const threshold = spec.dist.p * 4294967296;
    for (let i = 0; i < d.length; i++) d[i] = rng.nextUint32() >= threshold ? 1 : 0;
  } else {
    rng.fillNormal(d, 0, spec.dist.std);
  }
  return t;
}

function scalar(v: number): Tensor<'float32'> {
  return Tensor.full([], v);
}

/**
 * ONNX Runtime reads CPU inputs in place, and one memory region fed as two inputs breaks it (see the engine's
 * verified facts). States can alias by accident (a momentum encoder initialised with the online network's very
 * tensors), so any feed overlapping an earlier one is copied.
 */
function unalias(feeds: Record<string, Tensor>): void {
  const seen = new Map<ArrayBufferLike, [number, number][]>();
  for (const [name, t] of Object.entries(feeds)) {
    const d = t.data;
    const start = d.byteOffset;
    const end = start + d.byteLength;
    const ranges = seen.get(d.buffer);
    if (ranges?.some(([a, b]) => start < b && a < end)) {
      feeds[name] = t.clone();
      continue;
    }
    if (ranges) ranges.push([start, end]);
    else seen.set(d.buffer, [[start, end]]);
  }
}

export class StepRunner {
  private constructor(
    readonly step: StepGraph,
    readonly session: Session,
    readonly optimizer: Optimizer,
    readonly batch: Readonly<Record<string, BatchSpec>>,
  ) {}

  static async create(step: StepGraph, optimizer: Optimizer, batch: Readonly<Record<string, BatchSpec>>, runtime: Runtime, key: string): Promise<StepRunner> {
    const session = await runtime.sessionFor(key, () => step.graph);
    return new StepRunner(step, session, optimizer, batch);
  }

  /**
   * One optimizer step. `scalars` holds the learning rate under 'lr', 'ema_momentum' when the graph has an EMA
   * target, and the user's scalars. `sampleWeight` is the [B] 0/1 weight of a padded batch.
   */
  async run(
    state: TrainState,
    batch: Readonly<Record<string, Tensor>>,
    scalars: Readonly<Record<string, number>>,
    rng: Rng,
    sampleWeight?: Tensor<'float32'>,
  ): Promise<StepOutcome> {
    const s = this.step;
    const feeds: Record<string, Tensor> = {};
    const params = state.model.parameters;
    for (const name of [...s.trained, ...s.frozen, ...s.emaTargets]) {
      const t = params.get(name);
      if (!t) throw new InvalidInputError('state', `missing parameter '${name}'`);
      feeds[`param/${name}`] = t;
    }
    for (const name of s.buffersIn) {
      const t = state.model.buffers.get(name);
      if (!t) throw new InvalidInputError('state', `missing buffer '${name}'`);
      feeds[`buffer/${name}`] = t;
    }
    for (const slot of this.optimizer.slots) {
      const m = state.optimizer.slots[slot];
      for (const name of s.trained) {
        const t = m?.get(name);
        if (!t) throw new InvalidInputError('state', `missing optimizer slot '${slot}' of '${name}'`);
        feeds[`state/${slot}/${name}`] = t;
      }
    }
    for (const name of s.batchInputs) {
      const t = batch[name];
      const spec = this.batch[name]!;
      if (!t) throw new InvalidInputError('batch', `missing '${name}'`);
      if (t.dtype !== spec.dtype) throw new InvalidInputError('batch', `'${name}' must be ${spec.dtype}, got ${t.dtype}`);
      if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) throw new ShapeError(`batch.${name}`, spec.shape, t.shape);
      feeds[`batch/${name}`] = t;
    }
    if (s.usesSampleWeight) {
      const b = Object.values(this.batch)[0]!.shape[0]!;
      feeds['batch/__sample_weight'] = sampleWeight ?? Tensor.ones([b]);
    }
    for (const r of s.randomInputs) feeds[r.input] = drawRandom(r, rng);
    const optScalars = this.optimizer.scalars(state.optimizer.step, scalars.lr ?? this.optimizer.lr);
    for (const name of s.scalarInputs) {
      const v = optScalars[name] ?? scalars[name];
      if (v === undefined || !Number.isFinite(v)) throw new InvalidInputError('scalars', `scalar '${name}' is missing or not finite (${String(v)})`);
      feeds[`scalar/${name}`] = scalar(v);
    }

    unalias(feeds);
    const out = await this.session.run(feeds);

    const loss = out.loss!.data[0] as number;
    const metrics: Record<string, number> = {};
    for (const m of s.metricNames) metrics[m] = out[`metric/${m}`]!.data[0] as number;
    const outputs: Record<string, Tensor> = {};
    for (const o of s.outputNames) outputs[o] = out[`output/${o}`]!;
    const parameters: NamedTensors = new Map(params);
    for (const name of [...s.trained, ...s.emaTargets]) parameters.set(name, out[`param_out/${name}`] as Tensor<'float32'>);
    const buffers: NamedTensors = new Map(state.model.buffers);
    for (const name of s.buffersOut) buffers.set(name, out[`buffer_out/${name}`] as Tensor<'float32'>);
    const slots: Record<string, NamedTensors> = {};
    for (const [slot, m] of Object.entries(state.optimizer.slots)) slots[slot] = new Map(m);
    for (const slot of this.optimizer.slots) {
      const m = (slots[slot] ??= new Map());
      for (const name of s.trained) m.set(name, out[`state_out/${slot}/${name}`] as Tensor<'float32'>);
    }
    const next: TrainState = { model: { parameters, buffers }, optimizer: { step: state.optimizer.step + 1, slots } };
    if (!s.gradientsExposed) return { loss, metrics, outputs, next };
    const gradients = new Map(s.trained.map((name) => [name, out[`grad/${name}`] as Tensor<'float32'>]));
    return { loss, metrics, outputs, gradients, next };
  }
}
