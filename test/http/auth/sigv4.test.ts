/** The SigV4 sign-in method's own parts: its settings, which refusals new keys can fix, doctor's words. */
import assert from 'node:assert/strict';
import { buildConfig, ConfigError } from '../../../agent/config';
import { clockSkewMs, expiryText, keysRefused } from '../../../agent/http/auth/sigv4';
import type { Rejection } from '../../../agent/http/auth/method';

const RW = { remoteWriteUrl: 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write' };

function refuses(flags: Record<string, string>, env: Record<string, string>, setting: RegExp, why: RegExp): void {
  assert.throws(
    () => buildConfig({ ...RW, ...flags }, env),
    (e: unknown) => e instanceof ConfigError && setting.test(e.setting) && why.test(e.message),
  );
}

const rejection = (status: number, body: string, headers: Record<string, string> = {}): Rejection => ({ status, body, headers, sent: {} });

describe('http/auth/sigv4', () => {
  it('turns on with the region, service aps by default, a role when given', () => {
    assert.deepEqual(buildConfig({ ...RW, sigv4Region: 'us-east-1' }, {}).auth.sigv4, { region: 'us-east-1', service: 'aps' });
    const elsewhere = { remoteWriteUrl: 'https://receiver.example/api/v1/write' };
    assert.deepEqual(buildConfig(elsewhere, { DBX_PROM_SIGV4_REGION: 'us-gov-west-1', DBX_PROM_SIGV4_ROLE_ARN: 'arn:aws-us-gov:iam::123456789012:role/team/prom-writer' }).auth.sigv4, {
      region: 'us-gov-west-1',
      service: 'aps',
      roleArn: 'arn:aws-us-gov:iam::123456789012:role/team/prom-writer',
    });
    assert.equal(buildConfig({ ...elsewhere, sigv4Region: 'cn-north-1', sigv4Service: 'execute-api' }, {}).auth.sigv4?.service, 'execute-api');
    assert.equal(buildConfig(RW, {}).auth.sigv4, undefined);
  });

  it('refuses a region, role or service that AWS would not know, naming the setting', () => {
    refuses({ sigv4Region: 'US-EAST-1' }, {}, /--sigv4-region/, /not an AWS region/);
    refuses({ sigv4Region: 'us_east_1' }, {}, /--sigv4-region/, /not an AWS region/);
    refuses({ sigv4Region: 'useast1' }, {}, /--sigv4-region/, /not an AWS region/);
    refuses({}, { DBX_PROM_SIGV4_REGION: 'https://aps-workspaces.us-east-1.amazonaws.com' }, /DBX_PROM_SIGV4_REGION/, /not an AWS region/);
    refuses({ sigv4Region: 'us-east-1', sigv4RoleArn: 'prom-writer' }, {}, /--sigv4-role-arn/, /not an IAM role ARN/);
    refuses({ sigv4Region: 'us-east-1', sigv4RoleArn: 'arn:aws:iam::1234:role/x' }, {}, /--sigv4-role-arn/, /not an IAM role ARN/);
    refuses({ sigv4Region: 'us-east-1', sigv4Service: 'APS!' }, {}, /--sigv4-service/, /not an AWS service/);
  });

  it('refuses its other settings without the region instead of ignoring them', () => {
    refuses({ sigv4RoleArn: 'arn:aws:iam::123456789012:role/x' }, {}, /--sigv4-role-arn/, /needs --sigv4-region/);
    refuses({ sigv4Service: 'aps' }, {}, /--sigv4-service/, /needs --sigv4-region/);
  });

  it('refuses SigV4 together with another sign-in method', () => {
    refuses({ sigv4Region: 'us-east-1' }, { DBX_PROM_BEARER_TOKEN: 'tok-aaaa' }, /DBX_PROM_BEARER_TOKEN and --sigv4-region/, /choose one of .*AWS SigV4/);
    refuses({ sigv4Region: 'us-east-1', oauth2TokenUrl: 'https://idp.example/token' }, {}, /--oauth2-token-url .* and --sigv4-region/, /choose one/);
  });

  it('refuses an Amazon Managed Prometheus URL of another region than --sigv4-region', () => {
    refuses({ sigv4Region: 'eu-west-1' }, {}, /--remote-write-url/, /workspace in us-east-1, but --sigv4-region is eu-west-1/);
    assert.ok(buildConfig({ ...RW, sigv4Region: 'us-east-1' }, {}).auth.sigv4);
    // Another host (a VPC endpoint, a proxy) says no region: the setting is trusted.
    assert.ok(buildConfig({ remoteWriteUrl: 'https://vpce-1.aps-workspaces.eu-west-1.vpce.amazonaws.com/workspaces/ws-1/api/v1/remote_write', sigv4Region: 'us-east-1' }, {}).auth.sigv4);
  });

  it('counts as a credential for the plain-http rule: http only to loopback', () => {
    refuses({ remoteWriteUrl: 'http://prom.internal:9090/api/v1/write', sigv4Region: 'us-east-1' }, {}, /remote-write-url/, /plain http/i);
    assert.ok(buildConfig({ remoteWriteUrl: 'http://127.0.0.1:9090/api/v1/write', sigv4Region: 'us-east-1' }, {}).auth.sigv4);
  });

  it('asks for new keys after expired or unknown keys, not after a bad signature or a missing permission', () => {
    assert.equal(keysRefused(rejection(403, '{"message":"The security token included in the request is expired"}', { 'x-amzn-errortype': 'ExpiredTokenException' })), 'HTTP 403 ExpiredTokenException');
    assert.equal(keysRefused(rejection(403, '{"message":"The security token included in the request is expired"}')), 'HTTP 403 ExpiredToken');
    assert.equal(keysRefused(rejection(403, '', { 'x-amzn-errortype': 'UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/' })), 'HTTP 403 UnrecognizedClientException');
    assert.equal(keysRefused(rejection(403, '<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>')), 'HTTP 403 UnrecognizedClient');
    assert.equal(keysRefused(rejection(403, '{"message":"The request signature we calculated does not match"}', { 'x-amzn-errortype': 'InvalidSignatureException' })), undefined);
    assert.equal(keysRefused(rejection(403, '{"Message":"User: arn:aws:sts::1:assumed-role/x is not authorized to perform: aps:RemoteWrite"}', { 'x-amzn-errortype': 'AccessDeniedException' })), undefined);
    assert.equal(keysRefused(rejection(500, 'ExpiredToken')), undefined);
  });

  it("reads AWS's clock from a refusal of our time, and only from one", () => {
    const now = Date.parse('2026-12-01T10:10:00Z');
    const date = { date: 'Tue, 01 Dec 2026 10:00:00 GMT' };
    assert.equal(clockSkewMs(rejection(403, '{"message":"Signature not yet current: 20261201T101000Z is still later than 20261201T100500Z"}', date), now), -600_000);
    assert.equal(clockSkewMs(rejection(403, '{"message":"Signature expired: 20261201T095000Z is now earlier than 20261201T095500Z"}', date), Date.parse('2026-12-01T09:50:00Z')), 600_000);
    assert.equal(clockSkewMs(rejection(403, 'Signature expired', {}), now), undefined, 'no Date header');
    assert.equal(clockSkewMs(rejection(403, '{"message":"The request signature we calculated does not match"}', date), now), undefined);
    assert.equal(clockSkewMs(rejection(500, 'Signature expired', date), now), undefined);
  });

  it('says when keys expire, or that they do not', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const k = { accessKeyId: 'A', secretAccessKey: 'S', source: 's' };
    assert.equal(expiryText({ ...k, expiration: new Date(now + (5 * 60 + 59) * 60_000) }, now), 'expire 2026-12-01T05:59:00.000Z (in 5h 59m)');
    assert.equal(expiryText({ ...k, expiration: new Date(now - 120_000) }, now), 'expire 2026-11-30T23:58:00.000Z (2m ago)');
    assert.equal(expiryText(k, now), 'long-term keys, no expiry');
  });
});
