import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseProcStat, statSamples } from '../../../agent/sources/host/stat';

const fixture = (p: string): string => readFileSync(path.join(__dirname, '../../fixtures/proc/proc', p), 'utf8');
const value = (samples: { name: string; labels: Record<string, string>; value: number }[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('sources/host/stat', () => {
  it('stat: CPU seconds per cpu and mode in USER_HZ, boot time, counters', () => {
    const st = parseProcStat(fixture('stat'));
    assert.equal(st.cpus.length, 2);
    assert.deepEqual(st.cpus.map((c) => c.cpu), ['0', '1']);
    // cpu0 2717 0 1076 39473 52 0 5 8 0 0
    assert.equal(st.cpus[0]!.seconds.user, 27.17);
    assert.equal(st.cpus[0]!.seconds.system, 10.76);
    assert.equal(st.cpus[0]!.seconds.idle, 394.73);
    assert.equal(st.cpus[0]!.seconds.steal, 0.08);
    const samples = statSamples(st);
    assert.equal(value(samples, 'node_cpu_seconds_total', { cpu: '1', mode: 'iowait' }), 1.91);
    assert.equal(samples.filter((s) => s.name === 'node_cpu_seconds_total').length, 16);
    assert.equal(value(samples, 'node_context_switches_total'), 414491);
    assert.ok((value(samples, 'node_boot_time_seconds') ?? 0) > 1.6e9);
  });
});
