/**
 * The contact sheet of a labelling run: an HTML page of thumbnails (photo with the teacher's trimap
 * blended over it: pet pink, border yellow) so a person can eyeball the labels before training on
 * them. Least confident first, since those are the ones worth a look; skipped photos follow with
 * their reason. Thumbnails are JPEG files beside the page.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { TRIMAP_OFFSET } from '../../core/contract.js';
import { decodePngChannel } from '../../core/mask_codec.js';
import { blendOverlay } from '../../core/overlay.js';
import { decodeImage } from '../../core/node/decode_image.js';
import { writeFileAtomic } from '../../core/node/fs_atomic.js';
import type { BorderRule } from './border.js';
import type { LabelRecord } from './manifest.js';

export const CONTACT_SHEET = 'contact-sheet.html';
const THUMBS = 'contact-sheet';
const THUMB_SIDE = 160;
const MAX_SKIPPED_SHOWN = 24;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Every k-th record so `n` of them span the whole run. */
function evenly<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]);
}

async function thumbnail(out: string, r: LabelRecord, withLabels: boolean): Promise<string | null> {
  try {
    const source = withLabels ? join(out, 'images', r.source.split('/').pop()!) : r.source;
    const image = await decodeImage(new Uint8Array(readFileSync(source)));
    let pixels: Uint8Array | Uint8ClampedArray = image.data;
    if (withLabels) {
      const trimap = decodePngChannel(new Uint8Array(readFileSync(join(out, 'annotations/trimaps', `${r.name}.png`))));
      pixels = blendOverlay(image.data, trimap.data.map((v) => v - TRIMAP_OFFSET), image.width, image.height, 3, { opacity: 0.5 });
    }
    const file = `${THUMBS}/${r.name}.jpg`;
    await sharp(pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(THUMB_SIDE, THUMB_SIDE, { fit: 'inside' })
      .jpeg({ quality: 80 })
      .toFile(join(out, file));
    return file;
  } catch {
    return null;
  }
}

/** Writes `<out>/contact-sheet.html` and its thumbnails for `size` labelled photos and the skipped ones. */
export async function writeContactSheet(out: string, records: LabelRecord[], o: { size: number; teacher: string; border: BorderRule }): Promise<string> {
  rmSync(join(out, THUMBS), { recursive: true, force: true });
  mkdirSync(join(out, THUMBS), { recursive: true });
  const labelled = records.filter((r) => r.status === 'labelled');
  const skipped = records.filter((r) => r.status === 'skipped');
  const shown = evenly(labelled, o.size).sort((a, b) => (a.confidence ?? 0) - (b.confidence ?? 0));
  const cards: string[] = [];
  for (const r of shown) {
    const file = await thumbnail(out, r, true);
    if (!file) continue;
    cards.push(
      `<figure><img src="${esc(file)}" loading="lazy" alt="${esc(r.name)}"><figcaption>${esc(r.name)}<br>confidence ${(r.confidence ?? 0).toFixed(3)} · pet ${(100 * (r.petShare ?? 0)).toFixed(1)}%</figcaption></figure>`,
    );
  }
  const skippedCards: string[] = [];
  for (const r of skipped.slice(0, MAX_SKIPPED_SHOWN)) {
    const file = existsSync(r.source) ? await thumbnail(out, r, false) : null;
    skippedCards.push(`<figure class="skip">${file ? `<img src="${esc(file)}" loading="lazy" alt="${esc(r.name)}">` : ''}<figcaption>${esc(r.name)} · ${esc(r.code ?? '')}<br>${esc(r.reason ?? '')}</figcaption></figure>`);
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Teacher labels: contact sheet</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;background:#fafafa;color:#222}
.grid{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;width:${THUMB_SIDE}px;background:#fff;border:1px solid #ddd;padding:4px}
figure img{width:${THUMB_SIDE}px;height:${THUMB_SIDE}px;object-fit:contain;background:#eee}
figcaption{font-size:11px;line-height:1.3;word-break:break-all}
.skip{border-color:#e57373}
.key span{display:inline-block;width:12px;height:12px;vertical-align:middle;margin:0 4px 0 10px}
</style></head><body>
<h1>Teacher labels</h1>
<p>Teacher <b>${esc(o.teacher)}</b>: ${labelled.length} photos labelled, ${skipped.length} skipped. Border band: ${(100 * o.border.inner).toFixed(1)}% inside and ${(100 * o.border.outer).toFixed(1)}% outside the teacher's outline (of √(width×height)).</p>
<p class="key">Overlay:<span style="background:rgb(255,64,129)"></span>pet<span style="background:rgb(255,214,0)"></span>border. ${shown.length} labelled photos spread over the run, least confident first.</p>
<div class="grid">${cards.join('\n')}</div>
<h2>Skipped (${skipped.length}${skipped.length > MAX_SKIPPED_SHOWN ? `, first ${MAX_SKIPPED_SHOWN} shown` : ''})</h2>
<div class="grid">${skippedCards.join('\n')}</div>
</body></html>
`;
  const path = join(out, CONTACT_SHEET);
  writeFileAtomic(path, html);
  return path;
}
