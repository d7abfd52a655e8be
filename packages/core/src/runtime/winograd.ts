/**
 * Winograd convolutions for ONNX Runtime's CPU provider (`winogradConvolutions`, default true): every Conv that
 * F(4x4, 3x3) can run (3x3, stride 1, pad 1, float32, sizes divisible by 4) and that gains from it (at least 64
 * channels in and out, maps of at most 8x8; `winogradConvGains`) is replaced, in the compiled session only, by the
 * standard-op subgraph of `winogradConv` (`graph/ops/winograd.ts`): 4x fewer multiply-adds than the direct
 * convolution, for tile transforms that are a row gather and a product each. In a training step this reaches the
 * forward convolutions and the input gradients (flipped-kernel Convs) of such layers; their weight gradients take
 * Winograd's form in the autodiff itself. The graphs we emit and export keep their Conv nodes.
 */
import { GraphBuilder, Value, type ModelDescription, type NodeRecord } from '../graph/builder.js';
import { intsAttr } from '../graph/ops/grad-utils.js';
import { winogradApplies, winogradConv, winogradConvGains } from '../graph/ops/winograd.js';
import type { InitializerRecord } from '../graph/builder.js';
import type { Tensor } from '../tensor.js';

/** Constants up to this many values are compared by content (shapes, row lists and the transforms). */
const SHARED_CONSTANT_MAX = 1 << 16;

/** Whether the lowering replaces this node (see the module comment). */
export function winogradConvLowerable(node: NodeRecord): boolean {
  if (node.opType !== 'Conv' || node.domain !== '') return false;
  const [x, w] = node.inputs;
  const y = node.outputs[0];
  if (!x || !w || !y || x.rank !== 4 || w.rank !== 4 || y.rank !== 4) return false;
  if (![x, w, y].every((v) => v.shape.every((d) => typeof d === 'number'))) return false;
  const autoPad = node.attributes.auto_pad;
  if (autoPad && !(autoPad.type === 'string' && autoPad.value === 'NOTSET')) return false;
  const group = node.attributes.group;
  const groups = group?.type === 'int' ? group.value : 1;
  const [m, c, kh, kw] = w.shape as number[];
  if (!winogradConvGains(c!, m!, y.shape.slice(2) as number[])) return false;
  return winogradApplies(x.dtype, [kh!, kw!], intsAttr(node, 'strides', [1, 1]), intsAttr(node, 'dilations', [1, 1]), intsAttr(node, 'pads', [0, 0, 0, 0]), groups, y.shape.slice(2) as number[]);
}

/**
 * The model with every lowerable Conv replaced by its Winograd subgraph. Values keep their names, so feeds and
 * fetches are the same; new nodes, values and constants live under a prefix no existing name uses.
 */
export function lowerConvsToWinograd(model: ModelDescription): ModelDescription {
  const names = [...model.inputs, ...model.initializers, ...model.nodes.flatMap((n) => [n, ...n.outputs])].map((v) => v.name);
  let root = 'winograd';
  while (names.some((n) => n.startsWith(`${root}/`))) root += '_';
  const nodes: NodeRecord[] = [];
  const initializers: InitializerRecord[] = [...model.initializers];
  // A constant equal to one the model already has (or an earlier lowering added) is read under that name, so the
  // subgraph's tile cut of a Conv's input is node for node the one the Winograd weight gradient of the same layer
  // made, and ONNX Runtime's common-subexpression elimination computes it once.
  const byContent = new Map<string, string>();
  const contentKey = (t: Tensor) => (t.size <= SHARED_CONSTANT_MAX ? `${t.dtype}|${t.shape.join(',')}|${Array.from(t.data as ArrayLike<number | bigint>).join(',')}` : null);
  for (const init of model.initializers) {
    const key = contentKey(init.tensor);
    if (key !== null && !byContent.has(key)) byContent.set(key, init.name);
  }
  const shared = new Map<string, string>();
  let count = 0;
  for (const node of model.nodes) {
    if (!winogradConvLowerable(node)) {
      nodes.push(node);
      continue;
    }
    const [x, w, bias] = node.inputs as [Value, Value, Value | null | undefined];
    const y = node.outputs[0]!;
    // Built in a builder of its own under the prefix, then spliced in: its inputs stand for x, w and the bias,
    // and its last node writes y.
    const sub = new GraphBuilder({ name: 'winograd', opset: model.opset });
    const prefix = `${root}/${count++}`;
    const stand = new Map<Value, Value>();
    const out = sub.scope(prefix, () => {
      const input = (v: Value, name: string) => {
        const s = sub.input(`${prefix}/${name}`, v.dtype, v.shape);
        stand.set(s, v);
        return s;
      };
      return winogradConv(sub, input(x, 'x'), input(w, 'w'), bias ? input(bias, 'b') : null);
    });
    for (const init of sub.initializers.values()) {
      const key = contentKey(init.tensor);
      const existing = key === null ? undefined : byContent.get(key);
      if (existing !== undefined) {
        shared.set(init.name, existing);
      } else {
        initializers.push(init);
        if (key !== null) byContent.set(key, init.name);
      }
    }
    for (const n of sub.nodes) {
      const inputs = n.inputs.map((v) => {
        if (!v) return v;
        const name = shared.get(v.name);
        return name === undefined ? (stand.get(v) ?? v) : new Value(v.builder, name, v.dtype, v.shape, null);
      });
      const outputs = n.outputs.map((v) => (v === out ? y : v));
      nodes.push({ ...n, inputs, outputs });
    }
  }
  if (count === 0) return model;
  return { ...model, nodes, initializers };
}
