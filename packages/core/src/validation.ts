/**
 * Declarative parameter checks with one message template, so every package reports bad options the same way:
 *   The 'k' parameter of knn must be an integer in the range [1, 99]. Got 0 instead.
 *
 * A schema maps option names to constraints; `validateOptions` rejects unknown names (with a did-you-mean),
 * applies defaults and checks every value. Data-dependent bounds (k < n) are expressed by building the schema
 * inside the function, once n is known.
 */
import { InvalidOptionError, UnknownOptionError } from './errors.js';

export interface Constraint<T> {
  /** Human-readable description used after "must be". */
  readonly description: string;
  /** True when the value satisfies the constraint. */
  test(value: unknown): value is T;
}

type ConstraintType<C> = C extends Constraint<infer T> ? T : never;
export type Schema = Record<string, Constraint<unknown>>;
export type InferOptions<S extends Schema> = { [K in keyof S]: ConstraintType<S[K]> };

function constraint<T>(description: string, test: (value: unknown) => boolean): Constraint<T> {
  return { description, test: test as (value: unknown) => value is T };
}

function rangeText(min: number | undefined, max: number | undefined, minOpen = false, maxOpen = false): string {
  if (min !== undefined && max !== undefined) return ` in the range ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
  if (min !== undefined) return ` ${minOpen ? '>' : '>='} ${min}`;
  if (max !== undefined) return ` ${maxOpen ? '<' : '<='} ${max}`;
  return '';
}

export interface RangeOptions {
  min?: number;
  max?: number;
  /** Exclude `min` itself. */
  minExclusive?: boolean;
  /** Exclude `max` itself. */
  maxExclusive?: boolean;
}

function inRange(v: number, r: RangeOptions): boolean {
  if (r.min !== undefined && (r.minExclusive ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? v >= r.max : v > r.max)) return false;
  return true;
}

/** Constraint constructors. */
export const c = {
  int(range: RangeOptions = {}): Constraint<number> {
    return constraint(
      `an integer${rangeText(range.min, range.max, range.minExclusive, range.maxExclusive)}`,
      (v) => typeof v === 'number' && Number.isInteger(v) && inRange(v, range),
    );
  },
  number(range: RangeOptions = {}): Constraint<number> {
    return constraint(
      `a finite number${rangeText(range.min, range.max, range.minExclusive, range.maxExclusive)}`,
      (v) => typeof v === 'number' && Number.isFinite(v) && inRange(v, range),
    );
  },
  bool(): Constraint<boolean> {
    return constraint('a boolean', (v) => typeof v === 'boolean');
  },
  string(): Constraint<string> {
    return constraint('a string', (v) => typeof v === 'string');
  },
  oneOf<const T extends readonly (string | number | boolean)[]>(values: T): Constraint<T[number]> {
    const text = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
    return constraint(`one of ${text}`, (v) => values.includes(v as T[number]));
  },
  func<F extends (...args: never[]) => unknown = (...args: never[]) => unknown>(): Constraint<F> {
    return constraint('a function', (v) => typeof v === 'function');
  },
  arrayOf<T>(item: Constraint<T>, length?: { min?: number; max?: number }): Constraint<T[]> {
    const len = length ? ` with length${rangeText(length.min, length.max)}` : '';
    return constraint(
      `an array of ${item.description}${len}`,
      (v) => Array.isArray(v) && inRange(v.length, length ?? {}) && v.every((x) => item.test(x)),
    );
  },
  instanceOf<T>(ctor: abstract new (...args: never[]) => T, name = ctor.name): Constraint<T> {
    return constraint(`an instance of ${name}`, (v) => v instanceof ctor);
  },
  /** Any object; nested option bags are validated by their own schema. */
  object<T extends object = Record<string, unknown>>(): Constraint<T> {
    return constraint('an object', (v) => typeof v === 'object' && v !== null && !Array.isArray(v));
  },
  optional<T>(inner: Constraint<T>): Constraint<T | undefined> {
    return constraint(inner.description, (v) => v === undefined || inner.test(v));
  },
  nullable<T>(inner: Constraint<T>): Constraint<T | null> {
    return constraint(`${inner.description} or null`, (v) => v === null || inner.test(v));
  },
  anyOf<T extends readonly Constraint<unknown>[]>(...options: T): Constraint<ConstraintType<T[number]>> {
    return constraint(options.map((o) => o.description).join(' or '), (v) => options.some((o) => o.test(v)));
  },
  custom<T>(description: string, test: (value: unknown) => boolean): Constraint<T> {
    return constraint(description, test);
  },
};

/** Checks one named value against a constraint and returns it typed. */
export function checkParameter<T>(caller: string, name: string, value: unknown, rule: Constraint<T>): T {
  if (!rule.test(value)) throw new InvalidOptionError(caller, name, rule.description, value);
  return value;
}

type Resolved<S extends Schema, D> = {
  [K in keyof S]: K extends keyof D ? Exclude<ConstraintType<S[K]>, undefined> : ConstraintType<S[K]>;
};

/**
 * Validates an options bag: rejects unknown keys, fills defaults for missing (undefined) keys, and checks each
 * value against its constraint. Returns a new object; the caller's object is not modified.
 */
export function validateOptions<S extends Schema, D extends Partial<InferOptions<S>>>(
  caller: string,
  options: unknown,
  schema: S,
  defaults: D,
): Resolved<S, D> {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new InvalidOptionError(caller, 'options', 'an object or undefined', options);
  }
  const given = (options ?? {}) as Record<string, unknown>;
  const known = Object.keys(schema);
  for (const key of Object.keys(given)) {
    if (!Object.prototype.hasOwnProperty.call(schema, key)) throw new UnknownOptionError(caller, key, known);
  }
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const value = given[key] === undefined ? (defaults as Record<string, unknown>)[key] : given[key];
    const rule = schema[key]!;
    if (!rule.test(value)) throw new InvalidOptionError(caller, key, rule.description, value);
    out[key] = value;
  }
  return out as Resolved<S, D>;
}
