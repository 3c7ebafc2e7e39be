/** Captures the agent's JSON log lines during a test (and keeps them off the test output). */
import { captureLogs } from '../../../agent/core/log';

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export function recordLogs(): { lines: LogLine[]; restore(): void } {
  const lines: LogLine[] = [];
  const restore = captureLogs((l) => lines.push(JSON.parse(l) as LogLine));
  return { lines, restore };
}
