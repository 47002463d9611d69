/**
 * The model watcher: hot swap. Two things move the serving model — an `edgeseg.models` event for
 * this model name whose SHA256SUMS digest matches the directory it names, and (when the service
 * was given a registry ref rather than a directory) the registry alias moving, polled once a
 * second. Swaps run one at a time; a model that fails verification is refused and the current one
 * keeps serving, with no frame dropped either way (the engine drains the old model's frames).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, parseModelEvent, type Logger } from '../../core/index.js';
import { modelDigest, resolveModelRef } from '../../core/node/registry.js';
import type { InferenceEngine } from '../engine/engine.js';
import type { StreamMetrics } from '../metrics.js';
import type { ConsumerHandle, Transport } from '../transport.js';
import type { ResolvedStreamOptions } from './options.js';

/** How often a followed registry alias is looked up. */
const ALIAS_POLL_MS = 1000;

export interface ModelWatcherParts {
  engine: InferenceEngine;
  metrics: StreamMetrics;
  log: Logger;
  /** After every successful swap. */
  onSwap(change: { from: string; to: string }): void;
  /** After every refused model (failed verification, or an event whose digest does not match). */
  onRefused(refusal: { dir: string; error: string }): void;
}

export class ModelWatcher {
  private consumer: ConsumerHandle | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private aliasDir: string | null = null;

  constructor(
    private readonly o: ResolvedStreamOptions,
    private readonly parts: ModelWatcherParts,
  ) {}

  /** Hot-swaps to the model in `dir` after the swaps before it; resolves false when the model was refused. */
  swap(dir: string): Promise<boolean> {
    const { engine, metrics, log } = this.parts;
    const run = this.chain.then(async () => {
      const from = engine.model.version;
      if (engine.model.dir === dir) return true;
      try {
        await engine.swap(dir);
      } catch (err) {
        metrics.swaps.inc({ result: 'refused' });
        log.error('model refused; the current one keeps serving', { dir, error: describeError(err), serving: from });
        this.parts.onRefused({ dir, error: describeError(err) });
        return false;
      }
      metrics.swaps.inc({ result: 'ok' });
      log.info('model swapped', { from, to: engine.model.version });
      this.parts.onSwap({ from, to: engine.model.version });
      return true;
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Follows the alias (when `o.model` is a registry ref that resolved to `dir`) and the models topic. */
  async start(transport: Transport, dir: string): Promise<void> {
    const o = this.o;
    if (resolveModelRef(o.model, o.models) === dir && !existsSync(join(o.model, 'card.json'))) {
      this.aliasDir = dir;
      this.timer = setInterval(() => this.pollAlias(), ALIAS_POLL_MS);
    }
    this.consumer = await transport.consume(
      { groupId: `${o.groupId}.models.${o.instanceId}`, topics: [o.topics.models], fromBeginning: false, sessionTimeoutMs: o.sessionTimeoutMs, heartbeatIntervalMs: o.heartbeatIntervalMs, maxRestarts: o.maxRestarts },
      async (batch) => {
        for (const r of batch.records) await this.onEvent(r.value?.toString() ?? '', r.offset);
        await batch.commit(batch.records[batch.records.length - 1], []);
      },
    );
  }

  /** Stops following and waits for a swap in progress. */
  /** The consumer, once started (the service watches it). */
  get handle(): ConsumerHandle | null {
    return this.consumer;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.consumer?.stop().catch(() => {});
    await this.chain;
  }

  private pollAlias(): void {
    let now: string;
    try {
      now = resolveModelRef(this.o.model, this.o.models);
    } catch {
      return; // the registry is being rewritten or the alias was removed: keep serving
    }
    if (now !== this.aliasDir) {
      this.aliasDir = now;
      void this.swap(now);
    }
  }

  private async onEvent(text: string, offset: string): Promise<void> {
    const { engine, metrics, log } = this.parts;
    try {
      const event = parseModelEvent(text);
      if (event.name !== engine.model.card.name) return;
      const digest = existsSync(join(event.path, 'SHA256SUMS')) ? modelDigest(event.path) : '';
      if (digest !== event.sha256) {
        metrics.swaps.inc({ result: 'refused' });
        log.error('model event refused: SHA256SUMS does not match the event', { path: event.path });
        this.parts.onRefused({ dir: event.path, error: 'SHA256SUMS does not match the model event' });
        return;
      }
      await this.swap(event.path);
    } catch (err) {
      log.warn('ignored a malformed model event', { offset, error: describeError(err) });
    }
  }
}
