/**
 * Dropout with an explicit mask: y = x * mask / (1 - p). The mask (0/1, the dtype of x, broadcastable to x) is a
 * graph input drawn by the caller's seeded Rng, so a training run is reproducible and resumable; ONNX's Dropout
 * op draws inside ONNX Runtime and is neither. The scaled mask is computed once and serves forward and backward.
 */
import { checkParameter, c, ShapeError, type GraphBuilder, type Value } from '@dc/core';
import { checkBuilder, checkDtype, checkValue, shapeForError } from './common.js';

const CALLER = 'dropout';

export function dropout(g: GraphBuilder, x: Value, mask: Value, p: number): Value {
  checkBuilder(CALLER, g);
  checkValue(CALLER, 'x', g, x);
  checkValue(CALLER, 'mask', g, mask);
  checkDtype('mask', mask, x);
  checkParameter(CALLER, 'p', p, c.number({ min: 0, max: 1, maxExclusive: true }));
  const lead = x.rank - mask.rank;
  const fits = lead >= 0 && mask.shape.every((d, i) => d === 1 || d === x.shape[lead + i] || typeof d === 'string' || typeof x.shape[lead + i] === 'string');
  if (!fits) throw new ShapeError('mask', `a shape that broadcasts to [${x.shape.join(', ')}]`, shapeForError(mask.shape));
  const scaled = p === 0 ? mask : g.op('Mul', [mask, g.constant(1 / (1 - p), x.dtype)]);
  return g.op('Mul', [x, scaled]);
}
