/**
 * A small typed builder for ONNX graphs. Every node is shape-checked when it is added (see registry.ts), values
 * carry their dtype and (possibly symbolic) shape, and constants carry their values so that shape-valued inputs
 * (Reshape shapes, reduction axes, Slice bounds) are checked too. `toModel()` gives a plain description and
 * `serialize()` (serialize.ts) standard ONNX bytes.
 */
import { GraphError, InvalidInputError } from '../errors.js';
import { Tensor, type DType } from '../tensor.js';
import { getOpDef, InferContext, type InferInput } from './registry.js';
import type { AttributeInput, AttributeValue, Dim, ValueType } from './types.js';
import { formatShape } from './types.js';

export const DEFAULT_OPSET = 18;

export interface NodeRecord {
  opType: string;
  domain: string;
  name: string;
  inputs: readonly (Value | null)[];
  outputs: readonly Value[];
  attributes: Readonly<Record<string, AttributeValue>>;
}

/** A tensor-valued edge of the graph. */
export class Value implements ValueType {
  constructor(
    readonly builder: GraphBuilder,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: readonly Dim[],
    /** The node that computes this value; null for inputs and initializers. */
    readonly producer: NodeRecord | null,
    /** The value itself when known at build time (constants, initializers, folded shape arithmetic). */
    readonly constant?: Tensor,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** The static shape; throws a GraphError if any dimension is symbolic. */
  get staticShape(): number[] {
    if (!this.shape.every((d) => typeof d === 'number')) {
      throw new GraphError(`value '${this.name}' has a symbolic shape ${formatShape(this.shape)}`);
    }
    return this.shape as number[];
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export type Operand = Value | number;

export interface NodeOptions {
  /** Base of the node name (made unique and scoped). */
  name?: string;
  domain?: string;
  /** Exact names for the outputs (must be unused). */
  outputNames?: readonly string[];
}

export interface InitializerRecord {
  name: string;
  tensor: Tensor;
}

export interface ModelDescription {
  name: string;
  opset: number;
  inputs: { name: string; dtype: DType; shape: readonly Dim[] }[];
  outputs: { name: string; dtype: DType; shape: readonly Dim[] }[];
  initializers: InitializerRecord[];
  nodes: NodeRecord[];
  metadata: Record<string, string>;
  docString?: string;
}

export interface GraphBuilderOptions {
  name?: string;
  opset?: number;
}

export class GraphBuilder {
  readonly name: string;
  readonly opset: number;
  readonly nodes: NodeRecord[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<string, InitializerRecord>();
  readonly metadata: Record<string, string> = {};
  private readonly names = new Set<string>();
  private readonly scalarCache = new Map<string, Value>();
  private counter = 0;
  private dimCounter = 0;
  private scopes: string[] = [];

  constructor(options: GraphBuilderOptions = {}) {
    this.name = options.name ?? 'graph';
    this.opset = options.opset ?? DEFAULT_OPSET;
  }

  /** A name not used yet in this graph, prefixed by the current scope. */
  uniqueName(base: string): string {
    const scoped = this.scopes.length > 0 ? `${this.scopes.join('/')}/${base}` : base;
    let name = scoped;
    while (this.names.has(name)) name = `${scoped}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new GraphError(`the name '${name}' is already used in graph '${this.name}'`);
    this.names.add(name);
    return name;
  }

  /** Runs `fn` with names prefixed by `scope/` (nested scopes join with '/'). */
  scope<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** Declares a graph input. Symbolic dimensions are strings (e.g. 'batch'). */
  input(name: string, dtype: DType, shape: readonly Dim[]): Value {
    const v = new Value(this, this.claim(name), dtype, [...shape], null);
    this.inputs.push(v);
    return v;
  }

  /** A named initializer (weights stored in the model). */
  initializer(name: string, tensor: Tensor): Value {
    return this.addInitializer(this.claim(name), tensor);
  }

  private addInitializer(name: string, tensor: Tensor): Value {
    this.initializers.set(name, { name, tensor });
    return new Value(this, name, tensor.dtype, [...tensor.shape], null, tensor);
  }

  /** An anonymous constant; scalars are shared per (dtype, value). */
  constant(value: Tensor | number | readonly number[], dtype: DType = 'float32'): Value {
    if (typeof value === 'number') {
      const cacheKey = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
      const cached = this.scalarCache.get(cacheKey);
      if (cached) return cached;
      const v = this.addInitializer(this.uniqueName(`const_${dtype}`), Tensor.full([], value, dtype));
      this.scalarCache.set(cacheKey, v);
      return v;
    }
    const t = value instanceof Tensor ? value : Tensor.fromArray(value as number[], dtype);
    return this.addInitializer(this.uniqueName(`const_${t.dtype}`), t);
  }

  /** A 1-D int64 constant, the form ONNX wants for shapes, axes and Slice bounds. */
  int64s(values: readonly number[]): Value {
    return this.constant(Tensor.fromArray([...values], 'int64'));
  }

  /** Adds a node with one output and returns that output. */
  op(opType: string, inputs: readonly (Operand | null)[], attributes: Record<string, AttributeInput> = {}, options: NodeOptions = {}): Value {
    const outs = this.opMulti(opType, inputs, attributes, 1, options);
    return outs[0]!;
  }

  /** Adds a node with `outputCount` outputs. */
  opMulti(
    opType: string,
    inputs: readonly (Operand | null)[],
    attributes: Record<string, AttributeInput> = {},
    outputCount = 1,
    options: NodeOptions = {},
  ): Value[] {
    const domain = options.domain ?? '';
    const def = getOpDef(opType, domain);
    const nodeName = this.uniqueName(options.name ?? opType);
    if (!def) throw new GraphError(`no definition for op '${opType}'${domain ? ` in domain '${domain}'` : ''}`, nodeName);
    const firstValue = inputs.find((x): x is Value => x instanceof Value);
    const resolved = inputs.map((x) => {
      if (x === null) return null;
      if (typeof x === 'number') return this.constant(x, firstValue?.dtype ?? 'float32');
      if (x.builder !== this) throw new GraphError(`input '${x.name}' belongs to another graph`, nodeName);
      return x;
    });
    const attrs: Record<string, AttributeValue> = {};
    for (const [k, v] of Object.entries(attributes)) {
      if (v === undefined) continue;
      attrs[k] = toAttribute(k, v, def.floatAttributes ?? [], nodeName);
    }
    const ctx = new InferContext(
      opType,
      nodeName,
      resolved.map((v): InferInput | null => (v ? { dtype: v.dtype, shape: v.shape, ...(v.constant ? { constant: v.constant } : {}) } : null)),
      attrs,
      () => `?${++this.dimCounter}`,
    );
    const types = def.infer(ctx);
    if (types.length < outputCount) {
      throw new GraphError(`${opType} defines ${types.length} output(s), ${outputCount} requested`, nodeName);
    }
    const folded = def.fold?.(ctx);
    const record: { -readonly [K in keyof NodeRecord]: NodeRecord[K] } = {
      opType,
      domain,
      name: nodeName,
      inputs: resolved,
      outputs: [],
      attributes: attrs,
    };
    record.outputs = types.slice(0, outputCount).map(
      (t, i) => {
        const wanted = options.outputNames?.[i];
        const name = wanted !== undefined ? this.claim(wanted) : this.uniqueName(`${nodeName}_out${i}`);
        return new Value(this, name, t.dtype, t.shape, record, folded?.[i]);
      },
    );
    this.nodes.push(record);
    return [...record.outputs];
  }

  /** Marks a value as a graph output, renaming it through Identity when `name` is given. */
  output(value: Value, name?: string): Value {
    let v = value;
    if (name !== undefined && name !== value.name) {
      v = this.op('Identity', [value], {}, { outputNames: [name] });
    } else if (value.producer === null || this.outputs.includes(value)) {
      // Graph inputs and initializers cannot be outputs under their own name; an output listed twice neither.
      v = this.op('Identity', [value]);
    }
    this.outputs.push(v);
    return v;
  }

  /** Initializers that no node or output uses are dropped; inputs are kept (callers feed them). */
  toModel(docString?: string): ModelDescription {
    if (this.outputs.length === 0) throw new GraphError(`graph '${this.name}' has no outputs`);
    const used = new Set<string>();
    for (const n of this.nodes) for (const i of n.inputs) if (i) used.add(i.name);
    for (const o of this.outputs) used.add(o.name);
    return {
      name: this.name,
      opset: this.opset,
      inputs: this.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape })),
      outputs: this.outputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape })),
      initializers: [...this.initializers.values()].filter((i) => used.has(i.name)),
      nodes: this.nodes,
      metadata: { ...this.metadata },
      ...(docString !== undefined ? { docString } : {}),
    };
  }
}

function toAttribute(name: string, v: AttributeInput, floatNames: readonly string[], node: string): AttributeValue {
  if (v instanceof Tensor) return { type: 'tensor', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'number') {
    if (floatNames.includes(name) || !Number.isInteger(v)) return { type: 'float', value: v };
    return { type: 'int', value: v };
  }
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { type: 'strings', value: v as string[] };
    if (v.every((x) => typeof x === 'number')) {
      const nums = v as number[];
      if (floatNames.includes(name) || !nums.every(Number.isInteger)) return { type: 'floats', value: nums };
      return { type: 'ints', value: nums };
    }
    throw new InvalidInputError('attributes', `${node}: attribute '${name}' mixes strings and numbers`);
  }
  return v as AttributeValue;
}
