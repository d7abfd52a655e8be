/** Exported .onnx files load in plain onnxruntime and give the engine's evaluation-graph outputs. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InvalidInputError, InvalidOptionError, Tensor, parseModel } from '@dc/core';
import {
  BatchNorm2d,
  ConvAutoencoder,
  Conv2d,
  Dropout,
  Flatten,
  Linear,
  MLP,
  MaxPool2d,
  MultiClusteringHead,
  ReLU,
  Sequential,
  Trainer,
  WithHead,
  adam,
  exportOnnx,
  mse,
  resnet18,
  saveOnnx,
  type AutoencoderOutput,
} from '@dc/nn';
import { disposeTestRuntime, randn, testRuntime } from './helpers';
import { formulaState } from './formula';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dc-nn-export-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await disposeTestRuntime();
});

async function runPlain(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, [...t.shape])])));
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('exportOnnx', () => {
  it('a trained conv autoencoder (BatchNorm in eval form): plain onnxruntime equals the engine, for any batch size', async () => {
    const model = new ConvAutoencoder({ inputShape: [1, 16, 16], latentDim: 6, baseChannels: 8 });
    const x = randn([24, 1, 16, 16], 1, 0.5);
    const trainer = new Trainer({
      model,
      loss: (ctx) => {
        const xv = ctx.input('x');
        return mse(ctx.g, ctx.forward<AutoencoderOutput>(xv).reconstruction, xv);
      },
      optimizer: adam({ lr: 0.01 }),
      runtime: await testRuntime(),
    });
    await trainer.fit({ size: 24, batch: (idx) => ({ x: x.gatherRows(idx) }) }, { epochs: 2, batchSize: 8 });
    // After training the running statistics are no longer 0/1, so the eval form is really exercised.
    expect(trainer.modelState.buffers.get('encoder.layers.1.running_mean')!.data.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    const engine = await trainer.predict(x, { batchSize: 10 });
    const bytes = trainer.exportOnnx({ inputShape: [1, 16, 16] });
    const plain = await runPlain(bytes, { input: x });
    expect(Object.keys(plain).sort()).toEqual(['latent', 'reconstruction']);
    expect(maxAbsDiff(plain.latent!, engine.latent!.data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(plain.reconstruction!, engine.reconstruction!.data)).toBeLessThan(1e-5);
    const few = await runPlain(bytes, { input: x.rows(0, 3) });
    expect(maxAbsDiff(few.latent!, engine.latent!.data.subarray(0, 18))).toBeLessThan(1e-5);
    // A sub-module on its own: the encoder.
    const enc = await runPlain(exportOnnx(model, trainer.modelState, { inputShape: [1, 16, 16], module: 'encoder' }), { input: x });
    expect(maxAbsDiff(enc.output!, engine.latent!.data)).toBeLessThan(1e-5);
    await trainer.dispose();
  }, 60_000);

  it('ResNet-18 with max-pool, dropout and several heads: weights are initializers and outputs match', async () => {
    const backbone = new Sequential(
      new Conv2d(3, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2), new Dropout(0.5), new Flatten(), new Linear(8 * 4 * 4, 16),
    );
    const model = new WithHead(backbone, new MultiClusteringHead({ inputDim: 16, numClusters: 4, heads: 2, softmax: true }));
    const state = model.init(3);
    // Non-trivial running statistics.
    state.buffers.set('backbone.1.running_mean', Tensor.fromArray([0.1, -0.2, 0.3, 0, 0.5, -0.1, 0.2, 0]));
    state.buffers.set('backbone.1.running_var', Tensor.fromArray([1.5, 0.5, 2, 1, 0.8, 1.2, 0.9, 3]));
    const x = randn([5, 3, 8, 8], 4);
    const { predict, releaseModelSessions } = await import('@dc/nn');
    const engine = await predict(model, state, x, { runtime: await testRuntime() });
    // predict's compiled session is released on request and rebuilt by the next call
    expect(await releaseModelSessions(model, await testRuntime())).toBe(1);
    expect(await releaseModelSessions(model, await testRuntime())).toBe(0);
    expect(Array.from((await predict(model, state, x, { runtime: await testRuntime() }))['0']!.data)).toEqual(Array.from(engine['0']!.data));
    const path = join(dir, 'heads.onnx');
    await saveOnnx(path, model, state, { inputShape: [3, 8, 8], metadata: { purpose: 'test' } });
    const bytes = exportOnnx(model, state, { inputShape: [3, 8, 8], metadata: { purpose: 'test' } });
    expect(readFileSync(path).equals(Buffer.from(bytes))).toBe(true);
    const parsed = parseModel(bytes);
    expect(parsed.inputs.map((i) => i.name)).toEqual(['input']);
    expect(parsed.outputs.map((o) => o.name)).toEqual(['output_0', 'output_1']);
    expect([...parsed.initializers.keys()]).toContain('backbone.0.weight');
    expect(parsed.metadata['dc.producer']).toBe('@dc/nn');
    expect(parsed.metadata.purpose).toBe('test');
    expect(parsed.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(true);
    const plain = await runPlain(bytes, { input: x });
    expect(maxAbsDiff(plain.output_0!, engine['0']!.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(plain.output_1!, engine['1']!.data)).toBeLessThan(1e-6);

    const r18 = resnet18({ numClasses: 10 });
    // The formula's weights (drawing 11M values from the Rng is slow under jest's vm context).
    const s18 = formulaState(r18);
    const xr = randn([2, 3, 32, 32], 5);
    const e18 = await predict(r18, s18, xr, { runtime: await testRuntime() });
    const b18 = exportOnnx(r18, s18, { inputShape: [3, 32, 32] });
    // The batch dim keeps its name through the pooling's Flatten, so tools see output rows = input rows.
    expect(parseModel(b18).outputs[0]!.shape).toEqual(['N', 10]);
    const p18 = await runPlain(b18, { input: xr });
    expect(maxAbsDiff(p18.output!, e18.output!.data)).toBeLessThan(1e-5);
  }, 60_000);

  it('rejects bad options and states', () => {
    const m = new MLP({ inputDim: 3, outputDim: 2 });
    const s = m.init(0);
    expect(() => exportOnnx(m, s, { inputShape: [0] })).toThrow(InvalidOptionError);
    expect(() => exportOnnx(m, s, { inputShape: [3], batch: 2 } as never)).toThrow(/Unknown option 'batch'/);
    expect(() => exportOnnx(m, { parameters: new Map(), buffers: new Map() }, { inputShape: [3] })).toThrow(InvalidInputError);
    expect(() => exportOnnx(m, s, { inputShape: [4] })).toThrow(/input features/);
  });
});
