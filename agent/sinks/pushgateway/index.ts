/** The Pushgateway sink's table entry: its options, how it is made, and what doctor checks. */
import { skip } from '../../core/check';
import type { SinkEntry } from '../../core/component';
import { option, redactUrl } from '../../core/options';
import { createPushgatewaySink } from './sink';

// Required when doctor runs: `run` and `once` never load its push.
const doctor = (): typeof import('./doctor') => require('./doctor') as typeof import('./doctor');

const URL_OPTION = option('--pushgateway-url <url>', 'Pushgateway base URL (PUT a group per node)', {
  carriesCredentials: true,
  policyFlag: true,
});

export interface PushgatewayConfig {
  url: string;
}

export const pushgateway: SinkEntry<'pushgateway', PushgatewayConfig> = {
  name: 'pushgateway',
  options: [URL_OPTION],
  primary: URL_OPTION,
  parse(s) {
    const url = s.httpUrl(URL_OPTION, true);
    return url === undefined ? undefined : { url };
  },
  create: (o, env) =>
    createPushgatewaySink({
      url: o.url,
      job: env.job,
      clusterId: env.context.clusterId,
      node: env.context.node,
      http: env.http({ timeoutMs: env.pushTimeoutMs }),
      logger: env.logger,
    }),
  describe: (o) => `pushgateway ${redactUrl(o.url)}`,
  endpoints: (o) => [{ label: 'pushgateway', url: o.url }],
  async check(o, env, reachable) {
    if (!reachable) return skip('push pushgateway', 'endpoint not reachable (see above)');
    const key: [string, string][] = [['cluster_id', env.context.clusterId], ['node', env.context.node]];
    return doctor().checkPushgatewayPush(env.http({ timeoutMs: env.pushTimeoutMs }), o.url, env.job, key);
  },
};
