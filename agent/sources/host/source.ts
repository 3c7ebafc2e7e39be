/**
 * The host source: node_exporter's metric names and units, read from /proc and statfs with no
 * child process per cycle. Like node_exporter, each collector runs on its own and reports
 * node_scrape_collector_success/duration_seconds, so one broken file never hides the rest.
 */
import { gauge, type Sample } from '../../core/sample';
import type { Logger } from '../../core/log';
import { OutageLog } from '../../core/outage';
import type { Source } from '../../core/source';
import { procReader } from './proc';
import { collectStat } from './stat';
import { collectLoadavg } from './loadavg';
import { collectMeminfo } from './meminfo';
import { collectNetDev } from './netdev';
import { collectDiskstats } from './diskstats';
import { FilesystemCollector } from './filesystem';

const success = gauge('node_scrape_collector_success', 'node_exporter: Whether a collector succeeded.');
const duration = gauge('node_scrape_collector_duration_seconds', 'node_exporter: Duration of a collector scrape.');
const time = gauge('node_time_seconds', 'System time in seconds since epoch (1970).');

export interface HostSourceOptions {
  logger: Logger;
  /** Root for /proc (tests point it at fixtures). */
  procRoot?: string;
}

type Collect = () => Promise<Sample[]>;

export function createHostSource(opts: HostSourceOptions): Source {
  const read = procReader(opts.procRoot);
  const fs = new FilesystemCollector(read);
  const collectors: [string, Collect][] = [
    ['cpu', () => collectStat(read)],
    ['loadavg', () => collectLoadavg(read)],
    ['meminfo', () => collectMeminfo()],
    ['netdev', () => collectNetDev(read)],
    ['diskstats', () => collectDiskstats(read)],
    ['filesystem', () => fs.collect()],
  ];
  const outages = new Map(collectors.map(([name]) => [name, new OutageLog(opts.logger, `host collector ${name}`, 'warn')]));

  return {
    name: 'host',
    async collect(now: Date): Promise<Sample[]> {
      const results = await Promise.all(
        collectors.map(async ([name, run]) => {
          const started = performance.now();
          let samples: Sample[] = [];
          let ok = 1;
          try {
            samples = await run();
            outages.get(name)!.success();
          } catch (e) {
            ok = 0;
            outages.get(name)!.failure(e);
          }
          const l = { collector: name };
          samples.push(success(l, ok), duration(l, (performance.now() - started) / 1000));
          return samples;
        }),
      );
      return [...results.flat(), time({}, now.getTime() / 1000)];
    },
  };
}
