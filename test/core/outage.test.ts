import assert from 'node:assert/strict';
import type { Fields, Logger } from '../../agent/core/log';
import { OutageLog, REMIND_EVERY_MS, RepeatLog, causeOf } from '../../agent/core/outage';

interface Line {
  level: string;
  msg: string;
  fields: Fields;
}

function recorder(): { logger: Logger; lines: Line[]; loud(): Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, fields: Fields = {}) => void lines.push({ level, msg, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return { logger, lines, loud: () => lines.filter((l) => l.level !== 'debug') };
}

describe('outage', () => {
  it('logs the first failure, repeats at debug, and one line on recovery', () => {
    const r = recorder();
    const o = new OutageLog(r.logger, 'push to Pushgateway', 'error', { now: () => 0 });
    o.failure(new Error('HTTP 500: boom'));
    o.failure(new Error('HTTP 500: boom again'));
    o.success();
    assert.deepEqual(
      r.lines.map((l) => [l.level, l.msg]),
      [
        ['error', 'push to Pushgateway failed; further failures are logged at debug until it recovers'],
        ['debug', 'push to Pushgateway still failing'],
        ['info', 'push to Pushgateway recovered'],
      ],
    );
  });

  it('logs again when the cause changes (a 400 that became a 500), not when only details do', () => {
    const r = recorder();
    const o = new OutageLog(r.logger, 'remote write', 'error', { now: () => 0 });
    o.failure(new Error('HTTP 400: out of order sample for series a'));
    o.failure(new Error('HTTP 400: out of order sample for series b'));
    o.failure(new Error('HTTP 500: internal error'));
    o.failure(new Error('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9'));
    o.failure(new Error('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9'));
    const loud = r.loud();
    assert.equal(loud.length, 3);
    assert.match(String(loud[1]!.fields.error), /HTTP 500/);
    assert.equal(loud[1]!.msg, 'remote write still failing, now for another reason');
    assert.match(String(loud[2]!.fields.error), /ECONNREFUSED/);
  });

  it('reminds at its level every REMIND_EVERY_MS while the outage lasts', () => {
    const r = recorder();
    let now = 0;
    const o = new OutageLog(r.logger, 'remote-write queue disk', 'warn', { now: () => now });
    for (let i = 0; i < 60; i++) {
      o.failure(new Error(`short write (${i * 100} of 41562 bytes)`));
      now += 60_000;
    }
    // 60 minutes of failures a minute apart: the first line and one reminder per 15 minutes.
    const loud = r.loud();
    assert.equal(loud.length, 1 + Math.floor((59 * 60_000) / REMIND_EVERY_MS));
    assert.ok(loud.slice(1).every((l) => l.level === 'warn' && l.msg === 'remote-write queue disk still failing'));
    assert.equal(loud[1]!.fields.outage_seconds, REMIND_EVERY_MS / 1000);
  });

  it('names a cause by HTTP status, else error code, else the words without numbers', () => {
    assert.equal(causeOf('GET http://h:1/x: HTTP 503: busy'), 'HTTP 503');
    assert.equal(causeOf('ETIMEDOUT: timeout of 10000ms exceeded'), 'ETIMEDOUT');
    assert.equal(causeOf('short write to /q/0001.seg (10 of 20 bytes)'), causeOf('short write to /q/0002.seg (30 of 40 bytes)'));
  });

  it('RepeatLog: says a recurring event once, then once per REMIND_EVERY_MS with the total since', () => {
    const r = recorder();
    let now = 0;
    const l = new RepeatLog(r.logger, 'remote write dropped samples', 'warn', { now: () => now });
    // A full disk dropping 2000 samples a cycle, every second, for 40 minutes.
    for (let i = 0; i < 2400; i++) {
      l.note({ reason: 'disk_error', samples: 2000 }, 2000);
      now += 1000;
    }
    const loud = r.loud();
    assert.equal(loud.length, 3);
    assert.equal(loud[0]!.msg, 'remote write dropped samples');
    assert.equal(loud[1]!.msg, 'remote write dropped samples (still happening)');
    // Everything between two lines is in the second: 900 notes of 2000 samples.
    assert.equal(loud[1]!.fields.total_since_last_line, 900 * 2000);
    assert.equal(loud[1]!.fields.minutes_since_last_line, 15);
  });
});
