/**
 * The driver JVM as a process, found through /proc (no child process, no JVM agent): its
 * resident memory is what the container's OOM killer looks at, whatever the heap says.
 * On Databricks the driver's main class is com.databricks.backend.daemon.driver.DriverDaemon;
 * elsewhere spark-submit starts org.apache.spark.deploy.SparkSubmit. Executor JVMs
 * (CoarseGrainedExecutorBackend) carry -Dspark.driver.port too, so that weak marker never
 * picks one of them.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const STRONG = ['com.databricks.backend.daemon.driver.DriverDaemon', 'org.apache.spark.deploy.SparkSubmit'];
const WEAK = 'spark.driver';
const EXECUTOR = 'CoarseGrainedExecutorBackend';

/** Pure: how much a /proc/<pid>/cmdline looks like a Spark driver JVM (0: not at all). */
export function driverScore(cmdline: string): number {
  const args = cmdline.split('\0').filter(Boolean);
  if (args.length === 0 || !/(^|\/)java$/.test(args[0]!)) return 0;
  const text = args.join(' ');
  if (text.includes(EXECUTOR)) return 0;
  if (STRONG.some((m) => text.includes(m))) return 2;
  return text.includes(WEAK) ? 1 : 0;
}

/** Pure: VmRSS from /proc/<pid>/status, in bytes (the kernel writes it in kB). */
export function parseStatusRss(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Cycles to wait after a scan of /proc found no driver JVM (the scan reads every cmdline). */
const SCANS_SKIPPED_AFTER_MISS = 3;

export class DriverProcessFinder {
  private pid?: number;
  private skipScans = 0;

  /** `root` stands for `/` (tests point it at a fake tree holding proc/<pid>/...). */
  constructor(private readonly root = '/') {}

  private file(...parts: string[]): string {
    return path.join(this.root, 'proc', ...parts);
  }

  private async find(): Promise<number | undefined> {
    let entries: string[];
    try {
      entries = await readdir(this.file());
    } catch {
      return undefined;
    }
    let best: { pid: number; score: number } | undefined;
    for (const e of entries) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
      let cmdline: string;
      try {
        cmdline = await readFile(this.file(e, 'cmdline'), 'utf8');
      } catch {
        continue; // the process ended meanwhile
      }
      const score = driverScore(cmdline);
      // Lowest pid among equals: the first JVM started is the driver, a later one a child.
      if (score > 0 && (!best || score > best.score || (score === best.score && Number(e) < best.pid)))
        best = { pid: Number(e), score };
    }
    return best?.pid;
  }

  /** The driver JVM's pid and resident memory, or undefined when there is no driver JVM here. */
  async read(): Promise<{ pid: number; rssBytes: number } | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.pid === undefined) {
        if (this.skipScans > 0) {
          this.skipScans--;
          return undefined;
        }
        this.pid = await this.find();
        if (this.pid === undefined) this.skipScans = SCANS_SKIPPED_AFTER_MISS;
      }
      if (this.pid === undefined) return undefined;
      try {
        // A cached pid may have been reused after the driver restarted: check it is still one.
        if (driverScore(await readFile(this.file(String(this.pid), 'cmdline'), 'utf8')) === 0) throw new Error('not the driver');
        const rss = parseStatusRss(await readFile(this.file(String(this.pid), 'status'), 'utf8'));
        if (rss !== undefined) return { pid: this.pid, rssBytes: rss };
      } catch {
        /* gone: look again */
      }
      this.pid = undefined;
    }
    return undefined;
  }
}
