/**
 * The training step as one ONNX graph: forward pass, loss, reverse-mode gradients (autodiff/gradients.ts) and
 * the optimizer update. Parameters, buffers, optimizer slots, the batch, random inputs (dropout masks, noise)
 * and per-step scalars (learning rate, bias corrections) go in; loss, metrics, new parameters, buffers and slots
 * come out. Shapes are static, so one compiled session serves the whole run.
 *
 * Graph names: inputs `param/<name>`, `buffer/<name>`, `state/<slot>/<name>`, `batch/<name>`, `random/<name>`,
 * `scalar/<name>`; outputs `loss`, `metric/<name>`, `output/<name>`, `param_out/<name>`, `buffer_out/<name>`,
 * `state_out/<slot>/<name>` (and `grad/<name>` when gradients are exposed).
 */
import { GraphBuilder, GraphError, InvalidInputError, InvalidOptionError, Value, type DType } from '@dc/core';
import { gradients, stopGradient, type GradientsOptions } from '../autodiff/gradients.js';
import { ForwardContext, type BufferSpec, type Module, type ParameterHost, type ParameterSpec, type RandomInput } from '../modules/module.js';
import type { Optimizer } from '../optim/optimizers.js';

export interface BatchSpec {
  dtype: DType;
  shape: readonly number[];
}

export interface RandomInputSpec {
  /** Graph input name (`random/...`). */
  input: string;
  shape: readonly number[];
  dist: RandomInput;
}

/** What a loss builder sees. */
export interface StepContext {
  readonly g: GraphBuilder;
  /** A batch input; its dtype and shape come from the batch the trainer saw first (or are given here). */
  input(name: string, dtype?: DType, shape?: readonly number[]): Value;
  /** A float scalar fed every step by the trainer's `scalars` option (e.g. a scheduled loss weight). */
  scalar(name: string): Value;
  /**
   * Runs the model (or the sub-module at dotted `module` path) on `inputs`, in training mode unless
   * `training: false` (e.g. a frozen backbone with BatchNorm in evaluation form).
   */
  forward<O = Value>(inputs: Value | readonly Value[], options?: { module?: string; training?: boolean }): O;
  /** [B] float: 1 for real samples, 0 for the padding of a padded last batch. */
  sampleWeight(): Value;
}

export interface StepLossResult {
  loss: Value;
  /** Scalars reported with the loss (e.g. the terms of a composite loss). */
  metrics?: Record<string, Value>;
  /** Tensors the caller wants back after each step (e.g. MoCo's keys for its queue). */
  outputs?: Record<string, Value>;
}

export type LossBuilder = (ctx: StepContext) => Value | StepLossResult;

export interface EmaSpec {
  /** Dotted prefix of the target network (e.g. 'key'); its parameters are not trained by the optimizer. */
  target: string;
  /** Dotted prefix of the online network with the same structure (e.g. 'query'). */
  source: string;
}

export interface StepGraphOptions {
  model: Module<never[], unknown>;
  optimizer: Optimizer;
  loss: LossBuilder;
  /** Shapes of the batch tensors. */
  batch: Readonly<Record<string, BatchSpec>>;
  /** Parameters left untouched: dotted names or prefixes ending in '.', or a predicate. */
  frozen?: readonly string[] | ((name: string) => boolean);
  /**
   * Momentum-encoder updates (MoCo): before the forward pass, target = m * target + (1 - m) * source with m the
   * scalar input `scalar/ema_momentum`; the forward pass then uses the updated target, as MoCo does.
   */
  ema?: EmaSpec;
  /** Clip the global gradient norm to this value (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
  /** Names of extra scalar inputs the loss builder may ask for. */
  scalarNames?: readonly string[];
  /** Also output each trained parameter's gradient as `grad/<name>` (inspection and tests; costs copies). */
  exposeGradients?: boolean;
  /** Speed-only choices of the autodiff (Conv gradient recipes); results are the same. */
  gradientOptions?: GradientsOptions;
}

/** The built graph and what its inputs and outputs mean. */
export interface StepGraph {
  graph: GraphBuilder;
  /** Parameters the optimizer updates (inputs and outputs). */
  trained: string[];
  /** Parameters read but not updated. */
  frozen: string[];
  /** EMA targets (inputs and outputs, updated in-graph). */
  emaTargets: string[];
  /** Buffers read (inputs). */
  buffersIn: string[];
  /** Buffers written (outputs). */
  buffersOut: string[];
  randomInputs: RandomInputSpec[];
  batchInputs: string[];
  /** Scalar input names (without the `scalar/` prefix): optimizer scalars, then ema_momentum, then the user's. */
  scalarInputs: string[];
  metricNames: string[];
  outputNames: string[];
  usesSampleWeight: boolean;
  gradientsExposed: boolean;
}

export function frozenPredicate(frozen: StepGraphOptions['frozen']): (name: string) => boolean {
  if (!frozen) return () => false;
  if (typeof frozen === 'function') return frozen;
  const list = [...frozen];
  return (name) => list.some((f) => (f.endsWith('.') ? name.startsWith(f) : name === f || name.startsWith(`${f}.`)));
}

function prefixOf(p: string): string {
  return p === '' || p.endsWith('.') ? p : `${p}.`;
}

/** Parameter host for training graphs: tensors are graph inputs, created on first use. */
class StepHost implements ParameterHost {
  readonly params = new Map<string, Value>();
  readonly paramInputs = new Map<string, Value>();
  readonly buffersIn = new Map<string, Value>();
  readonly buffersLatest = new Map<string, Value>();
  readonly randoms: RandomInputSpec[] = [];
  readonly emaOut = new Map<string, Value>();
  private readonly randomCount = new Map<string, number>();

  constructor(
    private readonly g: GraphBuilder,
    private readonly allParams: ReadonlyMap<string, ParameterSpec>,
    private readonly ema: EmaSpec | undefined,
    private readonly emaMomentum: () => Value,
  ) {}

  private input(name: string, spec: ParameterSpec): Value {
    let v = this.paramInputs.get(name);
    if (!v) {
      v = this.g.input(`param/${name}`, 'float32', spec.shape);
      this.paramInputs.set(name, v);
    }
    return v;
  }

  parameter(name: string, spec: ParameterSpec): Value {
    const known = this.params.get(name);
    if (known) return known;
    let v = this.input(name, spec);
    if (this.ema) {
      const t = prefixOf(this.ema.target);
      if (name.startsWith(t)) {
        const sourceName = prefixOf(this.ema.source) + name.slice(t.length);
        const sourceSpec = this.allParams.get(sourceName);
        if (!sourceSpec) throw new GraphError(`EMA target '${name}' has no source parameter '${sourceName}'`);
        const m = this.emaMomentum();
        const source = this.input(sourceName, sourceSpec);
        // target' = m * target + (1 - m) * source, written as target + (1 - m) * (source - target). The update
        // is not differentiated (MoCo runs it under no_grad): no gradient reaches the source through the target.
        const oneMinus = this.g.op('Sub', [this.g.constant(1), m]);
        v = stopGradient(this.g, this.g.op('Add', [v, this.g.op('Mul', [this.g.op('Sub', [source, v]), oneMinus])]));
        this.emaOut.set(name, v);
      }
    }
    this.params.set(name, v);
    return v;
  }

  buffer(name: string, spec: BufferSpec): Value {
    const latest = this.buffersLatest.get(name);
    if (latest) return latest;
    let v = this.buffersIn.get(name);
    if (!v) {
      v = this.g.input(`buffer/${name}`, 'float32', spec.shape);
      this.buffersIn.set(name, v);
    }
    return v;
  }

  setBuffer(name: string, value: Value): void {
    this.buffersLatest.set(name, value);
  }

  random(name: string, shape: readonly number[], dist: RandomInput): Value {
    // A module run twice in one step (two views) gets a fresh draw each time.
    const k = (this.randomCount.get(name) ?? 0) + 1;
    this.randomCount.set(name, k);
    const input = `random/${name}${k > 1 ? `#${k}` : ''}`;
    this.randoms.push({ input, shape: [...shape], dist });
    return this.g.input(input, 'float32', shape);
  }
}

/**
 * Removes nodes whose outputs reach no graph output. ONNX Runtime runs every node of a model, used or not, and
 * some backward rules leave work behind when they find a cheaper form (a Conv gradient absorbing the per-channel
 * scale that ends the BatchNorm gradient leaves that Mul unused).
 */
function pruneDeadNodes(g: GraphBuilder): void {
  const needed = new Set<Value>(g.outputs);
  const keep = new Array<boolean>(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.outputs.some((o) => needed.has(o))) continue;
    keep[i] = true;
    for (const v of node.inputs) if (v) needed.add(v);
  }
  let j = 0;
  for (let i = 0; i < g.nodes.length; i++) if (keep[i]) g.nodes[j++] = g.nodes[i]!;
  g.nodes.length = j;
}

/** Builds the training-step graph. */
export function buildStepGraph(options: StepGraphOptions): StepGraph {
  const { model, optimizer } = options;
  const g = new GraphBuilder({ name: 'train_step' });
  const allParams = new Map(model.namedParameters());
  const isFrozen = frozenPredicate(options.frozen);
  // A frozen name that matches no parameter is a typo that would freeze nothing.
  if (Array.isArray(options.frozen)) {
    const names = [...allParams.keys()];
    for (const f of options.frozen as readonly string[]) {
      if (!names.some((n) => frozenPredicate([f])(n))) throw new InvalidOptionError('buildStepGraph', 'frozen', 'parameter names or module prefixes of the model', f);
    }
  }
  const scalarValues = new Map<string, Value>();
  const scalarInput = (name: string) => {
    let v = scalarValues.get(name);
    if (!v) {
      v = g.input(`scalar/${name}`, 'float32', []);
      scalarValues.set(name, v);
    }
    return v;
  };
  // Optimizer scalars first, so their order is fixed whatever the loss builder does.
  for (const s of optimizer.scalarNames) scalarInput(s);
  if (options.ema) {
    const t = prefixOf(options.ema.target);
    const s = prefixOf(options.ema.source);
    if (t === s || t.startsWith(s) || s.startsWith(t)) {
      throw new InvalidOptionError('buildStepGraph', 'ema', 'disjoint target and source prefixes', `${options.ema.target} / ${options.ema.source}`);
    }
    if (![...allParams.keys()].some((n) => n.startsWith(t))) throw new InvalidOptionError('buildStepGraph', 'ema.target', 'a prefix of some parameters', options.ema.target);
  }
  const host = new StepHost(g, allParams, options.ema, () => scalarInput('ema_momentum'));
  const userScalars = new Set(options.scalarNames ?? []);
  const batchValues = new Map<string, Value>();
  let sampleWeight: Value | null = null;

  const ctx: StepContext = {
    g,
    input(name, dtype, shape) {
      const spec = options.batch[name];
      if (!spec) throw new InvalidInputError('batch', `the loss asks for batch input '${name}', the batch has ${Object.keys(options.batch).map((k) => `'${k}'`).join(', ') || 'none'}`);
      if (dtype !== undefined && dtype !== spec.dtype) throw new InvalidInputError('batch', `input '${name}' is ${spec.dtype}, the loss expects ${dtype}`);
      if (shape !== undefined && (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i]))) {
        throw new InvalidInputError('batch', `input '${name}' has shape [${spec.shape.join(', ')}], the loss expects [${shape.join(', ')}]`);
      }
      let v = batchValues.get(name);
      if (!v) {
        v = g.input(`batch/${name}`, spec.dtype, spec.shape);
        batchValues.set(name, v);
      }
      return v;
    },
    scalar(name) {
      if (!userScalars.has(name)) throw new InvalidInputError('scalar', `'${name}' is not among the declared scalars (${[...userScalars].join(', ') || 'none'})`);
      return scalarInput(name);
    },
    forward<O>(inputs: Value | readonly Value[], o: { module?: string; training?: boolean } = {}): O {
      const path = o.module ?? '';
      const module = model.get(path);
      const fctx = ForwardContext.root(g, o.training ?? true, host, module, path === '' ? '' : `${path}.`);
      const args = Array.isArray(inputs) ? inputs : [inputs];
      return g.scope(path === '' ? 'model' : path, () => (module.forward as (c: ForwardContext, ...a: Value[]) => O)(fctx, ...args));
    },
    sampleWeight() {
      if (!sampleWeight) {
        const first = Object.values(options.batch)[0];
        if (!first || first.shape.length === 0) throw new InvalidInputError('batch', 'sampleWeight needs a batch input with a batch dimension');
        sampleWeight = g.input('batch/__sample_weight', 'float32', [first.shape[0]!]);
      }
      return sampleWeight;
    },
  };

  const built = options.loss(ctx);
  const result: StepLossResult = built instanceof Value ? { loss: built } : built;
  const loss = result.loss;
  if (loss.rank !== 0 || loss.dtype !== 'float32') throw new GraphError(`the loss must be a float32 scalar, got ${loss.toString()}`);

  const emaTargetNames = new Set(host.emaOut.keys());
  const inTarget = (name: string) => options.ema !== undefined && name.startsWith(prefixOf(options.ema.target));
  const used = [...host.paramInputs.keys()];
  const trained = used.filter((n) => !isFrozen(n) && !inTarget(n));
  const frozen = used.filter((n) => (isFrozen(n) || inTarget(n)) && !emaTargetNames.has(n));

  g.output(loss, 'loss');
  const trainedValues = trained.map((n) => host.params.get(n) ?? host.paramInputs.get(n)!);
  let grads = trained.length > 0 ? gradients(g, loss, trainedValues, options.gradientOptions ?? {}) : [];

  // Global gradient norm: always reported (it also catches a NaN gradient under a finite loss).
  const sumSquares = grads.map((gr) => g.op('ReduceSumSquare', [gr], { keepdims: 0 }));
  const gradNorm = sumSquares.length === 0 ? g.constant(0) : g.op('Sqrt', [sumSquares.length === 1 ? sumSquares[0]! : g.op('Sum', sumSquares)]);
  if (options.clipGradNorm !== undefined) {
    if (!(options.clipGradNorm > 0)) throw new InvalidOptionError('buildStepGraph', 'clipGradNorm', 'a number > 0', options.clipGradNorm);
    // torch: coef = min(1, max_norm / (norm + 1e-6)).
    const coef = g.op('Min', [g.constant(1), g.op('Div', [g.constant(options.clipGradNorm), g.op('Add', [gradNorm, 1e-6])])]);
    grads = grads.map((gr) => g.op('Mul', [gr, coef]));
  }
  g.output(gradNorm, 'metric/grad_norm');
  if (options.exposeGradients) trained.forEach((name, i) => g.output(grads[i]!, `grad/${name}`));
  const metricNames = ['grad_norm'];
  for (const [name, v] of Object.entries(result.metrics ?? {})) {
    if (v.rank !== 0) throw new GraphError(`metric '${name}' must be a scalar, got ${v.toString()}`);
    if (name === 'grad_norm') throw new InvalidOptionError('buildStepGraph', 'metrics', "names other than 'grad_norm'", name);
    g.output(v, `metric/${name}`);
    metricNames.push(name);
  }
  const outputNames: string[] = [];
  for (const [name, v] of Object.entries(result.outputs ?? {})) {
    g.output(v, `output/${name}`);
    outputNames.push(name);
  }

  const scalars: Record<string, Value> = {};
  for (const s of optimizer.scalarNames) scalars[s] = scalarValues.get(s)!;
  trained.forEach((name, i) => g.scope(`optim/${name}`, () => {
    const weight = host.paramInputs.get(name)!;
    const spec = allParams.get(name)!;
    const slots: Record<string, Value> = {};
    for (const slot of optimizer.slots) slots[slot] = g.input(`state/${slot}/${name}`, 'float32', spec.shape);
    const names = { weight: `param_out/${name}`, slots: Object.fromEntries(optimizer.slots.map((s) => [s, `state_out/${s}/${name}`])) };
    const upd = optimizer.update(g, { name, weight, grad: grads[i]!, slots, scalars, decay: optimizer.decays(name), names });
    // Outputs the optimizer already named are listed as they are; anything else goes through a renaming Identity.
    const emit = (v: Value, wanted: string) => (v.name === wanted && v.producer ? g.output(v) : g.output(v, wanted));
    emit(upd.weight, names.weight);
    for (const slot of optimizer.slots) emit(upd.slots[slot]!, names.slots[slot]!);
  }));
  for (const [name, v] of host.emaOut) g.output(v, `param_out/${name}`);
  for (const [name, v] of host.buffersLatest) g.output(v, `buffer_out/${name}`);
  pruneDeadNodes(g);

  return {
    graph: g,
    trained,
    frozen,
    emaTargets: [...host.emaOut.keys()],
    buffersIn: [...host.buffersIn.keys()],
    buffersOut: [...host.buffersLatest.keys()],
    randomInputs: host.randoms,
    batchInputs: [...batchValues.keys()],
    scalarInputs: [...scalarValues.keys()],
    metricNames,
    outputNames,
    usesSampleWeight: sampleWeight !== null,
    gradientsExposed: options.exposeGradients ?? false,
  };
}
