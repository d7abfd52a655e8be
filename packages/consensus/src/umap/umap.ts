/**
 * UMAP (McInnes, Healy and Melville 2018) for clustering embeddings, seeded, on the exact kNN graph from
 * @dc/core instead of an approximate neighbour search.
 *
 * Two engines share that graph:
 * - 'native' (default): our typed-array fuzzy simplicial set and layout loop, with umap-js's curve fit for the
 *   a, b parameters (findABParams). We replaced the two parts that measurably fail the 70,000 x 32 budget
 *   (60 s, 2 GB): umap-js's graph construction (64 s, 3.2 GB) and its optimisation loop (~290 s); see graph.ts,
 *   optimize.ts and benchmarks/umap/profile.ts.
 * - 'umap-js': umap-js itself, fed the same kNN through setPrecomputedKNN and our seeded random numbers. Fine
 *   for a few thousand points; kept as the reference the native engine is checked against.
 *
 * Deviation from umap-js: the default initialisation is PCA ('pca'); umap-js only has random initialisation
 * ('random'), which on large inputs tends to split clusters into islands. The Python package's default is a
 * spectral layout, which we do not implement.
 */
import { InvalidInputError, InvalidOptionError, Rng, Tensor, c, knn, validateOptions, type KnnResult } from '@dc/core';
import { UMAP } from 'umap-js';
// findABParams is exported by umap-js's umap module but not re-exported by its entry point.
import { findABParams } from 'umap-js/dist/umap.js';
import { toFloat64Rows } from '../internal/matrix.js';
import { uniformSource } from '../internal/random.js';
import { fuzzySimplicialSet, type FuzzyGraph } from './graph.js';
import { pcaInit, randomInit } from './init.js';
import { optimizeLayout } from './optimize.js';

export type UmapStage = 'knn' | 'graph' | 'init' | 'optimize';

export interface UmapOptions {
  /** Output dimensions (default 2). */
  nComponents?: number;
  /** Neighbourhood size, the point itself included as in umap-js (default 15). */
  nNeighbors?: number;
  /** Minimum distance between embedded points (default 0.1). */
  minDist?: number;
  /** Scale of the embedded clusters (default 1); minDist must not exceed it. */
  spread?: number;
  /** Optimisation epochs (default: 500 up to 2,500 points, 400 up to 5,000, 300 up to 7,500, else 200). */
  epochs?: number;
  learningRate?: number;
  negativeSampleRate?: number;
  repulsionStrength?: number;
  localConnectivity?: number;
  setOpMixRatio?: number;
  /** Distance for the kNN graph (default 'euclidean'; 'cosine' uses 1 - cosine similarity). */
  metric?: 'euclidean' | 'cosine';
  /** Initial layout (default 'pca'). */
  init?: 'pca' | 'random';
  engine?: 'native' | 'umap-js';
  seed?: number;
  /** A precomputed kNN of x with includeSelf: true and k = nNeighbors (from @dc/core's knn). */
  knn?: KnnResult;
  onProgress?: (progress: { stage: UmapStage; done: number; total: number }) => void;
  /** ONNX Runtime device and threads for the kNN query. */
  device?: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  threads?: number;
}

export interface UmapResult {
  /** [n, nComponents] coordinates. */
  embedding: Tensor<'float32'>;
  /** The symmetric fuzzy graph the layout was optimised on (both directions of each edge). */
  graph: FuzzyGraph;
  knn: KnnResult;
  nEpochs: number;
  /** The fitted curve 1 / (1 + a d^(2b)). */
  a: number;
  b: number;
}

export function defaultEpochs(n: number): number {
  return n <= 2500 ? 500 : n <= 5000 ? 400 : n <= 7500 ? 300 : 200;
}

export async function fitUmap(x: Tensor, options: UmapOptions = {}): Promise<UmapResult> {
  const { data, n, d } = toFloat64Rows('x', x, 3);
  const o = validateOptions('fitUmap', options, {
    nComponents: c.int({ min: 1, max: 100 }),
    nNeighbors: c.int({ min: 2, max: n - 1 }),
    minDist: c.number({ min: 0 }),
    spread: c.number({ min: 0, minExclusive: true }),
    epochs: c.optional(c.int({ min: 1 })),
    learningRate: c.number({ min: 0, minExclusive: true }),
    negativeSampleRate: c.int({ min: 0 }),
    repulsionStrength: c.number({ min: 0 }),
    localConnectivity: c.number({ min: 0 }),
    setOpMixRatio: c.number({ min: 0, max: 1 }),
    metric: c.oneOf(['euclidean', 'cosine'] as const),
    init: c.oneOf(['pca', 'random'] as const),
    engine: c.oneOf(['native', 'umap-js'] as const),
    seed: c.int({ min: 0 }),
    knn: c.optional(c.object<KnnResult>()),
    onProgress: c.optional(c.func<NonNullable<UmapOptions['onProgress']>>()),
    device: c.optional(c.oneOf(['auto', 'cpu', 'cuda', 'webgpu'] as const)),
    threads: c.optional(c.int({ min: 0 })),
  }, {
    nComponents: 2,
    nNeighbors: Math.min(15, n - 1),
    minDist: 0.1,
    spread: 1,
    learningRate: 1,
    negativeSampleRate: 5,
    repulsionStrength: 1,
    localConnectivity: 1,
    setOpMixRatio: 1,
    metric: 'euclidean',
    init: 'pca',
    engine: 'native',
    seed: 0,
  });
  if (o.minDist > o.spread) {
    throw new InvalidOptionError('fitUmap', 'minDist', `a number <= spread (${o.spread})`, o.minDist);
  }
  // umap-js only starts from random positions; an explicit 'pca' with it would be silently ignored.
  if (o.engine === 'umap-js' && (options as { init?: unknown }).init === 'pca') {
    throw new InvalidOptionError('fitUmap', 'init', "'random' with engine 'umap-js' (umap-js has no PCA start)", 'pca');
  }
  const k = o.nNeighbors;
  const progress = o.onProgress;
  const rng = new Rng(o.seed);
  const nEpochs = o.epochs ?? defaultEpochs(n);

  progress?.({ stage: 'knn', done: 0, total: n });
  let nn: KnnResult;
  if (o.knn) {
    checkKnn(o.knn, n, k, o.metric);
    nn = o.knn;
  } else {
    nn = await knn(x, {
      k,
      metric: o.metric,
      includeSelf: true,
      ...(o.device ? { device: o.device } : {}),
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      onProgress: (done, total) => progress?.({ stage: 'knn', done, total }),
    });
  }
  const indices = nn.indices.data;
  const distances = new Float64Array(n * k);
  for (let i = 0; i < n * k; i++) {
    const v = nn.values.data[i]!;
    // Cosine kNN holds similarities; UMAP's cosine distance is 1 - similarity (clamped: a point's own is 0).
    distances[i] = o.metric === 'cosine' ? (indices[i] === Math.floor(i / k) ? 0 : Math.max(0, 1 - v)) : v;
  }

  const { a, b } = findABParams(o.spread, o.minDist);
  let embedding: Float32Array;
  let graph: FuzzyGraph;
  progress?.({ stage: 'graph', done: 0, total: 1 });
  graph = fuzzySimplicialSet(indices, distances, n, k, o.localConnectivity, o.setOpMixRatio);
  progress?.({ stage: 'graph', done: 1, total: 1 });

  if (o.engine === 'umap-js') {
    embedding = runUmapJs(data, n, d, indices, distances, k, nEpochs, o, rng, progress);
  } else {
    progress?.({ stage: 'init', done: 0, total: 1 });
    embedding = Float32Array.from(o.init === 'pca' ? pcaInit(data, n, d, o.nComponents, rng) : randomInit(n, o.nComponents, rng));
    progress?.({ stage: 'init', done: 1, total: 1 });
    optimizeLayout(embedding, n, o.nComponents, graph, {
      nEpochs,
      a,
      b,
      learningRate: o.learningRate,
      negativeSampleRate: o.negativeSampleRate,
      repulsionStrength: o.repulsionStrength,
      rng,
      ...(progress ? { onEpoch: (done: number, total: number) => progress({ stage: 'optimize', done, total }) } : {}),
    });
  }
  return { embedding: new Tensor('float32', embedding, [n, o.nComponents]), graph, knn: nn, nEpochs, a, b };
}

function checkKnn(nn: KnnResult, n: number, k: number, metric: string): void {
  const ok = nn.indices instanceof Tensor && nn.values instanceof Tensor;
  if (!ok || nn.indices.shape[0] !== n || nn.indices.shape[1] !== k || nn.values.shape[0] !== n || nn.values.shape[1] !== k) {
    throw new InvalidInputError('knn', `must be a kNN result of x with k = nNeighbors = ${k} ([${n}, ${k}] indices and values)`);
  }
  if (nn.metric !== metric) throw new InvalidInputError('knn', `was computed with metric '${nn.metric}', but metric is '${metric}'`);
  for (let i = 0; i < n; i++) {
    let self = false;
    for (let m = 0; m < k; m++) {
      const j = nn.indices.data[i * k + m]!;
      if (!Number.isInteger(j) || j < 0 || j >= n) throw new InvalidInputError('knn', `row ${i} lists neighbour ${j}, outside [0, ${n})`);
      if (j === i) self = true;
    }
    if (!self) throw new InvalidInputError('knn', `row ${i} does not list the point itself; compute it with includeSelf: true`);
  }
}

function runUmapJs(
  data: Float64Array,
  n: number,
  d: number,
  indices: Int32Array,
  distances: Float64Array,
  k: number,
  nEpochs: number,
  o: { nComponents: number; minDist: number; spread: number; learningRate: number; negativeSampleRate: number; repulsionStrength: number; localConnectivity: number; setOpMixRatio: number },
  rng: Rng,
  progress: UmapOptions['onProgress'],
): Float32Array {
  const umap = new UMAP({
    nComponents: o.nComponents,
    nNeighbors: k,
    minDist: o.minDist,
    spread: o.spread,
    nEpochs,
    learningRate: o.learningRate,
    negativeSampleRate: o.negativeSampleRate,
    repulsionStrength: o.repulsionStrength,
    localConnectivity: o.localConnectivity,
    setOpMixRatio: o.setOpMixRatio,
    random: uniformSource(rng),
  });
  const rows = Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * d, (i + 1) * d)));
  umap.setPrecomputedKNN(
    Array.from({ length: n }, (_, i) => Array.from(indices.subarray(i * k, (i + 1) * k))),
    Array.from({ length: n }, (_, i) => Array.from(distances.subarray(i * k, (i + 1) * k))),
  );
  const total = umap.initializeFit(rows);
  progress?.({ stage: 'init', done: 1, total: 1 });
  for (let e = 0; e < total; e++) {
    umap.step();
    progress?.({ stage: 'optimize', done: e + 1, total });
  }
  const y = umap.getEmbedding();
  const out = new Float32Array(n * o.nComponents);
  for (let i = 0; i < n; i++) for (let c2 = 0; c2 < o.nComponents; c2++) out[i * o.nComponents + c2] = y[i]![c2]!;
  return out;
}
