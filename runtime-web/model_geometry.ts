/** What the engines serve by: core's geometry of the card (input size, class count), its labels and background class. */
import type { ModelCard } from '../core/card.js';
import { backgroundClassOf, geometryOf, type ModelGeometry } from '../core/contract.js';
import type { FrameWindow, OutputSize } from '../core/output_geometry.js';

export interface ServedGeometry extends ModelGeometry {
  /** The card's class labels, index = class id. */
  labels: readonly string[];
  /** The class labelled `background` (drawn transparent), or null. */
  background: number | null;
}

export function servedGeometry(card: ModelCard): ServedGeometry {
  return { ...geometryOf(card), labels: card.contract.classes, background: backgroundClassOf(card) };
}

/**
 * The part of the model's grid an output samples: the frame's window for `input` and sizes in
 * pixels (mapped back to the frame), the whole grid for `model` (the model's own output as it saw
 * the fitted frame, letterbox bands included).
 */
export function samplingWindow(size: OutputSize, frame: FrameWindow, g: ModelGeometry): FrameWindow {
  return size === 'model' ? { x: 0, y: 0, width: g.width, height: g.height } : frame;
}
