/** ONNX bytes from a model description, and a model description from ONNX bytes. */
import { GraphError } from '../errors.js';
import { allocate, Tensor, type DType } from '../tensor.js';
import type { ModelDescription } from './builder.js';
import { ATTRIBUTE_TYPE, ModelProtoType, ONNX_DATA_TYPE } from './onnx-proto.js';
import type { AttributeValue, Dim } from './types.js';

/** IR version 8 goes with opsets up to 18. */
const IR_VERSION = 8;
const PRODUCER = 'deep-cluster';

const DTYPE_BY_CODE = new Map<number, DType>(Object.entries(ONNX_DATA_TYPE).map(([k, v]) => [v, k as DType]));

function tensorProto(name: string, t: Tensor): Record<string, unknown> {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: [...t.shape], dataType: ONNX_DATA_TYPE[t.dtype], rawData: bytes };
}

function valueInfo(v: { name: string; dtype: DType; shape: readonly Dim[] }): Record<string, unknown> {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_DATA_TYPE[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attributeProto(name: string, a: AttributeValue): Record<string, unknown> {
  switch (a.type) {
    case 'int':
      return { name, type: ATTRIBUTE_TYPE.INT, i: a.value };
    case 'float':
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: a.value };
    case 'string':
      return { name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(a.value) };
    case 'ints':
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: [...a.value] };
    case 'strings':
      return { name, type: ATTRIBUTE_TYPE.STRINGS, strings: a.value.map((s) => new TextEncoder().encode(s)) };
    case 'tensor':
      return { name, type: ATTRIBUTE_TYPE.TENSOR, t: tensorProto('', a.value) };
  }
}

/**
 * Versions of the non-standard operator domains a model may use. Only execution-layer lowerings emit them
 * (runtime/nchwc.ts, for ONNX Runtime's CPU provider); graphs built by the library and exported are standard ONNX.
 */
const EXTRA_DOMAIN_VERSIONS: Readonly<Record<string, number>> = { 'com.microsoft.nchwc': 1 };

function opsetImports(model: ModelDescription): { domain: string; version: number }[] {
  const domains = [...new Set(model.nodes.map((n) => n.domain).filter((d) => d !== ''))].sort();
  return [{ domain: '', version: model.opset }, ...domains.map((domain) => {
    const version = EXTRA_DOMAIN_VERSIONS[domain];
    if (version === undefined) throw new GraphError(`cannot serialise model '${model.name}': unknown operator domain '${domain}'`);
    return { domain, version };
  })];
}

/** ONNX model bytes (ModelProto) for a model description: standard ONNX unless a lowering added contrib ops. */
export function serializeModel(model: ModelDescription): Uint8Array {
  const proto = {
    irVersion: IR_VERSION,
    producerName: PRODUCER,
    opsetImport: opsetImports(model),
    docString: model.docString ?? '',
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.name,
      node: model.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        domain: n.domain,
        input: n.inputs.map((v) => (v ? v.name : '')),
        output: n.outputs.map((v) => v.name),
        attribute: Object.entries(n.attributes).map(([k, a]) => attributeProto(k, a)),
      })),
      initializer: model.initializers.map((i) => tensorProto(i.name, i.tensor)),
      input: model.inputs.map(valueInfo),
      output: model.outputs.map(valueInfo),
    },
  };
  const err = ModelProtoType.verify(proto);
  if (err) throw new GraphError(`cannot serialise model '${model.name}': ${err}`);
  return ModelProtoType.encode(ModelProtoType.fromObject(proto)).finish();
}

// ---- reading ----------------------------------------------------------------------------------------------------

export interface ParsedNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface ParsedModel {
  name: string;
  opset: number;
  producer: string;
  inputs: { name: string; dtype: DType; shape: Dim[] }[];
  outputs: { name: string; dtype: DType; shape: Dim[] }[];
  initializers: Map<string, Tensor>;
  nodes: ParsedNode[];
  metadata: Record<string, string>;
}

/** protobufjs decodes int64 as a Long object (or a number when it fits). */
type Int64 = number | { toNumber(): number } | null | undefined;
const num = (x: Int64): number => (x == null ? 0 : typeof x === 'number' ? x : x.toNumber());

interface RawTensor {
  name?: string;
  dims?: Int64[];
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: Int64[];
  doubleData?: number[];
}

function readTensor(p: RawTensor): Tensor {
  const dtype = DTYPE_BY_CODE.get(p.dataType ?? 0);
  if (!dtype) throw new GraphError(`tensor '${p.name ?? ''}' has unsupported ONNX data type ${p.dataType}`);
  const shape = (p.dims ?? []).map(num);
  const size = shape.reduce((a, b) => a * b, 1);
  const out = allocate(dtype, size);
  if (p.rawData && p.rawData.length > 0) {
    if (p.rawData.length !== out.byteLength) {
      throw new GraphError(`tensor '${p.name ?? ''}' has ${p.rawData.length} bytes of data, expected ${out.byteLength}`);
    }
    // Byte copy into the freshly allocated (aligned) array; the decoded bytes may sit at any offset.
    new Uint8Array(out.buffer).set(p.rawData);
  } else if (dtype === 'int64') {
    (p.int64Data ?? []).forEach((x, i) => ((out as BigInt64Array)[i] = BigInt(num(x))));
  } else {
    const src = dtype === 'float32' ? p.floatData : dtype === 'float64' ? p.doubleData : p.int32Data;
    (out as Float64Array).set(src ?? []);
  }
  return new Tensor(dtype, out, shape);
}

interface RawValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: Int64; dimParam?: string }[] } } };
}

function readValueInfo(v: RawValueInfo): { name: string; dtype: DType; shape: Dim[] } {
  const t = v.type?.tensorType;
  const dtype = DTYPE_BY_CODE.get(t?.elemType ?? 0);
  if (!dtype) throw new GraphError(`value '${v.name ?? ''}' has unsupported ONNX element type ${t?.elemType}`);
  const shape = (t?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : num(d.dimValue)));
  return { name: v.name ?? '', dtype, shape };
}

function readAttribute(a: Record<string, unknown>): AttributeValue {
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  switch (a.type) {
    case ATTRIBUTE_TYPE.INT:
      return { type: 'int', value: num(a.i as Int64) };
    case ATTRIBUTE_TYPE.FLOAT:
      return { type: 'float', value: a.f as number };
    case ATTRIBUTE_TYPE.STRING:
      return { type: 'string', value: dec(a.s as Uint8Array) };
    case ATTRIBUTE_TYPE.INTS:
      return { type: 'ints', value: ((a.ints as Int64[]) ?? []).map(num) };
    case ATTRIBUTE_TYPE.FLOATS:
      return { type: 'floats', value: (a.floats as number[]) ?? [] };
    case ATTRIBUTE_TYPE.STRINGS:
      return { type: 'strings', value: ((a.strings as Uint8Array[]) ?? []).map(dec) };
    case ATTRIBUTE_TYPE.TENSOR:
      return { type: 'tensor', value: readTensor(a.t as RawTensor) };
    default:
      throw new GraphError(`attribute '${String(a.name)}' has unsupported type ${String(a.type)}`);
  }
}

/** Reads ONNX model bytes (the subset deep-cluster writes: tensors, ints, floats, strings). */
export function parseModel(bytes: Uint8Array): ParsedModel {
  let m: Record<string, unknown>;
  try {
    m = ModelProtoType.decode(bytes) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new GraphError(`not a valid ONNX model: ${(e as Error).message}`);
  }
  const g = (m.graph ?? {}) as Record<string, unknown>;
  const opsets = (m.opsetImport ?? []) as { domain?: string; version?: Int64 }[];
  const main = opsets.find((o) => !o.domain);
  return {
    name: (g.name as string) ?? '',
    opset: num(main?.version),
    producer: (m.producerName as string) ?? '',
    inputs: ((g.input ?? []) as RawValueInfo[]).map(readValueInfo),
    outputs: ((g.output ?? []) as RawValueInfo[]).map(readValueInfo),
    initializers: new Map(((g.initializer ?? []) as RawTensor[]).map((t) => [t.name ?? '', readTensor(t)])),
    nodes: ((g.node ?? []) as Record<string, unknown>[]).map((n) => ({
      name: (n.name as string) ?? '',
      opType: n.opType as string,
      domain: (n.domain as string) ?? '',
      inputs: (n.input as string[]) ?? [],
      outputs: (n.output as string[]) ?? [],
      attributes: Object.fromEntries(
        ((n.attribute ?? []) as Record<string, unknown>[]).map((a) => [a.name as string, readAttribute(a)]),
      ),
    })),
    metadata: Object.fromEntries(((m.metadataProps ?? []) as { key: string; value: string }[]).map((e) => [e.key, e.value])),
  };
}
