/**
 * `policy`: prints a Databricks cluster-policy definition (JSON on stdout) that pins the init
 * script and the agent's settings, so every cluster created with the policy reports.
 */
import { Command } from 'commander';
import { AGENT_OPTIONS, ConfigError } from '../config';
import { createSettings, redactUrl } from '../core/options';
import { sigv4 } from '../http/auth/sigv4';
import {
  buildPolicy, defaultSecretKey, PolicyError, renderPolicy, SECRET_ENV, type InitScriptLocation,
} from '../databricks/policy';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Agent flags the policy command takes directly (the common ones, marked so by their owners); anything else goes by --env. */
const DIRECT = AGENT_OPTIONS.filter((o) => o.policyFlag);
/** URLs credentials go to: a policy pinning a malformed one would break every cluster it applies to. */
const URL_ENV = AGENT_OPTIONS.filter((o) => o.carriesCredentials).map((o) => o.env);

export interface PolicyFlags {
  artifacts: string;
  workspace?: boolean;
  initScript?: string;
  initScriptIndex?: string;
  secretScope?: string;
  secret?: string[];
  env?: string[];
  hidden?: boolean;
  streamingMetrics?: boolean;
  [key: string]: unknown;
}

/** Turns the command's flags into the policy JSON; throws ConfigError (exit 2) naming the flag. */
export function policyFromFlags(flags: PolicyFlags): string {
  const env: Record<string, string> = {};
  for (const o of DIRECT) {
    const v = flags[o.key];
    if (typeof v === 'string') env[o.env] = v;
  }
  for (const kv of flags.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ConfigError('--env', `"${kv}" is not NAME=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  // Everyone who can see the policy can read it: credentials go in secret references.
  for (const [name, value] of Object.entries(env))
    if (/^(?:[a-z][a-z0-9+.-]*:\/\/)?[^/\s:@]+:[^/\s@]*@/i.test(value))
      throw new ConfigError(name, 'holds user:password@ credentials, which every workspace user could read in the policy; use --secret DBX_PROM_BASIC_AUTH_PASSWORD with --env DBX_PROM_BASIC_AUTH_USER=...');
  for (const url of URL_ENV)
    if (env[url] !== undefined && !/^https?:\/\/[^/\s]/.test(env[url]!))
      throw new ConfigError(url, `"${redactUrl(env[url]!)}" must start with http:// or https://`);

  // SigV4's settings are plain words AWS would refuse on every cluster at once: check them here.
  // (The other methods' settings name files and secrets that exist only on the cluster.)
  sigv4.parse(createSettings({}, env));

  const secrets: Record<string, string> = {};
  const given = flags.secret ?? [];
  const secretArgs = given.length > 0 || flags.secretScope === undefined ? given : ['DBX_PROM_BEARER_TOKEN'];
  for (const s of secretArgs) {
    const eq = s.indexOf('=');
    const name = eq < 0 ? s : s.slice(0, eq);
    secrets[name] = eq < 0 ? defaultSecretKey(name) : s.slice(eq + 1);
  }

  let index: number | undefined;
  if (flags.initScriptIndex !== undefined) {
    if (!/^\d+$/.test(flags.initScriptIndex)) throw new ConfigError('--init-script-index', `"${flags.initScriptIndex}" is not a number`);
    index = Number(flags.initScriptIndex);
  }
  const location: InitScriptLocation | undefined = flags.workspace ? 'workspace' : undefined;
  try {
    return renderPolicy(
      buildPolicy({
        artifacts: flags.artifacts,
        location,
        initScript: flags.initScript,
        initScriptIndex: index,
        env,
        secrets,
        secretScope: flags.secretScope,
        hidden: flags.hidden === true,
        streamingMetrics: flags.streamingMetrics === true,
      }),
    );
  } catch (e) {
    if (e instanceof PolicyError) throw new ConfigError(e.setting, e.detail);
    throw e;
  }
}

export function policyCommand(): Command {
  const cmd = new Command('policy')
    .description('print a Databricks cluster-policy JSON that pins the init script and the agent settings')
    .requiredOption('--artifacts <dir>', 'folder with the binaries and the init script (/Volumes/... or /Workspace/...)')
    .option('--workspace', 'the init script is in workspace files (default: from the --artifacts path)')
    .option('--init-script <path>', 'init script path (default: <artifacts>/dbx-prom-agent-init.sh)')
    .option('--init-script-index <n>', 'init_scripts slot the policy pins', '0')
    .option('--secret-scope <scope>', 'Databricks secret scope holding the credentials')
    .option(
      '--secret <NAME[=key]>',
      `a setting read from the secret scope (repeatable; default key: the name in lower case with dashes; default with --secret-scope: DBX_PROM_BEARER_TOKEN). Secrets: ${[...SECRET_ENV].join(', ')}`,
      collect,
    )
    .option('--env <NAME=VALUE>', 'any other DBX_PROM_* setting to pin (repeatable)', collect)
    .option('--hidden', 'hide the pinned attributes in the cluster UI')
    .option('--streaming-metrics', 'also pin spark_conf spark.sql.streaming.metricsEnabled=true, so Structured Streaming queries are reported (spark_streaming_*)');
  for (const o of DIRECT) cmd.option(o.flag, `${o.description} [pins ${o.env}]`);
  cmd.addHelpText(
    'after',
    '\nIn standard access mode on Databricks Runtime 19+, spark_env_vars do not reach init scripts:\n' +
      'put the settings in <artifacts>/dbx-prom-agent.env as well (see the README).',
  );
  cmd.action(() => {
    process.stdout.write(policyFromFlags(cmd.opts() as PolicyFlags));
  });
  return cmd;
}
