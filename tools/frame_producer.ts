/**
 * A frame producer for demos and load tests: N sensors, each publishing at a rate, frames taken
 * round-robin from any dataset spec (synthetic scenes are JPEG-encoded; file datasets send their
 * original bytes). Frames carry the edgeseg.frame.v1 headers and the dataset sample id.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { ConfigError, FRAME_SCHEMA, HEADER, RAW_RGB8, syntheticSample, type FrameContentType } from '../core/index.js';
import { parseDatasetSpecs } from '../core/dataset_spec.js';
import { sampleKey, type SampleRef } from '../datasets/sample_types.js';
import { listSources } from '../datasets/sources/index.js';
import type { OutRecord, Transport } from '../runtime-node/transport/transport.js';

/** What produceFrames sends: sensors, rate, source and count. */
export interface ProduceOptions {
  /** Frames topic. */
  topic: string;
  /** Dataset spec the frames come from. */
  source: string;
  /** @default 4 */
  sensors?: number;
  /** Frames per second per sensor; 0 = as fast as the broker takes them. @default 10 */
  fps?: number;
  /** Stop after this many frames in total. @default 100 */
  count?: number;
  /** Stop after this long. @default 3600 (s) */
  durationSec?: number;
  /** `jpeg` (encoded frames) or `raw` (application/x-rgb8). @default 'jpeg' */
  format?: 'jpeg' | 'raw';
  /** Resize frames to this width×height before encoding (e.g. 640x480). @default the source's size */
  size?: [number, number];
  /** Prefix of frame ids. @default 'f' */
  idPrefix?: string;
  /** Tick the sensors start at (frames are taken from the source by tick and sensor), so a later call continues through the source. @default 0 */
  startTick?: number;
  onProgress?(sent: number): void;
}

const MAGIC: [FrameContentType, number[]][] = [
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/png', [0x89, 0x50, 0x4e, 0x47]],
  ['image/webp', [0x52, 0x49, 0x46, 0x46]],
];

async function encodeFrame(ref: SampleRef, format: 'jpeg' | 'raw', size?: [number, number]): Promise<{ bytes: Buffer; contentType: FrameContentType; width?: number; height?: number }> {
  let img: ReturnType<typeof sharp>;
  if (ref.kind === 'synthetic') {
    const s = syntheticSample(ref.index, ref);
    img = sharp(s.image.data, { raw: { width: s.image.width, height: s.image.height, channels: 3 } });
  } else {
    const bytes = readFileSync(ref.image);
    if (format === 'jpeg' && !size) {
      const type = MAGIC.find(([, m]) => m.every((b, i) => bytes[i] === b))?.[0];
      if (type) return { bytes, contentType: type };
    }
    img = sharp(bytes);
  }
  if (size) img = img.resize(size[0], size[1], { fit: 'fill' });
  if (format === 'raw') {
    const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { bytes: data, contentType: RAW_RGB8, width: info.width, height: info.height };
  }
  return { bytes: await img.jpeg({ quality: 90 }).toBuffer(), contentType: 'image/jpeg' };
}

/** Publishes frames; returns how many were sent. */
export async function produceFrames(transport: Transport, o: ProduceOptions): Promise<number> {
  const sensors = o.sensors ?? 4;
  const fps = o.fps ?? 10;
  const count = o.count ?? 100;
  const deadline = Date.now() + (o.durationSec ?? 3600) * 1000;
  if (!(sensors >= 1 && Number.isInteger(sensors))) throw new ConfigError(`--sensors must be an integer ≥ 1, got ${sensors}`);
  if (!(fps >= 0)) throw new ConfigError(`--fps must be ≥ 0, got ${fps}`);
  const refs = listSources(parseDatasetSpecs(o.source)).refs;
  if (refs.length === 0) throw new ConfigError(`source ${o.source} has no samples`);
  const cache = new Map<number, Awaited<ReturnType<typeof encodeFrame>>>();
  let sent = 0;
  const first = o.startTick ?? 0;
  let tick = 0;
  const started = Date.now();
  while (sent < count && Date.now() < deadline) {
    const records: OutRecord[] = [];
    for (let s = 0; s < sensors && sent + records.length < count; s++) {
      const k = ((first + tick) * sensors + s) % refs.length;
      if (!cache.has(k)) cache.set(k, await encodeFrame(refs[k], o.format ?? 'jpeg', o.size));
      const f = cache.get(k)!;
      const sensorId = `sensor-${s}`;
      records.push({
        topic: o.topic,
        key: sensorId,
        value: f.bytes,
        headers: {
          [HEADER.schema]: FRAME_SCHEMA,
          [HEADER.frameId]: `${o.idPrefix ?? 'f'}-${sensorId}-${first + tick}`,
          [HEADER.contentType]: f.contentType,
          [HEADER.capturedAt]: new Date().toISOString(),
          [HEADER.sampleId]: sampleKey(refs[k]),
          ...(f.width ? { [HEADER.width]: String(f.width), [HEADER.height]: String(f.height) } : {}),
        },
      });
    }
    await transport.send(records);
    sent += records.length;
    tick++;
    o.onProgress?.(sent);
    if (fps > 0) {
      const wait = started + (tick * 1000) / fps - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
  return sent;
}
