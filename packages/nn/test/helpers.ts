/** Shared test helpers: run small graphs, seeded data, numeric comparisons. */
import { GraphBuilder, Rng, Runtime, Tensor, type Value } from '@dc/core';

let shared: Promise<Runtime> | null = null;

/** One single-threaded runtime per test file (results independent of the machine's core count). */
export function testRuntime(): Promise<Runtime> {
  shared ??= Runtime.create({ device: 'cpu', threads: 1 });
  return shared;
}

export async function disposeTestRuntime(): Promise<void> {
  if (shared) await (await shared).dispose();
  shared = null;
}

/** Builds a graph with `build` (which declares inputs and returns named outputs) and runs it once. */
export async function runGraph(
  build: (g: GraphBuilder) => Record<string, Value>,
  feeds: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  const g = new GraphBuilder({ name: 'test' });
  const outs = build(g);
  for (const [name, v] of Object.entries(outs)) g.output(v, name);
  const session = await (await testRuntime()).session(g);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function randn(shape: readonly number[], seed: number, std = 1): Tensor<'float32'> {
  const t = Tensor.zeros(shape);
  new Rng(seed).fillNormal(t.data, 0, std);
  return t;
}

export function randu(shape: readonly number[], seed: number, low = 0, high = 1): Tensor<'float32'> {
  const t = Tensor.zeros(shape);
  new Rng(seed).fillUniform(t.data, low, high);
  return t;
}

/** ||a - b|| / ||b||. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s);
}

export function scalar(t: Tensor | undefined): number {
  if (!t) throw new Error('missing output');
  return Number(t.data[0]);
}
