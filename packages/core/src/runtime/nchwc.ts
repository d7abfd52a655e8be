/**
 * Blocked-layout (NCHWc) convolutions for ONNX Runtime's CPU provider.
 *
 * ONNX Runtime has faster direct convolution kernels for a blocked layout (channels in blocks of 8 or 16, the
 * SIMD width), but its own graph optimiser switches a Conv to them only when the weights are constant
 * initializers, never in a training graph, where the weights are inputs. The kernel itself reads its weights as
 * an ordinary input, so this pass does the switch for every Conv the kernel can run and that is large enough to
 * gain: the activations are reordered into the blocked layout before the Conv and back after it, and the weights
 * are reordered inside the graph (a reshape and a transpose), each run. The graphs we emit and export stay
 * standard ONNX; this is a lowering for one execution provider, applied when a CPU session is compiled with
 * `blockedConvolutions` on, like ONNX Runtime's own layout transformer.
 */
import * as ort from 'onnxruntime-node';
import { DEFAULT_OPSET, GraphBuilder, Value, type ModelDescription, type NodeRecord } from '../graph/builder.js';
import { identity } from '../graph/ops/conv.js';
import { WIDE_CHANNELS } from '../graph/ops/winograd.js';
import { serializeModel } from '../graph/serialize.js';
import { Tensor } from '../tensor.js';
import type { AttributeValue } from '../graph/types.js';

/** ONNX Runtime's contrib domain of the blocked-layout kernels. */
export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

let blockSizeProbe: Promise<number> | undefined;

/**
 * The channel block of ONNX Runtime's blocked kernels on this CPU (16 with AVX-512, 8 with AVX2; a build without
 * them answers 0). Found by reordering a 4-channel tensor, which pads the channels to one block.
 */
export function nchwcBlockSize(): Promise<number> {
  blockSizeProbe ??= (async () => {
    // Written as a description: the graph builder knows standard ops only.
    const builder = new GraphBuilder({ name: 'nchwc_probe' });
    const x = new Value(builder, 'x', 'float32', [1, 4, 1, 1], null);
    const y = new Value(builder, 'y', 'float32', [1, 'blocked', 1, 1], null);
    const model: ModelDescription = {
      name: 'nchwc_probe',
      opset: DEFAULT_OPSET,
      inputs: [{ name: 'x', dtype: 'float32', shape: x.shape }],
      outputs: [{ name: 'y', dtype: 'float32', shape: y.shape }],
      initializers: [],
      nodes: [{ opType: 'ReorderInput', domain: NCHWC_DOMAIN, name: 'reorder', inputs: [x], outputs: [y], attributes: {} }],
      metadata: {},
    };
    let session: ort.InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(serializeModel(model), { executionProviders: ['cpu'], logSeverityLevel: 4 });
      const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
      const block = Number(out.y!.dims[1]);
      return block >= 4 && (block & (block - 1)) === 0 ? block : 0;
    } catch {
      return 0;
    } finally {
      await session?.release();
    }
  })();
  return blockSizeProbe;
}

function intsAttr(node: NodeRecord, name: string): readonly number[] | undefined {
  const a = node.attributes[name];
  return a?.type === 'ints' ? a.value : undefined;
}

export interface NchwcLoweringOptions {
  /**
   * Lower a Conv only when batch x output height x output width is at least this. Each run pays a reorder of the
   * weights (one pass over them) and of the activations; the kernel's gain grows with the positions each weight is
   * applied at. Default 2048, measured on a ResNet-18 step (batch 32: the 32x32 and 16x16 maps gain, 4x4 loses).
   */
  minPositions?: number;
  /**
   * And only when the Conv does at least this many multiply-adds. The five extra nodes cost a fixed overhead per
   * run, so a small Conv gains a fraction of a millisecond at best. Default 50 million: SPC's default member (16
   * to 32 channels at 14x14 -> 7x7, batch 64: 14.5 million) stays on the standard kernel.
   */
  minMultiplyAdds?: number;
  /**
   * Only 3x3, stride-1 Convs with at least 64 input and output channels: the Runtime's default
   * (`blockedConvolutions: 'wide'`), which reaches a ResNet's stages and leaves SPC's and `pretrainEncoder`'s
   * autoencoders (strided, at most 64 channels) on the standard kernel and their results to the bit. Default false.
   */
  wideOnly?: boolean;
}

/**
 * Whether the blocked kernel can run this Conv and it is worth it: 2-D, float32, static shapes, one group,
 * explicit padding, input and output channels in whole blocks, and large enough (NchwcLoweringOptions). The
 * kernel can also read a plain input of fewer channels than a block (an image stem), but measured slower there
 * (1 -> 16 channels, 28x28 -> 14x14, batch 64: 0.43 ms against 0.12), so such Convs keep the standard kernel.
 */
function lowerable(node: NodeRecord, block: number, o: Required<NchwcLoweringOptions>): boolean {
  if (node.opType !== 'Conv' || node.domain !== '') return false;
  const [x, w] = node.inputs;
  const y = node.outputs[0];
  if (!x || !w || !y || x.dtype !== 'float32' || x.rank !== 4 || w.rank !== 4 || y.rank !== 4) return false;
  if (![x, w, y].every((v) => v.shape.every((d) => typeof d === 'number'))) return false;
  const group = node.attributes.group;
  if (group && !(group.type === 'int' && group.value === 1)) return false;
  const autoPad = node.attributes.auto_pad;
  if (autoPad && !(autoPad.type === 'string' && autoPad.value === 'NOTSET')) return false;
  const [out, inC, kh, kw] = w.shape as number[];
  if (out! % block !== 0 || inC! % block !== 0) return false;
  if (o.wideOnly) {
    const strides = intsAttr(node, 'strides') ?? [1, 1];
    const dilations = intsAttr(node, 'dilations') ?? [1, 1];
    const narrow = out! < WIDE_CHANNELS || inC! < WIDE_CHANNELS || kh !== 3 || kw !== 3;
    if (narrow || strides.some((v) => v !== 1) || dilations.some((v) => v !== 1)) return false;
  }
  const [n, , ho, wo] = y.shape as number[];
  const positions = n! * ho! * wo!;
  return positions >= o.minPositions && positions * out! * inC! * kh! * kw! >= o.minMultiplyAdds;
}

/**
 * The model with every Conv the blocked kernel can run replaced by reorder -> blocked Conv -> reorder. `block` is
 * `nchwcBlockSize()`; 0 returns the model unchanged. Values keep their names, so feeds and fetches are the same.
 */
export function lowerConvsToNchwc(model: ModelDescription, block: number, options: NchwcLoweringOptions = {}): ModelDescription {
  const o = { minPositions: options.minPositions ?? 2048, minMultiplyAdds: options.minMultiplyAdds ?? 50e6, wideOnly: options.wideOnly ?? false };
  if (block === 0) return model;
  const nodes: NodeRecord[] = [];
  const initializers = [...model.initializers];
  const shapeConstants = new Map<string, string>();
  const reorderedInputs = new Map<string, Value>();
  const reorderedWeights = new Map<string, Value>();
  // New names live under a prefix that no existing value or node uses.
  const names = [...model.inputs, ...model.initializers, ...model.nodes.flatMap((n) => [n, ...n.outputs])].map((v) => v.name);
  let root = 'nchwc';
  while (names.some((n) => n.startsWith(`${root}/`))) root += '_';
  let count = 0;
  const constant = (dims: readonly number[]): string => {
    const key = dims.join(',');
    let name = shapeConstants.get(key);
    if (!name) {
      name = `${root}/shape_${shapeConstants.size}`;
      shapeConstants.set(key, name);
      initializers.push({ name, tensor: Tensor.from(BigInt64Array.from(dims.map(BigInt)), [dims.length], 'int64') });
    }
    return name;
  };
  // The B x B identity for the weight reorder, added once.
  let eye: Value | null = null;
  const blockIdentity = (builder: Value['builder']): Value => {
    if (!eye) {
      eye = new Value(builder, `${root}/identity`, 'float32', [block, block], null);
      initializers.push({ name: eye.name, tensor: identity(block, 'float32') });
    }
    return eye;
  };
  for (const node of model.nodes) {
    if (!lowerable(node, block, o)) {
      nodes.push(node);
      continue;
    }
    const [x, w, bias] = node.inputs as [Value, Value, Value | null | undefined];
    const builder = x.builder;
    const [out, inC, kh, kw] = w.shape as number[];
    const prefix = `${root}/${count++}`;
    const value = (name: string, shape: readonly number[]) => new Value(builder, `${prefix}/${name}`, 'float32', shape, null);
    const constValue = (dims: readonly number[]) => new Value(builder, constant(dims), 'int64', [dims.length], null);
    let made = 0;
    const make = (opType: string, domain: string, inputs: (Value | null)[], outputs: Value[], attributes: Record<string, AttributeValue> = {}): void => {
      nodes.push({ opType, domain, name: `${prefix}/${opType}_${made++}`, inputs, outputs, attributes });
    };
    // A tensor read by several lowered Convs (a block's input feeds its first Conv and its shortcut) is reordered
    // once; so is a weight read twice.
    let xb = reorderedInputs.get(x.name);
    if (!xb) {
      xb = value('x', x.shape as number[]);
      reorderedInputs.set(x.name, xb);
      make('ReorderInput', NCHWC_DOMAIN, [x], [xb]);
    }
    let wb = reorderedWeights.get(w.name);
    if (!wb) {
      // The kernel's filter layout, OIHWBiBo: (O/B, I/B, KH, KW, Bi, Bo), reached in two steps that each run on
      // every thread: (O/B, Bo, I KH KW) -> (O/B, I KH KW, Bo) as a product of the transpose with the B x B
      // identity (ONNX Runtime folds the transpose into the product's packing), then Bi moved past KH KW with
      // the Bo blocks kept whole. One six-axis Transpose gives the same values, element by element on one thread:
      // for a 256x256x3x3 weight 1.42 ms against 0.31 on 2 threads. (A NaN or infinite weight spreads to its
      // row's B values through the product; training has failed by then, and the trainer stops on the loss.)
      const kk = kh! * kw!;
      const rows = value('w_rows', [out! / block, block, inC! * kk]);
      make('Reshape', '', [w, constValue([out! / block, block, inC! * kk])], [rows]);
      const rowsT = value('w_rows_t', [out! / block, inC! * kk, block]);
      make('Transpose', '', [rows], [rowsT], { perm: { type: 'ints', value: [0, 2, 1] } });
      const outLast = value('w_out_last', [out! / block, inC! * kk, block]);
      make('MatMul', '', [rowsT, blockIdentity(builder)], [outLast]);
      const split = [(out! / block) * (inC! / block), block, kk, block];
      const w4 = value('w_split', split);
      make('Reshape', '', [outLast, constValue(split)], [w4]);
      const w4t = value('w_blocked', [split[0]!, kk, block, block]);
      make('Transpose', '', [w4], [w4t], { perm: { type: 'ints', value: [0, 2, 1, 3] } });
      wb = value('w', w.shape as number[]);
      make('Reshape', '', [w4t, constValue(w.shape as number[])], [wb]);
      reorderedWeights.set(w.name, wb);
    }
    const y = node.outputs[0]!;
    const yb = value('y', y.shape as number[]);
    const attributes: Record<string, AttributeValue> = { kernel_shape: { type: 'ints', value: [kh!, kw!] } };
    for (const name of ['pads', 'strides', 'dilations'] as const) {
      const v = intsAttr(node, name);
      if (v) attributes[name] = { type: 'ints', value: v };
    }
    attributes.group = { type: 'int', value: 1 };
    make('Conv', NCHWC_DOMAIN, bias ? [xb, wb, bias] : [xb, wb], [yb], attributes);
    make('ReorderOutput', NCHWC_DOMAIN, [yb], [y], { channels: { type: 'int', value: out! } });
  }
  if (count === 0) return model;
  return { ...model, nodes, initializers };
}
