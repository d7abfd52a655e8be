/**
 * Typed errors shared by every @dc package.
 *
 * `instanceof` fails when two copies of @dc/core are installed (a dependency pulled in twice), so every error
 * carries a registry-wide symbol marker and each class has a static `isInstance` that checks the marker and the
 * error code instead of the prototype chain.
 */

const MARKER = Symbol.for('@dc/core/error');

export type DcErrorCode =
  | 'DC_ERROR'
  | 'SHAPE_MISMATCH'
  | 'INVALID_OPTION'
  | 'UNKNOWN_OPTION'
  | 'INVALID_INPUT'
  | 'NON_FINITE'
  | 'NOT_FITTED'
  | 'DEVICE_UNAVAILABLE'
  | 'GRAPH_ERROR'
  | (string & {});

/** The base class of every error thrown by @dc packages. */
export class DcError extends Error {
  readonly [MARKER] = true;
  readonly code: DcErrorCode;

  constructor(message: string, code: DcErrorCode = 'DC_ERROR', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /** True for any DcError, whichever copy of @dc/core created it. */
  static isInstance(value: unknown): value is DcError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** Builds the `isInstance` of a subclass: the marker plus its error code. */
function matches<T extends DcError>(code: DcErrorCode) {
  return (value: unknown): value is T => DcError.isInstance(value) && value.code === code;
}

export type ShapeLike = readonly (number | string | null)[];

function formatShape(shape: ShapeLike): string {
  return `[${shape.map((d) => (d === null || d === -1 ? '?' : String(d))).join(', ')}]`;
}

/** A tensor or array does not have the shape an operation needs. */
export class ShapeError extends DcError {
  readonly expected: ShapeLike | string;
  readonly got: ShapeLike;
  readonly argument: string;

  constructor(argument: string, expected: ShapeLike | string, got: ShapeLike, detail?: string) {
    const want = typeof expected === 'string' ? expected : formatShape(expected);
    super(
      `'${argument}' must have shape ${want}. Got ${formatShape(got)} instead.${detail ? ` ${detail}` : ''}`,
      'SHAPE_MISMATCH',
    );
    this.argument = argument;
    this.expected = expected;
    this.got = got;
  }

  static override isInstance = matches<ShapeError>('SHAPE_MISMATCH');
}

/** An option (or scalar argument) is outside what the function accepts. */
export class InvalidOptionError extends DcError {
  readonly option: string;
  readonly constraint: string;
  readonly value: unknown;
  readonly caller: string;

  constructor(caller: string, option: string, constraint: string, value: unknown, code: DcErrorCode = 'INVALID_OPTION') {
    super(`The '${option}' parameter of ${caller} must be ${constraint}. Got ${describeValue(value)} instead.`, code);
    this.caller = caller;
    this.option = option;
    this.constraint = constraint;
    this.value = value;
  }

  static override isInstance = matches<InvalidOptionError>('INVALID_OPTION');
}

/** An option name the function does not know (usually a typo). */
export class UnknownOptionError extends DcError {
  readonly option: string;
  readonly caller: string;
  readonly known: readonly string[];

  constructor(caller: string, option: string, known: readonly string[]) {
    const suggestion = closest(option, known);
    super(
      `Unknown option '${option}' for ${caller}.${suggestion ? ` Did you mean '${suggestion}'?` : ''} ` +
        `Known options: ${known.join(', ')}.`,
      'UNKNOWN_OPTION',
    );
    this.caller = caller;
    this.option = option;
    this.known = known;
  }

  static override isInstance = matches<UnknownOptionError>('UNKNOWN_OPTION');
}

/** Data that is well-typed but unusable: empty, wrong length, non-integer labels, inconsistent arguments. */
export class InvalidInputError extends DcError {
  readonly argument: string;

  constructor(argument: string, reason: string) {
    super(`Invalid '${argument}': ${reason}`, 'INVALID_INPUT');
    this.argument = argument;
  }

  static override isInstance = matches<InvalidInputError>('INVALID_INPUT');
}

/** NaN or ±Infinity where finite numbers are required; `index` is the first offending flat index. */
export class NonFiniteError extends DcError {
  readonly argument: string;
  readonly index: number;
  readonly value: number;

  constructor(argument: string, index: number, value: number) {
    super(`'${argument}' must contain only finite numbers. Found ${value} at flat index ${index}.`, 'NON_FINITE');
    this.argument = argument;
    this.index = index;
    this.value = value;
  }

  static override isInstance = matches<NonFiniteError>('NON_FINITE');
}

/** A model or pipeline method was called before fitting/training. */
export class NotFittedError extends DcError {
  readonly what: string;

  constructor(what: string, hint = 'call fit first') {
    super(`${what} is not fitted yet: ${hint}.`, 'NOT_FITTED');
    this.what = what;
  }

  static override isInstance = matches<NotFittedError>('NOT_FITTED');
}

export interface DeviceAttempt {
  device: string;
  reason: string;
}

/** No requested execution provider could be used; `attempts` says what was tried and why each failed. */
export class DeviceUnavailableError extends DcError {
  readonly device: string;
  readonly attempts: readonly DeviceAttempt[];

  constructor(device: string, attempts: readonly DeviceAttempt[]) {
    const tried = attempts.map((a) => `${a.device}: ${a.reason}`).join('; ');
    super(`Device '${device}' is not available (tried ${tried}).`, 'DEVICE_UNAVAILABLE');
    this.device = device;
    this.attempts = attempts;
  }

  static override isInstance = matches<DeviceUnavailableError>('DEVICE_UNAVAILABLE');
}

/** A graph under construction is inconsistent (caught by shape inference, before ONNX Runtime sees it). */
export class GraphError extends DcError {
  readonly node: string | undefined;

  constructor(message: string, node?: string) {
    super(node ? `${node}: ${message}` : message, 'GRAPH_ERROR');
    this.node = node;
  }

  static override isInstance = matches<GraphError>('GRAPH_ERROR');
}

/** Short, safe rendering of a value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return value.length <= 6 ? `[${value.map(describeValue).join(', ')}]` : `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `an object of type ${(value as object).constructor?.name ?? 'Object'}`;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
