/** Helpers of the autodiff and functional tests: seeded tensors, a single-threaded runtime, gradcheck asserts. */
import { GraphBuilder, Rng, Runtime, Tensor, type DType, type Value } from '@dc/core';
import { gradcheck, type GradcheckBuild, type GradcheckOptions } from '../../src/autodiff/gradcheck.js';

let shared: Promise<Runtime> | null = null;

/**
 * Finite differences read the forward pass, so it runs on the direct convolution kernels: Winograd's rounding
 * (about 2e-6 of a layer's outputs, `@dc/core`'s winograd tests) divided by the step is more than the tolerance of
 * these checks. The backward rules, the autodiff's Winograd weight gradients among them, are checked all the same.
 */
export function runtime(): Promise<Runtime> {
  shared ??= Runtime.create({ device: 'cpu', threads: 1, winogradConvolutions: false });
  return shared;
}

export async function disposeRuntime(): Promise<void> {
  if (shared) await (await shared).dispose();
  shared = null;
}

let seedCounter = 1;

/** Normal(0, std) entries. */
type FloatTensor = Tensor<'float32' | 'float64'>;

export function randn(shape: readonly number[], dtype: 'float32' | 'float64' = 'float64', std = 1, seed = seedCounter++): FloatTensor {
  const t: FloatTensor = Tensor.zeros(shape, dtype);
  new Rng(seed).fillNormal(t.data as Float64Array, 0, std);
  return t;
}

/** Uniform(low, high) entries. */
export function randu(shape: readonly number[], low: number, high: number, dtype: 'float32' | 'float64' = 'float64', seed = seedCounter++): FloatTensor {
  const t: FloatTensor = Tensor.zeros(shape, dtype);
  new Rng(seed).fillUniform(t.data as Float64Array, low, high);
  return t;
}

/** Entries of magnitude in [lo, hi] with random signs: keeps finite differences away from kinks at 0. */
export function awayFromZero(shape: readonly number[], lo = 0.2, hi = 1.5, dtype: 'float32' | 'float64' = 'float64', seed = seedCounter++): FloatTensor {
  const t: FloatTensor = Tensor.zeros(shape, dtype);
  const rng = new Rng(seed);
  for (let i = 0; i < t.size; i++) t.data[i] = (rng.uniform() < 0.5 ? -1 : 1) * rng.uniform(lo, hi);
  return t;
}

/** A random permutation of well-separated values (distinct maxima for pooling and ReduceMax). */
export function distinct(shape: readonly number[], dtype: 'float32' | 'float64' = 'float64', gap = 0.1, seed = seedCounter++): FloatTensor {
  const t: FloatTensor = Tensor.zeros(shape, dtype);
  const perm = new Rng(seed).permutation(t.size);
  for (let i = 0; i < t.size; i++) t.data[i] = (perm[i]! - t.size / 2) * gap;
  return t;
}

export function int64(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
  return new Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), shape);
}

/** Runs gradcheck and fails the test with the worst elements listed. */
export async function expectGradOk(build: GradcheckBuild, inputs: readonly Tensor[], options: GradcheckOptions = {}): Promise<void> {
  const r = await gradcheck(build, inputs, { runtime: await runtime(), ...options });
  if (!r.ok) {
    throw new Error(`gradient check failed (max scaled error ${r.maxScaledError.toExponential(2)}):\n${r.failures.join('\n')}`);
  }
  // A check that compares nothing proves nothing: every checked input must have a nonzero gradient somewhere.
  for (const rep of r.inputs) {
    const anyNonzero = Array.from(rep.analytic.data as Float64Array).some((v) => v !== 0);
    if (!anyNonzero) throw new Error(`input ${rep.input} got an all-zero gradient`);
  }
}

/** Float32 options for ops that are linear in each input (Conv, ConvTranspose, pooling means): a large exact step. */
export const LINEAR_F32: GradcheckOptions = { eps: 0.5, atol: 2e-4, rtol: 2e-4 };

/** Builds a graph, runs it once, returns the named outputs. */
export async function run(build: (g: GraphBuilder) => Record<string, Value>, feeds: Record<string, Tensor> = {}): Promise<Record<string, Tensor>> {
  const g = new GraphBuilder({ name: 'test' });
  for (const [name, v] of Object.entries(build(g))) g.output(v, name);
  const s = await (await runtime()).session(g);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

export function toArray(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Elementwise |got - want| <= atol + rtol |want|, with the first mismatch in the message. */
export function expectClose(got: Tensor | ArrayLike<number>, want: ArrayLike<number>, atol = 1e-9, rtol = 1e-9): void {
  const g = got instanceof Tensor ? toArray(got) : Array.from(got);
  if (g.length !== want.length) throw new Error(`length ${g.length}, expected ${want.length}`);
  for (let i = 0; i < g.length; i++) {
    const ok = Math.abs(g[i]! - want[i]!) <= atol + rtol * Math.abs(want[i]!);
    if (!ok) throw new Error(`element ${i}: got ${g[i]}, expected ${want[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

export type { DType };
