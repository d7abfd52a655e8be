/**
 * Selective pseudo-label clustering (Mahon and Lukasiewicz), Algorithm 1:
 *   1. train an ensemble of autoencoders (latent noise regularisation);
 *   2. cluster each member's latent space (UMAP, then HDBSCAN cut to K clusters or a GMM);
 *   3. align the labellings (Hungarian) and select the points all members agree on;
 *   4. train each member with cross-entropy through its pseudo-classifier on the agreed points (consensus labels)
 *      and with reconstruction on the others; go back to 2 until the number of agreed points stops increasing.
 * The result is the consensus of the round with the most agreed points. No ground truth is read anywhere.
 *
 * Members train in worker threads (one ONNX Runtime session each, in parallel); as each is done, the main thread
 * embeds its images and a pool of as many threads clusters the codes (UMAP and HDBSCAN, single-threaded
 * JavaScript, would otherwise leave the other cores idle). Each member's training state lives in a checkpoint
 * file between phases, which also makes every run resumable from its checkpoint directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, Tensor, WorkerPool, getRuntime, scriptBeside, type Device, type Runtime } from '@dc/core';
import { Trainer, predict, releaseModelSessions, trainInWorker, type ModelState, type TrainProgress } from '@dc/nn';
import { clusterLatents, type ClusterSettings, type MemberClustering, type MemberLabels } from './cluster.js';
import type { ClusterJobArgs, ClusterJobProgress } from './cluster-job.js';
import { SpcNoClusteringError } from '../errors.js';
import { readImages, type SpcInput } from './data.js';
import { ensembleRound, matchLabels, type EnsembleRound } from './ensemble.js';
import { SpcNetwork, type SpcNetworkConfig } from './network.js';
import { resolveOptions, type ResolvedSpcOptions, type SpcOptions } from './options.js';
import type { SpcMemberRound, SpcProgress, SpcStage } from './progress.js';
import { SpcResult, type SpcRoundRecord } from './result.js';
import { agreementDecision } from './schedule.js';
import { fillTargets, type TrainingTargets } from './targets.js';
import { RunStore, fingerprint } from './store.js';
import { createJob, type SpcTrainJobArgs } from './train-job.js';

/** Rows per embedding call (one progress event each). */
const EMBED_CHUNK = 4096;

export async function fitSpc(images: SpcInput, options: SpcOptions): Promise<SpcResult> {
  const t0 = performance.now();
  const input = readImages(images);
  const n = input.shape[0]!;
  const o = resolveOptions(options, n, [input.shape[2]!, input.shape[3]!]);
  const elapsed = () => (performance.now() - t0) / 1000;
  const emit = (e: Omit<SpcProgress, 'elapsedSeconds'>) => o.onProgress?.({ ...e, elapsedSeconds: elapsed() });

  const config: SpcNetworkConfig = {
    inputShape: input.shape.slice(1) as [number, number, number],
    latentDim: o.latentDim,
    baseChannels: o.baseChannels,
    headHidden: o.headHidden,
    nClusters: o.nClusters,
    latentNoise: o.latentNoise,
    // The authors' leaky ReLU slope.
    negativeSlope: 0.3,
  };
  // Workers read the images and the targets from shared memory instead of copies (ONNX Runtime refuses shared
  // buffers as inputs, so this thread keeps its own copy for embedding).
  const sharedImages = o.workers > 0 ? shared(input) : input;
  const buffer = (bytes: number) => (o.workers > 0 ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  // Pretraining: confidence 0 everywhere (reconstruction only).
  const targets: TrainingTargets = { votes: new Float32Array(buffer(4 * n * o.nClusters)), confidence: new Float32Array(buffer(4 * n)) };
  const seeds = new Rng(o.seed);
  const memberSeeds = Array.from({ length: o.ensembleSize }, () => seeds.nextSeed());
  const clusterSeed = seeds.nextSeed();
  const runtime = await getRuntime({ device: o.device, threads: o.threads });
  const dir = o.checkpointDir ?? (await mkdtemp(join(tmpdir(), 'dc-spc-')));
  const store = await RunStore.open(dir);
  const print = fingerprint(input, o);
  const pool = o.workers > 0 ? new WorkerPool(o.workers) : null;
  const ctx: RunContext = { o, x: input, sharedImages, n, config, network: new SpcNetwork(config), runtime, pool, targets, emit, memberSeeds, clusterSeed, store, fingerprint: print };

  try {
    const status = o.checkpointDir ? await store.readStatus(print) : null;
    let history: SpcRoundRecord[];
    let round: EnsembleRound;
    let best: Best;
    let generation: number;
    if (status && status.round >= 0) {
      // Resume after the last completed round: its consensus and the best round so far; the members' training
      // states are in their checkpoint files.
      history = status.history;
      round = {
        consensus: await store.readInt32(`r${status.round}-consensus.i32`, n),
        agreed: await store.readUint8(`r${status.round}-agreed.u8`, n),
        agreedCount: history[history.length - 1]!.agreed,
        votes: await store.readInt32(`r${status.round}-votes.i32`, n * o.nClusters),
        members: history[history.length - 1]!.members,
        // Only this round's training targets are needed after a resume; its member labels were reported before.
        aligned: [],
      };
      generation = status.bestGeneration;
      best = {
        round: status.bestRound,
        labels: await store.readInt32(`best${generation}-labels.i32`, n),
        agreed: await store.readUint8(`best${generation}-agreed.u8`, n),
        states: await Promise.all(memberSeeds.map((_, m) => store.readModel(`best${generation}-member${m}.ckpt`))),
        snapshotPending: status.snapshotPending,
      };
    } else {
      if (!status) {
        // A fresh run claims the directory first, so every file written from here on belongs to it.
        await store.remove((name) => /^(member\d+\.ckpt|r\d+-|best\d+-)/.test(name));
        await store.writeStatus({ format: 'dc-spc-run', version: 1, fingerprint: print, round: -1, history: [], bestRound: 0, bestGeneration: 0, snapshotPending: true });
      }
      const t = performance.now();
      const phase = await runPhase(ctx, 'pretrain', 0, o.pretrainEpochs);
      round = ensemble(ctx, 0, phase, null);
      history = [record(0, round, phase.excluded, n, null, (performance.now() - t) / 1000)];
      o.onRound?.({ record: history[0]!, consensus: round.consensus, agreed: round.agreed, members: memberRounds(ctx, phase, round) });
      best = { round: 0, labels: round.consensus, agreed: round.agreed, states: phase.states, snapshotPending: true };
      generation = await saveRound(ctx, 0, round, history, best, 0, true);
    }

    for (let r = history.length; r <= o.maxRounds; r++) {
      // A round in which no member could be clustered ends the run; checked here so a resumed run ends there too.
      if (history[history.length - 1]!.members === 0) break;
      if (agreementDecision(history.map((h) => h.agreed), o.patience).stop) break;
      const t = performance.now();
      fillTargets(round, o.nClusters, o.pseudoLabels, targets);
      const phase = await runPhase(ctx, 'train', r, o.pretrainEpochs + r * o.epochs);
      let snapshotChanged = false;
      if (best.snapshotPending) {
        // The pseudo-classifiers have now learnt the best round's labels: these weights predict them.
        best.states = phase.states;
        best.snapshotPending = false;
        snapshotChanged = true;
      }
      const next = ensemble(ctx, r, phase, round.consensus);
      history.push(record(r, next, phase.excluded, n, phase.loss, (performance.now() - t) / 1000));
      o.onRound?.({ record: history[history.length - 1]!, consensus: next.consensus, agreed: next.agreed, members: memberRounds(ctx, phase, next) });
      if (agreementDecision(history.map((h) => h.agreed), o.patience).improved) {
        best = { round: r, labels: next.consensus, agreed: next.agreed, states: phase.states, snapshotPending: true };
        snapshotChanged = true;
      }
      // A round where no member could be clustered leaves nothing to train on: keep the previous targets.
      if (next.members > 0) round = next;
      generation = await saveRound(ctx, r, round, history, best, generation, snapshotChanged);
    }

    const classMaps = await alignHeads(ctx, best.states, best.labels);
    return new SpcResult({
      labels: best.labels,
      agreed: best.agreed,
      history,
      bestRound: best.round,
      config,
      memberStates: best.states,
      classMaps,
      seconds: elapsed(),
      device: o.device,
      threads: o.threads,
    });
  } finally {
    // Embedding and head alignment compiled evaluation sessions for this run's network; the result has its own.
    await releaseModelSessions(ctx.network, runtime);
    await pool?.close();
    if (!o.checkpointDir) await rm(dir, { recursive: true, force: true });
  }
}

interface RunContext {
  o: ResolvedSpcOptions;
  /** All images, float32 [N, C, H, W]. */
  x: Tensor<'float32'>;
  /** The same in shared memory when workers train. */
  sharedImages: Tensor<'float32'>;
  n: number;
  config: SpcNetworkConfig;
  /** The network structure, for embedding and the heads' predictions (weights are fed per member). */
  network: SpcNetwork;
  runtime: Runtime;
  /** Threads that cluster members' latent codes (null: this thread does, one member at a time). */
  pool: WorkerPool | null;
  /** The training targets of the next phase, in buffers the workers share. */
  targets: TrainingTargets;
  emit: (e: Omit<SpcProgress, 'elapsedSeconds'>) => void;
  memberSeeds: number[];
  clusterSeed: number;
  store: RunStore;
  fingerprint: string;
}

interface Best {
  round: number;
  labels: Int32Array;
  agreed: Uint8Array;
  states: ModelState[];
  /** True until the training after the best round has taught the pseudo-classifiers its labels. */
  snapshotPending: boolean;
}

interface Phase {
  /** Members' weights after the phase. */
  states: ModelState[];
  /** Mean training loss over the members' epochs in this phase (null when no epoch ran). */
  loss: number | null;
  /** Clusterings of the members that could be clustered, in member order. */
  clusterings: MemberLabels[];
  excluded: number[];
  /** Every element's clustering (the concatenated codes last), for onRound. */
  all: MemberClustering[];
}

function shared(t: Tensor<'float32'>): Tensor<'float32'> {
  const data = new Float32Array(new SharedArrayBuffer(t.data.byteLength));
  data.set(t.data);
  return new Tensor('float32', data, t.shape);
}

function record(r: number, e: EnsembleRound, excluded: number[], n: number, trainLoss: number | null, seconds: number): SpcRoundRecord {
  return { round: r, agreed: e.agreedCount, fraction: e.agreedCount / n, members: e.members, excluded, trainLoss, seconds };
}

/** A job module worker threads import (train-job, cluster-job): the built file beside the bundle, or the source. */
function jobModule(name: string): string {
  return scriptBeside(import.meta.url, name).url.href;
}

/**
 * Trains every member to `epochs` epochs in all (resuming from its checkpoint file), at most `workers` at a
 * time, and clusters each member on the main thread as soon as its training ends.
 */
async function runPhase(ctx: RunContext, stage: SpcStage, r: number, epochs: number): Promise<Phase> {
  const { o } = ctx;
  const e = o.ensembleSize;
  const states: ModelState[] = new Array(e);
  const losses: (number | null)[] = new Array(e).fill(null);
  const clusterings: Promise<MemberClustering>[] = new Array(e);
  // The members' latent codes, kept for the concatenated labelling.
  const latents: Tensor<'float32'>[] = new Array(e);
  let chain: Promise<unknown> = Promise.resolve();
  let concatenated: Promise<MemberClustering> | null = null;
  // When one member fails (training or clustering), the others stop: workers after their current step, the lanes
  // before their next member, queued clusterings before they start. The phase then fails with the first error,
  // once nothing it started is still running.
  const stop = new AbortController();
  const failures: unknown[] = [];
  const fail = (err: unknown) => {
    failures.push(err);
    stop.abort();
  };
  const work = async (m: number) => {
    const trained = await trainMember(ctx, stage, r, m, epochs, stop.signal);
    if (stop.signal.aborted) return;
    states[m] = trained.state;
    losses[m] = trained.loss;
    // One embedding at a time on this thread's session; the clusterings then run in the pool side by side (or
    // here, one at a time, without one).
    const embedded = chain.then(async () => {
      if (stop.signal.aborted) return null;
      const latent = await embed(ctx, r, m, trained.state);
      if (o.concatenatedMember) latents[m] = latent;
      return latent;
    });
    chain = embedded.catch(() => undefined);
    const c = embedded.then((latent): Promise<MemberClustering> | MemberClustering =>
      latent === null || stop.signal.aborted ? { excluded: true, reason: 'another member failed', layout: null } : clusterMember(ctx, r, m, latent));
    c.catch(fail);
    if (!ctx.pool) chain = c.catch(() => undefined);
    clusterings[m] = c;
  };
  if (o.workers === 0) {
    for (let m = 0; m < e; m++) {
      await work(m);
      await clusterings[m];
    }
  } else {
    let next = 0;
    const lanes = Array.from({ length: Math.min(o.workers, e) }, async () => {
      while (next < e && !stop.signal.aborted) await work(next++).catch(fail);
    });
    await Promise.all(lanes);
    // The concatenated codes can be clustered as soon as every member is embedded, beside the last clusterings.
    await chain;
    if (o.concatenatedMember && !stop.signal.aborted) {
      concatenated = clusterMember(ctx, r, e, concatColumns(latents));
      concatenated.catch(fail);
    }
    await Promise.allSettled([...clusterings, ...(concatenated ? [concatenated] : [])]);
    if (failures.length > 0) throw failures[0];
  }
  const done = await Promise.all(clusterings);
  // The concatenation of all latent spaces votes as one more labelling (index e in `excluded`).
  if (o.concatenatedMember) done.push(await (concatenated ?? clusterMember(ctx, r, e, concatColumns(latents))));
  const used: MemberLabels[] = [];
  const excluded: number[] = [];
  done.forEach((c, m) => (c.excluded ? excluded.push(m) : used.push(c)));
  if (used.length === 0 && r === 0) {
    throw new SpcNoClusteringError(o.nClusters, done.map((c) => (c.excluded ? c.reason : '')));
  }
  const run = losses.filter((l): l is number => l !== null);
  return { states, loss: run.length > 0 ? run.reduce((a, b) => a + b, 0) / run.length : null, clusterings: used, excluded, all: done };
}

/** One member's training phase, in a worker thread or in this one; its state lives in member<m>.ckpt. */
async function trainMember(ctx: RunContext, stage: SpcStage, r: number, m: number, epochs: number, signal: AbortSignal): Promise<{ state: ModelState; loss: number | null }> {
  const { o, store } = ctx;
  const file = `member${m}.ckpt`;
  const path = store.path(file);
  const resume = (await store.exists(file)) ? path : undefined;
  const args: SpcTrainJobArgs = {
    config: ctx.config,
    images: ctx.sharedImages.data,
    votes: ctx.targets.votes,
    confidence: ctx.targets.confidence,
    crossEntropyWeight: o.crossEntropyWeight,
    augment: o.augment && (stage === 'pretrain' ? o.augment.pretrain : o.augment.rounds) ? { padding: o.augment.padding, flip: o.augment.flip } : null,
    seed: ctx.memberSeeds[m]!,
    learningRate: o.learningRate,
    batchSize: o.batchSize,
    epochs,
    threads: o.workerThreads,
    device: o.device,
  };
  // Optimizer steps before this phase: progress counts the phase's own steps.
  const before = (stage === 'pretrain' ? 0 : o.pretrainEpochs + (r - 1) * o.epochs);
  const onProgress = (e: TrainProgress) => {
    if (e.type === 'epoch') return;
    const start = before * e.stepsPerEpoch;
    ctx.emit({ stage, round: r, member: m, done: e.step - start, total: e.totalSteps - start, loss: e.loss });
  };
  const fit = { epochs, checkpoint: { path } };
  let state: ModelState;
  // The phase's epochs (the member's run continues across phases: `before` earlier epochs), those before a resume
  // included (the checkpoint carries them), so a resumed run records the same loss as an uninterrupted one.
  const phaseLosses = (history: readonly { epoch: number; loss: number }[]) => history.filter((h) => h.epoch > before).map((h) => h.loss);
  let epochLosses: number[];
  if (o.workers > 0) {
    const out = await trainInWorker({ module: jobModule('train-job'), args }, { ...(resume ? { resume } : {}), fit, onProgress, signal });
    state = out.state.model;
    epochLosses = phaseLosses(out.result.runHistory);
  } else {
    const def = createJob(args);
    const trainer = new Trainer({ ...def.trainer, runtime: ctx.runtime });
    try {
      if (resume) await trainer.restore(resume);
      const result = await trainer.fit(def.data, { ...def.fit, ...fit, onProgress });
      state = trainer.modelState;
      epochLosses = phaseLosses(result.runHistory);
    } finally {
      await trainer.dispose();
    }
  }
  return { state, loss: epochLosses.length > 0 ? epochLosses.reduce((a, b) => a + b, 0) / epochLosses.length : null };
}

/** Latent codes of every image under one member's weights, in chunks (one progress event each). */
async function embed(ctx: RunContext, r: number, m: number, state: ModelState): Promise<Tensor<'float32'>> {
  const { n, o } = ctx;
  const latent = Tensor.zeros([n, o.latentDim]);
  for (let start = 0; start < n; start += EMBED_CHUNK) {
    const end = Math.min(n, start + EMBED_CHUNK);
    const out = await predict(ctx.network, state, ctx.x.rows(start, end), { batchSize: 512, runtime: ctx.runtime });
    latent.data.set(out.latent!.data, start * o.latentDim);
    ctx.emit({ stage: 'embed', round: r, member: m, done: end, total: n });
  }
  return latent;
}

/** [n, d1 + d2 + ...]: the rows of every tensor side by side. */
function concatColumns(parts: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  const n = parts[0]!.shape[0]!;
  const width = parts.reduce((a, t) => a + t.shape[1]!, 0);
  const out = Tensor.zeros([n, width]);
  let offset = 0;
  for (const t of parts) {
    const d = t.shape[1]!;
    for (let i = 0; i < n; i++) out.data.set(t.data.subarray(i * d, (i + 1) * d), i * width + offset);
    offset += d;
  }
  return out;
}

/** Clusters latent codes; m is the member (ensembleSize for the concatenated codes). */
async function clusterMember(ctx: RunContext, r: number, m: number, latent: Tensor<'float32'>): Promise<MemberClustering> {
  // A seed per round and member: the same run gives the same layouts however the work was scheduled.
  const seed = new Rng(ctx.clusterSeed + r * 7919 + m * 104729).nextSeed();
  const { o, pool } = ctx;
  const onUmap = (stage: ClusterJobProgress['stage'], done: number, total: number) => {
    if (stage === 'optimize') ctx.emit({ stage: 'umap', round: r, member: m, done, total });
  };
  // In the pool, each clustering's kNN query gets the cores' share a training worker gets.
  const settings: ClusterSettings = { umap: o.umap, hdbscan: o.hdbscan, clusterer: o.clusterer, nClusters: o.nClusters, device: o.device, threads: pool ? o.workerThreads : o.threads };
  const c = pool
    ? await pool.call<MemberClustering>(jobModule('cluster-job'), 'clusterJob', { latent: latent.data, n: latent.shape[0]!, d: latent.shape[1]!, settings, seed } satisfies ClusterJobArgs, {
      onProgress: (e) => {
        const p = e as ClusterJobProgress;
        onUmap(p.stage, p.done, p.total);
      },
    })
    : await clusterLatents(latent, { options: settings, seed, onUmap });
  ctx.emit({ stage: 'cluster', round: r, member: m, done: 1, total: 1 });
  return c;
}

function ensemble(ctx: RunContext, r: number, phase: Phase, previous: Int32Array | null): EnsembleRound {
  const out: EnsembleRound = phase.clusterings.length > 0
    ? ensembleRound(phase.clusterings, ctx.o.nClusters, ctx.o.agreementFraction, previous)
    : { consensus: previous!, agreed: new Uint8Array(ctx.n), agreedCount: 0, votes: new Int32Array(ctx.n * ctx.o.nClusters), members: 0, aligned: [] };
  const excluded = phase.excluded;
  ctx.emit({ stage: 'align', round: r, member: null, done: 1, total: 1, agreed: out.agreedCount, excluded });
  return out;
}

/** What onRound reports of each element: its layout and its labels in the consensus's names. */
function memberRounds(ctx: RunContext, phase: Phase, round: EnsembleRound): SpcMemberRound[] {
  const out: SpcMemberRound[] = [];
  let used = 0;
  phase.all.forEach((c, m) => {
    const labels = c.excluded ? null : round.aligned[used++]!;
    if (c.layout === null) return;
    out.push({
      member: m,
      layout: new Tensor('float32', c.layout, [ctx.n, c.layout.length / ctx.n]),
      labels,
      excludedReason: c.excluded ? c.reason : null,
    });
  });
  return out;
}

/** Writes round r's files, then spc.json pointing at them, then removes what it no longer points at. */
async function saveRound(ctx: RunContext, r: number, round: EnsembleRound, history: SpcRoundRecord[], best: Best, generation: number, snapshotChanged: boolean): Promise<number> {
  const { store } = ctx;
  if (!ctx.o.checkpointDir) return generation;
  await store.writeInt32(`r${r}-consensus.i32`, round.consensus);
  await store.writeUint8(`r${r}-agreed.u8`, round.agreed);
  await store.writeInt32(`r${r}-votes.i32`, round.votes);
  let g = generation;
  if (snapshotChanged) {
    g = generation + 1;
    await store.writeInt32(`best${g}-labels.i32`, best.labels);
    await store.writeUint8(`best${g}-agreed.u8`, best.agreed);
    for (const [m, s] of best.states.entries()) await store.writeModel(`best${g}-member${m}.ckpt`, s);
  }
  await store.writeStatus({
    format: 'dc-spc-run',
    version: 1,
    fingerprint: ctx.fingerprint,
    round: r,
    history,
    bestRound: best.round,
    bestGeneration: g,
    snapshotPending: best.snapshotPending,
  });
  await store.remove((name) =>
    (/^r\d+-(consensus\.i32|agreed\.u8|votes\.i32)$/.test(name) && !name.startsWith(`r${r}-`)) ||
    (/^best\d+-/.test(name) && !name.startsWith(`best${g}-`)),
  );
  return g;
}

/** Per member: the consensus label each of its head's classes matches best on the training images. */
async function alignHeads(ctx: RunContext, states: ModelState[], labels: Int32Array): Promise<Int32Array[]> {
  const k = ctx.o.nClusters;
  const maps: Int32Array[] = [];
  for (const state of states) {
    const out = await predict(ctx.network, state, ctx.x, { batchSize: 512, runtime: ctx.runtime });
    const logits = out.logits!.data;
    const heads = new Int32Array(ctx.n);
    for (let i = 0; i < ctx.n; i++) {
      let b = 0;
      for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + b]!) b = j;
      heads[i] = b;
    }
    maps.push(matchLabels(heads, labels, k));
  }
  return maps;
}
