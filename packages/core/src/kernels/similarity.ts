/**
 * Small compute kernels as ONNX graphs run by ONNX Runtime: L2 normalisation, pairwise cosine similarity and
 * squared Euclidean distance. Graphs are built once per (kernel, feature size) with a symbolic row count and
 * cached in the runtime.
 */
import { asFloat32, assertMatrix } from '../checks.js';
import { ShapeError } from '../errors.js';
import { GraphBuilder, type Value } from '../graph/builder.js';
import { getRuntime, type Runtime } from '../runtime/runtime.js';
import type { Device } from '../runtime/device.js';
import { Tensor } from '../tensor.js';

export interface KernelOptions {
  /** A runtime to use; otherwise the shared runtime for `device`/`threads`. */
  runtime?: Runtime;
  device?: Device;
  threads?: number;
}

export function kernelRuntime(options: KernelOptions): Promise<Runtime> {
  return options.runtime ? Promise.resolve(options.runtime) : getRuntime({ device: options.device ?? 'cpu', threads: options.threads ?? 0 });
}

/** Guards against zero rows: x / max(||x||, 1e-12), as torch.nn.functional.normalize does. */
export function l2NormalizeValue(g: GraphBuilder, x: Value): Value {
  const norm = g.op('ReduceL2', [x, g.int64s([-1])], { keepdims: 1 });
  return g.op('Div', [x, g.op('Max', [norm, g.constant(1e-12, x.dtype)])]);
}

/** Row-wise squared norms [n, 1]. */
export function squaredNormsValue(g: GraphBuilder, x: Value): Value {
  return g.op('ReduceSumSquare', [x, g.int64s([-1])], { keepdims: 1 });
}

async function runKernel(name: string, d: number, build: (g: GraphBuilder) => void, feeds: Record<string, Tensor>, options: KernelOptions): Promise<Tensor> {
  const runtime = await kernelRuntime(options);
  const session = await runtime.sessionFor(`@dc/core:${name}:${d}`, () => {
    const g = new GraphBuilder({ name });
    build(g);
    return g;
  });
  const out = await session.run(feeds);
  return out.y!;
}

/** Rows scaled to unit L2 norm (zero rows stay zero). float32 output. */
export async function l2Normalize(x: Tensor, options: KernelOptions = {}): Promise<Tensor<'float32'>> {
  const [, d] = assertMatrix('x', x);
  return (await runKernel('l2_normalize', d, (g) => {
    const xv = g.input('x', 'float32', ['n', d]);
    g.output(l2NormalizeValue(g, xv), 'y');
  }, { x: asFloat32(x) }, options)) as Tensor<'float32'>;
}

function checkPair(a: Tensor, b: Tensor): number {
  const [, d] = assertMatrix('a', a);
  const [, db] = assertMatrix('b', b);
  if (db !== d) throw new ShapeError('b', ['m', d], b.shape, 'a and b must have the same number of columns.');
  return d;
}

/** Cosine similarity of every row of `a` with every row of `b`: [na, nb]. */
export async function cosineSimilarity(a: Tensor, b: Tensor = a, options: KernelOptions = {}): Promise<Tensor<'float32'>> {
  const d = checkPair(a, b);
  return (await runKernel('cosine_similarity', d, (g) => {
    const av = l2NormalizeValue(g, g.input('a', 'float32', ['n', d]));
    const bv = l2NormalizeValue(g, g.input('b', 'float32', ['m', d]));
    g.output(g.op('MatMul', [av, g.op('Transpose', [bv], { perm: [1, 0] })]), 'y');
  }, { a: asFloat32(a), b: b === a ? asFloat32(a).clone() : asFloat32(b) }, options)) as Tensor<'float32'>;
}

/** Squared Euclidean distance of every row of `a` to every row of `b`: [na, nb], clipped at 0. */
export async function squaredEuclidean(a: Tensor, b: Tensor = a, options: KernelOptions = {}): Promise<Tensor<'float32'>> {
  const d = checkPair(a, b);
  return (await runKernel('squared_euclidean', d, (g) => {
    const av = g.input('a', 'float32', ['n', d]);
    const bv = g.input('b', 'float32', ['m', d]);
    const cross = g.op('MatMul', [av, g.op('Transpose', [bv], { perm: [1, 0] })]);
    const bn = g.op('Transpose', [squaredNormsValue(g, bv)], { perm: [1, 0] });
    const sum = g.op('Add', [g.op('Sub', [squaredNormsValue(g, av), g.op('Mul', [cross, 2])]), bn]);
    g.output(g.op('Max', [sum, g.constant(0)]), 'y');
  }, { a: asFloat32(a), b: b === a ? asFloat32(a).clone() : asFloat32(b) }, options)) as Tensor<'float32'>;
}
