import assert from 'node:assert/strict';
import fc from 'fast-check';
import { snappyCompress, snappyUncompress } from '../../../agent/sinks/remote-write/snappy';

describe('remote-write/snappy', () => {
  it('round-trips random bytes and repetitive text (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 5000 }),
          fc.array(fc.constantFrom('node_cpu_seconds_total', 'cluster_id', '0101-120000-abc', 'é', '\u0000'), { maxLength: 3000 }).map((a) => a.join('')),
        ),
        (input) => {
          const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
          assert.deepEqual(snappyUncompress(snappyCompress(buf)), buf);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips inputs larger than one 64 KiB block', () => {
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251 < 40 ? i & 0xff : 65;
    const c = snappyCompress(big);
    assert.ok(c.length < big.length / 2);
    assert.deepEqual(snappyUncompress(c), big);
  });

  it('writes the block format: a varint length preamble, no stream identifier chunk', () => {
    const c = snappyCompress(Buffer.from('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'));
    // 100 = 0x64: the uncompressed length as a varint; the framed format would start with 0xff "sNaPpY".
    assert.equal(c[0], 100);
    assert.notEqual(c[0], 0xff);
    assert.ok(c.length < 20);
  });

  it('refuses a preamble above the size limit', () => {
    assert.throws(() => snappyUncompress(snappyCompress(Buffer.alloc(1000)), 100));
  });
});
