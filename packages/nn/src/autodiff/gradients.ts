/**
 * Reverse-mode automatic differentiation over the @dc/core graph IR. The gradient is emitted as ordinary ONNX
 * nodes into the same builder, so one graph computes forward pass, loss and gradients (and, downstream, the
 * optimizer update) in a single ONNX Runtime call. Each op's backward rule lives beside its shape rule in
 * @dc/core (`OpDef.backward`); this module decides which nodes to differentiate, in which order, sums fan-out
 * gradients, and honours stop-gradients and custom (fused) gradients.
 */
import {
  GraphBuilder,
  GraphError,
  Tensor,
  Value,
  getOpDef,
  type GradOptions,
  type NodeRecord,
} from '@dc/core';

/** The vector-Jacobian product of a custom-gradient region. */
export type CustomBackward = (ctx: {
  g: GraphBuilder;
  inputs: readonly Value[];
  outputs: readonly Value[];
  /** dLoss/dOutput for each output; null where no gradient reaches that output. */
  gradOutputs: readonly (Value | null)[];
  /** Whether each input needs a gradient (only those are used). */
  needsGrad: readonly boolean[];
}) => readonly (Value | null | undefined)[];

export interface CustomGradientSpec {
  inputs: readonly Value[];
  outputs: readonly Value[];
  backward: CustomBackward;
}

/** Options of `gradients` that change speed only. */
export type GradientsOptions = GradOptions;

interface Region {
  inputs: readonly Value[];
  outputs: readonly Value[];
  backward: CustomBackward;
  /** Stop-gradient: nothing flows through, and the outputs count as independent of the inputs. */
  stop: boolean;
}

const regionsOf = new WeakMap<GraphBuilder, Region[]>();

function checkOwned(g: GraphBuilder, v: unknown, what: string): asserts v is Value {
  if (!(v instanceof Value)) throw new GraphError(`${what} must be a graph value`);
  if (v.builder !== g) throw new GraphError(`${what} '${v.name}' belongs to another graph`);
}

function isFloat(v: Value): boolean {
  return v.dtype === 'float32' || v.dtype === 'float64';
}

function addRegion(g: GraphBuilder, region: Region): void {
  const list = regionsOf.get(g) ?? [];
  for (const o of region.outputs) {
    if (o.producer === null) throw new GraphError(`custom gradient output '${o.name}' must be computed by a node, not be an input or constant`);
    if (list.some((r) => r.outputs.includes(o))) throw new GraphError(`'${o.name}' is already the output of a custom gradient`);
  }
  list.push(region);
  regionsOf.set(g, list);
}

/**
 * Declares that `outputs` were computed from `inputs` by the nodes in between, and that their vector-Jacobian
 * product is `backward` instead of differentiating those nodes one by one (a fused, cheaper gradient).
 * Gradients reaching the outputs go through `backward` only; the nodes in between are still differentiated for
 * any other path that uses their intermediate values.
 */
export function customGradient(g: GraphBuilder, spec: CustomGradientSpec): void {
  if (!(g instanceof GraphBuilder)) throw new GraphError('customGradient needs a GraphBuilder');
  if (typeof spec !== 'object' || spec === null || typeof spec.backward !== 'function') {
    throw new GraphError('customGradient needs { inputs, outputs, backward }');
  }
  if (!Array.isArray(spec.outputs) || spec.outputs.length === 0) throw new GraphError('customGradient needs at least one output');
  if (!Array.isArray(spec.inputs)) throw new GraphError('customGradient inputs must be an array of values');
  spec.inputs.forEach((v, i) => checkOwned(g, v, `customGradient input ${i}`));
  spec.outputs.forEach((v, i) => checkOwned(g, v, `customGradient output ${i}`));
  addRegion(g, { inputs: [...spec.inputs], outputs: [...spec.outputs], backward: spec.backward, stop: false });
}

/** Identity whose gradient is zero (stop-gradient), e.g. targets of a loss. */
export function stopGradient(g: GraphBuilder, x: Value): Value {
  checkOwned(g, x, 'stopGradient input');
  const y = g.op('Identity', [x], {}, { name: 'StopGradient' });
  addRegion(g, { inputs: [x], outputs: [y], backward: () => [], stop: true });
  return y;
}

/**
 * Reverse-mode gradients of a scalar `loss` (shape [] or any shape of one element, float) w.r.t. each of
 * `wrt`, emitted as standard ONNX nodes into the same builder. Fan-out gradients are summed. A value in `wrt`
 * the loss does not depend on gets a zeros constant of its shape. Values not on a path from `wrt` to `loss`
 * get no gradient nodes (frozen parameters, EMA targets: simply leave them out of `wrt`). int and bool values
 * carry no gradient. An op on the path without a backward rule is a GraphError naming the op.
 */
export function gradients(g: GraphBuilder, loss: Value, wrt: readonly Value[], options: GradientsOptions = {}): Value[] {
  if (!(g instanceof GraphBuilder)) throw new GraphError('gradients needs a GraphBuilder');
  checkOwned(g, loss, 'loss');
  if (!Array.isArray(wrt)) throw new GraphError('wrt must be an array of graph values');
  wrt.forEach((v, i) => checkOwned(g, v, `wrt[${i}]`));
  if (!isFloat(loss)) throw new GraphError(`the loss must be float32 or float64, got ${loss.dtype}`);
  if (!loss.shape.every((d) => d === 1)) {
    throw new GraphError(`the loss must be a scalar (shape []), got [${loss.shape.join(', ')}]`);
  }
  for (const [i, v] of wrt.entries()) {
    if (!isFloat(v)) throw new GraphError(`wrt[${i}] '${v.name}' has dtype ${v.dtype}; only float values have gradients`);
  }

  const nodes = g.nodes.slice();
  const index = new Map<NodeRecord, number>(nodes.map((n, i) => [n, i]));
  const regions = regionsOf.get(g) ?? [];
  const ownerOf = new Map<Value, Region>();
  for (const r of regions) for (const o of r.outputs) ownerOf.set(o, r);

  // Where each region is differentiated: just before the earliest producer of its outputs (by then every
  // consumer of every output has been processed). Its inputs must all be computed before that point.
  const regionAt = new Map<number, Region[]>();
  for (const r of regions) {
    const at = Math.min(...r.outputs.map((o) => index.get(o.producer!) ?? -1));
    if (at < 0) continue; // declared after these nodes were snapshotted: not part of this graph yet
    for (const v of r.inputs) {
      if (v.producer && (index.get(v.producer) ?? Infinity) >= at) {
        throw new GraphError(`custom gradient input '${v.name}' is computed after one of the region's outputs`);
      }
    }
    regionAt.set(at, [...(regionAt.get(at) ?? []), r]);
  }

  // Forward: values that depend on some wrt through float values.
  const depends = new Set<Value>(wrt);
  for (const node of nodes) {
    for (const o of node.outputs) {
      if (!isFloat(o) || depends.has(o)) continue;
      const owner = ownerOf.get(o);
      const from = owner ? (owner.stop ? [] : owner.inputs) : node.inputs;
      if (from.some((v) => v && depends.has(v))) depends.add(o);
    }
  }
  // Backward: values the loss depends on (through the same edges).
  const reaches = new Set<Value>([loss]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    for (const o of node.outputs) {
      if (!reaches.has(o)) continue;
      const owner = ownerOf.get(o);
      const from = owner ? (owner.stop ? [] : owner.inputs) : node.inputs;
      for (const v of from) if (v) reaches.add(v);
    }
  }
  const active = (v: Value | null | undefined): v is Value => !!v && isFloat(v) && depends.has(v) && reaches.has(v);

  const pending = new Map<Value, Value[]>();
  const add = (v: Value, grad: Value, source: string): void => {
    if (grad.dtype !== v.dtype) throw new GraphError(`${source}: gradient for '${v.name}' has dtype ${grad.dtype}, expected ${v.dtype}`);
    if (grad.shape.length !== v.shape.length || grad.shape.some((d, i) => typeof d === 'number' && typeof v.shape[i] === 'number' && d !== v.shape[i])) {
      throw new GraphError(`${source}: gradient for '${v.name}' has shape [${grad.shape.join(', ')}], expected [${v.shape.join(', ')}]`);
    }
    const list = pending.get(v);
    if (list) list.push(grad);
    else pending.set(v, [grad]);
  };
  /** The summed gradient of `v` (one Add or one Sum node for fan-out), or null when none arrived. */
  const take = (v: Value): Value | null => {
    const list = pending.get(v);
    if (!list || list.length === 0) return null;
    if (list.length === 1) return list[0]!;
    const sum = g.op(list.length === 2 ? 'Add' : 'Sum', list, {}, { name: 'GradSum' });
    pending.set(v, [sum]);
    return sum;
  };

  if (active(loss)) {
    add(loss, g.constant(Tensor.full(loss.shape as number[], 1, loss.dtype)), 'loss');
    for (let i = nodes.length - 1; i >= 0; i--) {
      for (const r of regionAt.get(i) ?? []) {
        if (r.stop) continue;
        const gradOutputs = r.outputs.map((o) => (active(o) ? take(o) : null));
        if (gradOutputs.every((v) => v === null)) continue;
        const needsGrad = r.inputs.map((v) => active(v));
        if (!needsGrad.some(Boolean)) continue;
        const grads = g.scope('grad', () => r.backward({ g, inputs: r.inputs, outputs: r.outputs, gradOutputs, needsGrad }));
        r.inputs.forEach((v, j) => {
          const d = grads[j];
          if (d && needsGrad[j]) add(v, d, 'custom gradient');
        });
      }
      const node = nodes[i]!;
      const gradOutputs = node.outputs.map((o) => (active(o) && !ownerOf.has(o) ? take(o) : null));
      if (gradOutputs.every((v) => v === null)) continue;
      const needsGrad = node.inputs.map((v) => active(v));
      if (!needsGrad.some(Boolean)) continue;
      const def = getOpDef(node.opType, node.domain);
      if (!def?.backward) {
        throw new GraphError(`no gradient is defined for op '${node.opType}'${node.domain ? ` (domain ${node.domain})` : ''}`, node.name);
      }
      const rule = def.backward;
      const grads = g.scope('grad', () => rule({ g, node, gradOutputs, needsGrad, options }));
      node.inputs.forEach((v, j) => {
        const d = grads[j];
        if (v && d && needsGrad[j]) add(v, d, `${node.opType} '${node.name}'`);
      });
    }
  }

  return wrt.map((v) => take(v) ?? zerosFor(g, v));
}

function zerosFor(g: GraphBuilder, v: Value): Value {
  const value = Tensor.zeros([1], v.dtype);
  if (v.shape.every((d): d is number => typeof d === 'number')) {
    return g.op('ConstantOfShape', [g.int64s(v.shape as number[])], { value }, { name: 'ZeroGrad' });
  }
  return g.op('ConstantOfShape', [g.op('Shape', [v])], { value }, { name: 'ZeroGrad' });
}
