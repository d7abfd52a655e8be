/**
 * SPC end to end on small synthetic image clusters: it learns them (far above chance), reports every stage,
 * keeps a consistent agreement history, and its predict() equals the exported ONNX model run by plain
 * onnxruntime.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InvalidInputError, InvalidOptionError, ShapeError, Tensor, linearSumAssignment } from '@dc/core';
import { fitSpc, type SpcOptions, type SpcProgress, type SpcResult, type SpcRoundInfo } from '@dc/consensus';
import { SMALL_SCHEDULE, syntheticImages } from './synthetic';

/** Clustering accuracy: the best one-to-one mapping of clusters to classes (evaluation only). */
function accuracy(pred: ArrayLike<number>, truth: ArrayLike<number>, k: number): number {
  const table = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < pred.length; i++) table[pred[i]!]![truth[i]!]!++;
  return linearSumAssignment(table, { maximize: true }).total / pred.length;
}

const K = 6;
const N = 900;
const { images, classes } = syntheticImages(N, K, 16, 1);

const SMALL: SpcOptions = { ...SMALL_SCHEDULE, nClusters: K };

describe('fitSpc on synthetic image clusters', () => {
  let result: SpcResult;
  const events: SpcProgress[] = [];
  const rounds: SpcRoundInfo[] = [];

  beforeAll(async () => {
    result = await fitSpc(images, { ...SMALL, onProgress: (e) => events.push(e), onRound: (r) => rounds.push(r) });
  }, 180_000);

  it('clusters the images far above chance (1/6)', () => {
    expect(result.labels).toHaveLength(N);
    expect(accuracy(result.labels, classes, K)).toBeGreaterThan(0.9);
  });

  it('labels every image with one of the K clusters', () => {
    expect(result.labels.every((l) => l >= 0 && l < K)).toBe(true);
    expect(result.nClusters).toBe(K);
  });

  it('keeps one consistent record per round, and returns the round with the most agreed points', () => {
    const h = result.history;
    expect(h.length).toBeGreaterThanOrEqual(2);
    expect(h.length).toBeLessThanOrEqual(SMALL.maxRounds! + 1);
    h.forEach((r, i) => {
      expect(r.round).toBe(i);
      expect(r.agreed).toBeGreaterThan(0);
      expect(r.agreed).toBeLessThanOrEqual(N);
      expect(r.fraction).toBeCloseTo(r.agreed / N, 12);
      expect(r.members + r.excluded.length).toBe(SMALL.ensembleSize);
      expect(r.trainLoss === null).toBe(i === 0);
    });
    const counts = h.map((r) => r.agreed);
    expect(result.agreementHistory).toEqual(counts);
    expect(result.bestRound).toBe(counts.indexOf(Math.max(...counts)));
    // The returned labels and agreement are the best round's, as reported to onRound.
    expect(rounds.map((r) => r.record)).toEqual(h);
    const best = rounds[result.bestRound]!;
    expect(Array.from(result.labels)).toEqual(Array.from(best.consensus));
    expect(Array.from(result.agreed)).toEqual(Array.from(best.agreed));
    expect(result.agreed.reduce((s, a) => s + a, 0)).toBe(h[result.bestRound]!.agreed);
  });

  it("reports each member's UMAP layout and its labels in the consensus's names", () => {
    for (const info of rounds) {
      expect(info.members.map((m) => m.member)).toEqual([0, 1]);
      for (const m of info.members) {
        expect(m.layout.shape).toEqual([N, 2]);
        expect(m.layout.data.every((v) => Number.isFinite(v))).toBe(true);
        expect(m.excludedReason === null).toBe(m.labels !== null);
      }
      const voting = info.members.filter((m) => m.labels !== null);
      expect(voting).toHaveLength(info.record.members);
      // Unanimous agreement: on an agreed point every member's renamed label is the consensus label; on any
      // other point some member says otherwise (or noise).
      for (let i = 0; i < N; i++) {
        const same = voting.every((m) => m.labels![i] === info.consensus[i]);
        expect(same).toBe(info.agreed[i] === 1);
      }
      for (const m of voting) expect(m.labels!.every((l) => l >= -1 && l < K)).toBe(true);
    }
    // The members' layouts differ (each clustering has its own seed).
    const [a, b] = rounds[0]!.members;
    expect(Array.from(a!.layout.data)).not.toEqual(Array.from(b!.layout.data));
  });

  it('stopped by the patience rule or at maxRounds', () => {
    const counts = result.agreementHistory;
    const last = counts.length - 1;
    const stale = counts[last]! <= Math.max(...counts.slice(0, last));
    expect(stale || last === SMALL.maxRounds).toBe(true);
  });

  it('reports progress for every stage', () => {
    const stages = new Set(events.map((e) => e.stage));
    for (const s of ['pretrain', 'embed', 'umap', 'cluster', 'align', 'train']) expect(stages.has(s as SpcProgress['stage'])).toBe(true);
    for (const e of events) {
      expect(e.done).toBeLessThanOrEqual(e.total);
      expect(e.done).toBeGreaterThanOrEqual(0);
    }
    for (let i = 1; i < events.length; i++) expect(events[i]!.elapsedSeconds).toBeGreaterThanOrEqual(events[i - 1]!.elapsedSeconds);
    const pretrain = events.filter((e) => e.stage === 'pretrain');
    expect(new Set(pretrain.map((e) => e.member))).toEqual(new Set([0, 1]));
    expect(pretrain.every((e) => e.round === 0 && Number.isFinite(e.loss))).toBe(true);
    const align = events.filter((e) => e.stage === 'align');
    expect(align.map((e) => e.agreed)).toEqual(result.agreementHistory);
  });

  it('predicts the training images mostly as their consensus labels', async () => {
    const p = await result.predict(images);
    expect(p.labels).toHaveLength(N);
    expect(p.probabilities.shape).toEqual([N, K]);
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += p.probabilities.data[i * K + j]!;
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    }
    let same = 0;
    for (let i = 0; i < N; i++) if (p.labels[i] === result.labels[i]) same++;
    expect(same / N).toBeGreaterThan(0.9);
    // dispose() releases predict's sessions; the next call compiles them again and gives the same labels
    await result.dispose();
    expect(Array.from((await result.predict(images)).labels)).toEqual(Array.from(p.labels));
  });

  it('exports one ONNX model that plain onnxruntime runs with the same outputs as predict', async () => {
    const x = images.rows(0, 100);
    const p = await result.predict(x);
    const dir = mkdtempSync(join(tmpdir(), 'spc-export-'));
    try {
      const file = join(dir, 'spc.onnx');
      await result.exportOnnx(file);
      const bytes = readFileSync(file);
      expect(Buffer.from(result.toOnnx()).equals(bytes)).toBe(true);
      const session = await ort.InferenceSession.create(bytes);
      expect(session.inputNames).toEqual(['input']);
      expect(new Set(session.outputNames)).toEqual(new Set(['probabilities', 'labels']));
      // A batch size other than predict's: the exported batch dimension is symbolic.
      const out = await session.run({ input: new ort.Tensor('float32', x.data, [100, 1, 16, 16]) });
      const probs = out.probabilities!.data as Float32Array;
      const labels = out.labels!.data as BigInt64Array;
      expect(out.probabilities!.dims).toEqual([100, K]);
      let maxDiff = 0;
      for (let i = 0; i < probs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(probs[i]! - p.probabilities.data[i]!));
      expect(maxDiff).toBeLessThan(1e-5);
      expect(Array.from(labels, Number)).toEqual(Array.from(p.labels));
      await session.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts uint8 images for prediction and a dataset-like object', async () => {
    const u8 = new Tensor('uint8', Uint8Array.from(images.rows(0, 20).data, (v) => Math.round(v * 255)), [20, 1, 16, 16]);
    const a = await result.predict(u8);
    const b = await result.predict({ images: u8 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
  });

  it('rejects bad prediction inputs', async () => {
    await expect(result.predict(Tensor.zeros([3, 1, 8, 8]))).rejects.toThrow(ShapeError);
    await expect(result.predict(Tensor.zeros([3, 2, 16, 16]))).rejects.toThrow(ShapeError);
    await expect(result.predict(Tensor.zeros([3, 256]))).rejects.toThrow(ShapeError);
    await expect(result.predict('images' as unknown as Tensor)).rejects.toThrow(InvalidInputError);
    await expect(result.predict(images.rows(0, 2), { batchSize: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(result.predict(images.rows(0, 2), { batch: 4 } as never)).rejects.toThrow(/Unknown option 'batch'/);
  });
});

describe('fitSpc with a Gaussian mixture as the clusterer', () => {
  it('learns the clusters too', async () => {
    const { images: x, classes: y } = syntheticImages(600, 4, 16, 2);
    // Three pretraining epochs leave these four classes only ~80% separable in round 0 (measured over seeds 0-2);
    // eight epochs and three rounds reach 0.98-1.0 on every seed we tried, in about 5 s.
    const r = await fitSpc(x, { ...SMALL, nClusters: 4, clusterer: 'gmm', pretrainEpochs: 8, maxRounds: 3, patience: 2 });
    expect(r.history.length).toBeGreaterThanOrEqual(2);
    expect(accuracy(r.labels, y, 4)).toBeGreaterThan(0.9);
  }, 120_000);
});

describe('fitSpc with the concatenated latent codes as one more labelling', () => {
  it('votes with ensembleSize + 1 labellings, reports the extra clustering, and still learns', async () => {
    const { images: x, classes: y } = syntheticImages(600, 4, 16, 3);
    const events: SpcProgress[] = [];
    const r = await fitSpc(x, { ...SMALL, nClusters: 4, ensembleSize: 2, concatenatedMember: true, pretrainEpochs: 8, maxRounds: 2, onProgress: (e) => events.push(e) });
    for (const h of r.history) expect(h.members + h.excluded.length).toBe(3);
    // Member index 2 (= ensembleSize) is the concatenation: clustered every round, never trained.
    const extra = events.filter((e) => e.member === 2);
    expect(new Set(extra.map((e) => e.stage))).toEqual(new Set(['umap', 'cluster']));
    expect(new Set(extra.filter((e) => e.stage === 'cluster').map((e) => e.round))).toEqual(new Set(r.history.map((h) => h.round)));
    expect(accuracy(r.labels, y, 4)).toBeGreaterThan(0.9);
  }, 120_000);

  it('is left out with a single member, which it would only repeat', async () => {
    const { images: x } = syntheticImages(300, 3, 16, 5);
    const r = await fitSpc(x, { ...SMALL, nClusters: 3, ensembleSize: 1, concatenatedMember: true, pretrainEpochs: 2, maxRounds: 1 });
    for (const h of r.history) expect(h.members + h.excluded.length).toBe(1);
  }, 120_000);
});

describe('fitSpc with shifted training images', () => {
  it('learns the clusters, trains on other images than without, and gives the same result in worker threads', async () => {
    const { images: x, classes: y } = syntheticImages(600, 4, 16, 6);
    const options: SpcOptions = { ...SMALL, nClusters: 4, pretrainEpochs: 8, maxRounds: 2, augment: { padding: 1 } };
    const serial = await fitSpc(x, options);
    expect(accuracy(serial.labels, y, 4)).toBeGreaterThan(0.9);
    const parallel = await fitSpc(x, { ...options, workers: 2 });
    expect(Array.from(parallel.labels)).toEqual(Array.from(serial.labels));
    const [a, b] = [await serial.predict(x.rows(0, 40)), await parallel.predict(x.rows(0, 40))];
    expect(Array.from(b.probabilities.data)).toEqual(Array.from(a.probabilities.data));
    // The shifts reach the members: the same run without them ends with other weights.
    const plain = await fitSpc(x, { ...options, augment: false });
    expect(Array.from((await plain.predict(x.rows(0, 40))).probabilities.data)).not.toEqual(Array.from(a.probabilities.data));
  }, 180_000);
});

describe('fitSpc with members training and clustered in worker threads', () => {
  it('gives exactly the result of training and clustering them one after another in this thread', async () => {
    const { images: x } = syntheticImages(480, 4, 16, 4);
    const options: SpcOptions = { ...SMALL, nClusters: 4, maxRounds: 1, pretrainEpochs: 2, ensembleSize: 3, concatenatedMember: true };
    const umapMembers = new Set<number>();
    const serialRounds: SpcRoundInfo[] = [];
    const parallelRounds: SpcRoundInfo[] = [];
    const serial = await fitSpc(x, { ...options, workers: 0, onRound: (r) => serialRounds.push(r) });
    const parallel = await fitSpc(x, { ...options, workers: 2, onProgress: (e) => e.stage === 'umap' && e.member !== null && umapMembers.add(e.member), onRound: (r) => parallelRounds.push(r) });
    // The layouts' progress comes back from the pool's threads, the concatenated codes' (member 3) included.
    expect([...umapMembers].sort()).toEqual([0, 1, 2, 3]);
    expect(parallel.agreementHistory).toEqual(serial.agreementHistory);
    expect(Array.from(parallel.labels)).toEqual(Array.from(serial.labels));
    // The layouts come back from the threads whole: the same bits, the concatenated codes' last.
    expect(parallelRounds).toHaveLength(serialRounds.length);
    parallelRounds.forEach((r, i) => {
      expect(r.members.map((m) => m.member)).toEqual([0, 1, 2, 3]);
      r.members.forEach((m, j) => {
        const s = serialRounds[i]!.members[j]!;
        expect(m.layout.shape).toEqual([480, 2]);
        expect(Array.from(m.layout.data)).toEqual(Array.from(s.layout.data));
        expect(m.labels && Array.from(m.labels)).toEqual(s.labels && Array.from(s.labels));
      });
    });
    const [a, b] = [await serial.predict(x.rows(0, 40)), await parallel.predict(x.rows(0, 40))];
    expect(Array.from(b.probabilities.data)).toEqual(Array.from(a.probabilities.data));
  }, 180_000);
});
