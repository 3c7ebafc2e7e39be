import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectPressure, parsePressure, pressure } from '../../../agent/sources/host/pressure';
import { NoDataError } from '../../../agent/sources/host/collector';
import { procReader } from '../../../agent/sources/host/proc';

const ROOT = path.join(__dirname, '../../fixtures/proc');
const fixture = (p: string): string => readFileSync(path.join(ROOT, 'proc', p), 'utf8');
const value = (samples: { name: string; value: number }[], name: string) => samples.find((s) => s.name === name)?.value;

describe('sources/host/pressure', () => {
  it('parse: the total of the some and full lines, in microseconds', () => {
    // A 6.x kernel: cpu has a full line too (always 0 system-wide).
    assert.deepEqual(parsePressure('cpu', fixture('pressure/cpu')), { some: 489207007, full: 0 });
    assert.deepEqual(parsePressure('io', fixture('pressure/io')), { some: 20642396, full: 17974797 });
    assert.deepEqual(parsePressure('memory', fixture('pressure/memory')), { some: 9218763, full: 4102295 });
    // A 4.20-5.12 kernel: cpu has only its some line.
    assert.deepEqual(parsePressure('cpu', 'some avg10=0.00 avg60=0.00 avg300=0.00 total=12345\n'), { some: 12345 });
  });

  it("samples: node_exporter 1.5's names in seconds, some → waiting, full → stalled, cpu's full left out", async () => {
    const s = await collectPressure(procReader(ROOT));
    // µs → s with node_exporter's float64(total)/1000.0/1000.0, so both agree to the last bit.
    const sec = (us: number) => us / 1000 / 1000;
    assert.deepEqual(s.map((x) => [x.name, x.type, x.value]), [
      ['node_pressure_cpu_waiting_seconds_total', 'counter', sec(489207007)],
      ['node_pressure_io_waiting_seconds_total', 'counter', sec(20642396)],
      ['node_pressure_io_stalled_seconds_total', 'counter', sec(17974797)],
      ['node_pressure_memory_waiting_seconds_total', 'counter', sec(9218763)],
      ['node_pressure_memory_stalled_seconds_total', 'counter', sec(4102295)],
    ]);
    assert.ok(Math.abs(s[3]!.value - 9.218763) < 1e-12);
    assert.ok(s.every((x) => Object.keys(x.labels).length === 0));
    assert.equal(
      s.find((x) => x.name === 'node_pressure_memory_stalled_seconds_total')!.help,
      'Total time in seconds no process could make progress due to memory congestion',
    );
    assert.equal(value(s, 'node_pressure_cpu_stalled_seconds_total'), undefined);
  });

  it('no /proc/pressure (a kernel before 4.20, or without CONFIG_PSI): NoDataError, not a failure', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'no-psi-'));
    try {
      await assert.rejects(pressure.create(procReader(empty))(), (e: unknown) => e instanceof NoDataError && /unavailable/.test((e as Error).message));
      // PSI switched off at boot (psi=0): the files are there but reading them fails.
      const off = Object.assign(new Error('EOPNOTSUPP: operation not supported, read'), { code: 'EOPNOTSUPP' });
      await assert.rejects(collectPressure(() => Promise.reject(off)), NoDataError);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('a malformed file is an error, not "no data"', async () => {
    assert.throws(() => parsePressure('io', 'some avg10=0.00 avg60=x avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1\n'), /unexpected \/proc\/pressure\/io/);
    assert.throws(() => parsePressure('io', 'some avg10=0.00 avg60=0.00 avg300=0.00\n'), /unexpected/);
    assert.throws(() => parsePressure('memory', ''), /no "some" line/);
    // memory and io must have their full line.
    const read = async (p: string) => (p.endsWith('memory') ? 'some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n' : fixture(p.slice('proc/'.length)));
    await assert.rejects(collectPressure(read), (e: unknown) => !(e instanceof NoDataError) && /memory has no "full" line/.test((e as Error).message));
    // Another read error (EACCES, EIO) is a failure too.
    const denied = Object.assign(new Error('EACCES'), { code: 'EACCES' });
    await assert.rejects(collectPressure(() => Promise.reject(denied)), (e: unknown) => !(e instanceof NoDataError));
  });

  it('ignores lines of a kind it does not know (a future kernel)', () => {
    assert.deepEqual(parsePressure('io', `${fixture('pressure/io')}other avg10=1.00 total=9\n`), { some: 20642396, full: 17974797 });
  });
});
