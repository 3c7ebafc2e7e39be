/** The Spark source's table entry: its options, where it runs, how it is made, what doctor checks. */
import type { SourceEntry } from '../../core/component';
import { option } from '../../core/options';
import { MAX_TIMEOUT_MS } from '../../core/limits';
import type { SparkOptions } from './options';

// Required when used: a worker (no Spark source) never loads the Spark client and parsers,
// and `run` never loads doctor's check.
const source = (): typeof import('./source') => require('./source') as typeof import('./source');
const doctor = (): typeof import('./doctor') => require('./doctor') as typeof import('./doctor');

const URL_OPTION = option('--spark-url <url>', 'Spark UI base URL (default: discovered)');
const TIMEOUT = option('--spark-timeout <duration>', 'timeout of one Spark REST request', { defaultText: '5s' });
const DRIVER_ENV_FILE = option('--driver-env-file <path>', 'Databricks driver env file holding CONF_UI_PORT', {
  defaultText: '/tmp/driver-env.sh',
});
const PROMETHEUS = option('--spark-prometheus', "also forward Spark's own /metrics/*/prometheus endpoints");
const MAX_EXECUTOR_SERIES = option('--max-executor-series <n>', 'cap on per-executor series per cycle', { defaultText: '2000' });
const MAX_STREAMING_QUERIES = option('--max-streaming-queries <n>', 'cap on Structured Streaming queries reported per cycle', { defaultText: '20' });
const MAX_RESPONSE = option('--spark-max-response-size <size>', 'largest Spark REST answer read (a larger one fails its endpoint)', {
  defaultText: '8MiB',
});

export const spark: SourceEntry<'spark', SparkOptions> = {
  name: 'spark',
  defaultOn: true,
  options: [URL_OPTION, TIMEOUT, DRIVER_ENV_FILE, PROMETHEUS, MAX_EXECUTOR_SERIES, MAX_RESPONSE, MAX_STREAMING_QUERIES],
  parse: (s) => ({
    url: s.httpUrl(URL_OPTION, true),
    timeoutMs: s.duration(TIMEOUT, '5s', 100, MAX_TIMEOUT_MS),
    driverEnvFile: s.str(DRIVER_ENV_FILE, '/tmp/driver-env.sh'),
    prometheus: s.bool(PROMETHEUS),
    maxExecutorSeries: s.int(MAX_EXECUTOR_SERIES, 2000, 1),
    maxResponseBytes: s.size(MAX_RESPONSE, '8MiB', 64 * 1024, '64KiB'),
    maxStreamingQueries: s.int(MAX_STREAMING_QUERIES, 20, 1),
  }),
  // Spark's UI runs on the driver only; an explicit --spark-url runs it anywhere (off Databricks).
  applies: (o, context) => context.role === 'driver' || o.url !== undefined,
  create: (o, env) => source().createSparkSource(o, env),
  check: async (o, env) => [await doctor().checkSpark(o, env)],
};
