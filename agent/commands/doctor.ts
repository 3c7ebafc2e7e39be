/**
 * `doctor`: a checklist of config, Databricks context, Spark API, DNS, TCP, TLS, auth and a
 * test push per sink, one line each with a hint on failure. Exit 0 when nothing failed, 1 when
 * a check failed, 2 when the configuration itself is invalid (as every command).
 */
import { Command } from 'commander';
import { ConfigError } from '../config';
import { log } from '../core/log';
import { withAgentOptions, loadConfig } from './options';
import { runDoctor, describeConfig } from '../doctor/index';
import { failed, fail, formatResults, ok } from '../core/check';

export function doctorCommand(): Command {
  const cmd = new Command('doctor').description('check config, Databricks context, Spark API, endpoints, TLS and auth; exit 1 on any failure');
  withAgentOptions(cmd).action(async () => {
    let config;
    try {
      config = loadConfig(cmd);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stdout.write(formatResults([fail('config', e.message, 'fix the setting named above (flag, DBX_PROM_* env variable or env file)')]));
      }
      throw e;
    }
    const results = [ok('config', describeConfig(config)), ...(await runDoctor(config, { logger: log }))];
    process.stdout.write(formatResults(results));
    if (failed(results)) process.exitCode = 1;
  });
  return cmd;
}
