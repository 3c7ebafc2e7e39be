import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { memorySamples, parseMeminfo } from '../../../agent/sources/host/meminfo';

const fixture = (p: string): string => readFileSync(path.join(__dirname, '../../fixtures/proc/proc', p), 'utf8');
const value = (samples: { name: string; labels: Record<string, string>; value: number }[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('sources/host/meminfo', () => {
  it('meminfo: node_exporter names in bytes; absent fields left out', () => {
    const s = memorySamples(parseMeminfo(fixture('meminfo')));
    assert.equal(value(s, 'node_memory_MemTotal_bytes'), 7812500 * 1024);
    assert.equal(value(s, 'node_memory_MemAvailable_bytes'), 3906250 * 1024);
    assert.equal(value(s, 'node_memory_SwapTotal_bytes'), 0);
    assert.equal(value(s, 'node_memory_Dirty_bytes'), undefined);
    assert.equal(value(s, 'node_memory_Writeback_bytes'), 4096);
  });
});
