/**
 * Contrastive losses: NT-Xent (SimCLR, Chen et al. 2020) over two views of a batch, and InfoNCE against a queue
 * of negative keys (MoCo, He et al. 2020).
 */
import { GraphError, InvalidOptionError, type GraphBuilder, type Value } from '@dc/core';
import { stopGradient } from '../autodiff/gradients.js';
import { l2Normalize } from '../functional/index.js';
import { checkKeys, constantMatrix, matrixShape, meanAll, sumAxis } from './common.js';

function checkTemperature(caller: string, t: number): number {
  if (!(typeof t === 'number' && Number.isFinite(t) && t > 0)) throw new InvalidOptionError(caller, 'temperature', 'a finite number > 0', t);
  return t;
}

export interface NtXentOptions {
  /** tau (default 0.5, SimCLR's CIFAR setting). */
  temperature?: number;
}

/**
 * NT-Xent: rows z1[i] and z2[i] are two views of sample i. Over the 2N rows, each row's positive is its other
 * view and the 2N - 2 remaining rows are negatives; loss = mean over rows of -log softmax(cos / tau) at the
 * positive, self-similarity excluded. Rows are L2-normalised inside.
 */
export function ntXent(g: GraphBuilder, z1: Value, z2: Value, options: NtXentOptions = {}): Value {
  const caller = 'ntXent';
  checkKeys(caller, options, ['temperature']);
  const tau = checkTemperature(caller, options.temperature ?? 0.5);
  const [n, d] = matrixShape('z1', z1, caller);
  const [n2, d2] = matrixShape('z2', z2, caller);
  if (n !== n2 || d !== d2) throw new GraphError(`${caller}: z1 ${z1.toString()} and z2 ${z2.toString()} must have the same shape`);
  if (n < 2) throw new GraphError(`${caller}: needs at least 2 samples per view, got ${n}`);
  const m = 2 * n;
  const z = l2Normalize(g, g.op('Concat', [z1, z2], { axis: 0 }), -1);
  const sim = g.op('Mul', [g.op('MatMul', [z, g.op('Transpose', [z], { perm: [1, 0] })]), 1 / tau]);
  // A large negative on the diagonal removes self-similarity from the softmax (exp underflows to exactly 0).
  const masked = g.op('Add', [sim, constantMatrix(g, m, m, (i, j) => (i === j ? -1e9 : 0))]);
  const logp = g.op('LogSoftmax', [masked], { axis: 1 });
  const positives = constantMatrix(g, m, m, (i, j) => (j === (i + n) % m ? 1 : 0));
  return g.op('Neg', [meanAll(g, sumAxis(g, g.op('Mul', [logp, positives]), 1))]);
}

export interface InfoNceOptions {
  /** tau (default 0.2, MoCo v2). */
  temperature?: number;
  /** L2-normalise q and k inside (default true; the queue is expected normalised already). */
  normalize?: boolean;
}

/**
 * InfoNCE of MoCo: for queries q [N, d] and their keys k [N, d] (no gradient flows into k), logits are
 * [q.k, q.queue^T] / tau and the positive is column 0; `queue` [K, d] holds negatives from earlier batches.
 */
export function infoNce(g: GraphBuilder, q: Value, k: Value, queue: Value, options: InfoNceOptions = {}): Value {
  const caller = 'infoNce';
  checkKeys(caller, options, ['temperature', 'normalize']);
  const tau = checkTemperature(caller, options.temperature ?? 0.2);
  const [n, d] = matrixShape('q', q, caller);
  const [nk, dk] = matrixShape('k', k, caller);
  const [, dq] = matrixShape('queue', queue, caller);
  if (nk !== n || dk !== d || dq !== d) throw new GraphError(`${caller}: q ${q.toString()}, k ${k.toString()} and queue ${queue.toString()} do not match`);
  const normalize = options.normalize ?? true;
  const qn = normalize ? l2Normalize(g, q, -1) : q;
  const kn = stopGradient(g, normalize ? l2Normalize(g, k, -1) : k);
  const pos = sumAxis(g, g.op('Mul', [qn, kn]), 1, true);
  const neg = g.op('MatMul', [qn, g.op('Transpose', [stopGradient(g, queue)], { perm: [1, 0] })]);
  const logits = g.op('Mul', [g.op('Concat', [pos, neg], { axis: 1 }), 1 / tau]);
  const logp = g.op('LogSoftmax', [logits], { axis: 1 });
  const first = g.op('Slice', [logp, g.int64s([0]), g.int64s([1]), g.int64s([1])]);
  return g.op('Neg', [meanAll(g, first)]);
}
