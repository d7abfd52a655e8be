/**
 * ONNX Runtime sessions, created and cached in one place. A Runtime is bound to one resolved device and thread
 * count; it compiles each model once (cached by key) and releases every session on `dispose()`.
 */
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { DcError, InvalidInputError, ShapeError } from '../errors.js';
import type { DeviceAttempt } from '../errors.js';
import { GraphBuilder, type ModelDescription } from '../graph/builder.js';
import { serializeModel } from '../graph/serialize.js';
import { Tensor, type DType } from '../tensor.js';
import { c, validateOptions } from '../validation.js';
import { DEVICES, executionProviders, resolveDevice, type Device, type ResolvedDevice } from './device.js';
import { lowerConvsToNchwc, nchwcBlockSize, NCHWC_DOMAIN } from './nchwc.js';
import { lowerConvsToWinograd, winogradConvLowerable } from './winograd.js';

export interface RuntimeOptions {
  /** 'auto' (default) tries cuda, then cpu; 'webgpu' only by name (see device.ts). */
  device?: Device;
  /** Intra-op threads; 0 (default) lets ONNX Runtime use one per physical core. */
  threads?: number;
  /** ONNX Runtime graph optimisation level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * CPU only: run convolutions that ONNX Runtime's blocked-layout (NCHWc) kernels support, and that are large
   * enough to gain, with those kernels (see nchwc.ts); measured 3-11% off a ResNet-18 training step and about 10%
   * off the convolutional autoencoder's. 'wide' (the default): only 3x3, stride-1 convolutions with at least 64
   * input and output channels, which a ResNet's stages have and SPC's strided autoencoders and the encoders
   * `pretrainEncoder` trains do not (RUC's default small CNN has one); true: all of them; false: none. The results
   * differ from the standard kernel's by float32 rounding, which the chaotic parts of a clustering pipeline (UMAP,
   * the exactly-K cut) can turn into different clusterings, so the other layers keep the standard kernel unless
   * asked.
   */
  blockedConvolutions?: boolean | 'wide';
  /**
   * CPU only: run each 3x3, stride-1, pad-1 convolution of at least 64 input and output channels on maps of at
   * most 8x8 by Winograd's F(4x4, 3x3) (see winograd.ts; 4x fewer multiply-adds): in a ResNet-18 training step the
   * forward convolutions of its last two stages and their input gradients. Default true. A layer's output differs
   * from the direct kernel's by about 2e-6 relative; a whole ResNet-18 step still matches PyTorch's as closely as
   * the direct kernels' (the fixture tests pass either way). The autoencoders and small networks of the
   * clustering pipelines have no such layer, so their results do not change. False keeps the direct kernels.
   */
  winogradConvolutions?: boolean;
  /** Called once with the device chosen and why others were skipped. */
  onDevice?: (device: ResolvedDevice, attempts: readonly DeviceAttempt[]) => void;
}

export type ModelSource = Uint8Array | ModelDescription | GraphBuilder;

export interface IOSpec {
  name: string;
  dtype: DType;
  shape: readonly (number | string)[];
}

/** A compiled model. `run` checks feeds against the declared inputs before ONNX Runtime sees them. */
export class Session {
  private released = false;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly IOSpec[],
    readonly outputs: readonly IOSpec[],
    readonly device: ResolvedDevice,
    /** How many of the model's Convs run on ONNX Runtime's blocked-layout CPU kernels (see `blockedConvolutions`). */
    readonly blockedConvolutions: number,
    /** How many of the model's Convs run by Winograd's F(4x4, 3x3) (see `winogradConvolutions`). */
    readonly winogradConvolutions: number,
    private readonly onRelease: () => void,
  ) {}

  get inputNames(): string[] {
    return this.inputs.map((i) => i.name);
  }

  get outputNames(): string[] {
    return this.outputs.map((o) => o.name);
  }

  /** Runs the model. Inputs are passed zero-copy; outputs come back as new tensors. */
  async run(feeds: Readonly<Record<string, Tensor>>, fetches?: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.released) throw new DcError('this session has been released');
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const spec of this.inputs) {
      const t = feeds[spec.name];
      if (!t) throw new InvalidInputError('feeds', `missing input '${spec.name}'`);
      if (t.dtype !== spec.dtype) throw new InvalidInputError('feeds', `input '${spec.name}' must be ${spec.dtype}, got ${t.dtype}`);
      const ok = t.shape.length === spec.shape.length && spec.shape.every((d, i) => typeof d === 'string' || d === t.shape[i]);
      if (!ok) throw new ShapeError(spec.name, spec.shape, t.shape);
      ortFeeds[spec.name] = t.toOrt();
    }
    for (const name of Object.keys(feeds)) {
      if (!this.inputs.some((s) => s.name === name)) throw new InvalidInputError('feeds', `the model has no input '${name}'`);
    }
    const result = fetches ? await this.session.run(ortFeeds, [...fetches]) : await this.session.run(ortFeeds);
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(result)) out[name] = Tensor.fromOrt(value);
    return out;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.onRelease();
    await this.session.release();
  }
}

function describe(model: ModelSource): ModelDescription | Uint8Array {
  return model instanceof GraphBuilder ? model.toModel() : model;
}

export class Runtime {
  private readonly sessions = new Map<string, Promise<Session>>();
  private disposed = false;

  private constructor(
    readonly device: ResolvedDevice,
    readonly threads: number,
    private readonly optimization: NonNullable<RuntimeOptions['optimization']>,
    private readonly blockedConvolutions: boolean | 'wide',
    private readonly winogradConvolutions: boolean,
  ) {}

  /** Resolves the device (probing it) and returns a runtime bound to it. */
  static async create(options: RuntimeOptions = {}): Promise<Runtime> {
    const o = validateOptions('Runtime.create', options, {
      device: c.oneOf(DEVICES),
      threads: c.int({ min: 0, max: 1024 }),
      optimization: c.oneOf(['disabled', 'basic', 'extended', 'all'] as const),
      blockedConvolutions: c.oneOf([true, false, 'wide'] as const),
      winogradConvolutions: c.bool(),
      onDevice: c.optional(c.func<(device: ResolvedDevice, attempts: readonly DeviceAttempt[]) => void>()),
    }, { device: 'auto', threads: 0, optimization: 'all', blockedConvolutions: 'wide', winogradConvolutions: true });
    const { device, attempts } = await resolveDevice(o.device);
    o.onDevice?.(device, attempts);
    return new Runtime(device, o.threads, o.optimization, o.blockedConvolutions, o.winogradConvolutions);
  }

  /**
   * A session for `model`, compiled once per key (without a key, a hash of the model bytes). IO specs come from
   * the description (builders and descriptions) or from the session's metadata (raw bytes).
   */
  session(model: ModelSource, key?: string): Promise<Session> {
    if (key !== undefined) return this.sessionFor(key, () => model);
    const described = describe(model);
    const bytes = described instanceof Uint8Array ? described : serializeModel(described);
    return this.sessionFor(createHash('sha1').update(bytes).digest('hex'), () => described);
  }

  /** The session cached under `key`, building and compiling the model only on the first call. */
  sessionFor(key: string, build: () => ModelSource): Promise<Session> {
    if (this.disposed) throw new DcError('this runtime has been disposed');
    let s = this.sessions.get(key);
    if (!s) {
      s = this.compile(describe(build()), key);
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  /** Whether a session is cached under `key`. */
  has(key: string): boolean {
    return this.sessions.has(key);
  }

  /** Releases the cached sessions whose keys start with `prefix` (e.g. one model's programs); returns how many. */
  async releaseMatching(prefix: string): Promise<number> {
    const matching = [...this.sessions].filter(([key]) => key.startsWith(prefix));
    // Each session removes its own key when released (a failed compilation already has).
    await Promise.all(matching.map(async ([, s]) => (await s.catch(() => null))?.release()));
    return matching.length;
  }

  private async compile(model: ModelDescription | Uint8Array, key: string): Promise<Session> {
    let bytes: Uint8Array;
    let inputs: IOSpec[] = [];
    let outputs: IOSpec[] = [];
    let blockedConvolutions = 0;
    let winogradConvolutions = 0;
    if (model instanceof Uint8Array) {
      bytes = model;
    } else {
      // Winograd first: the Convs it leaves may still go to the blocked kernels.
      const cpu = this.device === 'cpu';
      if (cpu && this.winogradConvolutions) winogradConvolutions = model.nodes.filter(winogradConvLowerable).length;
      const winograd = winogradConvolutions > 0 ? lowerConvsToWinograd(model) : model;
      const block = cpu && this.blockedConvolutions !== false ? await nchwcBlockSize() : 0;
      const lowered = lowerConvsToNchwc(winograd, block, { wideOnly: this.blockedConvolutions === 'wide' });
      blockedConvolutions = lowered.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv').length;
      bytes = serializeModel(lowered);
      inputs = model.inputs.map((v) => ({ ...v }));
      outputs = model.outputs.map((v) => ({ ...v }));
    }
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: executionProviders(this.device),
      graphOptimizationLevel: this.optimization,
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(this.threads > 0 ? { intraOpNumThreads: this.threads } : {}),
      // The memory pattern plans one block for all intermediates of a run; for our static-shape training graphs
      // the arena alone reuses buffers as well, and without the pattern the ResNet-18 step peaked at 740 MiB
      // instead of 1050 MiB at the same speed (measured on CPU).
      ...(this.device === 'cpu' ? { enableMemPattern: false } : {}),
    };
    const session = await ort.InferenceSession.create(bytes, options);
    const io = (names: readonly string[], specs: IOSpec[], meta: readonly ort.InferenceSession.ValueMetadata[] | undefined): IOSpec[] =>
      specs.length > 0
        ? specs
        : names.map((name, i) => {
            const m = meta?.[i] as { isTensor?: boolean; type?: string; shape?: (number | string)[] } | undefined;
            return { name, dtype: (m?.type ?? 'float32') as DType, shape: m?.shape ?? [] };
          });
    const meta = session as unknown as { inputMetadata?: ort.InferenceSession.ValueMetadata[]; outputMetadata?: ort.InferenceSession.ValueMetadata[] };
    return new Session(
      session,
      io(session.inputNames, inputs, meta.inputMetadata),
      io(session.outputNames, outputs, meta.outputMetadata),
      this.device,
      blockedConvolutions,
      winogradConvolutions,
      () => this.sessions.delete(key),
    );
  }

  /** Releases every session this runtime created. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => null))?.release()));
  }
}

const shared = new Map<string, Promise<Runtime>>();

/**
 * The process-wide runtime for a device and thread count, created on first use. Library functions that take
 * `{ device, threads }` use this, so sessions are shared instead of compiled per call.
 */
export function getRuntime(options: Pick<RuntimeOptions, 'device' | 'threads' | 'winogradConvolutions'> = {}): Promise<Runtime> {
  const key = `${options.device ?? 'auto'}:${options.threads ?? 0}:${options.winogradConvolutions ?? true}`;
  let r = shared.get(key);
  if (!r) {
    r = Runtime.create(options);
    shared.set(key, r);
    r.catch(() => shared.delete(key));
  }
  return r;
}

/** Disposes every shared runtime (useful at the end of scripts and tests). */
export async function disposeSharedRuntimes(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map(async (r) => (await r.catch(() => null))?.dispose()));
}
