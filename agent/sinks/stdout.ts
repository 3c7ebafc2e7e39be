/** `--dry-run`: the batch as Prometheus text on stdout; nothing leaves the machine. */
import { ExpositionWriter } from './pushgateway/text';
import type { Batch, Sink } from '../core/sink';

export function createStdoutSink(write: (text: string) => void = (t) => process.stdout.write(t)): Sink {
  const writer = new ExpositionWriter();
  return {
    name: 'stdout',
    async send(batch: Batch): Promise<void> {
      write(writer.encode(batch.samples, batch.labels));
    },
    async close(): Promise<void> {},
  };
}
