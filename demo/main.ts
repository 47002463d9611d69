/**
 * The live demo: camera → runtime-web (worker) → overlay, with stats, a model/backend picker, a
 * still-image fallback and a "correct this frame" panel. Query parameters: `model` (URL of a
 * version directory), `backend`, `camera=0` (do not start the camera).
 */
import { createSegmenter, drawOverlay, type SegmentationResult, type Segmenter, type StreamHandle, type WebBackend } from '../runtime-web/index.js';
import { percentile, type ModelIndexEntry } from '../core/index.js';
import { initFeedback } from './feedback.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const video = $<HTMLVideoElement>('video');
const overlay = $<HTMLCanvasElement>('overlay').getContext('2d')!;
const still = $<HTMLCanvasElement>('still');
const status = $('status');
const modelSelect = $<HTMLSelectElement>('model');
const backendSelect = $<HTMLSelectElement>('backend');
const opacity = $<HTMLInputElement>('opacity');

let segmenter: Segmenter | null = null;
let stream: StreamHandle | null = null;
const latencies: number[] = [];
const stamps: number[] = [];
let tensors = 0;

/** Writes the stats panel; every value is also a data attribute (`data-frames`, …) for scripts. */
function renderStats(): void {
  const s = stream?.stats();
  const fps = stamps.length > 1 ? ((stamps.length - 1) * 1000) / (stamps[stamps.length - 1] - stamps[0]) : 0;
  const info = segmenter?.info;
  const rows: [string, string, string | number][] = [
    ['backend', 'backend', info?.backend ?? '-'],
    ['model', 'model', info?.modelVersion ?? '-'],
    ['precision', 'precision', info?.card.precision ?? '-'],
    ['size', 'bytes', info ? info.bytes : 0],
    ['load + warm-up', 'load-ms', info ? Math.round(info.loadMs) : 0],
    ['frames', 'frames', s?.frames ?? 0],
    ['dropped', 'dropped', s?.dropped ?? 0],
    ['max waiting', 'max-waiting', s?.maxWaiting ?? 0],
    ['FPS', 'fps', fps.toFixed(1)],
    ['latency p50 ms', 'p50', percentile(latencies, 0.5).toFixed(1)],
    ['latency p95 ms', 'p95', percentile(latencies, 0.95).toFixed(1)],
    ['main thread ms/frame', 'main-ms', (s?.mainThreadMsPerFrame ?? 0).toFixed(2)],
    ['tensors', 'tensors', tensors],
  ];
  $('stats').replaceChildren(
    ...rows.flatMap(([label, key, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.dataset.key = key;
      dd.textContent = key === 'bytes' ? `${(Number(value) / 1024).toFixed(0)} KiB` : String(value);
      document.body.dataset[key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())] = String(value);
      return [dt, dd];
    }),
  );
}

function onResult(r: SegmentationResult): void {
  drawOverlay(overlay, r, { opacity: Number(opacity.value), clear: true });
  latencies.push(r.timings.total);
  if (latencies.length > 200) latencies.shift();
  stamps.push(performance.now());
  if (stamps.length > 30) stamps.shift();
  renderStats();
}

async function loadModels(): Promise<ModelIndexEntry[]> {
  const res = await fetch('/models/index.json');
  if (!res.ok) throw new Error(`/models/index.json: HTTP ${res.status}`);
  return (await res.json()) as ModelIndexEntry[];
}

async function start(): Promise<void> {
  await stream?.stop();
  stream = null;
  await segmenter?.close();
  segmenter = null;
  status.textContent = 'loading model…';
  try {
    segmenter = await createSegmenter({ model: modelSelect.value, backend: backendSelect.value as WebBackend | 'auto' });
  } catch (err) {
    status.textContent = `model failed: ${(err as Error).message}`;
    document.body.dataset.error = (err as Error).message;
    throw err;
  }
  const skipped = Object.entries(segmenter.info.skipped).map(([b, why]) => `${b}: ${why}`);
  status.textContent = `ready on ${segmenter.info.backend}${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}`;
  document.body.dataset.ready = 'true';
  renderStats();
  if (video.srcObject) startStream();
}

function startStream(): void {
  if (!segmenter || stream) return;
  stream = segmenter.segmentStream(video, onResult, (err) => (status.textContent = `frame failed: ${err.message}`));
}

async function startCamera(): Promise<void> {
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    await video.play();
    still.hidden = true;
    startStream();
  } catch (err) {
    status.textContent = `no camera (${(err as Error).message}): choose a still image instead`;
  }
}

$<HTMLInputElement>('file').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file || !segmenter) return;
  await stream?.stop();
  stream = null;
  video.pause();
  video.srcObject = null;
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none' });
  still.width = bitmap.width;
  still.height = bitmap.height;
  still.getContext('2d')!.drawImage(bitmap, 0, 0);
  still.hidden = false;
  onResult(await segmenter.segment(bitmap));
});
$('camera').addEventListener('click', () => void startCamera());
modelSelect.addEventListener('change', () => void start());
backendSelect.addEventListener('change', () => void start());
setInterval(async () => {
  if (!segmenter) return;
  tensors = (await segmenter.memory()).numTensors;
  renderStats();
}, 1000);

initFeedback({ video, still, segmenter: () => segmenter });

const models = await loadModels().catch((err: Error) => {
  status.textContent = `cannot list models: ${err.message}`;
  return [] as ModelIndexEntry[];
});
const wanted = params.get('model');
if (wanted && !models.some((m) => m.url === wanted)) models.unshift({ url: wanted, name: wanted, version: '', precision: '', bytes: 0, aliases: [] });
for (const m of models) modelSelect.add(new Option(m.version ? `${m.name}@${m.version} ${m.precision}${m.aliases.length ? ` (${m.aliases.join(', ')})` : ''} · ${(m.bytes / 1024).toFixed(0)} KiB` : m.url, m.url));
if (wanted) modelSelect.value = wanted;
backendSelect.value = params.get('backend') ?? 'auto';
if (models.length) {
  await start();
  if (params.get('camera') !== '0') await startCamera();
}
