/** The remote-write sink's own health, each metric declared once (identical HELP/TYPE on every node). */
import { counter, gauge } from '../../core/sample';

export const samplesTotal = counter(
  'dbx_agent_remote_write_samples_total',
  'Remote-write samples by result: sent, retried (counted per failed attempt) or dropped (with the reason).',
);
export const pendingSamples = gauge('dbx_agent_remote_write_pending_samples', 'Samples in the remote-write disk queue not yet sent.');
export const oldestPending = gauge(
  'dbx_agent_remote_write_oldest_pending_seconds',
  'Age of the oldest unsent sample in the remote-write queue in seconds (0 when the queue is empty).',
);
export const requestDuration = gauge('dbx_agent_remote_write_request_duration_seconds', 'Duration of the last remote-write request in seconds.');
export const queueBytes = gauge('dbx_agent_remote_write_queue_bytes', 'Bytes of the remote-write disk queue files.');

export const diskErrors = counter(
  'dbx_agent_remote_write_queue_disk_errors_total',
  'Remote-write batches the disk queue could not store (disk full or failing); they are sent from memory instead.',
);

/** Why samples were dropped: `rejected` by the receiver (4xx), `queue_full`, `too_old` (max-age), `corrupt`, `invalid` names, `disk_error` (refused by the disk and over the memory kept for that). */
export const DROP_REASONS = ['rejected', 'queue_full', 'too_old', 'corrupt', 'invalid', 'disk_error'] as const;
export type DropReasonLabel = (typeof DROP_REASONS)[number];
