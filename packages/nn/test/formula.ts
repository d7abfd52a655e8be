/**
 * The deterministic inputs and initial tensors shared with fixtures/generate_step_fixtures.py: both sides
 * evaluate the same integer formula in float64 and round to float32, so no weights need to be stored.
 */
import { Tensor } from '@dc/core';
import { BatchNorm1d, BatchNorm2d, type ModelState, type Module } from '@dc/nn';

export function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h + name.charCodeAt(i) * (i + 1)) % 100003;
  return h;
}

// Jest runs tests in a vm context where every global lookup (Math) in a hot loop is slow: keep a local copy.
const imul = Math.imul;

/** An integer hash of (i, salt) in [-0.5, 0.5), exactly as the generator computes it. */
export function pattern(n: number, salt: number): Float64Array {
  const out = new Float64Array(n);
  const base = salt * 1000003;
  for (let i = 0; i < n; i++) {
    let h = (i + base) >>> 0;
    h = imul((h >>> 16) ^ h, 0x45d9f3b) >>> 0;
    h = imul((h >>> 16) ^ h, 0x45d9f3b) >>> 0;
    h = ((h >>> 16) ^ h) >>> 0;
    out[i] = h / 4294967296 - 0.5;
  }
  return out;
}

export function inputPattern(shape: readonly number[], salt: number, offset = 0): Tensor<'float32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  const p = pattern(n, salt);
  const data = new Float32Array(n);
  // Round to float32 first, as the generator does, then add the offset in float32.
  for (let i = 0; i < n; i++) data[i] = Math.fround(p[i]!) + offset;
  return new Tensor('float32', data, shape);
}

type Kind = 'weight' | 'bias' | 'bn_weight' | 'bn_bias' | 'running_mean' | 'running_var';

function value(name: string, shape: readonly number[], kind: Kind, biasFanIn: number): Tensor<'float32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = pattern(n, nameHash(name));
  const out = new Float32Array(n);
  const fanIn = kind === 'bias' ? biasFanIn : shape.slice(1).reduce((a, b) => a * b, 1);
  const scale = 2 / Math.sqrt(fanIn);
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    switch (kind) {
      case 'bn_weight':
        out[i] = 1 + 0.2 * x;
        break;
      case 'bn_bias':
      case 'running_mean':
        out[i] = 0.2 * x;
        break;
      case 'running_var':
        out[i] = 1 + 0.5 * x;
        break;
      default:
        out[i] = x * scale;
    }
  }
  return new Tensor('float32', out, shape);
}

/** The formula's state for every parameter and buffer of `model` (names decide the values). */
export function formulaState(model: Module<never[], unknown>): ModelState {
  const parameters = new Map<string, Tensor<'float32'>>();
  const buffers = new Map<string, Tensor<'float32'>>();
  const walk = (m: Module<never[], unknown>, prefix: string) => {
    const isBn = m instanceof BatchNorm1d || m instanceof BatchNorm2d;
    const own = m.ownParameters();
    for (const [local, spec] of own) {
      const name = prefix + local;
      let kind: Kind = local === 'bias' ? 'bias' : 'weight';
      if (isBn) kind = local === 'weight' ? 'bn_weight' : 'bn_bias';
      const w = own.get('weight');
      const biasFanIn = w ? w.shape[1]! * w.shape.slice(2).reduce((a, b) => a * b, 1) : 1;
      parameters.set(name, value(name, spec.shape, kind, biasFanIn));
    }
    for (const [local, spec] of m.ownBuffers()) buffers.set(prefix + local, value(prefix + local, spec.shape, local as Kind, 1));
    for (const [k, child] of m.children()) walk(child, `${prefix}${k}.`);
  };
  walk(model, '');
  // Keep the model's own order (checkState and the optimizer do not care, but it reads better).
  const ordered = new Map(model.namedParameters().map(([n]) => [n, parameters.get(n)!]));
  const orderedBuffers = new Map(model.namedBuffers().map(([n]) => [n, buffers.get(n)!]));
  return { parameters: ordered, buffers: orderedBuffers };
}

export interface Record_ {
  shape: number[];
  norm: number;
  indices: number[];
  values: number[];
  /** How far PyTorch's own float32 step is from the float64 reference on these samples. */
  float32_error: number;
}

export interface StepFixture {
  case: string;
  loss: number;
  loss_float32_error: number;
  grad: Record<string, Record_>;
  param_out: Record<string, Record_>;
  delta: Record<string, Record_>;
  state_out: Record<string, Record<string, Record_>>;
  buffer_out: Record<string, Record_>;
}
