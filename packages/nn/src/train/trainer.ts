/**
 * The Trainer: epochs over seeded shuffled batches of static shape, one step-graph session per batch shape kept
 * for the run, learning-rate schedules, progress events, evaluation hooks, a NaN/Inf guard that keeps the last
 * good state, atomic checkpoints and exact resume.
 *
 * Randomness: a root Rng(seed) forks the initial weights' stream and the trainer's stream. Each epoch draws its
 * shuffle from the trainer's stream; each step forks two private streams from it, one for the batch (augmentation)
 * and one for the random inputs (dropout masks, noise). A checkpoint stores the stream and the state at the start
 * of the epoch, so a resumed run draws exactly what the uninterrupted run would have.
 */
import { DEVICES, InvalidInputError, InvalidOptionError, Rng, Runtime, Tensor, c, validateOptions, type Device, type RngState } from '@dc/core';
import type { GradientsOptions } from '../autodiff/gradients.js';
import { checkState, type ModelState, type Module } from '../modules/module.js';
import type { Optimizer } from '../optim/optimizers.js';
import type { LrSchedule } from '../optim/schedules.js';
import { exportOnnx, type ExportOptions } from '../export/onnx.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint, type EpochSums } from './checkpoint.js';
import { planBatches, type Dataset } from './data.js';
import { CheckpointError, TrainingDivergedError } from './errors.js';
import { predict, type PredictOptions } from './predict.js';
import { StepRunner, type StepOutcome } from './runner.js';
import { zeroSlots, type TrainState } from './state.js';
import { buildStepGraph, type BatchSpec, type EmaSpec, type LossBuilder } from './step.js';

export interface TrainerOptions {
  model: Module<never[], unknown>;
  loss: LossBuilder;
  optimizer: Optimizer;
  /** Learning rate per optimizer step (default: the optimizer's constant `lr`). */
  schedule?: LrSchedule;
  /** Parameters not trained: dotted names or prefixes ending in '.', or a predicate. */
  frozen?: readonly string[] | ((name: string) => boolean);
  /** Momentum encoder (MoCo): `target` follows `source` with momentum m (a number or a function of the step). */
  ema?: EmaSpec & { momentum: number | ((step: number) => number) };
  clipGradNorm?: number;
  /** Speed-only choices of the autodiff (Conv gradient recipes). */
  gradientOptions?: GradientsOptions;
  /** Extra scalar inputs for the loss (ctx.scalar(name)): constants or functions of the step. */
  scalars?: Readonly<Record<string, number | ((step: number) => number)>>;
  seed?: number;
  /** Initial weights (default: model.init() from the seed's weight stream). */
  state?: ModelState;
  runtime?: Runtime;
  device?: Device;
  /** ONNX Runtime intra-op threads (0: one per core). */
  threads?: number;
  /** Stored in checkpoints. */
  metadata?: Record<string, unknown>;
}

export interface TrainProgress {
  type: 'step' | 'epoch';
  /** 1-based epoch in progress (or just finished, for 'epoch'). */
  epoch: number;
  epochs: number;
  /** Optimizer steps done in the whole run. */
  step: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  totalSteps: number;
  /** This step's loss ('step') or the epoch's mean loss ('epoch'). */
  loss: number;
  metrics: Record<string, number>;
  /** Learning rate of this step ('step') or of the epoch's last step ('epoch'). */
  lr: number;
  samplesPerSecond: number;
  etaSeconds: number;
  elapsedSeconds: number;
  /** What the evaluation hook returned ('epoch' events). */
  evaluation?: Record<string, number>;
}

export interface CheckpointOptions {
  path: string;
  /** Also write every this many optimizer steps (default: only at epoch ends). */
  everySteps?: number;
  /** Write at the end of every this many epochs (default 1; 0 disables). */
  everyEpochs?: number;
}

export interface FitOptions {
  /** Train until this many epochs are complete (counting epochs done before a resume). */
  epochs: number;
  batchSize: number;
  /** 'drop' (default) leaves out the incomplete last batch; 'pad' fills it and weights the padding 0. */
  lastBatch?: 'drop' | 'pad';
  shuffle?: boolean;
  onProgress?: (event: TrainProgress) => void;
  /** Emit 'step' events every this many steps (default 1). */
  progressEvery?: number;
  /** Called after each applied step with its outcome (e.g. to push MoCo keys into a queue). */
  onStep?: (outcome: Omit<StepOutcome, 'next'>, step: number) => void | Promise<void>;
  /** Called at the end of every `evaluateEvery` epochs; its numbers go into the epoch event and the history. */
  evaluate?: (trainer: Trainer, epoch: number) => Record<string, number> | Promise<Record<string, number>>;
  evaluateEvery?: number;
  checkpoint?: CheckpointOptions;
  /** Stop (cleanly, after writing a checkpoint when configured) once the run has done this many steps. */
  maxSteps?: number;
  signal?: AbortSignal;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  metrics: Record<string, number>;
  evaluation?: Record<string, number>;
  seconds: number;
}

export interface FitResult {
  epochs: number;
  steps: number;
  /** The epochs this call completed. */
  history: EpochRecord[];
  /** Every completed epoch of the run, those before a restored checkpoint included. */
  runHistory: EpochRecord[];
  /** True when maxSteps or the abort signal ended the run early. */
  stopped: boolean;
  seconds: number;
}

interface Position {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  epochRng: RngState | null;
}

const emptySums = (): EpochSums => ({ loss: 0, count: 0, metrics: {} });

const SCALAR_RULE = c.custom<Record<string, number | ((s: number) => number)>>('an object of numbers or functions', (v) =>
  typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'function' || (typeof x === 'number' && Number.isFinite(x))),
);

export class Trainer {
  readonly model: Module<never[], unknown>;
  readonly optimizer: Optimizer;
  private readonly options: TrainerOptions;
  private readonly schedule: LrSchedule;
  private trainState: TrainState;
  private rng: Rng;
  private position: Position = { epoch: 0, stepInEpoch: 0, globalStep: 0, epochRng: null };
  private runHistory: EpochRecord[] = [];
  /** Loss and metric sums of the epoch in progress (checkpointed, so a resumed epoch reports the whole epoch). */
  private epochSums: EpochSums = emptySums();
  private runtime: Runtime | null;
  private readonly ownsRuntime: boolean;
  private readonly runners = new Map<string, Promise<StepRunner>>();
  private runtimeReady: Promise<Runtime> | null = null;
  private dataInfo: Checkpoint['data'] = null;
  private static counter = 0;
  private readonly id = ++Trainer.counter;

  constructor(options: TrainerOptions) {
    const o = validateOptions('Trainer', options, {
      model: c.object<Module<never[], unknown>>(),
      loss: c.func<LossBuilder>(),
      optimizer: c.object<Optimizer>(),
      schedule: c.optional(c.func<LrSchedule>()),
      frozen: c.optional(c.anyOf(c.arrayOf(c.string()), c.func<(name: string) => boolean>())),
      ema: c.optional(c.object<NonNullable<TrainerOptions['ema']>>()),
      clipGradNorm: c.optional(c.number({ min: 0, minExclusive: true })),
      gradientOptions: c.optional(c.object<GradientsOptions>()),
      scalars: c.optional(SCALAR_RULE),
      seed: c.int({ min: 0 }),
      state: c.optional(c.object<ModelState>()),
      runtime: c.optional(c.object<Runtime>()),
      device: c.optional(c.oneOf(DEVICES)),
      threads: c.int({ min: 0 }),
      metadata: c.optional(c.object()),
    }, { seed: 0, threads: 0 });
    // The step graph's own scalars: a user scalar of the same name would silently replace them.
    for (const name of Object.keys(o.scalars ?? {})) {
      if (name === 'lr' || name === 'ema_momentum' || o.optimizer.scalarNames.includes(name)) {
        throw new InvalidOptionError('Trainer', 'scalars', `names other than the optimizer's and EMA's own (${name})`, name);
      }
    }
    if (o.ema && typeof o.ema.momentum === 'number' && !(o.ema.momentum >= 0 && o.ema.momentum <= 1)) {
      throw new InvalidOptionError('Trainer', 'ema.momentum', 'a number in [0, 1] or a function of the step', o.ema.momentum);
    }
    this.options = o as TrainerOptions;
    this.model = o.model;
    this.optimizer = o.optimizer;
    this.schedule = o.schedule ?? (() => o.optimizer.lr);
    const root = new Rng(o.seed);
    const initRng = root.fork();
    this.rng = root.fork();
    const modelState = o.state ?? o.model.init(initRng);
    checkState(o.model, modelState, 'state');
    this.trainState = { model: modelState, optimizer: { step: 0, slots: {} } };
    this.runtime = o.runtime ?? null;
    this.ownsRuntime = !o.runtime;
  }

  /** The current training state (the last good one after a divergence). */
  get state(): TrainState {
    return this.trainState;
  }

  /** Parameters and buffers of the model now. */
  get modelState(): ModelState {
    return this.trainState.model;
  }

  /** Completed epochs, steps in the current epoch, optimizer steps in the run. */
  get progress(): { epoch: number; stepInEpoch: number; globalStep: number } {
    const { epoch, stepInEpoch, globalStep } = this.position;
    return { epoch, stepInEpoch, globalStep };
  }

  private getRuntime(): Promise<Runtime> {
    // One creation even when calls overlap (e.g. two predict() calls on a fresh trainer).
    this.runtimeReady ??= this.runtime
      ? Promise.resolve(this.runtime)
      : Runtime.create({ device: this.options.device ?? 'cpu', threads: this.options.threads ?? 0 }).then((r) => (this.runtime = r));
    return this.runtimeReady;
  }

  private runnerFor(batch: Readonly<Record<string, Tensor>>): Promise<StepRunner> {
    const specs: Record<string, BatchSpec> = {};
    for (const [name, t] of Object.entries(batch)) {
      if (!(t instanceof Tensor)) throw new InvalidInputError('batch', `'${name}' is not a Tensor`);
      specs[name] = { dtype: t.dtype, shape: [...t.shape] };
    }
    const signature = Object.entries(specs).map(([n, s]) => `${n}:${s.dtype}[${s.shape.join(',')}]`).join(';');
    let r = this.runners.get(signature);
    if (!r) {
      r = (async () => {
        const runtime = await this.getRuntime();
        const step = buildStepGraph({
          model: this.model,
          optimizer: this.optimizer,
          loss: this.options.loss,
          batch: specs,
          ...(this.options.frozen ? { frozen: this.options.frozen } : {}),
          ...(this.options.ema ? { ema: { target: this.options.ema.target, source: this.options.ema.source } } : {}),
          ...(this.options.clipGradNorm !== undefined ? { clipGradNorm: this.options.clipGradNorm } : {}),
          scalarNames: Object.keys(this.options.scalars ?? {}),
          ...(this.options.gradientOptions ? { gradientOptions: this.options.gradientOptions } : {}),
        });
        return StepRunner.create(step, this.optimizer, specs, runtime, `@dc/nn:step:${this.id}:${signature}`);
      })();
      this.runners.set(signature, r);
      r.catch(() => this.runners.delete(signature));
    }
    return r;
  }

  private scalarsFor(step: number): Record<string, number> {
    const out: Record<string, number> = { lr: this.schedule(step) };
    if (this.options.ema) {
      const m = this.options.ema.momentum;
      out.ema_momentum = typeof m === 'function' ? m(step) : m;
    }
    for (const [k, v] of Object.entries(this.options.scalars ?? {})) out[k] = typeof v === 'function' ? v(step) : v;
    return out;
  }

  private ensureSlots(runner: StepRunner): void {
    const slots = this.trainState.optimizer.slots;
    for (const slot of this.optimizer.slots) {
      const m = slots[slot];
      const missing = runner.step.trained.filter((n) => !m?.has(n));
      if (missing.length === 0) continue;
      const fresh = zeroSlots([slot], this.trainState.model.parameters, missing)[slot]!;
      slots[slot] = new Map([...(m ?? []), ...fresh]);
    }
  }

  /**
   * One optimizer step on `batch` (outside `fit`): draws random inputs from the trainer's stream and applies the
   * step unless its loss or gradient norm is not finite (then TrainingDivergedError, state unchanged).
   */
  async step(batch: Readonly<Record<string, Tensor>>, sampleWeight?: Tensor<'float32'>): Promise<Omit<StepOutcome, 'next'>> {
    const before = this.rng.getState();
    const stepRng = this.rng.fork();
    const outcome = await this.runStep(batch, stepRng, sampleWeight, before, null);
    this.position.globalStep++;
    return outcome;
  }

  private async runStep(
    batch: Readonly<Record<string, Tensor>>,
    stepRng: Rng,
    sampleWeight: Tensor<'float32'> | undefined,
    rngBefore: RngState,
    checkpointPath: string | null,
  ): Promise<Omit<StepOutcome, 'next'> & { lr: number }> {
    let outcome: StepOutcome;
    let scalars: Record<string, number>;
    try {
      const runner = await this.runnerFor(batch);
      this.ensureSlots(runner);
      scalars = this.scalarsFor(this.trainState.optimizer.step);
      outcome = await runner.run(this.trainState, batch, scalars, stepRng, sampleWeight);
    } catch (e) {
      // The step did not happen: the generator goes back to where it was, so a save or a later step matches.
      this.rng.setState(rngBefore);
      throw e;
    }
    const gradNorm = outcome.metrics.grad_norm ?? 0;
    if (!Number.isFinite(outcome.loss) || !Number.isFinite(gradNorm)) {
      this.rng.setState(rngBefore);
      if (checkpointPath) await saveCheckpoint(checkpointPath, this.checkpoint());
      throw new TrainingDivergedError(this.position.epoch + 1, this.position.globalStep + 1, outcome.loss, gradNorm, checkpointPath);
    }
    this.trainState = outcome.next;
    return { loss: outcome.loss, metrics: outcome.metrics, outputs: outcome.outputs, lr: scalars.lr! };
  }

  /** Trains until `epochs` epochs are complete (continuing from the current position, e.g. after resume). */
  async fit(data: Dataset, options: FitOptions): Promise<FitResult> {
    const o = validateOptions('Trainer.fit', options, {
      epochs: c.int({ min: 0 }),
      batchSize: c.int({ min: 1 }),
      lastBatch: c.oneOf(['drop', 'pad'] as const),
      shuffle: c.bool(),
      onProgress: c.optional(c.func<(e: TrainProgress) => void>()),
      progressEvery: c.int({ min: 1 }),
      onStep: c.optional(c.func<NonNullable<FitOptions['onStep']>>()),
      evaluate: c.optional(c.func<NonNullable<FitOptions['evaluate']>>()),
      evaluateEvery: c.int({ min: 1 }),
      checkpoint: c.optional(c.object<CheckpointOptions>()),
      maxSteps: c.optional(c.int({ min: 0 })),
      signal: c.optional(c.object<AbortSignal>()),
    }, { lastBatch: 'drop', shuffle: true, progressEvery: 1, evaluateEvery: 1 });
    if (!data || typeof data.size !== 'number' || typeof data.batch !== 'function') {
      throw new InvalidInputError('data', 'expected a Dataset ({ size, batch(indices, rng) })');
    }
    if (!Number.isInteger(data.size) || data.size < 1) throw new InvalidInputError('data', `needs at least one sample, got size ${data.size}`);
    const ck = o.checkpoint ? validateOptions('Trainer.fit checkpoint', o.checkpoint, {
      path: c.string(),
      everySteps: c.optional(c.int({ min: 1 })),
      everyEpochs: c.int({ min: 0 }),
    }, { everyEpochs: 1 }) : null;
    const info = { size: data.size, batchSize: o.batchSize, lastBatch: o.lastBatch, shuffle: o.shuffle };
    if (this.dataInfo && this.position.stepInEpoch > 0) {
      const d = this.dataInfo;
      if (d.size !== info.size || d.batchSize !== info.batchSize || d.lastBatch !== info.lastBatch || d.shuffle !== info.shuffle) {
        throw new InvalidInputError('data', `resuming mid-epoch needs the same data and batching as the checkpoint (${JSON.stringify(d)}), got ${JSON.stringify(info)}`);
      }
    }
    this.dataInfo = info;
    const plan = planBatches(data.size, o.batchSize, o.lastBatch);
    const totalSteps = o.epochs * plan.steps;
    const t0 = performance.now();
    const startStep = this.position.globalStep;
    const history: EpochRecord[] = [];
    let stopped = false;
    let lastLr = this.schedule(this.trainState.optimizer.step);

    outer: while (this.position.epoch < o.epochs) {
      const pos = this.position;
      let order: Int32Array;
      // The epoch's order is drawn once, when its state is unset; a run stopped before the epoch's first step has
      // already drawn it (the saved RNG is past the draw), so a resume replays it from epochRng like mid-epoch.
      if (!pos.epochRng) {
        pos.epochRng = this.rng.getState();
        order = o.shuffle ? this.rng.permutation(data.size) : identity(data.size);
      } else {
        order = o.shuffle ? Rng.fromState(pos.epochRng).permutation(data.size) : identity(data.size);
      }
      const epochStart = performance.now();
      let saveAtEpochEnd = false;
      // An epoch entered part-way (a restored checkpoint, or a run stopped by maxSteps) keeps the sums so far.
      if (pos.stepInEpoch === 0) this.epochSums = emptySums();
      const sums = this.epochSums;
      for (let s = pos.stepInEpoch; s < plan.steps; s++) {
        if ((o.maxSteps !== undefined && pos.globalStep >= o.maxSteps) || o.signal?.aborted) {
          stopped = true;
          break outer;
        }
        const before = this.rng.getState();
        // Two forks, not a fork of a fork: a forked child starts where its parent stood, so the batch stream and
        // the random-input stream must each be forked from the trainer's stream to stay apart from later steps.
        const dataRng = this.rng.fork();
        const stepRng = this.rng.fork();
        const { indices, valid } = plan.indices(order, s);
        let batch: Readonly<Record<string, Tensor>>;
        try {
          batch = await data.batch(indices, dataRng);
        } catch (e) {
          this.rng.setState(before);
          throw e;
        }
        let weight: Tensor<'float32'> | undefined;
        if (valid < o.batchSize) {
          weight = Tensor.zeros([o.batchSize]);
          weight.data.fill(1, 0, valid);
        }
        const r = await this.runStep(batch, stepRng, weight, before, ck?.path ?? null);
        lastLr = r.lr;
        pos.globalStep++;
        pos.stepInEpoch = s + 1;
        sums.loss += r.loss;
        sums.count++;
        for (const [k, v] of Object.entries(r.metrics)) sums.metrics[k] = (sums.metrics[k] ?? 0) + v;
        await o.onStep?.({ loss: r.loss, metrics: r.metrics, outputs: r.outputs }, pos.globalStep);
        const elapsed = (performance.now() - t0) / 1000;
        const done = pos.globalStep - startStep;
        if (o.onProgress && (pos.globalStep % o.progressEvery === 0 || s === plan.steps - 1)) {
          o.onProgress({
            type: 'step',
            epoch: pos.epoch + 1,
            epochs: o.epochs,
            step: pos.globalStep,
            stepInEpoch: s + 1,
            stepsPerEpoch: plan.steps,
            totalSteps,
            loss: r.loss,
            metrics: r.metrics,
            lr: r.lr,
            samplesPerSecond: (done * o.batchSize) / Math.max(elapsed, 1e-9),
            etaSeconds: (elapsed / done) * Math.max(0, totalSteps - pos.globalStep),
            elapsedSeconds: elapsed,
          });
        }
        if (ck?.everySteps && pos.globalStep % ck.everySteps === 0) {
          // On an epoch's last step the save waits for the epoch boundary (a position resume handles exactly).
          if (s < plan.steps - 1) await saveCheckpoint(ck.path, this.checkpoint());
          else saveAtEpochEnd = true;
        }
        // Let other work (worker messages, timers) run between steps: session.run blocks this thread.
        if (o.signal) await new Promise((resolve) => setImmediate(resolve));
      }
      pos.epoch++;
      pos.stepInEpoch = 0;
      pos.epochRng = null;
      const record: EpochRecord = {
        epoch: pos.epoch,
        loss: sums.count > 0 ? sums.loss / sums.count : NaN,
        metrics: Object.fromEntries(Object.entries(sums.metrics).map(([k, v]) => [k, v / Math.max(sums.count, 1)])),
        seconds: (performance.now() - epochStart) / 1000,
      };
      if (o.evaluate && pos.epoch % o.evaluateEvery === 0) record.evaluation = await o.evaluate(this, pos.epoch);
      history.push(record);
      this.runHistory.push(record);
      if (ck && ((ck.everyEpochs > 0 && pos.epoch % ck.everyEpochs === 0) || saveAtEpochEnd)) await saveCheckpoint(ck.path, this.checkpoint());
      const elapsed = (performance.now() - t0) / 1000;
      const done = Math.max(1, pos.globalStep - startStep);
      o.onProgress?.({
        type: 'epoch',
        epoch: pos.epoch,
        epochs: o.epochs,
        step: pos.globalStep,
        stepInEpoch: plan.steps,
        stepsPerEpoch: plan.steps,
        totalSteps,
        loss: record.loss,
        metrics: record.metrics,
        lr: lastLr,
        samplesPerSecond: ((pos.globalStep - startStep) * o.batchSize) / Math.max(elapsed, 1e-9),
        etaSeconds: (elapsed / done) * Math.max(0, totalSteps - pos.globalStep),
        elapsedSeconds: elapsed,
        ...(record.evaluation ? { evaluation: record.evaluation } : {}),
      });
    }
    if (stopped && ck) await saveCheckpoint(ck.path, this.checkpoint());
    return { epochs: this.position.epoch, steps: this.position.globalStep, history, runHistory: [...this.runHistory], stopped, seconds: (performance.now() - t0) / 1000 };
  }

  /** A snapshot of everything needed to resume exactly (tensors are shared, not copied). */
  checkpoint(): Checkpoint {
    return {
      state: this.trainState,
      progress: { epoch: this.position.epoch, stepInEpoch: this.position.stepInEpoch, globalStep: this.position.globalStep },
      rng: this.rng.getState(),
      epochRng: this.position.epochRng,
      optimizer: { kind: this.optimizer.kind, config: this.optimizer.config },
      data: this.dataInfo,
      metadata: this.options.metadata ?? {},
      history: [...this.runHistory],
      epochSums: this.position.stepInEpoch > 0 ? { ...this.epochSums, metrics: { ...this.epochSums.metrics } } : null,
    };
  }

  /** Every completed epoch of the run, those restored from a checkpoint included. */
  get history(): readonly EpochRecord[] {
    return this.runHistory;
  }

  async save(path: string): Promise<void> {
    await saveCheckpoint(path, this.checkpoint());
  }

  /** Restores a checkpoint (an object or a file path) into this trainer; the model must match. */
  async restore(source: Checkpoint | string): Promise<void> {
    const ckpt = typeof source === 'string' ? await loadCheckpoint(source) : source;
    const path = typeof source === 'string' ? source : null;
    try {
      checkState(this.model, ckpt.state.model, 'checkpoint');
    } catch (e) {
      throw new CheckpointError(path, `it does not fit this model: ${(e as Error).message}`);
    }
    if (ckpt.optimizer.kind !== this.optimizer.kind) {
      throw new CheckpointError(path, `it was written by optimizer '${ckpt.optimizer.kind}', this trainer uses '${this.optimizer.kind}'`);
    }
    // Settings other than the learning rate (momentum, betas, eps, weight decay, ...) must match too: the slots
    // hold state of that update rule (SGD without momentum has none to continue from).
    const written = JSON.stringify(ckpt.optimizer.config);
    const wantedConfig = JSON.stringify(this.optimizer.config);
    if (written !== wantedConfig) throw new CheckpointError(path, `it was written with optimizer settings ${written}, this trainer uses ${wantedConfig}`);
    const wanted = new Set(this.optimizer.slots);
    for (const slot of Object.keys(ckpt.state.optimizer.slots)) {
      if (!wanted.has(slot)) throw new CheckpointError(path, `unexpected optimizer slot '${slot}'`);
    }
    this.trainState = ckpt.state;
    this.rng = Rng.fromState(ckpt.rng);
    this.position = { ...ckpt.progress, epochRng: ckpt.epochRng };
    this.dataInfo = ckpt.data;
    this.runHistory = [...(ckpt.history ?? [])];
    this.epochSums = ckpt.epochSums ? { ...ckpt.epochSums, metrics: { ...ckpt.epochSums.metrics } } : emptySums();
  }

  /** Evaluation-mode outputs of the current model (see predict()). */
  predict(inputs: Tensor | readonly Tensor[], options: Omit<PredictOptions, 'runtime' | 'device' | 'threads'> = {}): Promise<Record<string, Tensor<'float32'>>> {
    return this.getRuntime().then((runtime) => predict(this.model, this.trainState.model, inputs, { ...options, runtime }));
  }

  /** A standalone inference model of the current weights (see exportOnnx()). */
  exportOnnx(options: ExportOptions): Uint8Array {
    return exportOnnx(this.model, this.trainState.model, options);
  }

  /** Releases the sessions (and the runtime when the trainer created it). */
  async dispose(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    if (this.runtimeReady) await this.runtimeReady.catch(() => null);
    this.runtimeReady = null;
    if (this.ownsRuntime && this.runtime) {
      await this.runtime.dispose();
      this.runtime = null;
    } else {
      await Promise.all(runners.map(async (r) => (await r.catch(() => null))?.session.release()));
    }
  }
}

function identity(n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return p;
}

/** A trainer restored from a checkpoint file (options must describe the same model and optimizer). */
export async function resumeTrainer(options: TrainerOptions, path: string): Promise<Trainer> {
  const t = new Trainer(options);
  await t.restore(path);
  return t;
}

