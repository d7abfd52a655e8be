/**
 * Re-estimates the BatchNorm running statistics of a model from data: each layer's running mean and variance
 * become the average, over the given batches, of its batch mean and unbiased batch variance in a training-mode
 * forward pass (the cumulative average of torch.optim.swa_utils.update_bn).
 *
 * Why: running statistics follow whatever the model was trained on. A model trained on augmented or mixed inputs
 * (RandAugment, MixMatch) keeps statistics of those inputs and evaluates plain inputs with a mismatched
 * normalisation; re-estimating them on the inputs it will be evaluated on removes that mismatch. Parameters are
 * untouched.
 */
import { DEVICES, GraphError, InvalidInputError, Rng, ShapeError, Tensor, c, getRuntime, validateOptions, type Device, type Runtime, type Session } from '@dc/core';
import type { ModelState, Module } from '../modules/module.js';
import { buildForwardGraph, weightFeeds, type ForwardGraph } from './forward.js';
import { modelId } from './predict.js';
import { drawRandom } from './runner.js';

export interface RecalibrateOptions {
  /** Dotted path of a sub-module to run (default the whole model). */
  module?: string;
  /** Draws the random inputs of a training-mode pass (dropout masks, noise); needed only when the model has some. */
  rng?: Rng;
  runtime?: Runtime;
  device?: Device;
  threads?: number;
}

/** The momentum of the module that owns `buffer` (full name 'path.running_mean' -> module 'path'). */
function momentumOf(model: Module<never[], unknown>, buffer: string): number {
  const dot = buffer.lastIndexOf('.');
  const owner = model.get(dot < 0 ? '' : buffer.slice(0, dot)) as { momentum?: unknown };
  const m = owner.momentum;
  if (typeof m !== 'number' || !(m >= 0 && m <= 1)) {
    throw new GraphError(`buffer '${buffer}' is written by a module without a BatchNorm momentum; only BatchNorm statistics can be re-estimated`);
  }
  return m;
}

const graphs = new WeakMap<object, ForwardGraph>();

/**
 * A copy of `state` whose BatchNorm running statistics are estimated from `batches` (each [B, ...row], all of one
 * shape; B > 1). Layers with momentum 0 (statistics frozen) keep theirs.
 */
export async function recalibrateBatchNorm(
  model: Module<never[], unknown>,
  state: ModelState,
  batches: Iterable<Tensor>,
  options: RecalibrateOptions = {},
): Promise<ModelState> {
  const o = validateOptions('recalibrateBatchNorm', options, {
    module: c.string(),
    rng: c.optional(c.instanceOf(Rng)),
    runtime: c.optional(c.object<Runtime>()),
    device: c.optional(c.oneOf(DEVICES)),
    threads: c.int({ min: 0 }),
  }, { module: '', threads: 0 });
  const runtime = o.runtime ?? (await getRuntime({ device: o.device ?? 'cpu', threads: o.threads }));
  const sums = new Map<string, Float64Array>();
  let shape: readonly number[] | null = null;
  let graph: ForwardGraph | null = null;
  let session: Session | null = null;
  let momenta = new Map<string, number>();
  let count = 0;
  for (const x of batches) {
    if (!(x instanceof Tensor) || x.rank < 2) throw new InvalidInputError('batches', 'each batch must be a Tensor [B, ...row]');
    if (shape === null) {
      shape = x.shape;
      if (shape[0]! < 2) throw new InvalidInputError('batches', 'a batch needs at least 2 rows for a batch variance');
      const batchShape = [...shape];
      const key = `@dc/nn:bn-stats:${modelId(model)}:${o.module}:${x.dtype}[${batchShape.join(',')}]`;
      let built: ForwardGraph | undefined;
      const build = () => {
        built = buildForwardGraph(model, {
          name: 'bn_statistics',
          module: o.module,
          weights: 'inputs',
          training: true,
          outputBuffers: true,
          inputs: [['input', { dtype: x.dtype, shape: batchShape }]],
        });
        return built.graph;
      };
      session = await runtime.sessionFor(key, build);
      graph = graphs.get(session) ?? built ?? null;
      if (!graph) {
        build();
        graph = built!;
      }
      graphs.set(session, graph);
      momenta = new Map(graph.bufferOutputs.map((name) => [name, momentumOf(model, name)]));
    } else if (x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape![i])) {
      throw new ShapeError('batches', shape, x.shape, 'Every batch must have the shape of the first.');
    }
    const feeds: Record<string, Tensor> = { input: x, ...weightFeeds(graph!, state) };
    // Fed as zeros, each written statistic comes out as momentum * (batch statistic).
    for (const name of graph!.bufferOutputs) feeds[`buffer/${name}`] = Tensor.zeros(feeds[`buffer/${name}`]!.shape);
    if (graph!.random.length > 0) {
      if (!o.rng) throw new InvalidInputError('rng', 'this model draws random inputs in training mode; pass an Rng');
      for (const r of graph!.random) feeds[r.input] = drawRandom(r, o.rng);
    }
    const out = await session!.run(feeds);
    for (const name of graph!.bufferOutputs) {
      const v = out[`written/${name}`]!.data as Float32Array;
      let s = sums.get(name);
      if (!s) sums.set(name, (s = new Float64Array(v.length)));
      for (let i = 0; i < v.length; i++) s[i]! += v[i]!;
    }
    count++;
  }
  if (count === 0) throw new InvalidInputError('batches', 'needs at least one batch');
  const buffers = new Map(state.buffers);
  for (const [name, s] of sums) {
    const m = momenta.get(name)!;
    if (m === 0) continue;
    const t = new Float32Array(s.length);
    for (let i = 0; i < s.length; i++) t[i] = s[i]! / count / m;
    buffers.set(name, new Tensor('float32', t, state.buffers.get(name)!.shape));
  }
  return { parameters: state.parameters, buffers };
}

