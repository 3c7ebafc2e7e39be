/** Remote-write sink: placeholder until the remote-write sink lands. */
import type { Sink } from './sink';
import type { SinkEnv } from './index';

export function createRemoteWriteSink(_env: SinkEnv, _url: string): Sink {
  return {
    name: 'remote_write',
    async send(): Promise<void> {
      throw new Error('remote write is not implemented yet');
    },
    async close(): Promise<void> {},
  };
}
