import assert from 'node:assert/strict';
import { captureLogs, log, redact, registerSecret, replaceSecret, resetLogState, setLogLevel } from '../../agent/core/log';

describe('log redaction', () => {
  it('removes every registered secret, wherever it appears', () => {
    registerSecret('tok-ABCDEF-123456');
    const out = redact('sent tok-ABCDEF-123456 twice: tok-ABCDEF-123456');
    assert.equal(out, 'sent [REDACTED] twice: [REDACTED]');
  });

  it('ignores values too short to be secrets (they would blank innocent text)', () => {
    registerSecret('abc');
    assert.equal(redact('abc def'), 'abc def');
  });

  it('removes a longer secret whole even when a shorter one is inside it', () => {
    registerSecret('inner-secret');
    registerSecret('outer-inner-secret-xyz');
    assert.equal(redact('x outer-inner-secret-xyz y'), 'x [REDACTED] y');
  });

  it('removes a secret echoed back URL- or form-encoded', () => {
    registerSecret('s3cr3t-T0ken/XYZ+q==');
    registerSecret('p@ss w/rd-9');
    assert.equal(redact('body: enc=s3cr3t-T0ken%2FXYZ%2Bq%3D%3D'), 'body: enc=[REDACTED]');
    assert.equal(redact('pw=p%40ss%20w%2Frd-9 or p%40ss+w%2Frd-9'), 'pw=[REDACTED] or [REDACTED]');
  });

  it('forgets a replaced token but keeps the new one redacted', () => {
    registerSecret('old-token-111111');
    replaceSecret('old-token-111111', 'new-token-222222');
    assert.equal(redact('old-token-111111 new-token-222222'), 'old-token-111111 [REDACTED]');
  });

  it('hides URL user-info, with or without a password', () => {
    assert.equal(redact('GET https://bob:pa55@pg.example:9091/metrics'), 'GET https://[REDACTED]@pg.example:9091/metrics');
    assert.equal(redact('"url":"http://token123@host/x"'), '"url":"http://[REDACTED]@host/x"');
    assert.equal(redact('see https://pg.example/a@b'), 'see https://pg.example/a@b');
  });

  it('hides Authorization values and credential fields never registered', () => {
    assert.equal(redact('Authorization: Bearer eyJhbGciOi.J9x-y_z'), 'Authorization: [REDACTED]');
    assert.equal(redact('header Basic YWxpY2U6cHc='), 'header Basic [REDACTED]');
    assert.equal(redact('{"access_token":"abcd.efgh","expires_in":60}'), '{"access_token":"[REDACTED]","expires_in":60}');
    assert.equal(redact('grant_type=client_credentials&client_secret=s3cr3t&scope=a'), 'grant_type=client_credentials&client_secret=[REDACTED]&scope=a');
    assert.equal(redact('{\\"password\\":\\"hunter22\\"}'), '{\\"password\\":\\"[REDACTED]\\"}');
  });

  it("leaves the agent's own setting names and the words after them readable", () => {
    const text = 'invalid DBX_PROM_OAUTH2_CLIENT_SECRET: needs --oauth2-token-url (DBX_PROM_OAUTH2_TOKEN_URL)';
    assert.equal(redact(text), text);
    assert.equal(redact('invalid DBX_PROM_BASIC_AUTH_PASSWORD: is required'), 'invalid DBX_PROM_BASIC_AUTH_PASSWORD: is required');
    // The same field name outside a setting name is still a credential field, and a setting
    // name given a value (`=`, JSON) still carries one.
    assert.equal(redact('client_secret: hunter22'), 'client_secret: [REDACTED]');
    assert.equal(redact('DBX_PROM_BASIC_AUTH_PASSWORD=hunter2secret'), 'DBX_PROM_BASIC_AUTH_PASSWORD=[REDACTED]');
    assert.equal(redact('{"DBX_PROM_OAUTH2_CLIENT_SECRET":"abcd1234xyz"}'), '{"DBX_PROM_OAUTH2_CLIENT_SECRET":"[REDACTED]"}');
    assert.equal(redact('dbx_prom_basic_auth_password=zzzz9999'), 'dbx_prom_basic_auth_password=[REDACTED]');
  });

  it('leaves prose about auth readable', () => {
    const text = 'Basic auth user and Bearer token file are set';
    assert.equal(redact(text), text);
  });

  it('redacts every log line, including fields and error messages', () => {
    registerSecret('pw-in-error-9876');
    const lines: string[] = [];
    const restore = captureLogs((l) => lines.push(l));
    try {
      log.error('push failed', { error: new Error('server said pw-in-error-9876'), url: 'https://u:pw-in-error-9876@h/' });
      log.child({ token: 'pw-in-error-9876' }).warn('child logger');
    } finally {
      restore();
    }
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.doesNotMatch(l, /pw-in-error-9876/);
      JSON.parse(l); // still valid JSON after redaction
    }
  });

  it('redacts an axios-like error serialised whole (its config carries the headers)', () => {
    const lines: string[] = [];
    const restore = captureLogs((l) => lines.push(l));
    try {
      log.error('oops', { detail: { config: { headers: { Authorization: 'Bearer zzz-Unregistered-42' } } } });
    } finally {
      restore();
    }
    assert.doesNotMatch(lines[0]!, /zzz-Unregistered-42/);
    JSON.parse(lines[0]!);
  });

  it('redacts a secret with quotes and backslashes, which a JSON log line escapes', () => {
    const lines: string[] = [];
    const restore = captureLogs((l) => lines.push(l));
    try {
      registerSecret('pa"ss\\word9');
      log.warn('server said: pa"ss\\word9 is wrong', { detail: 'x pa"ss\\word9 y' });
    } finally {
      restore();
    }
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0]!, /word9/);
    assert.match(lines[0]!, /server said: \[REDACTED\] is wrong/);
  });
});

describe('log state between tests', () => {
  /** What reaches process.stderr while `fn` runs. */
  const stderrOf = (fn: () => void): string => {
    const original = process.stderr.write;
    let out = '';
    process.stderr.write = ((chunk: string | Uint8Array) => {
      out += chunk.toString();
      return true;
    }) as typeof process.stderr.write;
    try {
      fn();
    } finally {
      process.stderr.write = original;
    }
    return out;
  };
  const leaked: string[] = [];

  it('resetLogState forgets the secrets, the level and a capture never restored', () => {
    registerSecret('reset-Me-secret-1');
    setLogLevel('error');
    captureLogs((l) => leaked.push(l));
    resetLogState();
    assert.equal(redact('x reset-Me-secret-1 y'), 'x reset-Me-secret-1 y');
    const out = stderrOf(() => {
      log.debug('below info');
      log.info('at info');
    });
    assert.deepEqual(out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg), ['at info']);
    assert.deepEqual(leaked, []);
  });

  // The next two run in this order: the first leaves everything behind, as a careless test
  // of another file could; the root hook (test/helpers/setup.ts) must clean up in between.
  it('(a test that registers a secret, sets debug and never restores its capture)', () => {
    registerSecret('leaky-Secret-4242');
    setLogLevel('debug');
    captureLogs((l) => leaked.push(l));
    log.debug('seen by the leaky capture');
    assert.equal(leaked.length, 1);
    assert.equal(redact('leaky-Secret-4242'), '[REDACTED]');
  });

  it('the next test starts clean: no secret, level info, lines to stderr', () => {
    assert.equal(redact('x leaky-Secret-4242 y'), 'x leaky-Secret-4242 y');
    const out = stderrOf(() => {
      log.debug('dropped at info');
      log.info('to stderr');
    });
    assert.deepEqual(out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg), ['to stderr']);
    assert.equal(leaked.length, 1, 'the leaky capture got nothing more');
  });
});
