/**
 * Operator definitions. Each ONNX op the builder knows has one definition holding its shape rule (checked at
 * build time, so mistakes surface with a clear GraphError before ONNX Runtime sees the model) and, for
 * differentiable ops, its backward rule (used by @dc/nn's reverse-mode autodiff). Rule and gradient of an op live
 * in the same file under ops/.
 */
import { GraphError } from '../errors.js';
import type { DType, Tensor } from '../tensor.js';
import type { GraphBuilder, NodeRecord, Value } from './builder.js';
import { BUILTIN_OPS } from './ops/index.js';
import type { AttributeValue, Dim, ValueType } from './types.js';

/** An input as a shape rule sees it: its type, and its value when known at build time. */
export interface InferInput extends ValueType {
  constant?: Tensor;
}

export class InferContext {
  constructor(
    readonly opType: string,
    readonly nodeName: string,
    readonly inputs: readonly (InferInput | null)[],
    readonly attributes: Readonly<Record<string, AttributeValue>>,
    private readonly freshDim: () => string,
  ) {}

  fail(message: string): never {
    throw new GraphError(`${this.opType}: ${message}`, this.nodeName);
  }

  /** Input i, which must be present. */
  input(i: number): InferInput {
    const v = this.inputs[i];
    if (!v) this.fail(`input ${i} is required`);
    return v;
  }

  optionalInput(i: number): InferInput | null {
    return this.inputs[i] ?? null;
  }

  /** The build-time value of input i (a constant or an initializer), or a GraphError. */
  constantInput(i: number, what: string): Tensor {
    const v = this.input(i);
    if (!v.constant) this.fail(`${what} (input ${i}) must be a constant known when the graph is built`);
    return v.constant;
  }

  int(name: string, fallback?: number): number {
    const a = this.attributes[name];
    if (a === undefined) {
      if (fallback === undefined) this.fail(`attribute '${name}' is required`);
      return fallback;
    }
    if (a.type !== 'int') this.fail(`attribute '${name}' must be an int`);
    return a.value;
  }

  float(name: string, fallback: number): number {
    const a = this.attributes[name];
    if (a === undefined) return fallback;
    if (a.type !== 'float' && a.type !== 'int') this.fail(`attribute '${name}' must be a float`);
    return a.value;
  }

  ints(name: string, fallback?: readonly number[]): readonly number[] {
    const a = this.attributes[name];
    if (a === undefined) {
      if (fallback === undefined) this.fail(`attribute '${name}' is required`);
      return fallback;
    }
    if (a.type !== 'ints') this.fail(`attribute '${name}' must be a list of ints`);
    return a.value;
  }

  string(name: string, fallback: string): string {
    const a = this.attributes[name];
    if (a === undefined) return fallback;
    if (a.type !== 'string') this.fail(`attribute '${name}' must be a string`);
    return a.value;
  }

  /** A dimension the rule cannot determine statically. */
  unknownDim(): string {
    return this.freshDim();
  }

  /** Normalises a possibly negative axis against a rank. */
  axis(axis: number, rank: number, what = 'axis'): number {
    const a = axis < 0 ? axis + rank : axis;
    if (!Number.isInteger(a) || a < 0 || a >= rank) this.fail(`${what} ${axis} is out of range for rank ${rank}`);
    return a;
  }

  sameDtype(indices: readonly number[]): DType {
    const first = this.input(indices[0]!).dtype;
    for (const i of indices) {
      const v = this.inputs[i];
      if (v && v.dtype !== first) this.fail(`input ${i} has dtype ${v.dtype} but input ${indices[0]} has ${first}`);
    }
    return first;
  }

  requireDtype(i: number, allowed: readonly DType[]): void {
    const v = this.input(i);
    if (!allowed.includes(v.dtype)) this.fail(`input ${i} must have dtype ${allowed.join(' or ')}, got ${v.dtype}`);
  }

  requireRank(i: number, rank: number | ((r: number) => boolean), description?: string): void {
    const v = this.input(i);
    const ok = typeof rank === 'number' ? v.shape.length === rank : rank(v.shape.length);
    if (!ok) this.fail(`input ${i} must have ${description ?? `rank ${String(rank)}`}, got shape [${v.shape.join(', ')}]`);
  }
}

/** Choices a backward rule may take that change speed, never the result (beyond float rounding). */
export interface GradOptions {
  /**
   * Conv weight gradient: 'conv' (a Conv over batch/channel-transposed tensors, then Slice), 'unfold' (patches
   * unfolded by a one-hot grouped Conv, then one Gemm over batch and pixels), 'unfold-batched' (per-sample
   * products of the unfolded patches, summed over the batch), 'gather' (patch rows gathered from a spatial-major
   * copy of the input, one product per kernel tap; ungrouped only, 'unfold' otherwise), 'winograd' (Winograd's
   * F(4x4, 3x3): 3x3 kernels, stride 1, pad 1, float32, sizes divisible by 4; 'auto' otherwise) or 'auto'
   * (default: chosen per layer from its geometry by a rule measured on this engine).
   */
  convWeightGrad?: 'auto' | 'conv' | 'unfold' | 'unfold-batched' | 'gather' | 'winograd';
  /**
   * Conv input gradient: 'convTranspose' (with explicit output_padding), 'conv' (flipped-kernel Conv; stride 1
   * only, ConvTranspose otherwise), 'fold' (one Gemm for the patch gradients, summed back by Col2Im; ungrouped
   * only, ConvTranspose otherwise) or 'auto' (default: chosen per layer).
   */
  convInputGrad?: 'auto' | 'convTranspose' | 'conv' | 'fold';
}

export interface GradContext {
  g: GraphBuilder;
  node: NodeRecord;
  /** Gradient of the loss with respect to each output of the node (null where none flows). */
  gradOutputs: readonly (Value | null)[];
  /** Which inputs need a gradient. */
  needsGrad: readonly boolean[];
  /** Speed choices passed down from the caller of the autodiff. */
  options?: GradOptions;
}

/** Returns the gradient for each input (null or undefined where none is needed or defined). */
export type GradRule = (ctx: GradContext) => readonly (Value | null | undefined)[];

export interface OpDef {
  type: string;
  domain?: string;
  /** Attribute names whose plain-number values are floats (everything else integral is an int). */
  floatAttributes?: readonly string[];
  /** Shape and dtype of each output. */
  infer(ctx: InferContext): ValueType[];
  /** Optional build-time evaluation (shape arithmetic): output values when they can be known, else undefined. */
  fold?(ctx: InferContext): Tensor[] | undefined;
  backward?: GradRule;
}

function key(type: string, domain = ''): string {
  return domain ? `${domain}::${type}` : type;
}

const registry = new Map<string, OpDef>(BUILTIN_OPS.map((d) => [key(d.type, d.domain), d]));

/** Registers an op definition (a later definition of the same op replaces the earlier one). */
export function defineOp(def: OpDef): OpDef {
  registry.set(key(def.type, def.domain), def);
  return def;
}

export function getOpDef(type: string, domain = ''): OpDef | undefined {
  return registry.get(key(type, domain));
}

export function registeredOps(): string[] {
  return [...registry.keys()].sort();
}

export type { Dim };
