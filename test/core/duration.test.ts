import assert from 'node:assert/strict';
import { formatDuration, parseBytes, parseDuration } from '../../agent/core/duration';

describe('duration', () => {
  it('parses Prometheus-style durations', () => {
    assert.equal(parseDuration('15s'), 15_000);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1.5s'), 1500);
  });

  it('rejects bare numbers, unknown units, garbage and empty text', () => {
    for (const bad of ['15', 'abc', '15x', '', ' ', 's', '1m abc', '-5s'])
      assert.equal(parseDuration(bad), undefined, bad);
  });

  it('formats back to the shortest unit', () => {
    assert.equal(formatDuration(60_000), '1m');
    assert.equal(formatDuration(15_000), '15s');
    assert.equal(formatDuration(1500), '1500ms');
  });

  it('parses byte sizes with SI and IEC units', () => {
    assert.equal(parseBytes('256MiB'), 256 * 1024 * 1024);
    assert.equal(parseBytes('1GB'), 1e9);
    assert.equal(parseBytes('1048576'), 1048576);
    assert.equal(parseBytes('12 parsecs'), undefined);
  });
});
