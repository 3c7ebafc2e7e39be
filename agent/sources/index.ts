/**
 * The one table of sources: a reader learns every source the agent has from here. A new
 * source is one file plus one line below.
 */
import type { ComponentEnv, OptionsByName, SourceEntry } from '../core/component';
import { optionsOf } from '../core/component';
import { ConfigError, option, settingName, type Settings } from '../core/options';
import type { Source } from '../core/source';
import { host } from './host/index';
import { self } from './self';
import { spark } from './spark/index';

export const SOURCES = [host, spark, self] as const;

export type SourceConfigs = OptionsByName<typeof SOURCES>;

const DEFAULT_ON = SOURCES.filter((s) => s.defaultOn).map((s) => s.name);

export const SOURCES_OPTION = option('--sources <names>', `sources to run (${SOURCES.map((s) => s.name).join(',')}; spark runs on the driver only)`, {
  defaultText: DEFAULT_ON.join(','),
});

export const SOURCE_OPTIONS = [SOURCES_OPTION, ...SOURCES.flatMap((s) => s.options)];

/** The sources listed in --sources, checked against the table. */
export function parseSourceList(s: Settings): string[] {
  const names = s.str(SOURCES_OPTION, DEFAULT_ON.join(',')).split(',').map((n) => n.trim()).filter(Boolean);
  const known = SOURCES.map((e) => e.name as string);
  for (const n of names)
    if (!known.includes(n)) throw new ConfigError(settingName(SOURCES_OPTION), `unknown source "${n}" (known: ${known.join(', ')})`);
  return names;
}

/** Every source's options, parsed whether it runs or not: a bad value is an error before it matters. */
export function parseSources(s: Settings): SourceConfigs {
  const out: Record<string, unknown> = {};
  for (const entry of SOURCES) out[entry.name] = entry.parse(s);
  return out as SourceConfigs;
}

/** The sources that run on this node: listed, and applying here (Spark on the driver). */
export function enabledSources(list: readonly string[], configs: SourceConfigs, env: Pick<ComponentEnv, 'context'>): { entry: SourceEntry; options: unknown }[] {
  return SOURCES.flatMap((entry: SourceEntry) => {
    const options = optionsOf<unknown>(configs, entry);
    if (!list.includes(entry.name) || (entry.applies && !entry.applies(options, env.context))) return [];
    return [{ entry, options }];
  });
}

export function createSources(list: readonly string[], configs: SourceConfigs, env: ComponentEnv): Source[] {
  return enabledSources(list, configs, env).map(({ entry, options }) =>
    entry.create(options, { ...env, logger: env.logger.child({ source: entry.name }) }),
  );
}
