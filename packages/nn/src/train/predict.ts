/** Batched evaluation-mode inference through the engine's forward graph (weights fed as inputs). */
import { DEVICES, InvalidInputError, ShapeError, Tensor, allocate, c, getRuntime, validateOptions, type Device, type Runtime, type Session } from '@dc/core';
import type { ModelState, Module } from '../modules/module.js';
import { buildForwardGraph, weightFeeds, type ForwardGraph } from './forward.js';

export interface PredictOptions {
  /** Rows per run (default 256); the last batch is padded and the padding dropped. */
  batchSize?: number;
  /** Dotted path of a sub-module to run (e.g. 'encoder'). */
  module?: string;
  runtime?: Runtime;
  device?: Device;
  threads?: number;
}

const ids = new WeakMap<object, number>();
let nextId = 0;

/** A stable per-process id of a model instance (session cache keys). */
export function modelId(model: object): number {
  let id = ids.get(model);
  if (id === undefined) ids.set(model, (id = ++nextId));
  return id;
}

/**
 * Releases the sessions that `predict` and `recalibrateBatchNorm` compiled and cached for `model` in `runtime`
 * (one per batch size, sub-module and input spec); returns how many. A later call compiles them again.
 */
export async function releaseModelSessions(model: object, runtime: Runtime): Promise<number> {
  const id = modelId(model);
  return (await runtime.releaseMatching(`@dc/nn:eval:${id}:`)) + (await runtime.releaseMatching(`@dc/nn:bn-stats:${id}:`));
}

export interface EvalProgram {
  session: Session;
  graph: ForwardGraph;
}

/** The cached evaluation session of a model for inputs of the given row shapes and batch size. */
export async function evalProgram(
  model: Module<never[], unknown>,
  runtime: Runtime,
  inputs: readonly { dtype: Tensor['dtype']; rowShape: readonly number[] }[],
  batch: number,
  module = '',
): Promise<EvalProgram> {
  const key = `@dc/nn:eval:${modelId(model)}:${module}:${batch}:${inputs.map((i) => `${i.dtype}[${i.rowShape.join(',')}]`).join(';')}`;
  let graph: ForwardGraph | undefined;
  const build = () => {
    graph = buildForwardGraph(model, {
      name: 'eval',
      module,
      weights: 'inputs',
      inputs: inputs.map((x, i) => [`input/${i}`, { dtype: x.dtype, shape: [batch, ...x.rowShape] }] as const),
    });
    return graph.graph;
  };
  const session = await runtime.sessionFor(key, build);
  const cached = graphs.get(session);
  if (cached) return { session, graph: cached };
  if (!graph) build();
  graphs.set(session, graph!);
  return { session, graph: graph! };
}
const graphs = new WeakMap<Session, ForwardGraph>();

/**
 * Runs `model` (or a sub-module) in evaluation mode over every row of `inputs` (one tensor per forward
 * argument, same number of rows). Returns the outputs concatenated over rows: key 'output' for a model with one
 * output, else the output's keys (or indices).
 */
export async function predict(
  model: Module<never[], unknown>,
  state: ModelState,
  inputs: Tensor | readonly Tensor[],
  options: PredictOptions = {},
): Promise<Record<string, Tensor<'float32'>>> {
  const o = validateOptions('predict', options, {
    batchSize: c.int({ min: 1 }),
    module: c.string(),
    runtime: c.optional(c.object<Runtime>()),
    device: c.optional(c.oneOf(DEVICES)),
    threads: c.int({ min: 0 }),
  }, { batchSize: 256, module: '', threads: 0 });
  const xs = Array.isArray(inputs) ? (inputs as Tensor[]) : [inputs as Tensor];
  if (xs.length === 0 || !xs.every((x) => x instanceof Tensor)) throw new InvalidInputError('inputs', 'expected a Tensor or an array of Tensors');
  const n = xs[0]!.shape[0];
  if (n === undefined || n === 0) throw new InvalidInputError('inputs', 'needs at least one row');
  for (const [i, x] of xs.entries()) {
    if (x.shape[0] !== n) throw new ShapeError(`inputs[${i}]`, [n, '...'], x.shape, 'Every input needs the same number of rows.');
  }
  const runtime = o.runtime ?? (await getRuntime({ device: o.device ?? 'cpu', threads: o.threads }));
  const batch = Math.min(o.batchSize, n);
  const specs = xs.map((x) => ({ dtype: x.dtype, rowShape: x.shape.slice(1) }));
  const { session, graph } = await evalProgram(model, runtime, specs, batch, o.module);
  const weights = weightFeeds(graph, state);
  const results: Record<string, Tensor<'float32'>> = {};
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const feeds: Record<string, Tensor> = { ...weights };
    xs.forEach((x, i) => {
      let rows = x.rows(start, end);
      if (end - start < batch) {
        const padded = allocate(x.dtype, batch * x.rowSize);
        (padded as Float32Array).set(rows.data as Float32Array);
        rows = new Tensor(x.dtype, padded, [batch, ...x.shape.slice(1)]);
      }
      feeds[`input/${i}`] = rows;
    });
    const out = await session.run(feeds);
    for (const name of graph.outputs) {
      const t = out[name]! as Tensor<'float32'>;
      const key = name === 'output' ? 'output' : name.slice('output/'.length);
      let acc = results[key];
      if (!acc) results[key] = acc = Tensor.zeros([n, ...t.shape.slice(1)]);
      acc.data.set(t.data.subarray(0, (end - start) * t.rowSize), start * t.rowSize);
    }
  }
  return results;
}
