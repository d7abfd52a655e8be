/**
 * BatchNorm recalibration for RUC's evaluation passes: each network's running statistics are re-estimated on plain
 * (unaugmented) inputs before it labels them. Training feeds BatchNorm MixMatch-mixed and RandAugment-ed batches,
 * whose statistics differ from plain images; measured on MNIST (10,000 images, 6 epochs) the networks labelled
 * 3 points worse with the statistics training left than with batch statistics of plain images.
 */
import { Rng, type Runtime } from '@dc/core';
import { recalibrateBatchNorm, type ModelState, type Module } from '@dc/nn';
import type { DataSource } from '../data-source.js';

/** Samples the statistics are estimated from (a seeded subset, the same at every pass). */
const CALIBRATION_SAMPLES = 8192;
const CALIBRATION_BATCH = 256;

/** A function giving a state with recalibrated statistics; the identity when off or without BatchNorm. */
export function batchNormCalibration(
  enabled: boolean,
  model: Module,
  source: DataSource,
  rng: Rng,
  runtime: Runtime,
): (state: ModelState) => Promise<ModelState> {
  const hasStatistics = model.namedBuffers().some(([name]) => name.endsWith('running_mean') || name.endsWith('running_var'));
  const count = Math.min(source.n, CALIBRATION_SAMPLES);
  const batch = Math.min(CALIBRATION_BATCH, count);
  if (!enabled || !hasStatistics || batch < 2) return async (state) => state;
  const batches = Math.floor(count / batch);
  const rows = rng.choice(source.n, batches * batch);
  // Random inputs (dropout in a custom network) are drawn from the same seed at every pass, so a resumed run
  // recalibrates exactly as an uninterrupted one.
  const drawSeed = rng.nextSeed();
  const inputs = function* () {
    for (let b = 0; b < batches; b++) yield source.plain(rows.subarray(b * batch, (b + 1) * batch));
  };
  return (state) => recalibrateBatchNorm(model as Module<never[], unknown>, state, inputs(), { runtime, rng: new Rng(drawSeed) });
}
