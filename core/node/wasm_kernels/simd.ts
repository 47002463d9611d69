/**
 * A few 128-bit SIMD loops the tfjs wasm backend has no kernel for, hand-assembled into a tiny
 * WebAssembly module that imports the backend's own memory: they read and write tensors in place
 * in the wasm heap, with no copy in or out. (No wasm toolchain is a dependency, so the module is
 * written here opcode by opcode; each function's loop is spelled out in its comment.)
 *
 * All pointers and lengths are in bytes; every channel count passed must be a multiple of 4
 * (callers fall back to plain JavaScript otherwise).
 */

/**
 * The slice of the WebAssembly JS API used here, declared locally: Node has it at run time, but
 * the Node-only build (tsconfig.build.json: no DOM lib) has no global type for it.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: { env: { memory: WasmMemory } }) => { exports: unknown };
};

/** The part of the tfjs wasm backend this module needs. */
interface WasmBackendModule {
  wasm: { asm: { memory: WasmMemory } };
}

/** The module's functions (byte addresses into the backend's heap). */
export interface SimdLoops {
  /**
   * acc[0..cb) += Σ_{k<rows} x[k·xStep .. +cb) ⊙ dy[k·cb .. +cb), as f32x4: the depthwise filter
   * gradient's multiply-accumulate over one run of pixels (x may be strided, dy is dense).
   */
  mulAcc(x: number, xStep: number, dy: number, acc: number, cb: number, rows: number): void;
  /**
   * acc[c, o] += Σ_{k<rows} x[k·xStep + c] · dy[k·dyStep + o] for c < C, o < O (C a multiple of
   * 4, O of 8; acc dense [C, O]): a sum of outer products, i.e. the GEMM xᵀ·dy with the pixels as
   * the reduction axis, read in place with no transpose or packing. Tiles of 4 × 8 accumulators
   * stay in registers over all rows; x is read as broadcast scalars, dy as two f32x4 per row.
   */
  outerAcc(x: number, xStep: number, dy: number, dyStep: number, acc: number, c: number, o: number, rows: number): void;
  /**
   * sumDy[c] += Σ_k dy[k, c] and sumXdy[c] += Σ_k (x[k, c] − mean[c]) · dy[k, c] over `rows` rows
   * of cb bytes, as f32x4: the two per-channel reductions of BatchNorm's gradient, in one pass.
   */
  bnGradSums(x: number, dy: number, mean: number, sumDy: number, sumXdy: number, cb: number, rows: number): void;
  /**
   * dst[k·dstStep .. +rb) = src[k·srcStep .. +rb) for k < count (rb a multiple of 16), as v128
   * copies: one piece of a channel-axis split, run by run, with no JavaScript call per run.
   */
  copyRuns(src: number, srcStep: number, dst: number, dstStep: number, rb: number, count: number): void;
  /**
   * out[k·outStep .. +cb) += dy[k·cb .. +cb) ⊙ w[0..cb) for k < rows, as f32x4: one tap of the
   * depthwise input gradient scattered over a run of pixels (out may be strided, dy is dense).
   */
  scaleAcc(dy: number, w: number, out: number, outStep: number, cb: number, rows: number): void;
  /** acc[0..cb) += Σ_{k<rows} x[k·cb .. +cb), as f32x4: a column sum (Sum over leading axes). */
  colSum(x: number, acc: number, cb: number, rows: number): void;
  /** out[k] = lo ≤ x[k] ≤ hi ? dy[k] : 0 for nb/4 floats (nb a multiple of 16): ClipByValue's gradient. */
  clipGrad(x: number, dy: number, out: number, nb: number, lo: number, hi: number): void;
  /** out[k] = dy[k] · (x[k] > 0 ? 1 : 0) for nb/4 floats (nb a multiple of 16): Relu's gradient. */
  reluGrad(x: number, dy: number, out: number, nb: number): void;
  /**
   * acc[j·cb .. +cb) += Σ_{k<rows} x[k·xStep + j·tapStep .. +cb) ⊙ dy[k·cb .. +cb) for the three
   * taps j = 0, 1, 2 of one filter row, as f32x4: the depthwise filter gradient of a 3-wide filter
   * over a run of pixels whose three input columns are all inside x. The three accumulators of a
   * channel block stay in registers over the whole run, and each dy vector is loaded once for
   * three multiply-adds (mulAcc loads and stores its accumulator for every pixel and tap).
   */
  tapRow3(x: number, xStep: number, tapStep: number, dy: number, acc: number, cb: number, rows: number): void;
  /**
   * dx[k·cb .. +cb) += Σ_{j<3} dy[k·cb − j·tapStep .. +cb) ⊙ w[j·cb .. +cb) for k < cols, as
   * f32x4: the depthwise input gradient of a 3-wide filter row at stride 1, gathered per dx pixel
   * (the three weights in registers, dx loaded and stored once per pixel for three
   * multiply-adds) over a run of columns whose three dy columns all exist.
   */
  gatherRow3(dy: number, tapStep: number, w: number, dx: number, cb: number, cols: number): void;
  /**
   * acc[0..cb) += Σ_{k<rows} (x[k·cb .. +cb) − mean[0..cb))², as f32x4: the centred sum of squares
   * per channel (synchronised BatchNorm's slice statistics).
   */
  centredSquares(x: number, mean: number, acc: number, cb: number, rows: number): void;
  /**
   * out[k·cb .. +cb) = a + (x[k·cb .. +cb) − mean) ⊙ b for k < rows, as f32x4 (a, b, mean per
   * channel): the gradient of the per-channel (sum, centred sum of squares) pair.
   */
  affineCentred(x: number, mean: number, a: number, b: number, out: number, cb: number, rows: number): void;
  /**
   * One Adam update of nb/4 floats (nb a multiple of 16), as f32x4, each operation rounded to
   * float32 in the order of tfjs' AdamOptimizer (so the same bits):
   *   m′ = m·β₁ + g·(1−β₁),  v′ = v·β₂ + (g·g)·(1−β₂),
   *   w′ = ((m′ / (1−β₁ᵗ)) / (√(v′ / (1−β₂ᵗ)) + ε)) · (−lr) + w
   * reading w, m, v, g and writing w′, m′, v′ to their own buffers.
   */
  adam(w: number, m: number, v: number, g: number, wOut: number, mOut: number, vOut: number, nb: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, oneMinusAccBeta1: number, oneMinusAccBeta2: number, epsilon: number, negLearningRate: number): void;
}

const I32 = 0x7f;
const F32 = 0x7d;
const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, void: 0x40,
  get: 0x20, set: 0x21, i32const: 0x41, eqz: 0x45, geU: 0x4f, add: 0x6a, sub: 0x6b,
};
/** SIMD opcodes (after the 0xfd prefix; LEB128-encoded). */
const simd = { load: 0x00, store: 0x0b, splat: 0x13, gt: 0x44, le: 0x45, ge: 0x46, and: 0x4e, f32x4Add: 0xe4, f32x4Mul: 0xe6 };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

const v = (code: number, memarg = false) => [0xfd, ...uleb(code), ...(memarg ? [0, 0] : [])];
const get = (i: number) => [op.get, i];
const set = (i: number) => [op.set, i];
const addTo = (i: number, by: number[]) => [...get(i), ...by, op.add, ...set(i)];
const i32 = (n: number) => [op.i32const, ...uleb(n)];
/** while (local[j] < local[limit]) { body; local[j] += 16 } with j starting at 0. */
const overBytes = (j: number, limit: number, body: number[]) => [...i32(0), ...set(j), op.block, op.void, op.loop, op.void, ...get(j), ...get(limit), op.geU, op.brIf, 1, ...body, ...addTo(j, i32(16)), op.br, 0, op.end, op.end];
/** while (local[n] != 0) { body; local[n] -= 1 } */
const countDown = (n: number, body: number[]) => [op.block, op.void, op.loop, op.void, ...get(n), op.eqz, op.brIf, 1, ...body, ...get(n), ...i32(1), op.sub, ...set(n), op.br, 0, op.end, op.end];

// mulAcc(x 0, xStep 1, dy 2, acc 3, cb 4, rows 5; j 6)
const mulAcc = countDown(5, [
  ...overBytes(6, 4, [...get(3), ...get(6), op.add, ...get(3), ...get(6), op.add, ...v(simd.load, true), ...get(0), ...get(6), op.add, ...v(simd.load, true), ...get(2), ...get(6), op.add, ...v(simd.load, true), ...v(simd.f32x4Mul), ...v(simd.f32x4Add), ...v(simd.store, true)]),
  ...addTo(0, get(1)),
  ...addTo(2, get(4)),
]);
// colSum(x 0, acc 1, cb 2, rows 3; j 4)
const colSum = countDown(3, [
  ...overBytes(4, 2, [...get(1), ...get(4), op.add, ...get(1), ...get(4), op.add, ...v(simd.load, true), ...get(0), ...get(4), op.add, ...v(simd.load, true), ...v(simd.f32x4Add), ...v(simd.store, true)]),
  ...addTo(0, get(2)),
]);
// clipGrad(x 0, dy 1, out 2, nb 3, lo 4, hi 5; j 6, xv 7 (v128))
const clipGrad = overBytes(6, 3, [
  ...get(2), ...get(6), op.add,
  ...get(0), ...get(6), op.add, ...v(simd.load, true), ...set(7),
  ...get(7), ...get(4), ...v(simd.splat), ...v(simd.ge),
  ...get(7), ...get(5), ...v(simd.splat), ...v(simd.le), ...v(simd.and),
  ...get(1), ...get(6), op.add, ...v(simd.load, true), ...v(simd.and),
  ...v(simd.store, true),
]);
// reluGrad(x 0, dy 1, out 2, nb 3; j 4): dy · (x > 0 ? 1 : 0), a product rather than a mask so
// that a negative dy gives −0 as tfjs' dy · step(x) does.
const f32 = (bytes: number[]) => [0x43, ...bytes];
const reluGrad = overBytes(4, 3, [
  ...get(2), ...get(4), op.add,
  ...get(0), ...get(4), op.add, ...v(simd.load, true), ...f32([0, 0, 0, 0]), ...v(simd.splat), ...v(simd.gt),
  ...f32([0, 0, 0x80, 0x3f]), ...v(simd.splat), ...v(simd.and),
  ...get(1), ...get(4), op.add, ...v(simd.load, true), ...v(simd.f32x4Mul),
  ...v(simd.store, true),
]);

// outerAcc(x 0, xStep 1, dy 2, dyStep 3, acc 4, C 5, O 6, rows 7;
//          c0 8, o0 9, k 10, xp 11, dp 12, ap 13, acc vectors 14..21, d0 22, d1 23, s 24)
const load = (offset: number) => [0xfd, ...uleb(simd.load), 0, ...uleb(offset)];
const store = (offset: number) => [0xfd, ...uleb(simd.store), 0, ...uleb(offset)];
const loadSplat = (offset: number) => [0xfd, 0x09, 0, ...uleb(offset)];
const tee = (i: number) => [0x22, i];
/** for (local[i] = 0; local[i] < local[limit]; local[i] += step) body */
const forUp = (i: number, limit: number, step: number, body: number[]) => [...i32(0), ...set(i), op.block, op.void, op.loop, op.void, ...get(i), ...get(limit), op.geU, op.brIf, 1, ...body, ...addTo(i, i32(step)), op.br, 0, op.end, op.end];
const accVec = (r: number, half: number) => 14 + 2 * r + half;
const shl = 0x74;
const mul = 0x6c;
const outerAcc = forUp(8, 5, 4, forUp(9, 6, 8, [
  // ap = acc + (c0·O + o0)·4; load the 4 × 8 tile
  ...get(8), ...get(6), mul, ...get(9), op.add, ...i32(2), shl, ...get(4), op.add, ...set(13),
  ...[0, 1, 2, 3].flatMap((r) => [0, 1].flatMap((h) => [...get(13), ...get(6), ...i32(4 * r), mul, op.add, ...load(16 * h), ...set(accVec(r, h))])),
  // xp = x + c0·4, dp = dy + o0·4
  ...get(0), ...get(8), ...i32(2), shl, op.add, ...set(11),
  ...get(2), ...get(9), ...i32(2), shl, op.add, ...set(12),
  ...forUp(10, 7, 1, [
    ...get(12), ...load(0), ...set(22),
    ...get(12), ...load(16), ...set(23),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...get(11), ...loadSplat(4 * r), ...tee(24),
      ...get(22), ...v(simd.f32x4Mul), ...get(accVec(r, 0)), ...v(simd.f32x4Add), ...set(accVec(r, 0)),
      ...get(24), ...get(23), ...v(simd.f32x4Mul), ...get(accVec(r, 1)), ...v(simd.f32x4Add), ...set(accVec(r, 1)),
    ]),
    ...addTo(11, get(1)),
    ...addTo(12, get(3)),
  ]),
  ...[0, 1, 2, 3].flatMap((r) => [0, 1].flatMap((h) => [...get(13), ...get(6), ...i32(4 * r), mul, op.add, ...get(accVec(r, h)), ...store(16 * h)])),
]));

// bnGradSums(x 0, dy 1, mean 2, sumDy 3, sumXdy 4, cb 5, rows 6; j 7, d 8 (v128))
const f32x4Sub = 0xe5;
const bnGradSums = countDown(6, [
  ...overBytes(7, 5, [
    ...get(1), ...get(7), op.add, ...v(simd.load, true), ...set(8),
    ...get(3), ...get(7), op.add, ...get(3), ...get(7), op.add, ...v(simd.load, true), ...get(8), ...v(simd.f32x4Add), ...v(simd.store, true),
    ...get(4), ...get(7), op.add,
    ...get(4), ...get(7), op.add, ...v(simd.load, true),
    ...get(0), ...get(7), op.add, ...v(simd.load, true), ...get(2), ...get(7), op.add, ...v(simd.load, true), ...v(f32x4Sub), ...get(8), ...v(simd.f32x4Mul),
    ...v(simd.f32x4Add), ...v(simd.store, true),
  ]),
  ...addTo(0, get(5)),
  ...addTo(1, get(5)),
]);

// copyRuns(src 0, srcStep 1, dst 2, dstStep 3, rb 4, count 5; j 6)
const copyRuns = countDown(5, [
  ...overBytes(6, 4, [...get(2), ...get(6), op.add, ...get(0), ...get(6), op.add, ...v(simd.load, true), ...v(simd.store, true)]),
  ...addTo(0, get(1)),
  ...addTo(2, get(3)),
]);

// scaleAcc(dy 0, w 1, out 2, outStep 3, cb 4, rows 5; j 6)
const scaleAcc = countDown(5, [
  ...overBytes(6, 4, [
    ...get(2), ...get(6), op.add,
    ...get(2), ...get(6), op.add, ...v(simd.load, true),
    ...get(0), ...get(6), op.add, ...v(simd.load, true), ...get(1), ...get(6), op.add, ...v(simd.load, true), ...v(simd.f32x4Mul),
    ...v(simd.f32x4Add), ...v(simd.store, true),
  ]),
  ...addTo(0, get(4)),
  ...addTo(2, get(3)),
]);

// adam(w 0, m 1, v 2, g 3, wOut 4, mOut 5, vOut 6, nb 7, β₁ 8, 1−β₁ 9, β₂ 10, 1−β₂ 11, 1−β₁ᵗ 12,
//      1−β₂ᵗ 13, ε 14, −lr 15; j 16, gv 17, m′ 18, v′ 19, splats of params 8..15 in 20..27)
const f32x4Div = 0xe7;
const f32x4Sqrt = 0xe3;
const at = (base: number) => [...get(base), ...get(16), op.add];
const adam = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => [...get(8 + k), ...v(simd.splat), ...set(20 + k)]),
  ...overBytes(16, 7, [
    // m′ = m·β₁ + g·(1−β₁)
    ...at(5),
    ...at(1), ...v(simd.load, true), ...get(20), ...v(simd.f32x4Mul),
    ...at(3), ...v(simd.load, true), ...tee(17), ...get(21), ...v(simd.f32x4Mul),
    ...v(simd.f32x4Add), ...tee(18), ...v(simd.store, true),
    // v′ = v·β₂ + (g·g)·(1−β₂)
    ...at(6),
    ...at(2), ...v(simd.load, true), ...get(22), ...v(simd.f32x4Mul),
    ...get(17), ...get(17), ...v(simd.f32x4Mul), ...get(23), ...v(simd.f32x4Mul),
    ...v(simd.f32x4Add), ...tee(19), ...v(simd.store, true),
    // w′ = ((m′ / (1−β₁ᵗ)) / (√(v′ / (1−β₂ᵗ)) + ε)) · (−lr) + w
    ...at(4),
    ...get(18), ...get(24), ...v(f32x4Div),
    ...get(19), ...get(25), ...v(f32x4Div), ...v(f32x4Sqrt), ...get(26), ...v(simd.f32x4Add),
    ...v(f32x4Div), ...get(27), ...v(simd.f32x4Mul),
    ...at(0), ...v(simd.load, true), ...v(simd.f32x4Add),
    ...v(simd.store, true),
  ]),
];

// tapRow3(x 0, xStep 1, tapStep 2, dy 3, acc 4, cb 5, rows 6;
//         c 7, k 8, xp 9, dp 10, a0 11, a1 12, a2 13, d 14 (v128))
const tapRow3 = forUp(7, 5, 16, [
  ...get(4), ...get(7), op.add, ...v(simd.load, true), ...set(11),
  ...get(4), ...get(5), op.add, ...get(7), op.add, ...v(simd.load, true), ...set(12),
  ...get(4), ...get(5), op.add, ...get(5), op.add, ...get(7), op.add, ...v(simd.load, true), ...set(13),
  ...get(0), ...get(7), op.add, ...set(9),
  ...get(3), ...get(7), op.add, ...set(10),
  ...get(6), ...set(8),
  ...countDown(8, [
    ...get(10), ...load(0), ...set(14),
    ...get(9), ...load(0), ...get(14), ...v(simd.f32x4Mul), ...get(11), ...v(simd.f32x4Add), ...set(11),
    ...get(9), ...get(2), op.add, ...load(0), ...get(14), ...v(simd.f32x4Mul), ...get(12), ...v(simd.f32x4Add), ...set(12),
    ...get(9), ...get(2), op.add, ...get(2), op.add, ...load(0), ...get(14), ...v(simd.f32x4Mul), ...get(13), ...v(simd.f32x4Add), ...set(13),
    ...addTo(9, get(1)),
    ...addTo(10, get(5)),
  ]),
  ...get(4), ...get(7), op.add, ...get(11), ...store(0),
  ...get(4), ...get(5), op.add, ...get(7), op.add, ...get(12), ...store(0),
  ...get(4), ...get(5), op.add, ...get(5), op.add, ...get(7), op.add, ...get(13), ...store(0),
]);

// gatherRow3(dy 0, tapStep 1, w 2, dx 3, cb 4, cols 5; c 6, k 7, dp 8, xp 9, w0 10, w1 11, w2 12, a 13 (v128))
const gatherRow3 = forUp(6, 4, 16, [
  ...get(2), ...get(6), op.add, ...v(simd.load, true), ...set(10),
  ...get(2), ...get(4), op.add, ...get(6), op.add, ...v(simd.load, true), ...set(11),
  ...get(2), ...get(4), op.add, ...get(4), op.add, ...get(6), op.add, ...v(simd.load, true), ...set(12),
  ...get(0), ...get(6), op.add, ...set(8),
  ...get(3), ...get(6), op.add, ...set(9),
  ...get(5), ...set(7),
  ...countDown(7, [
    ...get(9),
    ...get(9), ...load(0),
    ...get(8), ...load(0), ...get(10), ...v(simd.f32x4Mul), ...v(simd.f32x4Add),
    ...get(8), ...get(1), op.sub, ...load(0), ...get(11), ...v(simd.f32x4Mul), ...v(simd.f32x4Add),
    ...get(8), ...get(1), op.sub, ...get(1), op.sub, ...load(0), ...get(12), ...v(simd.f32x4Mul), ...v(simd.f32x4Add),
    ...store(0),
    ...addTo(8, get(4)),
    ...addTo(9, get(4)),
  ]),
]);

// centredSquares(x 0, mean 1, acc 2, cb 3, rows 4; j 5, d 6 (v128))
const centredSquares = countDown(4, [
  ...overBytes(5, 3, [
    ...get(2), ...get(5), op.add,
    ...get(2), ...get(5), op.add, ...v(simd.load, true),
    ...get(0), ...get(5), op.add, ...v(simd.load, true), ...get(1), ...get(5), op.add, ...v(simd.load, true), ...v(f32x4Sub), ...tee(6),
    ...get(6), ...v(simd.f32x4Mul),
    ...v(simd.f32x4Add), ...v(simd.store, true),
  ]),
  ...addTo(0, get(3)),
]);

// affineCentred(x 0, mean 1, a 2, b 3, out 4, cb 5, rows 6; j 7)
const affineCentred = countDown(6, [
  ...overBytes(7, 5, [
    ...get(4), ...get(7), op.add,
    ...get(2), ...get(7), op.add, ...v(simd.load, true),
    ...get(0), ...get(7), op.add, ...v(simd.load, true), ...get(1), ...get(7), op.add, ...v(simd.load, true), ...v(f32x4Sub),
    ...get(3), ...get(7), op.add, ...v(simd.load, true), ...v(simd.f32x4Mul),
    ...v(simd.f32x4Add), ...v(simd.store, true),
  ]),
  ...addTo(0, get(5)),
  ...addTo(4, get(5)),
]);

const V128 = 0x7b;
const FUNCTIONS: { name: keyof SimdLoops; params: number[]; locals: number[]; body: number[] }[] = [
  { name: 'mulAcc', params: [I32, I32, I32, I32, I32, I32], locals: [I32], body: mulAcc },
  { name: 'outerAcc', params: [I32, I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128], body: outerAcc },
  { name: 'colSum', params: [I32, I32, I32, I32], locals: [I32], body: colSum },
  { name: 'scaleAcc', params: [I32, I32, I32, I32, I32, I32], locals: [I32], body: scaleAcc },
  { name: 'copyRuns', params: [I32, I32, I32, I32, I32, I32], locals: [I32], body: copyRuns },
  { name: 'bnGradSums', params: [I32, I32, I32, I32, I32, I32, I32], locals: [I32, V128], body: bnGradSums },
  { name: 'clipGrad', params: [I32, I32, I32, I32, F32, F32], locals: [I32, V128], body: clipGrad },
  { name: 'reluGrad', params: [I32, I32, I32, I32], locals: [I32], body: reluGrad },
  { name: 'tapRow3', params: [I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, V128, V128, V128, V128], body: tapRow3 },
  { name: 'gatherRow3', params: [I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, V128, V128, V128, V128], body: gatherRow3 },
  { name: 'centredSquares', params: [I32, I32, I32, I32, I32], locals: [I32, V128], body: centredSquares },
  { name: 'affineCentred', params: [I32, I32, I32, I32, I32, I32, I32], locals: [I32], body: affineCentred },
  { name: 'adam', params: [I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32], locals: [I32, ...Array<number>(11).fill(V128)], body: adam },
];

function section(id: number, bytes: number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const types = FUNCTIONS.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]);
  const bodies = FUNCTIONS.map((f) => {
    const body = [...vec(f.locals.map((l) => [1, l])), ...f.body, op.end];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec(FUNCTIONS.map((_, i) => uleb(i)))),
    ...section(7, vec(FUNCTIONS.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(bodies)),
  ]);
}

let compiled: object | null = null;
const instances = new WeakMap<WasmMemory, SimdLoops>();

/** The loops bound to `backend`'s heap (compiled once, instantiated once per heap). */
export function simdLoops(backend: unknown): SimdLoops {
  const memory = (backend as WasmBackendModule).wasm.asm.memory;
  let loops = instances.get(memory);
  if (!loops) {
    compiled ??= new WebAssembly.Module(moduleBytes());
    loops = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as SimdLoops;
    instances.set(memory, loops);
  }
  return loops;
}
