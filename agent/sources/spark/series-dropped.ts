/**
 * Series the agent chose not to send, by reason. Declared once here because several
 * components cut series to bound cardinality (a Prometheus dies of cardinality first) and the
 * Pushgateway rejects a name whose HELP/TYPE differ between nodes.
 *   reason="executor_cap": per-executor Spark series beyond --max-executor-series;
 *   reason="streaming_query_cap": Structured Streaming queries beyond --max-streaming-queries.
 */
import { counter } from '../../core/sample';

export const seriesDropped = counter(
  'dbx_agent_series_dropped_total',
  'Series left out to bound cardinality, by reason (e.g. executor_cap).',
);
