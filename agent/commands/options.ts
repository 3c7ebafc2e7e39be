/** Adds the shared agent options to a command and turns its parsed flags into a Config. */
import { Command, Option } from 'commander';
import { AGENT_OPTIONS, buildConfig, type Config, type FlagValues, type OptionSpec } from '../config';
import { setLogLevel } from '../core/log';

/** Adds the agent options (all, or only those given) to a command. */
export function withAgentOptions(cmd: Command, only?: ReadonlySet<OptionSpec>): Command {
  const mine = only ? AGENT_OPTIONS.filter((o) => only.has(o)) : AGENT_OPTIONS;
  for (const o of mine) {
    if (o.envOnly) continue;
    const desc = `${o.description} [${o.env}]${o.defaultText ? ` (default: ${o.defaultText})` : ''}`;
    cmd.addOption(new Option(o.flag, desc));
    if (o.negatable) cmd.addOption(new Option(o.flag.replace(/^--/, '--no-'), `turn ${o.flag} off`));
  }
  cmd.addHelpText('after', `\nSecrets from env only: ${mine.filter((o) => o.envOnly).map((o) => o.env).join(', ')}`);
  return cmd;
}

export function loadConfig(cmd: Command, env: NodeJS.ProcessEnv = process.env): Config {
  const config = buildConfig(cmd.opts() as FlagValues, env);
  setLogLevel(config.logLevel);
  return config;
}
