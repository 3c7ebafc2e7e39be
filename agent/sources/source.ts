import type { Sample } from '../sample';

/** A source of samples. One failing source never stops the others (see pipeline.ts). */
export interface Source {
  readonly name: string;
  collect(now: Date): Promise<Sample[]>;
  /** Releases timers, sockets, file handles. */
  close?(): Promise<void> | void;
}
