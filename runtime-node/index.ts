/**
 * edgeseg/runtime-node: Kafka-fed streaming segmentation. `StreamService.start(options)` resolves
 * once the model is loaded and warm in every worker and the consumer group is joined; `stop()`
 * finishes the frames in flight, commits and closes.
 */
export { StreamService, modelDigest, DEFAULT_GROUP, type StreamOptions, type StreamEvents } from './service.js';
export { InferenceEngine, type EngineOptions, type ActiveModel } from './engine/engine.js';
export { KafkaTransport, type KafkaTransportOptions } from './kafka_transport.js';
export type { Transport, ConsumerHandle, ConsumeOptions, InRecord, OutRecord, PartitionBatch } from './transport.js';
export { produceFrames, type ProduceOptions } from './frame_producer.js';
export { validateFrame, FRAME_LIMIT_DEFAULTS, type FrameLimits, type ValidFrame } from './frame.js';
export { LabelRequester, type LabelRequestOptions } from './label_requests.js';
export { resolveBrokers } from './brokers.js';
