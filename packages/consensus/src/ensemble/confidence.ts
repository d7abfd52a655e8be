/**
 * ProFeat's ensemble confidence between two points (Kim, Im and Cho, section 2.4): c(x_i, x_j) is the number
 * of members that put both points in the same cluster. Pairs with c >= minAgreeing are connected; a point with
 * fewer than minConnections connections in its mini-batch is dropped with all its pairs (connection-count
 * thresholding, t_c). The survivors give positive pairs (connected) and negative pairs (not connected).
 *
 * Deviation from the paper: it connects pairs with c > t_e but uses t_e = E = 5 with E = 5 members, which no pair
 * can exceed; we connect at c >= minAgreeing (default: all members). Members need no alignment: only whether
 * two points share a cluster within one member matters. Noise (-1) never connects.
 *
 * Everything is computed per mini-batch (B x B), so memory stays linear in n however many batches are drawn.
 */
import { InvalidInputError, InvalidOptionError, Rng, c, validateOptions } from '@dc/core';
import { checkLabelings, type Labeling } from './labelings.js';

export interface ConfidenceOptions {
  /** t_e: members that must agree for a pair to connect (default: all of them). */
  minAgreeing?: number;
  /** t_c: connections a point needs to stay (default 1: any connection). */
  minConnections?: number;
}

export interface BatchConfidence {
  /** The batch's point indices. */
  batch: Int32Array;
  /** [B * B] c(x_i, x_j), symmetric, 0 on the diagonal. */
  confidence: Uint8Array;
  /** [B] connections of each point before thresholding. */
  connections: Int32Array;
  /** [B] 1 for points kept (connected at least minConnections times). */
  confident: Uint8Array;
  /** Batch-local pairs (i < j) between kept points: [i0, j0, i1, j1, ...]. Positives are connected. */
  positives: Int32Array;
  negatives: Int32Array;
}

function resolve(caller: string, options: ConfidenceOptions, members: number, batchSize: number) {
  const o = validateOptions(caller, options, {
    minAgreeing: c.int({ min: 1, max: members }),
    minConnections: c.int({ min: 1, max: Math.max(1, batchSize - 1) }),
  }, { minAgreeing: members, minConnections: 1 });
  return o;
}

function compute(members: Int32Array[], batch: Int32Array, minAgreeing: number, minConnections: number): BatchConfidence {
  const b = batch.length;
  const confidence = new Uint8Array(b * b);
  for (const labels of members) {
    for (let i = 0; i < b; i++) {
      const li = labels[batch[i]!]!;
      if (li < 0) continue;
      for (let j = i + 1; j < b; j++) {
        if (labels[batch[j]!] === li) {
          confidence[i * b + j] = confidence[i * b + j]! + 1;
          confidence[j * b + i] = confidence[j * b + i]! + 1;
        }
      }
    }
  }
  const connections = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    let count = 0;
    for (let j = 0; j < b; j++) if (j !== i && confidence[i * b + j]! >= minAgreeing) count++;
    connections[i] = count;
  }
  // One pass, on the counts before any point is dropped, as the paper describes.
  const confident = Uint8Array.from(connections, (v) => (v >= minConnections ? 1 : 0));
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < b; i++) {
    if (!confident[i]) continue;
    for (let j = i + 1; j < b; j++) {
      if (!confident[j]) continue;
      if (confidence[i * b + j]! >= minAgreeing) positives.push(i, j);
      else negatives.push(i, j);
    }
  }
  return { batch, confidence, connections, confident, positives: Int32Array.from(positives), negatives: Int32Array.from(negatives) };
}

/** The ensemble confidence of every pair in one mini-batch of point indices. */
export function ensembleConfidence(labelings: readonly Labeling[], batch: ArrayLike<number>, options: ConfidenceOptions = {}): BatchConfidence {
  const members = checkLabelings('labelings', labelings);
  if (members.length > 255) throw new InvalidInputError('labelings', `at most 255 members are supported, got ${members.length}`);
  const n = members[0]!.length;
  if (typeof batch !== 'object' || batch === null || typeof batch.length !== 'number' || batch.length < 2) {
    throw new InvalidInputError('batch', 'expected an array of at least 2 point indices');
  }
  const idx = Int32Array.from({ length: batch.length }, (_, i) => {
    const v = batch[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= n) throw new InvalidInputError('batch', `index ${v} at position ${i} is outside [0, ${n})`);
    return v;
  });
  if (new Set(idx).size !== idx.length) throw new InvalidInputError('batch', 'point indices must be distinct');
  const o = resolve('ensembleConfidence', options, members.length, idx.length);
  return compute(members, idx, o.minAgreeing, o.minConnections);
}

export interface ConfidenceBatchesOptions extends ConfidenceOptions {
  batchSize: number;
  seed?: number;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** One pass over the points in shuffled mini-batches, yielding each batch's confidence. */
export function* confidenceBatches(labelings: readonly Labeling[], options: ConfidenceBatchesOptions): Generator<BatchConfidence, void, undefined> {
  const members = checkLabelings('labelings', labelings);
  if (members.length > 255) throw new InvalidInputError('labelings', `at most 255 members are supported, got ${members.length}`);
  const n = members[0]!.length;
  const o = validateOptions('confidenceBatches', options, {
    batchSize: c.int({ min: 2, max: Math.max(2, n) }),
    seed: c.int({ min: 0 }),
    dropLast: c.bool(),
    minAgreeing: c.int({ min: 1, max: members.length }),
    minConnections: c.int({ min: 1 }),
  }, { seed: 0, dropLast: false, minAgreeing: members.length, minConnections: 1 });
  if (n < 2) throw new InvalidOptionError('confidenceBatches', 'labelings', 'labelings of at least 2 points', n);
  const order = new Rng(o.seed).permutation(n);
  for (let start = 0; start < n; start += o.batchSize) {
    const end = Math.min(n, start + o.batchSize);
    if (end - start < 2 || (o.dropLast && end - start < o.batchSize)) break;
    yield compute(members, order.slice(start, end), o.minAgreeing, o.minConnections);
  }
}
