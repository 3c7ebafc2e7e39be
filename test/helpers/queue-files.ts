/** Reading a remote-write disk queue from the outside, as a test that killed the agent needs to. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { scanSegment } from '../../agent/sinks/remote-write/queue';

/** Batch timestamps of the records not yet sent, read from the queue files as the next start will. */
export function unsentTimestamps(dir: string): number[] {
  if (!existsSync(dir)) return []; // a queue left empty is removed on exit
  let cursor = { segment: 0, offset: 0 };
  try {
    cursor = JSON.parse(readFileSync(path.join(dir, 'cursor'), 'utf8')) as typeof cursor;
  } catch {
    /* none yet */
  }
  const out: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.seg')).sort()) {
    const seq = Number(f.slice(0, 16));
    for (const r of scanSegment(readFileSync(path.join(dir, f))).records)
      if (seq > cursor.segment || (seq === cursor.segment && r.offset >= cursor.offset)) out.push(r.timestampMs);
  }
  return out;
}
