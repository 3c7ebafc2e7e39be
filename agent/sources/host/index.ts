/**
 * The host source's table entry. Its options are node_exporter's collector switches, made from
 * the collectors table: --collector.<name>, --no-collector.<name>, --collector.disable-defaults.
 */
import { ok, warn } from '../../core/check';
import type { SourceEntry } from '../../core/component';
import { option, type OptionSpec } from '../../core/options';
import type { HostCollector } from './collector';
import { COLLECTORS } from './collectors';
import { createHostSource } from './source';

const DISABLE_DEFAULTS = option('--collector.disable-defaults', 'turn off the host collectors that are on by default (then name the ones wanted)');

/** `--collector.<name>` and its `--no-` form, one spec (the flag value is true, false or unset). */
const switchOf = (c: HostCollector): OptionSpec =>
  option(`--collector.${c.name}`, `host collector ${c.name}: ${c.help}`, {
    negatable: true,
    defaultText: c.defaultOn ? 'on' : 'off',
  });
const SWITCHES = new Map(COLLECTORS.map((c) => [c, switchOf(c)]));

export interface HostOptions {
  collectors: readonly HostCollector[];
}

export const host: SourceEntry<'host', HostOptions> = {
  name: 'host',
  defaultOn: true,
  options: [DISABLE_DEFAULTS, ...SWITCHES.values()],
  parse(s) {
    const defaults = !s.bool(DISABLE_DEFAULTS);
    return { collectors: COLLECTORS.filter((c) => s.switch(SWITCHES.get(c)!) ?? (c.defaultOn && defaults)) };
  },
  create: (o, env) => createHostSource({ logger: env.logger, collectors: o.collectors }),
  check: async (o) => [
    o.collectors.length > 0
      ? ok('host', `collectors: ${o.collectors.map((c) => c.name).join(', ')}`)
      : warn('host', 'no host collector is on', 'name one with --collector.<name>, or drop --collector.disable-defaults'),
  ],
};
