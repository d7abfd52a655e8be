import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InvalidInputError, InvalidOptionError, Rng, ShapeError, Tensor, UnknownOptionError, disposeSharedRuntimes, getRuntime } from '@dc/core';
import { TrainingDivergedError } from '@dc/nn';
import { evaluateRuc, fitRuc, selectCleanSamples, selectionFromMask, type RucOptions, type RucProgress } from '@dc/robust-refine';
import { accuracy, blobs } from './blobs';

afterAll(() => disposeSharedRuntimes());

// 4 overlapping blobs in 8-D, 30% of the pseudo-labels moved to a wrong cluster.
const data = blobs(600, 4, 8, 0.3, 7, 2.5);
const quick: RucOptions = { epochs: 2, batchSize: 32, width: 32, seed: 3, k: 10, threads: 1 };

/** Sessions fitRuc runs have left in the shared runtime of `quick` (keys '<run>:<role>'). */
async function rucSessions(): Promise<string[]> {
  const runtime = await getRuntime({ device: 'cpu', threads: 1 });
  const keys: string[] = [];
  for (let i = 1; i <= 500; i++) {
    for (const role of ['step', 'guess', 'eval:512']) if (runtime.has(`@dc/robust-refine:fit${i}:${role}`)) keys.push(`${i}:${role}`);
  }
  return keys;
}

describe('fitRuc learnability', () => {
  it('recovers accuracy well above the corrupted labels (metric strategy, co-training)', async () => {
    const t0 = performance.now();
    const noisyAcc = accuracy(data.noisy, data.truth);
    const r = await fitRuc(data.x, data.noisy, { epochs: 12, batchSize: 32, width: 64, seed: 1, embeddings: data.x, k: 10, lambdaU: 25, threads: 1 });
    const acc = accuracy(r.labels, data.truth);
    expect(noisyAcc).toBeCloseTo(0.7, 2);
    expect(acc).toBeGreaterThan(0.9);
    expect(acc - noisyAcc).toBeGreaterThan(0.2);
    expect(r.history).toHaveLength(12);
    expect(r.selection.strategy).toBe('metric');
    // the clean set only grows, by refurbishing
    for (let e = 1; e < r.history.length; e++) expect(r.history[e]!.cleanSize).toBeGreaterThanOrEqual(r.history[e - 1]!.cleanSize);
    expect(r.history.at(-1)!.cleanSize).toBe(r.finalClean.reduce((s, v) => s + v, 0));
    expect(r.history.reduce((s, h) => s + h.refurbished, 0)).toBe(r.history.at(-1)!.cleanSize - r.selection.cleanIndices.length);
    // probabilities are the mean of the networks' and rows sum to 1
    const p = r.probabilities.data;
    for (let i = 0; i < 10; i++) expect(p[i * 4]! + p[i * 4 + 1]! + p[i * 4 + 2]! + p[i * 4 + 3]!).toBeCloseTo(1, 5);
    expect((performance.now() - t0) / 1000).toBeLessThan(60);
  }, 90_000);

  it('learns without co-training and label smoothing (MixMatch only)', async () => {
    const r = await fitRuc(data.x, data.noisy, { epochs: 8, batchSize: 32, width: 64, seed: 2, embeddings: data.x, k: 10, coTraining: false, labelSmoothing: false, threads: 1 });
    expect(r.states).toHaveLength(1);
    expect(r.history[0]!.losses).toHaveLength(1);
    expect(r.history[0]!.losses[0]!.lXs).toBe(0);
    expect(accuracy(r.labels, data.truth)).toBeGreaterThan(0.85);
  }, 60_000);
});

describe('fitRuc behaviour', () => {
  it('is reproducible with a seed', async () => {
    const a = await fitRuc(data.x, data.noisy, { ...quick, embeddings: data.x });
    const b = await fitRuc(data.x, data.noisy, { ...quick, embeddings: data.x });
    expect(Array.from(a.probabilities.data)).toEqual(Array.from(b.probabilities.data));
    expect(a.history.map((h) => h.losses)).toEqual(b.history.map((h) => h.losses));
  }, 60_000);

  it('reports progress, predicts new data and exports the ensemble to ONNX', async () => {
    const events: RucProgress[] = [];
    const r = await fitRuc(data.x, data.noisy, { ...quick, embeddings: data.x, onProgress: (e) => events.push(e) });
    expect(events[0]!.type).toBe('selection');
    expect(events.filter((e) => e.type === 'epoch').map((e) => e.epoch)).toEqual([1, 2]);
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.length).toBe(2 * 2 * Math.ceil(600 / 64));
    expect(steps.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(steps[0]!.etaSeconds).toBeGreaterThan(0);
    expect(steps.at(-1)!.etaSeconds).toBe(0);

    const fresh = await r.predict(data.x.rows(0, 50), { batchSize: 16 });
    expect(Array.from(fresh.labels)).toEqual(Array.from(r.labels.subarray(0, 50)));
    for (let i = 0; i < 50 * 4; i++) expect(fresh.probabilities.data[i]).toBeCloseTo(r.probabilities.data[i]!, 5);

    const bytes = await r.exportOnnx();
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ input: new ort.Tensor('float32', data.x.data.slice(0, 20 * 8), [20, 8]) });
    const probs = out[session.outputNames[0]!]!.data as Float32Array;
    for (let i = 0; i < 20 * 4; i++) expect(probs[i]).toBeCloseTo(r.probabilities.data[i]!, 5);
    await session.release();
    await expect(r.predict(Tensor.zeros([3, 5]))).rejects.toThrow(ShapeError);
    // sessions are released and rebuilt on demand
    await r.dispose();
    expect(Array.from((await r.predict(data.x.rows(0, 5))).labels)).toEqual(Array.from(r.labels.subarray(0, 5)));
  }, 60_000);

  it('resumes from a checkpoint exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ruc-'));
    try {
      const path = join(dir, 'ruc.ckpt');
      const opts: RucOptions = { ...quick, epochs: 3, embeddings: data.x };
      const full = await fitRuc(data.x, data.noisy, opts);
      const controller = new AbortController();
      const first = await fitRuc(data.x, data.noisy, {
        ...opts,
        checkpoint: { path },
        signal: controller.signal,
        onProgress: (e) => e.type === 'epoch' && e.epoch === 1 && controller.abort(),
      });
      expect(first.stopped).toBe(true);
      expect(first.epochsDone).toBe(1);
      const resumed = await fitRuc(data.x, data.noisy, { ...opts, resume: path });
      expect(resumed.epochsDone).toBe(3);
      expect(resumed.history).toEqual(full.history.map((h, i) => ({ ...h, seconds: resumed.history[i]!.seconds })));
      expect(Array.from(resumed.probabilities.data)).toEqual(Array.from(full.probabilities.data));
      await expect(fitRuc(data.x, data.noisy, { ...opts, batchSize: 16, resume: path })).rejects.toThrow(/batchSize/);
      // options outside the batch plan count too: the loss, the schedule, the networks and the initial clean set
      await expect(fitRuc(data.x, data.noisy, { ...opts, epsilon: 0.1, resume: path })).rejects.toThrow(/epsilon/);
      await expect(fitRuc(data.x, data.noisy, { ...opts, tau2: { start: 0.8 }, resume: path })).rejects.toThrow(/tau2/);
      await expect(fitRuc(data.x, data.noisy, { ...opts, width: 16, resume: path })).rejects.toThrow(/parameters/);
      await expect(fitRuc(data.x, data.noisy, { ...opts, k: 20, resume: path })).rejects.toThrow(/selection/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('keeps the start of a diverging epoch as its checkpoint, which resumes exactly, and releases its sessions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ruc-'));
    try {
      const path = join(dir, 'ruc.ckpt');
      // A custom strong view (feature noise) that can be switched to emit a huge value from the third epoch on:
      // the label-smoothed term then overflows and the loss is not finite.
      let poison = false;
      const strong = (x: Tensor, rng: Rng): Tensor => {
        const out = x.clone();
        for (let i = 0; i < out.data.length; i++) out.data[i] = (out.data[i] as number) + 0.3 * rng.normal();
        if (poison) out.data[0] = 1e30;
        return out;
      };
      const opts: RucOptions = { ...quick, epochs: 3, embeddings: data.x, augment: { strong } };
      const full = await fitRuc(data.x, data.noisy, opts);
      await full.dispose();
      const before = await rucSessions();
      const failed = fitRuc(data.x, data.noisy, {
        ...opts,
        checkpoint: { path, everyEpochs: 10 }, // no end-of-epoch checkpoint before the failure
        onProgress: (e) => {
          if (e.type === 'epoch' && e.epoch === 2) poison = true;
        },
      });
      await expect(failed).rejects.toThrow(TrainingDivergedError);
      expect(await rucSessions()).toEqual(before);
      poison = false;
      // The checkpoint holds the run after epoch 2 (not partway into epoch 3), so the resumed run is the full one.
      const resumed = await fitRuc(data.x, data.noisy, { ...opts, resume: path });
      expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
      expect(resumed.history).toEqual(full.history.map((h, i) => ({ ...h, seconds: resumed.history[i]!.seconds })));
      expect(Array.from(resumed.probabilities.data)).toEqual(Array.from(full.probabilities.data));
      await resumed.dispose();
      // a run that fails before training (a checkpoint from another run) releases its sessions too
      await expect(fitRuc(data.x, data.noisy, { ...opts, lr: 0.02, resume: path })).rejects.toThrow(/lr/);
      expect(await rucSessions()).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('rejects an augmentation that returns NaN, naming it', async () => {
    const weak = (x: Tensor): Tensor => {
      const out = x.clone();
      out.data[3] = NaN;
      return out;
    };
    await expect(fitRuc(data.x, data.noisy, { ...quick, epochs: 1, embeddings: data.x, augment: { weak } })).rejects.toThrow(/augment\.weak/);
  });

  it('scores probabilities that fitRuc accepted (rows within 1e-3 of 1)', async () => {
    const probs = Tensor.zeros([600, 4]);
    for (let i = 0; i < 600; i++) {
      const conf = i % 3 === 0 ? 0.995 : 0.7;
      // rows sum to 1.0005: inside fitRuc's tolerance, outside @dc/metrics' default 1e-4
      for (let j = 0; j < 4; j++) probs.data[i * 4 + j] = 1.0005 * (j === data.noisy[i] ? conf : (1 - conf) / 3);
    }
    const r = await fitRuc(data.x, probs, { ...quick, epochs: 1 });
    const ev = evaluateRuc(r, data.truth);
    expect(ev.accuracyBefore).toBeCloseTo(0.7, 2);
    expect(() => evaluateRuc(r, data.truth, { bin: 10 } as never)).toThrow(UnknownOptionError);
    expect(() => evaluateRuc(r, data.truth, { bins: 0 })).toThrow(InvalidOptionError);
    await r.dispose();
  }, 60_000);

  it('takes probabilities and a precomputed selection', async () => {
    const probs = Tensor.zeros([600, 4]);
    for (let i = 0; i < 600; i++) {
      const conf = i % 3 === 0 ? 0.995 : 0.7;
      for (let j = 0; j < 4; j++) probs.data[i * 4 + j] = j === data.noisy[i] ? conf : (1 - conf) / 3;
    }
    const selection = await selectCleanSamples(probs, { embeddings: data.x, k: 10 });
    expect(selection.strategy).toBe('hybrid');
    const r = await fitRuc(data.x, probs, { ...quick, epochs: 1, selection });
    expect(r.selection).toBe(selection);
    expect(r.initialProbabilities).not.toBeNull();
    const ev = evaluateRuc(r, data.truth);
    expect(ev.cleanSets.map((s) => s.strategy)).toEqual(['confidence', 'metric', 'hybrid']);
    expect(ev.accuracyBefore).toBeCloseTo(0.7, 2);
  }, 60_000);
});

describe('fitRuc input checks', () => {
  const x = data.x;
  const y = data.noisy;

  it('rejects pseudo-labels of the wrong length', async () => {
    await expect(fitRuc(x, y.subarray(0, 599), quick)).rejects.toThrow(ShapeError);
  });

  it('rejects probabilities of the wrong shape or not summing to 1', async () => {
    await expect(fitRuc(x, Tensor.full([599, 4], 0.25), quick)).rejects.toThrow(ShapeError);
    await expect(fitRuc(x, Tensor.full([600, 4], 0.3), quick)).rejects.toThrow(/sum to 1/);
    await expect(fitRuc(x, Tensor.full([600, 4], 0.25), { ...quick, numClusters: 5 })).rejects.toThrow(ShapeError);
  });

  it('rejects k out of range and tau outside (0, 1)', async () => {
    await expect(fitRuc(x, y, { ...quick, embeddings: x, k: 600 })).rejects.toThrow(InvalidOptionError);
    await expect(fitRuc(x, y, { ...quick, embeddings: x, k: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(fitRuc(x, Tensor.full([600, 4], 0.25), { ...quick, tau1: 1 })).rejects.toThrow(InvalidOptionError);
    await expect(fitRuc(x, y, { ...quick, embeddings: x, tau2: { start: 1.2 } })).rejects.toThrow(InvalidOptionError);
    // a schedule that would reach 1 (and refurbish nothing from then on) within the run
    await expect(fitRuc(x, y, { ...quick, embeddings: x, tau2: { start: 0.95, step: 0.05, every: 1 } })).rejects.toThrow(/stays below 1 over the 2 epochs/);
    await expect(fitRuc(x, y, { ...quick, embeddings: x, epochs: 1, tau2: { start: 0.95, step: 0.05, every: 1 } })).resolves.toBeDefined();
  });

  it('rejects unknown and invalid options', async () => {
    await expect(fitRuc(x, y, { ...quick, embeddings: x, epoch: 3 } as never)).rejects.toThrow(UnknownOptionError);
    await expect(fitRuc(x, y, { ...quick, embeddings: x, epsilon: 1.5 })).rejects.toThrow(InvalidOptionError);
    await expect(fitRuc(x, y, { ...quick, embeddings: x, temperature: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(fitRuc(x, y, { ...quick, embeddings: x, augmentations: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(fitRuc(x, y, { ...quick, embeddings: x, tau2: { every: 0 } })).rejects.toThrow(InvalidOptionError);
  });

  it('needs a strategy its inputs allow, and a non-empty clean set', async () => {
    await expect(fitRuc(x, y, quick)).rejects.toThrow(/needs per-class probabilities/);
    await expect(fitRuc(x, Tensor.full([600, 4], 0.25), { ...quick, tau1: 0.5 })).rejects.toThrow(/no sample was selected/);
  });

  it('refuses a clean set that leaves a cluster without a clean sample, naming the cluster', async () => {
    // Confident everywhere except cluster 2, whose members all stay under tau1 = 0.99.
    const probs = new Float32Array(600 * 4);
    for (let i = 0; i < 600; i++) {
      const top = y[i] === 2 ? 0.91 : 0.997;
      for (let c = 0; c < 4; c++) probs[i * 4 + c] = c === y[i] ? top : (1 - top) / 3;
    }
    const size2 = y.filter((l) => l === 2).length;
    await expect(fitRuc(x, new Tensor('float32', probs, [600, 4]), quick)).rejects.toThrow(
      new RegExp(`no clean sample in cluster 2 \\(${size2} samples\\): RUC would lose it\\. Lower tau1 \\(the 'confidence' strategy used 0\\.99\\)`),
    );
    // Below tau1 = 0.9 cluster 2 is covered again and the run goes ahead.
    await expect(fitRuc(x, new Tensor('float32', probs, [600, 4]), { ...quick, epochs: 1, tau1: 0.9 })).resolves.toBeDefined();

    // The metric strategy's advice, for clusters 0 and 1 removed from a selection.
    const sel = await selectCleanSamples(y, { embeddings: x, k: 10 });
    const clean = sel.clean.map((v, i) => (y[i]! <= 1 ? 0 : v));
    await expect(fitRuc(x, y, { ...quick, selection: selectionFromMask(sel, clean) })).rejects.toThrow(/no clean sample in clusters 0 \(\d+ samples\), 1 \(\d+ samples\): RUC would lose them\. .*cluster into fewer groups/);
  });

  it('rejects data that is neither images nor embeddings', async () => {
    await expect(fitRuc(Tensor.zeros([600]), y, quick)).rejects.toThrow(ShapeError);
    await expect(fitRuc([1, 2, 3] as never, y, quick)).rejects.toThrow(InvalidInputError);
  });
});
