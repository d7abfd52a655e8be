/**
 * Winograd convolutions for ONNX Runtime's CPU provider (`winogradConvolutions`, default true): every Conv that
 * F(4x4, 3x3) can run (3x3, stride 1, pad 1, float32, sizes divisible by 4) and that gains from it (at least 64
 * channels in and out, maps of at most 8x8; `winogradConvGains`) is replaced, in the compiled session only, by the
 * standard-op subgraph of `winogradConv` (`graph/ops/winograd.ts`): 4x fewer multiply-adds than the direct
 * convolution, for tile transforms that are a row gather and a product each. In a training step this reaches the
 * forward convolutions and the input gradients (flipped-kernel Convs) of such layers; their weight gradients take
 * Winograd's form in the autodiff itself. An input gradient's Conv is run from the layer's own kernel, the flip
 * and channel swap folded into the subgraph (by F(2x2, 3x3) on 4x4 maps), and the nodes that made the flipped
 * copy are dropped when nothing else reads it. The graphs we emit and export keep their Conv nodes.
 */
import { GraphBuilder, Value, type ModelDescription, type NodeRecord } from '../graph/builder.js';
import { flippedTransposedSource } from '../graph/ops/conv.js';
import { intsAttr } from '../graph/ops/grad-utils.js';
import { F2x2, F4x4, winogradApplies, winogradConv, winogradConvGains } from '../graph/ops/winograd.js';
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
  const producers = new Map(model.nodes.flatMap((n) => n.outputs.map((v) => [v.name, n] as const)));
  const constants = new Map(model.initializers.map((i) => [i.name, i.tensor]));
  const bypassed: NodeRecord[] = [];
  let count = 0;
  for (const node of model.nodes) {
    if (!winogradConvLowerable(node)) {
      nodes.push(node);
      continue;
    }
    const [x, flippedW, bias] = node.inputs as [Value, Value, Value | null | undefined];
    const y = node.outputs[0]!;
    const source = flippedTransposedSource(flippedW, (name) => producers.get(name), (name) => constants.get(name));
    const w = source ?? flippedW;
    if (source) bypassed.push(producers.get(flippedW.name)!);
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
      // An input gradient on a 4x4 map by F(2x2, 3x3): its products read the transformed kernel untransposed,
      // which ONNX Runtime runs slower, and F(2x2, 3x3)'s kernels are 2.25x smaller (512 channels, batch 32,
      // kernel time: 8.5 ms against 10 by F(4x4, 3x3), 7.5-8 for the forward convolution by F(4x4, 3x3) and 8.5-9.8
      // by F(2x2, 3x3)).
      const tiling = source !== null && y.shape[2] === 4 && y.shape[3] === 4 ? F2x2 : F4x4;
      return winogradConv(sub, input(x, 'x'), input(w, 'w'), bias ? input(bias, 'b') : null, source !== null, tiling);
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
  const dead = deadChains(nodes, bypassed, model.outputs);
  if (dead.size === 0) return { ...model, nodes, initializers };
  const live = nodes.filter((n) => !dead.has(n));
  // Constants only the dropped nodes read go too (ONNX Runtime warns about each unused initializer).
  const read = new Set(live.flatMap((n) => n.inputs.map((v) => v?.name)));
  const inputs = new Set(model.inputs.map((i) => i.name));
  const dropped = new Set([...dead].flatMap((n) => n.inputs.map((v) => v?.name)));
  return { ...model, nodes: live, initializers: initializers.filter((i) => read.has(i.name) || inputs.has(i.name) || !dropped.has(i.name)) };
}

/**
 * The nodes of the chains ending in `ends` that nothing reads any more (a flipped kernel copy whose Conv now reads
 * the kernel itself), found walking back from each end while a node's outputs are all unread.
 */
function deadChains(nodes: readonly NodeRecord[], ends: readonly NodeRecord[], outputs: ModelDescription['outputs']): Set<NodeRecord> {
  const readers = new Map<string, number>(outputs.map((o) => [o.name, 1]));
  for (const n of nodes) for (const v of n.inputs) if (v) readers.set(v.name, (readers.get(v.name) ?? 0) + 1);
  const producer = new Map(nodes.flatMap((n) => n.outputs.map((v) => [v.name, n] as const)));
  const dead = new Set<NodeRecord>();
  const visit = (n: NodeRecord | undefined) => {
    if (!n || dead.has(n) || n.outputs.some((v) => (readers.get(v.name) ?? 0) > 0)) return;
    dead.add(n);
    for (const v of n.inputs) {
      if (!v) continue;
      readers.set(v.name, readers.get(v.name)! - 1);
      visit(producer.get(v.name));
    }
  };
  for (const end of ends) visit(end);
  return dead;
}
