/**
 * RUC on Fashion-MNIST (issue: robust-refine). RUC refines two base clusterings of all 70,000 images:
 *   - k-means on autoencoder features (computed here), and
 *   - SPC, whose labels the SPC benchmark writes to benchmarks/results/spc-fashion-labels.json
 *     ({ "labels": number[70000], "probabilities"?: number[70000][K] } in loadFashionMnist() order).
 * For each base it reports ACC / NMI / ARI and ECE before and after RUC, the clean-set precision / recall / F1 of
 * the confidence, metric and hybrid strategies (the paper's Table 6), FGSM/BIM accuracy of the refined networks,
 * and the wall time. Targets: ACC at least 3 points above the base, a lower ECE, all in under 90 minutes.
 *
 * Schedule (CPU, 2 cores; see README.md): the autoencoder trains on a seeded 20,000-image subset and encodes all
 * images; RUC starts both networks from its encoder (new heads) and trains them for 12 epochs on all 70,000 images
 * with their base labels (--ruc-n trains on a seeded subset instead and then labels all images). Ground truth is
 * used only by the evaluation helpers.
 *
 *   npm run bench -- ruc-fashion [--ruc-n 70000] [--epochs 12] [--ae-n 20000] [--ae-epochs 10]
 *     [--pretrain autoencoder|simclr] [--simclr-epochs 20] [--simclr-n 70000] [--bases all|kmeans|kmeans-simclr|spc]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, Tensor, disposeSharedRuntimes } from '@dc/core';
import { loadFashionMnist } from '@dc/data';
import { evaluateClustering, purity } from '@dc/metrics';
import { adversarialAccuracy, cleanSetReport, fitRuc, pretrainEncoder, readPseudoLabels, selectCleanSamples, type RucOptions, type RucProgress } from '@dc/robust-refine';
import { BENCH_ROOT, Report } from '../harness.js';
import { kmeansBaseline } from './kmeans-baseline.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function choiceArg<T extends string>(name: string, choices: readonly T[], fallback: T): T {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1] as T;
  if (!choices.includes(v)) throw new Error(`--${name} must be one of ${choices.join(', ')}, got ${String(v)}`);
  return v;
}

/** Which encoder starts RUC's networks and embeds the images for the metric strategy. */
const PRETRAIN = choiceArg('pretrain', ['autoencoder', 'simclr'] as const, 'autoencoder');
/** Which bases to refine (k-means on SimCLR's outputs only with --pretrain simclr). */
const BASES = choiceArg('bases', ['all', 'kmeans', 'kmeans-simclr', 'spc'] as const, 'all');
const wants = (base: 'kmeans' | 'kmeans-simclr' | 'spc') => BASES === 'all' || BASES === base;

const SCHEDULE = {
  ae: { subset: arg('ae-n', 20_000), epochs: arg('ae-epochs', 10), latentDim: 10, baseChannels: 16, batchSize: 256, lr: 1e-3, seed: 1 },
  simclr: {
    method: 'simclr' as const,
    subset: arg('simclr-n', 70_000),
    epochs: arg('simclr-epochs', 20),
    latentDim: 64,
    baseChannels: 16,
    batchSize: 256,
    lr: 1e-3,
    temperature: 0.5,
    cropScale: [0.5, 1] as [number, number],
    seed: 1,
  },
  kmeans: { restarts: 5, seed: 1 },
  selection: { tau1: 0.99, k: 100 },
  ruc: {
    subset: arg('ruc-n', 70_000),
    epochs: arg('epochs', 12),
    batchSize: 64,
    seed: 1,
  },
  attack: { subset: 2_000, epsilons: [0, 0.01, 0.02, 0.05] },
};

const t0 = performance.now();
const seconds = () => (performance.now() - t0) / 1000;
const log = (msg: string) => process.stderr.write(`[${seconds().toFixed(0)} s] ${msg}\n`);
const report = new Report('ruc-fashion');

const all = await loadFashionMnist();
const truth = all.labels!;
const n = all.length;
log(`Fashion-MNIST: ${n} images`);

// The k-means base clusters the codes of an autoencoder trained without labels on a seeded subset. RUC's networks
// start from its encoder, whose codes are also the metric strategy's embeddings for every base; with --pretrain
// simclr from a SimCLR encoder (the paper's pretraining) instead, which adds k-means on its outputs as a base.
const autoencoder = await pretrainEncoder(all, { ...SCHEDULE.ae, onEpoch: (e, epochs, loss) => log(`autoencoder epoch ${e}/${epochs} loss ${loss.toFixed(4)}`) });
const aeFeatures = await autoencoder.embed();
const pretrainStart = performance.now();
const pretrained = PRETRAIN === 'simclr'
  ? await pretrainEncoder(all, { ...SCHEDULE.simclr, onEpoch: (e, epochs, loss) => log(`SimCLR epoch ${e}/${epochs} NT-Xent ${loss.toFixed(4)}`) })
  : autoencoder;
const features = PRETRAIN === 'simclr' ? await pretrained.embed() : aeFeatures;
const encoder = pretrained.encoder;
if (PRETRAIN === 'simclr') {
  report.add({ case: 'SimCLR pretraining', metric: 'time', ours: (performance.now() - pretrainStart) / 1000, unit: 's', note: `${SCHEDULE.simclr.epochs} epochs on ${Math.min(n, SCHEDULE.simclr.subset)} images` });
}
log('features done');

interface Base {
  name: string;
  /** Hard labels or [n, K] probabilities over all images. */
  pseudo: Tensor | Int32Array;
  note: string;
}

const bases: Base[] = [];
if (wants('kmeans')) {
  const km = kmeansBaseline(aeFeatures, 10, SCHEDULE.kmeans.restarts, SCHEDULE.kmeans.seed);
  log('k-means done');
  bases.push({ name: 'k-means(AE)', pseudo: km.probabilities, note: 'k-means on autoencoder features; probabilities: posterior of the spherical Gaussian mixture k-means fits' });
}
if (PRETRAIN === 'simclr' && wants('kmeans-simclr')) {
  const km = kmeansBaseline(features, 10, SCHEDULE.kmeans.restarts, SCHEDULE.kmeans.seed);
  log('k-means on SimCLR done');
  bases.push({ name: 'k-means(SimCLR)', pseudo: km.probabilities, note: 'k-means on the SimCLR encoder\'s outputs; probabilities: posterior of the spherical Gaussian mixture k-means fits' });
}

const spcFile = join(BENCH_ROOT, 'results', 'spc-fashion-labels.json');
if (wants('spc') && existsSync(spcFile)) {
  const spc = JSON.parse(readFileSync(spcFile, 'utf8')) as { labels: number[]; probabilities?: number[][] };
  const pseudo = spc.probabilities ? Tensor.fromArray(spc.probabilities) : Int32Array.from(spc.labels);
  bases.push({ name: 'SPC', pseudo, note: `labels from ${spcFile}` });
} else if (wants('spc')) {
  report.add({ case: 'SPC + RUC', metric: 'ACC', ours: null, unit: '%', note: `not run: ${spcFile} not found (written by the SPC benchmark)` });
}

const rucRng = new Rng(SCHEDULE.ruc.seed);
const rucIdx = SCHEDULE.ruc.subset >= n ? Int32Array.from({ length: n }, (_, i) => i) : rucRng.choice(n, SCHEDULE.ruc.subset).sort();
const rucData = all.subset(rucIdx);
const rucFeatures = features.gatherRows(rucIdx);
const attackIdx = new Rng(3).choice(n, SCHEDULE.attack.subset).sort();

for (const base of bases) {
  const pseudo = readPseudoLabels(base.pseudo, { n });
  const k = pseudo.numClusters;
  const probsBefore = pseudo.probabilities ? new Tensor('float32', pseudo.probabilities, [n, k]) : null;
  const before = evaluateClustering(pseudo.labels, truth, probsBefore ? { probabilities: probsBefore, tolerance: 1e-3 } : {});

  // Clean-set quality of the three strategies on all images (Table 6).
  const selAll = await selectCleanSamples(pseudo, { embeddings: features, ...SCHEDULE.selection, ...(pseudo.probabilities ? {} : { strategy: 'metric' as const }) });
  for (const q of cleanSetReport(selAll, truth)) {
    for (const [metric, value] of [['precision', q.precision], ['recall', q.recall], ['F1', q.f1]] as const) {
      report.add({ case: `${base.name} clean set: ${q.strategy}`, metric, ours: 100 * value, unit: '%', note: metric === 'F1' ? `${q.selected} of ${q.n} selected` : undefined });
    }
  }

  // RUC on the training subset, with that subset's base labels.
  const subPseudo = pseudo.probabilities
    ? Tensor.fromArray(Array.from(rucIdx, (i) => Array.from(pseudo.probabilities!.subarray(i * k, (i + 1) * k))))
    : Int32Array.from(rucIdx, (i) => pseudo.labels[i]!);
  const options: RucOptions = {
    strategy: pseudo.probabilities ? 'hybrid' : 'metric',
    embeddings: rucFeatures,
    tau1: SCHEDULE.selection.tau1,
    k: SCHEDULE.selection.k,
    // Both networks start from the pretrained encoder with new heads, as the paper starts from SimCLR's.
    encoder,
    epochs: SCHEDULE.ruc.epochs,
    batchSize: SCHEDULE.ruc.batchSize,
    seed: SCHEDULE.ruc.seed,
    onProgress: (e: RucProgress) => {
      if (e.type !== 'step') log(`${base.name} + RUC ${e.type} ${e.epoch}/${e.epochs}: clean ${e.cleanSize}${e.refurbished !== undefined ? `, refurbished ${e.refurbished}` : ''}${e.loss !== undefined ? `, loss ${e.loss.toFixed(3)}` : ''}, eta ${e.etaSeconds.toFixed(0)} s`);
    },
  };
  const tRuc = performance.now();
  const result = await fitRuc(rucData, subPseudo, options);
  const after = await result.predict(all);
  const rucSeconds = (performance.now() - tRuc) / 1000;
  const evAfter = evaluateClustering(after.labels, truth, { probabilities: after.probabilities, tolerance: 1e-3 });

  const c = base.name;
  report.add({ case: c, metric: 'ACC', ours: 100 * before.accuracy, unit: '%', note: base.note });
  report.add({ case: `${c} + RUC`, metric: 'ACC', ours: 100 * evAfter.accuracy, reference: 100 * before.accuracy, unit: '%', target: { op: '>=', value: 100 * before.accuracy + 3 }, note: 'reference: the base clustering; target: +3 points' });
  // Purity (each cluster read as its majority class) above ACC means clusters that share a class: whole merged or
  // split clusters, which no selection of clean samples can find (their neighbours carry the same label).
  const purityBefore = 100 * purity(pseudo.labels, truth);
  report.add({ case: c, metric: 'purity', ours: purityBefore, unit: '%' });
  report.add({ case: `${c} + RUC`, metric: 'purity', ours: 100 * purity(after.labels, truth), reference: purityBefore, unit: '%' });
  report.add({ case: c, metric: 'NMI', ours: before.nmi, unit: '' });
  report.add({ case: `${c} + RUC`, metric: 'NMI', ours: evAfter.nmi, reference: before.nmi, unit: '' });
  report.add({ case: c, metric: 'ARI', ours: before.ari, unit: '' });
  report.add({ case: `${c} + RUC`, metric: 'ARI', ours: evAfter.ari, reference: before.ari, unit: '' });
  if (before.calibration) report.add({ case: c, metric: 'ECE', ours: before.calibration.ece, unit: '' });
  report.add({
    case: `${c} + RUC`,
    metric: 'ECE',
    ours: evAfter.calibration!.ece,
    reference: before.calibration?.ece ?? null,
    unit: '',
    ...(before.calibration ? { target: { op: '<' as const, value: before.calibration.ece } } : {}),
    note: before.calibration ? 'reference: the base clustering\'s probabilities' : 'the base gave hard labels (no probabilities)',
  });
  if (rucData.length < n) {
    const trainAcc = evaluateClustering(result.labels, rucData.labels!).accuracy;
    const trainBefore = evaluateClustering(result.initialLabels, rucData.labels!).accuracy;
    report.add({ case: `${c} + RUC (training subset)`, metric: 'ACC', ours: 100 * trainAcc, reference: 100 * trainBefore, unit: '%', note: `${rucData.length} images RUC trained on` });
  }
  const last = result.history.at(-1)!;
  report.add({ case: `${c} + RUC`, metric: 'clean set at end', ours: last.cleanSize, reference: result.selection.cleanIndices.length, unit: 'images', note: `initial ${result.selection.strategy} selection, then co-refurbishing` });
  report.add({ case: `${c} + RUC`, metric: 'time', ours: rucSeconds, unit: 's', note: `${SCHEDULE.ruc.epochs} epochs on ${rucData.length} images, then labels for ${n}` });

  const attackData = all.subset(attackIdx);
  // Images are fed in [0, 1] (the scale the encoders trained on), so epsilon is in pixel units.
  const attackTruth = Int32Array.from(attackIdx, (i) => truth[i]!);
  for (const attack of ['fgsm', 'bim'] as const) {
    const adv = await adversarialAccuracy(result, attackData, attackTruth, { attack, epsilons: SCHEDULE.attack.epsilons });
    for (const p of adv.points) {
      if (p.epsilon === 0) continue;
      report.add({ case: `${c} + RUC ${attack.toUpperCase()} eps=${p.epsilon}`, metric: 'ACC', ours: 100 * p.accuracy, reference: 100 * adv.cleanAccuracy, unit: '%', note: `${attackIdx.length} images; reference: clean accuracy` });
    }
  }
  log(`${c}: ACC ${(100 * before.accuracy).toFixed(2)} -> ${(100 * evAfter.accuracy).toFixed(2)}`);
}

report.add({ case: 'whole benchmark', metric: 'wall time', ours: seconds(), unit: 's', target: { op: '<', value: 5400 } });
report.finish();
await disposeSharedRuntimes();
