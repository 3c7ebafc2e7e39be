import type { Sample } from '../sample';

/** One labelled batch: every sample of one cycle, taken at one time. */
export interface Batch {
  readonly samples: readonly Sample[];
  readonly timestampMs: number;
}

/** A sink owns its retries, its buffer and its auth. `send` rejects when the push failed. */
export interface Sink {
  readonly name: string;
  send(batch: Batch): Promise<void>;
  /** On exit: flush what can be flushed; `deleteGroup` removes this node's Pushgateway group. */
  close(opts: { deleteGroup: boolean }): Promise<void>;
}
