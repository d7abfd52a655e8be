/**
 * Learning-rate schedules: pure functions of the optimizer step (0-based), computed in TypeScript and fed to
 * the step graph as a scalar. Being pure, they need no state in checkpoints.
 */
import { InvalidOptionError, c, validateOptions } from '@dc/core';

export type LrSchedule = (step: number) => number;

/** The same rate at every step. */
export function constantLr(lr: number): LrSchedule {
  if (!(typeof lr === 'number' && Number.isFinite(lr) && lr >= 0)) throw new InvalidOptionError('constantLr', 'lr', 'a finite number >= 0', lr);
  return () => lr;
}

export interface CosineOptions {
  lr: number;
  /** Steps over which the rate decays (afterwards it stays at `minLr`). */
  totalSteps: number;
  minLr?: number;
}

/** Cosine annealing: min + (lr - min) (1 + cos(pi t / T)) / 2, as torch's CosineAnnealingLR in closed form. */
export function cosineLr(options: CosineOptions): LrSchedule {
  const o = validateOptions('cosineLr', options, {
    lr: c.number({ min: 0 }),
    totalSteps: c.int({ min: 1 }),
    minLr: c.number({ min: 0 }),
  }, { minLr: 0 });
  return (step) => {
    const t = Math.min(step, o.totalSteps);
    return o.minLr + ((o.lr - o.minLr) * (1 + Math.cos((Math.PI * t) / o.totalSteps))) / 2;
  };
}

export interface StepDecayOptions {
  lr: number;
  /** Multiply by `gamma` every `stepSize` steps, or at each of `milestones`. */
  stepSize?: number;
  milestones?: readonly number[];
  gamma?: number;
}

/** torch's StepLR (stepSize) or MultiStepLR (milestones). */
export function stepLr(options: StepDecayOptions): LrSchedule {
  const o = validateOptions('stepLr', options, {
    lr: c.number({ min: 0 }),
    stepSize: c.optional(c.int({ min: 1 })),
    milestones: c.optional(c.arrayOf(c.int({ min: 0 }))),
    gamma: c.number({ min: 0 }),
  }, { gamma: 0.1 });
  if ((o.stepSize === undefined) === (o.milestones === undefined)) {
    throw new InvalidOptionError('stepLr', 'stepSize', 'given exactly when milestones is not', o.stepSize);
  }
  const milestones = o.milestones ? [...o.milestones].sort((a, b) => a - b) : null;
  return (step) => {
    const k = milestones ? milestones.filter((m) => step >= m).length : Math.floor(step / o.stepSize!);
    return o.lr * o.gamma ** k;
  };
}

export interface WarmupOptions {
  /** Steps of linear warm-up. */
  steps: number;
  /** Where the ramp starts, as a fraction of the target rate (default 0). */
  startFactor?: number;
}

/**
 * Linear warm-up in front of another schedule: for step < steps the rate is after(0) * f with
 * f = startFactor + (1 - startFactor) (step + 1) / steps (the full rate at step steps - 1, never 0); afterwards
 * `after(step - steps)`.
 */
export function warmup(after: LrSchedule, options: WarmupOptions): LrSchedule {
  const o = validateOptions('warmup', options, { steps: c.int({ min: 0 }), startFactor: c.number({ min: 0, max: 1 }) }, { startFactor: 0 });
  return (step) => {
    if (step >= o.steps) return after(step - o.steps);
    const f = o.startFactor + ((1 - o.startFactor) * (step + 1)) / o.steps;
    return after(0) * f;
  };
}
