/**
 * The one table of sinks: a new sink is one file plus one line below. `--dry-run`'s stdout sink
 * is not in it: it is never configured, only chosen by `once --dry-run`.
 */
import type { ComponentEnv, ConfiguredByName, SinkEntry } from '../core/component';
import { optionsOf } from '../core/component';
import type { Sink } from '../core/sink';
import { ConfigError, flagName, settingName, type Settings } from '../core/options';
import { pushgateway } from './pushgateway/index';
import { remoteWrite } from './remote-write/index';
import { createStdoutSink } from './stdout';

export const SINKS = [pushgateway, remoteWrite] as const;

export type SinkConfigs = ConfiguredByName<typeof SINKS>;

export const SINK_OPTIONS = SINKS.flatMap((s) => s.options);

export function parseSinks(s: Settings): SinkConfigs {
  const out: Record<string, unknown> = {};
  for (const entry of SINKS) {
    const o = entry.parse(s);
    if (o !== undefined) out[entry.name] = o;
  }
  return out as SinkConfigs;
}

/** The configured sinks, in table order, each with its options. */
export function configuredSinks(configs: SinkConfigs): { entry: SinkEntry; options: unknown }[] {
  return SINKS.flatMap((entry: SinkEntry) => {
    const options = optionsOf<unknown>(configs, entry);
    return options === undefined ? [] : [{ entry, options }];
  });
}

/** Refuses a command that pushes with no sink configured, naming the options that would make one. */
export function requireSink(configs: SinkConfigs, extra = ''): void {
  if (configuredSinks(configs).length > 0) return;
  const [first, ...rest] = SINKS.map((e) => e.primary);
  const others = rest.map(flagName).join(' or ');
  throw new ConfigError(settingName(first!), `no sink: set it or ${others}${extra}`);
}

export function createSinks(configs: SinkConfigs, env: ComponentEnv, opts: { dryRun: boolean }): Sink[] {
  if (opts.dryRun) return [createStdoutSink()];
  return configuredSinks(configs).map(({ entry, options }) =>
    entry.create(options, { ...env, logger: env.logger.child({ sink: entry.name }) }),
  );
}
