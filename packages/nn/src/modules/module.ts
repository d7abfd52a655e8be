/**
 * The module system. A Module declares named parameters and buffers (shapes and initialisers, never values) and
 * children, and emits its forward computation into a graph through a ForwardContext. Values live outside the
 * module in a ModelState, so the same module builds a training step (parameters as graph inputs), an evaluation
 * graph and a standalone export (parameters as initializers) without copying weights around.
 *
 * Names follow PyTorch's state_dict: children and their tensors joined by dots (`layer1.0.conv1.weight`).
 */
import { GraphError, InvalidInputError, InvalidOptionError, NonFiniteError, Rng, Tensor, type GraphBuilder, type Value } from '@dc/core';
import type { Initializer } from './init.js';

export type NamedTensors = Map<string, Tensor<'float32'>>;

/** Parameter and buffer values of a model, keyed by their dotted names. */
export interface ModelState {
  parameters: NamedTensors;
  buffers: NamedTensors;
}

export interface ParameterSpec {
  shape: readonly number[];
  init: Initializer;
}

export interface BufferSpec {
  shape: readonly number[];
  init: Initializer;
}

/**
 * Where a module's tensors come from while a graph is built: graph inputs (training step, evaluation graph) or
 * initializers (export). Names are full dotted names.
 */
export interface ParameterHost {
  parameter(name: string, spec: ParameterSpec): Value;
  buffer(name: string, spec: BufferSpec): Value;
  /** Records the new value of a buffer (BatchNorm running statistics in training mode). */
  setBuffer(name: string, value: Value): void;
  /**
   * A float graph input of `shape` drawn by the trainer's Rng for every step (dropout masks, latent noise), so
   * training stays reproducible and resumable. Evaluation and export hosts refuse it.
   */
  random(name: string, shape: readonly number[], dist: RandomInput): Value;
}

/** What a random input holds: 0/1 with P(1) = 1 - p (a dropout keep-mask), or N(0, std^2) noise. */
export type RandomInput = { kind: 'bernoulli'; p: number } | { kind: 'normal'; std: number };

/** What a module sees while it emits its forward pass. */
export class ForwardContext {
  constructor(
    readonly g: GraphBuilder,
    /** Training mode (batch statistics, dropout) or evaluation mode. */
    readonly training: boolean,
    private readonly host: ParameterHost,
    private readonly owner: Module<never[], unknown>,
    /** Dotted prefix of this module's tensors ('' at the root, else 'name.'). */
    readonly prefix = '',
  ) {}

  /** A parameter of the current module by its local name. */
  param(local: string): Value {
    const spec = this.owner.ownParameters().get(local);
    if (!spec) throw new GraphError(`module '${this.prefix || '<root>'}' has no parameter '${local}'`);
    return this.host.parameter(this.prefix + local, spec);
  }

  /** A buffer of the current module (the latest value when it was already updated in this graph). */
  buffer(local: string): Value {
    const spec = this.owner.ownBuffers().get(local);
    if (!spec) throw new GraphError(`module '${this.prefix || '<root>'}' has no buffer '${local}'`);
    return this.host.buffer(this.prefix + local, spec);
  }

  setBuffer(local: string, value: Value): void {
    if (!this.owner.ownBuffers().has(local)) throw new GraphError(`module '${this.prefix || '<root>'}' has no buffer '${local}'`);
    this.host.setBuffer(this.prefix + local, value);
  }

  /** A 0/1 keep-mask (P(1) = 1 - p) fed by the trainer's Rng. */
  dropoutMask(local: string, shape: readonly number[], p: number): Value {
    return this.host.random(this.prefix + local, shape, { kind: 'bernoulli', p });
  }

  /** N(0, std^2) noise fed by the trainer's Rng. */
  noise(local: string, shape: readonly number[], std: number): Value {
    return this.host.random(this.prefix + local, shape, { kind: 'normal', std });
  }

  /** Runs a child module (registered under `name`) on `inputs`, with names scoped to it. */
  call<I extends unknown[], O>(name: string, ...inputs: I): O {
    const child = this.owner.children().get(name) as Module<I, O> | undefined;
    if (!child) throw new GraphError(`module '${this.prefix || '<root>'}' has no child '${name}'`);
    const ctx = new ForwardContext(this.g, this.training, this.host, child as unknown as Module<never[], unknown>, `${this.prefix}${name}.`);
    return this.g.scope(name, () => child.forward(ctx, ...inputs));
  }

  /** A context for another module at the same place (used by wrappers that forward to a module they hold). */
  static root<I extends unknown[], O>(g: GraphBuilder, training: boolean, host: ParameterHost, module: Module<I, O>, prefix = ''): ForwardContext {
    return new ForwardContext(g, training, host, module as unknown as Module<never[], unknown>, prefix);
  }
}

/** Base class of every layer and model. `I` are the forward inputs, `O` the output. */
export abstract class Module<I extends unknown[] = [Value], O = Value> {
  private readonly params = new Map<string, ParameterSpec>();
  private readonly bufs = new Map<string, BufferSpec>();
  private readonly kids = new Map<string, Module<never[], unknown>>();

  abstract forward(ctx: ForwardContext, ...inputs: I): O;

  protected registerParameter(name: string, shape: readonly number[], initializer: Initializer): void {
    this.checkName(name);
    this.params.set(name, { shape: [...shape], init: initializer });
  }

  protected registerBuffer(name: string, shape: readonly number[], initializer: Initializer): void {
    this.checkName(name);
    this.bufs.set(name, { shape: [...shape], init: initializer });
  }

  protected registerModule<M extends Module<never, unknown>>(name: string, module: M): M {
    this.checkName(name);
    if (!(module instanceof Module)) throw new InvalidInputError('module', `child '${name}' is not a Module`);
    this.kids.set(name, module as unknown as Module<never[], unknown>);
    return module;
  }

  private checkName(name: string): void {
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new InvalidOptionError(this.constructor.name, 'name', 'letters, digits and underscores', name);
    if (this.params.has(name) || this.bufs.has(name) || this.kids.has(name)) {
      throw new InvalidOptionError(this.constructor.name, 'name', 'a name not registered yet', name);
    }
  }

  ownParameters(): ReadonlyMap<string, ParameterSpec> {
    return this.params;
  }

  ownBuffers(): ReadonlyMap<string, BufferSpec> {
    return this.bufs;
  }

  children(): ReadonlyMap<string, Module<never[], unknown>> {
    return this.kids;
  }

  /** Every parameter with its full dotted name, in registration order (depth first). */
  namedParameters(prefix = ''): [string, ParameterSpec][] {
    const out: [string, ParameterSpec][] = [];
    for (const [k, v] of this.params) out.push([prefix + k, v]);
    for (const [k, m] of this.kids) out.push(...m.namedParameters(`${prefix}${k}.`));
    return out;
  }

  namedBuffers(prefix = ''): [string, BufferSpec][] {
    const out: [string, BufferSpec][] = [];
    for (const [k, v] of this.bufs) out.push([prefix + k, v]);
    for (const [k, m] of this.kids) out.push(...m.namedBuffers(`${prefix}${k}.`));
    return out;
  }

  /** The sub-module at a dotted path ('' is this module). */
  get(path: string): Module<never[], unknown> {
    if (path === '') return this as unknown as Module<never[], unknown>;
    let m: Module<never[], unknown> = this as unknown as Module<never[], unknown>;
    for (const part of path.split('.')) {
      const next = m.kids.get(part);
      if (!next) throw new InvalidInputError('path', `no sub-module '${path}' (at '${part}')`);
      m = next;
    }
    return m;
  }

  /** Total number of scalar parameters. */
  parameterCount(): number {
    return this.namedParameters().reduce((a, [, s]) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  }

  /**
   * Fresh parameter and buffer values. Parameters are drawn in registration order from one stream seeded by
   * `seed` (or the given Rng), so the same seed gives the same weights.
   */
  init(seed: number | Rng = 0): ModelState {
    const rng = typeof seed === 'number' ? new Rng(seed) : seed;
    const parameters: NamedTensors = new Map();
    const buffers: NamedTensors = new Map();
    for (const [name, spec] of this.namedParameters()) parameters.set(name, new Tensor('float32', spec.init(spec.shape, rng), spec.shape));
    for (const [name, spec] of this.namedBuffers()) buffers.set(name, new Tensor('float32', spec.init(spec.shape, rng), spec.shape));
    return { parameters, buffers };
  }
}

/** Checks that a state has exactly the model's tensors with the right shapes (all float32, all finite). */
export function checkState(model: Module<never[], unknown>, state: ModelState, argument = 'state'): void {
  const check = (kind: string, specs: [string, { shape: readonly number[] }][], values: NamedTensors) => {
    for (const [name, spec] of specs) {
      const t = values.get(name);
      if (!t) throw new InvalidInputError(argument, `missing ${kind} '${name}'`);
      if (t.dtype !== 'float32') throw new InvalidInputError(argument, `${kind} '${name}' must be float32, got ${t.dtype}`);
      if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
        throw new InvalidInputError(argument, `${kind} '${name}' has shape [${t.shape.join(', ')}], the model expects [${spec.shape.join(', ')}]`);
      }
      const data = t.data as Float32Array;
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v - v !== 0) throw new NonFiniteError(`${argument}: ${kind} '${name}'`, i, v);
      }
    }
    if (values.size !== specs.length) {
      const known = new Set(specs.map(([n]) => n));
      const extra = [...values.keys()].find((n) => !known.has(n));
      if (extra !== undefined) throw new InvalidInputError(argument, `unknown ${kind} '${extra}'`);
    }
  };
  check('parameter', model.namedParameters(), state.parameters);
  check('buffer', model.namedBuffers(), state.buffers);
}

/** A deep copy of a state (fresh buffers, safe to keep while training goes on). */
export function cloneState(state: ModelState): ModelState {
  const copy = (m: NamedTensors): NamedTensors => new Map([...m].map(([k, t]) => [k, t.clone()]));
  return { parameters: copy(state.parameters), buffers: copy(state.buffers) };
}
