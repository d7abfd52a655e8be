import {
  DcError,
  DeviceUnavailableError,
  GraphError,
  InvalidInputError,
  InvalidOptionError,
  NonFiniteError,
  NotFittedError,
  ShapeError,
  UnknownOptionError,
  assertFinite,
  assertLabels,
  assertMatrix,
  c,
  checkParameter,
  describeValue,
  Tensor,
  validateOptions,
} from '@dc/core';

describe('error classes', () => {
  it('carry structured fields and readable messages', () => {
    const shape = new ShapeError('x', ['n', 3], [4, 2]);
    expect(shape).toBeInstanceOf(DcError);
    expect(shape).toBeInstanceOf(Error);
    expect(shape.name).toBe('ShapeError');
    expect(shape.code).toBe('SHAPE_MISMATCH');
    expect(shape.expected).toEqual(['n', 3]);
    expect(shape.got).toEqual([4, 2]);
    expect(shape.message).toBe("'x' must have shape [n, 3]. Got [4, 2] instead.");

    const opt = new InvalidOptionError('fitSpc', 'k', 'an integer >= 2', 1);
    expect(opt.message).toBe("The 'k' parameter of fitSpc must be an integer >= 2. Got 1 instead.");
    expect([opt.caller, opt.option, opt.constraint, opt.value]).toEqual(['fitSpc', 'k', 'an integer >= 2', 1]);

    const unknown = new UnknownOptionError('knn', 'metrc', ['k', 'metric']);
    expect(unknown.message).toContain("Did you mean 'metric'?");
    expect(unknown.known).toEqual(['k', 'metric']);

    const nf = new NonFiniteError('x', 5, NaN);
    expect(nf.index).toBe(5);
    expect(nf.message).toContain('index 5');

    expect(new NotFittedError('SpcModel').message).toBe('SpcModel is not fitted yet: call fit first.');
    const dev = new DeviceUnavailableError('cuda', [{ device: 'cuda', reason: 'no library' }]);
    expect(dev.attempts).toHaveLength(1);
    expect(dev.message).toContain('cuda: no library');
    expect(new GraphError('bad', 'Conv_1').node).toBe('Conv_1');
    expect(new InvalidInputError('labels', 'is empty').argument).toBe('labels');
  });

  it('are recognised across duplicate installs by marker and code, not prototype', () => {
    // An error from "another copy" of @dc/core: same marker symbol, different class identity.
    class ForeignShapeError extends Error {
      code = 'SHAPE_MISMATCH';
      constructor(message: string) {
        super(message);
        Object.defineProperty(this, Symbol.for('@dc/core/error'), { value: true });
      }
    }
    const foreign = new ForeignShapeError('x');
    expect(foreign instanceof ShapeError).toBe(false);
    expect(DcError.isInstance(foreign)).toBe(true);
    expect(ShapeError.isInstance(foreign)).toBe(true);
    expect(InvalidOptionError.isInstance(foreign)).toBe(false);
    expect(DcError.isInstance(new Error('plain'))).toBe(false);
    expect(DcError.isInstance(null)).toBe(false);
    for (const [Cls, err] of [
      [InvalidOptionError, new InvalidOptionError('f', 'a', 'b', 1)],
      [UnknownOptionError, new UnknownOptionError('f', 'a', [])],
      [InvalidInputError, new InvalidInputError('a', 'b')],
      [NonFiniteError, new NonFiniteError('a', 0, Infinity)],
      [NotFittedError, new NotFittedError('m')],
      [DeviceUnavailableError, new DeviceUnavailableError('cuda', [])],
      [GraphError, new GraphError('m')],
    ] as const) {
      expect((Cls as typeof DcError).isInstance(err)).toBe(true);
      expect(ShapeError.isInstance(err)).toBe(false);
    }
  });

  it('describes values briefly', () => {
    expect(describeValue('a')).toBe("'a'");
    expect(describeValue(3)).toBe('3');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue([1, 2])).toBe('[1, 2]');
    expect(describeValue(new Array(10).fill(0))).toBe('an array of length 10');
    expect(describeValue(new Float32Array(2))).toBe('a Float32Array');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue(new Map())).toBe('an object of type Map');
  });
});

describe('validateOptions', () => {
  const schema = {
    k: c.int({ min: 1, max: 10 }),
    tau: c.number({ min: 0, max: 1, minExclusive: true }),
    metric: c.oneOf(['cosine', 'euclidean'] as const),
    verbose: c.bool(),
    name: c.optional(c.string()),
    onProgress: c.optional(c.func()),
    sizes: c.arrayOf(c.int({ min: 1 }), { min: 1 }),
  };
  const defaults = { k: 5, tau: 0.5, metric: 'cosine' as const, verbose: false, sizes: [1] };

  it('fills defaults and keeps given values', () => {
    const o = validateOptions('f', { k: 3 }, schema, defaults);
    expect(o).toEqual({ k: 3, tau: 0.5, metric: 'cosine', verbose: false, name: undefined, onProgress: undefined, sizes: [1] });
    expect(validateOptions('f', undefined, schema, defaults).k).toBe(5);
  });

  it.each([
    [{ k: 0 }, "The 'k' parameter of f must be an integer in the range [1, 10]. Got 0 instead."],
    [{ k: 11 }, "The 'k' parameter of f must be an integer in the range [1, 10]. Got 11 instead."],
    [{ k: 2.5 }, "The 'k' parameter of f must be an integer in the range [1, 10]. Got 2.5 instead."],
    [{ k: '3' }, "The 'k' parameter of f must be an integer in the range [1, 10]. Got '3' instead."],
    [{ tau: 0 }, "The 'tau' parameter of f must be a finite number in the range (0, 1]. Got 0 instead."],
    [{ tau: NaN }, "The 'tau' parameter of f must be a finite number in the range (0, 1]. Got NaN instead."],
    [{ tau: Infinity }, "The 'tau' parameter of f must be a finite number in the range (0, 1]. Got Infinity instead."],
    [{ metric: 'l1' }, "The 'metric' parameter of f must be one of 'cosine', 'euclidean'. Got 'l1' instead."],
    [{ verbose: 1 }, "The 'verbose' parameter of f must be a boolean. Got 1 instead."],
    [{ name: 3 }, "The 'name' parameter of f must be a string. Got 3 instead."],
    [{ onProgress: 3 }, "The 'onProgress' parameter of f must be a function. Got 3 instead."],
    [{ sizes: [] }, "The 'sizes' parameter of f must be an array of an integer >= 1 with length >= 1. Got [] instead."],
    [{ sizes: [1, 0] }, "The 'sizes' parameter of f must be an array of an integer >= 1 with length >= 1. Got [1, 0] instead."],
  ])('rejects %j', (options, message) => {
    expect(() => validateOptions('f', options, schema, defaults)).toThrow(InvalidOptionError);
    expect(() => validateOptions('f', options, schema, defaults)).toThrow(message);
  });

  it('rejects unknown options with a suggestion', () => {
    expect(() => validateOptions('f', { kk: 3 }, schema, defaults)).toThrow(UnknownOptionError);
    expect(() => validateOptions('f', { metrik: 'cosine' }, schema, defaults)).toThrow("Unknown option 'metrik' for f. Did you mean 'metric'?");
    expect(() => validateOptions('f', { zzzzzz: 1 }, schema, defaults)).toThrow(/^Unknown option 'zzzzzz' for f\. Known options: k, tau/);
  });

  it('rejects non-object option bags', () => {
    expect(() => validateOptions('f', 3, schema, defaults)).toThrow(InvalidOptionError);
    expect(() => validateOptions('f', [], schema, defaults)).toThrow(InvalidOptionError);
    expect(() => validateOptions('f', null, schema, defaults)).toThrow(InvalidOptionError);
  });

  it('checks a required option without a default', () => {
    expect(() => validateOptions('f', {}, { k: c.int() }, {})).toThrow("The 'k' parameter of f must be an integer. Got undefined instead.");
  });

  it('supports nullable, anyOf, custom, instanceOf and single parameters', () => {
    expect(c.nullable(c.int()).test(null)).toBe(true);
    expect(c.anyOf(c.int(), c.string()).test('x')).toBe(true);
    expect(c.anyOf(c.int(), c.string()).description).toBe('an integer or a string');
    expect(c.custom('an even number', (v) => typeof v === 'number' && v % 2 === 0).test(3)).toBe(false);
    expect(c.instanceOf(Tensor).test(Tensor.zeros([1]))).toBe(true);
    expect(c.object().test([])).toBe(false);
    expect(checkParameter('g', 'n', 4, c.int({ min: 1 }))).toBe(4);
    expect(() => checkParameter('g', 'n', 0, c.int({ min: 1 }))).toThrow("The 'n' parameter of g must be an integer >= 1. Got 0 instead.");
    expect(c.int({ max: 3 }).description).toBe('an integer <= 3');
    expect(c.number({ max: 3, maxExclusive: true }).description).toBe('a finite number < 3');
  });
});

describe('data checks', () => {
  it('assertFinite names the first bad index', () => {
    expect(() => assertFinite('x', [1, 2, 3])).not.toThrow();
    expect(() => assertFinite('x', [1, NaN, Infinity])).toThrow(new NonFiniteError('x', 1, NaN));
    expect(() => assertFinite('x', new Float32Array([0, -Infinity]))).toThrow(NonFiniteError);
  });

  it('assertMatrix checks rank, emptiness, dtype and finiteness', () => {
    expect(assertMatrix('x', Tensor.zeros([3, 2]))).toEqual([3, 2]);
    expect(() => assertMatrix('x', [[1]])).toThrow(InvalidInputError);
    expect(() => assertMatrix('x', Tensor.zeros([3]))).toThrow(ShapeError);
    expect(() => assertMatrix('x', Tensor.zeros([0, 3]))).toThrow(InvalidInputError);
    expect(() => assertMatrix('x', Tensor.zeros([3, 0]))).toThrow(InvalidInputError);
    expect(() => assertMatrix('x', Tensor.zeros([3, 2]), { minRows: 4 })).toThrow(InvalidInputError);
    expect(() => assertMatrix('x', Tensor.zeros([3, 2], 'int32'))).toThrow(InvalidInputError);
    const bad = Tensor.zeros([2, 2]);
    bad.data[3] = Infinity;
    expect(() => assertMatrix('x', bad)).toThrow(NonFiniteError);
  });

  it('assertLabels checks integers, length and noise', () => {
    expect(Array.from(assertLabels('y', [0, 2, 1]))).toEqual([0, 2, 1]);
    expect(Array.from(assertLabels('y', Tensor.fromArray([1, 0], 'int64')))).toEqual([1, 0]);
    expect(() => assertLabels('y', [0, 1], 3)).toThrow(ShapeError);
    expect(() => assertLabels('y', [])).toThrow(InvalidInputError);
    expect(() => assertLabels('y', [0, 1.5])).toThrow('labels must be integers; found 1.5 at index 1');
    expect(() => assertLabels('y', [0, -1])).toThrow(InvalidInputError);
    expect(Array.from(assertLabels('y', [0, -1], 2, { allowNoise: true }))).toEqual([0, -1]);
    expect(() => assertLabels('y', [0, -2], 2, { allowNoise: true })).toThrow(InvalidInputError);
    // Int32Array would wrap these to 0 and -2147483648
    expect(() => assertLabels('y', [0, 2 ** 32])).toThrow('labels must be at most 2147483647; found 4294967296 at index 1');
    expect(() => assertLabels('y', [2 ** 31])).toThrow(InvalidInputError);
    expect(Array.from(assertLabels('y', [2 ** 31 - 1]))).toEqual([2 ** 31 - 1]);
    expect(() => assertLabels('y', Tensor.zeros([2, 2]))).toThrow(ShapeError);
  });
});
