/**
 * Every metric takes either a prepared `Contingency` (shared by several metrics) or (pred, truth) labels; this
 * resolves both call forms and validates the options once.
 */
import { InvalidInputError, c, validateOptions, type InferOptions, type Schema } from '@dc/core';
import { Contingency, buildContingency, type ContingencyOptions, type NoiseHandling } from './contingency.js';
import type { LabelInput } from './labels.js';

const noiseRule = c.oneOf(['cluster', 'exclude'] as const);

type Resolved<S extends Schema, D> = ReturnType<typeof validateOptions<S, D & Partial<InferOptions<S>>>>;

/** Options of a metric that has none of its own (only `noise` in the (pred, truth) form). */
export type NoOptions = Record<never, never>;

/** The arguments of a metric called as f(table, options?) or f(pred, truth, options?). */
export type MetricArgs<O> = [table: Contingency, options?: O] | [pred: LabelInput, truth: LabelInput, options?: O & ContingencyOptions];

export function resolveArgs<S extends Schema, D extends Partial<InferOptions<S>>>(
  caller: string,
  args: readonly unknown[],
  schema: S,
  defaults: D,
): { table: Contingency; options: Resolved<S, D> } {
  const [first, second, third] = args;
  if (first instanceof Contingency) {
    if (args.length > 2) {
      throw new InvalidInputError('arguments', `${caller}(table, options) takes the options second when given a Contingency`);
    }
    return { table: first, options: validateOptions(caller, second, schema, defaults) as Resolved<S, D> };
  }
  if (second === undefined) {
    throw new InvalidInputError('truth', `${caller} needs (pred, truth) labels or a Contingency from contingency(pred, truth)`);
  }
  const all = validateOptions(caller, third, { ...schema, noise: noiseRule }, { ...defaults, noise: 'cluster' as NoiseHandling }) as Record<
    string,
    unknown
  >;
  const { noise, ...options } = all;
  const table = buildContingency(first as LabelInput, second as LabelInput, noise as NoiseHandling);
  return { table, options: options as Resolved<S, D> };
}
