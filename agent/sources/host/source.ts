/**
 * The host source: node_exporter's metric names and units, read from /proc and statfs with no
 * child process per cycle. Like node_exporter, each collector runs on its own and reports
 * node_scrape_collector_success/duration_seconds, so one broken file never hides the rest.
 */
import { gauge, type Sample } from '../../core/sample';
import type { Logger } from '../../core/log';
import { isolate, messageOf } from '../../core/isolate';
import { OutageLog } from '../../core/outage';
import type { Source } from '../../core/source';
import { NoDataError, type HostCollector } from './collector';
import { COLLECTORS } from './collectors';
import { procReader } from './proc';

const success = gauge('node_scrape_collector_success', 'node_exporter: Whether a collector succeeded.');
const duration = gauge('node_scrape_collector_duration_seconds', 'node_exporter: Duration of a collector scrape.');
const time = gauge('node_time_seconds', 'System time in seconds since epoch (1970).');

export interface HostSourceOptions {
  logger: Logger;
  /** Root for /proc and /sys (tests point it at fixtures). */
  procRoot?: string;
  /** The collectors to run (default: those on by default). */
  collectors?: readonly HostCollector[];
}

export function createHostSource(opts: HostSourceOptions): Source {
  const read = procReader(opts.procRoot);
  const collectors = (opts.collectors ?? COLLECTORS.filter((c) => c.defaultOn)).map((c) => ({
    name: c.name,
    run: c.create(read),
    outage: new OutageLog(opts.logger, `host collector ${c.name}`, 'warn'),
  }));
  return {
    name: 'host',
    async collect(now: Date): Promise<Sample[]> {
      const results = await Promise.all(
        collectors.map(async (c) => {
          const r = await isolate(c.run, {
            outage: c.outage,
            describe: (e) => {
              if (!(e instanceof NoDataError)) return e;
              opts.logger.debug(`host collector ${c.name}: no data`, { error: messageOf(e) });
              return undefined;
            },
          });
          const l = { collector: c.name };
          return [...(r.value ?? []), success(l, r.ok ? 1 : 0), duration(l, r.seconds)];
        }),
      );
      return [...results.flat(), time({}, now.getTime() / 1000)];
    },
  };
}
