/**
 * `gc`: the Pushgateway janitor. The Pushgateway never forgets a group (its issue #19): a node
 * that died without its exit DELETE (spot loss, kill -9, cluster terminated hard) would look
 * alive forever with its last values. gc reads `/api/v1/metrics`, deletes every group of the
 * job whose last push is older than --max-age and prints one line per group. Safe from cron or
 * a Databricks job: it only ever deletes groups that are older than --max-age.
 */
import { Command, Option } from 'commander';
import type { AxiosInstance } from 'axios';
import { CORE_OPTIONS, ConfigError, type Config } from '../config';
import { AUTH_OPTIONS } from '../http/auth/index';
import { TLS_OPTIONS } from '../http/tls-options';
import { pushgateway } from '../sinks/pushgateway/index';
import { parseDuration, formatDuration } from '../core/duration';
import { createHttpClient, describeHttpError } from '../http/client';
import { log } from '../core/log';
import {
  describeGroup,
  groupDeletePath,
  parseGroups,
  staleGroups,
  type StaleGroup,
} from '../sinks/pushgateway/groups';
import { loadConfig, withAgentOptions } from './options';

const MAX_AGE_SETTING = '--max-age (DBX_PROM_MAX_AGE)';
const DEFAULT_MAX_AGE = '10m';

export function parseMaxAge(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new ConfigError(MAX_AGE_SETTING, `"${text}" is not a duration like 10m, 1h or 30s`);
  if (ms < 1000) throw new ConfigError(MAX_AGE_SETTING, `"${text}" is below the minimum of 1s`);
  return ms;
}

/**
 * "Now" as the Pushgateway sees it, from its Date header: push_time_seconds is stamped by the
 * Pushgateway's clock, so comparing with the Pushgateway's clock keeps a skewed cron host from
 * deleting live groups. Date has whole seconds, which can only make a group look younger.
 */
export function serverNowSeconds(dateHeader: unknown, localNowMs = Date.now()): number {
  if (typeof dateHeader === 'string') {
    const ms = Date.parse(dateHeader);
    if (Number.isFinite(ms)) return ms / 1000;
  }
  return localNowMs / 1000;
}

function formatAge(seconds: number): string {
  return formatDuration(Math.max(0, Math.round(seconds)) * 1000);
}

export interface GcOptions {
  maxAgeMs: number;
  dryRun: boolean;
  /**
   * A long list (after a fleet-wide outage) takes a while to delete, and agents push again
   * meanwhile: a snapshot older than this is read again so a refreshed group is never deleted.
   */
  recheckAfterMs?: number;
}

async function collectStale(http: AxiosInstance, config: Config, o: GcOptions): Promise<StaleGroup[]> {
  const res = await http.get<unknown>(`${pushgatewayUrl(config)}/api/v1/metrics`, { responseType: 'json' });
  const groups = parseGroups(res.data);
  const stale = staleGroups(groups, {
    nowSeconds: serverNowSeconds(res.headers['date']),
    maxAgeSeconds: o.maxAgeMs / 1000,
    job: config.job,
  });
  log.debug('read Pushgateway groups', { groups: groups.length, stale: stale.length, job: config.job });
  return stale;
}

/** Runs gc; returns the exit code (0 done, 1 the Pushgateway could not be read or a DELETE failed). */
export async function runGc(config: Config, o: GcOptions, out: (line: string) => void): Promise<number> {
  const http = createHttpClient(config, { timeoutMs: config.pushTimeoutMs, withAuth: true });
  let stale: StaleGroup[];
  try {
    stale = await collectStale(http, config, o);
  } catch (e) {
    log.error('cannot read Pushgateway groups', { url: pushgatewayUrl(config), error: describeHttpError(e) });
    return 1;
  }
  let failed = 0;
  let skipped = 0;
  const recheckAfterMs = o.recheckAfterMs ?? 5000;
  let snapshotAt = Date.now();
  let stillStale = new Set(stale.map((g) => groupDeletePath(g.group.labels)));
  for (const { group, ageSeconds } of stale) {
    const what = `${describeGroup(group.labels)} last_push=${formatAge(ageSeconds)} ago`;
    if (o.dryRun) {
      out(`would delete ${what}`);
      continue;
    }
    if (Date.now() - snapshotAt > recheckAfterMs) {
      try {
        stillStale = new Set((await collectStale(http, config, o)).map((g) => groupDeletePath(g.group.labels)));
        snapshotAt = Date.now();
      } catch (e) {
        log.error('cannot read Pushgateway groups again; stopping here', { error: describeHttpError(e) });
        return 1;
      }
    }
    if (!stillStale.has(groupDeletePath(group.labels))) {
      skipped++;
      continue;
    }
    try {
      await http.delete(pushgatewayUrl(config) + groupDeletePath(group.labels));
      out(`deleted ${what}`);
    } catch (e) {
      failed++;
      log.error('could not delete Pushgateway group', { group: group.labels, error: describeHttpError(e) });
    }
  }
  log.info(o.dryRun ? 'gc dry run done' : 'gc done', {
    stale: stale.length,
    deleted: o.dryRun ? 0 : stale.length - failed - skipped,
    refreshed_meanwhile: skipped,
    failed,
    maxAge: formatDuration(o.maxAgeMs),
    job: config.job,
  });
  return failed > 0 ? 1 : 0;
}

/**
 * The agent options gc takes: where the Pushgateway is and how to reach it (the same auth and
 * TLS flags as the agent, so one env file serves both), and --job to pick the agent's groups.
 */
const GC_OPTIONS = new Set([
  ...CORE_OPTIONS.filter((o) => ['job', 'pushTimeout', 'logLevel', 'settingsFile', 'idleInterval', 'allowInsecureHttp'].includes(o.key)),
  ...pushgateway.options,
  ...AUTH_OPTIONS,
  ...TLS_OPTIONS,
]);

/** gc runs only where a Pushgateway is configured (checked before). */
const pushgatewayUrl = (config: Config): string => config.sinks.pushgateway!.url;

export function gcCommand(): Command {
  const cmd = new Command('gc')
    .description('delete Pushgateway groups of --job whose last push is older than --max-age')
    .addOption(new Option('--max-age <duration>', `delete groups not pushed for this long [DBX_PROM_MAX_AGE] (default: ${DEFAULT_MAX_AGE})`))
    .option('--dry-run', 'print the groups that would be deleted, delete nothing');
  withAgentOptions(cmd, GC_OPTIONS).action(async () => {
    const config = loadConfig(cmd);
    const opts = cmd.opts<{ maxAge?: string; dryRun?: boolean }>();
    const maxAgeMs = parseMaxAge(opts.maxAge ?? (config.env.DBX_PROM_MAX_AGE || DEFAULT_MAX_AGE));
    if (config.sinks.pushgateway === undefined)
      throw new ConfigError('--pushgateway-url (DBX_PROM_PUSHGATEWAY_URL)', 'gc needs the Pushgateway to clean');
    // An idle agent pushes every --idle-interval: a shorter max-age would delete live groups
    // between two of their pushes (they come back on the next push, but alerts flap).
    if (maxAgeMs < 2 * config.idleIntervalMs)
      log.warn('--max-age is shorter than twice the idle interval: groups of live, idle agents may be deleted', {
        maxAge: formatDuration(maxAgeMs),
        idleInterval: formatDuration(config.idleIntervalMs),
      });
    process.exitCode = await runGc(config, { maxAgeMs, dryRun: opts.dryRun === true }, (line) => process.stdout.write(line + '\n'));
  });
  return cmd;
}
