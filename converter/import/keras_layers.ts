/**
 * Keras layer classes → tfjs layers, one mapper per class, in one table. A mapper reads the
 * Keras config (either dialect), refuses what tfjs would compute differently from Keras (naming
 * the layer and the setting), and says which stored variables the tfjs layer takes, in its order.
 * Settings tfjs lacks are mapped onto exact equivalents where one exists (Rescaling → a 1×1
 * depthwise convolution with scale and offset as weights, which BatchNorm folding, quantization
 * and the ONNX export all know; an integer-factor nearest Resizing → UpSampling2D).
 */
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { tf, tfl } from '../../core/node/tfjs.js';
import { ImportError } from '../../core/errors.js';

/** The part of a tfjs layer the import uses. */
export interface TfLayer {
  readonly name: string;
  apply(inputs: SymbolicTensor | SymbolicTensor[]): unknown;
  setWeights(weights: tf.Tensor[]): void;
}

export interface MapContext {
  /** The name the layer gets in the flat graph. */
  name: string;
  /** Shapes of its inputs, batch first. */
  inputShapes: (number | null)[][];
}

export type MappedLayer =
  | {
      kind: 'layer';
      layer: TfLayer;
      /** Variables taken from the file, in the tfjs layer's weight order (`kernel`, `bias`…). */
      vars: string[];
      /** Weights made by the mapper instead (Rescaling's scale and offset); the caller disposes them. */
      weights?: tf.Tensor[];
    }
  /** The layer is the identity on the contract's input (a Resizing to the size it already has). */
  | { kind: 'identity' };

type Mapper = (c: Record<string, unknown>, ctx: MapContext) => MappedLayer;

function unsupported(ctx: MapContext, className: string, what: string): never {
  throw new ImportError('IMPORT_UNSUPPORTED_LAYER', `layer ${ctx.name} (${className}): ${what}`, { subject: ctx.name });
}

const pair = (v: unknown, fallback: [number, number]): [number, number] => {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0], a[1]];
};

/** Keras activation names whose tfjs implementation is the same function. */
const ACTIVATIONS: Readonly<Record<string, string>> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
  tanh: 'tanh',
  elu: 'elu',
  selu: 'selu',
  softplus: 'softplus',
  softsign: 'softsign',
  swish: 'swish',
  silu: 'swish',
};

function activationOf(value: unknown, ctx: MapContext, className: string): string {
  // Keras 3 may serialise an activation as {class_name: 'function', config: 'relu'}.
  const name = typeof value === 'string' ? value : value === undefined || value === null ? 'linear' : ((value as { config?: unknown }).config as string);
  const mapped = ACTIVATIONS[name];
  if (!mapped) unsupported(ctx, className, `activation '${String(name)}' is not one edgeseg computes like Keras (${Object.keys(ACTIVATIONS).join(', ')})`);
  return mapped as string;
}

function channelsLast(c: Record<string, unknown>, ctx: MapContext, className: string): void {
  if (c.data_format !== undefined && c.data_format !== null && c.data_format !== 'channels_last') {
    unsupported(ctx, className, `data_format '${String(c.data_format)}' (edgeseg runs channels_last)`);
  }
}

function padding(c: Record<string, unknown>, ctx: MapContext, className: string): 'same' | 'valid' {
  const p = c.padding ?? 'valid';
  if (p !== 'same' && p !== 'valid') unsupported(ctx, className, `padding '${String(p)}'`);
  return p as 'same' | 'valid';
}

function plainDilation(c: Record<string, unknown>, ctx: MapContext, className: string): void {
  const d = pair(c.dilation_rate, [1, 1]);
  if (d[0] !== 1 || d[1] !== 1) unsupported(ctx, className, `dilation_rate [${d}] (tfjs runs it only for some backends)`);
}

const conv2d: Mapper = (c, ctx) => {
  channelsLast(c, ctx, 'Conv2D');
  if ((c.groups ?? 1) !== 1) unsupported(ctx, 'Conv2D', `groups=${String(c.groups)} (grouped convolution)`);
  const useBias = c.use_bias !== false;
  return {
    kind: 'layer',
    layer: tfl.layers.conv2d({
      name: ctx.name,
      filters: c.filters as number,
      kernelSize: pair(c.kernel_size, [1, 1]),
      strides: pair(c.strides, [1, 1]),
      padding: padding(c, ctx, 'Conv2D'),
      dilationRate: pair(c.dilation_rate, [1, 1]),
      activation: activationOf(c.activation, ctx, 'Conv2D') as 'linear',
      useBias,
    }),
    vars: useBias ? ['kernel', 'bias'] : ['kernel'],
  };
};

const depthwiseConv2d: Mapper = (c, ctx) => {
  channelsLast(c, ctx, 'DepthwiseConv2D');
  const useBias = c.use_bias !== false;
  return {
    kind: 'layer',
    layer: tfl.layers.depthwiseConv2d({
      name: ctx.name,
      kernelSize: pair(c.kernel_size, [1, 1]),
      strides: pair(c.strides, [1, 1]),
      padding: padding(c, ctx, 'DepthwiseConv2D'),
      depthMultiplier: (c.depth_multiplier as number | undefined) ?? 1,
      dilationRate: pair(c.dilation_rate, [1, 1]),
      activation: activationOf(c.activation, ctx, 'DepthwiseConv2D') as 'linear',
      useBias,
    }),
    vars: useBias ? ['depthwise_kernel', 'bias'] : ['depthwise_kernel'],
  };
};

const separableConv2d: Mapper = (c, ctx) => {
  channelsLast(c, ctx, 'SeparableConv2D');
  plainDilation(c, ctx, 'SeparableConv2D');
  const useBias = c.use_bias !== false;
  return {
    kind: 'layer',
    layer: tfl.layers.separableConv2d({
      name: ctx.name,
      filters: c.filters as number,
      kernelSize: pair(c.kernel_size, [1, 1]),
      strides: pair(c.strides, [1, 1]),
      padding: padding(c, ctx, 'SeparableConv2D'),
      depthMultiplier: (c.depth_multiplier as number | undefined) ?? 1,
      activation: activationOf(c.activation, ctx, 'SeparableConv2D') as 'linear',
      useBias,
    }),
    vars: useBias ? ['depthwise_kernel', 'pointwise_kernel', 'bias'] : ['depthwise_kernel', 'pointwise_kernel'],
  };
};

const conv2dTranspose: Mapper = (c, ctx) => {
  channelsLast(c, ctx, 'Conv2DTranspose');
  plainDilation(c, ctx, 'Conv2DTranspose');
  if (c.output_padding !== undefined && c.output_padding !== null) unsupported(ctx, 'Conv2DTranspose', `output_padding ${JSON.stringify(c.output_padding)}`);
  const useBias = c.use_bias !== false;
  return {
    kind: 'layer',
    layer: tfl.layers.conv2dTranspose({
      name: ctx.name,
      filters: c.filters as number,
      kernelSize: pair(c.kernel_size, [1, 1]),
      strides: pair(c.strides, [1, 1]),
      padding: padding(c, ctx, 'Conv2DTranspose'),
      activation: activationOf(c.activation, ctx, 'Conv2DTranspose') as 'linear',
      useBias,
    }),
    vars: useBias ? ['kernel', 'bias'] : ['kernel'],
  };
};

const batchNormalization: Mapper = (c, ctx) => {
  const axis = (Array.isArray(c.axis) ? (c.axis as number[])[0] : (c.axis as number | undefined)) ?? -1;
  if (axis !== -1 && axis !== 3) unsupported(ctx, 'BatchNormalization', `axis ${axis} (only the channel axis, -1)`);
  if (c.renorm) unsupported(ctx, 'BatchNormalization', 'batch renormalization');
  const center = c.center !== false;
  const scale = c.scale !== false;
  return {
    kind: 'layer',
    layer: tfl.layers.batchNormalization({ name: ctx.name, axis: -1, momentum: (c.momentum as number) ?? 0.99, epsilon: (c.epsilon as number) ?? 1e-3, center, scale }),
    vars: [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : []), 'moving_mean', 'moving_variance'],
  };
};

const relu: Mapper = (c, ctx) => {
  const max = c.max_value as number | null | undefined;
  const slope = (c.negative_slope as number | undefined) ?? 0;
  if (((c.threshold as number | undefined) ?? 0) !== 0) unsupported(ctx, 'ReLU', `threshold ${String(c.threshold)}`);
  if (slope !== 0) {
    if (max !== null && max !== undefined) unsupported(ctx, 'ReLU', `negative_slope with max_value`);
    return { kind: 'layer', layer: tfl.layers.leakyReLU({ name: ctx.name, alpha: slope }), vars: [] };
  }
  return { kind: 'layer', layer: tfl.layers.reLU({ name: ctx.name, ...(max !== null && max !== undefined ? { maxValue: max } : {}) }), vars: [] };
};

/** Keras 3 names the slope `negative_slope`, Keras 2 `alpha` (default 0.3 in both). */
const leakyRelu: Mapper = (c, ctx) => ({
  kind: 'layer',
  layer: tfl.layers.leakyReLU({ name: ctx.name, alpha: (c.negative_slope as number | undefined) ?? (c.alpha as number | undefined) ?? 0.3 }),
  vars: [],
});

const activation: Mapper = (c, ctx) => ({
  kind: 'layer',
  layer: tfl.layers.activation({ name: ctx.name, activation: activationOf(c.activation, ctx, 'Activation') as 'linear' }),
  vars: [],
});

const add: Mapper = (_c, ctx) => ({ kind: 'layer', layer: tfl.layers.add({ name: ctx.name }), vars: [] });

const concatenate: Mapper = (c, ctx) => {
  const axis = (c.axis as number | undefined) ?? -1;
  if (axis !== -1 && axis !== 3) unsupported(ctx, 'Concatenate', `axis ${axis} (only the channel axis, -1)`);
  return { kind: 'layer', layer: tfl.layers.concatenate({ name: ctx.name, axis: -1 }), vars: [] };
};

const zeroPadding2d: Mapper = (c, ctx) => {
  channelsLast(c, ctx, 'ZeroPadding2D');
  const p = c.padding ?? 1;
  const sides: [[number, number], [number, number]] =
    typeof p === 'number'
      ? [[p, p], [p, p]]
      : typeof (p as unknown[])[0] === 'number'
        ? [[(p as number[])[0], (p as number[])[0]], [(p as number[])[1], (p as number[])[1]]]
        : [pair((p as unknown[])[0], [0, 0]), pair((p as unknown[])[1], [0, 0])];
  return { kind: 'layer', layer: tfl.layers.zeroPadding2d({ name: ctx.name, padding: sides }), vars: [] };
};

const maxPooling2d: Mapper = (c, ctx) => {
  channelsLast(c, ctx, 'MaxPooling2D');
  const pool = pair(c.pool_size, [2, 2]);
  return {
    kind: 'layer',
    layer: tfl.layers.maxPooling2d({ name: ctx.name, poolSize: pool, strides: pair(c.strides, pool), padding: padding(c, ctx, 'MaxPooling2D') }),
    vars: [],
  };
};

const NEAREST_ONLY =
  "tfjs resizes bilinearly with other pixel centres than Keras, so only 'nearest' interpolation is imported exactly";

const upSampling2d: Mapper = (c, ctx) => {
  channelsLast(c, ctx, 'UpSampling2D');
  if ((c.interpolation ?? 'nearest') !== 'nearest') unsupported(ctx, 'UpSampling2D', `interpolation '${String(c.interpolation)}': ${NEAREST_ONLY}`);
  return { kind: 'layer', layer: tfl.layers.upSampling2d({ name: ctx.name, size: pair(c.size, [2, 2]) }), vars: [] };
};

const resizing: Mapper = (c, ctx) => {
  const [, h, w] = ctx.inputShapes[0];
  const [th, tw] = [c.height as number, c.width as number];
  if (c.crop_to_aspect_ratio || c.pad_to_aspect_ratio) unsupported(ctx, 'Resizing', 'crop or pad to aspect ratio');
  if (h === th && w === tw) return { kind: 'identity' };
  if ((c.interpolation ?? 'bilinear') !== 'nearest') unsupported(ctx, 'Resizing', `interpolation '${String(c.interpolation ?? 'bilinear')}' from ${h}×${w} to ${th}×${tw}: ${NEAREST_ONLY}`);
  if (!h || !w || th % h !== 0 || tw % w !== 0) unsupported(ctx, 'Resizing', `from ${h}×${w} to ${th}×${tw}: only an upscale by a whole factor is imported`);
  return { kind: 'layer', layer: tfl.layers.upSampling2d({ name: ctx.name, size: [th / h, tw / w] }), vars: [] };
};

const dropout: Mapper = (c, ctx) => ({ kind: 'layer', layer: tfl.layers.dropout({ name: ctx.name, rate: (c.rate as number) ?? 0.5 }), vars: [] });

/** x × scale + offset as a 1×1 depthwise convolution (per-channel kernel = scale, bias = offset): the same float operations. */
const rescaling: Mapper = (c, ctx) => {
  const channels = ctx.inputShapes[0].at(-1);
  if (typeof channels !== 'number') unsupported(ctx, 'Rescaling', 'an input with an unknown number of channels');
  const perChannel = (v: unknown, fallback: number) => {
    const a = v === undefined || v === null ? [fallback] : typeof v === 'number' ? [v] : (v as number[]);
    if (a.length !== 1 && a.length !== channels) unsupported(ctx, 'Rescaling', `${a.length} values for ${channels} channels`);
    return Array.from({ length: channels }, (_, i) => a[a.length === 1 ? 0 : i]);
  };
  const scale = perChannel(c.scale, 1);
  const offset = perChannel(c.offset, 0);
  return {
    kind: 'layer',
    layer: tfl.layers.depthwiseConv2d({ name: ctx.name, kernelSize: 1, useBias: true }),
    vars: [],
    weights: [tf.tensor4d(scale, [1, 1, channels, 1]), tf.tensor1d(offset)],
  };
};

/** Mappers by Keras class name: what `edgeseg import` reads. */
export const KERAS_LAYERS: Readonly<Record<string, Mapper>> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Conv2DTranspose: conv2dTranspose,
  BatchNormalization: batchNormalization,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  Activation: activation,
  Add: add,
  Concatenate: concatenate,
  ZeroPadding2D: zeroPadding2d,
  MaxPooling2D: maxPooling2d,
  UpSampling2D: upSampling2d,
  Resizing: resizing,
  Dropout: dropout,
  Rescaling: rescaling,
};

/**
 * Other names a stored variable goes by: Keras 3 calls a DepthwiseConv2D's kernel `kernel`, Keras
 * 2 and tfjs `depthwise_kernel`.
 */
export const VARIABLE_ALIASES: Readonly<Record<string, readonly string[]>> = {
  depthwise_kernel: ['kernel'],
};

/** Maps one Keras layer, refusing an unknown class by name. */
export function mapKerasLayer(className: string, config: Record<string, unknown>, ctx: MapContext): MappedLayer {
  const mapper = KERAS_LAYERS[className];
  if (!mapper) {
    throw new ImportError('IMPORT_UNSUPPORTED_LAYER', `layer ${ctx.name} is a ${className}, which edgeseg does not import (it reads ${Object.keys(KERAS_LAYERS).join(', ')})`, { subject: ctx.name });
  }
  return mapper(config, ctx);
}
