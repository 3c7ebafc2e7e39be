/**
 * `run`: the daemon. Collects on schedule and pushes. On SIGTERM, SIGINT or SIGHUP (a closed
 * terminal of a manual run): the cycle in flight is stopped, a final push is made unless a
 * cycle pushed moments ago, the Pushgateway group is deleted (unless --keep-on-exit), and the
 * process exits 0 within 5 s whatever a slow endpoint does. Nothing is pushed after the DELETE.
 */
import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import { createAgent } from '../agent';
import { requireSink } from '../sinks/index';
import { enabledSources } from '../sources/index';
import type { Config } from '../config';
import type { DatabricksContext } from '../databricks/context';
import { within } from '../core/isolate';
import { log } from '../core/log';
import { gauge } from '../core/sample';
import { IntervalPolicy, Scheduler } from '../schedule';
import { withAgentOptions, loadConfig } from './options';

const intervalSeconds = gauge('dbx_agent_interval_seconds', 'Current collection interval in seconds (fast while busy, slow while idle).');

export const EXIT_DEADLINE_MS = 4500;
/** How long stopping waits for the cycle in flight, and the final cycle for its push. */
const FINAL_CYCLE_MS = 1500;
/** The final cycle's collection is cut at this; its push goes on with what it has. */
const FINAL_COLLECT_MS = 1000;
/** A cycle that pushed this recently makes the final push needless. */
const RECENT_PUSH_MS = 1000;

/**
 * Whether the daemon turns V8's optimising compiler (TurboFan) off. A cycle of host series is
 * a few ms of JavaScript every 15 s: TurboFan's background compiles and optimised code never
 * pay for themselves there. Measured (README "Benchmarks"), a 1 s host cycle: 12.5 → 8.7 ms CPU,
 * 62 → 53 MiB RSS. Kept on only where JavaScript work grows with the cluster: a driver
 * forwarding Spark's own Prometheus endpoints (~100k series at 500 executors: 1.7 s of CPU per
 * cycle with TurboFan, 2.2 s without). Set at run time because the SEA takes no Node flags,
 * NODE_OPTIONS refuses --lite-mode, and --jitless there prints a V8 warning on every start and
 * takes WebAssembly away.
 */
export function keepsOptimizingCompiler(config: Config, context: DatabricksContext): boolean {
  const sparkHere = enabledSources(config.sources, config.source, { context }).some(({ entry }) => entry.name === 'spark');
  return sparkHere && config.source.spark.prometheus;
}

export function runCommand(): Command {
  const cmd = new Command('run').description('run as a daemon: collect on schedule and push');
  withAgentOptions(cmd).action(async () => {
    const config = loadConfig(cmd);
    requireSink(config.sinks);
    const agent = createAgent(config, log, { dryRun: false });
    if (!keepsOptimizingCompiler(config, agent.context)) setFlagsFromString('--no-opt');
    const policy = new IntervalPolicy(config.intervalMs, config.idleIntervalMs, config.idleAfter);
    const scheduler = new Scheduler({
      policy,
      phaseMs: Math.floor(Math.random() * config.intervalMs),
      cycle: async (now, stop) => (await agent.cycle(now, { stop })).busy,
      onInterval: (ms) => {
        agent.stats.set(intervalSeconds, {}, ms / 1000);
        log.debug('collection interval', { seconds: ms / 1000 });
      },
    });
    scheduler.start();
    log.info('agent running', {
      interval: config.intervalMs / 1000,
      idle_interval: config.idleIntervalMs / 1000,
      first_cycle_in_seconds: Math.round((scheduler.due - Date.now()) / 1000),
      sinks: agent.pipeline.sinks.map((s) => s.name),
    });

    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        log.info('stopping', { signal, cycle_in_flight: scheduler.busy });
        const started = Date.now();
        // What the sinks plan their last requests against; the hard exit below is the backstop.
        const deadline = started + EXIT_DEADLINE_MS - 200;
        const hard = setTimeout(() => {
          log.warn('exit deadline reached; exiting without waiting further (a Pushgateway group not deleted by now is left for `dbx-prom-agent gc`)');
          process.exit(0);
        }, EXIT_DEADLINE_MS);
        hard.unref();
        // The cycle in flight stops collecting at once; a push of it already on its way is the
        // sinks' to finish or abort when they close.
        const settled = (await within(scheduler.stop(), FINAL_CYCLE_MS)).status !== 'late';
        // A final push, unless a cycle pushed moments ago or its push still hangs (that push is
        // the last word, and another would only queue behind it).
        const pushedAt = agent.pipeline.lastPushAt;
        // What is left once the DELETE's share (1.5 s) is kept back.
        const budget = Math.min(FINAL_COLLECT_MS + FINAL_CYCLE_MS, deadline - Date.now() - 1500);
        if (settled && budget > 200 && (pushedAt === undefined || Date.now() - pushedAt > RECENT_PUSH_MS))
          await within(agent.cycle(new Date(), { collectMs: Math.min(FINAL_COLLECT_MS, budget / 2) }), budget);
        // A sink late for its deadline still gets a moment for its DELETE (and for saying
        // whether it was done); the hard exit above bounds it all.
        await within(agent.close({ nodeLeaving: !config.keepOnExit, deadline }), Math.max(deadline - Date.now(), 500) + 100);
        clearTimeout(hard);
        resolve();
      };
      // `on`, not `once`: systemd signals every process of the unit and a wrapper may forward
      // the same SIGTERM; a second signal must not kill the agent before its DELETE. SIGHUP (a
      // closed terminal) too: Node.js resets a SIGHUP ignored by `nohup` to its default at
      // start, so without this a hang-up killed the agent (129) with its group left behind.
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
    });
    log.info('stopped');
  });
  return cmd;
}
