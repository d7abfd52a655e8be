/** Every kind of bad input gets its own typed error. */
import { InvalidInputError, InvalidOptionError, NonFiniteError, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import {
  ami,
  ari,
  calibration,
  cleanSetQuality,
  clusteringAccuracy,
  confidenceHistogram,
  confusionMatrix,
  contingency,
  evaluateClustering,
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
