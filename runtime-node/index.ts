/**
 * edgeseg/runtime-node: Kafka-fed streaming segmentation. `StreamService.start(options)` resolves
 * once the model is loaded and warm in every worker and the consumer group is joined; `stop()`
 * finishes the frames in flight, commits and closes.
 */
export { StreamService, type StreamEvents } from './stream/service.js';
export {
  resolveStreamOptions,
  DEFAULT_GROUP,
  DEFAULT_FRAME_PARTITIONS,
  DEFAULT_SESSION_TIMEOUT_MS,
  DEFAULT_SLICE_SIZE,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_MASK_SIZE,
  DEFAULT_MASK_FORMAT,
  type StreamOptions,
  type ResolvedStreamOptions,
  type StreamDriftOptions,
} from './stream/options.js';
export type { StreamFeedbackOptions } from './feedback/stream_intake.js';
export { InferencePool, POOL_DEFAULTS, type InferencePoolOptions, type PoolSettings, type ActiveModel } from './pool/inference_pool.js';
export { KafkaTransport, type KafkaTransportOptions } from './transport/kafka_transport.js';
export type { Transport, ConsumerHandle, ConsumeOptions, InRecord, OutRecord, PartitionBatch, SaslOptions } from './transport/transport.js';
export { validateFrame, FRAME_LIMIT_DEFAULTS, type FrameLimits, type ValidFrame } from './transport/frame_validation.js';
export { LabelRequester, LABEL_REQUEST_DEFAULTS, type LabelRequestOptions } from './feedback/label_requests.js';
export { resolveBrokers } from './transport/brokers.js';
export { startClosedLoop, type ClosedLoop, type ClosedLoopOptions, type ClosedLoopStreamOptions } from './loop/closed_loop.js';
