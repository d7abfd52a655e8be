/**
 * `npm run cluster-embeddings -w examples -- <file.npy> --clusters K`: clusters embeddings you already have (from
 * CLIP, a SimCLR encoder, an autoencoder...) without training anything.
 *
 * SPC's clustering stage on its own: UMAP to 2-D on the exact kNN graph (computed once, shared by every run), our
 * HDBSCAN cut to exactly K clusters, repeated with several UMAP seeds (optionally with a Gaussian mixture on the
 * embeddings as one more vote); the labellings are aligned with the Hungarian algorithm, the consensus is the mode,
 * and a point is "agreed" when every vote gives it the consensus label. Writes, to `--out` (default
 * examples/output/<file name>/): `clusters.csv` (`row,cluster,agreed`; cluster -1 where every vote left the point
 * as noise) and `summary.json` (options, cluster sizes, agreement, each vote's agreement with the consensus).
 * Input: a float32 or float64 `.npy` of shape [N, D], or headerless float32 with `--dim D`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KnnResult } from '@dc/core';
import { NoExactCutError, agreementMask, agreementStats, alignLabelings, consensusLabels, fitGmm, fitHdbscan, fitUmap } from '@dc/consensus';
import { loadNpyEmbeddings, loadRawEmbeddings } from '@dc/data';
import { parseCommandLine } from './command-line.js';

const USAGE = `usage: cluster-embeddings.ts <file.npy> --clusters K [options]

  --clusters K           number of clusters (required)
  --dim D                the file is headerless little-endian float32 with D values per row
  --runs N               UMAP + HDBSCAN runs, each with its own seed (default 3)
  --neighbours N         UMAP neighbours (default 30, SPC's)
  --min-cluster-size N   smallest HDBSCAN cluster (default 500 per 70,000 points, at least 10, SPC's)
  --metric M             euclidean or cosine, for the kNN graph (default euclidean)
  --gmm                  add a diagonal Gaussian mixture on the embeddings as one more vote
  --seed N               first UMAP seed (default 0)
  --out DIR              output folder (default examples/output/<file name>)`;

/** Parses the command line; a missing file, a bad number or an unknown flag is an error with the usage. */
function readCommandLine(argv: readonly string[]) {
  const cl = parseCommandLine(argv, {
    clusters: { type: 'string' },
    dim: { type: 'string' },
    runs: { type: 'string', default: '3' },
    neighbours: { type: 'string', default: '30' },
    'min-cluster-size': { type: 'string' },
    metric: { type: 'string', default: 'euclidean' },
    gmm: { type: 'boolean', default: false },
    seed: { type: 'string', default: '0' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  }, USAGE);
  if (cl.values.help) return 'help' as const;
  if (cl.positionals.length !== 1) throw cl.fail(`expected one embeddings file, got ${cl.positionals.length}`);
  const metric = cl.values.metric;
  if (metric !== 'euclidean' && metric !== 'cosine') throw cl.fail(`--metric must be euclidean or cosine, got ${String(metric)}`);
  const file = resolve(cl.positionals[0]!);
  return {
    file,
    clusters: cl.int('clusters', 2),
    dim: cl.values.dim === undefined ? null : cl.int('dim', 1),
    runs: cl.int('runs', 1),
    neighbours: cl.int('neighbours', 2),
    minClusterSize: cl.values['min-cluster-size'] === undefined ? null : cl.int('min-cluster-size', 2),
    metric: metric as 'euclidean' | 'cosine',
    gmm: cl.values.gmm === true,
    seed: cl.int('seed', 0),
    out: resolve((cl.values.out as string | undefined) ?? fileURLToPath(new URL(`./output/${basename(file, extname(file))}/`, import.meta.url))),
  };
}

async function main(): Promise<void> {
  const args = readCommandLine(process.argv.slice(2));
  if (args === 'help') {
    console.log(USAGE);
    return;
  }
  const t0 = performance.now();
  const data = args.dim === null ? await loadNpyEmbeddings(args.file) : await loadRawEmbeddings(args.file, { dim: args.dim });
  const x = data.features;
  const [n, d] = x.shape as [number, number];
  const minClusterSize = args.minClusterSize ?? Math.max(10, Math.round((500 * n) / 70_000));
  console.log(`${n} embeddings of ${d} values from ${args.file}; ${args.clusters} clusters of at least ${minClusterSize} points`);

  const votes: { name: string; labels: Int32Array }[] = [];
  let graph: KnnResult | undefined;
  for (let r = 0; r < args.runs; r++) {
    const seed = args.seed + r;
    const umap = await fitUmap(x, { seed, nNeighbors: args.neighbours, minDist: 0, metric: args.metric, ...(graph ? { knn: graph } : {}) });
    graph = umap.knn;
    try {
      const { labels } = fitHdbscan(umap.embedding, { minPts: 10, minClusterSize, nClusters: args.clusters });
      votes.push({ name: `UMAP seed ${seed} + HDBSCAN`, labels });
      console.log(`  UMAP seed ${seed} + HDBSCAN: ${labels.filter((l) => l < 0).length} noise points`);
    } catch (e) {
      // No level of this run's hierarchy has exactly K clusters of minClusterSize points: it sits out, as in SPC.
      if (!(e instanceof NoExactCutError)) throw e;
      console.log(`  UMAP seed ${seed} + HDBSCAN: no cut gives ${args.clusters} clusters, left out (${e.message})`);
    }
  }
  if (args.gmm) {
    votes.push({ name: 'Gaussian mixture', labels: fitGmm(x, { nComponents: args.clusters, covarianceType: 'diag', seed: args.seed }).labels });
    console.log('  Gaussian mixture on the embeddings: done');
  }
  if (votes.length === 0) throw new Error(`no vote: no run found ${args.clusters} clusters of at least ${minClusterSize} points; try another --clusters or a smaller --min-cluster-size`);

  const aligned = alignLabelings(votes.map((v) => v.labels));
  const { labels } = consensusLabels(aligned.labelings);
  const agreed = agreementMask(aligned.labelings);
  const stats = agreementStats(aligned.labelings);

  await mkdir(args.out, { recursive: true });
  const csv = ['row,cluster,agreed'];
  for (let i = 0; i < n; i++) csv.push(`${i},${labels[i]},${agreed[i]}`);
  await writeFile(join(args.out, 'clusters.csv'), `${csv.join('\n')}\n`);
  const sizes = Array.from({ length: args.clusters }, (_, k) => labels.reduce((s, l) => s + (l === k ? 1 : 0), 0));
  const noise = labels.reduce((s, l) => s + (l < 0 ? 1 : 0), 0);
  await writeFile(join(args.out, 'summary.json'), `${JSON.stringify({
    file: args.file,
    points: n,
    dimensions: d,
    options: { clusters: args.clusters, runs: args.runs, neighbours: args.neighbours, minClusterSize, metric: args.metric, gmm: args.gmm, seed: args.seed },
    votes: votes.map((v, i) => ({ name: v.name, agreementWithConsensus: stats.memberAgreement[i], noise: stats.memberNoise[i] })),
    pivot: votes[aligned.pivot]!.name,
    clusterSizes: sizes,
    noise,
    agreed: stats.agreed,
    agreedFraction: stats.agreedFraction,
  }, null, 1)}\n`);

  console.log(`\n${votes.length} votes; consensus cluster sizes ${sizes.join(', ')}${noise > 0 ? ` (${noise} noise)` : ''}`);
  console.log(`every vote agrees on ${stats.agreed} of ${n} points (${(100 * stats.agreedFraction).toFixed(1)}%); ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`wrote ${join(args.out, 'clusters.csv')} and summary.json`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
