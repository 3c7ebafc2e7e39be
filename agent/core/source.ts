import type { Sample } from './sample';

/** A source of samples. One failing source never stops the others (see pipeline.ts). */
export interface Source {
  readonly name: string;
  /**
   * Collected after the others: the agent's own health must include what the other sources
   * recorded in this cycle (e.g. series dropped by the executor cap).
   */
  readonly last?: boolean;
  /**
   * `signal` aborts when the cycle's collection deadline passes or the agent stops: a source
   * with requests in flight should abort them (the pipeline stops waiting either way).
   */
  collect(now: Date, signal?: AbortSignal): Promise<Sample[]>;
  /** Releases timers, sockets, file handles. */
  close?(): Promise<void> | void;
}
