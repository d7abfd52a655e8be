/**
 * HDBSCAN benchmark (issue 6). Ours on 70,000 2-D points (a stand-in for a UMAP embedding) in a fresh process,
 * target < 3 s; hdbscan-ts against ours on the same 2,000 points; R's dbscan::hdbscan as the reference where it
 * fits in memory. R builds the full n x n distance and mutual-reachability matrices (two n(n-1)/2 doubles:
 * 39 GB at 70,000 points), so it runs on the largest size that fits this machine's memory instead.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ROOT, Report, runIsolated, runR } from '../harness.js';
import { embeddingLike } from './data.js';

const report = new Report('hdbscan');
const N = 70_000;
const MIN_PTS = 5;

function readInt32(path: string): Int32Array {
  const buf = readFileSync(path);
  return new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function ari(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
  const table = new Map<string, number>();
  const rows = new Map<string, number>();
  const cols = new Map<string, number>();
  for (let i = 0; i < a.length; i++) {
    // Noise points as singletons, so agreement is about clusters.
    const la = a[i]! < 0 ? `n${i}` : String(a[i]);
    const lb = b[i]! < 0 ? `n${i}` : String(b[i]);
    count(table, `${la}|${lb}`);
    count(rows, la);
    count(cols, lb);
  }
  const pairs = (m: number) => (m * (m - 1)) / 2;
  const sum = (m: Map<string, number>) => [...m.values()].reduce((s, v) => s + pairs(v), 0);
  const index = sum(table);
  const expected = (sum(rows) * sum(cols)) / pairs(a.length);
  const max = (sum(rows) + sum(cols)) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}

const full = await runIsolated<{ seconds: number; clusters: number }>(join(BENCH_ROOT, 'hdbscan', 'run-ours.ts'), [String(N), String(MIN_PTS)]);
report.add({ case: `n=${N} d=2 minPts=${MIN_PTS}`, metric: 'wall time', ours: full.value.seconds, unit: 's', target: { op: '<', value: 3 }, note: `${full.value.clusters} clusters; ours in a fresh process` });
report.add({ case: `n=${N} d=2 minPts=${MIN_PTS}`, metric: 'peak memory', ours: full.peakMiB, unit: 'MiB' });

// hdbscan-ts is roughly cubic: 2,000 points is what it finishes in reasonable time. Both run cold in fresh
// processes on the same points.
const SMALL = 2000;
const ref = await runIsolated<{ seconds: number; labels: number[] }>(join(BENCH_ROOT, 'hdbscan', 'run-hdbscan-ts.ts'), [String(SMALL), String(MIN_PTS)]);
const dir = mkdtempSync(join(tmpdir(), 'dc-hdbscan-'));
try {
  const smallLabels = join(dir, 'small.labels');
  const ours = await runIsolated<{ seconds: number; clusters: number }>(join(BENCH_ROOT, 'hdbscan', 'run-ours.ts'), [String(SMALL), String(MIN_PTS), smallLabels]);
  report.add({
    case: `n=${SMALL} d=2 minPts=${MIN_PTS}`,
    metric: 'wall time vs hdbscan-ts',
    ours: ours.value.seconds,
    reference: ref.value.seconds,
    unit: 's',
    note: `reference: hdbscan-ts 1.0.17 (minClusterSize = minSamples = ${MIN_PTS}); ours ${ours.value.clusters} clusters, hdbscan-ts ${new Set(ref.value.labels.filter((l) => l >= 0)).size}; ARI between them ${ari(readInt32(smallLabels), ref.value.labels).toFixed(3)} (noise as singletons)`,
  });

  // R's dbscan::hdbscan at 70,000 points when its two n(n-1)/2 double matrices fit in a quarter of the free
  // memory (others share this machine), else at the largest multiple of 5,000 up to 20,000 that does.
  const bytesFor = (n: number) => 8 * n * (n - 1);
  let rN = N;
  if (bytesFor(rN) > freemem() / 4) rN = 20_000;
  while (bytesFor(rN) > freemem() / 4 && rN > 5000) rN -= 5000;
  if (rN < N) {
    report.add({ case: `n=${N} d=2 minPts=${MIN_PTS}`, metric: 'wall time vs R dbscan', ours: full.value.seconds, reference: null, unit: 's', note: `R dbscan::hdbscan needs ${(bytesFor(N) / 2 ** 30).toFixed(0)} GiB for its distance matrices at n=${N}; compared at n=${rN} below` });
  }
  const file = join(dir, 'points.f32');
  writeFileSync(file, Buffer.from(embeddingLike(rN).data.buffer));
  const r = await runR<{ seconds: number; clusters: number }>(join(BENCH_ROOT, 'hdbscan', 'reference.R'), [file, String(rN), '2', String(MIN_PTS)]);
  if (r.available && r.value) {
    const oursLabels = join(dir, 'ours.labels');
    const oursR = await runIsolated<{ seconds: number }>(join(BENCH_ROOT, 'hdbscan', 'run-ours.ts'), [String(rN), String(MIN_PTS), oursLabels]);
    const rLabels = readInt32(`${file}.labels`).map((v) => v - 1);
    report.add({
      case: `n=${rN} d=2 minPts=${MIN_PTS}`,
      metric: 'wall time vs R dbscan',
      ours: oursR.value.seconds,
      reference: r.value.seconds,
      unit: 's',
      note: `reference: R dbscan::hdbscan, timed inside R (${r.value.clusters} clusters); ARI ours vs R ${ari(readInt32(oursLabels), rLabels).toFixed(4)} (noise as singletons)`,
    });
  } else {
    report.add({ case: `n=${rN} d=2 minPts=${MIN_PTS}`, metric: 'wall time vs R dbscan', ours: null, reference: null, unit: 's', note: `R reference unavailable: ${r.reason}` });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
report.finish();
