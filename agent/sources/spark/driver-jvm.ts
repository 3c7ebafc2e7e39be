/**
 * The driver JVM's memory: resident memory from /proc, heap from its hsperfdata file. Best
 * effort: what cannot be read is left out (said at debug), never a failed collect.
 */
import type { Labels, Sample } from '../../core/sample';
import { gauge } from '../../core/sample';
import type { Logger } from '../../core/log';
import { DriverProcessFinder } from './driver-process';
import { readJvmHeap } from './hsperfdata';

const driverRss = gauge('spark_driver_jvm_resident_memory_bytes', 'Resident memory of the driver JVM process (from /proc), in bytes.');
const driverHeapUsed = gauge('spark_driver_jvm_heap_used_bytes', "Driver JVM heap used now (eden + survivors + old, as jstat -gc), in bytes, from the JVM's hsperfdata file.");
const driverHeapMax = gauge('spark_driver_jvm_heap_max_bytes', "Driver JVM maximum heap (young + old max capacity, as jstat -gc), in bytes, from the JVM's hsperfdata file.");

export class DriverJvm {
  private readonly process: DriverProcessFinder;

  /** `rootDir` stands for `/` when looking in proc/ and tmp/ (tests). */
  constructor(
    private readonly logger: Logger,
    private readonly rootDir?: string,
  ) {
    this.process = new DriverProcessFinder(rootDir);
  }

  /** Its samples, labelled with the application the UI serves; none when it is not readable. */
  async collect(appId: string): Promise<Sample[]> {
    const app: Labels = { spark_app_id: appId };
    try {
      const proc = await this.process.read();
      if (!proc) return [];
      const out = [driverRss(app, proc.rssBytes)];
      const heap = await readJvmHeap(proc.pid, this.rootDir).catch((e: unknown) => {
        this.logger.debug('driver JVM perf data unreadable', { error: e instanceof Error ? e.message : String(e) });
        return undefined;
      });
      if (heap) {
        out.push(driverHeapUsed(app, heap.usedBytes));
        if (heap.maxBytes !== undefined) out.push(driverHeapMax(app, heap.maxBytes));
      }
      return out;
    } catch (e) {
      this.logger.debug('driver JVM process not readable', { error: e instanceof Error ? e.message : String(e) });
      return [];
    }
  }
}
