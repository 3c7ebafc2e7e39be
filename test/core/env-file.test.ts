import assert from 'node:assert/strict';
import { parseEnvFile } from '../../agent/core/env-file';

describe('env-file', () => {
  it('reads KEY=VALUE with export, comments and both quote styles', () => {
    const env = parseEnvFile(
      [
        '# written by the init script',
        'export DB_CLUSTER_ID=0101-120000-abcd123',
        "DB_CLUSTER_NAME='Team \"A\" analytics'",
        'DBX_PROM_LABELS="team=data,env=prod"',
        'DBX_PROM_INTERVAL=30s # faster please',
        '',
        "QUOTE='it'\\''s'",
      ].join('\n'),
    );
    assert.deepEqual(env, {
      DB_CLUSTER_ID: '0101-120000-abcd123',
      DB_CLUSTER_NAME: 'Team "A" analytics',
      DBX_PROM_LABELS: 'team=data,env=prod',
      DBX_PROM_INTERVAL: '30s',
      QUOTE: "it's",
    });
  });

  it('names the line that is not KEY=VALUE', () => {
    assert.throws(() => parseEnvFile('A=1\nthis is not a setting\n'), /line 2/);
  });
});
