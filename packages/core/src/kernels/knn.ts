/**
 * Exact k-nearest neighbours over an [n, d] matrix, in row blocks so memory stays bounded: each block is one
 * ONNX Runtime call, a Gemm of the block against all rows (cosine on unit rows; for Euclidean the score
 * 2 q.x - |x|^2, which orders neighbours like the distance) followed by TopK. Self-matches are removed after a
 * TopK of k + 1, which avoids rewriting the whole score block.
 */
import { asFloat32, assertMatrix } from '../checks.js';
import { InvalidInputError, ShapeError } from '../errors.js';
import { GraphBuilder } from '../graph/builder.js';
import { Tensor } from '../tensor.js';
import { c, validateOptions } from '../validation.js';
import { kernelRuntime, l2Normalize, type KernelOptions } from './similarity.js';

export type KnnMetric = 'cosine' | 'euclidean';

export interface KnnOptions extends KernelOptions {
  /** Neighbours per row. */
  k: number;
  /** 'cosine' (default): values are similarities, best first. 'euclidean': values are distances, nearest first. */
  metric?: KnnMetric;
  /** Count each row as its own neighbour (default false). Ignored when `query` is given. */
  includeSelf?: boolean;
  /** Rows to find neighbours for (default: the rows of `x` themselves). */
  query?: Tensor;
  /** Query rows per ONNX Runtime call (default: about 64 MB of scores per block). */
  blockSize?: number;
  /** Called after each block with rows done and rows in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface KnnResult {
  /** [rows, k] neighbour row indices into `x`, best first. */
  indices: Tensor<'int32'>;
  /** [rows, k] cosine similarities (descending) or Euclidean distances (ascending). */
  values: Tensor<'float32'>;
  metric: KnnMetric;
  k: number;
}

const SCORE_BLOCK_BYTES = 64 * 1024 * 1024;

function buildGraph(metric: KnnMetric, d: number, kk: number): GraphBuilder {
  const g = new GraphBuilder({ name: `knn_${metric}` });
  const q = g.input('q', 'float32', ['b', d]);
  const x = g.input('x', 'float32', ['n', d]);
  let scores;
  if (metric === 'cosine') {
    scores = g.op('Gemm', [q, x], { transB: 1 });
  } else {
    const negNorms = g.input('neg_norms', 'float32', [1, 'n']);
    scores = g.op('Gemm', [q, x, negNorms], { transB: 1, alpha: 2, beta: 1 });
  }
  const [values, indices] = g.opMulti('TopK', [scores, g.int64s([kk])], { axis: 1, largest: 1, sorted: 1 }, 2);
  g.output(values!, 'values');
  g.output(g.op('Cast', [indices!], { to: 6 }), 'indices');
  return g;
}

/** Exact k nearest neighbours of every row of `query` (default: of `x`) among the rows of `x`. */
export async function knn(x: Tensor, options: KnnOptions): Promise<KnnResult> {
  const [n, d] = assertMatrix('x', x);
  const self = options?.query === undefined;
  const excludeSelf = self && !(options?.includeSelf ?? false);
  const maxK = excludeSelf ? n - 1 : n;
  if (maxK < 1) throw new InvalidInputError('x', `needs at least 2 rows to find neighbours other than the row itself, got ${n}`);
  const o = validateOptions('knn', options, {
    k: c.int({ min: 1, max: maxK }),
    metric: c.oneOf(['cosine', 'euclidean'] as const),
    includeSelf: c.bool(),
    query: c.optional(c.instanceOf(Tensor)),
    blockSize: c.int({ min: 1 }),
    onProgress: c.optional(c.func<(done: number, total: number) => void>()),
    runtime: c.optional(c.object()),
    device: c.optional(c.oneOf(['auto', 'cpu', 'cuda', 'webgpu'] as const)),
    threads: c.optional(c.int({ min: 0 })),
  }, {
    metric: 'cosine',
    includeSelf: false,
    blockSize: Math.max(16, Math.min(4096, Math.floor(SCORE_BLOCK_BYTES / 4 / n))),
  });
  let q = x;
  if (o.query) {
    const [, dq] = assertMatrix('query', o.query);
    if (dq !== d) throw new ShapeError('query', ['m', d], o.query.shape, 'query and x must have the same number of columns.');
    q = o.query;
  }
  const rows = q.shape[0]!;
  const k = o.k;
  const kk = excludeSelf ? k + 1 : k;
  const kernel = { ...(options.runtime ? { runtime: options.runtime } : {}), device: o.device ?? 'cpu', threads: o.threads ?? 0 };

  let xs = asFloat32(x);
  let qs = self ? xs : asFloat32(q);
  let negNorms: Tensor<'float32'> | undefined;
  if (o.metric === 'cosine') {
    xs = await l2Normalize(xs, kernel);
    qs = self ? xs : await l2Normalize(qs, kernel);
  } else {
    negNorms = Tensor.zeros([1, n]);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += xs.data[i * d + j]! ** 2;
      negNorms.data[i] = -s;
    }
  }

  const runtime = await kernelRuntime(kernel);
  const session = await runtime.sessionFor(`@dc/core:knn:${o.metric}:${d}:${kk}`, () => buildGraph(o.metric, d, kk));
  const indices = Tensor.zeros([rows, k], 'int32');
  const values = Tensor.zeros([rows, k], 'float32');
  for (let start = 0; start < rows; start += o.blockSize) {
    const end = Math.min(rows, start + o.blockSize);
    const feeds: Record<string, Tensor> = { q: qs.rows(start, end), x: xs };
    if (negNorms) feeds.neg_norms = negNorms;
    const out = await session.run(feeds);
    const bi = out.indices!.data as Int32Array;
    const bv = out.values!.data as Float32Array;
    for (let r = 0; r < end - start; r++) {
      const row = start + r;
      let w = 0;
      for (let j = 0; j < kk && w < k; j++) {
        const idx = bi[r * kk + j]!;
        if (excludeSelf && idx === row) continue;
        indices.data[row * k + w] = idx;
        if (o.metric === 'cosine') {
          values.data[row * k + w] = bv[r * kk + j]!;
        } else {
          // The GEMM score ranks exactly, but |q|^2 - score loses digits to cancellation: recompute the k distances.
          let s = 0;
          for (let c = 0; c < d; c++) s += (qs.data[row * d + c]! - xs.data[idx * d + c]!) ** 2;
          values.data[row * k + w] = Math.sqrt(s);
        }
        w++;
      }
    }
    o.onProgress?.(end, rows);
  }
  return { indices, values, metric: o.metric, k };
}
