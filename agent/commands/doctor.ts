/** `doctor`: checks config, context, Spark and endpoints; placeholder until the checks land. */
import { Command } from 'commander';
import { withAgentOptions, loadConfig } from './options';

export function doctorCommand(): Command {
  const cmd = new Command('doctor').description('check config, Databricks context, Spark API and endpoints');
  withAgentOptions(cmd).action(async () => {
    loadConfig(cmd);
    process.stdout.write('ok   config\n');
  });
  return cmd;
}
