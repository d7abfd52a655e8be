/**
 * The SPC benchmark suite shared by spc-mnist and spc-fashion: three seeds, each a fresh process (its own peak
 * memory), scored against the paper's mean figures. The schedule is chosen to fit one run into 60 minutes on two
 * CPU cores; the paper's is far larger (see the README's SPC section).
 */
import { join } from 'node:path';
import type { SpcOptions } from '@dc/consensus';
import { BENCH_ROOT, Report, runIsolated } from '../harness.js';

const SHARED_SCHEDULE: Omit<SpcOptions, 'seed'> = {
  nClusters: 10,
  ensembleSize: 3,
  pretrainEpochs: 2,
  epochs: 1,
  maxRounds: 5,
  patience: 2,
  learningRate: 5e-3,
};

/**
 * Per dataset, because the same changes measured differently on the two (consensus README):
 * - MNIST: longer member training is what helps. 4 pretraining epochs and 3 per round raised the three-seed mean
 *   from 97.97 to 98.30 (31-35 minutes a run on a 2-core Xeon), the authors' 10 pretraining epochs with 6 per round
 *   to 98.48 (20 minutes a run on a 2-core EPYC about 2.2x faster, so about 45 on the Xeon), and the concatenated
 *   latent codes as a fourth vote (Section 5.2) to 98.55 in runs of the same schedule (each seed gained 0.04-0.12);
 * - Fashion-MNIST: every longer schedule tried ended below round 0's accuracy (10 pretraining epochs lowered round 0
 *   itself, seed 0: 58.01 against 62.44), so it keeps the short one, and it trains on Eq. 2's targets (hard
 *   consensus labels on the agreed points only): with the authors' vote-share targets the rounds lost 1.3 points
 *   after round 0 (seed 0: 61.15), with Eq. 2's they gained (seed 0: 62.98).
 */
export const BENCH_OPTIONS: Record<'mnist' | 'fashion', Omit<SpcOptions, 'seed'>> = {
  mnist: { ...SHARED_SCHEDULE, pretrainEpochs: 10, epochs: 6, concatenatedMember: true },
  fashion: { ...SHARED_SCHEDULE, pseudoLabels: 'agreed' },
};

export const SEEDS = [0, 1, 2];

export interface RunResult {
  accuracy: number;
  nmi: number;
  ari: number;
  seconds: number;
  bestRound: number;
  rounds: { round: number; agreed: number; accuracy: number; agreedAccuracy: number; seconds: number }[];
  stageSeconds: Record<string, number>;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
/** Sample standard deviation (the paper's "(.10)" spreads are standard deviations over its runs). */
const std = (v: number[]) => (v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)));

export async function runSuite(name: string, dataset: 'mnist' | 'fashion', paper: { accuracy: number; nmi: number }, labelsFile?: string): Promise<void> {
  // The child script's experiment overrides would be inherited by every run and misreport the schedule.
  for (const v of ['DC_SPC_OPTIONS', 'DC_SPC_SPLIT']) {
    if (process.env[v] !== undefined) throw new Error(`${name}: unset ${v}; the suite runs its benchmark schedule on all images`);
  }
  const report = new Report(name);
  const runs: RunResult[] = [];
  for (const [i, seed] of SEEDS.entries()) {
    const args = [dataset, String(seed), ...(i === 0 && labelsFile ? [labelsFile] : [])];
    const child = await runIsolated<RunResult>(join(BENCH_ROOT, 'spc-mnist', 'run.ts'), args);
    const r = child.value;
    runs.push(r);
    const c = `seed ${seed}`;
    report.add({ case: c, metric: 'ACC', ours: 100 * r.accuracy, reference: paper.accuracy, unit: '%', note: `best round ${r.bestRound}; agreed per round ${r.rounds.map((x) => x.agreed).join(', ')}; ACC per round ${r.rounds.map((x) => (100 * x.accuracy).toFixed(2)).join(', ')}` });
    report.add({ case: c, metric: 'NMI', ours: 100 * r.nmi, reference: paper.nmi, unit: '%' });
    report.add({ case: c, metric: 'ARI', ours: 100 * r.ari, unit: '%' });
    report.add({ case: c, metric: 'wall time', ours: child.seconds / 60, unit: 'min', target: { op: '<=', value: 60 }, note: `fitSpc ${(r.seconds / 60).toFixed(1)} min; stages (s): ${Object.entries(r.stageSeconds).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}` });
    report.add({ case: c, metric: 'peak memory', ours: child.peakMiB, unit: 'MiB' });
  }
  const acc = runs.map((r) => 100 * r.accuracy);
  const nmi = runs.map((r) => 100 * r.nmi);
  const ari = runs.map((r) => 100 * r.ari);
  report.add({ case: `mean of ${runs.length}`, metric: 'ACC', ours: mean(acc), reference: paper.accuracy, unit: '%', target: { op: '>=', value: paper.accuracy }, note: 'reference: the paper\'s mean (Table 1)' });
  report.add({ case: `spread of ${runs.length}`, metric: 'ACC std', ours: std(acc), unit: 'pp' });
  report.add({ case: `mean of ${runs.length}`, metric: 'NMI', ours: mean(nmi), reference: paper.nmi, unit: '%' });
  report.add({ case: `spread of ${runs.length}`, metric: 'NMI std', ours: std(nmi), unit: 'pp' });
  report.add({ case: `mean of ${runs.length}`, metric: 'ARI', ours: mean(ari), unit: '%', note: 'the paper reports no ARI' });
  report.add({ case: `spread of ${runs.length}`, metric: 'ARI std', ours: std(ari), unit: 'pp' });
  report.add({ case: 'schedule', metric: 'options', ours: null, unit: '-', note: JSON.stringify(BENCH_OPTIONS[dataset]) });
  report.finish();
}
