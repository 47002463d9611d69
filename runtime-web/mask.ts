/** SegmentationMask: one output mask of a frame, its pixels on the calling thread, drawn as a bitmap by the engine. */
import { ConfigError } from '../core/errors.js';
import type { RawMask } from './protocol.js';
import type { SegmentationMask } from './segmenter_results.js';

export class MaskImpl implements SegmentationMask {
  private raw: RawMask | null;

  constructor(
    raw: RawMask,
    readonly kind: 'category' | 'confidence',
    readonly classIndex: number | null,
    private readonly draw: (raw: RawMask, classIndex: number | null) => Promise<ImageBitmap>,
  ) {
    this.raw = raw;
  }

  get width(): number {
    return this.open().width;
  }

  get height(): number {
    return this.open().height;
  }

  private open(): RawMask {
    if (!this.raw) throw new ConfigError('this mask was closed; read it before close()');
    return this.raw;
  }

  /** This mask's own values: a class's plane of the confidence planes. */
  private values(): Uint8Array | Float32Array {
    const r = this.open();
    if (r.ids) return r.ids;
    const n = r.width * r.height;
    return r.planes!.subarray(this.classIndex! * n, (this.classIndex! + 1) * n);
  }

  toUint8Array(): Uint8Array {
    const v = this.values();
    return v instanceof Uint8Array ? v : Uint8Array.from(v, (p) => Math.round(p * 255));
  }

  toFloat32Array(): Float32Array {
    const v = this.values();
    return v instanceof Float32Array ? v : Float32Array.from(v);
  }

  toImageBitmap(): Promise<ImageBitmap> {
    const r = this.open();
    // Only this mask's pixels cross (a copy): the planes of the other classes stay here.
    const values = this.values();
    const one: RawMask = r.ids ? { width: r.width, height: r.height, ids: values.slice() as Uint8Array } : { width: r.width, height: r.height, planes: values.slice() as Float32Array, classes: 1 };
    return this.draw(one, r.ids ? null : 0);
  }

  close(): void {
    this.raw = null;
  }
}
