/**
 * The command line. Exit codes: 0 ok, 1 a push or check failed, 2 bad configuration or usage
 * (the message names the setting).
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from './config';
import { log, redact } from './core/log';
import { VERSION } from './core/version';
import { runCommand } from './commands/run';
import { onceCommand } from './commands/once';
import { doctorCommand } from './commands/doctor';
import { gcCommand } from './commands/gc';
import { policyCommand } from './commands/policy';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export function buildProgram(): Command {
  const program = new Command('dbx-prom-agent')
    .description('Metrics agent for Databricks clusters: host and Spark metrics to a Pushgateway or remote write')
    .version(VERSION, '-V, --version')
    .showHelpAfterError();
  for (const c of [runCommand(), onceCommand(), doctorCommand(), gcCommand(), policyCommand()]) program.addCommand(c);
  // Commander exits by itself on usage errors; we want exit 2 and our own handling.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return EXIT_OK;
      return EXIT_CONFIG;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(redact(`dbx-prom-agent: ${e.message}\n`));
      return EXIT_CONFIG;
    }
    log.error('fatal error', { error: e instanceof Error ? e.stack ?? e.message : String(e) });
    return EXIT_FAILURE;
  }
}
