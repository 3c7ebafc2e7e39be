/**
 * The reference for the agent's text exposition (agent/sinks/pushgateway/text.ts): the same
 * samples serialised by prom-client, as the Pushgateway sink did until the per-push Registry
 * was measured as its main cost. Values are set on a fresh Registry (no I/O in collect hooks),
 * so a series that disappeared is simply absent. test/sinks/pushgateway/text.test.ts holds the
 * writer to this output byte for byte.
 */
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import { histogramFamilyOf, type Sample } from '../../agent/core/sample';

/**
 * Groups samples by name (a histogram's `_bucket`, `_sum` and `_count` by its family name); the
 * first sample of a name fixes its HELP and TYPE.
 */
export function groupByName(samples: readonly Sample[]): Map<string, Sample[]> {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const name = s.type === 'histogram' ? histogramFamilyOf(s.name) : s.name;
    const g = groups.get(name);
    if (g) g.push(s);
    else groups.set(name, [s]);
  }
  return groups;
}

export function toRegistry(samples: readonly Sample[]): Registry {
  const registry = new Registry();
  for (const [name, group] of groupByName(samples)) {
    const first = group[0]!;
    const labelNames = [...new Set(group.flatMap((s) => Object.keys(s.labels)))];
    if (first.type === 'histogram') {
      // prom-client's Histogram only observes; the source has the cumulative counts already, so
      // it is handed to the registry as a plain metric object with those values (prom-client
      // still writes HELP/TYPE once and escapes labels and values).
      const values = group.map((s) => ({ metricName: s.name, labels: s.labels, value: s.value }));
      registry.registerMetric({ name, help: first.help, get: async () => ({ name, help: first.help, type: 'histogram', values, aggregator: 'sum' }) } as unknown as Metric);
    } else if (first.type === 'counter') {
      const c = new Counter({ name, help: first.help, labelNames, registers: [registry] });
      // Counter.inc refuses negatives; a counter sample is an absolute total, never negative.
      for (const s of group) if (Number.isFinite(s.value)) c.inc(s.labels, Math.max(0, s.value));
    } else {
      const g = new Gauge({ name, help: first.help, labelNames, registers: [registry] });
      for (const s of group) g.set(s.labels, s.value);
    }
  }
  return registry;
}

export async function toPrometheusText(samples: readonly Sample[]): Promise<string> {
  return toRegistry(samples).metrics();
}
