/**
 * Augmentation throughput (issue 5): images per second for weak, strong (RandAugment) and SimCLR augmentation of
 * 28x28 grey and 32x32 colour uint8 batches, on the main thread (single-threaded), against the same
 * augmentations done one PIL image at a time in Python (reference.py), measured in the same run.
 * Targets: weak 28x28 >= 20,000 images/s; strong 32x32 colour >= 5,000 images/s.
 */
import { join } from 'node:path';
import { Rng, Tensor } from '@dc/core';
import { STRONG_PRESETS, simclrViews, strongAugment, weakAugment, type ImageBatch } from '@dc/data';
import { BENCH_ROOT, Report, runPython } from '../harness.js';

const SECONDS = Number(process.argv[2] ?? 1.5);
const BATCH = 256;

function randomBatch(c: number, h: number, w: number, seed: number): Tensor<'uint8'> {
  const rng = new Rng(seed);
  const data = new Uint8Array(BATCH * c * h * w);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return new Tensor('uint8', data, [BATCH, c, h, w]);
}

/**
 * Images per second over `SECONDS` of batches after a warm-up: all images over all the time, stalls (garbage
 * collection) included, as the reference measures its side.
 */
function imagesPerSecond(fn: (rng: Rng) => unknown, imagesPerCall: number): number {
  const rng = new Rng(1);
  for (let i = 0; i < 5; i++) fn(rng);
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000 || calls < 5) {
    fn(rng);
    calls++;
  }
  return (calls * imagesPerCall) / ((performance.now() - start) / 1000);
}

const reference = await runPython<Record<string, number>>(join(BENCH_ROOT, 'augment', 'reference.py'), [String(SECONDS)], { OMP_NUM_THREADS: '1' });
const refNote = reference.available ? 'reference: the same augmentations with PIL, one image at a time (numpy -> PIL -> numpy), single thread' : `reference unavailable: ${reference.reason}`;

const report = new Report('augment');
const batches: [string, ImageBatch, boolean][] = [
  ['grey28', randomBatch(1, 28, 28, 1), false],
  ['colour32', randomBatch(3, 32, 32, 2), true],
];
for (const [name, x, flip] of batches) {
  const label = name === 'grey28' ? '28x28 grey' : '32x32 colour';
  const cases: [string, string, (rng: Rng) => unknown, number, { op: '>='; value: number } | undefined][] = [
    ['weak', 'weak (flip + pad-crop)', (rng) => weakAugment(x, { flip, rng }), BATCH, name === 'grey28' ? { op: '>=', value: 20_000 } : undefined],
    ['strong', 'strong (RandAugment N=2 M=9)', (rng) => strongAugment(x, { n: 2, magnitude: 9, rng }), BATCH, name === 'colour32' ? { op: '>=', value: 5_000 } : undefined],
    ['strong-scan', 'strong (SCAN/SPICE: 4 ops + Cutout)', (rng) => strongAugment(x, { ...STRONG_PRESETS.scan, rng }), BATCH, name === 'colour32' ? { op: '>=', value: 5_000 } : undefined],
    ['simclr', 'SimCLR views', (rng) => simclrViews(x, { rng }), 2 * BATCH, undefined],
  ];
  for (const [key, title, fn, perCall, target] of cases) {
    const ours = imagesPerSecond(fn, perCall);
    const ref = reference.value?.[`${key}/${name}`] ?? null;
    report.add({
      case: `${title}, ${label}`,
      metric: 'throughput',
      ours,
      reference: ref,
      unit: 'images/s',
      ...(target ? { target } : {}),
      ...(key === 'weak' && name === 'grey28' ? { note: `${refNote}; batches of ${BATCH}, all images over ${SECONDS} s per case on both sides; flip off for digits` } : {}),
      ...(key === 'simclr' && name === 'grey28' ? { note: 'SimCLR counts each view as one image (a pair is two)' } : {}),
    });
  }
}
report.finish();
