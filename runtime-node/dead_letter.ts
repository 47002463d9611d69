/**
 * Dead-letter records: a refused input goes to `edgeseg.dlq` as it came (key, bytes, headers)
 * plus the reason and where it came from, so it can be inspected and replayed.
 */
import { HEADER } from '../core/index.js';
import type { InRecord, OutRecord } from './transport.js';

/** The dead-letter record of `r`, refused with error `code` and a human `message`. */
export function deadLetterRecord(r: InRecord, dlqTopic: string, code: string, message: string): OutRecord {
  return {
    topic: dlqTopic,
    key: r.key,
    value: r.value ?? Buffer.alloc(0),
    headers: {
      ...r.headers,
      [HEADER.errorCode]: code,
      [HEADER.errorMessage]: message,
      [HEADER.sourceTopic]: r.topic,
      [HEADER.sourcePartition]: String(r.partition),
      [HEADER.sourceOffset]: r.offset,
    },
  };
}
