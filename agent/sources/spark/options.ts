/** The Spark source's settings, as its table entry (index.ts) parses them. */
export interface SparkOptions {
  /** The Spark UI base URL; undefined: discovered. */
  url?: string;
  timeoutMs: number;
  /** Databricks' driver env file, which names the UI port (CONF_UI_PORT). */
  driverEnvFile: string;
  /** Also forward Spark's own /metrics/executors/prometheus and /metrics/prometheus. */
  prometheus: boolean;
  maxExecutorSeries: number;
  maxResponseBytes: number;
  /** Structured Streaming queries reported per cycle; more are counted as dropped. */
  maxStreamingQueries: number;
}
