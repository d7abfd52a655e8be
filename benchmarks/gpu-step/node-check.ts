/**
 * Per-node agreement of a GPU execution provider with the CPU: one training step of a case runs on the CPU with
 * every intermediate value kept, then each distinct node of the step graph (op, attributes, input shapes) runs
 * alone on the GPU and on the CPU from the same CPU-computed inputs. A whole step compounds float32 rounding
 * differences (BatchNorm's backward pass amplifies them); a node alone shows whether the provider computes each
 * op as the CPU does.
 */
import { GraphBuilder, Rng, Runtime, Tensor, type ResolvedDevice, type Value } from '@dc/core';
import { StepRunner, zeroSlots, type TrainState } from '@dc/nn';
import { buildCaseStep, type BenchCase } from '../train-step/cases.js';

/** ||a - b|| / ||b|| over all the arrays together (||a - b|| when b is zero): b is the reference. */
export function relativeError(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let num = 0;
  let den = 0;
  a.forEach((x, t) => {
    const y = b[t]!;
    for (let i = 0; i < x.length; i++) {
      num += (x[i]! - y[i]!) ** 2;
      den += y[i]! ** 2;
    }
  });
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export interface NodeAgreement {
  nodes: number;
  /** Largest ||gpu - cpu|| / ||cpu|| over float outputs, and the node it came from. */
  worst: number;
  worstNode: string;
  /** Non-float outputs (masks, indices) that differ anywhere. */
  discreteMismatches: number;
}

/** Every value of one CPU step: the feeds and each node's outputs. */
async function captureStep(c: BenchCase, threads: number) {
  const { optimizer, modelState, batch, specs, step, rng } = buildCaseStep(c, {});
  const kept = new Set(step.graph.outputs.map((v) => v.name));
  for (const node of step.graph.nodes) {
    for (const v of node.outputs) {
      if (kept.has(v.name)) continue;
      kept.add(v.name);
      step.graph.outputs.push(v); // fetched too (the runner reads only its own outputs)
    }
  }
  const runtime = await Runtime.create({ device: 'cpu', threads });
  try {
    const runner = await StepRunner.create(step, optimizer, specs, runtime, `node-check:${c.name}`);
    const session = runner.session as unknown as { run: (feeds: Record<string, Tensor>) => Promise<Record<string, Tensor>> };
    const run = session.run.bind(session);
    let values: Record<string, Tensor> = {};
    session.run = async (feeds) => {
      const out = await run(feeds);
      values = { ...feeds, ...out };
      return out;
    };
    const start: TrainState = { model: modelState, optimizer: { step: 0, slots: zeroSlots(optimizer.slots, modelState.parameters, step.trained) } };
    await runner.run(start, batch, { lr: optimizer.lr }, rng);
    return { nodes: step.graph.nodes, values };
  } finally {
    await runtime.dispose();
  }
}

export async function nodeAgreement(c: BenchCase, device: ResolvedDevice, threads: number): Promise<NodeAgreement> {
  const { nodes, values } = await captureStep(c, threads);
  const cpu = await Runtime.create({ device: 'cpu', threads });
  const gpu = await Runtime.create({ device, threads });
  const seen = new Set<string>();
  const result: NodeAgreement = { nodes: 0, worst: 0, worstNode: '', discreteMismatches: 0 };
  try {
    for (const node of nodes) {
      const signature = `${node.domain}:${node.opType}|${JSON.stringify(node.attributes)}|${node.inputs.map((v) => (v ? `${v.dtype}[${v.shape.join(',')}]${v.constant ? 'const' : ''}` : '-')).join(',')}`;
      if (seen.has(signature)) continue;
      seen.add(signature);
      const g = new GraphBuilder({ name: 'one_node' });
      const feeds: Record<string, Tensor> = {};
      const inputs = node.inputs.map((v: Value | null, i) => {
        if (v === null) return null;
        if (v.constant) return g.constant(v.constant, v.dtype);
        feeds[`in${i}`] = values[v.name]!;
        return g.input(`in${i}`, v.dtype, v.shape);
      });
      const outs = g.opMulti(node.opType, inputs, node.attributes, node.outputs.length, { domain: node.domain });
      outs.forEach((o, i) => g.output(o, `out${i}`));
      const key = `node-check:${c.name}:${result.nodes++}`;
      const onCpu = await (await cpu.sessionFor(key, () => g)).run(feeds);
      const onGpu = await (await gpu.sessionFor(key, () => g)).run(feeds);
      for (let i = 0; i < outs.length; i++) {
        const a = onCpu[`out${i}`]!.data;
        const b = onGpu[`out${i}`]!.data;
        if (!(a instanceof Float32Array)) {
          for (let j = 0; j < a.length; j++) {
            if (a[j] !== b[j]) {
              result.discreteMismatches++;
              break;
            }
          }
          continue;
        }
        const e = relativeError([b as Float32Array], [a]);
        if (e > result.worst) {
          result.worst = e;
          result.worstNode = `${node.opType} ${node.name}`;
        }
      }
      await cpu.releaseMatching(key);
      await gpu.releaseMatching(key);
    }
  } finally {
    await cpu.dispose();
    await gpu.dispose();
  }
  return result;
}
