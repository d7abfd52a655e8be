/** ECE, reliability bins and the confidence histogram on cases with known answers. */
import { Tensor } from '@dc/core';
import { calibration, calibrationFromConfidences, confidenceHistogram, evaluateClustering, expectedCalibrationError } from '@dc/metrics';

function repeat<T>(value: T, times: number): T[] {
  return Array.from({ length: times }, () => value);
}

describe('expected calibration error', () => {
  it('is 0 when every bin is as accurate as it is confident', () => {
    // 20 samples at confidence 0.65 of which 13 are right, 20 at 0.8 of which 16 are right.
    const probabilities = [...repeat([0.65, 0.35], 20), ...repeat([0.2, 0.8], 20)];
    const truth = [...repeat(0, 13), ...repeat(1, 7), ...repeat(1, 16), ...repeat(0, 4)];
    const r = calibration(probabilities, truth, { bins: 10 });
    expect(r.ece).toBeCloseTo(0, 14);
    expect(r.mce).toBeCloseTo(0, 14);
    expect(r.accuracy).toBeCloseTo(29 / 40, 14);
    const used = r.bins.filter((b) => b.count > 0);
    expect(used.map((b) => [b.lower, b.upper, b.count, b.correct])).toEqual([
      [0.6, 0.7, 20, 13],
      [0.7, 0.8, 20, 16],
    ]);
    expect(used[0]!.accuracy).toBeCloseTo(0.65, 14);
    expect(used[1]!.confidence).toBeCloseTo(0.8, 14);
  });

  it('equals the gap between confidence and accuracy for an overconfident model', () => {
    // Always fully confident, right half of the time.
    const probabilities = repeat([1, 0, 0], 10).map((row, i) => (i % 2 ? [0, 1, 0] : row));
    const truth = [0, 1, 0, 1, 0, 2, 1, 0, 2, 2];
    const r = calibration(probabilities, truth);
    const correct = r.accuracy;
    expect(r.ece).toBeCloseTo(1 - correct, 14);
    expect(r.bins[r.bins.length - 1]!.count).toBe(10);
    expect(expectedCalibrationError(probabilities, truth)).toBe(r.ece);
  });

  it('weights each bin by its share of the samples (hand-computed)', () => {
    // bins of 1/4: confidences 0.3 (bin 1), 0.6, 0.6 (bin 2), 0.9 (bin 3)
    const confidence = Float64Array.from([0.3, 0.6, 0.6, 0.9]);
    const correct = Uint8Array.from([0, 1, 0, 1]);
    const r = calibrationFromConfidences(confidence, correct, 4);
    // |0 - 0.3| * 1/4 + |0.5 - 0.6| * 2/4 + |1 - 0.9| * 1/4
    expect(r.ece).toBeCloseTo(0.075 + 0.05 + 0.025, 14);
    expect(r.mce).toBeCloseTo(0.3, 14);
    expect(r.bins.map((b) => b.count)).toEqual([0, 1, 2, 1]);
  });

  it('puts a confidence on a bin edge in the lower bin, 0 in the first and 1 in the last', () => {
    const r = calibrationFromConfidences(Float64Array.from([0.3, 0.30000000000000004, 0, 1, 0.1]), new Uint8Array(5), 10);
    expect(r.bins.map((b) => b.count)).toEqual([2, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
    const h = confidenceHistogram([0.3, 0.30000000000000004, 0, 1, 0.1], { bins: 10 });
    expect(h.counts).toEqual([2, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
    expect(h.edges[3]).toBe(0.3);
  });

  it('keeps accepting probabilities a tolerance above 1, which go to the last bin', () => {
    // calibrationFromConfidences refuses confidences above 1, but rows summing to 1 within the tolerance may
    // hold one; calibration must not inherit that check.
    const r = calibration([[1.00005, 0], [0, 1]], [0, 1], { bins: 4 });
    expect(r.bins[3]!.count).toBe(2);
    expect(r.accuracy).toBe(1);
  });

  it('maps clusters to classes before judging correctness', () => {
    // Clusters are named backwards; after mapping every prediction is right.
    const probabilities = [
      [0.1, 0.9],
      [0.8, 0.2],
      [0.3, 0.7],
    ];
    const r = calibration(probabilities, [0, 1, 0]);
    expect(r.accuracy).toBe(1);
    expect(r.ece).toBeCloseTo(1 - (0.9 + 0.8 + 0.7) / 3, 14);
  });

  it('uses the probability of the given prediction when pred is passed', () => {
    const probabilities = [
      [0.6, 0.4],
      [0.45, 0.55],
    ];
    const r = calibration(probabilities, [0, 1], { pred: [1, 0], bins: 10 });
    // Confidences 0.4 and 0.45 (not the row maxima); mapping 1->0, 0->1 makes both right.
    expect(r.meanConfidence).toBeCloseTo(0.425, 14);
    expect(r.accuracy).toBe(1);
    expect(r.bins[3]!.count + r.bins[4]!.count).toBe(2);
  });

  it('leaves noise predictions out with noise: exclude', () => {
    const probabilities = [
      [0.9, 0.1],
      [0.5, 0.5],
      [0.2, 0.8],
      [0.7, 0.3],
    ];
    const pred = [0, -1, 1, 0];
    const truth = [0, 1, 1, 1];
    const r = calibration(probabilities, truth, { pred, noise: 'exclude' });
    const kept = calibration([probabilities[0]!, probabilities[2]!, probabilities[3]!], [0, 1, 1], { pred: [0, 1, 0] });
    expect(r).toEqual(kept);
    const e = evaluateClustering(pred, truth, { probabilities, noise: 'exclude' });
    expect(e.calibration).toEqual(kept);
    expect(e.excluded).toBe(1);
  });

  it('reads float32 tensors', () => {
    const t = new Tensor('float32', Float32Array.from([0.25, 0.75, 0.9, 0.1]), [2, 2]);
    const r = calibration(t, [1, 0]);
    expect(r.meanConfidence).toBeCloseTo(0.825, 6);
  });
});

describe('confidence histogram', () => {
  it('counts row maxima of probabilities over equal-width bins', () => {
    const h = confidenceHistogram(
      [
        [0.5, 0.5],
        [0.9, 0.1],
        [0.05, 0.95],
        [0.3, 0.7],
      ],
      { bins: 5 },
    );
    expect(h.edges).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(h.counts).toEqual([0, 0, 1, 1, 2]);
    expect(h.fractions).toEqual([0, 0, 0.25, 0.25, 0.5]);
  });

  it('takes confidences directly, from arrays or tensors', () => {
    const h = confidenceHistogram(Tensor.from(Float32Array.from([0.1, 0.2, 0.95])), { bins: 2 });
    expect(h.counts).toEqual([2, 1]);
  });
});
