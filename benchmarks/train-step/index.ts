/**
 * Train-step benchmark (issue 3): time of one optimizer step (forward, loss, backward, update) of ours against
 * PyTorch CPU with the same threads, model, batch and optimizer, each side in its own process (peak memory is
 * per process). Cases: the conv autoencoder (batch 128, MSE, Adam) and ResNet-18 CIFAR (batch 32, cross-entropy,
 * SGD momentum). Target: ours / PyTorch <= 1.0 on the step (wall) time. The two sides run alternately for `rounds`
 * rounds and each keeps its best median, so a load change on a shared machine does not favour one side; the
 * process CPU time per step is reported beside it (on a loaded machine it is the steadier comparison). Ours runs
 * twice per round: with the Runtime's defaults (Winograd's F(4x4, 3x3) and the blocked-layout kernels for the wide
 * 3x3 stride-1 layers, the standard kernels for the rest) and with the blocked-layout kernels for every
 * convolution they gain on (`blockedConvolutions: true`).
 * Usage: npm run bench -- train-step [threads (default: the number of cores)] [rounds (default 2)]
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { BENCH_ROOT, Report, runIsolated, runPython } from '../harness.js';
import { CASES } from './cases.js';

const threads = Number(process.argv[2] ?? cpus().length);
const rounds = Number(process.argv[3] ?? 2);
const report = new Report('train-step');

interface Ours {
  msPerStep: number;
  minMs: number;
  cpuMsPerStep: number;
  nodes: number;
  buildSeconds: number;
  compileSeconds: number;
}
interface Theirs {
  msPerStep: number;
  minMs: number;
  cpuMsPerStep: number;
  peakMiB: number;
  torch: string;
}

for (const c of Object.values(CASES)) {
  let ours: Ours | null = null;
  let oursPeak = 0;
  let oursCpu = Infinity;
  let blocked: Ours | null = null;
  let blockedCpu = Infinity;
  let theirs: Theirs | null = null;
  let theirsCpu = Infinity;
  let missing: string | null = null;
  for (let r = 0; r < rounds; r++) {
    const o = await runIsolated<Ours>(join(BENCH_ROOT, 'train-step', 'run-ours.ts'), [c.name, String(threads), String(c.steps)]);
    if (!ours || o.value.msPerStep < ours.msPerStep) ours = o.value;
    oursPeak = Math.max(oursPeak, o.peakMiB);
    oursCpu = Math.min(oursCpu, o.value.cpuMsPerStep);
    const b = await runIsolated<Ours>(join(BENCH_ROOT, 'train-step', 'run-ours.ts'), [c.name, String(threads), String(c.steps)], { env: { DC_NCHWC: '1' } });
    if (!blocked || b.value.msPerStep < blocked.msPerStep) blocked = b.value;
    blockedCpu = Math.min(blockedCpu, b.value.cpuMsPerStep);
    const t = await runPython<Theirs>(join(BENCH_ROOT, 'train-step', 'torch_step.py'), [c.name, String(threads), String(c.steps)], {
      OMP_NUM_THREADS: String(threads),
      MKL_NUM_THREADS: String(threads),
    });
    if (!t.available || !t.value) {
      missing = t.reason ?? 'no result';
      continue;
    }
    theirsCpu = Math.min(theirsCpu, t.value.cpuMsPerStep);
    const peak = Math.max(t.value.peakMiB, theirs?.peakMiB ?? 0);
    if (!theirs || t.value.msPerStep < theirs.msPerStep) theirs = { ...t.value };
    theirs.peakMiB = peak;
  }
  const refNote = theirs
    ? `PyTorch ${theirs.torch} CPU, ${threads} thread(s), best of ${rounds} medians of ${c.steps} steps`
    : `PyTorch unavailable: ${missing ?? 'not run'}`;
  const stepTime = (metric: string, run: Ours, note: string) =>
    report.add({ case: c.description, metric, ours: run.msPerStep, reference: theirs?.msPerStep ?? null, unit: 'ms', target: { op: '<=', value: 1.0, on: 'ratio' }, note });
  stepTime('step time', ours!, `${refNote}; ours: ${threads} thread(s), ${ours!.nodes} ONNX nodes, graph built in ${ours!.buildSeconds.toFixed(1)} s, compiled in ${ours!.compileSeconds.toFixed(1)} s`);
  report.add({
    case: c.description,
    metric: 'step CPU time',
    ours: oursCpu,
    reference: theirs ? theirsCpu : null,
    unit: 'ms',
    note: 'process CPU time per step (all threads), best of the rounds\' medians: less disturbed than wall time by other load on the machine',
  });
  stepTime('step time, blocked convolutions', blocked!, `Runtime option blockedConvolutions: true (default 'wide': 3x3 stride-1 layers of 64+ channels only); step CPU time ${blockedCpu.toFixed(1)} ms`);
  report.add({ case: c.description, metric: 'peak memory', ours: oursPeak, reference: theirs?.peakMiB ?? null, unit: 'MiB' });
}
report.finish();
