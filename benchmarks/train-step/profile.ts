/**
 * Where the time of one training step goes (a tool for tuning the engine, not part of the benchmark table).
 * Builds the step graph of a case, runs it in one ONNX Runtime session with the given threads and reports the
 * process CPU time per step (robust on a loaded machine, unlike wall time) and, with `profile`, ONNX Runtime's
 * per-node times summed by op type and the slowest nodes.
 * Usage: profile.ts <case> [threads=1] [steps=5] [profile|cpu] [gradient options as JSON]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tensor, lowerConvsToNchwc, lowerConvsToWinograd, nchwcBlockSize, serializeModel } from '@dc/core';
import { zeroSlots, type GradientsOptions } from '@dc/nn';
import { CASES, buildCaseStep } from './cases.js';

const [name = 'resnet18', threadsArg = '1', stepsArg = '5', mode = 'cpu', gradJson = '{}'] = process.argv.slice(2);
const c = CASES[name];
if (!c) throw new Error(`unknown case ${name}`);
const threads = Number(threadsArg);
const steps = Number(stepsArg);

const { optimizer, modelState, batch, step } = buildCaseStep(c, JSON.parse(gradJson) as GradientsOptions);
// As the Runtime compiles it by default (blockedConvolutions 'wide': the 3x3 stride-1 layers of 64+ channels on the
// blocked-layout kernels); DC_NCHWC=1 as with blockedConvolutions true (every eligible convolution), DC_NCHWC=0
// none; DC_NCHWC_MIN: the lowering's minPositions.
const block = process.env.DC_NCHWC === '0' ? 0 : await nchwcBlockSize();
const wideOnly = process.env.DC_NCHWC !== '1';
const minPositions = process.env.DC_NCHWC_MIN ? Number(process.env.DC_NCHWC_MIN) : undefined;
// As the Runtime compiles it by default (winogradConvolutions: eligible Convs by Winograd's F(4x4, 3x3));
// DC_WINOGRAD=0 keeps the direct kernels.
const model = process.env.DC_WINOGRAD === '0' ? step.graph.toModel() : lowerConvsToWinograd(step.graph.toModel());
const bytes = serializeModel(lowerConvsToNchwc(model, block, { wideOnly, ...(minPositions === undefined ? {} : { minPositions }) }));
const prefix = join(tmpdir(), `dc-profile-${process.pid}`);
const session = await ort.InferenceSession.create(bytes, {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  interOpNumThreads: 1,
  intraOpNumThreads: threads,
  ...(mode === 'profile' ? { enableProfiling: true, profileFilePrefix: prefix } : {}),
  ...(process.env.DC_ARENA === '0' ? { enableCpuMemArena: false } : {}),
  // Off as the Runtime compiles CPU sessions (DC_MEMPATTERN=1 turns ONNX Runtime's memory pattern back on).
  ...(process.env.DC_MEMPATTERN === '1' ? {} : { enableMemPattern: false }),
  ...(process.env.DC_SPIN === '0' ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  ...(process.env.DC_OPT_MODEL ? { optimizedModelFilePath: process.env.DC_OPT_MODEL } : {}),
});

const slots = zeroSlots(optimizer.slots, modelState.parameters, step.trained);
const feeds: Record<string, ort.Tensor> = {};
const put = (k: string, t: Tensor) => (feeds[k] = t.toOrt());
for (const n of step.trained) put(`param/${n}`, modelState.parameters.get(n)!);
for (const n of step.buffersIn) put(`buffer/${n}`, modelState.buffers.get(n)!);
for (const s of optimizer.slots) for (const n of step.trained) put(`state/${s}/${n}`, slots[s]!.get(n)!);
for (const n of step.batchInputs) put(`batch/${n}`, batch[n]!);
const sc = optimizer.scalars(0, optimizer.lr);
for (const n of step.scalarInputs) put(`scalar/${n}`, Tensor.full([], sc[n]!));

await session.run(feeds);
await session.run(feeds);
const cpu: number[] = [];
const wall: number[] = [];
for (let i = 0; i < steps; i++) {
  const u = process.cpuUsage();
  const t = performance.now();
  await session.run(feeds);
  wall.push(performance.now() - t);
  const d = process.cpuUsage(u);
  cpu.push((d.user + d.system) / 1000);
}
const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(`${name}: ${step.graph.nodes.length} nodes, threads ${threads}: CPU ms/step median ${med(cpu).toFixed(1)} min ${Math.min(...cpu).toFixed(1)}; wall median ${med(wall).toFixed(1)} min ${Math.min(...wall).toFixed(1)}; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

if (mode === 'profile') {
  await session.endProfiling();
  const base = `dc-profile-${process.pid}_`;
  const found = readdirSync(tmpdir()).find((f) => f.startsWith(base) && f.endsWith('.json'));
  if (!found) throw new Error('ONNX Runtime wrote no profile');
  const path = join(tmpdir(), found);
  const events = JSON.parse(readFileSync(path, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] } }[];
  rmSync(path, { force: true });
  const runs = 2 + steps;
  const byOp = new Map<string, number>();
  const byNode = new Map<string, { op: string; us: number; shapes: string }>();
  const fmt = (l?: Record<string, number[]>[]) => (l ?? []).map((o) => `[${Object.values(o)[0]?.join(',') ?? ''}]`).join(' ');
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
    const n = e.name.slice(0, -'_kernel_time'.length);
    const cur = byNode.get(n) ?? { op, us: 0, shapes: `${fmt(e.args?.input_type_shape)} -> ${fmt(e.args?.output_type_shape)}` };
    cur.us += e.dur;
    byNode.set(n, cur);
  }
  const total = [...byOp.values()].reduce((a, b) => a + b, 0) / runs;
  console.log(`kernel time per run ${(total / 1000).toFixed(1)} ms`);
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) console.log(`  ${op.padEnd(24)} ${(us / runs / 1000).toFixed(2).padStart(9)} ms  ${((100 * us) / runs / total).toFixed(1)}%`);
  const byPart = new Map<string, number>();
  for (const [n, v] of byNode) {
    const part = `${n.split('/')[0]} ${v.op}`;
    byPart.set(part, (byPart.get(part) ?? 0) + v.us);
  }
  console.log('by graph part and op:');
  for (const [k, us] of [...byPart].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${k.padEnd(32)} ${(us / runs / 1000).toFixed(2).padStart(9)} ms`);
  const top = Number(process.env.DC_TOP ?? 40);
  console.log(`slowest ${top} nodes:`);
  for (const [n, v] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, top)) console.log(`  ${(v.us / runs / 1000).toFixed(2).padStart(8)} ms  ${v.op.padEnd(20)} ${n}  ${v.shapes}`);
}
await session.release();
