/**
 * The model watcher: hot swap. Two things move the serving model — an `edgeseg.models` event for
 * this model name whose SHA256SUMS digest matches the directory it names, and (when the service
 * was given a registry ref rather than a directory) the registry alias moving, polled once a
 * second. Swaps run one at a time; a model that fails verification is refused and the current one
 * keeps serving, with no frame dropped either way (the pool drains the old model's frames).
 * Following a registry ref, it also follows the model's rollout: a canary in the registry is
 * loaded beside the champion at its weight, a weight change is applied, an ended rollout's canary
 * is unloaded — always after the champion swap polled with it, so a promoted canary's sensors
 * move to the new champion, never back to the old one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelEvent, type Logger } from '../../core/index.js';
import { describeError } from '../../core/errors.js';
import { modelDigest, resolveModelRef } from '../../core/node/registry.js';
import { readRollout } from '../../core/node/rollout.js';
import type { InferencePool } from '../pool/inference_pool.js';
import type { StreamMetrics } from './metrics.js';
import type { ConsumerHandle, Transport } from '../transport/transport.js';
import type { ResolvedStreamOptions } from './options.js';

/** How often a followed registry alias is looked up. */
const ALIAS_POLL_MS = 1000;

export interface ModelWatcherParts {
  pool: InferencePool;
  metrics: StreamMetrics;
  log: Logger;
  /** After every successful swap. */
  onSwap(change: { from: string; to: string }): void;
  /** After every refused model (failed verification, or an event whose digest does not match). */
  onRefused(refusal: { dir: string; error: string }): void;
  /** After the canary changed (started, replaced, ended: `to` null) — not after a weight change. */
  onCanary(change: { from: string | null; to: string | null; weight: number }): void;
}

export class ModelWatcher {
  private consumer: ConsumerHandle | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private aliasDir: string | null = null;
  private canaryBusy = false;
  /** A canary version that failed to load: not tried again until the rollout changes. */
  private refusedCanary: string | null = null;

  constructor(
    private readonly o: ResolvedStreamOptions,
    private readonly parts: ModelWatcherParts,
  ) {}

  /** Hot-swaps to the model in `dir` after the swaps before it; resolves false when the model was refused. */
  swap(dir: string): Promise<boolean> {
    const { pool, metrics, log } = this.parts;
    const run = this.chain.then(async () => {
      const from = pool.model.version;
      if (pool.model.dir === dir) return true;
      try {
        await pool.swap(dir);
      } catch (err) {
        metrics.swaps.inc({ result: 'refused' });
        log.error('model refused; the current one keeps serving', { dir, error: describeError(err), serving: from });
        this.parts.onRefused({ dir, error: describeError(err) });
        return false;
      }
      metrics.swaps.inc({ result: 'ok' });
      log.info('model swapped', { from, to: pool.model.version });
      this.parts.onSwap({ from, to: pool.model.version });
      return true;
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Whether `o.model` is a registry ref (it resolved to `dir`), whose alias and rollout are followed. */
  private follows(dir: string): boolean {
    return resolveModelRef(this.o.model, this.o.models) === dir && !existsSync(join(this.o.model, 'card.json'));
  }

  /** Loads the canary of a rollout in progress before the first frame, so a restarted service keeps every sensor on its arm. */
  async prepare(dir: string): Promise<void> {
    if (!this.follows(dir)) return;
    this.pollRollout();
    await this.chain;
  }

  /** Follows the alias (when `o.model` is a registry ref that resolved to `dir`) and the models topic. */
  async start(transport: Transport, dir: string): Promise<void> {
    const o = this.o;
    if (this.follows(dir)) {
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
    this.pollRollout();
  }

  private pollRollout(): void {
    const { pool, log } = this.parts;
    if (this.canaryBusy) return;
    const name = pool.model.card.name;
    let rollout;
    try {
      rollout = readRollout(this.o.models, name);
    } catch {
      return; // being rewritten: look again next time
    }
    const want = rollout ? `${name}@${rollout.canary}` : null;
    const have = pool.canary;
    if (want !== null && want === this.refusedCanary) return;
    if (want === (have?.version ?? null) && (!rollout || rollout.weight === have!.weight)) return;
    this.canaryBusy = true;
    // On the swap chain: a champion swap polled just before (a promoted canary) happens first.
    const run = this.chain.then(async () => {
      const from = pool.canary?.version ?? null;
      try {
        await pool.setCanary(rollout ? join(this.o.models, name, rollout.canary) : null, rollout?.weight ?? 0);
      } catch (err) {
        this.refusedCanary = want;
        this.parts.metrics.swaps.inc({ result: 'refused' });
        log.error('canary refused; the champion serves every arm', { canary: want, error: describeError(err) });
        this.parts.onRefused({ dir: join(this.o.models, name, rollout!.canary), error: describeError(err) });
        return;
      }
      this.refusedCanary = null;
      if (from !== want) {
        log.info(want ? 'canary serving' : 'canary ended', { canary: want ?? from, weight: rollout?.weight ?? 0 });
        this.parts.onCanary({ from, to: want, weight: rollout?.weight ?? 0 });
      } else {
        log.info('canary weight changed', { canary: want, weight: rollout!.weight });
      }
    });
    this.chain = run.catch(() => {}).finally(() => (this.canaryBusy = false));
  }

  private async onEvent(text: string, offset: string): Promise<void> {
    const { pool, metrics, log } = this.parts;
    try {
      const event = parseModelEvent(text);
      if (event.name !== pool.model.card.name) return;
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
