/**
 * ResNet-18 and ResNet-34 (He et al., 2016) with torchvision's layout and names (conv1, bn1, layer1.0.conv1,
 * layer1.0.downsample.0, fc). The CIFAR stem (3x3 conv, stride 1, no max-pool) is the default, as used by
 * SimCLR/MoCo/SCAN/SPICE on 32x32 images; the ImageNet stem (7x7 stride 2 + max-pool) is available.
 * Convolutions are initialised as torchvision does (kaiming_normal_, fan_out, relu).
 */
import { c, validateOptions, type Value } from '@dc/core';
import { BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, MaxPool2d, Sequential } from '../modules/layers.js';
import { Module, type ForwardContext } from '../modules/module.js';

/** torchvision's BasicBlock: conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN, plus the (downsampled) input, ReLU. */
export class BasicBlock extends Module {
  readonly hasDownsample: boolean;

  constructor(inPlanes: number, planes: number, stride = 1) {
    super();
    this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false, weightInit: 'kaiming-normal-fan-out' }));
    this.registerModule('bn1', new BatchNorm2d(planes));
    this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride: 1, padding: 1, bias: false, weightInit: 'kaiming-normal-fan-out' }));
    this.registerModule('bn2', new BatchNorm2d(planes));
    this.hasDownsample = stride !== 1 || inPlanes !== planes;
    if (this.hasDownsample) {
      this.registerModule('downsample', new Sequential(
        new Conv2d(inPlanes, planes, 1, { stride, bias: false, weightInit: 'kaiming-normal-fan-out' }),
        new BatchNorm2d(planes),
      ));
    }
  }

  forward(ctx: ForwardContext, x: Value): Value {
    const g = ctx.g;
    let out = g.op('Relu', [ctx.call<[Value], Value>('bn1', ctx.call<[Value], Value>('conv1', x))]);
    out = ctx.call<[Value], Value>('bn2', ctx.call<[Value], Value>('conv2', out));
    const identity = this.hasDownsample ? ctx.call<[Value], Value>('downsample', x) : x;
    return g.op('Relu', [g.op('Add', [out, identity])]);
  }
}

export interface ResNetOptions {
  /** Blocks per stage: [2, 2, 2, 2] for ResNet-18, [3, 4, 6, 3] for ResNet-34. */
  layers: readonly [number, number, number, number];
  inChannels?: number;
  /** Size of the final Linear; 0 (default) leaves it out and the model outputs its 512 pooled features. */
  numClasses?: number;
  stem?: 'cifar' | 'imagenet';
}

export class ResNet extends Module {
  /** Width of the pooled features (512). */
  readonly featureDim = 512;
  readonly numClasses: number;
  readonly stem: 'cifar' | 'imagenet';

  constructor(options: ResNetOptions) {
    super();
    const o = validateOptions('ResNet', options, {
      layers: c.custom<readonly [number, number, number, number]>('four integers >= 1', (v) =>
        Array.isArray(v) && v.length === 4 && v.every((d) => Number.isInteger(d) && d >= 1),
      ),
      inChannels: c.int({ min: 1 }),
      numClasses: c.int({ min: 0 }),
      stem: c.oneOf(['cifar', 'imagenet'] as const),
    }, { inChannels: 3, numClasses: 0, stem: 'cifar' });
    this.numClasses = o.numClasses;
    this.stem = o.stem;
    if (o.stem === 'cifar') {
      this.registerModule('conv1', new Conv2d(o.inChannels, 64, 3, { stride: 1, padding: 1, bias: false, weightInit: 'kaiming-normal-fan-out' }));
    } else {
      this.registerModule('conv1', new Conv2d(o.inChannels, 64, 7, { stride: 2, padding: 3, bias: false, weightInit: 'kaiming-normal-fan-out' }));
    }
    this.registerModule('bn1', new BatchNorm2d(64));
    if (o.stem === 'imagenet') this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    let inPlanes = 64;
    [64, 128, 256, 512].forEach((planes, i) => {
      const blocks: Module[] = [];
      for (let b = 0; b < o.layers[i]!; b++) {
        blocks.push(new BasicBlock(inPlanes, planes, b === 0 && i > 0 ? 2 : 1));
        inPlanes = planes;
      }
      this.registerModule(`layer${i + 1}`, new Sequential(...blocks));
    });
    this.registerModule('avgpool', new GlobalAvgPool2d());
    if (o.numClasses > 0) this.registerModule('fc', new Linear(512, o.numClasses));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    let y = ctx.g.op('Relu', [ctx.call<[Value], Value>('bn1', ctx.call<[Value], Value>('conv1', x))]);
    if (this.stem === 'imagenet') y = ctx.call('maxpool', y);
    for (const l of ['layer1', 'layer2', 'layer3', 'layer4']) y = ctx.call(l, y);
    y = ctx.call('avgpool', y);
    return this.numClasses > 0 ? ctx.call('fc', y) : y;
  }
}

export type ResNetVariantOptions = Omit<ResNetOptions, 'layers'>;

export function resnet18(options: ResNetVariantOptions = {}): ResNet {
  return new ResNet({ ...options, layers: [2, 2, 2, 2] });
}

export function resnet34(options: ResNetVariantOptions = {}): ResNet {
  return new ResNet({ ...options, layers: [3, 4, 6, 3] });
}
