/**
 * The wasm trainer's dense convolutions — forward (Conv2D, FusedConv2D), input gradient
 * (Conv2DBackpropInput, also every Conv2DTranspose layer's forward pass) and filter gradient
 * (Conv2DBackpropFilter) — run as small onnxruntime graphs (ort_graph.ts), every float32 NHWC
 * layer with a linear, ReLU or ReLU6 activation; anything else goes to the kernel registered
 * before (XNNPACK's, or edgeseg's wasm kernels).
 *
 * All tensors are tfjs' NHWC, filters [fh, fw, ci, co] (HWIO); ONNX's Conv is NCHW with
 * [co, ci, fh, fw] filters. Each kernel picks the form that moves the fewest bytes:
 *
 * - **forward**: y = act(conv(x, W) + b), act ∈ {linear, relu, relu6}.
 *   - 1×1 stride 1: one Gemm on the NHWC bytes as they are, y[M, co] = x[M, ci]·W[ci, co] + b,
 *     M = N·H·W.
 *   - weight-heavy (the filter larger than the im2col columns, as in unet-mobilenetv2's 8×8 and
 *     4×4 stages): y[M, co] = act(cols[M, fh·fw·ci]·W[fh·fw·ci, co] + b), the columns being the
 *     padded input's strided taps concatenated on channels, in the filter's own (i, j, c) row
 *     order. Transposing a 1–10 MB filter on every call cost most of such a call.
 *   - otherwise: Conv between NHWC↔NCHW transposes.
 * - **input gradient**:
 *   - 1×1 stride 1: dx[M, ci] = dy[M, co]·W[ci, co]ᵀ.
 *   - weight-heavy: cols = dy[M, co]·Wᵀ, reordered to [n, ci·fh·fw, OH·OW] and summed onto the
 *     input's pixels by Col2Im (opset 18), then NHWC.
 *   - stride 1: a forward Conv of dy with the filter flipped in both spatial axes and its channel
 *     axes swapped, padded fh − 1 − top (and so on); see flippedInputGradient.
 *   - otherwise: ConvTranspose(dy, W) with the forward conv's strides and pads, and
 *     output_padding = inH − (s·(OH−1) + fh − padTop − padBottom) (the rows the forward conv's
 *     stride left uncovered).
 * - **filter gradient**: dW[i, j, :, :] = Σₙ,ᵧ,ₓ x_pad[n, y·s + i, x·s + j, :]ᵀ dy[n, y, x, :]; the
 *   taps' [ci, co] blocks stacked row-wise are the HWIO filter's own bytes.
 *   - 1×1 stride 1: dW[ci, co] = x[M, ci]ᵀ·dy[M, co].
 *   - stride 1: one Gemm (transA) per tap on a shifted window of one padded copy of the input
 *     (see shiftedFilterGradient).
 *   - otherwise: one Gemm (transA) per tap over the strided Slice of the padded input.
 *
 * Measured on this 2-core AVX-512 machine, batch 8 at 128², one thread (the layers' kernel
 * times in a profiled training step): unet-small's 16 → 16 layers run the forward pass and the
 * input gradient in 7.8 ms where the wasm kernels took 15; its 3 → 16 first layer's filter
 * gradient 4 ms against 41, the 16 → 3 classifier's 1.2 against 9.6; the 128² 32 → 16 layer's input
 * gradient 12 ms as a flipped Conv against 39 as ConvTranspose; its filter gradients 97 ms in all
 * as shifted GEMMs against 114–145 with a Slice per tap. unet-mobilenetv2 at replica batch 4: 247 →
 * 204 ms per step once its weight-heavy layers stopped transposing their filters.
 */
import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  getKernel,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type FusedConv2DAttrs,
  type KernelBackend,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { overridingKernel, type OverridingKernel } from '../backend_fallback.js';
import { ortGraphsAvailable, runOrtGraph, type GraphAttr, type GraphSpec } from './ort_graph.js';


const NCHW = [0, 3, 1, 2];
const NHWC = [0, 2, 3, 1];
/** [fh, fw, ci, co] → ONNX's [co, ci, fh, fw]. */
const OIHW = [3, 2, 0, 1];

type Activation = 'linear' | 'relu' | 'relu6';
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const float32 = (...ts: (TensorInfo | undefined)[]) => ts.every((t) => t === undefined || t.dtype === 'float32');

/** The node that applies the activation to `from`, writing `to`. */
function activate(act: Activation, from: string, to: string): GraphSpec['nodes'] {
  if (act === 'relu') return [{ op: 'Relu', inputs: [from], output: to }];
  if (act === 'relu6') return [{ op: 'Clip', inputs: [from, 'zero', 'six'], output: to }];
  return [{ op: 'Identity', inputs: [from], output: to }];
}

interface ConvGeometry {
  info: backend_util.Conv2DInfo;
  pads: [number, number, number, number];
  pointwise: boolean;
}

function geometry(info: backend_util.Conv2DInfo): ConvGeometry {
  const { top, left, bottom, right } = info.padInfo;
  const pointwise =
    info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 && top + left + bottom + right === 0 && info.dilationHeight === 1 && info.dilationWidth === 1;
  return { info, pads: [top, left, bottom, right], pointwise };
}

/**
 * Whether a layer's filter outweighs its activations: deep, narrow-map layers (unet-mobilenetv2's
 * 8×8 and 4×4 decoder stages hold 1–10 MB filters against a few hundred KB of activations at
 * replica batch 4). Their Conv/ConvTranspose graphs spent most of each call transposing the
 * filter to ONNX's [co, ci, fh, fw]; the GEMM forms below read the [fh, fw, ci, co] filter's bytes
 * as they are, a [fh·fw·ci, co] matrix, and move only activations.
 */
function weightHeavy(info: backend_util.Conv2DInfo): boolean {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return false;
  const taps = info.filterHeight * info.filterWidth;
  const filter = taps * info.inChannels * info.outChannels;
  const columns = info.batchSize * info.outHeight * info.outWidth * taps * info.inChannels;
  return filter > columns;
}

/** Nodes that cut the padded NHWC input `xp` into its fh·fw strided taps `t{i}_{j}`, each [n, outH, outW, ci] (constants added to `constants`). */
function tapSlices(info: backend_util.Conv2DInfo, constants: Record<string, number[]>): { nodes: GraphSpec['nodes']; taps: string[] } {
  const nodes: GraphSpec['nodes'] = [];
  const taps: string[] = [];
  const { strideHeight: sh, strideWidth: sw, batchSize: n, inChannels: ci } = info;
  constants.axes = [0, 1, 2, 3];
  constants.steps = [1, sh, sw, 1];
  for (let i = 0; i < info.filterHeight; i++) {
    for (let j = 0; j < info.filterWidth; j++) {
      constants[`s${i}_${j}`] = [0, i, j, 0];
      constants[`e${i}_${j}`] = [n, i + sh * (info.outHeight - 1) + 1, j + sw * (info.outWidth - 1) + 1, ci];
      nodes.push({ op: 'Slice', inputs: ['xp', `s${i}_${j}`, `e${i}_${j}`, 'axes', 'steps'], output: `t${i}_${j}` });
      taps.push(`t${i}_${j}`);
    }
  }
  return { nodes, taps };
}

/**
 * dx of a weight-heavy layer: the columns cols[M, fh·fw·ci] = dy[M, co]·W[fh·fw·ci, co]ᵀ (one
 * Gemm, the filter as it lies), reordered to [n, ci·fh·fw, outH·outW] and summed back onto the
 * input's pixels by ONNX's Col2Im (opset 18) with the forward conv's strides and pads, then NHWC.
 * Only activation-sized tensors are transposed.
 */
function convInputGradientGemm(backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], g: ConvGeometry): TensorInfo {
  const { info } = g;
  const [n, h, w, ci] = inputShape;
  const co = info.outChannels;
  const taps = info.filterHeight * info.filterWidth;
  const l = info.outHeight * info.outWidth;
  const m = n * l;
  const key = `dx-gemm ${dy.shape} ${filter.shape} ${inputShape} ${info.strideHeight},${info.strideWidth} ${g.pads}`;
  const graph = (): GraphSpec => ({
    inputs: { dy: [m, co], w: [taps * ci, co] },
    output: inputShape,
    constants: { blocks: [n, l, taps, ci], cols: [n, ci * taps, l], image: [h, w], block: [info.filterHeight, info.filterWidth] },
    nodes: [
      { op: 'Gemm', inputs: ['dy', 'w'], output: 'c', attrs: { transB: 1 } },
      { op: 'Reshape', inputs: ['c', 'blocks'], output: 'c4' },
      { op: 'Transpose', inputs: ['c4'], output: 'ct', attrs: { perm: [0, 3, 2, 1] } },
      { op: 'Reshape', inputs: ['ct', 'cols'], output: 'c3' },
      { op: 'Col2Im', inputs: ['c3', 'image', 'block'], output: 'dxt', attrs: { strides: [info.strideHeight, info.strideWidth], pads: g.pads } },
      { op: 'Transpose', inputs: ['dxt'], output: 'y', attrs: { perm: NHWC } },
    ],
  });
  return runOrtGraph(backend, key, graph, { dy: { t: dy, shape: [m, co] }, w: { t: filter, shape: [taps * ci, co] } }, inputShape);
}

/** y = act(conv(x, W) + b) in onnxruntime, or null when the layer stays on wasm. */
function convForward(backend: KernelBackend, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined, attrs: Conv2DAttrs, act: string): TensorInfo | null {
  if (attrs.dataFormat !== 'NHWC' || !float32(x, filter, bias) || (act !== 'linear' && act !== 'relu' && act !== 'relu6')) return null;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode);
  if (bias && size(bias.shape) !== info.outChannels) return null;
  const g = geometry(info);
  const ci = info.inChannels;
  const co = info.outChannels;
  const hasBias = bias !== undefined;
  // A 1×1 stride-1 filter is one Gemm on the NHWC bytes as they are, a weight-heavy one a Gemm on
  // the im2col columns, both with the filter as it lies; anything else a Conv between transposes.
  const asGemm = g.pointwise || weightHeavy(info);
  const k = info.filterHeight * info.filterWidth * ci;
  const m = info.batchSize * info.outHeight * info.outWidth;
  const key = `conv ${x.shape} ${filter.shape} ${info.strideHeight},${info.strideWidth} ${info.dilationHeight},${info.dilationWidth} ${g.pads} ${hasBias} ${act}`;
  const feeds: Record<string, { t: TensorInfo; shape: number[] }> = {
    x: { t: x, shape: g.pointwise ? [m, ci] : x.shape },
    w: { t: filter, shape: asGemm ? [k, co] : filter.shape },
  };
  if (bias) feeds.b = { t: bias, shape: [co] };
  // The graph is built on the layer's first call only; later calls find its session by key.
  const graph = (): GraphSpec => {
    const operands = (a: string, b: string) => (hasBias ? [a, b, 'b'] : [a, b]);
    const constants: Record<string, number[]> = {};
    const nodes: GraphSpec['nodes'] = [];
    if (asGemm && !g.pointwise) {
      // im2col: the padded input's strided taps concatenated on channels, in the filter's (i, j, c) row order.
      const [top, left, bottom, right] = g.pads;
      Object.assign(constants, { pads: [0, top, left, 0, 0, bottom, right, 0], rows: [m, k] });
      const cut = tapSlices(info, constants);
      nodes.push(
        { op: 'Pad', inputs: ['x', 'pads'], output: 'xp' },
        ...cut.nodes,
        { op: 'Concat', inputs: cut.taps, output: 'cols', attrs: { axis: 3 } },
        { op: 'Reshape', inputs: ['cols', 'rows'], output: 'a' },
      );
    }
    if (asGemm) {
      nodes.push({ op: 'Gemm', inputs: operands(g.pointwise ? 'x' : 'a', 'w'), output: 'g' }, ...activate(act, 'g', 'y'));
    } else {
      nodes.push(
        { op: 'Transpose', inputs: ['x'], output: 'xt', attrs: { perm: NCHW } },
        { op: 'Transpose', inputs: ['w'], output: 'wt', attrs: { perm: OIHW } },
        {
          op: 'Conv',
          inputs: operands('xt', 'wt'),
          output: 'c',
          attrs: { kernel_shape: [info.filterHeight, info.filterWidth], strides: [info.strideHeight, info.strideWidth], dilations: [info.dilationHeight, info.dilationWidth], pads: g.pads },
        },
        ...activate(act, 'c', 'a'),
        { op: 'Transpose', inputs: ['a'], output: 'y', attrs: { perm: NHWC } },
      );
    }
    const scalars: Record<string, number> = act === 'relu6' ? { zero: 0, six: 6 } : {};
    return { inputs: Object.fromEntries(Object.entries(feeds).map(([name, v]) => [name, v.shape])), output: asGemm ? [m, co] : info.outShape, constants, scalars, nodes };
  };
  return runOrtGraph(backend, key, graph, feeds, info.outShape);
}

/** One Gemm of two heap tensors read as matrices (the gradients of a 1×1 convolution), its [rows, cols] result read back as `outShape`. */
function gemm(backend: KernelBackend, key: string, a: { t: TensorInfo; shape: number[] }, b: { t: TensorInfo; shape: number[] }, attrs: Record<string, GraphAttr>, result: number[], outShape: number[]): TensorInfo {
  return runOrtGraph(backend, key, () => ({ inputs: { a: a.shape, b: b.shape }, output: result, nodes: [{ op: 'Gemm', inputs: ['a', 'b'], output: 'y', attrs }] }), { a, b }, outShape);
}

/**
 * dx of a stride-1 convolution as a forward convolution: dx = conv(dy, W'), W' being the filter
 * flipped in both spatial axes with its channel axes swapped (ONNX's [ci, co, fh, fw] read
 * backwards along fh and fw), padded by fh − 1 − top (and so on) on each side. MLAS tiles a Conv's
 * im2col through a small working buffer, where ConvTranspose forms all fh·fw·ci columns of
 * every pixel at once and folds them back (150 MB for unet-small's 128² 32 → 16 layer at batch
 * 8). Null when a pad exceeds fh − 1 (the flipped conv would need negative padding).
 */
function flippedInputGradient(backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], g: ConvGeometry): TensorInfo | null {
  const { info } = g;
  const fh = info.filterHeight;
  const fw = info.filterWidth;
  const [top, left, bottom, right] = g.pads;
  const pads = [fh - 1 - top, fw - 1 - left, fh - 1 - bottom, fw - 1 - right];
  if (pads.some((p) => p < 0)) return null;
  return runOrtGraph(
    backend,
    `dx-flipped ${dy.shape} ${filter.shape} ${inputShape} ${g.pads}`,
    (): GraphSpec => ({
      inputs: { dy: dy.shape, w: filter.shape },
      output: inputShape,
      constants: { starts: [fh - 1, fw - 1], ends: [-fh - 1, -fw - 1], axes: [2, 3], steps: [-1, -1] },
      nodes: [
        { op: 'Transpose', inputs: ['dy'], output: 'dyt', attrs: { perm: NCHW } },
        { op: 'Transpose', inputs: ['w'], output: 'wt', attrs: { perm: [2, 3, 0, 1] } },
        { op: 'Slice', inputs: ['wt', 'starts', 'ends', 'axes', 'steps'], output: 'wf' },
        { op: 'Conv', inputs: ['dyt', 'wf'], output: 'dxt', attrs: { kernel_shape: [fh, fw], strides: [1, 1], pads } },
        { op: 'Transpose', inputs: ['dxt'], output: 'y', attrs: { perm: NHWC } },
      ],
    }),
    { dy: { t: dy, shape: dy.shape }, w: { t: filter, shape: filter.shape } },
    inputShape,
  );
}

/** dx of a dense convolution in onnxruntime, or null when it stays on wasm. */
function convInputGradient(backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, attrs: Conv2DBackpropInputAttrs): TensorInfo | null {
  if (attrs.dataFormat !== 'NHWC' || !float32(dy, filter)) return null;
  const inputShape = [...attrs.inputShape] as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const ci = info.inChannels;
  const co = info.outChannels;
  const g = geometry(info);
  const key = `dx ${dy.shape} ${filter.shape} ${inputShape} ${info.strideHeight},${info.strideWidth} ${g.pads}`;
  if (g.pointwise) {
    const m = size(dy.shape) / co;
    return gemm(backend, key, { t: dy, shape: [m, co] }, { t: filter, shape: [ci, co] }, { transB: 1 }, [m, ci], inputShape);
  }
  if (weightHeavy(info)) return convInputGradientGemm(backend, dy, filter, inputShape, g);
  if (info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1) {
    const dx = flippedInputGradient(backend, dy, filter, inputShape, g);
    if (dx) return dx;
  }
  const [top, left, bottom, right] = g.pads;
  const outputPadding = [
    inputShape[1] - (info.strideHeight * (info.outHeight - 1) + info.filterHeight - top - bottom),
    inputShape[2] - (info.strideWidth * (info.outWidth - 1) + info.filterWidth - left - right),
  ];
  const strides = [info.strideHeight, info.strideWidth];
  if (outputPadding.some((p, k) => p < 0 || p >= strides[k])) return null;
  return runOrtGraph(
    backend,
    key,
    (): GraphSpec => ({
      inputs: { dy: dy.shape, w: filter.shape },
      output: inputShape,
      nodes: [
        { op: 'Transpose', inputs: ['dy'], output: 'dyt', attrs: { perm: NCHW } },
        { op: 'Transpose', inputs: ['w'], output: 'wt', attrs: { perm: OIHW } },
        { op: 'ConvTranspose', inputs: ['dyt', 'wt'], output: 'dxt', attrs: { kernel_shape: [info.filterHeight, info.filterWidth], strides, pads: g.pads, output_padding: outputPadding } },
        { op: 'Transpose', inputs: ['dxt'], output: 'y', attrs: { perm: NHWC } },
      ],
    }),
    { dy: { t: dy, shape: dy.shape }, w: { t: filter, shape: filter.shape } },
    inputShape,
  );
}

/**
 * dW of a stride-1 convolution with no tap copies ("shifted GEMMs"). The input is padded once to
 * xp[n, Hp, Wp, ci] and read as rows r = (b·Hp + y)·Wp + x; dy is padded with zeros to the same
 * [n, Hp, Wp] grid, dyp. Then for tap (i, j), row r of xp shifted by i·Wp + j rows is
 * xp[b, y + i, x + j] wherever dyp[r] is not padding, and rows where dyp is zero add nothing, so
 *
 *   dW[i, j] = xp[r + i·Wp + j]ᵀ · dyp[r]   (one Gemm, transA, over all R = n·Hp·Wp rows),
 *
 * whose A operand is a window of xp's own bytes at an offset: the nine taps are nine views of one
 * buffer, fed as nine graph inputs. The padded copy carries (fh − 1)·Wp + fw − 1 spare zero rows
 * at its end so the last window stays inside it. The input is copied once, not once per tap as
 * with a strided Slice per tap; unet-small's 128² layers are memory-bound there.
 */
function shiftedFilterGradient(backend: KernelBackend, x: TensorInfo, dy: TensorInfo, g: ConvGeometry, filterShape: [number, number, number, number]): TensorInfo {
  const { info } = g;
  const [fh, fw, ci, co] = filterShape;
  const [n] = x.shape;
  const [top, left, bottom, right] = g.pads;
  const hp = info.inHeight + top + bottom;
  const wp = info.inWidth + left + right;
  const rows = n * hp * wp;
  const spare = (fh - 1) * wp + fw - 1;
  const xp = runOrtGraph(
    backend,
    `dw-pad-x ${x.shape} ${g.pads} ${spare}`,
    () => ({
      inputs: { x: x.shape },
      output: [rows + spare, ci],
      constants: { pads: [0, top, left, 0, 0, bottom, right, 0], flat: [rows, ci], tail: [0, 0, spare, 0] },
      nodes: [
        { op: 'Pad', inputs: ['x', 'pads'], output: 'xp' },
        { op: 'Reshape', inputs: ['xp', 'flat'], output: 'xf' },
        { op: 'Pad', inputs: ['xf', 'tail'], output: 'y' },
      ],
    }),
    { x: { t: x, shape: x.shape } },
    [rows + spare, ci],
  );
  let dyp: TensorInfo | undefined;
  try {
    dyp = runOrtGraph(
      backend,
      `dw-pad-dy ${dy.shape} ${hp},${wp}`,
      () => ({
        inputs: { dy: dy.shape },
        output: [rows, co],
        constants: { pads: [0, 0, 0, 0, 0, hp - info.outHeight, wp - info.outWidth, 0], flat: [rows, co] },
        nodes: [
          { op: 'Pad', inputs: ['dy', 'pads'], output: 'p' },
          { op: 'Reshape', inputs: ['p', 'flat'], output: 'y' },
        ],
      }),
      { dy: { t: dy, shape: dy.shape } },
      [rows, co],
    );
    const feeds: Record<string, { t: TensorInfo; shape: number[]; offset?: number }> = { dy: { t: dyp, shape: [rows, co] } };
    for (let i = 0; i < fh; i++) for (let j = 0; j < fw; j++) feeds[`x${i}_${j}`] = { t: xp, shape: [rows, ci], offset: (i * wp + j) * ci };
    return runOrtGraph(
      backend,
      `dw-shifted ${x.shape} ${dy.shape} ${filterShape} ${g.pads}`,
      () => {
        const taps = Object.keys(feeds).filter((k) => k !== 'dy');
        return {
          inputs: Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.shape])),
          output: [fh * fw * ci, co],
          nodes: [
            ...taps.map((t) => ({ op: 'Gemm', inputs: [t, 'dy'], output: `g${t}`, attrs: { transA: 1 } })),
            { op: 'Concat', inputs: taps.map((t) => `g${t}`), output: 'y', attrs: { axis: 0 } },
          ],
        };
      },
      feeds,
      filterShape,
    );
  } finally {
    backend.disposeData(xp.dataId);
    if (dyp) backend.disposeData(dyp.dataId);
  }
}

/** dW of a dense convolution in onnxruntime, or null when it stays on wasm. */
function convFilterGradient(backend: KernelBackend, x: TensorInfo, dy: TensorInfo, attrs: Conv2DBackpropFilterAttrs): TensorInfo | null {
  if (attrs.dataFormat !== 'NHWC' || !float32(x, dy)) return null;
  const filterShape = [...attrs.filterShape] as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const [fh, fw, ci, co] = filterShape;
  const g = geometry(info);
  const m = info.batchSize * info.outHeight * info.outWidth;
  const key = `dw ${x.shape} ${dy.shape} ${filterShape} ${info.strideHeight},${info.strideWidth} ${g.pads}`;
  if (g.pointwise) return gemm(backend, key, { t: x, shape: [m, ci] }, { t: dy, shape: [m, co] }, { transA: 1 }, [ci, co], filterShape);
  if (info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1) return shiftedFilterGradient(backend, x, dy, g, filterShape);
  return runOrtGraph(
    backend,
    key,
    () => {
      const [top, left, bottom, right] = g.pads;
      const constants: Record<string, number[]> = { pads: [0, top, left, 0, 0, bottom, right, 0], rows: [m, ci] };
      const { nodes, taps } = tapSlices(info, constants);
      nodes.unshift({ op: 'Pad', inputs: ['x', 'pads'], output: 'xp' });
      for (const t of taps) {
        nodes.push({ op: 'Reshape', inputs: [t, 'rows'], output: `r${t}` }, { op: 'Gemm', inputs: [`r${t}`, 'dy'], output: `g${t}`, attrs: { transA: 1 } });
      }
      nodes.push({ op: 'Concat', inputs: taps.map((t) => `g${t}`), output: 'y', attrs: { axis: 0 } });
      return { inputs: { x: x.shape, dy: [m, co] }, output: [fh * fw * ci, co], constants, nodes };
    },
    { x: { t: x, shape: x.shape }, dy: { t: dy, shape: [m, co] } },
    filterShape,
  );
}

/** The four kernels; each passes the calls onnxruntime does not take to the kernel registered before it. */
const KERNELS: readonly OverridingKernel[] = [
  overridingKernel(Conv2D, ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
    return convForward(backend as KernelBackend, x, filter, undefined, attrs as unknown as Conv2DAttrs, 'linear');
  }),
  overridingKernel(FusedConv2D, ({ inputs, backend, attrs }) => {
    const { x, filter, bias } = inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo };
    const a = attrs as unknown as FusedConv2DAttrs;
    return convForward(backend as KernelBackend, x, filter, bias, a, a.activation);
  }),
  overridingKernel(Conv2DBackpropInput, ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    return convInputGradient(backend as KernelBackend, dy, filter, attrs as unknown as Conv2DBackpropInputAttrs);
  }),
  overridingKernel(Conv2DBackpropFilter, ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    return convFilterGradient(backend as KernelBackend, x, dy, attrs as unknown as Conv2DBackpropFilterAttrs);
  }),
];

/**
 * Routes the wasm backend's dense convolutions to onnxruntime (this process or worker thread;
 * the trainer calls it when it trains on wasm). Returns false, changing nothing, when
 * onnxruntime's C API cannot be reached or EDGESEG_ORT_CONVOLUTIONS=0 (the wasm-only trainer, for
 * comparisons). Idempotent.
 */
export function useOrtConvolutions(): boolean {
  if (process.env.EDGESEG_ORT_CONVOLUTIONS === '0' || !ortGraphsAvailable()) return false;
  for (const kernel of KERNELS) kernel.install();
  return true;
}

/** Puts back the kernels useOrtConvolutions replaced (for comparisons of the two in one process). */
export function stopOrtConvolutions(): void {
  for (const kernel of KERNELS) kernel.uninstall();
}

/** Whether the dense convolutions currently run in onnxruntime. */
export function ortConvolutionsInUse(): boolean {
  return KERNELS.every((k) => getKernel(k.config.kernelName, 'wasm')?.kernelFunc === k.config.kernelFunc);
}
