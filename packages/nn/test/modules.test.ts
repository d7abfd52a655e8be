import { GraphBuilder, GraphError, InvalidInputError, InvalidOptionError, Rng, Tensor, UnknownOptionError, type Value } from '@dc/core';
import {
  AvgPool2d,
  BatchNorm2d,
  ClusteringHead,
  Conv2d,
  ConvAutoencoder,
  ConvTranspose2d,
  BatchNorm1d,
  Dropout,
  Linear,
  MLP,
  MaxPool2d,
  Module,
  MultiClusteringHead,
  ProjectionHead,
  ReLU,
  Sequential,
  WithHead,
  buildForwardGraph,
  checkState,
  weightFeeds,
  convGeometry,
  fans,
  gain,
  init,
  predict,
  resnet18,
  resnet34,
  type ForwardContext,
} from '@dc/nn';
import { disposeTestRuntime, randn, relError, testRuntime } from './helpers';

afterAll(disposeTestRuntime);

function stats(a: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of a) {
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), min, max };
}

describe('initialisation follows torch.nn.init', () => {
  it('computes fans and gains as PyTorch', () => {
    expect(fans([64, 32, 3, 3])).toEqual([288, 576]);
    expect(fans([10, 20])).toEqual([20, 10]);
    expect(gain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(gain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(gain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(() => fans([5])).toThrow(InvalidOptionError);
  });

  it("Linear and Conv2d defaults are U(+-1/sqrt(fan_in)) for weight and bias", () => {
    const lin = new Linear(400, 300);
    const s = lin.init(3);
    const w = stats(s.parameters.get('weight')!.data);
    const bound = 1 / Math.sqrt(400);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    expect(w.std).toBeCloseTo(bound / Math.sqrt(3), 3);
    expect(stats(s.parameters.get('bias')!.data).max).toBeLessThanOrEqual(bound);
    const conv = new ConvTranspose2d(16, 8, 3);
    // ConvTranspose2d weight [in, out, k, k]: PyTorch's fan-in is out * k * k.
    const b = stats(conv.init(1).parameters.get('bias')!.data);
    expect(b.max).toBeLessThanOrEqual(1 / Math.sqrt(8 * 9));
  });

  it('kaiming normal fan_out and xavier uniform have the right spread', () => {
    const k = stats(init.kaimingNormal({ mode: 'fan_out', nonlinearity: 'relu' })([128, 64, 3, 3], new Rng(1)));
    expect(k.std).toBeCloseTo(Math.SQRT2 / Math.sqrt(128 * 9), 3);
    expect(Math.abs(k.mean)).toBeLessThan(0.002);
    const x = stats(init.xavierUniform()([200, 100], new Rng(2)));
    expect(x.max).toBeLessThanOrEqual(Math.sqrt(6 / 300));
    expect(x.std).toBeCloseTo(Math.sqrt(6 / 300) / Math.sqrt(3), 3);
  });

  it('is seeded: the same seed gives the same weights, another seed others', () => {
    const m = new MLP({ inputDim: 8, hidden: [16], outputDim: 3 });
    const a = m.init(5).parameters.get('layers.0.weight')!.data;
    const b = m.init(5).parameters.get('layers.0.weight')!.data;
    const c = m.init(6).parameters.get('layers.0.weight')!.data;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});

describe('names and shapes follow torch.nn state_dicts', () => {
  it('ResNet-18 / ResNet-34 (CIFAR stem) have torchvision names and parameter counts', () => {
    const r18 = resnet18({ numClasses: 10 });
    const names = r18.namedParameters().map(([n]) => n);
    expect(names.slice(0, 4)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'layer1.0.conv1.weight']);
    expect(names).toContain('layer2.0.downsample.0.weight');
    expect(names).toContain('layer4.1.bn2.bias');
    expect(names.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
    expect(r18.namedParameters().find(([n]) => n === 'conv1.weight')![1].shape).toEqual([64, 3, 3, 3]);
    // torchvision's resnet18 with a 3x3 stem and a 10-class head: 11,173,962 parameters.
    expect(r18.parameterCount()).toBe(11_173_962);
    expect(r18.namedBuffers().map(([n]) => n)).toContain('layer3.1.bn1.running_var');
    expect(resnet34({ numClasses: 10 }).parameterCount()).toBe(21_282_122);
    expect(resnet18().parameterCount()).toBe(11_173_962 - 5130);
  });

  it('the conv autoencoder is sized from the input shape', () => {
    expect(convGeometry([1, 28, 28]).sizes).toEqual([[28, 28], [14, 14], [7, 7], [4, 4]]);
    expect(convGeometry([1, 16, 16]).sizes).toEqual([[16, 16], [8, 8], [4, 4]]);
    expect(convGeometry([3, 32, 32]).sizes).toEqual([[32, 32], [16, 16], [8, 8], [4, 4]]);
    for (const shape of [[1, 28, 28], [1, 16, 16], [3, 32, 32], [2, 20, 12]] as const) {
      const ae = new ConvAutoencoder({ inputShape: shape, latentDim: 7 });
      const fg = buildForwardGraph(ae, { inputs: [['x', { dtype: 'float32', shape: [2, ...shape] }]], weights: 'inputs' });
      const out = fg.graph.outputs;
      expect(fg.outputs).toEqual(['output/latent', 'output/reconstruction']);
      expect(out[0]!.shape).toEqual([2, 7]);
      expect(out[1]!.shape).toEqual([2, ...shape]);
    }
  });

  it('heads: projection, clustering, several clustering heads, backbone + head', () => {
    const proj = new ProjectionHead({ inputDim: 512, hiddenDim: 512, outputDim: 128 });
    expect(proj.namedParameters().map(([n, s]) => `${n}:${s.shape.join('x')}`)).toEqual([
      'layers.0.weight:512x512', 'layers.0.bias:512', 'layers.2.weight:128x512', 'layers.2.bias:128',
    ]);
    const multi = new MultiClusteringHead({ inputDim: 64, numClusters: 10, heads: 3, softmax: true });
    expect(multi.namedParameters().map(([n]) => n)).toContain('head2.layers.0.bias');
    const model = new WithHead(new MLP({ inputDim: 5, hidden: [8], outputDim: 64 }), multi);
    const fg = buildForwardGraph(model, { inputs: [['x', { dtype: 'float32', shape: [4, 5] }]], weights: 'inputs' });
    expect(fg.outputs).toEqual(['output/0', 'output/1', 'output/2']);
    expect(fg.graph.outputs.map((v) => v.shape)).toEqual([[4, 10], [4, 10], [4, 10]]);
    expect(new ClusteringHead({ inputDim: 4, numClusters: 3, hidden: [6], batchNorm: true }).namedBuffers().length).toBe(2);
  });
});

/** Naive references for the evaluation-mode forward pass. */
function conv2dRef(x: Tensor<'float32'>, w: Tensor<'float32'>, b: Float32Array | null, stride: number, pad: number, groups = 1): { data: Float64Array; shape: number[] } {
  const [n, cin, h, wd] = x.shape as [number, number, number, number];
  const [cout, cpg, k] = w.shape as [number, number, number, number];
  const ho = Math.floor((h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((wd + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(n * cout * ho * wo);
  const opg = cout / groups;
  for (let ni = 0; ni < n; ni++) for (let co = 0; co < cout; co++) {
    const gi = Math.floor(co / opg);
    for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
      let s = b ? b[co]! : 0;
      for (let ci = 0; ci < cpg; ci++) for (let a = 0; a < k; a++) for (let c2 = 0; c2 < k; c2++) {
        const y = i * stride - pad + a;
        const xx = j * stride - pad + c2;
        if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
        s += x.data[((ni * cin + gi * cpg + ci) * h + y) * wd + xx]! * w.data[((co * cpg + ci) * k + a) * k + c2]!;
      }
      out[((ni * cout + co) * ho + i) * wo + j] = s;
    }
  }
  return { data: out, shape: [n, cout, ho, wo] };
}

describe('evaluation-mode forward passes agree with naive references', () => {
  it('Linear -> ReLU -> Linear (an MLP) through predict, in padded batches', async () => {
    const m = new MLP({ inputDim: 6, hidden: [5], outputDim: 3 });
    const s = m.init(2);
    const x = randn([11, 6], 3);
    const got = (await predict(m, s, x, { batchSize: 4, runtime: await testRuntime() })).output!;
    const w1 = s.parameters.get('layers.0.weight')!;
    const b1 = s.parameters.get('layers.0.bias')!;
    const w2 = s.parameters.get('layers.2.weight')!;
    const b2 = s.parameters.get('layers.2.bias')!;
    const want: number[] = [];
    for (let i = 0; i < 11; i++) {
      const h = Array.from({ length: 5 }, (_, o) => Math.max(0, b1.data[o]! + [0, 1, 2, 3, 4, 5].reduce((a, k) => a + x.data[i * 6 + k]! * w1.data[o * 6 + k]!, 0)));
      for (let o = 0; o < 3; o++) want.push(b2.data[o]! + h.reduce((a, v, k) => a + v * w2.data[o * 5 + k]!, 0));
    }
    expect(got.shape).toEqual([11, 3]);
    expect(relError(got.data, want)).toBeLessThan(1e-6);
  });

  it('Conv2d with stride, padding and groups', async () => {
    const conv = new Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2 });
    const s = conv.init(4);
    const x = randn([2, 4, 7, 7], 5);
    const got = (await predict(conv, s, x, { runtime: await testRuntime() })).output!;
    const want = conv2dRef(x, s.parameters.get('weight')!, s.parameters.get('bias')!.data, 2, 1, 2);
    expect(got.shape).toEqual(want.shape);
    expect(relError(got.data, want.data)).toBeLessThan(1e-6);
  });

  it('BatchNorm2d in evaluation form uses the running statistics', async () => {
    const bn = new BatchNorm2d(3);
    const s = bn.init(0);
    s.parameters.set('weight', Tensor.fromArray([1, 2, 0.5]));
    s.parameters.set('bias', Tensor.fromArray([0, -1, 3]));
    s.buffers.set('running_mean', Tensor.fromArray([0.5, -0.5, 2]));
    s.buffers.set('running_var', Tensor.fromArray([4, 0.25, 1]));
    const x = randn([2, 3, 2, 2], 6);
    const got = (await predict(bn, s, x, { runtime: await testRuntime() })).output!;
    const want = Array.from(x.data, (v, i) => {
      const ch = Math.floor(i / 4) % 3;
      const [g, b, m, va] = [[1, 2, 0.5][ch]!, [0, -1, 3][ch]!, [0.5, -0.5, 2][ch]!, [4, 0.25, 1][ch]!];
      return ((v - m) / Math.sqrt(va + 1e-5)) * g + b;
    });
    expect(relError(got.data, want)).toBeLessThan(1e-6);
  });

  it('Dropout is the identity and pooling matches its definition in evaluation mode', async () => {
    const rt = await testRuntime();
    const x = randn([1, 2, 4, 4], 7);
    const seq = new Sequential(new Dropout(0.5), new MaxPool2d(2));
    const mp = (await predict(seq, seq.init(0), x, { runtime: rt })).output!;
    const ap = (await predict(new AvgPool2d(2), new AvgPool2d(2).init(0), x, { runtime: rt })).output!;
    for (let c = 0; c < 2; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      const win = [0, 1].flatMap((a) => [0, 1].map((b) => x.get(0, c, 2 * i + a, 2 * j + b)));
      expect(mp.get(0, c, i, j)).toBeCloseTo(Math.max(...win), 6);
      expect(ap.get(0, c, i, j)).toBeCloseTo(win.reduce((p, q) => p + q, 0) / 4, 6);
    }
  });
});

describe('a custom module', () => {
  class Scale extends Module {
    constructor() {
      super();
      this.registerParameter('s', [1], init.constant(3));
      this.registerModule('act', new ReLU());
    }

    forward(ctx: ForwardContext, x: Value): Value {
      return ctx.call<[Value], Value>('act', ctx.g.op('Mul', [x, ctx.param('s')]));
    }
  }

  it('declares parameters and children and runs through predict', async () => {
    const m = new Scale();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['s']);
    const out = (await predict(m, m.init(0), Tensor.fromArray([[-1, 2]]), { runtime: await testRuntime() })).output!;
    expect(Array.from(out.data)).toEqual([0, 6]);
  });
});

describe('bad input gets a typed error', () => {
  it.each([
    ['Linear inFeatures', () => new Linear(0, 3), InvalidOptionError],
    ['Linear options', () => new Linear(3, 3, { bais: false } as never), UnknownOptionError],
    ['Conv2d kernel', () => new Conv2d(3, 3, 0), InvalidOptionError],
    ['Conv2d groups', () => new Conv2d(3, 4, 3, { groups: 2 }), InvalidOptionError],
    ['Conv2d padding', () => new Conv2d(3, 4, 3, { padding: -1 }), InvalidOptionError],
    ['ConvTranspose2d outputPadding', () => new ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: 2 }), InvalidOptionError],
    ['BatchNorm2d momentum', () => new BatchNorm2d(3, { momentum: 2 }), InvalidOptionError],
    ['BatchNorm2d eps', () => new BatchNorm2d(3, { eps: 0 }), InvalidOptionError],
    ['Dropout p', () => new Dropout(1), InvalidOptionError],
    ['MLP hidden', () => new MLP({ inputDim: 3, hidden: [0], outputDim: 2 }), InvalidOptionError],
    ['MLP activation', () => new MLP({ inputDim: 3, outputDim: 2, activation: 'gelu' as never }), InvalidOptionError],
    ['ConvAutoencoder inputShape', () => new ConvAutoencoder({ inputShape: [28, 28] as never, latentDim: 3 }), InvalidOptionError],
    ['ConvAutoencoder tiny images', () => new ConvAutoencoder({ inputShape: [1, 1, 8], latentDim: 3 }), InvalidOptionError],
    ['ResNet options', () => resnet18({ classes: 10 } as never), UnknownOptionError],
    ['ResNet stem', () => resnet18({ stem: 'tiny' } as never), InvalidOptionError],
    ['ClusteringHead numClusters', () => new ClusteringHead({ inputDim: 4, numClusters: 1 }), InvalidOptionError],
  ])('%s', (_label, make, type) => {
    expect(make).toThrow(type as never);
  });

  it('rejects inputs of the wrong rank or width when the graph is built', () => {
    const lin = new Linear(4, 2);
    const mk = (shape: number[]) => () => buildForwardGraph(lin, { inputs: [['x', { dtype: 'float32', shape }]], weights: 'inputs' });
    expect(mk([3, 5])).toThrow(GraphError);
    expect(mk([3, 4, 1])).toThrow(GraphError);
    const conv = new Conv2d(3, 4, 3);
    expect(() => buildForwardGraph(conv, { inputs: [['x', { dtype: 'float32', shape: [2, 3, 8] }]], weights: 'inputs' })).toThrow(GraphError);
  });

  it('checkState names missing, unknown and misshapen tensors', () => {
    const m = new Linear(3, 2);
    const s = m.init(0);
    expect(() => checkState(m, s)).not.toThrow();
    const missing = { parameters: new Map(s.parameters), buffers: s.buffers };
    missing.parameters.delete('bias');
    expect(() => checkState(m, missing)).toThrow(/missing parameter 'bias'/);
    const extra = { parameters: new Map(s.parameters).set('gamma', Tensor.zeros([2])), buffers: s.buffers };
    expect(() => checkState(m, extra)).toThrow(/unknown parameter 'gamma'/);
    const shaped = { parameters: new Map(s.parameters).set('bias', Tensor.zeros([3])), buffers: s.buffers };
    expect(() => checkState(m, shaped)).toThrow(InvalidInputError);
  });

  it('a sub-module path that does not exist', () => {
    expect(() => new ConvAutoencoder({ inputShape: [1, 16, 16], latentDim: 3 }).get('encoder.nope')).toThrow(InvalidInputError);
    expect(() => new GraphBuilder()).not.toThrow();
  });
});

describe('buildForwardGraph in training mode', () => {
  it('a training-mode forward graph normalises with batch statistics and exposes its random inputs', async () => {
    const model = new Sequential(new BatchNorm1d(3), new Dropout(0.25));
    const state = model.init(1);
    const inputs: [string, { dtype: 'float32'; shape: number[] }][] = [['x', { dtype: 'float32', shape: [8, 3] }]];
    // Features with mean 5: running statistics (mean 0, variance 1) keep it, batch statistics remove it.
    const x = new Tensor('float32', Float32Array.from({ length: 24 }, (_, i) => 5 + Math.sin(i)), [8, 3]);
    const runtime = await testRuntime();
    const run = async (training: boolean) => {
      const fg = buildForwardGraph(model, { inputs, weights: 'inputs', training });
      const feeds: Record<string, Tensor> = { x, ...weightFeeds(fg, state) };
      // A keep-everything mask, so only the normalisation differs.
      for (const r of fg.random) feeds[r.input] = new Tensor('float32', new Float32Array(r.shape.reduce((a, b) => a * b, 1)).fill(1), r.shape);
      const session = await runtime.session(fg.graph);
      try {
        return { fg, y: (await session.run(feeds)).output!.data as Float32Array };
      } finally {
        await session.release();
      }
    };
    const train = await run(true);
    expect(train.fg.random).toHaveLength(1);
    expect(train.fg.random[0]!.dist).toEqual({ kind: 'bernoulli', p: 0.25 });
    expect(train.fg.outputs).toEqual(['output']);
    for (let f = 0; f < 3; f++) {
      let mean = 0;
      for (let r = 0; r < 8; r++) mean += train.y[r * 3 + f]! / 8;
      expect(Math.abs(mean)).toBeLessThan(1e-4);
    }
    const evalMode = await run(false);
    expect(evalMode.fg.random).toEqual([]);
    expect(evalMode.y[0]).toBeGreaterThan(3);
    expect(() => buildForwardGraph(model, { inputs, weights: { state }, training: true })).toThrow(GraphError);
  });
});
