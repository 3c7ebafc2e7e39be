/** The agent's own health: build info, process CPU and memory, and what components recorded. */
import { counter, gauge, type Sample } from '../core/sample';
import type { AgentStats } from '../core/stats';
import { VERSION } from '../core/version';
import type { Source } from '../core/source';
import type { SourceEntry } from '../core/component';

const buildInfo = gauge('dbx_agent_build_info', 'dbx-prom-agent build: version and Node.js version; value 1.');
const cpu = counter('dbx_agent_process_cpu_seconds_total', 'CPU seconds used by the agent process (user + system).');
const rss = gauge('dbx_agent_process_resident_memory_bytes', 'Resident memory of the agent process in bytes.');
const heap = gauge('dbx_agent_process_heap_used_bytes', 'V8 heap used by the agent process in bytes.');
const started = gauge('dbx_agent_start_time_seconds', 'Start time of the agent process, in unixtime.');

const startTime = Date.now() / 1000 - process.uptime();

export function createSelfSource(stats: AgentStats): Source {
  return {
    name: 'self',
    readsOthers: true,
    async collect(): Promise<Sample[]> {
      const u = process.cpuUsage();
      const m = process.memoryUsage();
      return [
        buildInfo({ version: VERSION, node_version: process.version }, 1),
        cpu({}, (u.user + u.system) / 1e6),
        rss({}, m.rss),
        heap({}, m.heapUsed),
        started({}, Math.floor(startTime)),
        ...stats.samples(),
      ];
    },
  };
}

export const self: SourceEntry<'self', Record<string, never>> = {
  name: 'self',
  defaultOn: true,
  options: [],
  parse: () => ({}),
  create: (_o, env) => createSelfSource(env.stats),
};
