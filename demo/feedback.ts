/**
 * "Correct this frame": freezes a frame and its mask, lets a person repaint classes with a brush,
 * and posts the frame and the class-id mask (PNG, core's codec) to a feedback URL with a bearer
 * token. The URL and token are kept in localStorage.
 */
import { encodeMaskPng, INPUT_SIZE, toBase64 } from '../core/index.js';
import { drawOverlay, type Segmenter } from '../runtime-web/index.js';

interface FeedbackDeps {
  video: HTMLVideoElement;
  still: HTMLCanvasElement;
  segmenter(): Segmenter | null;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function initFeedback(deps: FeedbackDeps): void {
  const paint = $<HTMLCanvasElement>('paint');
  const ctx = paint.getContext('2d')!;
  const url = $<HTMLInputElement>('feedback-url');
  const token = $<HTMLInputElement>('feedback-token');
  const status = $('feedback-status');
  // The demo server receives feedback itself; another endpoint (runtime-node's) can be set here.
  url.value = localStorage.getItem('edgeseg.feedbackUrl') ?? new URL('/feedback', location.href).href;
  token.value = localStorage.getItem('edgeseg.feedbackToken') ?? '';
  url.addEventListener('change', () => localStorage.setItem('edgeseg.feedbackUrl', url.value));
  token.addEventListener('change', () => localStorage.setItem('edgeseg.feedbackToken', token.value));

  // The frozen frame at model resolution, and the mask being corrected.
  const frame = new OffscreenCanvas(INPUT_SIZE, INPUT_SIZE);
  let mask: Uint8Array | null = null;

  const redraw = () => {
    ctx.drawImage(frame, 0, 0, paint.width, paint.height);
    if (mask) drawOverlay(ctx, { mask, width: INPUT_SIZE, height: INPUT_SIZE }, { opacity: 0.5, includeBackground: false });
  };

  $('freeze').addEventListener('click', async () => {
    const seg = deps.segmenter();
    if (!seg) return;
    const source = deps.still.hidden ? deps.video : deps.still;
    frame.getContext('2d')!.drawImage(source, 0, 0, INPUT_SIZE, INPUT_SIZE);
    const r = await seg.segment(await createImageBitmap(frame, { colorSpaceConversion: 'none' }));
    mask = r.mask.slice();
    status.textContent = 'frame frozen: paint corrections, then send';
    redraw();
  });

  let painting = false;
  const brush = (e: PointerEvent) => {
    if (!painting || !mask) return;
    const rect = paint.getBoundingClientRect();
    const cx = ((e.clientX - rect.left) / rect.width) * INPUT_SIZE;
    const cy = ((e.clientY - rect.top) / rect.height) * INPUT_SIZE;
    const cls = Number((document.querySelector('input[name=brush]:checked') as HTMLInputElement).value);
    const r = Number($<HTMLInputElement>('brush-size').value) / 2;
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(INPUT_SIZE, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(INPUT_SIZE, Math.ceil(cx + r)); x++) {
        if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) mask[y * INPUT_SIZE + x] = cls;
      }
    }
    redraw();
  };
  paint.addEventListener('pointerdown', (e) => {
    painting = true;
    brush(e);
  });
  paint.addEventListener('pointermove', brush);
  window.addEventListener('pointerup', () => (painting = false));

  const send = async (kind: 'accepted' | 'corrected') => {
    if (!mask) return void (status.textContent = 'freeze a frame first ("use current frame")');
    if (!url.value) return void (status.textContent = 'set the feedback URL first');
    const image = await frame.convertToBlob({ type: 'image/png' });
    const body = {
      frameId: crypto.randomUUID(),
      mask: toBase64(encodeMaskPng({ data: mask, width: INPUT_SIZE, height: INPUT_SIZE })),
      image: toBase64(new Uint8Array(await image.arrayBuffer())),
      source: `demo:${kind}`,
      labeler: 'browser',
      modelVersion: deps.segmenter()?.info.modelVersion ?? null,
      at: new Date().toISOString(),
    };
    try {
      const res = await fetch(url.value, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token.value}` }, body: JSON.stringify(body) });
      status.textContent = res.ok ? `sent ${body.frameId}` : `refused: HTTP ${res.status} ${await res.text()}`;
    } catch (err) {
      status.textContent = `send failed: ${(err as Error).message}`;
    }
  };
  $('accept').addEventListener('click', () => void send('accepted'));
  $('send').addEventListener('click', () => void send('corrected'));
}
