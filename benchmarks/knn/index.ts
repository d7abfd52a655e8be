/**
 * kNN benchmark (issue: foundation). Exact cosine kNN, n = 70,000, d = 64, k = 100, in a fresh process for its
 * peak memory; targets < 20 s and < 2 GB. Then ours against a straightforward JavaScript kNN on the first
 * 10,000 rows, both measured here.
 */
import { knn } from '@dc/core';
import { join } from 'node:path';
import { BENCH_ROOT, Report, runIsolated, timeIt } from '../harness.js';
import { blobs } from './data.js';
import { naiveCosineKnn } from './naive.js';

const report = new Report('knn');
const N = 70_000;
const D = 64;
const K = 100;

const full = await runIsolated<{ seconds: number }>(join(BENCH_ROOT, 'knn', 'run-ours.ts'), [String(N), String(D), String(K)]);
report.add({ case: `n=${N} d=${D} k=${K} cosine`, metric: 'wall time', ours: full.value.seconds, unit: 's', target: { op: '<', value: 20 } });
report.add({ case: `n=${N} d=${D} k=${K} cosine`, metric: 'peak memory', ours: full.peakMiB, unit: 'MiB', target: { op: '<', value: 2048 } });

const SUB = 10_000;
const x = blobs(SUB, D);
const ours = await timeIt(() => knn(x, { k: K }));
const naive = await timeIt(() => naiveCosineKnn(x.data, SUB, D, K));
let agree = 0;
for (let i = 0; i < SUB * K; i++) if (ours.result.indices.data[i] === naive.result[i]) agree++;
report.add({
  case: `n=${SUB} d=${D} k=${K} cosine`,
  metric: 'wall time',
  ours: ours.seconds,
  reference: naive.seconds,
  unit: 's',
  note: `reference: straightforward JavaScript kNN (similarities + sort per row); index agreement ${((100 * agree) / (SUB * K)).toFixed(2)}% (differences are float ties)`,
});
report.finish();
