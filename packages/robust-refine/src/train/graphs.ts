/**
 * The graphs of RUC's retraining, built from @dc/nn's building blocks:
 *   - the training step of one network (Eq. 10): L_Xs + L_X + lambda_u L_U, with
 *       L_Xs = CE(label-smoothed targets, f(strongly augmented clean rows)),
 *       L_X  = CE(mixed targets, f(mixed rows from the clean pool)),
 *       L_U  = squared error between softmax(f(mixed rows from the unclean pool)) and their mixed targets,
 *     then its gradients and the SGD update, all in one ONNX graph (nn's buildStepGraph);
 *   - an evaluation forward pass with weights as inputs, so one session serves both networks at any step.
 */
import { GraphBuilder, GraphError, InvalidInputError, Tensor, Value, type Rng, type Runtime, type Session } from '@dc/core';
import {
  StepRunner,
  buildForwardGraph,
  buildStepGraph,
  crossEntropy,
  drawRandom,
  mse,
  weightFeeds,
  type ForwardGraph,
  type ModelState,
  type Module,
  type Optimizer,
  type StepGraph,
} from '@dc/nn';

export interface StepShapes {
  /** Shape of one input row. */
  rowShape: readonly number[];
  numClusters: number;
  /** Rows of the mixed pool taken from clean samples (M * Bx); the rest (M * Bu) come from unclean samples. */
  labeledRows: number;
  unlabeledRows: number;
  /** Strongly augmented clean rows (Bx); 0 drops L_Xs (the "no label smoothing" ablation). */
  strongRows: number;
}

function sliceRows(g: GraphBuilder, x: Value, start: number, end: number): Value {
  return g.op('Slice', [x, g.int64s([start]), g.int64s([end]), g.int64s([0])]);
}

/**
 * The step graph of one network. Batch inputs: `mixed` [P, ...row] and `targets` [P, K] (clean rows first),
 * `strong` [Bx, ...row] and `smoothed` [Bx, K]; scalar `lambda_u`. Metrics: the three loss terms.
 */
export function buildRucStep(model: Module, optimizer: Optimizer, s: StepShapes): StepGraph {
  const pool = s.labeledRows + s.unlabeledRows;
  return buildStepGraph({
    model: model as Module<never[], unknown>,
    optimizer,
    batch: stepBatchSpec(s),
    scalarNames: ['lambda_u'],
    loss: (ctx) => {
      const g = ctx.g;
      // One forward pass over the whole mixed pool, so BatchNorm sees clean and unclean rows together.
      const logits = ctx.forward<Value>(ctx.input('mixed'));
      const targets = ctx.input('targets');
      const lx = crossEntropy(g, sliceRows(g, logits, 0, s.labeledRows), sliceRows(g, targets, 0, s.labeledRows));
      // MixMatch's L_U: the mean over rows and classes (Eq. 7 divided by K, as MixMatch defines it).
      const pu = g.op('Softmax', [sliceRows(g, logits, s.labeledRows, pool)], { axis: 1 });
      const lu = mse(g, pu, sliceRows(g, targets, s.labeledRows, pool));
      let loss = g.op('Add', [lx, g.op('Mul', [ctx.scalar('lambda_u'), lu])]);
      const metrics: Record<string, Value> = { l_x: lx, l_u: lu };
      if (s.strongRows > 0) {
        const ls = crossEntropy(g, ctx.forward<Value>(ctx.input('strong')), ctx.input('smoothed'));
        loss = g.op('Add', [loss, ls]);
        metrics.l_xs = ls;
      }
      return { loss, metrics };
    },
  });
}

export async function createStepRunner(model: Module, optimizer: Optimizer, s: StepShapes, runtime: Runtime, key: string): Promise<StepRunner> {
  return StepRunner.create(buildRucStep(model, optimizer, s), optimizer, stepBatchSpec(s), runtime, key);
}

/** Shapes of the step's batch inputs. */
export function stepBatchSpec(s: StepShapes) {
  const pool = s.labeledRows + s.unlabeledRows;
  const spec: Record<string, { dtype: 'float32'; shape: number[] }> = {
    mixed: { dtype: 'float32', shape: [pool, ...s.rowShape] },
    targets: { dtype: 'float32', shape: [pool, s.numClusters] },
  };
  if (s.strongRows > 0) {
    spec.strong = { dtype: 'float32', shape: [s.strongRows, ...s.rowShape] };
    spec.smoothed = { dtype: 'float32', shape: [s.strongRows, s.numClusters] };
  }
  return spec;
}

/**
 * A forward pass of fixed batch size with weights fed per call, so one session serves both networks. In
 * evaluation mode BatchNorm uses running statistics; in training mode the batch's statistics, as the networks
 * see data while they train (used for guessing labels, where running statistics still lag behind early on).
 */
export class ForwardRunner {
  private constructor(
    readonly session: Session,
    readonly batch: number,
    readonly rowShape: readonly number[],
    readonly training: boolean,
    private readonly graph: ForwardGraph,
  ) {}

  static async create(model: Module, rowShape: readonly number[], batch: number, runtime: Runtime, key: string, training = false): Promise<ForwardRunner> {
    let built: ForwardGraph | undefined;
    const build = () => {
      built = buildForwardGraph(model as Module<never[], unknown>, {
        name: training ? 'ruc_guess' : 'ruc_eval',
        weights: 'inputs',
        training,
        inputs: [['input', { dtype: 'float32', shape: [batch, ...rowShape] }]],
      });
      if (built.outputs.length !== 1 || built.outputs[0] !== 'output') throw new GraphError('the network must have one output: the logits [N, K]');
      return built.graph;
    };
    const session = await runtime.sessionFor(key, build);
    if (!built) build();
    return new ForwardRunner(session, batch, rowShape, training, built!);
  }

  /**
   * Softmax probabilities of `x` ([rows, ...row]) as [rows * K]. In evaluation mode short batches are padded;
   * in training mode the batch must be full (padding would change the batch statistics).
   */
  async probabilities(state: ModelState, x: Tensor<'float32'>, rng?: Rng): Promise<Float32Array> {
    const rows = x.shape[0]!;
    let input = x;
    if (rows !== this.batch) {
      if (this.training || rows > this.batch) throw new InvalidInputError('x', `expected ${this.batch} rows, got ${rows}`);
      const padded = Tensor.zeros([this.batch, ...this.rowShape]);
      padded.data.set(x.data);
      input = padded;
    }
    const feeds: Record<string, Tensor> = { input, ...weightFeeds(this.graph, state) };
    if (this.graph.random.length > 0) {
      if (!rng) throw new InvalidInputError('rng', 'this network draws random inputs in training mode; pass an Rng');
      for (const r of this.graph.random) feeds[r.input] = drawRandom(r, rng);
    }
    const out = await this.session.run(feeds);
    const logits = out.output!.data as Float32Array;
    const k = logits.length / this.batch;
    return softmaxRows(logits.subarray(0, rows * k), k);
  }
}

/** Row-wise softmax of [rows * K] logits. */
export function softmaxRows(logits: ArrayLike<number>, k: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let o = 0; o < logits.length; o += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[o + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(logits[o + j]! - max);
      out[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < k; j++) out[o + j]! /= sum;
  }
  return out;
}
