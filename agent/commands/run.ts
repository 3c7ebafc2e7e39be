/**
 * `run`: the daemon. Collects on schedule and pushes. On SIGTERM/SIGINT: a final push, then
 * the Pushgateway group is deleted (unless --keep-on-exit), and the process exits 0 within 5 s
 * whatever a slow endpoint does.
 */
import { Command } from 'commander';
import { createAgent } from '../agent';
import { ConfigError } from '../config';
import { log } from '../log';
import { gauge } from '../sample';
import { IntervalPolicy, Scheduler } from '../schedule';
import { withAgentOptions, loadConfig } from './options';

const intervalSeconds = gauge('dbx_agent_interval_seconds', 'Current collection interval in seconds (fast while busy, slow while idle).');

export const EXIT_DEADLINE_MS = 4500;

/** Resolves with the value, or with `fallback` after `ms`. */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      () => (clearTimeout(t), resolve(fallback)),
    );
  });
}

export function runCommand(): Command {
  const cmd = new Command('run').description('run as a daemon: collect on schedule and push');
  withAgentOptions(cmd).action(async () => {
    const config = loadConfig(cmd);
    if (config.pushgatewayUrl === undefined && config.remoteWriteUrl === undefined)
      throw new ConfigError('--pushgateway-url (DBX_PROM_PUSHGATEWAY_URL)', 'no sink: set it or --remote-write-url');
    const agent = createAgent(config, log, { dryRun: false });
    const policy = new IntervalPolicy(config.intervalMs, config.idleIntervalMs, config.idleAfter);
    const scheduler = new Scheduler({
      policy,
      phaseMs: Math.floor(Math.random() * config.intervalMs),
      cycle: async (now) => (await agent.cycle(now)).busy,
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
        log.info('stopping', { signal });
        const hard = setTimeout(() => {
          log.warn('exit deadline reached; exiting without waiting further');
          process.exit(0);
        }, EXIT_DEADLINE_MS);
        hard.unref();
        const started = Date.now();
        const wasBusy = scheduler.busy;
        await within(scheduler.stop(), 2000, undefined);
        // A final push, unless a cycle was just cut short (it pushed moments ago).
        if (!wasBusy) await within(agent.cycle().then(() => undefined), 1500, undefined);
        // Closing waits for a push still in flight before the DELETE: give it what is left.
        const left = EXIT_DEADLINE_MS - 200 - (Date.now() - started);
        await within(agent.close({ deleteGroup: !config.keepOnExit }), Math.max(left, 500), undefined);
        clearTimeout(hard);
        resolve();
      };
      // `on`, not `once`: systemd signals every process of the unit and a wrapper may forward
      // the same SIGTERM; a second signal must not kill the agent before its DELETE.
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });
    log.info('stopped');
  });
  return cmd;
}
