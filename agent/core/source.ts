import type { Sample } from './sample';

/** A source of samples. One failing source never stops the others (see pipeline.ts). */
export interface Source {
  readonly name: string;
  /**
   * It reports what the other sources recorded in this cycle (the agent's own health: series
   * dropped by the executor cap, say), so it is collected after them, and never cut.
   */
  readonly readsOthers?: boolean;
  /**
   * `signal` aborts when the cycle's collection deadline passes or the agent stops: a source
   * with requests in flight should abort them (the pipeline stops waiting either way).
   */
  collect(now: Date, signal?: AbortSignal): Promise<Sample[]>;
  /** Releases timers, sockets, file handles. */
  close?(): Promise<void> | void;
}
