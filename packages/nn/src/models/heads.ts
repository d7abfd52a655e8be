/**
 * Heads on top of a backbone's features: the projection head of SimCLR / MoCo v2 (Linear -> [BN] -> ReLU ->
 * Linear, optionally L2-normalised), clustering heads (an MLP to K logits or probabilities, as in SCAN and SPICE),
 * several independent clustering heads at once (SPICE and SCAN train many and keep the best by a label-free
 * criterion), and a backbone + head composition.
 */
import { c, validateOptions, type Value } from '@dc/core';
import { BatchNorm1d, L2Normalize, Linear, ReLU, Sequential } from '../modules/layers.js';
import { Module, type ForwardContext } from '../modules/module.js';

export interface ProjectionHeadOptions {
  inputDim: number;
  hiddenDim?: number;
  outputDim?: number;
  batchNorm?: boolean;
  /** L2-normalise the output rows (default true). */
  normalize?: boolean;
}

export class ProjectionHead extends Module {
  constructor(options: ProjectionHeadOptions) {
    super();
    const o = validateOptions('ProjectionHead', options, {
      inputDim: c.int({ min: 1 }),
      hiddenDim: c.optional(c.int({ min: 1 })),
      outputDim: c.int({ min: 1 }),
      batchNorm: c.bool(),
      normalize: c.bool(),
    }, { outputDim: 128, batchNorm: false, normalize: true });
    const hidden = o.hiddenDim ?? o.inputDim;
    const layers: Module[] = [new Linear(o.inputDim, hidden, { bias: !o.batchNorm })];
    if (o.batchNorm) layers.push(new BatchNorm1d(hidden));
    layers.push(new ReLU(), new Linear(hidden, o.outputDim));
    if (o.normalize) layers.push(new L2Normalize());
    this.registerModule('layers', new Sequential(...layers));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.call('layers', x);
  }
}

export interface ClusteringHeadOptions {
  inputDim: number;
  numClusters: number;
  /** Hidden widths (default none: one Linear). */
  hidden?: readonly number[];
  batchNorm?: boolean;
  /** Output probabilities (softmax) instead of logits (default false). */
  softmax?: boolean;
}

const clusteringSchema = {
  inputDim: c.int({ min: 1 }),
  numClusters: c.int({ min: 2 }),
  hidden: c.arrayOf(c.int({ min: 1 })),
  batchNorm: c.bool(),
  softmax: c.bool(),
};

export class ClusteringHead extends Module {
  readonly softmax: boolean;

  constructor(options: ClusteringHeadOptions) {
    super();
    const o = validateOptions('ClusteringHead', options, clusteringSchema, { hidden: [], batchNorm: false, softmax: false });
    this.softmax = o.softmax;
    const layers: Module[] = [];
    let width = o.inputDim;
    for (const h of o.hidden) {
      layers.push(new Linear(width, h, { bias: !o.batchNorm }));
      if (o.batchNorm) layers.push(new BatchNorm1d(h));
      layers.push(new ReLU());
      width = h;
    }
    layers.push(new Linear(width, o.numClusters));
    this.registerModule('layers', new Sequential(...layers));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    const logits = ctx.call<[Value], Value>('layers', x);
    return this.softmax ? ctx.g.op('Softmax', [logits], { axis: -1 }) : logits;
  }
}

export interface MultiHeadOptions extends ClusteringHeadOptions {
  heads: number;
}

/** `heads` independent clustering heads on the same features; forward gives one output per head. */
export class MultiClusteringHead extends Module<[Value], Value[]> {
  readonly heads: number;

  constructor(options: MultiHeadOptions) {
    super();
    const o = validateOptions('MultiClusteringHead', options, { ...clusteringSchema, heads: c.int({ min: 1 }) }, {
      hidden: [], batchNorm: false, softmax: false,
    });
    this.heads = o.heads;
    const { heads, ...one } = o;
    for (let h = 0; h < heads; h++) this.registerModule(`head${h}`, new ClusteringHead(one));
  }

  forward(ctx: ForwardContext, x: Value): Value[] {
    return Array.from({ length: this.heads }, (_, h) => ctx.call<[Value], Value>(`head${h}`, x));
  }
}

/** A backbone followed by a head; names are `backbone.*` and `head.*`. */
export class WithHead<O = Value> extends Module<[Value], O> {
  constructor(backbone: Module, head: Module<[Value], O>) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('head', head);
  }

  forward(ctx: ForwardContext, x: Value): O {
    return ctx.call<[Value], O>('head', ctx.call<[Value], Value>('backbone', x));
  }
}
