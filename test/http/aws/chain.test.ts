/** The key source's pure parts: the SDK's source marks in words, the role session name. */
import assert from 'node:assert/strict';
import { sessionName, sourceOf } from '../../../agent/http/aws/chain';

describe('http/aws/chain', () => {
  it("names where the SDK's chain found the keys", () => {
    assert.equal(sourceOf({ CREDENTIALS_IMDS: '0' }), 'EC2 instance profile (IMDS)');
    assert.equal(sourceOf({ CREDENTIALS_ENV_VARS: 'g' }), 'environment (AWS_ACCESS_KEY_ID)');
    assert.equal(sourceOf({ CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN: 'h', CREDENTIALS_STS_ASSUME_ROLE_WEB_ID: 'k' }), 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)');
    assert.equal(sourceOf({ CREDENTIALS_PROFILE: 'n' }), 'shared config files (AWS_PROFILE)');
    assert.equal(sourceOf({ CREDENTIALS_PROFILE_PROCESS: 'v', CREDENTIALS_PROCESS: 'w' }), 'credential_process of the shared config');
    assert.equal(sourceOf({ CREDENTIALS_HTTP: 'z' }), 'container credentials endpoint');
    // The chain's last link marks nothing: the container endpoint when configured, else IMDS.
    assert.equal(sourceOf(undefined, {}), 'EC2 instance profile (IMDS)');
    assert.equal(sourceOf({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials' }), 'container credentials endpoint');
  });

  it('makes a role session name STS accepts and CloudTrail shows the node by', () => {
    assert.equal(sessionName('10-139-64-5'), 'dbx-prom-agent-10-139-64-5');
    assert.equal(sessionName('ip-10-0-0-1.ec2.internal'), 'dbx-prom-agent-ip-10-0-0-1.ec2.internal');
    assert.equal(sessionName('a b/c'), 'dbx-prom-agent-a-b-c');
    assert.match(sessionName('x'.repeat(100)), /^[\w+=,.@-]{2,64}$/);
  });
});
