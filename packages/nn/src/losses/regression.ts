/** Mean squared error. */
import { GraphError, InvalidOptionError, type GraphBuilder, type Value } from '@dc/core';
import { checkKeys, meanAll, sumAll } from './common.js';

export interface MseOptions {
  /** 'mean' over every element (default, torch's MSELoss), 'sum', or 'none' (elementwise). */
  reduction?: 'mean' | 'sum' | 'none';
}

export function mse(g: GraphBuilder, prediction: Value, target: Value, options: MseOptions = {}): Value {
  checkKeys('mse', options, ['reduction']);
  const r = options.reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new InvalidOptionError('mse', 'reduction', "one of 'mean', 'sum', 'none'", r);
  if (prediction.rank !== target.rank || prediction.shape.some((d, i) => d !== target.shape[i])) {
    throw new GraphError(`mse: prediction ${prediction.toString()} and target ${target.toString()} must have the same shape`);
  }
  const d = g.op('Sub', [prediction, target]);
  const sq = g.op('Mul', [d, d]);
  if (r === 'none') return sq;
  return r === 'sum' ? sumAll(g, sq) : meanAll(g, sq);
}
