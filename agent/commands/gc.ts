/** `gc`: Pushgateway janitor; placeholder until it lands. */
import { Command } from 'commander';

export function gcCommand(): Command {
  return new Command('gc').description('delete Pushgateway groups older than --max-age').action(() => {
    process.stderr.write('gc is not implemented yet\n');
    process.exitCode = 1;
  });
}
