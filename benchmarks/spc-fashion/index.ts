/**
 * SPC on all 70,000 Fashion-MNIST images, three seeds, each in its own process: ACC, NMI and ARI against the
 * paper's mean (65.58 / 72.09), wall time and peak memory per run (target: 60 minutes). The first seed's
 * consensus labels and predict()'s class probabilities go to benchmarks/results/spc-fashion-labels.json (read by
 * the RUC benchmark; no ground truth in it).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_ROOT } from '../harness.js';
import { runSuite } from '../spc-mnist/suite.js';

const results = join(BENCH_ROOT, 'results');
mkdirSync(results, { recursive: true });
await runSuite('spc-fashion', 'fashion', { accuracy: 65.58, nmi: 72.09 }, join(results, 'spc-fashion-labels.json'));
