/** Index helpers shared by the dataset types: checked index lists, random splits and mini-batch schedules. */
import { InvalidInputError, InvalidOptionError, Rng, c, validateOptions } from '@dc/core';

/** Copies `indices` into an Int32Array, checking each is an integer in [0, n). */
export function checkIndices(argument: string, indices: ArrayLike<number>, n: number): Int32Array {
  if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number') {
    throw new InvalidInputError(argument, 'expected an array of sample indices');
  }
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new InvalidInputError(argument, `index ${String(v)} at position ${i} is outside [0, ${n})`);
    }
    out[i] = v;
  }
  return out;
}

/** Checks a [start, end) row range and returns it with `end` defaulting to n. */
export function checkRange(start: number, end: number | undefined, n: number): [number, number] {
  const e = end ?? n;
  if (!(Number.isInteger(start) && Number.isInteger(e) && 0 <= start && start <= e && e <= n)) {
    throw new InvalidInputError('range', `[${start}, ${e}) is not a range inside [0, ${n}]`);
  }
  return [start, e];
}

export interface SplitOptions {
  /** Shuffle before splitting (default true); false keeps the original order (first part = first rows). */
  shuffle?: boolean;
  seed?: number;
}

/**
 * Index lists of a two-way split. `first` is the size of the first part: a fraction in (0, 1) or a count in
 * [1, n - 1]. Both parts are sorted, so a split never reorders samples within a part.
 */
export function splitIndices(n: number, first: number, options: SplitOptions = {}, caller = 'split'): [Int32Array, Int32Array] {
  const opts = validateOptions(caller, options, { shuffle: c.bool(), seed: c.int({ min: 0 }) }, { shuffle: true, seed: 0 });
  if (n < 2) throw new InvalidInputError('dataset', `needs at least 2 samples to split, has ${n}`);
  let count: number;
  if (typeof first === 'number' && first > 0 && first < 1) count = Math.round(first * n);
  else if (Number.isInteger(first) && first >= 1 && first <= n - 1) count = first;
  else throw new InvalidOptionError(caller, 'first', `a fraction in (0, 1) or an integer in [1, ${n - 1}]`, first);
  count = Math.min(n - 1, Math.max(1, count));
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (opts.shuffle) new Rng(opts.seed).shuffle(order);
  const a = order.slice(0, count).sort();
  const b = order.slice(count).sort();
  return [a, b];
}

export interface BatchIndexOptions {
  /** Visit samples in a random order (default true). */
  shuffle?: boolean;
  seed?: number;
  /**
   * What to do with a last batch smaller than batchSize (training graphs have static shapes):
   * 'keep' yields it as is, 'drop' skips it, 'wrap' fills it up with samples from the start of the order.
   */
  last?: 'keep' | 'drop' | 'wrap';
}

/** The index batches of one epoch over n samples. */
export function batchIndices(n: number, batchSize: number, options: BatchIndexOptions = {}): Int32Array[] {
  const opts = validateOptions(
    'batchIndices',
    options,
    { shuffle: c.bool(), seed: c.int({ min: 0 }), last: c.oneOf(['keep', 'drop', 'wrap'] as const) },
    { shuffle: true, seed: 0, last: 'keep' as const },
  );
  if (!Number.isInteger(n) || n < 1) throw new InvalidOptionError('batchIndices', 'n', 'an integer >= 1', n);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidOptionError('batchIndices', 'batchSize', 'an integer >= 1', batchSize);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (opts.shuffle) new Rng(opts.seed).shuffle(order);
  const out: Int32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const end = start + batchSize;
    if (end <= n) {
      out.push(order.slice(start, end));
    } else if (opts.last === 'keep') {
      out.push(order.slice(start, n));
    } else if (opts.last === 'wrap') {
      const b = new Int32Array(batchSize);
      for (let i = 0; i < batchSize; i++) b[i] = order[(start + i) % n]!;
      out.push(b);
    }
  }
  return out;
}
