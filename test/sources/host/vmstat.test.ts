import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { collectVmstat, parseVmstat, VMSTAT_DEFAULT_FIELDS, VMSTAT_FIELDS, vmstatSamples } from '../../../agent/sources/host/vmstat';
import { procReader } from '../../../agent/sources/host/proc';

const ROOT = path.join(__dirname, '../../fixtures/proc');
const fixture = (p: string): string => readFileSync(path.join(ROOT, 'proc', p), 'utf8');

describe('sources/host/vmstat', () => {
  it("parse: every field of a 6.x kernel's /proc/vmstat", () => {
    const f = parseVmstat(fixture('vmstat'));
    assert.ok(f.size > 150);
    assert.equal(f.get('pgfault'), 59451285);
    assert.equal(f.get('pgmajfault'), 7897);
    assert.equal(f.get('oom_kill'), 2);
  });

  it("node_exporter's default field set: exactly the fields its regex picks", () => {
    const picked = [...parseVmstat(fixture('vmstat')).keys()].filter((k) => VMSTAT_DEFAULT_FIELDS.test(k)).sort();
    assert.deepEqual(picked, [...VMSTAT_FIELDS].sort());
  });

  it('samples: node_vmstat_<field>, gauges (node_exporter: untyped), no labels', async () => {
    const s = await collectVmstat(procReader(ROOT));
    assert.deepEqual(s.map((x) => [x.name, x.type, x.value]), [
      ['node_vmstat_pgpgin', 'gauge', 6791149],
      ['node_vmstat_pgpgout', 'gauge', 11286620],
      ['node_vmstat_pswpin', 'gauge', 0],
      ['node_vmstat_pswpout', 'gauge', 0],
      ['node_vmstat_pgfault', 'gauge', 59451285],
      ['node_vmstat_pgmajfault', 'gauge', 7897],
      ['node_vmstat_oom_kill', 'gauge', 2],
    ]);
    assert.ok(s.every((x) => Object.keys(x.labels).length === 0));
    assert.equal(s.find((x) => x.name === 'node_vmstat_oom_kill')!.help, '/proc/vmstat information field oom_kill.');
  });

  it('an older kernel without oom_kill (before 4.13): the others, no error', () => {
    const f = parseVmstat(fixture('vmstat').replace(/^oom_kill .*\n/m, ''));
    assert.deepEqual(vmstatSamples(f).map((x) => x.name).includes('node_vmstat_oom_kill'), false);
    assert.equal(vmstatSamples(f).length, 6);
  });

  it('a malformed file is an error', async () => {
    assert.throws(() => parseVmstat('pgfault 12\npgmajfault\n'), /unexpected \/proc\/vmstat line: pgmajfault/);
    assert.throws(() => parseVmstat('pgfault twelve\n'), /unexpected/);
    await assert.rejects(collectVmstat(async () => 'nr_free_pages 12\n'), /no pgfault/);
    await assert.rejects(collectVmstat(async () => ''), /no pgfault/);
  });
});
