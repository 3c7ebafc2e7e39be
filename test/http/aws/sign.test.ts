/**
 * The SigV4 signature of a request as the agent hands it over (URL, headers, body bytes), against
 * AWS's published Signature Version 4 test suite (credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z,
 * us-east-1, service "service"; the expected Authorization values are the suite's).
 */
import assert from 'node:assert/strict';
import type { OutgoingRequest } from '../../../agent/http/auth/method';
import { signRequest, signedKeyId } from '../../../agent/http/aws/sign';

const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SCOPE = { region: 'us-east-1', service: 'service' };
const AT = new Date('2015-08-30T12:36:00Z');
const CRED = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';
const STS_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

function request(method: string, url: string, headers: Record<string, string> = {}, body = ''): OutgoingRequest {
  return { method, url: new URL(url), headers, body: () => Buffer.from(body) };
}

// [suite case, request, SignedHeaders, Signature]
const SUITE: [string, OutgoingRequest, string, string][] = [
  ['get-vanilla', request('GET', 'https://example.amazonaws.com/'), 'host;x-amz-date', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
  ['get-vanilla-empty-query-key', request('GET', 'https://example.amazonaws.com/?Param1=value1'), 'host;x-amz-date', 'a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb'],
  ['get-vanilla-query-order-key-case', request('GET', 'https://example.amazonaws.com/?Param2=value2&Param1=value1'), 'host;x-amz-date', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'],
  [
    'get-vanilla-query-unreserved',
    request('GET', 'https://example.amazonaws.com/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'),
    'host;x-amz-date',
    '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197',
  ],
  ['get-vanilla-utf8-query', request('GET', 'https://example.amazonaws.com/?ሴ=bar'), 'host;x-amz-date', '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04'],
  ['get-unreserved', request('GET', 'https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'), 'host;x-amz-date', '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f'],
  ['get-header-value-trim', request('GET', 'https://example.amazonaws.com/', { 'my-header1': 'value1', 'my-header2': '"a   b   c"' }), 'host;my-header1;my-header2;x-amz-date', 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736'],
  ['get-header-key-duplicate', request('GET', 'https://example.amazonaws.com/', { 'my-header1': 'value2,value2,value1' }), 'host;my-header1;x-amz-date', 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea'],
  ['post-vanilla', request('POST', 'https://example.amazonaws.com/'), 'host;x-amz-date', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
  ['post-vanilla-query', request('POST', 'https://example.amazonaws.com/?Param1=value1'), 'host;x-amz-date', '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11'],
  ['post-header-value-case', request('POST', 'https://example.amazonaws.com/', { 'my-header1': 'VALUE1' }), 'host;my-header1;x-amz-date', 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d'],
  [
    'post-x-www-form-urlencoded',
    request('POST', 'https://example.amazonaws.com/', { 'content-type': 'application/x-www-form-urlencoded' }, 'Param1=value1'),
    'content-type;host;x-amz-date',
    'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
  ],
  [
    'post-x-www-form-urlencoded-parameters',
    request('POST', 'https://example.amazonaws.com/', { 'content-type': 'application/x-www-form-urlencoded; charset=utf8' }, 'Param1=value1'),
    'content-type;host;x-amz-date',
    '1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe',
  ],
];

describe('http/aws/sign', () => {
  for (const [name, req, signedHeaders, signature] of SUITE)
    it(`signs the suite's ${name} request`, async () => {
      const h = await signRequest(req, KEYS, SCOPE, AT);
      assert.equal(h.authorization, `${CRED}, SignedHeaders=${signedHeaders}, Signature=${signature}`);
      assert.equal(h['x-amz-date'], '20150830T123600Z');
      assert.equal(h.host, 'example.amazonaws.com');
    });

  it("signs the session token (the suite's post-sts-header-before)", async () => {
    const h = await signRequest(request('POST', 'https://example.amazonaws.com/'), { ...KEYS, sessionToken: STS_TOKEN }, SCOPE, AT);
    assert.equal(h['x-amz-security-token'], STS_TOKEN);
    assert.equal(h.authorization, `${CRED}, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead`);
  });

  it('signs the body bytes: one byte more is another signature', async () => {
    const a = await signRequest(request('POST', 'https://example.amazonaws.com/', {}, 'abc'), KEYS, SCOPE, AT);
    const b = await signRequest(request('POST', 'https://example.amazonaws.com/', {}, 'abcd'), KEYS, SCOPE, AT);
    assert.notEqual(a.authorization, b.authorization);
  });

  it('leaves out the headers the HTTP stack sets after signing, and signs the port in Host', async () => {
    const h = await signRequest(
      request('POST', 'http://127.0.0.1:9090/api/v1/write', { 'user-agent': 'x', 'content-length': '3', 'accept-encoding': 'gzip', 'content-encoding': 'snappy' }),
      KEYS,
      { region: 'eu-west-1', service: 'aps' },
      AT,
    );
    assert.equal(h.host, '127.0.0.1:9090');
    assert.match(h.authorization!, /Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/aps\/aws4_request, SignedHeaders=content-encoding;host;x-amz-date,/);
  });

  it('reads the access key id back from a SigV4 Authorization header', () => {
    assert.equal(signedKeyId(`${CRED}, SignedHeaders=host, Signature=00`), 'AKIDEXAMPLE');
    assert.equal(signedKeyId('Bearer abc'), undefined);
    assert.equal(signedKeyId(undefined), undefined);
  });
});
