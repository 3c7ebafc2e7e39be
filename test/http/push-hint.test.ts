/** Doctor's hint for a failed test push, by the answer: AWS's 403s are told apart. */
import assert from 'node:assert/strict';
import { AxiosError, AxiosHeaders, type AxiosResponse } from 'axios';
import { pushHint } from '../../agent/http/push-hint';

function answered(status: number, data = ''): AxiosError {
  const config = { headers: new AxiosHeaders() };
  const response = { status, statusText: '', headers: {}, config, data } as AxiosResponse;
  return new AxiosError(`Request failed with status code ${status}`, 'ERR_BAD_REQUEST', config, undefined, response);
}

describe('http/push-hint', () => {
  it('tells a bad AWS signature from a missing IAM permission and from any other 403', () => {
    assert.match(pushHint(answered(403, '{"message":"The request signature we calculated does not match the signature you provided."}'), 'remote-write'), /clock \(NTP\)/);
    assert.match(pushHint(answered(403, '{"Message":"User: arn:aws:sts::1:assumed-role/r/i is not authorized to perform: aps:RemoteWrite"}'), 'remote-write'), /aps:RemoteWrite/);
    assert.match(pushHint(answered(403, 'forbidden'), 'remote-write'), /not allowed to push here/);
  });

  it('names the credentials for a 401 and the path for a 404', () => {
    assert.match(pushHint(answered(401), 'remote-write'), /rejected the credentials/);
    assert.match(pushHint(answered(404), 'Pushgateway'), /no Pushgateway API at this path/);
  });
});
