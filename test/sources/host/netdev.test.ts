import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseNetDev } from '../../../agent/sources/host/netdev';

const fixture = (p: string): string => readFileSync(path.join(__dirname, '../../fixtures/proc/proc', p), 'utf8');

describe('sources/host/netdev', () => {
  it('netdev: receive and transmit counters per device', () => {
    const devs = parseNetDev(fixture('net/dev'));
    assert.deepEqual(devs.map((d) => d.device), ['lo', 'ifb0', 'ifb1', 'eth0']);
    const eth0 = devs.find((d) => d.device === 'eth0')!;
    assert.equal(eth0.stats.receive_bytes, 142891072);
    assert.equal(eth0.stats.receive_packets, 4188);
    assert.equal(eth0.stats.transmit_bytes, 396118);
    assert.equal(eth0.stats.transmit_packets, 3040);
  });
});
