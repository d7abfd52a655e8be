/**
 * Metrics benchmark (issue 4): every metric on 1,000,000 labels with 100 clusters and 100 classes, including ECE
 * on the full [10^6, 100] probability matrix and the clean-set quality. Target: under 1 s in total.
 *
 * Rows: each metric timed alone on one shared contingency table (the table's own build is its own row), the
 * one-call evaluateClustering (cold first call and the median of 5 warm calls), and the Hungarian step on the
 * 100 x 100 table. The reference is scikit-learn 1.2 on the same labels (each sklearn function builds its own
 * contingency table, as it does in use); its ACC is SciPy's linear_sum_assignment and its ECE a NumPy version.
 */
import { Tensor, linearSumAssignment } from '@dc/core';
import {
  ami,
  ari,
  calibration,
  cleanSetQuality,
  clusteringAccuracy,
  confusionMatrix,
  contingency,
  evaluateClustering,
  nmi,
  purity,
  type Contingency,
} from '@dc/metrics';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_ROOT, Report, runPython } from '../harness.js';
import { benchData } from './data.js';

const N = 1_000_000;
const K = 100;
const BINS = 15;
const report = new Report('metrics');
const data = benchData(N, K);
const { truth, pred, probabilities, clean } = data;
const probTensor = new Tensor('float32', probabilities, [N, K]);

function seconds(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Cold: the first call in this process, JIT not warmed.
const cold = seconds(() => evaluateClustering(pred, truth, { probabilities: probTensor, clean, bins: BINS }));
const warm: number[] = [];
let result = evaluateClustering(pred, truth, { probabilities: probTensor, clean, bins: BINS });
for (let r = 0; r < 5; r++) warm.push(seconds(() => (result = evaluateClustering(pred, truth, { probabilities: probTensor, clean, bins: BINS }))));

// Each metric alone on one shared table, median of 5.
const perMetric: Record<string, number[]> = {};
const values: Record<string, number> = {};
for (let r = 0; r < 5; r++) {
  let table!: Contingency;
  const time = (name: string, fn: () => unknown) => (perMetric[name] ??= []).push(seconds(fn));
  time('contingency table', () => (table = contingency(pred, truth)));
  time('ACC (Hungarian)', () => (values.acc = clusteringAccuracy(table).accuracy));
  time('NMI', () => (values.nmi = nmi(table)));
  time('AMI', () => (values.ami = ami(table)));
  time('ARI', () => (values.ari = ari(table)));
  time('purity', () => (values.purity = purity(table)));
  time('confusion matrix', () => confusionMatrix(table, { reorder: true }));
  time('ECE (1e6 x 100 probabilities)', () => (values.ece = calibration(probTensor, truth, { pred, bins: BINS }).ece));
  time('clean-set P/R/F1', () => cleanSetQuality(table, clean));
}

// The Hungarian step alone on the 100 x 100 table.
const table = contingency(pred, truth);
const dense = table.dense();
const gain = Array.from({ length: K }, (_, col) => Array.from({ length: K }, (_, r) => dense[r * K + col]!));
const hungarian: number[] = [];
for (let r = 0; r < 5; r++) hungarian.push(seconds(() => linearSumAssignment(gain, { maximize: true })));

// scikit-learn on the same labels.
const dir = join(BENCH_ROOT, '.cache', 'metrics');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'truth.bin'), truth);
writeFileSync(join(dir, 'pred.bin'), pred);
writeFileSync(join(dir, 'confidence.bin'), data.confidence);
type Ref = Record<string, { seconds: number; value: number | null }>;
const ref = await runPython<Ref>(join(BENCH_ROOT, 'metrics', 'sklearn_reference.py'), [dir, String(K), String(BINS)]);
const refOf = (key: string) => (ref.available ? ref.value![key]!.seconds : null);
const agree = (key: string, ours: number) => {
  if (!ref.available) return ref.reason ?? 'reference unavailable';
  const theirs = ref.value![key]!.value!;
  return `|ours - reference| = ${Math.abs(ours - theirs).toExponential(1)}`;
};

const CASE = `n=${N / 1e6}M, ${K} clusters x ${K} classes`;
const rows: [string, string | null, string | undefined][] = [
  ['contingency table', 'contingency', 'built once here and shared; every scikit-learn function builds its own'],
  ['ACC (Hungarian)', 'acc', `reference: contingency + SciPy linear_sum_assignment; ${agree('acc', values.acc!)}`],
  ['NMI', 'nmi', agree('nmi', values.nmi!)],
  ['AMI', 'ami', agree('ami', values.ami!)],
  ['ARI', 'ari', agree('ari', values.ari!)],
  ['purity', 'purity', `reference: NumPy on contingency_matrix; ${agree('purity', values.purity!)}`],
  ['confusion matrix', null, 'reordered by the ACC mapping'],
  ['ECE (1e6 x 100 probabilities)', 'ece', `checks all 10^8 probabilities and builds its own table; reference: NumPy (scikit-learn has no ECE); ${agree('ece', values.ece!)}`],
  ['clean-set P/R/F1', null, undefined],
];
let sum = 0;
let sumWithReference = 0;
for (const [name, key, note] of rows) {
  const ours = median(perMetric[name]!);
  sum += ours;
  if (key) sumWithReference += ours;
  report.add({ case: CASE, metric: `${name} (median of 5)`, ours, reference: key ? refOf(key) : null, unit: 's', ...(note ? { note } : {}) });
}
const refTotal = ref.available ? Object.values(ref.value!).reduce((s, v) => s + v.seconds, 0) : null;
report.add({ case: CASE, metric: 'sum of the rows above', ours: sum, unit: 's', target: { op: '<', value: 1 } });
// Like for like: only the work both sides do (the reference has no confusion-matrix or clean-set rows).
report.add({ case: CASE, metric: 'sum of the rows with a reference', ours: sumWithReference, reference: refTotal, unit: 's', note: 'reference: sum of the scikit-learn/SciPy/NumPy rows, each one run (ours: medians of 5)' });
report.add({ case: CASE, metric: 'evaluateClustering, all metrics (median of 5)', ours: median(warm), unit: 's', target: { op: '<', value: 1 } });
report.add({ case: CASE, metric: 'evaluateClustering, all metrics (first call)', ours: cold, unit: 's', target: { op: '<', value: 1 } });
report.add({ case: `${K} x ${K} contingency table`, metric: 'Hungarian (munkres via linearSumAssignment, median of 5)', ours: median(hungarian), unit: 's' });
report.finish();
console.log(`\nACC ${result.accuracy.toFixed(4)}  NMI ${result.nmi.toFixed(4)}  AMI ${result.ami.toFixed(4)}  ARI ${result.ari.toFixed(4)}  ECE ${result.calibration!.ece.toFixed(4)}`);
