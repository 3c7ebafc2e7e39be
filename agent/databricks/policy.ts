/**
 * Pure: the Databricks cluster-policy definition that installs the agent on every cluster made
 * with it. Policy attribute paths follow the Clusters API field names joined by dots (Databricks
 * "Compute policy reference"): `init_scripts.<n>.volumes.destination` (Unity Catalog volume,
 * runtime 13.3+) or `init_scripts.<n>.workspace.destination` (workspace files), and
 * `spark_env_vars.<NAME>`, and `spark_conf.<spark key>` (here `spark.sql.streaming.metricsEnabled`,
 * which makes Structured Streaming queries report to Spark's metrics system, read by the agent
 * from the driver's /metrics/json); a `"type": "fixed"` rule pins the value. Secrets are written only as
 * `{{secrets/<scope>/<key>}}` references, which Databricks resolves on the node: a policy is
 * readable by every user it applies to, so a literal token must never be in it.
 */
import { AGENT_OPTIONS } from '../config';

export type InitScriptLocation = 'volumes' | 'workspace';

export interface PolicyInput {
  /** Folder holding the binaries, the init script and the optional dbx-prom-agent.env. */
  artifacts: string;
  /** Where the init script lives; default: from the artifacts path (/Volumes → volumes, /Workspace → workspace). */
  location?: InitScriptLocation;
  /** The init script; default `<artifacts>/dbx-prom-agent-init.sh`. */
  initScript?: string;
  /** Which `init_scripts` slot the policy pins (other slots stay free for the cluster's own). */
  initScriptIndex?: number;
  /** Literal agent settings, by env name (`DBX_PROM_PUSHGATEWAY_URL` → value). */
  env?: Record<string, string>;
  /** Secret settings: env name → secret key in `secretScope`. */
  secrets?: Record<string, string>;
  secretScope?: string;
  /** Hide the pinned attributes from the cluster UI. */
  hidden?: boolean;
  /**
   * Pin `spark.sql.streaming.metricsEnabled` to true (Spark's default is false), so the agent
   * can report Structured Streaming queries (spark_streaming_*).
   */
  streamingMetrics?: boolean;
}

export interface PolicyRule {
  type: 'fixed';
  value: string;
  hidden?: boolean;
}

export type PolicyDefinition = Record<string, PolicyRule>;

export class PolicyError extends Error {
  constructor(readonly setting: string, readonly detail: string) {
    super(`invalid ${setting}: ${detail}`);
    this.name = 'PolicyError';
  }
}

export const INIT_SCRIPT_NAME = 'dbx-prom-agent-init.sh';

/** The policy attribute that turns on Structured Streaming metrics: `spark_conf.` + the Spark SQL key. */
export const STREAMING_METRICS_ATTRIBUTE = 'spark_conf.spark.sql.streaming.metricsEnabled';

/** Env names of settings that are secrets: they may only arrive as secret references. */
export const SECRET_ENV = new Set(AGENT_OPTIONS.filter((o) => o.envOnly).map((o) => o.env));

/** Every env name the agent reads, plus the init script's own. */
export const INIT_SCRIPT_ENV = ['DBX_PROM_ARTIFACTS', 'DBX_PROM_STRICT', 'DBX_PROM_INSTALL_DIR', 'DBX_PROM_LOG_MAX_BYTES', 'DBX_PROM_MAX_HEAP_MB'] as const;
const KNOWN_ENV = new Set<string>([...AGENT_OPTIONS.map((o) => o.env), ...INIT_SCRIPT_ENV]);

// Databricks secret scope and key names: letters, digits, dashes, underscores and periods
// (scopes also `@`), at most 128 characters (Secrets API reference).
const SCOPE_RE = /^[A-Za-z0-9_.@-]{1,128}$/;
const KEY_RE = /^[A-Za-z0-9_.-]{1,128}$/;

/** The default secret key for an env name: DBX_PROM_BEARER_TOKEN → dbx-prom-bearer-token. */
export function defaultSecretKey(envName: string): string {
  return envName.toLowerCase().replace(/_/g, '-');
}

export function secretReference(scope: string, key: string): string {
  return `{{secrets/${scope}/${key}}}`;
}

function locationOf(artifacts: string, location: InitScriptLocation | undefined): InitScriptLocation {
  if (location !== undefined) return location;
  if (artifacts.startsWith('/Workspace/')) return 'workspace';
  if (artifacts.startsWith('/Volumes/')) return 'volumes';
  if (/^(dbfs:|\/dbfs\/)/.test(artifacts))
    throw new PolicyError('--artifacts', `${artifacts}: DBFS init scripts are disabled on new workspaces; use a /Volumes/... folder or workspace files`);
  throw new PolicyError('--artifacts', `${artifacts} is neither a Unity Catalog volume (/Volumes/...) nor workspace files (/Workspace/...)`);
}

export function buildPolicy(input: PolicyInput): PolicyDefinition {
  const artifacts = input.artifacts.replace(/\/+$/, '');
  if (!artifacts.startsWith('/')) throw new PolicyError('--artifacts', `${input.artifacts} is not an absolute path`);
  const location = locationOf(artifacts, input.location);
  const initScript = input.initScript ?? `${artifacts}/${INIT_SCRIPT_NAME}`;
  if (location === 'volumes' && !initScript.startsWith('/Volumes/'))
    throw new PolicyError('--init-script', `${initScript}: a volumes init script path starts with /Volumes/`);
  if (location === 'workspace' && !initScript.startsWith('/'))
    throw new PolicyError('--init-script', `${initScript} is not an absolute workspace path`);
  const index = input.initScriptIndex ?? 0;
  if (!Number.isInteger(index) || index < 0 || index > 9)
    throw new PolicyError('--init-script-index', `${index} is not a slot between 0 and 9`);

  const rule = (value: string): PolicyRule => (input.hidden ? { type: 'fixed', value, hidden: true } : { type: 'fixed', value });
  const policy: PolicyDefinition = {};
  policy[`init_scripts.${index}.${location}.destination`] = rule(initScript);
  policy['spark_env_vars.DBX_PROM_ARTIFACTS'] = rule(artifacts);

  const env = input.env ?? {};
  for (const name of Object.keys(env).sort()) {
    if (!KNOWN_ENV.has(name)) throw new PolicyError(name, `${name} is not a setting of the agent or its init script`);
    if (name === 'DBX_PROM_ARTIFACTS') throw new PolicyError(name, 'is set from --artifacts');
    if (SECRET_ENV.has(name))
      throw new PolicyError(name, `${name} is a secret: pass it as a secret reference (--secret-scope), never as a literal`);
    policy[`spark_env_vars.${name}`] = rule(env[name]!);
  }

  const secrets = input.secrets ?? {};
  const secretNames = Object.keys(secrets).sort();
  if (secretNames.length > 0) {
    const scope = input.secretScope;
    if (scope === undefined) throw new PolicyError('--secret-scope', 'is required with --secret');
    if (!SCOPE_RE.test(scope)) throw new PolicyError('--secret-scope', `"${scope}" is not a valid secret scope name`);
    for (const name of secretNames) {
      if (!KNOWN_ENV.has(name)) throw new PolicyError('--secret', `${name} is not a setting of the agent`);
      if (name in env) throw new PolicyError('--secret', `${name} is given both as a literal and as a secret`);
      const key = secrets[name]!;
      if (!KEY_RE.test(key)) throw new PolicyError('--secret', `"${key}" is not a valid secret key name`);
      policy[`spark_env_vars.${name}`] = rule(secretReference(scope, key));
    }
  }
  // Spark conf values are strings in the Clusters API ("true", not true).
  if (input.streamingMetrics) policy[STREAMING_METRICS_ATTRIBUTE] = rule('true');
  return policy;
}

/** The policy as the Cluster Policies API and UI take it: a JSON object, two-space indented. */
export function renderPolicy(policy: PolicyDefinition): string {
  return JSON.stringify(policy, null, 2) + '\n';
}
