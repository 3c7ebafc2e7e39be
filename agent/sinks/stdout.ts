/** `--dry-run`: the batch as Prometheus text on stdout; nothing leaves the machine. */
import { toPrometheusText } from './pushgateway/exposition';
import type { Batch, Sink } from '../core/sink';
import { labelledSamples } from '../labels';

export function createStdoutSink(write: (text: string) => void = (t) => process.stdout.write(t)): Sink {
  return {
    name: 'stdout',
    async send(batch: Batch): Promise<void> {
      write(await toPrometheusText(labelledSamples(batch)));
    },
    async close(): Promise<void> {},
  };
}
