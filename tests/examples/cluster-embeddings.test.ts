/**
 * The cluster-embeddings example as a user runs it: a child process on a `.npy` of embeddings (five Gaussian
 * clusters in 32-D), then its CSV and summary, and its answers to a bad command line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, Tensor } from '@dc/core';
import { writeNpy } from '@dc/data';
import { evaluateClustering } from '@dc/metrics';
import { runExample } from './run-example';

const run = (args: string[]) => runExample('cluster-embeddings.ts', args);
const K = 5;
const PER = 300;
const D = 32;

describe('examples/cluster-embeddings.ts', () => {
  let work: string;
  let file: string;
  const truth = new Int32Array(K * PER);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'dc-cluster-embeddings-'));
    file = join(work, 'features.npy');
    const rng = new Rng(11);
    const centres = Array.from({ length: K }, () => Array.from({ length: D }, () => rng.normal(0, 3)));
    const x = Tensor.zeros([K * PER, D]);
    for (let i = 0; i < K * PER; i++) {
      truth[i] = i % K;
      for (let j = 0; j < D; j++) x.data[i * D + j] = centres[i % K]![j]! + rng.normal();
    }
    await writeNpy(file, x);
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('clusters a .npy of embeddings and writes one CSV row per point and a summary', () => {
    const out = join(work, 'out');
    const r = run([file, '--clusters', String(K), '--gmm', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/1500 embeddings of 32 values/);

    const rows = readFileSync(join(out, 'clusters.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('row,cluster,agreed');
    expect(rows).toHaveLength(1 + K * PER);
    const labels = new Int32Array(K * PER);
    rows.slice(1).forEach((row, i) => {
      const [index, cluster, agreed] = row.split(',').map(Number);
      expect(index).toBe(i);
      expect(cluster).toBeGreaterThanOrEqual(-1);
      expect(cluster).toBeLessThan(K);
      expect([0, 1]).toContain(agreed);
      labels[i] = cluster!;
    });
    // Five well separated clusters: the consensus finds them.
    expect(evaluateClustering(labels, truth).ari).toBeGreaterThan(0.95);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.points).toBe(K * PER);
    expect(summary.votes.map((v: { name: string }) => v.name)).toEqual(['UMAP seed 0 + HDBSCAN', 'UMAP seed 1 + HDBSCAN', 'UMAP seed 2 + HDBSCAN', 'Gaussian mixture']);
    for (const v of summary.votes) expect(v.agreementWithConsensus).toBeGreaterThan(0.9);
    expect(summary.clusterSizes.reduce((a: number, b: number) => a + b, 0) + summary.noise).toBe(K * PER);
    expect(summary.agreedFraction).toBeGreaterThan(0.9);
  }, 240_000);

  it('reads headerless float32 with --dim', () => {
    const raw = join(work, 'features.f32');
    const x = Float32Array.from({ length: 400 * 4 }, (_, i) => (Math.floor(i / 4) % 2) * 20 + ((i * 7919) % 13) / 13);
    writeFileSync(raw, Buffer.from(x.buffer));
    const r = run([raw, '--dim', '4', '--clusters', '2', '--runs', '1', '--out', join(work, 'raw-out')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/400 embeddings of 4 values/);
  }, 120_000);

  it('says what is wrong with the command line or the file and exits with status 1', () => {
    const noClusters = run([file]);
    expect(noClusters.status).toBe(1);
    expect(noClusters.stderr).toMatch(/--clusters must be an integer >= 2/);

    const badMetric = run([file, '--clusters', '5', '--metric', 'manhattan']);
    expect(badMetric.status).toBe(1);
    expect(badMetric.stderr).toMatch(/--metric must be euclidean or cosine, got manhattan/);

    const unknown = run([file, '--clusters', '5', '--neighbors', '15']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/--neighbors/);

    const missing = run([join(work, 'nothing.npy'), '--clusters', '5']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nothing\.npy/);

    // More clusters than the data holds at this minimum size: every run sits out, and the script says so.
    const tooMany = run([file, '--clusters', '40', '--runs', '1', '--min-cluster-size', '100']);
    expect(tooMany.status).toBe(1);
    expect(tooMany.stderr).toMatch(/no vote: no run found 40 clusters of at least 100 points/);
  }, 180_000);
});
