/** Every kind of bad input gets its own typed error. */
import { InvalidInputError, InvalidOptionError, NonFiniteError, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import {
  ami,
  ari,
  calibration,
  calibrationFromConfidences,
  cleanSetQuality,
  clusteringAccuracy,
  confidenceHistogram,
  confusionMatrix,
  contingency,
  evaluateClustering,
  expectedMutualInformation,
  nmi,
  type LabelInput,
} from '@dc/metrics';

const ok = [0, 1, 1, 2];

describe('labels', () => {
  const metrics: [string, (p: LabelInput, t: LabelInput) => unknown][] = [
    ['ari', (p, t) => ari(p, t)],
    ['nmi', (p, t) => nmi(p, t)],
    ['ami', (p, t) => ami(p, t)],
    ['clusteringAccuracy', (p, t) => clusteringAccuracy(p, t)],
    ['confusionMatrix', (p, t) => confusionMatrix(p, t)],
    ['evaluateClustering', (p, t) => evaluateClustering(p, t)],
  ];

  it.each(metrics)('%s rejects labels of different lengths', (_name, f) => {
    expect(() => f(ok, [0, 1, 1])).toThrow(ShapeError);
    expect(() => f([0, 1], ok)).toThrow(ShapeError);
  });

  it.each(metrics)('%s rejects empty labels', (_name, f) => {
    expect(() => f([], [])).toThrow(InvalidInputError);
    expect(() => f(new Int32Array(0), new Int32Array(0))).toThrow(/is empty/);
  });

  it.each(metrics)('%s rejects non-integer labels', (_name, f) => {
    expect(() => f([0, 1.5, 1, 2], ok)).toThrow(InvalidInputError);
    expect(() => f(ok, Float32Array.from([0, 1, 2.25, 2]))).toThrow(/found 2.25 at index 2/);
  });

  it.each(metrics)('%s rejects NaN and infinite labels', (_name, f) => {
    expect(() => f([0, NaN, 1, 2], ok)).toThrow(NonFiniteError);
    expect(() => f(ok, [0, 1, Infinity, 2])).toThrow(NonFiniteError);
  });

  it('rejects labels that are not numbers', () => {
    expect(() => ari(['a', 'b'] as unknown as number[], [0, 1])).toThrow(/labels must be integers; found 'a'/);
    expect(() => ari([0, null] as unknown as number[], [0, 1])).toThrow(InvalidInputError);
    expect(() => ari(5 as unknown as number[], [0])).toThrow(InvalidInputError);
  });

  it('rejects integers beyond 2^53', () => {
    expect(() => ari([0, 2 ** 60], [0, 1])).toThrow(/within ±\(2\^53 - 1\)/);
    expect(() => ari(BigInt64Array.from([0n, 2n ** 60n]), [0, 1])).toThrow(InvalidInputError);
  });

  it('rejects tensors that are not rank 1', () => {
    const t = Tensor.from(Int32Array.from([0, 1, 1, 0]), [2, 2]);
    expect(() => ari(t, ok)).toThrow(ShapeError);
  });

  it('names the argument at fault', () => {
    expect(() => ari([0, 1, 1, 2], [0, 1, 1.5, 2])).toThrow(/'truth'/);
    expect(() => ari([0, 1, 1.5, 2], [0, 1, 1, 2])).toThrow(/'pred'/);
  });

  it('needs truth or a table', () => {
    expect(() => (ari as (...a: unknown[]) => number)(ok)).toThrow(/needs \(pred, truth\)/);
  });
});

describe('options', () => {
  it('rejects unknown options with a suggestion', () => {
    expect(() => nmi(ok, ok, { avrage: 'min' } as never)).toThrow(UnknownOptionError);
    expect(() => nmi(ok, ok, { avrage: 'min' } as never)).toThrow(/Did you mean 'average'/);
    expect(() => evaluateClustering(ok, ok, { probs: [] } as never)).toThrow(UnknownOptionError);
  });

  it('rejects invalid option values', () => {
    expect(() => nmi(ok, ok, { average: 'median' as never })).toThrow(InvalidOptionError);
    expect(() => ami(ok, ok, { average: 'mean' as never })).toThrow(/'average' parameter of ami must be one of/);
    expect(() => ari(ok, ok, { noise: 'drop' as never })).toThrow(InvalidOptionError);
    expect(() => confusionMatrix(ok, ok, { reorder: 'yes' as never })).toThrow(InvalidOptionError);
    expect(() => evaluateClustering(ok, ok, { bins: 0 })).toThrow(InvalidOptionError);
    expect(() => evaluateClustering(ok, ok, { bins: 2.5 })).toThrow(InvalidOptionError);
    expect(() => evaluateClustering(ok, ok, { tolerance: -1 })).toThrow(InvalidOptionError);
    expect(() => calibration([[1]], [0], { bins: -3 })).toThrow(InvalidOptionError);
    expect(() => contingency(ok, ok, 'exclude' as never)).toThrow(InvalidOptionError);
  });

  it('rejects a noise option alongside a prepared table', () => {
    const t = contingency(ok, ok);
    expect(() => ari(t, { noise: 'exclude' } as never)).toThrow(UnknownOptionError);
    expect(() => (ari as (...a: unknown[]) => number)(t, ok, {})).toThrow(InvalidInputError);
  });
});

describe('noise', () => {
  it('rejects predictions that are all noise when excluding it', () => {
    expect(() => ari([-1, -1], [0, 1], { noise: 'exclude' })).toThrow(/every prediction is the noise label -1/);
  });
});

describe('probabilities', () => {
  const truth = [0, 1, 1];
  const good = [
    [0.9, 0.1],
    [0.2, 0.8],
    [0.4, 0.6],
  ];

  it('accepts valid rows in every form', () => {
    const flat = Float32Array.from(good.flat());
    expect(calibration(good, truth).n).toBe(3);
    expect(calibration(new Tensor('float32', flat, [3, 2]), truth).ece).toBeCloseTo(calibration(good, truth).ece, 6);
    expect(calibration(good.map((r) => Float64Array.from(r)), truth).n).toBe(3);
  });

  it('rejects NaN and infinite probabilities', () => {
    expect(() => calibration([[0.5, NaN], ...good.slice(1)], truth)).toThrow(NonFiniteError);
    expect(() => calibration([[0.5, 0.5], [Infinity, 0], [0.5, 0.5]], truth)).toThrow(NonFiniteError);
    const t = new Tensor('float32', Float32Array.from([0.5, 0.5, 0.5, 0.5, NaN, 1]), [3, 2]);
    expect(() => evaluateClustering([0, 1, 1], truth, { probabilities: t })).toThrow(/Found NaN at flat index 4/);
  });

  it('rejects rows that do not sum to 1 within the tolerance', () => {
    expect(() => calibration([[0.5, 0.4], ...good.slice(1)], truth)).toThrow(/row 0 sums to 0.9; each row must sum to 1 within 0.0001/);
    // 5e-5 off passes the default tolerance of 1e-4; 5e-4 off does not unless the tolerance is raised.
    expect(() => calibration([[0.50005, 0.5], ...good.slice(1)], truth)).not.toThrow();
    expect(() => calibration([[0.5005, 0.5], ...good.slice(1)], truth)).toThrow(InvalidInputError);
    expect(() => calibration([[0.5005, 0.5], ...good.slice(1)], truth, { tolerance: 1e-3 })).not.toThrow();
  });

  it('rejects negative probabilities', () => {
    expect(() => calibration([[1.2, -0.2], ...good.slice(1)], truth)).toThrow(/must be >= 0; found -0.2 at row 0, column 1/);
  });

  it('rejects wrong shapes', () => {
    expect(() => calibration(Tensor.from(Float32Array.from([0.5, 0.5])), [0])).toThrow(ShapeError);
    expect(() => calibration([[0.5, 0.5], [1]], [0, 1])).toThrow(ShapeError);
    expect(() => evaluateClustering([0, 1, 1], truth, { probabilities: good.slice(0, 2) })).toThrow(ShapeError);
    expect(() => calibration([[], []], [0, 1])).toThrow(ShapeError);
    expect(() => calibration([], [])).toThrow(InvalidInputError);
    expect(() => calibration(good, [0, 1])).toThrow(ShapeError);
    expect(() => calibration(Tensor.from(Int32Array.from([1, 0]), [1, 2]), [0])).toThrow(/dtype must be float32 or float64/);
    expect(() => calibration('x' as never, [0])).toThrow(InvalidInputError);
    expect(() => calibration([['a', 'b']] as never, [0])).toThrow(InvalidInputError);
  });

  it('rejects predictions that are not probability columns', () => {
    expect(() => evaluateClustering([0, 1, 2], truth, { probabilities: good })).toThrow(/columns 0..1, found cluster 2/);
    expect(() => evaluateClustering([0, -1, 1], truth, { probabilities: good })).toThrow(/noise: 'exclude'/);
    expect(() => calibration(good, truth, { pred: [0, 1, 5] })).toThrow(InvalidInputError);
    expect(() => calibration(good, truth, { pred: [0, 1] })).toThrow(ShapeError);
  });

  it('checks confidences given to the histogram', () => {
    expect(() => confidenceHistogram([0.5, 1.5])).toThrow(/must lie in \[0, 1\]/);
    expect(() => confidenceHistogram([0.5, NaN])).toThrow(NonFiniteError);
    expect(() => confidenceHistogram([])).toThrow(InvalidInputError);
    expect(() => confidenceHistogram([0.5], { bins: 0 })).toThrow(InvalidOptionError);
  });

  it('rejects histogram entries that are not numbers instead of converting them', () => {
    expect(() => confidenceHistogram(['0.5', 0.2] as never)).toThrow(InvalidInputError);
    expect(() => confidenceHistogram([0.2, '0.5'] as never)).toThrow(/confidences must be numbers; found '0.5' \(a string\) at index 1/);
    expect(() => confidenceHistogram([0.2, true] as never)).toThrow(/found true \(a boolean\) at index 1/);
    expect(() => confidenceHistogram([0.2, undefined] as never)).toThrow(InvalidInputError);
    expect(() => confidenceHistogram([0.2, null] as never)).toThrow(/found null at index 1/);
    expect(confidenceHistogram([0.2, 0.9], { bins: 2 }).counts).toEqual([1, 1]);
  });

  it('rejects a null row with a typed error, not a TypeError', () => {
    expect(() => calibration([null] as never, [0])).toThrow(InvalidInputError);
    expect(() => calibration([null] as never, [0])).toThrow(/row 0 is null; each row must be an array of k probabilities/);
    expect(() => calibration([[1], null] as never, [0, 0])).toThrow(/row 1 is null/);
    expect(() => calibration([[1], 1] as never, [0, 0])).toThrow(/row 1 is a number/);
    expect(() => calibration([undefined] as never, [0])).toThrow(InvalidInputError);
    expect(() => confidenceHistogram([null] as never)).toThrow(InvalidInputError);
    expect(() => confidenceHistogram([null, [1]] as never)).toThrow(/row 0 is null/);
    expect(() => evaluateClustering([0], [0], { probabilities: [null] as never })).toThrow(InvalidInputError);
  });
});

describe('calibrationFromConfidences', () => {
  const conf = Float64Array.from([0.2, 0.9]);
  const flags = Uint8Array.from([0, 1]);

  it('rejects a bin count that is not an integer >= 1', () => {
    expect(calibrationFromConfidences(conf, flags, 1).bins).toHaveLength(1);
    for (const bins of [0, -2, 2.5, NaN, Infinity, '4']) {
      expect(() => calibrationFromConfidences(conf, flags, bins as number)).toThrow(InvalidOptionError);
    }
    expect(() => calibrationFromConfidences(conf, flags, 0)).toThrow(/'bins' parameter of calibrationFromConfidences must be an integer/);
  });

  it('rejects confidences outside [0, 1], non-finite or not numbers', () => {
    expect(() => calibrationFromConfidences(Float64Array.from([0.2, 1.5]), flags, 4)).toThrow(/must lie in \[0, 1\]; found 1.5 at index 1/);
    expect(() => calibrationFromConfidences(Float64Array.from([-0.1, 0.5]), flags, 4)).toThrow(InvalidInputError);
    expect(() => calibrationFromConfidences(Float64Array.from([0.2, NaN]), flags, 4)).toThrow(NonFiniteError);
    expect(() => calibrationFromConfidences(Float64Array.from([Infinity, 0.5]), flags, 4)).toThrow(NonFiniteError);
    expect(() => calibrationFromConfidences([0.2, '0.9'] as never, flags, 4)).toThrow(InvalidInputError);
    expect(() => calibrationFromConfidences(new Float64Array(0), new Uint8Array(0), 4)).toThrow(/is empty/);
    expect(() => calibrationFromConfidences(null as never, flags, 4)).toThrow(InvalidInputError);
  });

  it('needs one 0/1 correctness flag per confidence', () => {
    expect(() => calibrationFromConfidences(conf, Uint8Array.from([1]), 4)).toThrow(ShapeError);
    expect(() => calibrationFromConfidences(conf, Uint8Array.from([1, 0, 1]), 4)).toThrow(ShapeError);
    expect(() => calibrationFromConfidences(conf, Uint8Array.from([0, 2]), 4)).toThrow(/flags must be 0 or 1; found 2/);
    expect(() => calibrationFromConfidences(conf, undefined as never, 4)).toThrow(InvalidInputError);
  });
});

describe('expectedMutualInformation', () => {
  it('rejects sizes that are not positive integers summing to n', () => {
    expect(expectedMutualInformation([2, 2], [1, 3], 4)).toBeGreaterThan(0);
    expect(() => expectedMutualInformation([2, 0, 2], [1, 3], 4)).toThrow(/positive integers \(leave out empty labels\); found 0 at index 1/);
    expect(() => expectedMutualInformation([2, 2], [1.5, 2.5], 4)).toThrow(InvalidInputError);
    expect(() => expectedMutualInformation([2, -1, 3], [1, 3], 4)).toThrow(InvalidInputError);
    expect(() => expectedMutualInformation([2, NaN], [1, 3], 4)).toThrow(InvalidInputError);
    expect(() => expectedMutualInformation([2, 2], [1, 3], 5)).toThrow(/'rowSizes': sizes sum to 4, but n is 5/);
    expect(() => expectedMutualInformation([2, 3], [1, 3], 5)).toThrow(/'colSizes': sizes sum to 4, but n is 5/);
    expect(() => expectedMutualInformation([4], [1, 3], 5)).toThrow(InvalidInputError);
    expect(() => expectedMutualInformation([], [], 0)).toThrow(/'n': must be a positive integer/);
    expect(() => expectedMutualInformation([2, 2], [1, 3], 4.5)).toThrow(InvalidInputError);
    expect(() => expectedMutualInformation(null as never, [1, 3], 4)).toThrow(InvalidInputError);
  });

  it('still serves AMI, whose sizes never include an empty label (noise excluded or not)', () => {
    expect(Number.isFinite(ami([-1, -1, 0, 0, 1, 1, 1], [0, 1, 0, 0, 1, 1, 0], { noise: 'exclude' }))).toBe(true);
    expect(Number.isFinite(ami([7, 7, 300, 300, 300], [0, 0, 0, 5, 5]))).toBe(true);
    expect(ami([0, 0, 0], [1, 1, 1])).toBe(1);
  });
});

describe('clean-set masks', () => {
  it('rejects masks of the wrong length or with other values', () => {
    expect(() => cleanSetQuality(ok, ok, [1, 0, 1])).toThrow(ShapeError);
    expect(() => cleanSetQuality(ok, ok, [1, 0, 2, 0])).toThrow(/booleans or 0\/1; found 2 at index 2/);
    expect(() => cleanSetQuality(ok, ok, undefined as never)).toThrow(/is missing/);
    expect(() => evaluateClustering(ok, ok, { clean: [true, false] })).toThrow(ShapeError);
    expect(() => cleanSetQuality(ok, ok, Tensor.from(Uint8Array.from([1, 0, 1, 0]), [2, 2]))).toThrow(ShapeError);
  });
});
