/**
 * One case, ours, in a fresh process (for its own peak memory): build the step graph, compile it, run warm-up
 * steps, then time `steps` optimizer steps as the Trainer runs them (feeds, ONNX Runtime, outputs back as state):
 * wall time and the process's CPU time per step.
 * Usage: run-ours.ts <case> <threads> [steps] [optimization] [gradient options as JSON, e.g. '{"convWeightGrad":"conv"}']
 * DC_NCHWC=1 runs every eligible convolution on the Runtime's blocked-layout kernels (`blockedConvolutions: true`;
 * default 'wide'), DC_NCHWC=0 none; DC_WINOGRAD=0 turns off its Winograd convolutions (`winogradConvolutions`).
 */
import { Runtime } from '@dc/core';
import { StepRunner, zeroSlots, type GradientsOptions, type TrainState } from '@dc/nn';
import { reportPeak } from '../harness.js';
import { CASES, buildCaseStep } from './cases.js';

const [name = 'conv-autoencoder', threadsArg = '2', stepsArg, optimization = 'all', gradJson = '{}'] = process.argv.slice(2);
const c = CASES[name];
if (!c) throw new Error(`unknown case ${name}`);
const threads = Number(threadsArg);
const steps = stepsArg ? Number(stepsArg) : c.steps;

const t0 = performance.now();
const { optimizer, modelState, batch, specs, step, rng } = buildCaseStep(c, JSON.parse(gradJson) as GradientsOptions);
const buildSeconds = (performance.now() - t0) / 1000;
const runtime = await Runtime.create({ device: 'cpu', threads, optimization: optimization as 'all', blockedConvolutions: process.env.DC_NCHWC === '1' ? true : process.env.DC_NCHWC === '0' ? false : 'wide', winogradConvolutions: process.env.DC_WINOGRAD !== '0' });
const t1 = performance.now();
const runner = await StepRunner.create(step, optimizer, specs, runtime, 'bench');
const compileSeconds = (performance.now() - t1) / 1000;
let state: TrainState = { model: modelState, optimizer: { step: 0, slots: zeroSlots(optimizer.slots, modelState.parameters, step.trained) } };
const lr = optimizer.lr;
for (let i = 0; i < 2; i++) state = (await runner.run(state, batch, { lr }, rng)).next;
const times: number[] = [];
const cpu: number[] = [];
let loss = NaN;
for (let i = 0; i < steps; i++) {
  const s = performance.now();
  const u = process.cpuUsage();
  const out = await runner.run(state, batch, { lr }, rng);
  const d = process.cpuUsage(u);
  times.push(performance.now() - s);
  cpu.push((d.user + d.system) / 1000);
  state = out.next;
  loss = out.loss;
}
await runtime.dispose();
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
reportPeak({
  msPerStep: times[Math.floor(times.length / 2)]!,
  minMs: times[0]!,
  // CPU time of this process per step (all threads): robust against other load on the machine.
  cpuMsPerStep: cpu[Math.floor(cpu.length / 2)]!,
  nodes: step.graph.nodes.length,
  buildSeconds,
  compileSeconds,
  loss,
  threads,
  steps,
});
