/** `once`: one collect and push; exit 0 when every sink took it, 1 otherwise. */
import { Command } from 'commander';
import { createAgent } from '../agent';
import { log } from '../core/log';
import { withAgentOptions, loadConfig } from './options';
import { requireSink } from '../sinks/index';

export function onceCommand(): Command {
  const cmd = new Command('once')
    .description('collect once and push; --dry-run prints Prometheus text instead')
    .option('--dry-run', 'print Prometheus text on stdout, push nothing');
  withAgentOptions(cmd).action(async () => {
    const config = loadConfig(cmd);
    const dryRun = cmd.opts().dryRun === true;
    if (!dryRun) requireSink(config.sinks, ', or use --dry-run');
    const agent = createAgent(config, log, { dryRun });
    const result = await agent.cycle();
    await agent.close({ nodeLeaving: false });
    const failed = [...result.sinks].filter(([, ok]) => !ok).map(([name]) => name);
    if (failed.length > 0) {
      log.error('push failed', { sinks: failed });
      process.exitCode = 1;
    }
  });
  return cmd;
}
