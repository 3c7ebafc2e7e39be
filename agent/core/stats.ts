/**
 * The agent's own health, kept between cycles: push results, dropped series, queue depth.
 * Components record into it; the `self` source turns it into `dbx_agent_*` samples. Each
 * metric is declared once (name, type, help) so every node emits identical HELP/TYPE.
 */
import type { Family, Labels, Sample } from './sample';

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

interface Entry {
  family: Family;
  series: Map<string, { labels: Labels; value: number }>;
}

export class AgentStats {
  private readonly entries = new Map<string, Entry>();

  private entry(family: Family): Entry {
    let e = this.entries.get(family.name);
    if (!e) {
      e = { family, series: new Map() };
      this.entries.set(family.name, e);
    }
    return e;
  }

  /** Adds to a counter (creates the series at 0 first, so it shows before the first event). */
  inc(family: Family, labels: Labels = {}, by = 1): void {
    const series = this.entry(family).series;
    const k = key(labels);
    const cur = series.get(k);
    if (cur) cur.value += by;
    else series.set(k, { labels, value: by });
  }

  set(family: Family, labels: Labels, value: number): void {
    this.entry(family).series.set(key(labels), { labels, value });
  }

  /** Current value, for tests and for decisions (e.g. pending samples). */
  get(family: Family, labels: Labels = {}): number | undefined {
    return this.entries.get(family.name)?.series.get(key(labels))?.value;
  }

  samples(): Sample[] {
    const out: Sample[] = [];
    for (const { family, series } of this.entries.values())
      for (const { labels, value } of series.values()) out.push(family(labels, value));
    return out;
  }
}
