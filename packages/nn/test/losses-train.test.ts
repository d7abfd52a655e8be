/** Every loss can be minimised through the engine: after a few dozen steps its value has fallen clearly. */
import { Rng, Tensor, type Value } from '@dc/core';
import {
  ConvAutoencoder,
  MLP,
  Trainer,
  adam,
  crossEntropy,
  doubleSoftmaxCrossEntropy,
  entropyOfMean,
  infoNce,
  mse,
  ntXent,
  scanLoss,
  sgd,
  type AutoencoderOutput,
  type Dataset,
  type LossBuilder,
  type Module,
} from '@dc/nn';
import { blobs } from './data';
import { disposeTestRuntime, testRuntime } from './helpers';

afterAll(disposeTestRuntime);

const { x, y } = blobs(3, 32, 6, 21);

/** Two noisy views of the same rows (a stand-in for augmentation). */
function views(): Dataset {
  return {
    size: 96,
    batch(idx: Int32Array, rng: Rng) {
      const a = x.gatherRows(idx);
      const b = x.gatherRows(idx);
      for (let i = 0; i < a.size; i++) {
        a.data[i] = a.data[i]! + rng.normal(0, 0.1);
        b.data[i] = b.data[i]! + rng.normal(0, 0.1);
      }
      return { a, b, y: y.gatherRows(idx) };
    },
  };
}

async function lossCurve(model: Module<never[], unknown>, loss: LossBuilder, data: Dataset, epochs = 12, lr = 0.01, batchSize = 32): Promise<number[]> {
  const trainer = new Trainer({ model, loss, optimizer: adam({ lr }), seed: 4, runtime: await testRuntime() });
  const r = await trainer.fit(data, { epochs, batchSize });
  await trainer.dispose();
  return r.history.map((h) => h.loss);
}

function expectFalls(curve: number[], factor: number): void {
  const first = curve[0]!;
  const last = curve[curve.length - 1]!;
  expect(Number.isFinite(last)).toBe(true);
  expect(last).toBeLessThan(first - factor * Math.abs(first));
}

const mlp = (out: number) => new MLP({ inputDim: 6, hidden: [16], outputDim: out });

describe('each loss falls when trained', () => {
  it('cross-entropy with label smoothing, weights and a mask', async () => {
    const data = views();
    const curve = await lossCurve(mlp(3), (ctx) => {
      const logits = ctx.forward<Value>(ctx.input('a'));
      const w = ctx.g.constant(Tensor.full([32], 0.5));
      return crossEntropy(ctx.g, logits, ctx.input('y'), { labelSmoothing: 0.1, weights: w, mask: ctx.g.constant(Tensor.ones([32])) });
    }, data);
    expectFalls(curve, 0.5);
  }, 30_000);

  it('cross-entropy with soft targets', async () => {
    const curve = await lossCurve(mlp(3), (ctx) => {
      const hot = ctx.g.op('OneHot', [ctx.input('y'), ctx.g.int64s([3]), ctx.g.constant(Tensor.fromArray([0.05, 0.9]))], { axis: -1 });
      return crossEntropy(ctx.g, ctx.forward<Value>(ctx.input('a')), hot);
    }, views());
    expectFalls(curve, 0.3);
  }, 30_000);

  it("SPICE's double-softmax cross-entropy (learns, but slowly: its range is squashed)", async () => {
    const curve = await lossCurve(mlp(3), (ctx) => {
      const probs = ctx.g.op('Softmax', [ctx.forward<Value>(ctx.input('a'))], { axis: 1 });
      return doubleSoftmaxCrossEntropy(ctx.g, probs, ctx.input('y'));
    }, views(), 12, 0.05);
    expectFalls(curve, 0.15);
  }, 30_000);

  it('MSE reconstruction of a conv autoencoder', async () => {
    const imgs = Tensor.zeros([64, 1, 16, 16]);
    const rng = new Rng(3);
    for (let i = 0; i < 64; i++) {
      const c = rng.int(2, 14);
      for (let p = 0; p < 256; p++) imgs.data[i * 256 + p] = Math.abs((p % 16) - c) < 2 ? 0.9 : 0.1;
    }
    const data: Dataset = { size: 64, batch: (idx) => ({ x: imgs.gatherRows(idx) }) };
    const curve = await lossCurve(new ConvAutoencoder({ inputShape: [1, 16, 16], latentDim: 8, baseChannels: 8 }), (ctx) => {
      const xv = ctx.input('x');
      return mse(ctx.g, ctx.forward<AutoencoderOutput>(xv).reconstruction, xv);
    }, data, 10, 0.01, 16);
    expectFalls(curve, 0.5);
  }, 30_000);

  it('NT-Xent on two views', async () => {
    const curve = await lossCurve(mlp(8), (ctx) => ntXent(ctx.g, ctx.forward<Value>(ctx.input('a')), ctx.forward<Value>(ctx.input('b')), { temperature: 0.5 }), views());
    expectFalls(curve, 0.1);
  }, 30_000);

  it('InfoNCE against a queue of negatives', async () => {
    const queue = Tensor.zeros([64, 8]);
    new Rng(5).fillNormal(queue.data);
    for (let i = 0; i < 64; i++) {
      const r = queue.data.subarray(i * 8, i * 8 + 8);
      const n = Math.hypot(...r);
      for (let j = 0; j < 8; j++) r[j] = r[j]! / n;
    }
    const curve = await lossCurve(mlp(8), (ctx) => {
      const q = ctx.forward<Value>(ctx.input('a'));
      const k = ctx.forward<Value>(ctx.input('b'));
      return infoNce(ctx.g, q, k, ctx.g.constant(queue), { temperature: 0.2 });
    }, views());
    expectFalls(curve, 0.1);
  }, 30_000);

  it('the SCAN loss (neighbour consistency minus entropy)', async () => {
    const curve = await lossCurve(mlp(3), (ctx) => scanLoss(ctx.g, ctx.forward<Value>(ctx.input('a')), ctx.forward<Value>(ctx.input('b')), { entropyWeight: 2 }), views());
    // total = consistency - 2 H: it starts near -2 log 3 + something and must fall.
    expect(curve[curve.length - 1]!).toBeLessThan(curve[0]! - 0.1);
  }, 30_000);

  it('the entropy of the mean prediction (maximised, so its negation falls)', async () => {
    const curve = await lossCurve(mlp(3), (ctx) => {
      const p = ctx.g.op('Softmax', [ctx.forward<Value>(ctx.input('a'))], { axis: 1 });
      return ctx.g.op('Neg', [entropyOfMean(ctx.g, p)]);
    }, views(), 6, 0.05);
    expect(curve[curve.length - 1]!).toBeLessThan(curve[0]!);
    expect(curve[curve.length - 1]!).toBeLessThan(-Math.log(3) + 0.01);
  }, 30_000);

  it('SGD with Nesterov momentum also trains', async () => {
    const trainer = new Trainer({
      model: mlp(3),
      loss: (ctx) => crossEntropy(ctx.g, ctx.forward(ctx.input('a')), ctx.input('y')),
      optimizer: sgd({ lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
      runtime: await testRuntime(),
    });
    const r = await trainer.fit(views(), { epochs: 8, batchSize: 32 });
    expectFalls(r.history.map((h) => h.loss), 0.5);
    await trainer.dispose();
  }, 30_000);
});
