/**
 * Child process of the SPC benchmarks: one fitSpc run on all 70,000 images of MNIST or Fashion-MNIST with that
 * dataset's benchmark schedule (suite.ts), scored afterwards against the ground truth. Progress goes to stderr;
 * the last stdout line is the JSON result with the peak memory.
 *
 *   run.ts <mnist|fashion> <seed> [labels.json]
 *
 * With a third argument it also writes the consensus labels and predict()'s class probabilities there (no
 * ground truth in that file). For schedule experiments, DC_SPC_OPTIONS='{"epochs":3}' overrides options of the
 * benchmark schedule in this run only, and DC_SPC_SPLIT=test runs on the 10,000 test images instead of all 70,000
 * (the suite refuses to start while either variable is set). DC_SPC_LAYOUTS=<dir> writes every round's member
 * layouts and labels there (`r<round>-m<member>.layout.f32`, `.labels.i32`) for layouts.ts to analyse.
 */
import { writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fitSpc, type SpcOptions } from '@dc/consensus';
import { loadFashionMnist, loadMnist } from '@dc/data';
import { evaluateClustering } from '@dc/metrics';
import { reportPeak } from '../harness.js';
import { BENCH_OPTIONS } from './suite.js';

const [dataset, seedArg, labelsFile] = process.argv.slice(2);
if (dataset !== 'mnist' && dataset !== 'fashion') throw new Error('usage: run.ts <mnist|fashion> <seed> [labels.json]');
const seed = Number(seedArg ?? 0);
const overrides = JSON.parse(process.env.DC_SPC_OPTIONS ?? '{}') as Partial<SpcOptions>;
const options = { ...BENCH_OPTIONS[dataset], ...overrides };
const splitArg = process.env.DC_SPC_SPLIT;
if (splitArg !== undefined && splitArg !== 'test') throw new Error(`DC_SPC_SPLIT must be 'test' or unset, got '${splitArg}'`);
const split = splitArg === 'test' ? { split: 'test' as const } : {};
const data = dataset === 'mnist' ? await loadMnist(split) : await loadFashionMnist(split);
const truth = data.labels!;
const log = (line: string) => process.stderr.write(`[${dataset} seed ${seed}] ${line}\n`);
const layoutDir = process.env.DC_SPC_LAYOUTS;
if (layoutDir) await mkdir(layoutDir, { recursive: true });
const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
log(`${data.length} images; ${JSON.stringify(options)}`);

const stageSeconds: Record<string, number> = {};
let lastStage = 'start';
let lastTime = performance.now();
let lastLog = performance.now();
const perRound: { round: number; agreed: number; accuracy: number; agreedAccuracy: number; seconds: number }[] = [];
const result = await fitSpc(data, {
  ...options,
  seed,
  onProgress: (e) => {
    const now = performance.now();
    stageSeconds[lastStage] = (stageSeconds[lastStage] ?? 0) + (now - lastTime) / 1000;
    lastStage = e.stage;
    lastTime = now;
    if (now - lastLog > 60_000) {
      lastLog = now;
      log(`${(e.elapsedSeconds / 60).toFixed(1)} min: round ${e.round} ${e.stage} member ${e.member ?? '-'} ${e.done}/${e.total}${e.loss !== undefined ? ` loss ${e.loss.toFixed(4)}` : ''}`);
    }
  },
  onRound: ({ record, consensus, agreed, members }) => {
    if (layoutDir) {
      for (const m of members) {
        const name = join(layoutDir, `r${record.round}-m${m.member}`);
        writeFileSync(`${name}.layout.f32`, bytes(m.layout.data));
        if (m.labels) writeFileSync(`${name}.labels.i32`, bytes(m.labels));
      }
    }
    // Scored outside fitSpc, for the record only.
    const accuracy = evaluateClustering(consensus, truth).accuracy;
    const idx: number[] = [];
    agreed.forEach((a, i) => a && idx.push(i));
    const agreedAccuracy = idx.length ? evaluateClustering(idx.map((i) => consensus[i]!), idx.map((i) => truth[i]!)).accuracy : NaN;
    perRound.push({ round: record.round, agreed: record.agreed, accuracy, agreedAccuracy, seconds: record.seconds });
    log(`round ${record.round}: ${record.agreed} agreed (${(100 * record.fraction).toFixed(1)}%), ACC ${(100 * accuracy).toFixed(2)}, ACC on agreed ${(100 * agreedAccuracy).toFixed(2)}, ${record.seconds.toFixed(0)} s`);
  },
});
stageSeconds[lastStage] = (stageSeconds[lastStage] ?? 0) + (performance.now() - lastTime) / 1000;
const ev = evaluateClustering(result.labels, truth);
log(`done in ${result.seconds.toFixed(0)} s: best round ${result.bestRound}, ACC ${(100 * ev.accuracy).toFixed(2)}, NMI ${(100 * ev.nmi).toFixed(2)}, ARI ${(100 * ev.ari).toFixed(2)}`);

if (labelsFile) {
  const p = await result.predict(data);
  const k = result.nClusters;
  const probabilities: number[][] = [];
  for (let i = 0; i < data.length; i++) probabilities.push(Array.from(p.probabilities.data.subarray(i * k, (i + 1) * k), (v) => Math.round(v * 1e6) / 1e6));
  await writeFile(labelsFile, `${JSON.stringify({ labels: Array.from(result.labels), probabilities })}\n`);
  log(`wrote ${labelsFile}`);
}

reportPeak({
  accuracy: ev.accuracy,
  nmi: ev.nmi,
  ari: ev.ari,
  seconds: result.seconds,
  bestRound: result.bestRound,
  rounds: perRound,
  stageSeconds,
});
