/**
 * Channel-order transposes between NHWC (edgeseg's batches and logits) and NCHW (an imported
 * PyTorch-style ONNX model's), on values in memory: what the ONNX Runtime runner does at the
 * boundary of a model whose card declares NCHW.
 */

/** [n, h, w, c] → [n, c, h, w]. */
export function nhwcToNchw(data: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * plane * c;
    for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[base + k * plane + p] = data[base + p * c + k];
  }
  return out;
}

/** [n, c, h, w] → [n, h, w, c]. */
export function nchwToNhwc(data: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * plane * c;
    for (let k = 0; k < c; k++) for (let p = 0; p < plane; p++) out[base + p * c + k] = data[base + k * plane + p];
  }
  return out;
}
