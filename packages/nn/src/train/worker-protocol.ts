/** Messages between trainInWorker (host) and the worker entry, and the (de)serialisation of states and errors. */
import { Tensor, errorFromWire as genericErrorFromWire, type WireError } from '@dc/core';
import type { NamedTensors } from '../modules/module.js';
import { CheckpointError, TrainingDivergedError } from './errors.js';
import type { TrainState } from './state.js';
import type { FitResult, TrainProgress } from './trainer.js';

export { errorToWire, type WireError } from '@dc/core';

export interface WorkerStart {
  type: 'start';
  module: string;
  exportName: string;
  args: unknown;
  resume: string | null;
  fit: Record<string, unknown>;
}

export type HostMessage = WorkerStart | { type: 'stop' };

export interface WireTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface WireState {
  parameters: WireTensor[];
  buffers: WireTensor[];
  slots: Record<string, WireTensor[]>;
  step: number;
}

export type WorkerMessage =
  | { type: 'progress'; event: TrainProgress }
  | { type: 'done'; result: FitResult; state: WireState; progress: { epoch: number; stepInEpoch: number; globalStep: number } }
  | { type: 'error'; error: WireError };

function toWire(m: NamedTensors, transfer: Set<ArrayBuffer>): WireTensor[] {
  return [...m].map(([name, t]) => {
    // Transfer only buffers owned by exactly this tensor; anything else is copied first.
    let data = t.data;
    const buf = data.buffer as ArrayBuffer;
    if (data.byteOffset !== 0 || data.byteLength !== buf.byteLength || transfer.has(buf)) data = data.slice();
    transfer.add(data.buffer as ArrayBuffer);
    return { name, shape: [...t.shape], data };
  });
}

export function stateToWire(s: TrainState): { wire: WireState; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const slots: Record<string, WireTensor[]> = {};
  for (const [k, v] of Object.entries(s.optimizer.slots)) slots[k] = toWire(v, transfer);
  const wire: WireState = {
    parameters: toWire(s.model.parameters, transfer),
    buffers: toWire(s.model.buffers, transfer),
    slots,
    step: s.optimizer.step,
  };
  return { wire, transfer: [...transfer] };
}

function fromWire(list: WireTensor[]): NamedTensors {
  return new Map(list.map((w) => [w.name, new Tensor('float32', w.data, w.shape)]));
}

export function stateFromWire(w: WireState): TrainState {
  const slots: Record<string, NamedTensors> = {};
  for (const [k, v] of Object.entries(w.slots)) slots[k] = fromWire(v);
  return { model: { parameters: fromWire(w.parameters), buffers: fromWire(w.buffers) }, optimizer: { step: w.step, slots } };
}

/** Rebuilds a typed error on the host side (the class is recreated for the errors this package defines). */
export function errorFromWire(w: WireError): Error {
  if (w.code === 'TRAINING_DIVERGED') {
    const f = w.fields;
    return new TrainingDivergedError(Number(f.epoch), Number(f.globalStep), Number(f.loss), Number(f.gradNorm), (f.checkpointPath as string | null) ?? null);
  }
  if (w.code === 'CHECKPOINT_INVALID') {
    const e = new CheckpointError((w.fields.path as string | null) ?? null, '');
    e.message = w.message;
    return e;
  }
  return genericErrorFromWire(w);
}
