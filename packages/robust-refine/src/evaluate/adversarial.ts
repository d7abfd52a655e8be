/**
 * Adversarial robustness (RUC, supplementary A.7): accuracy of the networks' ensemble on inputs perturbed by
 * FGSM (one step of epsilon * sign(grad)) or BIM (`iterations` steps of epsilon / iterations, each projected
 * back into the epsilon-ball around the clean input). The input gradient comes from @dc/nn's `gradients` of the
 * cross-entropy with respect to the input of an evaluation graph.
 *
 * Clusters carry no class names, so the attacked label of a sample is the cluster that the ACC mapping of the
 * clean predictions assigns to its true class (its own clean prediction when its class has no cluster), and
 * accuracy under attack uses that same fixed mapping. For images epsilon is in pixel units ([0, 1] scale) and
 * perturbed images stay within valid pixel values; for embeddings it is in feature units, unclipped.
 */
import { InvalidInputError, Tensor, c, getRuntime, validateOptions, type Session } from '@dc/core';
import { clusteringAccuracy, type LabelInput } from '@dc/metrics';
import { buildForwardGraph, gradients, type ModelState, type Module } from '@dc/nn';
import { transformInputs, type InputTransform, type RucData } from '../data-source.js';
import { Ensemble, ensembleState } from '../networks.js';
import { rowArgmax } from '../refine/labels.js';

export interface AttackTarget {
  model: Module;
  states: readonly ModelState[];
  transform: InputTransform;
  numClusters: number;
}

export interface AdversarialOptions {
  /** 'fgsm' (default) or 'bim'. */
  attack?: 'fgsm' | 'bim';
  /** Perturbation sizes (default [0, 0.01, 0.02, 0.05, 0.1]). */
  epsilons?: readonly number[];
  /** BIM iterations (default 5, as in the paper). */
  iterations?: number;
  batchSize?: number;
  device?: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  threads?: number;
}

export interface AdversarialPoint {
  epsilon: number;
  /** ACC under the clean mapping, in [0, 1]. */
  accuracy: number;
}

export interface AdversarialResult {
  attack: 'fgsm' | 'bim';
  iterations: number;
  /** Accuracy on the clean inputs. */
  cleanAccuracy: number;
  points: AdversarialPoint[];
}

interface AttackProgram {
  session: Session;
  batch: number;
}

/** Graph: input [B, ...row], target [B, K] one-hot -> output (ensemble probabilities) and grad (d loss / d input). */
async function attackProgram(target: AttackTarget, rowShape: readonly number[], batch: number, device: string, threads: number): Promise<AttackProgram> {
  const ensemble = new Ensemble(target.model, target.states.length);
  const fg = buildForwardGraph(ensemble as unknown as Module<never[], unknown>, {
    name: 'ruc_attack',
    weights: { state: ensembleState(target.states) },
    inputs: [['input', { dtype: 'float32', shape: [batch, ...rowShape] }]],
  });
  const g = fg.graph;
  const x = g.inputs[0]!;
  const probs = g.outputs[0]!;
  const y = g.input('target', 'float32', [batch, target.numClusters]);
  // Summed (not averaged) cross-entropy, so each sample's gradient does not depend on the batch size.
  const logp = g.op('Log', [g.op('Add', [probs, g.constant(1e-12)])]);
  const loss = g.op('Neg', [g.op('ReduceSum', [g.op('Mul', [y, logp])], { keepdims: 0 })]);
  const [grad] = gradients(g, loss, [x]);
  g.output(grad!, 'grad');
  const runtime = await getRuntime({ device: device as 'cpu', threads });
  const session = await runtime.session(g);
  return { session, batch };
}

/** Accuracy of the ensemble under FGSM or BIM for each epsilon. `truth` is used for scoring only. */
export async function adversarialAccuracy(target: AttackTarget, data: RucData, truth: LabelInput, options: AdversarialOptions = {}): Promise<AdversarialResult> {
  const o = validateOptions('adversarialAccuracy', options, {
    attack: c.oneOf(['fgsm', 'bim'] as const),
    epsilons: c.arrayOf(c.number({ min: 0 }), { min: 1 }),
    iterations: c.int({ min: 1 }),
    batchSize: c.int({ min: 1 }),
    device: c.oneOf(['auto', 'cpu', 'cuda', 'webgpu'] as const),
    threads: c.int({ min: 0 }),
  }, { attack: 'fgsm', epsilons: [0, 0.01, 0.02, 0.05, 0.1], iterations: 5, batchSize: 256, device: 'cpu', threads: 0 });
  const x = transformInputs(data, target.transform);
  const n = x.shape[0]!;
  const rowShape = x.shape.slice(1);
  const rowSize = x.rowSize;
  const k = target.numClusters;
  const truthValues = Array.from(truth instanceof Tensor ? (truth.data as ArrayLike<number>) : (truth as ArrayLike<number>), Number);
  if (truthValues.length !== n) throw new InvalidInputError('truth', `expected ${n} labels, got ${truthValues.length}`);
  const batch = Math.min(o.batchSize, n);
  const program = await attackProgram(target, rowShape, batch, o.device, o.threads);
  try {

    // Per-element step scale and valid range in the network's input space.
    const scale = new Float32Array(rowSize).fill(1);
    const lo = new Float32Array(rowSize).fill(-Infinity);
    const hi = new Float32Array(rowSize).fill(Infinity);
    if (target.transform.kind === 'images') {
      const [ch, h, w] = target.transform.imageShape;
      const mean = target.transform.normalization?.mean ?? new Array<number>(ch).fill(0);
      const std = target.transform.normalization?.std ?? new Array<number>(ch).fill(1);
      for (let cc = 0; cc < ch; cc++) {
        for (let p = cc * h * w; p < (cc + 1) * h * w; p++) {
          scale[p] = 1 / std[cc]!;
          lo[p] = -mean[cc]! / std[cc]!;
          hi[p] = (1 - mean[cc]!) / std[cc]!;
        }
      }
    }

    const run = async (xs: Float32Array, ys: Float32Array): Promise<{ probs: Float32Array; grad: Float32Array }> => {
      const out = await program.session.run({
        input: new Tensor('float32', xs, [batch, ...rowShape]),
        target: new Tensor('float32', ys, [batch, k]),
      });
      return { probs: out.output!.data as Float32Array, grad: out.grad!.data as Float32Array };
    };

    // Clean predictions and their mapping to classes.
    const cleanPred = new Int32Array(n);
    for (let start = 0; start < n; start += batch) {
      const rows = Math.min(batch, n - start);
      const xs = new Float32Array(batch * rowSize);
      xs.set(x.data.subarray(start * rowSize, (start + rows) * rowSize));
      const { probs } = await run(xs, new Float32Array(batch * k));
      cleanPred.set(rowArgmax(probs, k).subarray(0, rows), start);
    }
    const acc = clusteringAccuracy(cleanPred, truthValues);
    const classToCluster = new Map<number, number>();
    const clusterToClass = new Map<number, number>();
    for (const p of acc.mapping) {
      classToCluster.set(p.class, p.cluster);
      clusterToClass.set(p.cluster, p.class);
    }
    const correct = (pred: number, i: number) => clusterToClass.get(pred) === truthValues[i];

    const points: AdversarialPoint[] = [];
    const steps = o.attack === 'fgsm' ? 1 : o.iterations;
    for (const eps of o.epsilons) {
      let right = 0;
      for (let start = 0; start < n; start += batch) {
        const rows = Math.min(batch, n - start);
        const x0 = new Float32Array(batch * rowSize);
        x0.set(x.data.subarray(start * rowSize, (start + rows) * rowSize));
        const ys = new Float32Array(batch * k);
        for (let r = 0; r < rows; r++) {
          const i = start + r;
          ys[r * k + (classToCluster.get(truthValues[i]!) ?? cleanPred[i]!)] = 1;
        }
        const xa = x0.slice();
        const alpha = eps / steps;
        for (let s = 0; s < steps && eps > 0; s++) {
          const { grad } = await run(xa, ys);
          for (let r = 0; r < rows; r++) {
            for (let p = 0; p < rowSize; p++) {
              const idx = r * rowSize + p;
              const g = grad[idx]!;
              const step = g > 0 ? alpha : g < 0 ? -alpha : 0;
              let v = xa[idx]! + step * scale[p]!;
              // Stay within epsilon of the clean input (BIM's clip) and within the valid input range.
              const radius = eps * scale[p]!;
              v = Math.min(Math.max(v, x0[idx]! - radius), x0[idx]! + radius);
              xa[idx] = Math.min(Math.max(v, lo[p]!), hi[p]!);
            }
          }
        }
        const { probs } = await run(xa, ys);
        const pred = rowArgmax(probs, k);
        for (let r = 0; r < rows; r++) if (correct(pred[r]!, start + r)) right++;
      }
      points.push({ epsilon: eps, accuracy: right / n });
    }
    return { attack: o.attack, iterations: steps, cleanAccuracy: acc.accuracy, points };
  } finally {
    await program.session.release();
  }
}
