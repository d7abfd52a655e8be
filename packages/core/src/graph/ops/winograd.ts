/**
 * Winograd's minimal filtering F(4x4, 3x3) for 3x3, stride-1, pad-1 convolutions, in standard ONNX ops: the weight
 * gradient (the autodiff's 'winograd' method) and the forward convolution (the CPU runtime's lowering of Conv
 * nodes, runtime/winograd.ts, which also takes F(2x2, 3x3) for input gradients on 4x4 maps).
 *
 * The forward convolution can be written tile by tile: each 6x6 input tile d (stride 4) and each kernel g are
 * transformed (V = B^T d B, U = G g G^T), multiplied position by position and summed over input channels
 * (M = sum_c U ⊙ V), and each 4x4 output tile is Y = A^T M A. Every step is linear, so the weight gradient is the
 * same chain read backwards: dM = A dY A^T per output tile, dU = sum over tiles and batch of dM ⊙ V, and
 * dW = G^T dU G. The 36 positions make 36 products [M, tiles] x [tiles, C], with 4x fewer multiply-adds than the
 * 9 taps x 16 pixels of the direct form; the transforms cost passes over tensors 2.25x the size of X and dY.
 *
 * The transforms are dense products with kron(T, T) (a 36 x 36 matrix for the input tiles), simpler than the
 * sparse row-then-column passes and small next to the per-position products.
 *
 * Interpolation points 0, 1, -1, 2, -2 and infinity: the float32 results differ from the direct sum by about 2e-6
 * relative (measured on ResNet-18's layer shapes), the same order as the rounding of the direct sums.
 */
import { Tensor } from '../../tensor.js';
import type { GraphBuilder, Value } from '../builder.js';
import { spatialTable } from './grad-utils.js';

/**
 * A minimal filtering algorithm F(tile x tile, 3x3): input tiles of span = tile + 2 (stride tile), transformed by
 * B^T, kernels by G, and products back to output tiles by A^T.
 */
export interface WinogradTiling {
  tile: number;
  span: number;
  BT: readonly (readonly number[])[];
  G: readonly (readonly number[])[];
  AT: readonly (readonly number[])[];
}

/** F(4x4, 3x3), interpolation points 0, 1, -1, 2, -2 and infinity: 36 products per 16 outputs. */
export const F4x4: WinogradTiling = {
  tile: 4,
  span: 6,
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

/**
 * F(2x2, 3x3), points 0, 1, -1 and infinity: 16 products per 4 outputs, more multiply-adds than F(4x4, 3x3) but
 * transformed kernels 2.25x smaller, which is what a layer with many channels on a small map pays for.
 */
export const F2x2: WinogradTiling = {
  tile: 2,
  span: 4,
  BT: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  G: [
    [1, 0, 0],
    [1 / 2, 1 / 2, 1 / 2],
    [1 / 2, -1 / 2, 1 / 2],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};

const transposed = (t: readonly (readonly number[])[]) => t[0]!.map((_, j) => t.map((row) => row[j]!));

/** The 2-D transform as one matrix: kron(T, T)[(i, j), (u, v)] = T[i][u] T[j][v], as a [rows^2, cols^2] tensor. */
function kron2(t: readonly (readonly number[])[]): Tensor<'float32'> {
  const r = t.length;
  const c = t[0]!.length;
  const out = Tensor.zeros([r * r, c * c]);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) {
      for (let u = 0; u < c; u++) for (let v = 0; v < c; v++) out.data[(i * r + j) * c * c + u * c + v] = t[i]![u]! * t[j]![v]!;
    }
  }
  return out;
}

/**
 * Input and output channels from which a 3x3 stride-1 layer counts as wide: its weight gradient takes Winograd's
 * form, its forward convolution may (winogradConvGains), and the CPU runtime's default blocked-kernel lowering
 * takes it (nchwc.ts, `wideOnly`). Measured on ResNet-18's stages; narrower layers were not measured.
 */
export const WIDE_CHANNELS = 64;

/**
 * Whether a Winograd forward convolution (`winogradConv`) is worth it over ONNX Runtime's Conv: at least 64
 * input and output channels and maps of at most 8x8. Measured on ResNet-18's layers (batch 32, 2 threads, kernel
 * time inside whole steps): 256 channels at 8x8 about 8 ms against 16 (11 on the blocked kernels), 512 at 4x4 8
 * against 15. At 16x16 (128 channels) about 12 ms against 11 on the blocked kernels, with the output reordered by
 * a Transpose (4 ms of it); at 32x32 (64 channels) 24-28 against 16-20 direct.
 */
export function winogradConvGains(inChannels: number, outChannels: number, spatialOut: readonly number[]): boolean {
  return inChannels >= WIDE_CHANNELS && outChannels >= WIDE_CHANNELS && spatialOut.reduce((a, b) => a * b, 1) <= 64;
}

/** Whether F(4x4, 3x3) can compute the convolution: float32, 2-D, 3x3, stride 1, dilation 1, pad 1, ungrouped, sizes divisible by 4. */
export function winogradApplies(dtype: string, kernel: readonly number[], strides: readonly number[], dilations: readonly number[], pads: readonly number[], group: number, spatialOut: readonly number[]): boolean {
  return (
    dtype === 'float32' &&
    kernel.length === 2 &&
    kernel.every((k) => k === 3) &&
    strides.every((s) => s === 1) &&
    dilations.every((d) => d === 1) &&
    pads.every((p) => p === 1) &&
    group === 1 &&
    spatialOut.every((o) => o % F4x4.tile === 0)
  );
}

/**
 * Row indices into a spatial-major table [rows x cols positions, ...] (rows of the padded map; see grad-utils'
 * spatialTable) that cut out every window x window tile with stride 4, ordered [tile position, tile]: the
 * product with a transform [positions, window^2] then needs no reordering.
 */
function tileRows(cols: number, window: number, tile: number, tilesY: number, tilesX: number): number[] {
  const rows: number[] = [];
  for (let a = 0; a < window; a++) {
    for (let b = 0; b < window; b++) {
      for (let ty = 0; ty < tilesY; ty++) for (let tx = 0; tx < tilesX; tx++) rows.push((ty * tile + a) * cols + tx * tile + b);
    }
  }
  return rows;
}

/** Rows `rows` of a table (a row gather), or the table itself where they are all its rows in order. */
function gatherRows(g: GraphBuilder, table: Value, rows: readonly number[]): Value {
  if (rows.length === table.staticShape[0] && rows.every((r, i) => r === i)) return table;
  return g.op('Gather', [table, g.int64s(rows)], { axis: 0 });
}

/** `transform` [positions, window^2] applied to every tile of a table [Sp, N * C]: [positions, tiles * N, C]. */
function tileTransform(g: GraphBuilder, table: Value, transform: Tensor, cols: number, window: number, tile: number, tilesY: number, tilesX: number, channels: number): Value {
  const positions = transform.shape[0]!;
  const tiles = g.op('Reshape', [gatherRows(g, table, tileRows(cols, window, tile, tilesY, tilesX)), g.int64s([window * window, -1])]);
  return g.op('Reshape', [g.op('MatMul', [g.constant(transform), tiles]), g.int64s([positions, -1, channels])]);
}

/**
 * dW [M, C, 3, 3] of Y = Conv(X, W) (3x3, stride 1, pad 1; see winogradApplies) for X [N, C, H, W] and dY
 * [N, M, H, W], given as spatial-major tables: X zero-padded, [(H + 2)(W + 2), N C], and dY [H W, N M]. Tiles are
 * cut from the tables by row gathers (no per-image Conv, whose overhead dominates on small maps) and transformed
 * by one product each, so V and dM come out as [36, tiles N, channels] and the products per position contract
 * over tiles and batch with dM transposed inside the MatMul.
 */
export function winogradWeightGrad(g: GraphBuilder, xTable: Value, dyTable: Value, spatial: readonly number[], wShape: readonly number[]): Value {
  const { tile, span, BT, G, AT } = F4x4;
  const [h, w] = spatial as [number, number];
  const [m, c] = wShape as [number, number];
  const v = tileTransform(g, xTable, kron2(BT), w + 2, span, tile, h / tile, w / tile, c); // [36, tiles N, C]
  const dm = tileTransform(g, dyTable, kron2(transposed(AT)), w, tile, tile, h / tile, w / tile, m); // [36, tiles N, M]
  const du = g.op('MatMul', [g.op('Transpose', [dm], { perm: [0, 2, 1] }), v]); // [36, M, C]
  // dW = G^T dU G per channel pair: [M C, 36] x [36, 9], read from dU [36, M C] by the Gemm's transA.
  const dw = g.op('Gemm', [g.op('Reshape', [du, g.int64s([span * span, m * c])]), g.constant(kron2(G))], { transA: 1 });
  return g.op('Reshape', [dw, g.int64s([m, c, 3, 3])]);
}

/**
 * The kernel transform U = G g G^T of every channel pair of w [M, C, 3, 3]: [positions, M, C]. With `flipped`,
 * that of every kernel turned by 180 degrees: G J g J G^T with J reversing 3 values, i.e. G with its columns
 * reversed (kron(GJ, GJ) is kron(G, G) with its 9 columns reversed).
 */
function kernelTransform(g: GraphBuilder, w: Value, flipped: boolean, tiling: WinogradTiling): Value {
  const [m, c] = w.staticShape as [number, number];
  const positions = tiling.span * tiling.span;
  const transform = kron2(flipped ? tiling.G.map((row) => [...row].reverse()) : tiling.G);
  const u = g.op('Gemm', [g.constant(transform), g.op('Reshape', [w, g.int64s([m * c, 9])])], { transB: 1 });
  return g.op('Reshape', [u, g.int64s([positions, m, c])]);
}

/**
 * Y = Conv(X, W) + B (3x3, stride 1, pad 1; see winogradApplies) by F(4x4, 3x3) or F(2x2, 3x3) (`tiling`), for a
 * runtime lowering of Conv nodes: V from the tiles of X's padded spatial-major table, U = G W G^T, the
 * position-wise products over channels, then each output tile A^T M A, computed together with the reorder into
 * [N, M, H, W].
 *
 * With `adjoint`, w [M0, C0, 3, 3] is a layer's kernel and the convolution is the one its input gradient runs:
 * the kernel flipped and its channels swapped ([C0, M0, 3, 3], conv.ts' flippedTransposedKernel), X having M0
 * channels and Y C0. The flip goes into the kernel transform and the swap into the products (U read as [P, M0,
 * C0] without the transpose), so the flipped copy is never made.
 */
export function winogradConv(g: GraphBuilder, x: Value, w: Value, bias: Value | null, adjoint = false, tiling: WinogradTiling = F4x4): Value {
  const { tile, span } = tiling;
  const positions = span * span;
  const [nb, c, h, wd] = x.staticShape as [number, number, number, number];
  const m = w.staticShape[adjoint ? 1 : 0]!;
  const [tilesY, tilesX] = [h / tile, wd / tile];
  const v = tileTransform(g, spatialTable(g, x, [1, 1, 1, 1]), kron2(tiling.BT), wd + 2, span, tile, tilesY, tilesX, c); // [P, tiles N, C]
  const u = kernelTransform(g, w, adjoint, tiling); // [P, M, C], or with adjoint [P, C, M]
  const prod = g.op('MatMul', [v, adjoint ? u : g.op('Transpose', [u], { perm: [0, 2, 1] })]); // [P, tiles N, M]
  // The output transform and the reorder into [N M, H W] as one product: rows (position, tile) of the products,
  // columns the pixels, each column A^T's weights for its pixel's place in its tile. Its P x tiles x H W
  // multiply-adds per image and output channel stay small on the maps this is used for (at most 8x8,
  // winogradConvGains), and the product's transposed read replaces a reorder of the output that ONNX Runtime runs
  // as a slow 4-D Transpose.
  const tiles = tilesY * tilesX;
  const a2 = kron2(tiling.AT).data; // [tile^2, P]
  const place = Tensor.zeros([positions * tiles, h * wd]);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < wd; xx++) {
      const q = (y % tile) * tile + (xx % tile);
      const t = Math.floor(y / tile) * tilesX + Math.floor(xx / tile);
      for (let p = 0; p < positions; p++) place.data[(p * tiles + t) * h * wd + y * wd + xx] = a2[q * positions + p]!;
    }
  }
  const rows = g.op('Reshape', [prod, g.int64s([positions * tiles, nb * m])]);
  const y = g.op('Reshape', [g.op('MatMul', [g.op('Transpose', [rows], { perm: [1, 0] }), g.constant(place)]), g.int64s([nb, m, h, wd])]);
  return bias ? g.op('Add', [y, g.op('Reshape', [bias, g.int64s([1, m, 1, 1])])]) : y;
}
