/** `policy`: prints a Databricks cluster policy; placeholder until it lands. */
import { Command } from 'commander';

export function policyCommand(): Command {
  return new Command('policy').description('print a Databricks cluster-policy JSON').action(() => {
    process.stderr.write('policy is not implemented yet\n');
    process.exitCode = 1;
  });
}
