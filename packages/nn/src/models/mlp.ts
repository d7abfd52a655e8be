/** A multilayer perceptron: Linear -> [BatchNorm1d] -> activation -> [Dropout], repeated, then a Linear. */
import { c, validateOptions, type Value } from '@dc/core';
import { BatchNorm1d, Dropout, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh } from '../modules/layers.js';
import { Module, type ForwardContext } from '../modules/module.js';
import { WEIGHT_INITS, type WeightInit } from '../modules/init.js';

export type Activation = 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'leaky_relu', 'tanh', 'sigmoid'];

export function activation(kind: Activation, negativeSlope = 0.01): Module {
  switch (kind) {
    case 'relu':
      return new ReLU();
    case 'leaky_relu':
      return new LeakyReLU(negativeSlope);
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
  }
}

export interface MLPOptions {
  inputDim: number;
  /** Hidden layer widths (default none: a linear model). */
  hidden?: readonly number[];
  outputDim: number;
  activation?: Activation;
  batchNorm?: boolean;
  /** Dropout probability after each hidden activation (default 0). */
  dropout?: number;
  weightInit?: WeightInit;
}

export class MLP extends Module {
  readonly options: Required<MLPOptions>;

  constructor(options: MLPOptions) {
    super();
    const o = validateOptions('MLP', options, {
      inputDim: c.int({ min: 1 }),
      hidden: c.arrayOf(c.int({ min: 1 })),
      outputDim: c.int({ min: 1 }),
      activation: c.oneOf(ACTIVATIONS),
      batchNorm: c.bool(),
      dropout: c.number({ min: 0, max: 1, maxExclusive: true }),
      weightInit: c.oneOf(WEIGHT_INITS),
    }, { hidden: [], activation: 'relu', batchNorm: false, dropout: 0, weightInit: 'torch' });
    this.options = o;
    const layers: Module[] = [];
    let width = o.inputDim;
    for (const h of o.hidden) {
      layers.push(new Linear(width, h, { bias: !o.batchNorm, weightInit: o.weightInit }));
      if (o.batchNorm) layers.push(new BatchNorm1d(h));
      layers.push(activation(o.activation));
      if (o.dropout > 0) layers.push(new Dropout(o.dropout));
      width = h;
    }
    layers.push(new Linear(width, o.outputDim, { weightInit: o.weightInit }));
    this.registerModule('layers', new Sequential(...layers));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.call('layers', x);
  }
}
