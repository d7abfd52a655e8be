/**
 * The straightforward JavaScript kNN the benchmark compares against: normalise, compute each row's similarities
 * to every row, sort, keep the best k.
 */
export function naiveCosineKnn(data: Float32Array, n: number, d: number, k: number): Int32Array {
  const unit = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += data[i * d + j]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < d; j++) unit[i * d + j] = data[i * d + j]! * inv;
  }
  const out = new Int32Array(n * k);
  const sims = new Float32Array(n);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += unit[i * d + c]! * unit[j * d + c]!;
      sims[j] = j === i ? -Infinity : s;
      order[j] = j;
    }
    order.sort((a, b) => sims[b]! - sims[a]!);
    out.set(order.subarray(0, k), i * k);
  }
  return out;
}
