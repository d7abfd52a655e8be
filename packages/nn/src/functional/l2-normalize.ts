/**
 * L2 normalisation along an axis as torch.nn.functional.normalize: y = x / max(||x||, eps). Its gradient is the
 * closed form (gy - y <gy, y>) / ||x|| where the norm exceeds eps and gy / eps where it is clamped, declared with
 * customGradient (four elementwise passes instead of differentiating norm, clamp and division separately).
 */
import { checkParameter, c, type GraphBuilder, type Value } from '@dc/core';
import { customGradient } from '../autodiff/gradients.js';
import { checkBuilder, checkValue } from './common.js';

const CALLER = 'l2Normalize';

export function l2Normalize(g: GraphBuilder, x: Value, axis = -1, eps = 1e-12): Value {
  checkBuilder(CALLER, g);
  checkValue(CALLER, 'x', g, x);
  if (x.rank === 0) checkParameter(CALLER, 'x', x.rank, c.int({ min: 1 }));
  checkParameter(CALLER, 'axis', axis, c.int({ min: -x.rank, max: x.rank - 1 }));
  checkParameter(CALLER, 'eps', eps, c.number({ min: 0, minExclusive: true }));
  const axes = g.int64s([axis < 0 ? axis + x.rank : axis]);
  const epsV = g.constant(eps, x.dtype);
  const norm = g.op('ReduceL2', [x, axes], { keepdims: 1 });
  const denom = g.op('Max', [norm, epsV]);
  const y = g.op('Div', [x, denom]);
  customGradient(g, {
    inputs: [x],
    outputs: [y],
    backward: ({ gradOutputs }) => {
      const gy = gradOutputs[0];
      if (!gy) return [];
      const dot = g.op('ReduceSum', [g.op('Mul', [gy, y]), axes], { keepdims: 1 });
      const dotIfUnclamped = g.op('Where', [g.op('Greater', [norm, epsV]), dot, g.constant(0, x.dtype)]);
      return [g.op('Div', [g.op('Sub', [gy, g.op('Mul', [y, dotIfUnclamped])]), denom])];
    },
  });
  return y;
}
