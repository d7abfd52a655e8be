/** Conv and ConvTranspose (N-d, groups, dilations, explicit or automatic padding). */
import type { OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import { resolvePads, sameDim, windowOutput } from './shape-utils.js';

export const defs: OpDef[] = [];

defs.push({
  type: 'Conv',
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1]);
    const x = ctx.input(0).shape;
    const w = ctx.input(1).shape;
    if (x.length < 3) ctx.fail(`X must be [N, C, spatial...], got [${x.join(', ')}]`);
    if (w.length !== x.length) ctx.fail(`W must have rank ${x.length}, got [${w.join(', ')}]`);
    const n = x.length - 2;
    const group = ctx.int('group', 1);
    const kernel = ctx.ints('kernel_shape', w.slice(2).map((d) => (typeof d === 'number' ? d : ctx.fail('W needs static kernel dims'))));
    const strides = ctx.ints('strides', new Array<number>(n).fill(1));
    const dilations = ctx.ints('dilations', new Array<number>(n).fill(1));
    const c = x[1]!;
    const m = w[0]!;
    if (typeof c === 'number' && typeof w[1] === 'number' && w[1] * group !== c) {
      ctx.fail(`W expects ${w[1] * group} input channels (${w[1]} x group ${group}), X has ${c}`);
    }
    if (typeof m === 'number' && m % group !== 0) ctx.fail(`output channels ${m} are not divisible by group ${group}`);
    const b = ctx.optionalInput(2);
    if (b && (b.shape.length !== 1 || !sameDim(b.shape[0], m))) ctx.fail(`B must have shape [${m}]`);
    const pads = resolvePads(ctx, x.slice(2), kernel, strides, dilations);
    const spatial: Dim[] = x.slice(2).map((d, i) => windowOutput(ctx, d, kernel[i]!, strides[i]!, pads[i]!, pads[i + n]!, dilations[i]!));
    return [{ dtype, shape: [x[0]!, m, ...spatial] }];
  },
});

defs.push({
  type: 'ConvTranspose',
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1]);
    const x = ctx.input(0).shape;
    const w = ctx.input(1).shape;
    if (x.length < 3 || w.length !== x.length) ctx.fail(`X [N, C, ...] and W [C, M/group, k...] of equal rank expected`);
    const n = x.length - 2;
    const group = ctx.int('group', 1);
    if (!sameDim(x[1], w[0])) ctx.fail(`W expects ${String(w[0])} input channels, X has ${String(x[1])}`);
    const kernel = ctx.ints('kernel_shape', w.slice(2).map((d) => (typeof d === 'number' ? d : ctx.fail('W needs static kernel dims'))));
    const strides = ctx.ints('strides', new Array<number>(n).fill(1));
    const dilations = ctx.ints('dilations', new Array<number>(n).fill(1));
    const outputPadding = ctx.ints('output_padding', new Array<number>(n).fill(0));
    const m = typeof w[1] === 'number' ? w[1] * group : ctx.unknownDim();
    const explicit = ctx.ints('output_shape', []);
    const pads = ctx.ints('pads', new Array<number>(2 * n).fill(0));
    if (ctx.string('auto_pad', 'NOTSET') !== 'NOTSET' && explicit.length === 0) {
      ctx.fail('auto_pad other than NOTSET needs output_shape');
    }
    for (let i = 0; i < n; i++) {
      if (outputPadding[i]! >= Math.max(strides[i]!, dilations[i]!)) {
        ctx.fail(`output_padding ${outputPadding[i]} must be smaller than stride or dilation on axis ${i}`);
      }
    }
    const spatial: Dim[] =
      explicit.length === n
        ? [...explicit]
        : x.slice(2).map((d, i) =>
            typeof d === 'number'
              ? strides[i]! * (d - 1) + outputPadding[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - pads[i]! - pads[i + n]!
              : ctx.unknownDim(),
          );
    for (const d of spatial) if (typeof d === 'number' && d <= 0) ctx.fail(`output spatial size ${d} is not positive`);
    return [{ dtype, shape: [x[0]!, m, ...spatial] }];
  },
});
