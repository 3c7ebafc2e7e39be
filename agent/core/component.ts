/**
 * What the agent hands every component it creates: who this node is, where to log and count,
 * the few shared settings, and HTTP clients carrying the configured TLS and credentials.
 */
import type { AxiosInstance } from 'axios';
import type { DatabricksContext } from './context';
import type { Logger } from './log';
import type { AgentStats } from './stats';

export interface HttpClientOptions {
  timeoutMs: number;
  /** Whether to attach the configured credentials (not for the local Spark API). */
  withAuth?: boolean;
}

export interface ComponentEnv {
  readonly context: DatabricksContext;
  readonly logger: Logger;
  readonly stats: AgentStats;
  /** The job label and Pushgateway job. */
  readonly job: string;
  /** The busy collection interval. */
  readonly intervalMs: number;
  /** The timeout of one push request, whichever sink makes it. */
  readonly pushTimeoutMs: number;
  /** The process environment the config was read from (settings file included). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** An HTTP client with the configured TLS and (unless withAuth is false) credentials. */
  http(opts: HttpClientOptions): AxiosInstance;
}
