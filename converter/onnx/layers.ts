/**
 * One ONNX emitter per Keras layer class, in one registry. Tensors inside the graph are NCHW
 * (ONNX's layout); kernels are transposed from tfjs' channels-last layouts here, and padding is
 * made explicit so that 'same' pads exactly as tfjs does (the extra row/column after, not before).
 */
import { ModelFormatError } from '../../core/index.js';
import type { LayerJson } from '../graph.js';
import type { Attr, OnnxGraphBuilder } from './builder.js';
import type { ActivationQuant, WeightWriter } from './weights.js';

/** A tensor of the graph: its name and NCHW size (batch free). */
export interface OnnxTensor {
  name: string;
  c: number;
  h: number;
  w: number;
}

export interface EmitContext {
  b: OnnxGraphBuilder;
  weights: WeightWriter;
  layer: LayerJson;
  inputs: OnnxTensor[];
  /** Name the layer's output must be written to. */
  out: string;
  /** A stored weight of this layer (`kernel`, `bias`, …). */
  param(name: string): { values: Float32Array; shape: number[] };
  hasParam(name: string): boolean;
  /** Quantization of an input tensor (int8 export only). */
  quantOf(tensor: string): ActivationQuant | undefined;
}

export type LayerEmitter = (ctx: EmitContext) => OnnxTensor;

const pair = (v: unknown, name: string, layer: string): [number, number] => {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return v as [number, number];
  throw new ModelFormatError('MODEL_MALFORMED', `layer ${layer}: ${name} ${JSON.stringify(v)} is not a pair of integers`);
};

function unsupported(layer: LayerJson, what: string): never {
  throw new ModelFormatError('MODEL_MALFORMED', `ONNX export: layer ${layer.name} (${layer.class_name}) has ${what}, which the exporter does not support`);
}

function checkChannelsLast(layer: LayerJson): void {
  const f = layer.config.data_format;
  if (f !== undefined && f !== null && f !== 'channels_last') unsupported(layer, `data_format ${String(f)}`);
}

/** tfjs 'same'/'valid' padding of a sliding window along one axis: output size and [before, after]. */
export function windowPadding(size: number, kernel: number, stride: number, dilation: number, padding: string): { out: number; before: number; after: number } {
  const extent = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.ceil((size - extent + 1) / stride), before: 0, after: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + extent - size, 0);
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

const isLinear = (kind: unknown) => kind === undefined || kind === null || kind === 'linear';

/** Where a convolution writes its result: straight to `out` unless an activation follows. */
function preActivation(ctx: EmitContext): string {
  return isLinear(ctx.layer.config.activation) ? ctx.out : `${ctx.out}/preact`;
}

/** Appends the fused activation of a convolution (`relu`, `relu6`, `linear`), writing `out`. */
function activation(ctx: EmitContext, kind: unknown, from: string): string {
  const { b, out, layer } = ctx;
  if (isLinear(kind)) return from === out ? out : b.node('Identity', [from], [out]);
  if (kind === 'relu') return b.node('Relu', [from], [out]);
  if (kind === 'relu6') return clip(b, from, out, 6);
  return unsupported(layer, `activation '${String(kind)}'`);
}

function clip(b: OnnxGraphBuilder, from: string, out: string, max: number): string {
  const lo = b.floats(`${out}/clip_min`, [], [0]);
  const hi = b.floats(`${out}/clip_max`, [], [max]);
  return b.node('Clip', [from, lo, hi], [out]);
}

/** Row-major permutation of a tensor's values: `perm[i]` is the source axis of output axis i. */
export function permute(values: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]);
  const srcStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const strides = perm.map((p) => srcStrides[p]);
  const out = new Float32Array(values.length);
  const idx = new Array(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d] * strides[d];
    out[o] = values[src];
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Kernel, stride and dilation of a convolution layer's config, as (height, width) pairs. */
function windowOf(layer: EmitContext['layer']) {
  const cfg = layer.config;
  const [kh, kw] = pair(cfg.kernel_size, 'kernel_size', layer.name);
  const [sh, sw] = pair(cfg.strides ?? 1, 'strides', layer.name);
  const [dh, dw] = pair(cfg.dilation_rate ?? 1, 'dilation_rate', layer.name);
  return { kh, kw, sh, sw, dh, dw };
}

/** The window of a 'same' or 'valid' convolution over input `x`, with its ONNX pads per axis. */
function convWindow(layer: EmitContext['layer'], x: OnnxTensor) {
  const w = windowOf(layer);
  const padding = String(layer.config.padding ?? 'valid');
  if (padding !== 'same' && padding !== 'valid') unsupported(layer, `padding '${padding}'`);
  return { ...w, ph: windowPadding(x.h, w.kh, w.sh, w.dh, padding), pw: windowPadding(x.w, w.kw, w.sw, w.dw, padding) };
}

function convLike(ctx: EmitContext, kind: 'Conv2D' | 'DepthwiseConv2D'): OnnxTensor {
  const { layer, inputs, weights } = ctx;
  checkChannelsLast(layer);
  const [x] = inputs;
  const cfg = layer.config;
  const { kh, kw, sh, sw, dh, dw, ph, pw } = convWindow(layer, x);
  let w: Float32Array;
  let dims: number[];
  let group = 1;
  let outChannels: number;
  if (kind === 'Conv2D') {
    const k = ctx.param('kernel');
    const [, , inPerGroup, out] = k.shape;
    group = x.c / inPerGroup;
    if (!Number.isInteger(group)) unsupported(layer, `${inPerGroup} kernel input channels for ${x.c} input channels`);
    w = permute(k.values, k.shape, [3, 2, 0, 1]);
    dims = [out, inPerGroup, kh, kw];
    outChannels = out;
  } else {
    const k = ctx.param('depthwise_kernel');
    const [, , inC, mult] = k.shape;
    // [kh, kw, in, mult] → [in, mult, kh, kw] = [in·mult, 1, kh, kw]: output channel c·mult + m.
    w = permute(k.values, k.shape, [2, 3, 0, 1]);
    dims = [inC * mult, 1, kh, kw];
    group = inC;
    outChannels = inC * mult;
  }
  const wName = weights.weight(`${layer.name}/W`, dims, w, 0);
  const inputsOfConv = [x.name, wName];
  if (cfg.use_bias) inputsOfConv.push(weights.bias(`${layer.name}/B`, ctx.param('bias').values, ctx.quantOf(x.name), wName));
  const conv = ctx.b.node('Conv', inputsOfConv, [preActivation(ctx)], {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [sh, sw] },
    dilations: { ints: [dh, dw] },
    pads: { ints: [ph.before, pw.before, ph.after, pw.after] },
    group: { i: group },
  });
  activation(ctx, cfg.activation, conv);
  return { name: ctx.out, c: outChannels, h: ph.out, w: pw.out };
}

const conv2dTranspose: LayerEmitter = (ctx) => {
  const { layer, inputs, weights } = ctx;
  checkChannelsLast(layer);
  const [x] = inputs;
  const cfg = layer.config;
  const { kh, kw, sh, sw, dh, dw } = windowOf(layer);
  if (dh !== 1 || dw !== 1) unsupported(layer, 'dilation');
  const padding = String(cfg.padding ?? 'valid');
  if (padding !== 'same' && padding !== 'valid') unsupported(layer, `padding '${padding}'`);
  // tfjs' output size (deconvLength), then the crop that makes the full transposed result that
  // size: the pads of the forward 'same' convolution it is the gradient of, extra after.
  const axis = (size: number, k: number, s: number) => {
    const out = padding === 'same' ? size * s : size * s + Math.max(k - s, 0);
    const full = (size - 1) * s + k;
    const crop = padding === 'same' ? Math.max(full - out, 0) : 0;
    const before = Math.floor(crop / 2);
    return { out, before, after: crop - before, extra: out - (full - crop) };
  };
  const ah = axis(x.h, kh, sh);
  const aw = axis(x.w, kw, sw);
  const k = ctx.param('kernel');
  const [, , out, inC] = k.shape;
  // [kh, kw, out, in] → ONNX ConvTranspose [in, out, kh, kw]; output channels on axis 1.
  const wName = weights.weight(`${layer.name}/W`, [inC, out, kh, kw], permute(k.values, k.shape, [3, 2, 0, 1]), 1);
  const ins = [x.name, wName];
  if (cfg.use_bias) ins.push(weights.bias(`${layer.name}/B`, ctx.param('bias').values, ctx.quantOf(x.name), wName));
  const y = ctx.b.node('ConvTranspose', ins, [preActivation(ctx)], {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [sh, sw] },
    pads: { ints: [ah.before, aw.before, ah.after, aw.after] },
    output_padding: { ints: [ah.extra, aw.extra] },
  });
  activation(ctx, cfg.activation, y);
  return { name: ctx.out, c: out, h: ah.out, w: aw.out };
};

const batchNormalization: LayerEmitter = (ctx) => {
  const { layer, inputs, b } = ctx;
  const [x] = inputs;
  const axis = layer.config.axis;
  if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3)))) unsupported(layer, `axis ${JSON.stringify(axis)}`);
  const param = (name: string, fallback: number) => (ctx.hasParam(name) ? ctx.param(name).values : new Float32Array(x.c).fill(fallback));
  const ins = [
    ['gamma', 1],
    ['beta', 0],
    ['moving_mean', 0],
    ['moving_variance', 1],
  ].map(([n, fallback]) => b.floats(`${layer.name}/${n}`, [x.c], param(n as string, fallback as number)));
  b.node('BatchNormalization', [x.name, ...ins], [ctx.out], { epsilon: { f: layer.config.epsilon as number } });
  return { ...x, name: ctx.out };
};

const relu: LayerEmitter = (ctx) => {
  const { layer, inputs, b } = ctx;
  const [x] = inputs;
  const cfg = layer.config as { max_value?: number | null; negative_slope?: number; threshold?: number };
  if ((cfg.threshold ?? 0) !== 0) unsupported(layer, 'a threshold');
  if ((cfg.negative_slope ?? 0) !== 0) {
    if (cfg.max_value !== null && cfg.max_value !== undefined) unsupported(layer, 'both a negative slope and a maximum');
    b.node('LeakyRelu', [x.name], [ctx.out], { alpha: { f: cfg.negative_slope! } });
  } else if (cfg.max_value === null || cfg.max_value === undefined) {
    b.node('Relu', [x.name], [ctx.out]);
  } else {
    clip(b, x.name, ctx.out, cfg.max_value);
  }
  return { ...x, name: ctx.out };
};

const leakyRelu: LayerEmitter = (ctx) => {
  const [x] = ctx.inputs;
  ctx.b.node('LeakyRelu', [x.name], [ctx.out], { alpha: { f: (ctx.layer.config.alpha as number | undefined) ?? 0.3 } });
  return { ...x, name: ctx.out };
};

const activationLayer: LayerEmitter = (ctx) => {
  activation(ctx, ctx.layer.config.activation, ctx.inputs[0].name);
  return { ...ctx.inputs[0], name: ctx.out };
};

const maxPooling2d: LayerEmitter = (ctx) => {
  const { layer, inputs } = ctx;
  checkChannelsLast(layer);
  const [x] = inputs;
  const [kh, kw] = pair(layer.config.pool_size, 'pool_size', layer.name);
  const [sh, sw] = pair(layer.config.strides ?? layer.config.pool_size, 'strides', layer.name);
  const padding = String(layer.config.padding ?? 'valid');
  if (padding !== 'same' && padding !== 'valid') unsupported(layer, `padding '${padding}'`);
  const ph = windowPadding(x.h, kh, sh, 1, padding);
  const pw = windowPadding(x.w, kw, sw, 1, padding);
  const attrs: Record<string, Attr> = { kernel_shape: { ints: [kh, kw] }, strides: { ints: [sh, sw] }, pads: { ints: [ph.before, pw.before, ph.after, pw.after] } };
  ctx.b.node('MaxPool', [x.name], [ctx.out], attrs);
  return { name: ctx.out, c: x.c, h: ph.out, w: pw.out };
};

/** NHWC axis → NCHW axis. */
const NCHW_AXIS = [0, 2, 3, 1];

const concatenate: LayerEmitter = (ctx) => {
  const { layer, inputs } = ctx;
  const a = (layer.config.axis as number | undefined) ?? -1;
  const axis = NCHW_AXIS[a < 0 ? a + 4 : a];
  if (axis !== 1) unsupported(layer, `concatenation on axis ${a} (only channels are supported)`);
  ctx.b.node('Concat', inputs.map((t) => t.name), [ctx.out], { axis: { i: axis } });
  return { name: ctx.out, c: inputs.reduce((n, t) => n + t.c, 0), h: inputs[0].h, w: inputs[0].w };
};

const add: LayerEmitter = (ctx) => {
  const { inputs } = ctx;
  ctx.b.node(inputs.length === 2 ? 'Add' : 'Sum', inputs.map((t) => t.name), [ctx.out]);
  return { ...inputs[0], name: ctx.out };
};

/** A depthwise convolution (kernel only) followed by a 1×1 pointwise one carrying the bias, as Keras computes it. */
const separableConv2d: LayerEmitter = (ctx) => {
  const { layer, inputs, weights, b } = ctx;
  checkChannelsLast(layer);
  const [x] = inputs;
  const cfg = layer.config;
  const { kh, kw, sh, sw, dh, dw, ph, pw } = convWindow(layer, x);
  const dk = ctx.param('depthwise_kernel');
  const [, , inC, mult] = dk.shape;
  const dwName = weights.weight(`${layer.name}/DW`, [inC * mult, 1, kh, kw], permute(dk.values, dk.shape, [2, 3, 0, 1]), 0);
  const mid = b.node('Conv', [x.name, dwName], [`${ctx.out}/depthwise`], {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [sh, sw] },
    dilations: { ints: [dh, dw] },
    pads: { ints: [ph.before, pw.before, ph.after, pw.after] },
    group: { i: inC },
  });
  const pk = ctx.param('pointwise_kernel');
  const out = pk.shape[3];
  const pwName = weights.weight(`${layer.name}/PW`, [out, inC * mult, 1, 1], permute(pk.values, pk.shape, [3, 2, 0, 1]), 0);
  const ins = [mid, pwName];
  // The depthwise result is not a calibrated activation, so an int8 export keeps this bias float.
  if (cfg.use_bias) ins.push(weights.bias(`${layer.name}/B`, ctx.param('bias').values, undefined, pwName));
  const y = b.node('Conv', ins, [preActivation(ctx)], { kernel_shape: { ints: [1, 1] } });
  activation(ctx, cfg.activation, y);
  return { name: ctx.out, c: out, h: ph.out, w: pw.out };
};

const zeroPadding2d: LayerEmitter = (ctx) => {
  const { layer, inputs, b } = ctx;
  checkChannelsLast(layer);
  const [x] = inputs;
  const p = layer.config.padding as number | [number, number] | [[number, number], [number, number]];
  const sides: [[number, number], [number, number]] =
    typeof p === 'number' ? [[p, p], [p, p]] : typeof p[0] === 'number' ? [[p[0], p[0]], [p[1] as number, p[1] as number]] : (p as [[number, number], [number, number]]);
  const [[top, bottom], [left, right]] = sides;
  const pads = b.initializer(`${ctx.out}/pads`, 'int64', [8], BigInt64Array.from([0, 0, top, left, 0, 0, bottom, right], (v) => BigInt(v)));
  b.node('Pad', [x.name, pads], [ctx.out]);
  return { name: ctx.out, c: x.c, h: x.h + top + bottom, w: x.w + left + right };
};

/**
 * Nearest upsampling by a whole factor s as s² copies of the input side by side on the channel
 * axis, rearranged by DepthToSpace (DCR order puts copy i·s + j at offset (i, j) of each block):
 * exact, and free of Resize's coordinate-mode attributes.
 */
const upSampling2d: LayerEmitter = (ctx) => {
  const { layer, inputs, b } = ctx;
  checkChannelsLast(layer);
  const [x] = inputs;
  const [sh, sw] = pair(layer.config.size ?? 2, 'size', layer.name);
  if ((layer.config.interpolation ?? 'nearest') !== 'nearest') unsupported(layer, `interpolation '${String(layer.config.interpolation)}'`);
  if (sh !== sw) unsupported(layer, `size [${sh}, ${sw}] (only equal factors)`);
  const copies = b.node('Concat', Array.from({ length: sh * sw }, () => x.name), [`${ctx.out}/copies`], { axis: { i: 1 } });
  b.node('DepthToSpace', [copies], [ctx.out], { blocksize: { i: sh } });
  return { name: ctx.out, c: x.c, h: x.h * sh, w: x.w * sw };
};

/** Emitters by Keras class name. */
export const LAYER_EMITTERS: Readonly<Record<string, LayerEmitter>> = {
  Conv2D: (ctx) => convLike(ctx, 'Conv2D'),
  DepthwiseConv2D: (ctx) => convLike(ctx, 'DepthwiseConv2D'),
  Conv2DTranspose: conv2dTranspose,
  BatchNormalization: batchNormalization,
  ReLU: relu,
  Activation: activationLayer,
  MaxPooling2D: maxPooling2d,
  Concatenate: concatenate,
  Add: add,
  SeparableConv2D: separableConv2d,
  ZeroPadding2D: zeroPadding2d,
  UpSampling2D: upSampling2d,
  LeakyReLU: leakyRelu,
};
