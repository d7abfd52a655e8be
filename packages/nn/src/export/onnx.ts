/**
 * Export of a trained model to a standalone inference .onnx: the evaluation-mode forward pass with parameters and
 * buffers as initializers (BatchNorm in its inference form with the running statistics, Dropout removed), a
 * symbolic batch dimension, loadable by plain onnxruntime (any language) without @dc/nn.
 */
import { writeFile } from 'node:fs/promises';
import { InvalidOptionError, c, serializeModel, validateOptions, type DType } from '@dc/core';
import { checkState, type ModelState, type Module } from '../modules/module.js';
import { buildForwardGraph } from '../train/forward.js';

export interface ExportOptions {
  /** Shape of one sample (without the batch dimension), one per forward input, e.g. [1, 28, 28]. */
  inputShape: readonly number[] | readonly (readonly number[])[];
  /** Input dtypes (default float32). */
  inputDtype?: DType | readonly DType[];
  /** Dotted path of the sub-module to export (e.g. 'encoder'); default the whole model. */
  module?: string;
  /** Fixed batch size instead of a symbolic one. */
  batchSize?: number;
  /** Extra string metadata stored in the model. */
  metadata?: Record<string, string>;
}

/**
 * Graph names: inputs 'input' (or 'input_0', 'input_1', ...), outputs 'output' for a single output, the keys of
 * a record output, or 'output_0', ... for an array output.
 */
export function exportOnnx(model: Module<never[], unknown>, state: ModelState, options: ExportOptions): Uint8Array {
  const o = validateOptions('exportOnnx', options, {
    inputShape: c.custom<ExportOptions['inputShape']>('an array of positive integers, or an array of such arrays', (v) => {
      if (!Array.isArray(v)) return false;
      const one = (s: unknown) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 1);
      return one(v) || (v.length > 0 && v.every(one));
    }),
    inputDtype: c.optional(c.custom<ExportOptions['inputDtype']>('a dtype or an array of dtypes', (v) => typeof v === 'string' || Array.isArray(v))),
    module: c.string(),
    batchSize: c.optional(c.int({ min: 1 })),
    metadata: c.optional(c.object<Record<string, string>>()),
  }, { module: '' });
  checkState(model, state, 'state');
  const shapes: readonly (readonly number[])[] = o.inputShape.length > 0 && Array.isArray(o.inputShape[0])
    ? (o.inputShape as readonly (readonly number[])[])
    : [o.inputShape as readonly number[]];
  const dtypes = Array.isArray(o.inputDtype) ? (o.inputDtype as DType[]) : shapes.map(() => (o.inputDtype as DType | undefined) ?? 'float32');
  if (dtypes.length !== shapes.length) throw new InvalidOptionError('exportOnnx', 'inputDtype', `${shapes.length} dtype(s)`, o.inputDtype);
  const batch: number | string = o.batchSize ?? 'N';
  const names = shapes.length === 1 ? ['input'] : shapes.map((_, i) => `input_${i}`);
  const fg = buildForwardGraph(model, {
    name: model.constructor.name,
    module: o.module,
    weights: { state },
    inputs: shapes.map((s, i) => [names[i]!, { dtype: dtypes[i]!, shape: [batch, ...s] }] as const),
    naming: 'export',
  });
  const g = fg.graph;
  g.metadata['dc.producer'] = '@dc/nn';
  g.metadata['dc.model'] = model.constructor.name;
  if (o.module) g.metadata['dc.module'] = o.module;
  for (const [k, v] of Object.entries(o.metadata ?? {})) g.metadata[k] = String(v);
  return serializeModel(g.toModel());
}

/** exportOnnx, written to `path`. */
export async function saveOnnx(path: string, model: Module<never[], unknown>, state: ModelState, options: ExportOptions): Promise<void> {
  await writeFile(path, exportOnnx(model, state, options));
}
