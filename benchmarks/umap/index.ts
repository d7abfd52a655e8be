/**
 * UMAP benchmark (issue 6). Ours on 70,000 x 32 points to 2-D in a fresh process (targets < 60 s and < 2 GB);
 * plain umap-js (its own neighbour search) against ours on the same 10,000 points; R's uwot on the 70,000
 * points as a reference. Quality is trustworthiness (k = 10) on a 2,000-point subset.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ROOT, Report, runIsolated, runR } from '../harness.js';
import { defaultEpochs } from '@dc/consensus';
import { latentBlobs } from './data.js';

const report = new Report('umap');
const N = 70_000;
const D = 32;
type Ours = { seconds: number; stages: Record<string, number>; trust: number | null };
const stageNote = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');

const full = await runIsolated<Ours>(join(BENCH_ROOT, 'umap', 'run-ours.ts'), [String(N), String(D)]);
report.add({ case: `n=${N} d=${D} -> 2`, metric: 'wall time', ours: full.value.seconds, unit: 's', target: { op: '<', value: 60 }, note: `stages: ${stageNote(full.value.stages)}` });
report.add({ case: `n=${N} d=${D} -> 2`, metric: 'peak memory', ours: full.peakMiB, unit: 'MiB', target: { op: '<', value: 2048 } });

const SMALL = 10_000;
const plain = await runIsolated<{ seconds: number; trust: number }>(join(BENCH_ROOT, 'umap', 'run-umapjs.ts'), [String(SMALL), String(D)]);
const ours = await runIsolated<Ours>(join(BENCH_ROOT, 'umap', 'run-ours.ts'), [String(SMALL), String(D), 'quality']);
report.add({ case: `n=${SMALL} d=${D} -> 2`, metric: 'wall time vs umap-js', ours: ours.value.seconds, reference: plain.value.seconds, unit: 's', note: `reference: umap-js 1.4.0 with its own NN-descent neighbour search; both run ${defaultEpochs(SMALL)} epochs` });
report.add({ case: `n=${SMALL} d=${D} -> 2`, metric: 'peak memory vs umap-js', ours: ours.peakMiB, reference: plain.peakMiB, unit: 'MiB' });
report.add({ case: `n=${SMALL} d=${D} -> 2`, metric: 'trustworthiness k=10 (2,000-point subset)', ours: ours.value.trust, reference: plain.value.trust, unit: '' });

const dir = mkdtempSync(join(tmpdir(), 'dc-umap-'));
try {
  const file = join(dir, 'points.f32');
  writeFileSync(file, Buffer.from(latentBlobs(N, D).x.data.buffer));
  const threads = cpus().length;
  const r = await runR<{ seconds: number; uwot: string }>(join(BENCH_ROOT, 'umap', 'uwot.R'), [file, String(N), String(D), String(threads)]);
  report.add({
    case: `n=${N} d=${D} -> 2`,
    metric: 'wall time vs R uwot',
    ours: full.value.seconds,
    reference: r.available && r.value ? r.value.seconds : null,
    unit: 's',
    note: r.available && r.value
      ? `reference: uwot ${r.value.uwot} (Annoy neighbours, spectral init, 200 epochs, n_threads = ${threads}, single-threaded SGD), timed inside R`
      : `R reference unavailable: ${r.reason}`,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
report.finish();
