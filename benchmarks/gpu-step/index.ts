/**
 * GPU benchmark and check: the train-step cases (conv autoencoder batch 128 with Adam, ResNet-18 CIFAR batch 32
 * with SGD momentum) and the exact kNN kernel on every GPU execution provider this process can use (CUDA,
 * WebGPU), against our own CPU run of the same work and PyTorch on CUDA.
 *
 * - agreement: one optimizer step from the same state on the GPU and on the CPU; the relative error of the
 *   parameter update (||u_gpu - u_cpu|| / ||u_cpu|| over all parameters, u = new - old), of the BatchNorm running
 *   statistics and of the loss; each distinct node of the step graph run alone from the same inputs
 *   (node-check.ts); the eval graph's outputs (predict) likewise; kNN: the share of rows whose neighbour lists are
 *   the same set.
 * - speed: median step time of `steps` steps after warm-up, ours on the GPU against PyTorch on CUDA (fp32, TF32
 *   off, so both do full float32 arithmetic) and ours on the CPU (all cores) against PyTorch on the CPU.
 *
 * No target: issue 3's targets are on the CPU. A device that cannot be used is reported with ONNX Runtime's reason
 * (on a machine without a GPU the benchmark reports only that). One process: peak memory is not reported.
 * Usage: npm run bench -- gpu-step [steps (default 20)]
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DeviceUnavailableError, Rng, Runtime, Tensor, knn, type ResolvedDevice } from '@dc/core';
import { StepRunner, predict, zeroSlots, type ModelState, type TrainState } from '@dc/nn';
import { BENCH_ROOT, Report, runPython } from '../harness.js';
import { CASES, buildCaseStep, type BenchCase } from '../train-step/cases.js';
import { nodeAgreement, relativeError } from './node-check.js';

const steps = Number(process.argv[2] ?? 20);
const threads = cpus().length;
const report = new Report('gpu-step');

/** Why a device cannot be used, or null when it can. */
async function unavailable(device: ResolvedDevice): Promise<string | null> {
  try {
    const r = await Runtime.create({ device, threads });
    await r.dispose();
    return null;
  } catch (e) {
    if (DeviceUnavailableError.isInstance(e)) return e.attempts.map((a) => a.reason).join('; ');
    throw e;
  }
}

function updates(next: ModelState, before: ModelState): Float32Array[] {
  return [...before.parameters].map(([name, p]) => {
    const q = next.parameters.get(name)!.data as Float32Array;
    return Float32Array.from(q, (v, i) => v - (p.data[i] as number));
  });
}

interface StepRun {
  next: TrainState;
  loss: number;
  msPerStep: number;
}

async function timeSteps(c: BenchCase, device: ResolvedDevice, blockedConvolutions = false): Promise<StepRun> {
  const { optimizer, modelState, batch, specs, step, rng } = buildCaseStep(c, {});
  const runtime = await Runtime.create({ device, threads, blockedConvolutions });
  try {
    const runner = await StepRunner.create(step, optimizer, specs, runtime, `gpu-step:${c.name}`);
    const start: TrainState = { model: modelState, optimizer: { step: 0, slots: zeroSlots(optimizer.slots, modelState.parameters, step.trained) } };
    const first = await runner.run(start, batch, { lr: optimizer.lr }, Rng.fromState(rng.getState()));
    let state = first.next;
    for (let i = 0; i < 2; i++) state = (await runner.run(state, batch, { lr: optimizer.lr }, rng)).next;
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      state = (await runner.run(state, batch, { lr: optimizer.lr }, rng)).next;
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    return { next: first.next, loss: first.loss, msPerStep: times[Math.floor(times.length / 2)]! };
  } finally {
    await runtime.dispose();
  }
}

interface Torch {
  msPerStep: number;
  torch: string;
  device: string;
}

async function torchStep(c: BenchCase, device: 'cpu' | 'cuda'): Promise<{ value: Torch | null; reason: string }> {
  const t = await runPython<Torch>(join(BENCH_ROOT, 'train-step', 'torch_step.py'), [c.name, String(threads), String(steps), device], {
    OMP_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
  });
  return { value: t.available && t.value ? t.value : null, reason: t.reason ?? 'no result' };
}

const gpus: ResolvedDevice[] = [];
for (const device of ['cuda', 'webgpu'] as const) {
  const reason = await unavailable(device);
  if (reason === null) gpus.push(device);
  else report.add({ case: `device ${device}`, metric: 'available', ours: 0, unit: 'yes/no', note: reason });
}

for (const c of Object.values(CASES)) {
  const { modelState, batch } = buildCaseStep(c, {});
  const cpu = await timeSteps(c, 'cpu');
  // What float32 rounding alone does to one step: the CPU's blocked convolution kernels against its standard ones.
  const rounding = gpus.length > 0 ? relativeError(updates((await timeSteps(c, 'cpu', true)).next.model, modelState), updates(cpu.next.model, modelState)) : null;
  const torchCpu = await torchStep(c, 'cpu');
  report.add({
    case: `${c.description}, CPU`,
    metric: 'step time',
    ours: cpu.msPerStep,
    reference: torchCpu.value?.msPerStep ?? null,
    unit: 'ms',
    note: torchCpu.value ? `PyTorch ${torchCpu.value.torch} CPU; both ${threads} threads, median of ${steps} steps` : `PyTorch unavailable: ${torchCpu.reason}`,
  });
  for (const device of gpus) {
    const gpu = await timeSteps(c, device);
    const torchGpu = await torchStep(c, 'cuda');
    report.add({
      case: `${c.description}, ${device}`,
      metric: 'step time',
      ours: gpu.msPerStep,
      reference: torchGpu.value?.msPerStep ?? null,
      unit: 'ms',
      note: torchGpu.value
        ? `PyTorch ${torchGpu.value.torch} on ${torchGpu.value.device} (float32, TF32 off); median of ${steps} steps each; ours on the CPU here: ${cpu.msPerStep.toFixed(1)} ms`
        : `PyTorch on CUDA unavailable: ${torchGpu.reason}`,
    });
    report.add({
      case: `${c.description}, ${device}`,
      metric: 'update vs our CPU step (relative error)',
      ours: relativeError(updates(gpu.next.model, modelState), updates(cpu.next.model, modelState)),
      reference: rounding,
      unit: '',
      note: `one step from the same state; loss ${gpu.loss.toPrecision(7)} on ${device}, ${cpu.loss.toPrecision(7)} on the CPU; reference: the same measure between the CPU's blocked and standard convolution kernels (float32 rounding alone)`,
    });
    const buffers = [...cpu.next.model.buffers.keys()];
    if (buffers.length > 0) {
      report.add({
        case: `${c.description}, ${device}`,
        metric: 'BatchNorm statistics vs our CPU step (relative error)',
        ours: relativeError(buffers.map((b) => gpu.next.model.buffers.get(b)!.data as Float32Array), buffers.map((b) => cpu.next.model.buffers.get(b)!.data as Float32Array)),
        unit: '',
      });
    }
    const alone = await nodeAgreement(c, device, threads);
    report.add({
      case: `${c.description}, ${device}`,
      metric: 'each node alone vs our CPU (worst relative error)',
      ours: alone.worst,
      unit: '',
      note: `${alone.nodes} distinct nodes of the step graph, each run alone from the same inputs; worst: ${alone.worstNode}; non-float outputs that differ: ${alone.discreteMismatches}`,
    });
    const model = c.model();
    const x = batch.x!;
    const onGpu = await predict(model, cpu.next.model, x, { device, threads, batchSize: 64 });
    const onCpu = await predict(model, cpu.next.model, x, { device: 'cpu', threads, batchSize: 64 });
    const names = Object.keys(onCpu);
    report.add({
      case: `${c.description}, ${device}`,
      metric: 'eval outputs vs our CPU (relative error)',
      ours: relativeError(names.map((n) => onGpu[n]!.data), names.map((n) => onCpu[n]!.data)),
      unit: '',
      note: `predict on the batch after one step: ${names.join(', ')}`,
    });
  }
}

// The exact kNN kernel (used by UMAP and RUC's metric selection): 70,000 x 32, k = 15, cosine.
const n = 70_000;
const d = 32;
const data = Tensor.zeros([n, d]);
const rng = new Rng(7);
for (let i = 0; i < n; i++) {
  const centre = i % 10;
  for (let j = 0; j < d; j++) data.data[i * d + j] = (j % 10 === centre ? 3 : 0) + rng.normal();
}
const timeKnn = async (device: ResolvedDevice) => {
  await knn(new Tensor('float32', data.data.subarray(0, 1000 * d), [1000, d]), { k: 15, device, threads }); // compiles the kernel
  const t = performance.now();
  const r = await knn(data, { k: 15, device, threads });
  return { r, seconds: (performance.now() - t) / 1000 };
};
const knnCpu = await timeKnn('cpu');
report.add({ case: `kNN ${n.toLocaleString('en')} x ${d}, k 15, cosine, CPU`, metric: 'time', ours: knnCpu.seconds, unit: 's', note: `${threads} threads` });
for (const device of gpus) {
  const g = await timeKnn(device);
  let same = 0;
  for (let i = 0; i < n; i++) {
    const a = new Set(g.r.indices.data.subarray(i * 15, (i + 1) * 15));
    let ok = true;
    for (const j of knnCpu.r.indices.data.subarray(i * 15, (i + 1) * 15)) if (!a.has(j)) ok = false;
    if (ok) same++;
  }
  report.add({ case: `kNN ${n.toLocaleString('en')} x ${d}, k 15, cosine, ${device}`, metric: 'time', ours: g.seconds, reference: knnCpu.seconds, unit: 's', note: 'reference: ours on the CPU' });
  report.add({ case: `kNN ${n.toLocaleString('en')} x ${d}, k 15, cosine, ${device}`, metric: 'rows with the same neighbours as on the CPU', ours: (100 * same) / n, unit: '%' });
}
if (gpus.length === 0) console.log('No GPU execution provider can be used here: only the CPU rows were measured.');
report.finish();
