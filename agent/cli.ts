/**
 * The command line. Exit codes: 0 ok, 1 a push or check failed, 2 bad configuration or usage
 * (the message names the setting).
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from './core/options';
import { log, redact } from './core/log';
import { VERSION } from './core/version';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

/**
 * The commands, in help order, each module loaded only when its command is built: a `run` or
 * `once` never loads (or runs the option setup of) doctor, gc and policy. A require, not an
 * import(): it stays synchronous and lazy in the CommonJS bundle, and resolves the TypeScript
 * source under the test runner alike.
 */
const COMMANDS: Readonly<Record<string, () => Command>> = {
  run: () => (require('./commands/run') as typeof import('./commands/run')).runCommand(),
  once: () => (require('./commands/once') as typeof import('./commands/once')).onceCommand(),
  doctor: () => (require('./commands/doctor') as typeof import('./commands/doctor')).doctorCommand(),
  gc: () => (require('./commands/gc') as typeof import('./commands/gc')).gcCommand(),
  policy: () => (require('./commands/policy') as typeof import('./commands/policy')).policyCommand(),
};

/**
 * The program, with only the command that `argv` invokes (its first argument) when it names
 * one: that command's help, errors and action are all commander then needs. Anything else
 * (no argument, --help, --version, `help once`, a misspelt command) gets every command, so the
 * program's help and "did you mean" suggestions list them all, as before.
 */
export function buildProgram(argv?: readonly string[]): Command {
  const program = new Command('dbx-prom-agent')
    .description('Metrics agent for Databricks clusters: host and Spark metrics to a Pushgateway or remote write')
    .version(VERSION, '-V, --version')
    .showHelpAfterError();
  const invoked = argv?.[2];
  const names = invoked !== undefined && Object.hasOwn(COMMANDS, invoked) ? [invoked] : Object.keys(COMMANDS);
  for (const name of names) program.addCommand(COMMANDS[name]!());
  // Commander exits by itself on usage errors; we want exit 2 and our own handling.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
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
