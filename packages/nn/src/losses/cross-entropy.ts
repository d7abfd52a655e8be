/**
 * Cross-entropy from logits with hard labels (int64 [N], negative labels ignored) or soft targets (float [N, C]),
 * label smoothing (PyTorch's: the target becomes (1 - eps) * target + eps / C), per-sample weights and masks.
 * SPICE's double-softmax cross-entropy is the same loss applied to probabilities instead of logits.
 */
import { GraphError, InvalidOptionError, Tensor, type GraphBuilder, type Value } from '@dc/core';
import { asWeight, checkKeys, matrixShape, reduce, sumAxis, vectorOf, type Reduction } from './common.js';

export interface CrossEntropyOptions {
  /** eps in [0, 1): mixes the target with the uniform distribution (default 0). */
  labelSmoothing?: number;
  /** Per-sample weights [N] (float). */
  weights?: Value;
  /** Per-sample mask [N] (bool or 0/1 float): masked-out samples contribute nothing. */
  mask?: Value;
  /**
   * 'mean' (default) divides by the total weight of the counted samples (PyTorch's convention with ignored
   * labels or weights), 'batchmean' by N (FixMatch's masked mean), 'sum' sums, 'none' gives the [N] values.
   */
  reduction?: Reduction | 'batchmean';
}

function checkOptions(caller: string, o: CrossEntropyOptions): number {
  checkKeys(caller, o, ['labelSmoothing', 'weights', 'mask', 'reduction']);
  const eps = o.labelSmoothing ?? 0;
  if (!(typeof eps === 'number' && eps >= 0 && eps < 1)) throw new InvalidOptionError(caller, 'labelSmoothing', 'a number in the range [0, 1)', eps);
  const r = o.reduction ?? 'mean';
  if (!['mean', 'batchmean', 'sum', 'none'].includes(r)) {
    throw new InvalidOptionError(caller, 'reduction', "one of 'mean', 'batchmean', 'sum', 'none'", r);
  }
  return eps;
}

/**
 * The per-sample target distribution [N, C] and the weight [N] of counted samples (null when all count).
 * Hard labels: one-hot rows; negative labels (e.g. -1, "no pseudo-label") get weight 0 and a zero row.
 */
function targetDistribution(g: GraphBuilder, target: Value, n: number, k: number, caller: string): { dist: Value; valid: Value | null } {
  if (target.dtype === 'int64' || target.dtype === 'int32') {
    vectorOf('target', target, n, caller);
    const labels = target.dtype === 'int64' ? target : g.op('Cast', [target], { to: 7 });
    const zero = g.constant(0, 'int64');
    const valid = g.op('Cast', [g.op('GreaterOrEqual', [labels, zero])], { to: 1 });
    // ONNX OneHot wraps negative indices around, so clamp them to 0 and zero those rows through `valid`.
    const safe = g.op('Where', [g.op('Less', [labels, zero]), zero, labels]);
    const hot = g.op('OneHot', [safe, g.int64s([k]), g.constant(Tensor.fromArray([0, 1]))], { axis: -1 });
    const dist = g.op('Mul', [hot, g.op('Unsqueeze', [valid, g.int64s([1])])]);
    return { dist, valid };
  }
  if (target.dtype !== 'float32') throw new GraphError(`${caller}: 'target' must be int64/int32 labels [N] or float32 targets [N, C], got ${target.dtype}`);
  const [tn, tk] = matrixShape('target', target, caller);
  if (tn !== n || tk !== k) throw new GraphError(`${caller}: soft targets ${target.toString()} do not match logits [${n}, ${k}]`);
  return { dist: target, valid: null };
}

/** Per-sample cross-entropy of log-probabilities [N, C] against a target distribution [N, C]. */
function perSample(g: GraphBuilder, logp: Value, dist: Value, eps: number, k: number): Value {
  let target = dist;
  if (eps > 0) target = g.op('Add', [g.op('Mul', [dist, 1 - eps]), eps / k]);
  return g.op('Neg', [sumAxis(g, g.op('Mul', [target, logp]), 1)]);
}

function combineWeights(g: GraphBuilder, parts: (Value | null)[]): Value | null {
  const present = parts.filter((p): p is Value => p !== null);
  if (present.length === 0) return null;
  return present.reduce((a, b) => g.op('Mul', [a, b]));
}

/** Cross-entropy of `logits` [N, C] against hard labels [N] or soft targets [N, C]; a scalar unless reduction 'none'. */
export function crossEntropy(g: GraphBuilder, logits: Value, target: Value, options: CrossEntropyOptions = {}): Value {
  const caller = 'crossEntropy';
  const eps = checkOptions(caller, options);
  const [n, k] = matrixShape('logits', logits, caller);
  const { dist, valid } = targetDistribution(g, target, n, k, caller);
  const logp = g.op('LogSoftmax', [logits], { axis: 1 });
  const losses = perSample(g, logp, dist, eps, k);
  // Label smoothing adds eps/C mass to ignored rows too; their weight is 0, so they still count nothing.
  const weight = combineWeights(g, [
    valid,
    options.weights ? asWeight(g, 'weights', options.weights, n, caller) : null,
    options.mask ? asWeight(g, 'mask', options.mask, n, caller) : null,
  ]);
  return reduce(g, losses, weight, options.reduction ?? 'mean');
}

/**
 * SPICE's loss for clustering heads (Niu et al., Eq. 5): cross-entropy applied to the head's softmax
 * probabilities `probs` [N, C] as if they were logits, i.e. CE(softmax(p)). The second softmax slows learning for
 * low-probability clusters (Appendix A of the paper). Labels < 0 (samples without a pseudo-label) are ignored.
 */
export function doubleSoftmaxCrossEntropy(g: GraphBuilder, probs: Value, target: Value, options: CrossEntropyOptions = {}): Value {
  return crossEntropy(g, probs, target, options);
}
