/**
 * Bearer auth behind Debian's nginx, which checks the Authorization header and proxies to a
 * real Pushgateway. The token is rotated mid-run: the proxy switches to the new token, the
 * agent's pushes are refused until the token file is rewritten, then the next push succeeds
 * with the new token, same process, no restart.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startPushgateway, tempDir, waitFor, pushgatewaySeries, type Server } from '../../helpers/servers';
import { startBearerProxy, type BearerProxy } from '../../helpers/nginx';
import { startAgent, type Daemon } from '../../helpers/agent';

const TOKEN_A = 'rotation-Token-A-0001';
const TOKEN_B = 'rotation-Token-B-0002';

describe('bearer token rotation through nginx', function () {
  this.timeout(60000);
  let pg: Server;
  let proxy: BearerProxy;
  let dir: string;
  let agent: Daemon | undefined;

  before(async () => {
    dir = tempDir();
    pg = await startPushgateway();
    proxy = await startBearerProxy(pg.url, [TOKEN_A]);
  });
  after(async () => {
    await agent?.stop('SIGKILL');
    await proxy?.stop();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const puts = (status: string, from = 0): number =>
    proxy.accessLog().slice(from).filter((l) => l.startsWith(`${status} `) && l.includes(' PUT ')).length;

  it('pushes with the new token after the file is rewritten, without a restart', async () => {
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, TOKEN_A + '\n');
    agent = startAgent(
      ['run', '--interval', '1s', '--idle-interval', '1s', '--pushgateway-url', proxy.url, '--bearer-token-file', tokenFile, '--sources', 'self', '--node-name', 'rotating-node'],
      { DBX_PROM_LOG_LEVEL: 'debug' },
    );
    await waitFor(async () => puts('200') >= 1, 20000, 'a first push with token A');
    const pid = agent.proc.pid;

    // The auth proxy moves to token B: pushes with A are refused...
    await proxy.accept([TOKEN_B]);
    const afterSwitch = proxy.accessLog().length;
    await waitFor(async () => puts('401', afterSwitch) >= 1, 20000, 'a push refused with the old token');

    // ...until the token file is rotated; the very next cycle succeeds.
    writeFileSync(tokenFile, TOKEN_B + '\n');
    const afterRotation = proxy.accessLog().length;
    await waitFor(async () => puts('200', afterRotation) >= 1, 20000, 'a push with token B');

    assert.equal(agent.proc.pid, pid);
    assert.equal(agent.proc.exitCode, null, 'the agent kept running');
    const series = await pushgatewaySeries(pg.url);
    assert.ok(series.some((s) => s.group.node === 'rotating-node'));

    const { code } = await agent.stop();
    assert.equal(code, 0);
    const stderr = agent.stderr();
    agent = undefined;
    assert.match(stderr, /push to Pushgateway failed/);
    assert.match(stderr, /recovered/);
    assert.doesNotMatch(stderr, new RegExp(`${TOKEN_A}|${TOKEN_B}`));
    // The exit DELETE went through the proxy with the new token too.
    assert.ok(proxy.accessLog().some((l) => /^202 1 DELETE /.test(l)), proxy.accessLog().join('\n'));
  });
});
