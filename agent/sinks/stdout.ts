/** `--dry-run`: the batch as Prometheus text on stdout; nothing leaves the machine. */
import { toPrometheusText } from './pushgateway/exposition';
import type { Batch, Sink } from '../core/sink';

export function createStdoutSink(write: (text: string) => void = (t) => process.stdout.write(t)): Sink {
  return {
    name: 'stdout',
    async send(batch: Batch): Promise<void> {
      write(await toPrometheusText(batch.samples));
    },
    async close(): Promise<void> {},
  };
}
