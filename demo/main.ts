/**
 * The live demo: camera or a photo (picked or dropped) → runtime-web (worker) → overlay, with
 * stats, the time to the first mask, a model/backend/engine picker, a line saying which backend
 * and engine `auto` chose and why (with the measured table), a re-measure button and a "correct
 * this frame" panel. During a rollout the model index assigns this browser an arm by its stable
 * client id (kept in localStorage), picked by default and shown in the stats. The frame keeps its
 * own aspect ratio; masks come at the frame's size (bilinear logits, then argmax) and are drawn
 * by `drawMask` as an overlay, a cutout or a blurred background. Query parameters: `model` (URL
 * of a version directory), `backend`, `engine`, `mode` (overlay | cutout | blur), `camera=0` (do
 * not start the camera).
 */
import { browserClientId, createSegmenter, drawMask, fetchModelIndex, type SegmentationResult, type Segmenter, type SegmenterInfo, type StreamHandle, type WebBackend, type WebEngine } from '../runtime-web/index.js';
import { type ModelIndexEntry } from '../core/index.js';
import { percentile } from '../core/metrics.js';
import { initFeedback } from './feedback.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const video = $<HTMLVideoElement>('video');
const overlay = $<HTMLCanvasElement>('overlay').getContext('2d')!;
const still = $<HTMLCanvasElement>('still');
const status = $('status');
const modelSelect = $<HTMLSelectElement>('model');
const backendSelect = $<HTMLSelectElement>('backend');
const engineSelect = $<HTMLSelectElement>('engine');
const opacity = $<HTMLInputElement>('opacity');
const modeSelect = $<HTMLSelectElement>('mode');
const stage = $('stage');

let segmenter: Segmenter | null = null;
let models: ModelIndexEntry[] = [];
let stream: StreamHandle | null = null;
const latencies: number[] = [];
const stamps: number[] = [];
let tensors = 0;
/** createSegmenter called → first mask drawn, ms (load, verify, warm-up and the first frame). */
let firstMaskMs: number | null = null;
let loadStarted = 0;

/** Writes the stats panel; every value is also a data attribute (`data-frames`, …) for scripts. */
function renderStats(): void {
  const s = stream?.stats();
  const fps = stamps.length > 1 ? ((stamps.length - 1) * 1000) / (stamps[stamps.length - 1] - stamps[0]) : 0;
  const info = segmenter?.info;
  const rows: [string, string, string | number][] = [
    ['backend', 'backend', info?.backend ?? '-'],
    ['model', 'model', info?.modelVersion ?? '-'],
    ['arm', 'arm', models.find((m) => m.url === modelSelect.value)?.arm ?? '-'],
    ['precision', 'precision', info?.card.precision ?? '-'],
    ['size', 'bytes', info ? info.bytes : 0],
    ['input size', 'input-size', info ? `${info.inputSize.width}×${info.inputSize.height}` : '-'],
    ['output size', 'output-size', lastOutput],
    ['load + warm-up', 'load-ms', info ? Math.round(info.loadMs) : 0],
    ['first mask ms', 'first-mask-ms', firstMaskMs === null ? '-' : Math.round(firstMaskMs)],
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

/** The line saying which backend and engine serve and why, and the table `auto` measured. */
function renderChoice(info: SegmenterInfo): void {
  const c = info.choice;
  $('choice').textContent = `${c.chosen} (backend ${info.backend}, engine ${info.engine.chosen}${info.engine.provider ? ` on ${info.engine.provider}` : ''}): ${c.calibrating ? 'measuring the others… ' : ''}${c.reason}`;
  document.body.dataset.chosen = c.chosen;
  document.body.dataset.choiceReason = c.reason;
  document.body.dataset.calibrating = String(c.calibrating);
  const ms = (v: number | null) => (v === null ? '-' : v.toFixed(1));
  const head = '<tr><th>candidate</th><th>status</th><th>ms/run</th><th>warm-up ms</th><th>why</th></tr>';
  $('choice-table').innerHTML = c.table.length ? head : '';
  for (const r of c.table) {
    const tr = document.createElement('tr');
    for (const v of [r.candidate, r.status, ms(r.medianMs), ms(r.warmupMs), r.reason ?? '']) tr.insertCell().textContent = v;
    $('choice-table').append(tr);
  }
}

/** Output size of the last mask, for the stats. */
let lastOutput = '-';

/** The stage takes the frame's aspect ratio (nothing is squashed), and the overlay canvas its pixels. */
function fitStage(width: number, height: number): void {
  stage.style.aspectRatio = `${width} / ${height}`;
  if (overlay.canvas.width !== width || overlay.canvas.height !== height) {
    overlay.canvas.width = width;
    overlay.canvas.height = height;
  }
}

function onResult(r: SegmentationResult): void {
  if (firstMaskMs === null) firstMaskMs = performance.now() - loadStarted;
  if (segmenter && r.candidate !== segmenter.info.choice.chosen) void segmenter.whenCalibrated().then(renderChoice);
  const m = r.categoryMask;
  if (m) {
    fitStage(m.width, m.height);
    lastOutput = `${m.width}×${m.height}`;
  }
  const mode = modeSelect.value as 'overlay' | 'cutout' | 'blur';
  overlay.clearRect(0, 0, overlay.canvas.width, overlay.canvas.height);
  drawMask(overlay, r, { mode, opacity: Number(opacity.value), frame: still.hidden ? video : still });
  document.body.dataset.mode = mode;
  for (const x of [m, ...(r.confidenceMasks ?? [])]) x?.close();
  latencies.push(r.timings.total);
  if (latencies.length > 200) latencies.shift();
  stamps.push(performance.now());
  if (stamps.length > 30) stamps.shift();
  renderStats();
}

/** The registry index for this browser: during a rollout, the version of its arm comes first. */
function loadModels(): Promise<ModelIndexEntry[]> {
  return fetchModelIndex({ client: browserClientId() });
}

async function start(recalibrate = false): Promise<void> {
  await stream?.stop();
  stream = null;
  await segmenter?.close();
  segmenter = null;
  status.textContent = 'loading model…';
  firstMaskMs = null;
  loadStarted = performance.now();
  try {
    // Masks at the frame's size; cutout and blur use the background's confidence for soft edges.
    segmenter = await createSegmenter({
      model: modelSelect.value,
      backend: backendSelect.value as WebBackend | 'auto',
      engine: engineSelect.value as WebEngine | 'auto',
      recalibrate,
      outputSize: 'input',
      outputs: { categoryMask: true, confidenceMasks: modeSelect.value !== 'overlay' },
    });
  } catch (err) {
    status.textContent = `model failed: ${(err as Error).message}`;
    document.body.dataset.error = (err as Error).message;
    throw err;
  }
  const skipped = Object.entries(segmenter.info.skipped).map(([b, why]) => `${b}: ${why}`);
  status.textContent = `ready on ${segmenter.info.backend}${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}`;
  document.body.dataset.ready = 'true';
  renderChoice(segmenter.info);
  const current = segmenter;
  void current.whenCalibrated().then((info) => current === segmenter && renderChoice(info));
  renderStats();
  if (video.srcObject) {
    startStream();
    status.textContent = `camera on: ${video.videoWidth}×${video.videoHeight}, segmenting on ${segmenter.info.backend}`;
  } else if (!still.hidden && lastPhoto) void showPhoto(lastPhoto);
}

function startStream(): void {
  if (!segmenter || stream) return;
  stream = segmenter.segmentStream(video, onResult, (err) => (status.textContent = `frame failed: ${err.message}`));
}

/**
 * Starts the camera. The status says what is true: the camera's size once it plays, or why there
 * is none. A play() cut short by a newer load (the camera restarted, a photo chosen) is no
 * failure: whoever loaded next reports.
 */
async function startCamera(): Promise<void> {
  let media: MediaStream;
  try {
    media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (err) {
    status.textContent = `no camera (${(err as Error).message}): choose a still image instead`;
    document.body.dataset.camera = 'none';
    return;
  }
  video.srcObject = media;
  try {
    await video.play();
  } catch (err) {
    if ((err as DOMException).name === 'AbortError') return;
    status.textContent = `camera found but cannot play (${(err as Error).message}): choose a still image instead`;
    document.body.dataset.camera = 'none';
    return;
  }
  still.hidden = true;
  fitStage(video.videoWidth, video.videoHeight);
  status.textContent = `camera on: ${video.videoWidth}×${video.videoHeight}, segmenting on ${segmenter?.info.backend ?? '-'}`;
  document.body.dataset.camera = 'on';
  startStream();
}

let lastPhoto: Blob | null = null;

/** Segments a photo (picked or dropped) instead of the camera. */
async function showPhoto(file: Blob): Promise<void> {
  if (!segmenter) return;
  lastPhoto = file;
  await stream?.stop();
  stream = null;
  video.pause();
  video.srcObject = null;
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none' });
  still.width = bitmap.width;
  still.height = bitmap.height;
  still.getContext('2d')!.drawImage(bitmap, 0, 0);
  still.hidden = false;
  fitStage(bitmap.width, bitmap.height);
  status.textContent = `photo: ${bitmap.width}×${bitmap.height}`;
  // The demo's bitmap stays open (no transfer) and is closed here, once segmented.
  onResult(await segmenter.segment(bitmap).finally(() => bitmap.close()));
}

$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void showPhoto(file);
});
stage.addEventListener('dragover', (e) => {
  e.preventDefault();
  stage.classList.add('dragging');
});
stage.addEventListener('dragleave', () => stage.classList.remove('dragging'));
stage.addEventListener('drop', (e) => {
  e.preventDefault();
  stage.classList.remove('dragging');
  const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (file) void showPhoto(file);
  else status.textContent = 'drop an image file (JPEG, PNG, WebP, GIF)';
});
$('remeasure').addEventListener('click', () => void start(true));
engineSelect.addEventListener('change', () => void start());
// Confidence masks are asked for only in the modes that use them.
modeSelect.addEventListener('change', () => void start());
$('camera').addEventListener('click', () => void startCamera());
modelSelect.addEventListener('change', () => void start());
backendSelect.addEventListener('change', () => void start());
setInterval(async () => {
  if (!segmenter) return;
  tensors = (await segmenter.memory()).numTensors;
  renderStats();
}, 1000);

initFeedback({ video, still, segmenter: () => segmenter });

models = await loadModels().catch((err: Error) => {
  status.textContent = `cannot list models: ${err.message}`;
  return [] as ModelIndexEntry[];
});
const wanted = params.get('model');
if (wanted && !models.some((m) => m.url === wanted)) models.unshift({ url: wanted, name: wanted, version: '', precision: '', bytes: 0, aliases: [] });
for (const m of models) modelSelect.add(new Option(m.version ? `${m.name}@${m.version} ${m.precision}${m.aliases.length ? ` (${m.aliases.join(', ')})` : ''} · ${(m.bytes / 1024).toFixed(0)} KiB` : m.url, m.url));
if (wanted) modelSelect.value = wanted;
backendSelect.value = params.get('backend') ?? 'auto';
modeSelect.value = params.get('mode') ?? 'overlay';
engineSelect.value = params.get('engine') ?? 'auto';
if (models.length) {
  await start();
  if (params.get('camera') !== '0') await startCamera();
}
