import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRandom, randInt } from '../../core/random.js';
import { activateWasm } from '../../core/node/backends/wasm.js';
import { tf } from '../../core/node/tfjs.js';
import { filterGradGemm, filterGemmRoute, type FilterGemmRoute } from '../../core/node/wasm_kernels/filter_gemm.js';
import { KernelScope } from '../../core/node/wasm_kernels/kernel_scope.js';
import { depthwiseFilterSimdApplies } from '../../core/node/wasm_kernels/DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseInputSimdApplies } from '../../core/node/wasm_kernels/DepthwiseConv2dNativeBackpropInput.js';
import { relativeError } from '../helpers/compare.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const TOLERANCE = 1e-4;

function randomData(shape: number[], seed: number): Float32Array {
  const rand = createRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

/** Runs `fn` on a backend and returns the result's values, leaving no tensor behind. */
async function on(backend: string, fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = tf.tidy(fn);
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

function kernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor;
}

/** Filter with zeros between taps: a dilated filter as an undilated one of size (f−1)·d+1. */
function expandFilter(data: Float32Array, shape: number[], d: number): { data: Float32Array; shape: number[] } {
  const [fh, fw, c, m] = shape;
  const eh = (fh - 1) * d + 1;
  const ew = (fw - 1) * d + 1;
  const out = new Float32Array(eh * ew * c * m);
  for (let i = 0; i < fh; i++) for (let j = 0; j < fw; j++) out.set(data.subarray((i * fw + j) * c * m, (i * fw + j + 1) * c * m), (i * d * ew + j * d) * c * m);
  return { data: out, shape: [eh, ew, c, m] };
}

function randomPad(rand: () => number, f: [number, number]): Pad {
  const r = rand();
  if (r < 0.4) return 'same';
  if (r < 0.8) return 'valid';
  return [[0, 0], [randInt(rand, 0, f[0]), randInt(rand, 0, f[0])], [randInt(rand, 0, f[1]), randInt(rand, 0, f[1])], [0, 0]];
}

describe('wasm gradient kernels match the cpu backend', () => {
  before(async () => {
    await activateWasm();
  });

  it('Conv2DBackpropFilter and Conv2DBackpropInput (incl. Conv2DTranspose) on 40 random shapes', async () => {
    const rand = createRandom(2024);
    for (let k = 0; k < 40; k++) {
      const fh = randInt(rand, 1, 5);
      const fw = randInt(rand, 1, 5);
      const strides: [number, number] = [randInt(rand, 1, 3), randInt(rand, 1, 3)];
      const pad = randomPad(rand, [fh, fw]);
      const x: Shape4 = [randInt(rand, 1, 3), randInt(rand, Math.max(fh, 4), 17), randInt(rand, Math.max(fw, 4), 17), randInt(rand, 1, 6)];
      const f: Shape4 = [fh, fw, x[3], randInt(rand, 1, 7)];
      const xa = randomData(x, 3 * k);
      const fa = randomData(f, 3 * k + 1);
      await tf.setBackend('cpu');
      const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(x) as tf.Tensor4D, tf.zeros(f) as tf.Tensor4D, strides, pad).shape);
      const dya = randomData(dyShape, 3 * k + 2);
      const label = `case ${k}: x=${x} f=${f} strides=${strides} pad=${JSON.stringify(pad)}`;

      const backpropFilter = () =>
        kernel('Conv2DBackpropFilter', { x: tf.tensor(xa, x), dy: tf.tensor(dya, dyShape) }, { strides, pad, dataFormat: 'NHWC', filterShape: f });
      assert.ok(relativeError(await on('wasm', backpropFilter), await on('cpu', backpropFilter)) <= TOLERANCE, `filter gradient, ${label}`);

      const backpropInput = () =>
        kernel('Conv2DBackpropInput', { dy: tf.tensor(dya, dyShape), filter: tf.tensor(fa, f) }, { strides, pad, dataFormat: 'NHWC', inputShape: x });
      assert.ok(relativeError(await on('wasm', backpropInput), await on('cpu', backpropInput)) <= TOLERANCE, `input gradient, ${label}`);
    }
  });

  it('Conv2DBackpropFilter of 1×1 stride-1 convolutions (MobileNetV2 expand and project)', async () => {
    for (const [x, co, pad] of [[[3, 9, 7, 5], 11, 'same'], [[2, 6, 6, 13], 4, 'valid'], [[1, 4, 5, 1], 1, 'same'], [[4, 3, 3, 8], 8, 'valid']] as [Shape4, number, Pad][]) {
      const f: Shape4 = [1, 1, x[3], co];
      const dyShape = [x[0], x[1], x[2], co];
      const xa = randomData(x, x[3]);
      const dya = randomData(dyShape, co);
      const run = () => kernel('Conv2DBackpropFilter', { x: tf.tensor(xa, x), dy: tf.tensor(dya, dyShape) }, { strides: [1, 1], pad, dataFormat: 'NHWC', filterShape: f });
      assert.ok(relativeError(await on('wasm', run), await on('cpu', run)) <= TOLERANCE, `x=${x} co=${co} ${pad}`);
    }
  });

  it('Conv2DBackpropFilter on every route (outer products, shifted GEMMs, im2col), whole and in chunks, on 24 random shapes', async () => {
    const rand = createRandom(4242);
    const seen = new Set<string>();
    for (let k = 0; k < 24; k++) {
      const fh = randInt(rand, 1, 4);
      const fw = randInt(rand, 1, 4);
      const strides: [number, number] = [randInt(rand, 1, 3), randInt(rand, 1, 3)];
      const pad = randomPad(rand, [fh, fw]);
      // Every other case has channels the 'outer' route takes (C a multiple of 4, O of 8).
      const aligned = k % 2 === 0;
      const x: Shape4 = [randInt(rand, 1, 3), randInt(rand, Math.max(fh, 4), 13), randInt(rand, Math.max(fw, 4), 13), aligned ? 4 * randInt(rand, 1, 5) : randInt(rand, 1, 20)];
      const f: Shape4 = [fh, fw, x[3], aligned ? 8 * randInt(rand, 1, 3) : randInt(rand, 1, 20)];
      const xa = randomData(x, 11 * k);
      await tf.setBackend('cpu');
      const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(x) as tf.Tensor4D, tf.zeros(f) as tf.Tensor4D, strides, pad).shape);
      const dya = randomData(dyShape, 11 * k + 1);
      const expected = await on('cpu', () => kernel('Conv2DBackpropFilter', { x: tf.tensor(xa, x), dy: tf.tensor(dya, dyShape) }, { strides, pad, dataFormat: 'NHWC', filterShape: f }));
      const info = tf.backend_util.computeConv2DInfo(x, f, strides, 1, pad as never);
      const geo = { filterShape: f, strides, padTop: info.padInfo.top, padLeft: info.padInfo.left };
      await tf.setBackend('wasm');
      const backend = tf.backend();
      // A chunk of 7 rows of the largest operand cuts every case into several chunks with a ragged last one.
      const routes: [FilterGemmRoute, number | undefined][] = [['shifted', undefined], ['shifted', 7 * Math.max(x[3], f[3])], ['im2col', undefined], ['im2col', 7 * fh * fw * x[3]]];
      if (x[3] % 4 === 0 && f[3] % 8 === 0) routes.push(['outer', undefined], ['outer', 7 * Math.max(x[3], f[3])]);
      for (const [route, chunkFloats] of routes) {
        const before = tf.memory().numBytes;
        const xt = tf.tensor(xa, x);
        const dyt = tf.tensor(dya, dyShape);
        const out = KernelScope.use(backend, 'wasm', (s) => filterGradGemm(s, xt, dyt, geo, { route, chunkFloats }));
        const got = (backend.readSync(out.dataId) as Float32Array).slice();
        backend.disposeData(out.dataId);
        tf.dispose([xt, dyt]);
        assert.deepEqual(out.shape, f);
        assert.equal(tf.memory().numBytes, before, `no buffer left behind, ${route}`);
        assert.ok(relativeError(got, expected) <= TOLERANCE, `case ${k}: ${route} chunk=${chunkFloats ?? 'default'} x=${x} f=${f} strides=${strides} pad=${JSON.stringify(pad)}`);
      }
      seen.add(filterGemmRoute(f));
    }
    assert.deepEqual([...seen].sort(), ['im2col', 'outer', 'shifted'], 'the random shapes reach every default route');
  });

  it('strided Conv2DBackpropInput per phase (kernel 1–4, stride 2–3, odd sizes) agrees', async () => {
    const cases: [Shape4, Shape4, [number, number], Pad][] = [
      [[2, 7, 9, 9], [3, 3, 9, 6], [2, 2], 'same'],
      [[1, 8, 8, 8], [1, 1, 8, 3], [2, 2], 'valid'],
      [[2, 10, 11, 12], [4, 2, 12, 5], [3, 2], 'same'],
      [[1, 9, 9, 8], [3, 3, 8, 2], [2, 3], [[0, 0], [1, 2], [0, 1], [0, 0]]],
    ];
    for (const [x, f, strides, pad] of cases) {
      await tf.setBackend('cpu');
      const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(x) as tf.Tensor4D, tf.zeros(f) as tf.Tensor4D, strides, pad).shape);
      const dya = randomData(dyShape, 5);
      const fa = randomData(f, 6);
      const run = () => kernel('Conv2DBackpropInput', { dy: tf.tensor(dya, dyShape), filter: tf.tensor(fa, f) }, { strides, pad, dataFormat: 'NHWC', inputShape: x });
      assert.ok(relativeError(await on('wasm', run), await on('cpu', run)) <= TOLERANCE, `x=${x} f=${f} strides=${strides} pad=${JSON.stringify(pad)}`);
    }
  });

  it('Conv2DTranspose layers (the U-Net decoder op) agree, kernel 2 and 3, stride 2', async () => {
    for (const [k, s] of [[2, 2], [3, 2], [3, 1], [4, 2]]) {
      const x = randomData([2, 8, 8, 6], k);
      const w = randomData([k, k, 5, 6], 10 + k);
      const run = () => tf.conv2dTranspose(tf.tensor4d(x, [2, 8, 8, 6]), tf.tensor4d(w, [k, k, 5, 6]), [2, 8 * s, 8 * s, 5], s, 'same');
      assert.ok(relativeError(await on('wasm', run), await on('cpu', run)) <= TOLERANCE, `conv2dTranspose k=${k} s=${s}`);
    }
  });

  it('Conv2DTranspose with channels a multiple of 4 (phases copied back as whole-vector runs) agrees, odd sizes included', async () => {
    for (const [k, s, h, w] of [[2, 2, 8, 8], [3, 2, 7, 9], [4, 2, 5, 6], [3, 3, 4, 5], [1, 2, 6, 6]]) {
      const x = randomData([2, h, w, 12], k);
      const f = randomData([k, k, 8, 12], 20 + k);
      const run = () => tf.conv2dTranspose(tf.tensor4d(x, [2, h, w, 12]), tf.tensor4d(f, [k, k, 8, 12]), [2, h * s, w * s, 8], s, 'same');
      assert.ok(relativeError(await on('wasm', run), await on('cpu', run)) <= TOLERANCE, `conv2dTranspose k=${k} s=${s} ${h}×${w}`);
    }
  });

  it('Concat (edgeseg\'s run copy for float32 rows of whole vectors, the backend\'s for the rest) is exact', async () => {
    const cases: { shapes: number[][]; axis: number; dtype: 'float32' | 'int32' }[] = [
      { shapes: [[2, 5, 3, 8], [2, 5, 3, 4], [2, 5, 3, 12]], axis: 3, dtype: 'float32' },
      { shapes: [[2, 4, 3, 4], [2, 1, 3, 4]], axis: 1, dtype: 'float32' },
      { shapes: [[1, 4, 4], [3, 4, 4]], axis: 0, dtype: 'float32' },
      { shapes: [[2, 3, 3], [2, 3, 5]], axis: 2, dtype: 'float32' },
      { shapes: [[2, 4], [2, 8]], axis: 1, dtype: 'int32' },
      { shapes: [[2, 0, 4], [2, 3, 4], [2, 5, 4]], axis: 1, dtype: 'float32' },
    ];
    for (const [n, c] of cases.entries()) {
      const data = c.shapes.map((shape, k) => Array.from(randomData(shape, 40 + n * 5 + k), (v) => (c.dtype === 'int32' ? Math.round(v * 100) : v)));
      const run = () => tf.concat(c.shapes.map((shape, k) => tf.tensor(data[k], shape, c.dtype)), c.axis);
      assert.deepEqual(await on('wasm', run), await on('cpu', run), `case ${n}: ${JSON.stringify(c.shapes)} on axis ${c.axis}`);
    }
  });

  it('DepthwiseConv2dNativeBackpropFilter and -Input on 40 random shapes, with dilations', async () => {
    const rand = createRandom(77);
    for (let k = 0; k < 40; k++) {
      const fh = randInt(rand, 1, 4);
      const fw = randInt(rand, 1, 4);
      // tfjs allows strides > 1 or dilations > 1, never both.
      const dilated = rand() < 0.4;
      const stride = dilated ? 1 : randInt(rand, 1, 3);
      const dilation = dilated ? randInt(rand, 2, 3) : 1;
      const pad: 'same' | 'valid' = rand() < 0.5 ? 'same' : 'valid';
      const span = [(fh - 1) * dilation + 1, (fw - 1) * dilation + 1];
      const x: Shape4 = [randInt(rand, 1, 3), randInt(rand, span[0] + 2, 16), randInt(rand, span[1] + 2, 16), randInt(rand, 1, 5)];
      const f: Shape4 = [fh, fw, x[3], randInt(rand, 1, 3)];
      const xa = randomData(x, 5 * k);
      const fa = randomData(f, 5 * k + 1);
      await tf.setBackend('cpu');
      const dyShape = tf.tidy(() => tf.depthwiseConv2d(tf.zeros(x) as tf.Tensor4D, tf.zeros(f) as tf.Tensor4D, stride, pad, 'NHWC', dilation).shape);
      const dya = randomData(dyShape, 5 * k + 2);
      const label = `case ${k}: x=${x} f=${f} stride=${stride} dilation=${dilation} pad=${pad}`;
      const attrs = { strides: stride, dilations: dilation, pad };
      const wasmFilter = await on('wasm', () =>
        kernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xa, x), dy: tf.tensor(dya, dyShape) }, { ...attrs, filterShape: f }),
      );
      const wasmInput = await on('wasm', () =>
        kernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dya, dyShape), filter: tf.tensor(fa, f) }, { ...attrs, inputShape: x }),
      );
      // tfjs' cpu depthwise backprop kernels ignore `dilations`; the cpu reference for a dilated
      // case is the same problem with the filter's taps spread out by zeros, at dilation 1.
      const ex = expandFilter(fa, f, dilation);
      const refAttrs = { strides: stride, dilations: 1, pad };
      const cpuFilterFull = await on('cpu', () =>
        kernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xa, x), dy: tf.tensor(dya, dyShape) }, { ...refAttrs, filterShape: ex.shape }),
      );
      const cpuFilter = await on('cpu', () => tf.stridedSlice(tf.tensor(cpuFilterFull, ex.shape), [0, 0, 0, 0], ex.shape, [dilation, dilation, 1, 1]));
      const cpuInput = await on('cpu', () =>
        kernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dya, dyShape), filter: tf.tensor(ex.data, ex.shape) }, { ...refAttrs, inputShape: x }),
      );
      assert.ok(relativeError(wasmFilter, cpuFilter) <= TOLERANCE, `filter gradient, ${label}`);
      assert.ok(relativeError(wasmInput, cpuInput) <= TOLERANCE, `input gradient, ${label}`);
    }
  });

  it('DepthwiseConv2dNativeBackpropFilter and -Input on their SIMD routes (mult 1, channels a multiple of 4) on 24 random shapes and five 3×3 ones', async () => {
    const rand = createRandom(505);
    // After the 24 random shapes, 3×3 filters on every path of tapRow3 (the 3-wide rows' registers): dilated, strided, valid.
    const threeWide: [number, number, 'same' | 'valid'][] = [[1, 2, 'same'], [2, 1, 'same'], [1, 1, 'valid'], [2, 1, 'valid'], [1, 2, 'valid']];
    for (let k = 0; k < 24 + threeWide.length; k++) {
      const extra = threeWide[k - 24];
      const fh = extra ? 3 : randInt(rand, 1, 4);
      const fw = extra ? 3 : randInt(rand, 1, 4);
      const dilated = extra ? extra[1] === 2 : rand() < 0.3;
      const stride = extra ? extra[0] : dilated ? 1 : randInt(rand, 1, 3);
      const dilation = dilated ? 2 : 1;
      const pad: 'same' | 'valid' = extra ? extra[2] : rand() < 0.5 ? 'same' : 'valid';
      const span = [(fh - 1) * dilation + 1, (fw - 1) * dilation + 1];
      const x: Shape4 = [randInt(rand, 1, 3), randInt(rand, span[0] + 1, 15), randInt(rand, span[1] + 1, 15), 4 * randInt(rand, 1, 6)];
      const f: Shape4 = [fh, fw, x[3], 1];
      assert.ok(depthwiseFilterSimdApplies(f) && depthwiseInputSimdApplies(f));
      const xa = randomData(x, 7 * k);
      await tf.setBackend('cpu');
      const dyShape = tf.tidy(() => tf.depthwiseConv2d(tf.zeros(x) as tf.Tensor4D, tf.zeros(f) as tf.Tensor4D, stride, pad, 'NHWC', dilation).shape);
      const dya = randomData(dyShape, 7 * k + 1);
      const got = await on('wasm', () => kernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xa, x), dy: tf.tensor(dya, dyShape) }, { strides: stride, dilations: dilation, pad, filterShape: f }));
      const fa = randomData(f, 7 * k + 2);
      const ex = expandFilter(fa, f, dilation);
      const full = await on('cpu', () => kernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xa, x), dy: tf.tensor(dya, dyShape) }, { strides: stride, dilations: 1, pad, filterShape: ex.shape }));
      const expected = await on('cpu', () => tf.stridedSlice(tf.tensor(full, ex.shape), [0, 0, 0, 0], ex.shape, [dilation, dilation, 1, 1]));
      assert.ok(relativeError(got, expected) <= TOLERANCE, `filter gradient, case ${k}: x=${x} f=${f} stride=${stride} dilation=${dilation} pad=${pad}`);
      const input = await on('wasm', () => kernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dya, dyShape), filter: tf.tensor(fa, f) }, { strides: stride, dilations: dilation, pad, inputShape: x }));
      const inputExpected = await on('cpu', () => kernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dya, dyShape), filter: tf.tensor(ex.data, ex.shape) }, { strides: stride, dilations: 1, pad, inputShape: x }));
      assert.ok(relativeError(input, inputExpected) <= TOLERANCE, `input gradient, case ${k}: x=${x} f=${f} stride=${stride} dilation=${dilation} pad=${pad}`);
    }
  });

  it('ReLU6 (relu then clipByValue) gradient runs the fused kernels on wasm and equals the cpu one, boundaries included', async () => {
    for (const n of [4 * 37, 4 * 37 + 3]) {
      const data = randomData([n], n).map((v, k) => (k % 7 === 0 ? [0, 6, -0, 6.0000005, -1e-7][k % 5] : v * 8));
      const dyData = randomData([n], n + 1);
      const run = () => tf.grad((x: tf.Tensor) => tf.mul(tf.clipByValue(tf.relu(x), 0, 6), tf.tensor(dyData)))(tf.tensor(data));
      await tf.setBackend('wasm');
      const kernels = (await tf.profile(() => run())).kernelNames;
      assert.ok(kernels.includes('EdgesegReluGrad') && kernels.includes('EdgesegClipByValueGrad'), `fused kernels ran: ${kernels.join(', ')}`);
      assert.deepEqual(await on('wasm', run), await on('cpu', run), `n=${n}`);
    }
  });

  it('Sum and Mean over leading axes (SIMD) and every other reduction (the backend own) agree with cpu', async () => {
    const cases: [number[], number[], boolean][] = [
      [[8, 5, 7, 12], [0, 1, 2], false],
      [[3, 2500, 8], [0, 1], true],
      [[2, 3, 4, 4], [0], false],
      [[4, 6, 5], [0, 1], false],
      [[4, 6, 8], [1], false],
      [[4, 6, 8], [2, 0], true],
      [[16], [0], false],
    ];
    for (const [shape, axis, keepDims] of cases) {
      const data = randomData(shape, shape.length);
      for (const [name, reduce] of [['sum', tf.sum], ['mean', tf.mean]] as const) {
        const run = () => reduce(tf.tensor(data, shape), axis, keepDims);
        const [got, expected] = [await on('wasm', run), await on('cpu', run)];
        assert.ok(relativeError(got, expected) <= TOLERANCE, `${name} of ${shape} over ${axis}`);
        const shapeOn = async (backend: string) => {
          await tf.setBackend(backend);
          const t = run();
          t.dispose();
          return t.shape;
        };
        assert.deepEqual(await shapeOn('wasm'), await shapeOn('cpu'), `${name} shape`);
      }
    }
    const ints = () => tf.sum(tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], 'int32'), 0);
    assert.deepEqual(Array.from(await on('wasm', ints)), [6, 8, 10, 12]);
  });

  it('Sum and Mean gradients broadcast dy in one SIMD row copy over leading axes, the same bits as the cpu backend; other axes the tfjs formula', async () => {
    const cases: { shape: number[]; axes: number[]; keepDims: boolean; rows: boolean }[] = [
      { shape: [2, 5, 3, 8], axes: [0, 1, 2], keepDims: false, rows: true },
      { shape: [2, 5, 3, 8], axes: [0, 1, 2], keepDims: true, rows: true },
      { shape: [4, 12], axes: [0], keepDims: false, rows: true },
      { shape: [2, 5, 3, 8], axes: [1, 0], keepDims: false, rows: true },
      { shape: [2, 5, 3, 6], axes: [0, 1, 2], keepDims: false, rows: false },
      { shape: [2, 5, 3, 8], axes: [3], keepDims: false, rows: false },
      { shape: [2, 5, 3, 8], axes: [0, 1, 2, 3], keepDims: false, rows: false },
    ];
    for (const [n, c] of cases.entries()) {
      const data = randomData(c.shape, 60 + n);
      const weights = randomData(c.shape.filter((_, k) => !c.axes.includes(k)), 70 + n);
      for (const op of ['sum', 'mean'] as const) {
        const run = () =>
          tf.grad((x: tf.Tensor) => {
            const r = op === 'sum' ? tf.sum(x, c.axes, c.keepDims) : tf.mean(x, c.axes, c.keepDims);
            return tf.sum(tf.mul(tf.reshape(r, [-1]), tf.tensor(weights)));
          })(tf.tensor(data, c.shape));
        await tf.setBackend('wasm');
        const profiled = await tf.profile(() => run());
        (profiled.result as tf.Tensor).dispose();
        const kernels = profiled.kernelNames;
        assert.equal(kernels.includes('EdgesegTileRows'), c.rows, `${op} ${JSON.stringify(c)}: ${kernels.join(', ')}`);
        // tfjs-core's own formula: dy · ones(x.shape), then ÷ n for Mean (dy here is `weights`).
        const n = c.axes.reduce((a, k) => a * c.shape[k], 1);
        const reference = () => {
          const spread = tf.mul(tf.reshape(tf.tensor(weights), c.shape.map((d, k) => (c.axes.includes(k) ? 1 : d))), tf.ones(c.shape));
          return op === 'sum' ? spread : tf.div(spread, n);
        };
        const expected = await on('cpu', reference);
        assert.deepEqual(await on('wasm', run), expected, `${op} ${JSON.stringify(c)} on wasm`);
        assert.deepEqual(await on('cpu', run), expected, `${op} ${JSON.stringify(c)} on cpu`);
      }
    }
  });

  it('BatchNorm gradient takes its two sums from one fused pass on wasm and agrees with cpu', async () => {
    for (const channels of [12, 6]) {
      const shape = [3, 5, 7, channels];
      const data = randomData(shape, channels).map((v) => 3 * v + 1);
      const weights = randomData(shape, channels + 1);
      const stats = [randomData([channels], 2), randomData([channels], 3).map((v) => 1 + Math.abs(v)), randomData([channels], 4), randomData([channels], 5)];
      const run = () => {
        const [mean, variance, offset, scale] = stats.map((s) => tf.tensor1d(s));
        const grads = tf.grads((x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, sc: tf.Tensor) =>
          tf.sum(tf.mul(tf.batchNorm4d(x as tf.Tensor4D, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, sc as tf.Tensor1D, 1e-3), tf.tensor(weights, shape))),
        )([tf.tensor(data, shape), mean, variance, offset, scale]);
        return tf.concat(grads.map((g) => tf.reshape(g, [-1])));
      };
      await tf.setBackend('wasm');
      const kernels = (await tf.profile(() => run())).kernelNames;
      assert.equal(kernels.includes('EdgesegBatchNormGradSums'), channels % 4 === 0, `fused sums for ${channels} channels: ${kernels.join(', ')}`);
      assert.ok(relativeError(await on('wasm', run), await on('cpu', run)) <= TOLERANCE, `${channels} channels`);
    }
  });

  it('FusedBatchNorm: one SIMD pass of offset + (x − mean)·(scale/√(var+ε)) for channels a multiple of 4 (those exact bits), the backend\'s kernel otherwise; both agree with cpu', async () => {
    for (const [channels, withAffine] of [[12, true], [8, false], [6, true]] as const) {
      const shape = [2, 5, 3, channels];
      const x = randomData(shape, 60 + channels).map((v) => 3 * v + 1);
      const [mean, variance, offset, scale] = [randomData([channels], 61), randomData([channels], 62).map((v) => 0.2 + Math.abs(v)), randomData([channels], 63), randomData([channels], 64)];
      const run = () =>
        tf.batchNorm4d(tf.tensor4d(x, shape as [number, number, number, number]), tf.tensor1d(mean), tf.tensor1d(variance), withAffine ? tf.tensor1d(offset) : undefined, withAffine ? tf.tensor1d(scale) : undefined, 1e-3);
      const wasm = await on('wasm', run);
      assert.ok(relativeError(wasm, await on('cpu', run)) <= 1e-6, `${channels} channels: ${relativeError(wasm, await on('cpu', run))}`);
      if (channels % 4 === 0) {
        const f = Math.fround;
        const want = x.map((v, i) => {
          const c = i % channels;
          const b = f((withAffine ? scale[c] : 1) / Math.sqrt(variance[c] + 1e-3));
          return f((withAffine ? offset[c] : 0) + f(f(v - mean[c]) * b));
        });
        assert.deepEqual(wasm, want, `${channels} channels: the SIMD pass's bits`);
      }
    }
  });

  it('MaxPoolGrad (the first maximum of each window gets dy, read from the forward output) equals cpu (exactly where windows do not overlap): 2×2 and 3×3, strides 1–2, valid and same, ties included', async () => {
    const cases: { shape: [number, number, number, number]; filter: number; stride: number; pad: 'valid' | 'same' }[] = [
      { shape: [2, 8, 8, 16], filter: 2, stride: 2, pad: 'valid' },
      { shape: [2, 7, 9, 5], filter: 2, stride: 2, pad: 'same' },
      { shape: [1, 7, 9, 4], filter: 2, stride: 2, pad: 'valid' },
      { shape: [1, 7, 6, 4], filter: 3, stride: 2, pad: 'same' },
      { shape: [1, 6, 6, 3], filter: 3, stride: 1, pad: 'valid' },
    ];
    for (const [k, c] of cases.entries()) {
      // Values rounded to a few levels, so windows hold ties (the first one must win, as on cpu).
      const x = randomData(c.shape, 70 + k).map((v) => Math.round(v * 3) / 3);
      const pooled = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, c.filter, c.stride, c.pad);
      const outShape = tf.tidy(() => pooled(tf.zeros(c.shape)).shape);
      const w = randomData(outShape, 80 + k);
      const run = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pooled(t), tf.tensor(w, outShape))))(tf.tensor4d(x, c.shape));
      const [got, want] = [await on('wasm', run), await on('cpu', run)];
      // Windows that overlap (stride < filter) add several dy into one dx, in another order than cpu's.
      if (c.stride >= c.filter) assert.deepEqual(got, want, `case ${k}: ${JSON.stringify(c)}`);
      else assert.ok(relativeError(got, want) <= 1e-6, `case ${k}: ${JSON.stringify(c)}: ${relativeError(got, want)}`);
      assert.ok(got.some((v) => v !== 0), `case ${k}: some gradient reached x`);
    }
  });

  it('SplitV of float32 runs of whole vectors (the SIMD copy) on every axis', async () => {
    const shape = [2, 3, 4, 12];
    const data = randomData(shape, 12);
    for (let axis = 0; axis < 4; axis++) {
      const sizes = axis === 3 ? [4, 8] : axis === 0 ? [1, 1] : [1, shape[axis] - 1];
      const run = () => tf.concat(tf.split(tf.tensor(data, shape), sizes, axis).map((t, k) => tf.mul(t, k + 1)), axis);
      assert.deepEqual(await on('wasm', run), await on('cpu', run), `axis ${axis}`);
    }
  });

  it('SplitV (the Concatenate gradient) on every axis', async () => {
    const shape = [2, 5, 6, 7];
    const data = randomData(shape, 9);
    for (let axis = 0; axis < 4; axis++) {
      const sizes = shape[axis] === 2 ? [1, 1] : [2, shape[axis] - 3, 1];
      const run = () => tf.concat(tf.split(tf.tensor(data, shape), sizes, axis).map((t, k) => tf.mul(t, k + 1)), axis);
      assert.deepEqual(await on('wasm', run), await on('cpu', run), `axis ${axis}`);
    }
  });

  it('Identity and same-dtype Cast share their input buffer on wasm (no copy), keep it alive until the last tensor goes; strings and other casts as before', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const buffers = backend.numDataIds();
    const x = tf.tensor([1.5, -0, 3, 4], [2, 2]);
    const y = tf.clone(x);
    assert.equal(backend.numDataIds(), buffers + 1, 'one buffer for x and its clone');
    x.dispose();
    assert.deepEqual(Array.from(await y.data()), [1.5, -0, 3, 4], 'the clone outlives its source');
    y.dispose();
    assert.equal(backend.numDataIds(), buffers, 'the buffer is freed with its last tensor');
    // A Cast to the same dtype shares too; to another dtype it converts.
    const f = tf.tensor([1.5, 2.5, -3]);
    const same = tf.cast(f, 'float32');
    assert.equal(backend.numDataIds(), buffers + 1, 'a same-dtype cast shares');
    const ints = tf.cast(f, 'int32');
    assert.deepEqual(Array.from(await ints.data()), [1, 2, -3]);
    assert.equal(ints.dtype, 'int32');
    tf.dispose([f, same, ints]);
    assert.equal(backend.numDataIds(), buffers);
    const s = tf.tensor(['a', 'bc']);
    const t = tf.clone(s);
    s.dispose();
    assert.deepEqual(await t.data(), ['a', 'bc']);
    t.dispose();
    // Saved-for-backward clones (Engine.clone) go through it: a gradient is unchanged.
    const run = () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), v)))(tf.tensor(randomData([3, 8], 90), [3, 8]));
    assert.deepEqual(await on('wasm', run), await on('cpu', run));
  });

  it('leaves no tensor or wasm buffer behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 16, 16, 8]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 8, 4]) as tf.Tensor4D;
    const dw = tf.randomNormal([3, 3, 4, 1]) as tf.Tensor4D;
    const w8 = tf.randomNormal([3, 3, 4, 8]) as tf.Tensor4D;
    // Every edgeseg wasm kernel: both filter-gradient routes (4 → 8 channels takes 'outer', 8 → 4
    // 'shifted'), depthwise, transposed convolution, ReLU6, BatchNorm, Sum and Mean.
    const step = () =>
      tf.tidy(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
          const y = tf.depthwiseConv2d(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), c as tf.Tensor4D, 1, 'same');
          const { mean, variance } = tf.moments(y, [0, 1, 2]);
          const z = tf.clipByValue(tf.relu(tf.batchNorm4d(y, mean as tf.Tensor1D, variance as tf.Tensor1D, tf.fill([4], 0.5) as tf.Tensor1D, tf.fill([4], 2) as tf.Tensor1D, 1e-3)), 0, 6);
          return tf.add(tf.sum(tf.conv2dTranspose(z, b as tf.Tensor4D, [2, 16, 16, 8], 2, 'same')), tf.mean(tf.conv2d(z, d as tf.Tensor4D, 1, 'same')));
        })([x, w, dw, w8]);
        return tf.addN(g.map((t) => tf.sum(t)));
      }).dispose();
    const backend = tf.backend();
    step();
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    const buffers = backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.memory().numBytes, bytes);
    assert.equal(backend.numDataIds(), buffers, 'no buffer of the wasm heap left behind by a kernel');
    tf.dispose([x, w, dw, w8]);
  });
});
