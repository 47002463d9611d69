/** A mask drawn as a picture inside the worker (SegmentationMask.toImageBitmap). */
import { maskToRgba } from '../core/overlay.js';
import type { ServedGeometry } from './model_geometry.js';
import type { RawMask } from './protocol.js';

/**
 * The category mask in the classes' colours (opaque, the background class transparent), or one
 * class's confidence as white with the probability as alpha, as an ImageBitmap to transfer.
 */
export function drawMaskBitmap(mask: RawMask, classIndex: number | null, g: ServedGeometry): ImageBitmap {
  const { width, height } = mask;
  let rgba: Uint8ClampedArray<ArrayBuffer>;
  if (mask.ids) {
    rgba = maskToRgba(mask.ids, { opacity: 1, classes: g.classes, background: g.background });
  } else {
    const plane = mask.planes!.subarray((classIndex ?? 0) * width * height, ((classIndex ?? 0) + 1) * width * height);
    rgba = new Uint8ClampedArray(width * height * 4).fill(255);
    for (let i = 0; i < plane.length; i++) rgba[i * 4 + 3] = plane[i] * 255;
  }
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d')!.putImageData(new ImageData(rgba, width, height), 0, 0);
  return canvas.transferToImageBitmap();
}
