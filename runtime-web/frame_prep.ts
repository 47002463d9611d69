/**
 * Frames as the engines take them, on either engine's thread: turned upright and mirrored
 * (`rotation`, `mirror`) on an OffscreenCanvas (quarter turns and flips at scale 1 move pixels
 * without resampling them), and, for the lean ONNX Runtime engine that has no tfjs, read back as
 * RGBA bytes.
 */
import type { Rotation } from './segmenter_api.js';

/** An ImageBitmap of `frame` rotated clockwise by `rotation` and mirrored left to right by `mirror`; closes `frame`. */
export function orientFrame(frame: ImageBitmap, rotation: Rotation, mirror: boolean): ImageBitmap {
  if (rotation === 0 && !mirror) return frame;
  const quarter = rotation === 90 || rotation === 270;
  const canvas = new OffscreenCanvas(quarter ? frame.height : frame.width, quarter ? frame.width : frame.height);
  const ctx = canvas.getContext('2d')!;
  if (mirror) {
    ctx.translate(canvas.width, 0);
    ctx.scale(-1, 1);
  }
  ctx.translate(canvas.width / 2, canvas.height / 2);
  ctx.rotate((rotation * Math.PI) / 180);
  ctx.drawImage(frame, -frame.width / 2, -frame.height / 2);
  frame.close();
  return canvas.transferToImageBitmap();
}

/** An ImageBitmap of any frame the engines receive (a VideoFrame is closed after the copy). */
export async function toBitmap(input: ImageBitmap | VideoFrame): Promise<ImageBitmap> {
  if (input instanceof ImageBitmap) return input;
  try {
    return await createImageBitmap(input, { colorSpaceConversion: 'none' });
  } finally {
    input.close();
  }
}

let scratch: OffscreenCanvas | null = null;

/** The RGBA bytes of `frame` (left open). */
export function readPixels(frame: ImageBitmap): Uint8ClampedArray {
  if (!scratch || scratch.width !== frame.width || scratch.height !== frame.height) scratch = new OffscreenCanvas(frame.width, frame.height);
  const ctx = scratch.getContext('2d', { willReadFrequently: true })!;
  ctx.clearRect(0, 0, frame.width, frame.height);
  ctx.drawImage(frame, 0, 0);
  return ctx.getImageData(0, 0, frame.width, frame.height, { colorSpace: 'srgb' }).data;
}
