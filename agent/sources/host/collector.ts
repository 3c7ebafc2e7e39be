/** The one shape of a host collector (node_exporter's `Collector` with its registration). */
import type { Sample } from '../../core/sample';
import type { ProcReader } from './proc';

export interface HostCollector {
  /** Its `collector` label and the name in --collector.<name> (node_exporter's names). */
  readonly name: string;
  /** On unless --no-collector.<name> or --collector.disable-defaults. */
  readonly defaultOn: boolean;
  readonly help: string;
  /** Builds its state once (a stuck-mount set, say); the function it returns runs every cycle. */
  create(read: ProcReader): () => Promise<Sample[]>;
}

/**
 * The collector has nothing to read here (an older kernel without the file): logged at debug,
 * success 0, as node_exporter's ErrNoData; not an outage.
 */
export class NoDataError extends Error {}
