import { InvalidInputError, InvalidOptionError, Rng, Tensor, disposeSharedRuntimes } from '@dc/core';
import { adversarialAccuracy, cleanSetReport, evaluateRuc, fitRuc, selectionFromMask, type CleanSelection, type RucResult } from '@dc/robust-refine';
import { accuracy, blobs } from './blobs';

afterAll(() => disposeSharedRuntimes());

function selection(labels: number[], confidence: number[] | null, metric: number[] | null, clean: number[]): CleanSelection {
  return selectionFromMask(
    {
      strategy: 'hybrid',
      numClusters: 2,
      labels: Int32Array.from(labels),
      confidence: null,
      neighbourAgreement: null,
      masks: { confidence: confidence && Uint8Array.from(confidence), metric: metric && Uint8Array.from(metric) },
      tau1: 0.99,
      k: 3,
    },
    Uint8Array.from(clean),
  );
}

describe('cleanSetReport', () => {
  it('scores each strategy against the truth (hand-computed)', () => {
    // labels [0, 0, 1, 1] vs truth [0, 1, 1, 1]: the mapping is 0 -> 0, 1 -> 1 and samples 0, 2, 3 are right.
    const s = selection([0, 0, 1, 1], [1, 1, 0, 1], [1, 0, 1, 1], [1, 0, 0, 1]);
    const r = cleanSetReport(s, [0, 1, 1, 1]);
    expect(r.map((q) => q.strategy)).toEqual(['confidence', 'metric', 'hybrid']);
    // confidence selects 0, 1, 3: two right of three selected, two of three right labels found
    expect(r[0]!.precision).toBeCloseTo(2 / 3, 12);
    expect(r[0]!.recall).toBeCloseTo(2 / 3, 12);
    expect(r[0]!.f1).toBeCloseTo(2 / 3, 12);
    // metric selects 0, 2, 3: all right, all found
    expect(r[1]!.f1).toBe(1);
    // hybrid selects 0, 3: precision 1, recall 2/3, F1 0.8
    expect(r[2]!.precision).toBe(1);
    expect(r[2]!.recall).toBeCloseTo(2 / 3, 12);
    expect(r[2]!.f1).toBeCloseTo(0.8, 12);
  });

  it('reports only the strategies the inputs allowed', () => {
    const r = cleanSetReport(selection([0, 0, 1, 1], null, [1, 0, 1, 1], [1, 0, 1, 1]), [0, 1, 1, 1]);
    expect(r.map((q) => q.strategy)).toEqual(['metric']);
  });
});

describe('evaluateRuc and adversarialAccuracy', () => {
  const data = blobs(400, 3, 6, 0.3, 11, 3);
  let result: RucResult;

  beforeAll(async () => {
    result = await fitRuc(data.x, data.noisy, { epochs: 6, batchSize: 32, width: 32, seed: 4, embeddings: data.x, k: 10, threads: 1 });
  }, 60_000);

  it('compares the labels and their calibration before and after', () => {
    const ev = evaluateRuc(result, data.truth);
    expect(ev.accuracyBefore).toBeCloseTo(accuracy(data.noisy, data.truth), 12);
    // hard initial labels are fully confident: ECE = 1 - ACC
    expect(ev.eceBefore).toBeCloseTo(1 - ev.accuracyBefore, 12);
    expect(ev.accuracyAfter).toBeGreaterThan(ev.accuracyBefore + 0.2);
    // Label smoothing (epsilon 0.5 over 3 clusters) leaves the networks under-confident on this easy problem. With
    // one bin the ECE is exactly the gap between accuracy and mean confidence; with more bins it is at least that.
    const meanConfidence = result.confidences.reduce((s, v) => s + v, 0) / result.confidences.length;
    expect(meanConfidence).toBeLessThan(ev.accuracyAfter - 0.1);
    expect(evaluateRuc(result, data.truth, { bins: 1 }).eceAfter).toBeCloseTo(ev.accuracyAfter - meanConfidence, 12);
    expect(ev.eceAfter).toBeGreaterThanOrEqual(ev.accuracyAfter - meanConfidence - 1e-12);
    expect(ev.cleanSets.map((s) => s.strategy)).toEqual(['metric']);
    expect(ev.finalCleanSet.selected).toBe(result.finalClean.reduce((s, v) => s + v, 0));
    expect(() => evaluateRuc(result, data.truth.subarray(1))).toThrow(InvalidInputError);
  });

  it('FGSM and BIM lower accuracy more than random perturbations of the same size', async () => {
    const eps = 1.5;
    const fgsm = await adversarialAccuracy(result, data.x, data.truth, { epsilons: [0, eps] });
    const bim = await adversarialAccuracy(result, data.x, data.truth, { attack: 'bim', epsilons: [eps] });
    expect(fgsm.points[0]!.accuracy).toBeCloseTo(fgsm.cleanAccuracy, 12);
    expect(bim.iterations).toBe(5);
    // the same budget spent in random sign directions
    const rng = new Rng(9);
    const noisy = data.x.clone();
    for (let i = 0; i < noisy.data.length; i++) noisy.data[i]! += rng.uniform() < 0.5 ? -eps : eps;
    const randomAcc = accuracy((await result.predict(noisy)).labels, data.truth);
    expect(fgsm.points[1]!.accuracy).toBeLessThan(randomAcc - 0.1);
    expect(bim.points[0]!.accuracy).toBeLessThanOrEqual(fgsm.points[1]!.accuracy + 0.02);
  }, 60_000);

  it('rejects bad attack options and truth of the wrong length', async () => {
    await expect(adversarialAccuracy(result, data.x, data.truth, { attack: 'pgd' as never })).rejects.toThrow(InvalidOptionError);
    await expect(adversarialAccuracy(result, data.x, data.truth, { epsilons: [-0.1] })).rejects.toThrow(InvalidOptionError);
    await expect(adversarialAccuracy(result, data.x, data.truth.subarray(3))).rejects.toThrow(InvalidInputError);
    await expect(adversarialAccuracy(result, Tensor.zeros([4, 1, 2, 2]), [0, 1, 0, 1])).rejects.toThrow(InvalidInputError);
  });
});
