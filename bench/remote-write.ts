/**
 * Remote-write encoding benchmark: samples encoded (protobuf) + compressed (snappy) per second
 * and bytes per sample, ours against the `prometheus-remote-write` npm package (protobufjs +
 * snappyjs 0.6) in the same run, for 1k, 10k and 100k series shaped like the agent's (node
 * labels plus a few metric labels). Runs alone: `npx tsx bench/remote-write.ts`.
 *
 * Every row encodes requests of 2000 samples (the default --max-samples-per-send), as the sink
 * sends them: one 30 MB request of 100k series would measure the allocator, not the encoder.
 *
 * Rows:
 *   ours encode+compress    encodeWriteRequest + snappy on prepared series (like for like; steady
 *                           state: each series' labels were encoded in an earlier cycle and are copied)
 *   ours cold               the same without cached label bytes (every series new: the first cycle)
 *   theirs encode+compress  prometheus-remote-write serialize() (protobufjs verify + encode) + its snappyjs
 *   ours from samples       the sink's whole hot path: label building, sorting, staleness
 *                           tracking, chunks of 2000 samples, encode, compress
 */
import { createRequire } from 'node:module';
import { serialize } from 'prometheus-remote-write';
import { encodeWriteRequest, type WireSeries } from '../agent/remote-write/protobuf';
import { SeriesTracker, chunk } from '../agent/remote-write/series';
import { snappyCompress } from '../agent/remote-write/snappy';
import { gauge, type Sample } from '../agent/sample';

const theirSnappy = createRequire(require.resolve('prometheus-remote-write'))('snappyjs') as { compress(b: Uint8Array): Uint8Array };

const PER_REQUEST = 2000;
const fam = gauge('node_cpu_seconds_total', 'bench');

function makeSamples(n: number): Sample[] {
  const base = {
    cluster_id: '0101-120000-abcd1234',
    cluster_name: 'etl-nightly',
    node: 'ip-10-1-2-3',
    node_ip: '10.1.2.3',
    role: 'worker',
    instance_type: 'i3.xlarge',
  };
  const out: Sample[] = [];
  for (let i = 0; i < n; i++)
    // n distinct series: cpu and executor_id together are unique.
    out.push(fam({ ...base, cpu: String(i % 64), mode: ['user', 'system', 'idle', 'iowait'][Math.floor(i / 64) % 4]!, executor_id: String(Math.floor(i / 64)) }, 12345.67 + i * 0.01));
  return out;
}

interface Measure {
  opsPerSec: number;
  bytes: number;
  rawBytes: number;
}

/** Runs `fn` until at least `minMs` passed (and at least twice), after one warm-up run. */
function measure(fn: () => { bytes: number; rawBytes: number }, minMs: number): Measure {
  let last = fn();
  let runs = 0;
  const started = performance.now();
  while (runs < 2 || performance.now() - started < minMs) {
    last = fn();
    runs++;
  }
  return { opsPerSec: runs / ((performance.now() - started) / 1000), ...last };
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

export async function benchRemoteWrite(): Promise<void> {
  const ts = Date.now();
  const rows: string[][] = [];
  const ratios: string[] = [];
  for (const n of [1_000, 10_000, 100_000]) {
    const minMs = n >= 100_000 ? 2000 : 1000;
    const samples = makeSamples(n);
    const wire: WireSeries[] = new SeriesTracker({ job: 'databricks', instance: 'ip-10-1-2-3' }).cycle(samples, ts).series;
    const requests = chunk(wire, PER_REQUEST);
    const theirsInput = requests.map((part) => ({
      timeseries: part.map((s) => ({
        labels: s.labels.map(([name, value]) => ({ name, value })),
        samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestampMs })),
      })),
    }));
    const encodeAll = (parts: readonly (readonly WireSeries[])[]): { bytes: number; rawBytes: number } => {
      let bytes = 0;
      let rawBytes = 0;
      for (const part of parts) {
        const pb = encodeWriteRequest(part);
        rawBytes += pb.length;
        bytes += snappyCompress(pb).length;
      }
      return { bytes, rawBytes };
    };

    const ours = measure(() => encodeAll(requests), minMs);
    // No cached label bytes: every series new, as in the first cycle.
    const cold = measure(() => encodeAll(requests.map((part) => part.map((s) => ({ labels: s.labels, samples: s.samples })))), minMs);

    // serialize() is async (it may load a .proto); await it outside the timed sync loop by priming.
    let theirsLast = { bytes: 0, rawBytes: 0 };
    let theirRuns = 0;
    const started = performance.now();
    while (theirRuns < 3 || performance.now() - started < minMs) {
      theirsLast = { bytes: 0, rawBytes: 0 };
      for (const req of theirsInput) {
        const pb = (await serialize(req as never)) as unknown as Uint8Array;
        theirsLast.rawBytes += pb.length;
        theirsLast.bytes += theirSnappy.compress(pb).length;
      }
      theirRuns++;
    }
    const theirs: Measure = { opsPerSec: theirRuns / ((performance.now() - started) / 1000), ...theirsLast };

    let cycle = 0;
    const tracker = new SeriesTracker({ job: 'databricks', instance: 'ip-10-1-2-3' });
    const full = measure(() => {
      const c = tracker.cycle(samples, ts + ++cycle * 1000);
      let bytes = 0;
      let rawBytes = 0;
      for (const part of chunk(c.series, PER_REQUEST)) {
        const pb = encodeWriteRequest(part);
        rawBytes += pb.length;
        bytes += snappyCompress(pb).length;
      }
      return { bytes, rawBytes };
    }, minMs);

    for (const [name, m] of [['ours encode+compress', ours], ['ours cold (new series)', cold], ['theirs encode+compress', theirs], ['ours from samples', full]] as const)
      rows.push([fmt(n), name, fmt(m.opsPerSec * n), (m.rawBytes / n).toFixed(1), (m.bytes / n).toFixed(1)]);
    ratios.push(
      `${fmt(n)} series: ours ${(ours.opsPerSec / theirs.opsPerSec).toFixed(1)}x (cold ${(cold.opsPerSec / theirs.opsPerSec).toFixed(1)}x) the samples/s of prometheus-remote-write; compressed size ${(ours.bytes / theirs.bytes).toFixed(3)}x`,
    );
  }
  const head = ['series', 'encoder', 'samples/s', 'bytes/sample raw', 'bytes/sample snappy'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('\nremote write: encode + snappy (node ' + process.version + ', ' + process.arch + ')');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  for (const r of ratios) console.log(r);
}

if (require.main === module) void benchRemoteWrite();
