import type { Labels, Sample } from './sample';

/** One batch: every sample of one cycle, taken at one time. */
export interface Batch {
  /** The sources' samples, without the node's labels. */
  readonly samples: readonly Sample[];
  /**
   * The node's labels (DESIGN "Labels"), which every sample carries unless it sets the name
   * itself (its own value wins). The same object every cycle, so a sink can render it once
   * instead of copying it onto every sample.
   */
  readonly labels?: Labels;
  readonly timestampMs: number;
}

export interface CloseOptions {
  /**
   * This node is going away for good (the agent stops, not --keep-on-exit, not after `once`):
   * its series end now. Each sink says so its own way: the Pushgateway deletes the node's group,
   * remote write sends staleness markers.
   */
  nodeLeaving: boolean;
  /** When the process exits whatever happens (Date.now() ms): a sink fits its last requests before it. */
  deadline?: number;
}

/**
 * A sink owns its retries, its buffer and its auth. `send` rejects when the push failed, and
 * once `close` has begun (nothing may reach the receiver after the node said goodbye).
 */
export interface Sink {
  readonly name: string;
  send(batch: Batch): Promise<void>;
  /** On exit: flush what can be flushed before the deadline, then end this node's series if it is leaving. */
  close(opts: CloseOptions): Promise<void>;
}
