/** Batch drawing for the retraining loop: fixed-size batches cycling through an index pool. */
import { InvalidInputError, Tensor, type Rng } from '@dc/core';

/**
 * Draws batches of a fixed size from a pool of indices, walking a shuffled order and reshuffling when it runs
 * out, so every pool member is drawn equally often and a pool smaller than the batch is simply repeated.
 */
export class Cycler {
  private order: Int32Array;
  private pos: number;

  constructor(private readonly pool: Int32Array, private readonly rng: Rng) {
    if (pool.length === 0) throw new InvalidInputError('pool', 'cannot draw batches from an empty pool');
    this.order = rng.shuffle(pool.slice());
    this.pos = 0;
  }

  next(size: number): Int32Array {
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      if (this.pos === this.order.length) {
        this.order = this.rng.shuffle(this.pool.slice());
        this.pos = 0;
      }
      out[i] = this.order[this.pos++]!;
    }
    return out;
  }
}

/** Rows of several [r_i, ...row] tensors stacked into one. */
export function concatRows(parts: readonly Tensor<'float32'>[], rowShape: readonly number[]): Tensor<'float32'> {
  const total = parts.reduce((s, p) => s + p.shape[0]!, 0);
  const out = Tensor.zeros([total, ...rowShape]);
  let offset = 0;
  for (const p of parts) {
    out.data.set(p.data, offset);
    offset += p.data.length;
  }
  return out;
}

/** The same [rows * K] block repeated `times`. */
export function repeatRows(x: Float32Array, times: number): Float32Array {
  const out = new Float32Array(x.length * times);
  for (let t = 0; t < times; t++) out.set(x, t * x.length);
  return out;
}

/** Gathers entries of a per-sample array. */
export function gather<T extends Int32Array | Float32Array>(values: T, indices: Int32Array): T {
  const out = new (values.constructor as new (n: number) => T)(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i]!]!;
  return out;
}
