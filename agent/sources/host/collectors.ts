/**
 * The one table of host collectors, node_exporter's habit: a reader learns every collector from
 * here, and each gets --collector.<name> / --no-collector.<name> from its line. A new collector
 * is one file plus one line below.
 */
import type { HostCollector } from './collector';
import { cpu } from './stat';
import { loadavg } from './loadavg';
import { meminfo } from './meminfo';
import { netdev } from './netdev';
import { diskstats } from './diskstats';
import { filesystem } from './filesystem';
import { pressure } from './pressure';
import { vmstat } from './vmstat';

export const COLLECTORS: readonly HostCollector[] = [cpu, loadavg, meminfo, netdev, diskstats, filesystem, pressure, vmstat];
