/** The remote-write sink's table entry: its options (receiver and disk queue), how it is made, what doctor checks. */
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { skip } from '../../core/check';
import type { SinkEntry } from '../../core/component';
import { option, redactUrl } from '../../core/options';
import type { RemoteWriteConfig } from './options';

// Required when used: a Pushgateway-only node never loads protobuf, snappy and the disk queue,
// and `run` never loads doctor's push.
const sink = (): typeof import('./sink') => require('./sink') as typeof import('./sink');
const doctor = (): typeof import('./doctor') => require('./doctor') as typeof import('./doctor');

/** Compared with timestamps only; a week of queue is more than any disk cap holds anyway. */
export const MAX_QUEUE_AGE_MS = 7 * 24 * 3_600_000;

const URL_OPTION = option('--remote-write-url <url>', 'Prometheus remote-write receiver URL', { carriesCredentials: true, policyFlag: true });
const QUEUE_DIR = option('--queue-dir <path>', 'remote-write disk queue directory', {
  defaultText: '/local_disk0/tmp/dbx-prom-agent, else the OS temp dir',
});
const QUEUE_MAX_BYTES = option('--queue-max-bytes <size>', 'remote-write disk queue cap', { defaultText: '256MiB' });
const QUEUE_MAX_AGE = option('--queue-max-age <duration>', 'drop queued samples older than this', { defaultText: '2h' });
const MAX_SAMPLES = option('--max-samples-per-send <n>', 'samples per remote-write request', { defaultText: '2000' });

export function defaultQueueDir(): string {
  return existsSync('/local_disk0') ? '/local_disk0/tmp/dbx-prom-agent' : path.join(os.tmpdir(), 'dbx-prom-agent');
}

export const remoteWrite: SinkEntry<'remote_write', RemoteWriteConfig> = {
  name: 'remote_write',
  options: [URL_OPTION, QUEUE_DIR, QUEUE_MAX_BYTES, QUEUE_MAX_AGE, MAX_SAMPLES],
  primary: URL_OPTION,
  parse(s) {
    // Validated whether or not the sink is on: a typo is an error before it matters.
    const queue = {
      queueDir: s.str(QUEUE_DIR) ?? defaultQueueDir(),
      queueMaxBytes: s.size(QUEUE_MAX_BYTES, '256MiB', 1024 * 1024, '1MiB'),
      queueMaxAgeMs: s.duration(QUEUE_MAX_AGE, '2h', 1000, MAX_QUEUE_AGE_MS),
      maxSamplesPerSend: s.int(MAX_SAMPLES, 2000, 1),
    };
    const url = s.httpUrl(URL_OPTION);
    return url === undefined ? undefined : { url, ...queue };
  },
  create: (o, env) => sink().createRemoteWriteSink(o, env),
  describe: (o) => `remote_write ${redactUrl(o.url)}`,
  endpoints: (o) => [{ label: 'remote_write', url: o.url }],
  async check(o, env, reachable) {
    if (!reachable) return skip('push remote_write', 'endpoint not reachable (see above)');
    return doctor().checkRemoteWritePush(env.http({ timeoutMs: env.pushTimeoutMs }), o.url);
  },
};
