/**
 * Finite-difference check of the autodiff. For f(inputs) -> outputs it builds the scalar
 * loss = sum_k sum(output_k * R_k) with fixed random R_k (so every output element matters with a distinct
 * weight), runs the gradient graph in ONNX Runtime, and compares with central differences
 * (L(x + eps e_j) - L(x - eps e_j)) / (x_j+ - x_j-) of the same loss. The loss is accumulated in float64 even
 * for float32 graphs (a Cast after each output), so only the op itself computes in float32.
 *
 * Use float64 inputs where ONNX Runtime implements the ops in double (most elementwise ops, reductions, MatMul,
 * Gemm, MaxPool, Softmax); Conv, ConvTranspose, AveragePool and GlobalAveragePool are float32-only there. Those
 * are linear in each input, so central differences are exact for any step and a large eps (e.g. 0.5) keeps
 * float32 rounding out of the comparison.
 */
import {
  GraphBuilder,
  InvalidInputError,
  Rng,
  Tensor,
  c,
  getRuntime,
  validateOptions,
  type Runtime,
  type Value,
} from '@dc/core';
import { gradients, type GradientsOptions } from './gradients.js';

export interface GradcheckOptions {
  /** Seed of the output weights and of the element sample (default 0). */
  seed?: number;
  /** Finite-difference step (default 1e-6 for float64 inputs, 1e-2 for float32). */
  eps?: number;
  /** Absolute tolerance (default 1e-7 for float64, 1e-3 for float32). */
  atol?: number;
  /** Relative tolerance (default 1e-5 for float64, 1e-2 for float32). */
  rtol?: number;
  /** Indices of the inputs to differentiate (default: every float input). */
  wrt?: readonly number[];
  /** At most this many elements per input are checked by finite differences, drawn at random (default all). */
  maxElements?: number;
  /**
   * ONNX Runtime to use (default: the shared CPU runtime with one thread and the direct convolution kernels:
   * Winograd's rounding, about 2e-6 of a layer's outputs, divided by the finite-difference step would be more than
   * the tolerance).
   */
  runtime?: Runtime;
  /** Passed to `gradients`. */
  gradientOptions?: GradientsOptions;
}

export interface GradcheckInputReport {
  input: number;
  /** The full analytic gradient. */
  analytic: Tensor;
  /** Flat indices checked, and the central differences there. */
  indices: number[];
  numeric: number[];
  maxAbsError: number;
  /** max |a - n| / (atol + rtol |n|): <= 1 passes. */
  maxScaledError: number;
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  maxScaledError: number;
  loss: number;
  inputs: GradcheckInputReport[];
  /** One line per failing element (at most 10), for test messages. */
  failures: string[];
}

export type GradcheckBuild = (g: GraphBuilder, inputs: Value[]) => Value | readonly Value[];

function isFloatTensor(t: Tensor): t is Tensor<'float32' | 'float64'> {
  return t.dtype === 'float32' || t.dtype === 'float64';
}

/** Builds f, the weighted-sum loss in float64, and optionally the gradients. */
function buildLoss(build: GradcheckBuild, inputs: readonly Tensor[], seed: number, wrt: readonly number[] | null, gradOptions: GradientsOptions) {
  const g = new GraphBuilder({ name: 'gradcheck' });
  const values = inputs.map((t, i) => g.input(`in${i}`, t.dtype, t.shape));
  const built = build(g, values);
  const outs = (Array.isArray(built) ? built : [built]) as Value[];
  const rng = new Rng(seed);
  const terms: Value[] = [];
  for (const o of outs) {
    if (o.dtype !== 'float32' && o.dtype !== 'float64') continue;
    const shape = o.staticShape;
    const weights = Tensor.zeros(shape, 'float64');
    rng.fillNormal(weights.data);
    const o64 = o.dtype === 'float64' ? o : g.op('Cast', [o], { to: 11 });
    terms.push(g.op('ReduceSum', [g.op('Mul', [o64, g.constant(weights)])], { keepdims: 0 }));
  }
  if (terms.length === 0) throw new InvalidInputError('build', 'gradcheck needs at least one float output');
  const loss = terms.length === 1 ? terms[0]! : g.op('Sum', terms);
  g.output(loss, 'loss');
  if (wrt) {
    const grads = gradients(g, loss, wrt.map((i) => values[i]!), gradOptions);
    grads.forEach((d, k) => g.output(d, `grad${k}`));
  }
  return g;
}

/**
 * Compares the autodiff gradient of `build` at `inputs` with central differences. Returns a report; `ok` is
 * false when any checked element is outside atol + rtol |numeric|.
 */
export async function gradcheck(build: GradcheckBuild, inputs: readonly Tensor[], options: GradcheckOptions = {}): Promise<GradcheckResult> {
  if (typeof build !== 'function') throw new InvalidInputError('build', 'gradcheck needs a function (g, inputs) => outputs');
  if (!Array.isArray(inputs) || inputs.some((t) => !(t instanceof Tensor))) throw new InvalidInputError('inputs', 'gradcheck needs an array of Tensors');
  const double = inputs.filter(isFloatTensor).every((t) => t.dtype === 'float64');
  const o = validateOptions('gradcheck', options, {
    seed: c.int(),
    eps: c.number({ min: 0, minExclusive: true }),
    atol: c.number({ min: 0 }),
    rtol: c.number({ min: 0 }),
    wrt: c.optional(c.arrayOf(c.int({ min: 0, max: inputs.length - 1 }))),
    maxElements: c.int({ min: 1 }),
    runtime: c.optional(c.object<Runtime>()),
    gradientOptions: c.object<GradientsOptions>(),
  }, {
    seed: 0,
    eps: double ? 1e-6 : 1e-2,
    atol: double ? 1e-7 : 1e-3,
    rtol: double ? 1e-5 : 1e-2,
    maxElements: Number.MAX_SAFE_INTEGER,
    gradientOptions: {},
  });
  const wrt = o.wrt ?? inputs.flatMap((t, i) => (isFloatTensor(t) ? [i] : []));
  for (const i of wrt) {
    if (!isFloatTensor(inputs[i]!)) throw new InvalidInputError('wrt', `input ${i} has dtype ${inputs[i]!.dtype}; only float inputs have gradients`);
  }
  const runtime = o.runtime ?? (await getRuntime({ device: 'cpu', threads: 1, winogradConvolutions: false }));
  const full = await runtime.session(buildLoss(build, inputs, o.seed, wrt, o.gradientOptions));
  let lossOnly: Awaited<ReturnType<Runtime['session']>>;
  try {
    lossOnly = await runtime.session(buildLoss(build, inputs, o.seed, null, o.gradientOptions));
  } catch (e) {
    await full.release();
    throw e;
  }
  try {
    const feeds: Record<string, Tensor> = {};
    inputs.forEach((t, i) => (feeds[`in${i}`] = t.clone()));
    const out = await full.run(feeds);
    const loss = Number(out.loss!.data[0]);
    const rng = new Rng(o.seed + 1);
    const reports: GradcheckInputReport[] = [];
    const failures: string[] = [];
    for (const [k, i] of wrt.entries()) {
      const analytic = out[`grad${k}`]!;
      const x = feeds[`in${i}`]! as Tensor<'float32' | 'float64'>;
      const size = x.size;
      const indices = size <= o.maxElements ? Array.from({ length: size }, (_, j) => j) : [...rng.choice(size, o.maxElements)].sort((a, b) => a - b);
      const numeric: number[] = [];
      let maxAbs = 0;
      let maxScaled = 0;
      for (const j of indices) {
        const saved = x.data[j]!;
        x.data[j] = saved + o.eps;
        const up = x.data[j]!;
        const lp = Number((await lossOnly.run(feeds)).loss!.data[0]);
        x.data[j] = saved - o.eps;
        const down = x.data[j]!;
        const lm = Number((await lossOnly.run(feeds)).loss!.data[0]);
        x.data[j] = saved;
        const n = (lp - lm) / (up - down);
        numeric.push(n);
        const a = Number(analytic.data[j]);
        const err = Math.abs(a - n);
        const scaled = err / (o.atol + o.rtol * Math.abs(n));
        if (!(scaled <= 1) && failures.length < 10) failures.push(`input ${i} element ${j}: analytic ${a}, numeric ${n}`);
        maxAbs = Math.max(maxAbs, err);
        maxScaled = Math.max(maxScaled, Number.isNaN(scaled) ? Infinity : scaled);
      }
      reports.push({ input: i, analytic, indices, numeric, maxAbsError: maxAbs, maxScaledError: maxScaled });
    }
    const maxAbsError = Math.max(0, ...reports.map((r) => r.maxAbsError));
    const maxScaledError = Math.max(0, ...reports.map((r) => r.maxScaledError));
    return { ok: maxScaledError <= 1, maxAbsError, maxScaledError, loss, inputs: reports, failures };
  } finally {
    await full.release();
    await lossOnly.release();
  }
}
