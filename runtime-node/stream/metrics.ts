/** Prometheus metrics of a stream service (prom-client, one registry per service instance). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    framesIn: new Counter({ name: 'edgeseg_frames_in_total', help: 'Frame records consumed', registers: [registry] }),
    framesOut: new Counter({ name: 'edgeseg_frames_out_total', help: 'Segmentation results published', registers: [registry] }),
    dlq: new Counter({ name: 'edgeseg_dlq_total', help: 'Frames sent to the dead-letter topic, by error code', labelNames: ['code'], registers: [registry] }),
    labelRequests: new Counter({ name: 'edgeseg_label_requests_total', help: 'Uncertain frames announced for labelling', registers: [registry] }),
    batchSize: new Histogram({ name: 'edgeseg_batch_size', help: 'Records per committed run of a partition', buckets: [1, 2, 4, 8, 16, 32, 64], registers: [registry] }),
    queueDepth: new Gauge({ name: 'edgeseg_queue_depth', help: 'Frames waiting for an inference worker', registers: [registry] }),
    inferenceSeconds: new Histogram({ name: 'edgeseg_inference_seconds', help: 'Model execution time per frame batch', buckets: latencyBuckets, registers: [registry] }),
    endToEndSeconds: new Histogram({ name: 'edgeseg_end_to_end_seconds', help: 'Capture to publish', buckets: latencyBuckets, registers: [registry] }),
    consumerLag: new Gauge({ name: 'edgeseg_consumer_lag', help: 'Records behind the end of each frames partition', labelNames: ['partition'], registers: [registry] }),
    paused: new Gauge({ name: 'edgeseg_consumer_paused', help: '1 while consumption is paused for backpressure', registers: [registry] }),
    modelInfo: new Gauge({ name: 'edgeseg_model_info', help: 'The model version serving (value 1)', labelNames: ['version', 'precision'], registers: [registry] }),
    feedback: new Counter({ name: 'edgeseg_feedback_total', help: 'Labels received, by channel (kafka, http) and result (stored, or the refusal code)', labelNames: ['channel', 'result'], registers: [registry] }),
    driftPsi: new Gauge({ name: 'edgeseg_drift_psi', help: 'Population stability index of each input/output feature over the last window', labelNames: ['feature'], registers: [registry] }),
    drift: new Gauge({ name: 'edgeseg_drift', help: '1 while some feature drifts past the threshold', registers: [registry] }),
    consumerUp: new Gauge({ name: 'edgeseg_consumer_up', help: '1 while a consumer (frames, feedback, models) runs, 0 once it gave up', labelNames: ['consumer'], registers: [registry] }),
    swaps: new Counter({ name: 'edgeseg_model_swaps_total', help: 'Model hot-swaps, by result', labelNames: ['result'], registers: [registry] }),
  };
}

export type StreamMetrics = ReturnType<typeof createMetrics>;
