/** Training state: model parameters and buffers plus the optimizer's per-parameter slots and step count. */
import { Tensor } from '@dc/core';
import type { ModelState, NamedTensors } from '../modules/module.js';

export interface OptimizerState {
  /** Optimizer steps taken so far. */
  step: number;
  /** slot name -> parameter name -> tensor (only for parameters the optimizer updates). */
  slots: Record<string, NamedTensors>;
}

export interface TrainState {
  model: ModelState;
  optimizer: OptimizerState;
}

/** Zero optimizer slots for the given parameters (each its own buffer: ONNX Runtime inputs must not alias). */
export function zeroSlots(slots: readonly string[], parameters: NamedTensors, names: readonly string[]): Record<string, NamedTensors> {
  const out: Record<string, NamedTensors> = {};
  for (const slot of slots) {
    const m: NamedTensors = new Map();
    for (const name of names) m.set(name, Tensor.zeros(parameters.get(name)!.shape));
    out[slot] = m;
  }
  return out;
}

export function cloneTrainState(s: TrainState): TrainState {
  const copy = (m: NamedTensors): NamedTensors => new Map([...m].map(([k, t]) => [k, t.clone()]));
  const slots: Record<string, NamedTensors> = {};
  for (const [k, v] of Object.entries(s.optimizer.slots)) slots[k] = copy(v);
  return {
    model: { parameters: copy(s.model.parameters), buffers: copy(s.model.buffers) },
    optimizer: { step: s.optimizer.step, slots },
  };
}
