import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLoadavg } from '../../../agent/sources/host/loadavg';

const fixture = (p: string): string => readFileSync(path.join(__dirname, '../../fixtures/proc/proc', p), 'utf8');

describe('sources/host/loadavg', () => {
  it('loadavg: three numbers, and an error on garbage', () => {
    assert.deepEqual(parseLoadavg(fixture('loadavg')), [0.08, 0.13, 0.08]);
    assert.throws(() => parseLoadavg('nope'), /unexpected/);
  });
});
