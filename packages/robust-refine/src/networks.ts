/**
 * The two networks RUC co-trains: a backbone and a linear head to K logits (`backbone.*`, `head.*`), built once as
 * a module; the two networks are two weight states of it. A pretrained encoder starts both backbones from the same
 * weights with freshly initialised heads (the paper's re-initialisation, supplementary A.2); without one, each
 * network starts from its own random initialisation.
 *
 * Default backbones are small enough for CPU training (the paper uses ResNet-18): a three-stage CNN for images
 * and a two-layer MLP for embeddings.
 */
import { InvalidInputError, InvalidOptionError, Rng, type Value } from '@dc/core';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  GlobalAvgPool2d,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  WithHead,
  type ForwardContext,
  type ModelState,
} from '@dc/nn';

/** A pretrained encoder to start both networks from. */
export interface EncoderSpec {
  /** Maps one input row batch to [N, outputDim] features. */
  module: Module;
  /** Feature width of the encoder's output. */
  outputDim: number;
  /** Its trained weights (names relative to the encoder); default: a fresh initialisation. */
  state?: ModelState;
}

/** Conv(3x3) -> BN -> ReLU stages with 2x2 max pooling between them, then global average pooling. */
export function smallCnn(channels: number, width = 32): { module: Module; outputDim: number } {
  const layers: Module[] = [];
  let cin = channels;
  const widths = [width, 2 * width, 4 * width];
  widths.forEach((cout, i) => {
    layers.push(new Conv2d(cin, cout, 3, { padding: 1, bias: false }), new BatchNorm2d(cout), new ReLU());
    if (i < widths.length - 1) layers.push(new MaxPool2d(2));
    cin = cout;
  });
  layers.push(new GlobalAvgPool2d());
  return { module: new Sequential(...layers), outputDim: 4 * width };
}

/** Linear -> BN -> ReLU, twice. */
export function smallMlp(inputDim: number, width = 256): { module: Module; outputDim: number } {
  const half = Math.max(2, width >> 1);
  const module = new Sequential(
    new Linear(inputDim, width, { bias: false }),
    new BatchNorm1d(width),
    new ReLU(),
    new Linear(width, half, { bias: false }),
    new BatchNorm1d(half),
    new ReLU(),
  );
  return { module, outputDim: half };
}

/** The classifier: backbone then a linear head. */
export function classifier(backbone: Module, featureDim: number, numClusters: number): Module {
  return new WithHead(backbone, new Linear(featureDim, numClusters));
}

/**
 * Initial weights of the networks, drawn one after another from `rng`; with an encoder state, every backbone
 * tensor is replaced by (a copy of) the pretrained one. Sequential draws, not a fork per network: `rng` is often
 * itself a fork, and a fork of a fork starts exactly where the grandparent's next fork would (fitRuc's second
 * network used to share its weights' stream with the BatchNorm calibration that way).
 */
export function initialStates(model: Module, count: number, rng: Rng, encoderState?: ModelState): ModelState[] {
  const states: ModelState[] = [];
  for (let i = 0; i < count; i++) {
    const s = model.init(rng);
    if (encoderState) {
      for (const [group, from, to] of [
        ['parameter', encoderState.parameters, s.parameters],
        ['buffer', encoderState.buffers, s.buffers],
      ] as const) {
        for (const [name, t] of from) {
          const key = `backbone.${name}`;
          const cur = to.get(key);
          if (!cur) throw new InvalidInputError('encoder.state', `the encoder has no ${group} '${name}'`);
          if (cur.shape.length !== t.shape.length || cur.shape.some((d, j) => d !== t.shape[j])) {
            throw new InvalidInputError('encoder.state', `${group} '${name}' has shape [${t.shape.join(', ')}], the encoder expects [${cur.shape.join(', ')}]`);
          }
          to.set(key, t.clone());
        }
      }
      for (const name of s.parameters.keys()) {
        if (name.startsWith('backbone.') && !encoderState.parameters.has(name.slice('backbone.'.length))) {
          throw new InvalidInputError('encoder.state', `missing parameter '${name.slice('backbone.'.length)}'`);
        }
      }
    }
    states.push(s);
  }
  return states;
}

/** Both networks in one module (`net0.*`, `net1.*`) whose output is their mean softmax: the exported ensemble. */
export class Ensemble extends Module<[Value], Value> {
  constructor(readonly member: Module, readonly members: number) {
    super();
    if (!Number.isInteger(members) || members < 1) throw new InvalidOptionError('Ensemble', 'members', 'an integer >= 1', members);
    for (let i = 0; i < members; i++) this.registerModule(`net${i}`, member);
  }

  forward(ctx: ForwardContext, x: Value): Value {
    const g = ctx.g;
    const probs = Array.from({ length: this.members }, (_, i) => g.op('Softmax', [ctx.call<[Value], Value>(`net${i}`, x)], { axis: 1 }));
    if (probs.length === 1) return probs[0]!;
    return g.op('Div', [g.op('Sum', probs), g.constant(this.members)]);
  }
}

/** The ensemble's state from the members' states. */
export function ensembleState(states: readonly ModelState[]): ModelState {
  const parameters = new Map<string, ModelState['parameters'] extends Map<string, infer T> ? T : never>();
  const buffers = new Map<string, ModelState['buffers'] extends Map<string, infer T> ? T : never>();
  states.forEach((s, i) => {
    for (const [k, t] of s.parameters) parameters.set(`net${i}.${k}`, t);
    for (const [k, t] of s.buffers) buffers.set(`net${i}.${k}`, t);
  });
  return { parameters, buffers };
}
