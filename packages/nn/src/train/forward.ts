/**
 * Forward-only graphs: the evaluation graph of the engine (parameters and buffers as graph inputs, so one session
 * follows the weights as they train) and the standalone export (weights as initializers). Both run modules in
 * evaluation mode (BatchNorm uses running statistics, Dropout is the identity) unless a caller asks for a
 * training-mode forward pass with weights as inputs (e.g. RUC's label guessing).
 */
import { GraphBuilder, GraphError, InvalidInputError, Tensor, Value, type DType } from '@dc/core';
import { ForwardContext, type BufferSpec, type ModelState, type Module, type ParameterHost, type ParameterSpec, type RandomInput } from '../modules/module.js';
import type { RandomInputSpec } from './step.js';

export interface InputSpec {
  dtype: DType;
  /** Shape with the batch dimension first; a string is a symbolic dimension (e.g. 'N'). */
  shape: readonly (number | string)[];
}

export type ModelOutputs = Value | readonly Value[] | Readonly<Record<string, Value>>;

/** Output names of a forward result: 'output' for one value, 'output/<i>' or 'output/<key>' otherwise. */
export function outputEntries(out: unknown): [string, Value][] {
  if (out instanceof Value) return [['output', out]];
  if (Array.isArray(out)) return out.map((v, i) => [`output/${i}`, checkValue(v, String(i))]);
  if (out && typeof out === 'object') return Object.entries(out).map(([k, v]) => [`output/${k}`, checkValue(v, k)]);
  throw new GraphError('a model forward must return a Value, an array of Values or a record of Values');
}

function checkValue(v: unknown, name: string): Value {
  if (!(v instanceof Value)) throw new GraphError(`model output '${name}' is not a graph value`);
  return v;
}

/**
 * Weights as graph inputs. In training mode BatchNorm normalises with the batch's own statistics and its updated
 * running statistics are simply not output (a forward pass must not move them); random inputs (dropout masks,
 * noise) become graph inputs the caller draws, listed in `draws`.
 */
class InputHost implements ParameterHost {
  readonly params = new Map<string, Value>();
  readonly buffers = new Map<string, Value>();
  readonly draws: RandomInputSpec[] = [];
  /** Buffers written in training mode (BatchNorm's updated running statistics), when the caller asked for them. */
  readonly written = new Map<string, Value>();
  constructor(
    private readonly g: GraphBuilder,
    private readonly training: boolean,
    private readonly keepWritten = false,
  ) {}
  parameter(name: string, spec: ParameterSpec): Value {
    let v = this.params.get(name);
    if (!v) this.params.set(name, (v = this.g.input(`param/${name}`, 'float32', spec.shape)));
    return v;
  }
  buffer(name: string, spec: BufferSpec): Value {
    let v = this.buffers.get(name);
    if (!v) this.buffers.set(name, (v = this.g.input(`buffer/${name}`, 'float32', spec.shape)));
    return v;
  }
  setBuffer(name: string, value: Value): void {
    if (!this.training) throw new GraphError(`buffer '${name}' is written in evaluation mode`);
    if (this.keepWritten) this.written.set(name, value);
  }
  random(name: string, shape: readonly number[], dist: RandomInput): Value {
    if (!this.training) throw new GraphError(`'${name}' asks for a random input in evaluation mode`);
    const input = `random/${name}#${this.draws.length}`;
    this.draws.push({ input, shape: [...shape], dist });
    return this.g.input(input, 'float32', shape);
  }
}

class InitializerHost implements ParameterHost {
  private readonly values = new Map<string, Value>();
  constructor(private readonly g: GraphBuilder, private readonly state: ModelState) {}
  private get(kind: 'parameter' | 'buffer', name: string, shape: readonly number[]): Value {
    let v = this.values.get(name);
    if (v) return v;
    const t = (kind === 'parameter' ? this.state.parameters : this.state.buffers).get(name);
    if (!t) throw new InvalidInputError('state', `missing ${kind} '${name}'`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new InvalidInputError('state', `${kind} '${name}' has shape [${t.shape.join(', ')}], the model expects [${shape.join(', ')}]`);
    }
    v = this.g.initializer(name, t);
    this.values.set(name, v);
    return v;
  }
  parameter(name: string, spec: ParameterSpec): Value {
    return this.get('parameter', name, spec.shape);
  }
  buffer(name: string, spec: BufferSpec): Value {
    return this.get('buffer', name, spec.shape);
  }
  setBuffer(name: string): void {
    throw new GraphError(`buffer '${name}' is written in evaluation mode`);
  }
  random(name: string): Value {
    throw new GraphError(`'${name}' asks for a random input in evaluation mode`);
  }
}

export interface ForwardGraphOptions {
  /** Named model inputs (one per forward argument, in order). */
  inputs: readonly [string, InputSpec][];
  /** Dotted path of the sub-module to run (default the whole model). */
  module?: string;
  /** Where weights come from: graph inputs (engine) or initializers from `state` (export). */
  weights: 'inputs' | { state: ModelState };
  /**
   * Run the modules in training mode (default false): BatchNorm uses batch statistics without updating its
   * running statistics, random inputs become graph inputs (ForwardGraph.random). Only with weights 'inputs'.
   */
  training?: boolean;
  /**
   * With `training`, also output the updated value of every buffer the forward pass writes (BatchNorm's running
   * statistics), as 'written/<name>' (ForwardGraph.bufferOutputs). Used to re-estimate those statistics from data.
   */
  outputBuffers?: boolean;
  name?: string;
  /** 'engine' names outputs 'output' / 'output/<key>'; 'export' uses 'output', the keys, or 'output_<i>'. */
  naming?: 'engine' | 'export';
}

export interface ForwardGraph {
  graph: GraphBuilder;
  /** Parameter and buffer names read as graph inputs (engine mode). */
  parameters: string[];
  buffers: string[];
  /** Random inputs a training-mode graph reads (draw them with drawRandom); empty in evaluation mode. */
  random: RandomInputSpec[];
  /** Graph output names ('output' or 'output/<key>'). */
  outputs: string[];
  /** Names of the buffers output as 'written/<name>' (only with `outputBuffers`). */
  bufferOutputs: string[];
}

/** Builds an evaluation-mode forward graph of `model`. */
export function buildForwardGraph(model: Module<never[], unknown>, options: ForwardGraphOptions): ForwardGraph {
  const g = new GraphBuilder({ name: options.name ?? 'forward' });
  const path = options.module ?? '';
  const module = model.get(path);
  const training = options.training ?? false;
  if (training && options.weights !== 'inputs') throw new GraphError("a training-mode forward graph needs weights: 'inputs'");
  if (options.outputBuffers && !training) throw new GraphError('only a training-mode forward graph writes buffers to output');
  const host = options.weights === 'inputs' ? new InputHost(g, training, options.outputBuffers ?? false) : new InitializerHost(g, options.weights.state);
  const xs = options.inputs.map(([name, spec]) => g.input(name, spec.dtype, spec.shape));
  const ctx = ForwardContext.root(g, training, host, module, path === '' ? '' : `${path}.`);
  const out = g.scope(path === '' ? 'model' : path, () => (module.forward as (c: ForwardContext, ...a: Value[]) => unknown)(ctx, ...xs));
  let entries = outputEntries(out);
  if (options.naming === 'export') {
    entries = entries.map(([name, v]) => {
      if (name === 'output') return [name, v];
      const key = name.slice('output/'.length);
      return [/^\d+$/.test(key) ? `output_${key}` : key, v];
    });
  }
  for (const [name, v] of entries) g.output(v, name);
  const written = host instanceof InputHost ? [...host.written.keys()] : [];
  for (const name of written) g.output((host as InputHost).written.get(name)!, `written/${name}`);
  return {
    graph: g,
    parameters: host instanceof InputHost ? [...host.params.keys()] : [],
    buffers: host instanceof InputHost ? [...host.buffers.keys()] : [],
    random: host instanceof InputHost ? host.draws : [],
    outputs: entries.map(([n]) => n),
    bufferOutputs: written,
  };
}

/** Feeds for the weights of an engine-mode forward graph. */
export function weightFeeds(fg: ForwardGraph, state: ModelState): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const name of fg.parameters) {
    const t = state.parameters.get(name);
    if (!t) throw new InvalidInputError('state', `missing parameter '${name}'`);
    feeds[`param/${name}`] = t;
  }
  for (const name of fg.buffers) {
    const t = state.buffers.get(name);
    if (!t) throw new InvalidInputError('state', `missing buffer '${name}'`);
    feeds[`buffer/${name}`] = t;
  }
  return feeds;
}
