/**
 * Execution-provider choice, in one place. `auto` tries CUDA, then the CPU; each candidate is probed by actually
 * running a one-node model on it (a provider can be listed as supported and still fail to load its libraries or
 * find an adapter), and the outcome is cached for the process. WebGPU is used only when asked for by name: on an
 * H100 it was slower than the CPU for every workload here (`npm run bench -- gpu-step`: training steps about 3x
 * slower than 16 CPU threads, the exact kNN 8x), because every step moves the whole training state between host and
 * device and some ops fall back to the CPU.
 */
import * as ort from 'onnxruntime-node';
import { DeviceUnavailableError, type DeviceAttempt } from '../errors.js';
import { GraphBuilder } from '../graph/builder.js';
import { serializeModel } from '../graph/serialize.js';
import { Tensor } from '../tensor.js';

export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export type ResolvedDevice = Exclude<Device, 'auto'>;
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda', 'webgpu'];
const AUTO_ORDER: ResolvedDevice[] = ['cuda', 'cpu'];

const probes = new Map<ResolvedDevice, Promise<string | null>>();
let probeModel: Uint8Array | undefined;

function tinyModel(): Uint8Array {
  if (!probeModel) {
    const g = new GraphBuilder({ name: 'device_probe' });
    const x = g.input('x', 'float32', [2]);
    g.output(g.op('Add', [x, x]), 'y');
    probeModel = serializeModel(g.toModel());
  }
  return probeModel;
}

/** The execution-provider list ONNX Runtime gets for a device. */
export function executionProviders(device: ResolvedDevice): ort.InferenceSession.SessionOptions['executionProviders'] {
  switch (device) {
    case 'cpu':
      return ['cpu'];
    case 'cuda':
      return ['cuda', 'cpu'];
    case 'webgpu':
      return ['webgpu', 'cpu'];
  }
}

function supportedBackends(): string[] {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends;
  try {
    return list ? list().map((b) => b.name) : ['cpu'];
  } catch {
    return ['cpu'];
  }
}

/** Null when the device works, else the reason it does not. */
async function probe(device: ResolvedDevice): Promise<string | null> {
  if (device === 'cpu') return null;
  if (!supportedBackends().includes(device)) {
    return `this onnxruntime-node build does not include the ${device} execution provider` +
      (device === 'cuda' ? ' (install onnxruntime-node without ONNXRUNTIME_NODE_INSTALL=skip on a CUDA 12 machine)' : '');
  }
  let session: ort.InferenceSession | undefined;
  try {
    // Fatal-only logging: a failed probe is reported through the returned reason, not ORT's console output.
    session = await ort.InferenceSession.create(tinyModel(), { executionProviders: [device], logSeverityLevel: 4 });
    const out = await session.run({ x: Tensor.from(new Float32Array([1, 2])).toOrt() });
    const y = out.y?.data as Float32Array | undefined;
    if (!y || y[0] !== 2 || y[1] !== 4) return 'a test model ran but returned wrong values';
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0] ?? String(e);
  } finally {
    await session?.release();
  }
}

function probeCached(device: ResolvedDevice): Promise<string | null> {
  let p = probes.get(device);
  if (!p) {
    p = probe(device);
    probes.set(device, p);
  }
  return p;
}

/**
 * Resolves a device request: a named device must work (DeviceUnavailableError otherwise); `auto` returns CUDA
 * when it works, else the CPU, and `attempts` records why CUDA was skipped.
 */
export async function resolveDevice(device: Device = 'auto'): Promise<{ device: ResolvedDevice; attempts: DeviceAttempt[] }> {
  const candidates: ResolvedDevice[] = device === 'auto' ? AUTO_ORDER : [device];
  const attempts: DeviceAttempt[] = [];
  for (const candidate of candidates) {
    const reason = await probeCached(candidate);
    if (reason === null) return { device: candidate, attempts };
    attempts.push({ device: candidate, reason });
  }
  throw new DeviceUnavailableError(device, attempts);
}

/** Devices this process can use, probed. */
export async function availableDevices(): Promise<ResolvedDevice[]> {
  const out: ResolvedDevice[] = [];
  for (const d of ['cpu', 'cuda', 'webgpu'] as const) if ((await probeCached(d)) === null) out.push(d);
  return out;
}
