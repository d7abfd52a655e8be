/**
 * The fitted SPC ensemble as a classifier of new images: each member's encoder and pseudo-classifier give class
 * probabilities, each member's classes are mapped into the consensus label space (a fixed column permutation),
 * and the ensemble averages them. One module, so predict() and the exported .onnx are the same graph.
 */
import { Tensor, type Value } from '@dc/core';
import { ConvEncoder, MLP, Module, type ForwardContext, type ModelState, type NamedTensors } from '@dc/nn';
import type { SpcNetworkConfig } from './network.js';

/** Encoder + pseudo-classifier of one member (parameter names as in SpcNetwork, without the decoder). */
class MemberClassifier extends Module<[Value], Value> {
  constructor(config: SpcNetworkConfig) {
    super();
    const { inputShape, latentDim, baseChannels, negativeSlope } = config;
    this.registerModule('encoder', new ConvEncoder({ inputShape, latentDim, baseChannels, negativeSlope }));
    this.registerModule('head', new MLP({ inputDim: latentDim, hidden: [config.headHidden], outputDim: config.nClusters }));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.call<[Value], Value>('head', ctx.call<[Value], Value>('encoder', x));
  }
}

export interface EnsembleOutputs {
  /** [N, K] mean of the members' aligned class probabilities. */
  probabilities: Value;
  /** [N] int64 argmax of the probabilities (export only: the engine's predict() collects float outputs). */
  labels?: Value;
  [key: string]: Value | undefined;
}

export class SpcEnsembleClassifier extends Module<[Value], EnsembleOutputs> {
  readonly members: number;
  /** Per member: consensus label of each of its head's classes. */
  readonly classMaps: readonly Int32Array[];

  readonly withLabels: boolean;

  constructor(config: SpcNetworkConfig, classMaps: readonly Int32Array[], options: { withLabels?: boolean } = {}) {
    super();
    this.withLabels = options.withLabels ?? false;
    this.members = classMaps.length;
    this.classMaps = classMaps.map((m) => Int32Array.from(m));
    for (let i = 0; i < this.members; i++) this.registerModule(`member${i}`, new MemberClassifier(config));
  }

  forward(ctx: ForwardContext, x: Value): EnsembleOutputs {
    const { g } = ctx;
    const k = this.classMaps[0]!.length;
    let sum: Value | null = null;
    for (let i = 0; i < this.members; i++) {
      const logits = ctx.call<[Value], Value>(`member${i}`, x);
      const probs = g.op('Softmax', [logits], { axis: 1 });
      // Column j of the aligned probabilities is the head class mapped to consensus label j.
      const inverse = new Array<number>(k);
      this.classMaps[i]!.forEach((label, cls) => (inverse[label] = cls));
      const aligned = g.op('Gather', [probs, g.constant(Tensor.fromArray(inverse, 'int64'))], { axis: 1 });
      sum = sum === null ? aligned : g.op('Add', [sum, aligned]);
    }
    const probabilities = g.op('Div', [sum!, g.constant(this.members)]);
    if (!this.withLabels) return { probabilities };
    return { probabilities, labels: g.op('ArgMax', [probabilities], { axis: 1, keepdims: 0 }) };
  }
}

/** The classifier's state from the members' SpcNetwork states (decoders dropped, names prefixed). */
export function ensembleState(states: readonly ModelState[]): ModelState {
  const parameters: NamedTensors = new Map();
  const buffers: NamedTensors = new Map();
  states.forEach((s, i) => {
    for (const [name, t] of s.parameters) if (!name.startsWith('decoder.')) parameters.set(`member${i}.${name}`, t);
    for (const [name, t] of s.buffers) if (!name.startsWith('decoder.')) buffers.set(`member${i}.${name}`, t);
  });
  return { parameters, buffers };
}
