/** What the trainer draws batches from, and batch planning (seeded shuffles, dropped or padded last batch). */
import { InvalidInputError, ShapeError, Tensor, type Rng } from '@dc/core';

/**
 * A source of training batches. `batch` receives the sample indices of one batch and an Rng private to that
 * step (for augmentation), and returns the named tensors the loss asks for, each with the batch as first axis.
 */
export interface Dataset {
  readonly size: number;
  batch(indices: Int32Array, rng: Rng): Readonly<Record<string, Tensor>> | Promise<Readonly<Record<string, Tensor>>>;
}

/** A dataset over in-memory tensors with the same number of rows; a batch gathers the rows. */
export function tensorDataset(tensors: Readonly<Record<string, Tensor>>): Dataset {
  const entries = Object.entries(tensors);
  if (entries.length === 0) throw new InvalidInputError('tensors', 'needs at least one tensor');
  const n = entries[0]![1].shape[0];
  if (n === undefined || n === 0) throw new InvalidInputError('tensors', 'needs at least one row');
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new InvalidInputError('tensors', `'${name}' is not a Tensor`);
    if (t.shape[0] !== n) throw new ShapeError(name, [n, '...'], t.shape, 'Every tensor needs the same number of rows.');
  }
  return {
    size: n,
    batch(indices) {
      const out: Record<string, Tensor> = {};
      for (const [name, t] of entries) out[name] = t.gatherRows(indices);
      return out;
    },
  };
}

export interface BatchPlan {
  steps: number;
  /** Sample indices of step `s` of an epoch whose order is `order`, and how many of them are real. */
  indices(order: Int32Array, s: number): { indices: Int32Array; valid: number };
}

/** Static-shape batching: 'drop' leaves out the incomplete last batch, 'pad' fills it from the epoch's start. */
export function planBatches(size: number, batchSize: number, lastBatch: 'drop' | 'pad'): BatchPlan {
  if (batchSize > size && lastBatch === 'drop') {
    throw new InvalidInputError('batchSize', `${batchSize} is larger than the dataset (${size} samples) and lastBatch is 'drop'`);
  }
  const steps = lastBatch === 'drop' ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
  return {
    steps,
    indices(order, s) {
      const start = s * batchSize;
      const out = new Int32Array(batchSize);
      const valid = Math.min(batchSize, size - start);
      for (let i = 0; i < batchSize; i++) out[i] = order[(start + i) % size]!;
      return { indices: out, valid };
    },
  };
}
