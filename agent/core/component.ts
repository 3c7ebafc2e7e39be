/**
 * What the agent hands every component it creates: who this node is, where to log and count,
 * the few shared settings, and HTTP clients carrying the configured TLS and credentials.
 */
import type { AxiosInstance } from 'axios';
import type { CheckResult, CheckedEndpoint } from './check';
import type { DatabricksContext } from './context';
import type { Logger } from './log';
import type { OptionSpec, Settings } from './options';
import type { Sink } from './sink';
import type { Source } from './source';
import type { AgentStats } from './stats';

export interface HttpClientOptions {
  timeoutMs: number;
  /** Whether to attach the configured credentials (not for the local Spark API). */
  withAuth?: boolean;
}

/** One request with a whole body, sent without axios (http/direct.ts): what a sink sends every cycle. */
export interface DirectRequest {
  readonly method: 'PUT' | 'POST' | 'DELETE';
  readonly url: string;
  readonly body?: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** Its answer, whatever the status (the caller judges it); the body cut at 64 KiB. */
export interface DirectResponse {
  readonly status: number;
  readonly body: string;
}

/** The agent's HTTP client: axios with the configured TLS and auth, and `direct` for the per-cycle request. */
export type HttpClient = AxiosInstance & { direct(req: DirectRequest): Promise<DirectResponse> };

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
  http(opts: HttpClientOptions): HttpClient;
}

/**
 * A source's whole public face (node_exporter's registerCollector, Alloy's Register): the
 * sources table (sources/index.ts) lists these, and the CLI, config, doctor, policy and the
 * README test read them from there.
 */
export interface SourceEntry<Name extends string = string, O = unknown> {
  readonly name: Name;
  /** In --sources unless the user gives that list. */
  readonly defaultOn: boolean;
  readonly options: readonly OptionSpec[];
  /** Reads its options, with their defaults, and validates them (exit 2 names the option). */
  parse(s: Settings): O;
  /** Whether it runs on this node (beyond being listed in --sources); default: yes. */
  applies?(o: O, context: DatabricksContext): boolean;
  create(o: O, env: ComponentEnv): Source;
  /** What `doctor` checks for it. */
  check?(o: O, env: ComponentEnv): Promise<CheckResult[]>;
}

/** A sink's whole public face: the sinks table (sinks/index.ts) lists these. */
export interface SinkEntry<Name extends string = string, O = unknown> {
  readonly name: Name;
  readonly options: readonly OptionSpec[];
  /** The option that turns it on (named when no sink is configured). */
  readonly primary: OptionSpec;
  /** Its options, or undefined when it is not configured (its primary option unset). */
  parse(s: Settings): O | undefined;
  create(o: O, env: ComponentEnv): Sink;
  /** One phrase for doctor's config line, without credentials. */
  describe(o: O): string;
  /** What doctor checks DNS, TCP and TLS of. */
  endpoints(o: O): CheckedEndpoint[];
  /** Doctor's test push (after the network checks; `reachable` says whether they passed). */
  check(o: O, env: ComponentEnv, reachable: boolean): Promise<CheckResult>;
}

/** The options a table's entries parse to, by entry name. */
export type OptionsByName<T extends readonly { name: string; parse(s: Settings): unknown }[]> = {
  [E in T[number] as E['name']]: ReturnType<E['parse']>;
};

/** Same, for components that may be left unconfigured (sinks, auth methods). */
export type ConfiguredByName<T extends readonly { name: string; parse(s: Settings): unknown }[]> = {
  [E in T[number] as E['name']]?: Exclude<ReturnType<E['parse']>, undefined>;
};

/**
 * An entry's options from a record typed by its table. TypeScript cannot tie a table's entry to
 * its own key of the record while iterating, so the one cast lives here.
 */
export function optionsOf<O>(record: object, entry: { name: string; parse(s: Settings): O }): O {
  return (record as Record<string, O>)[entry.name]!;
}
