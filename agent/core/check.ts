/**
 * One doctor check result and its plain-text line:
 *   ok   <check>  <detail>
 *   FAIL <check>  <detail>
 *        hint: <what to do>
 * Every line passes through the log redactor: no secret reaches doctor output.
 */
import { redact } from '../core/log';

/** An endpoint doctor checks DNS, TCP and TLS of. */
export interface CheckedEndpoint {
  label: string;
  url: string;
}

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  name: string;
  detail: string;
  hint?: string;
}

export const ok = (name: string, detail: string): CheckResult => ({ status: 'ok', name, detail });
export const warn = (name: string, detail: string, hint?: string): CheckResult => ({ status: 'warn', name, detail, ...(hint ? { hint } : {}) });
export const fail = (name: string, detail: string, hint: string): CheckResult => ({ status: 'fail', name, detail, hint });
export const skip = (name: string, detail: string): CheckResult => ({ status: 'skip', name, detail });

const WORD: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip' };

/** Pure: the checklist as text, names padded to one column. */
export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(0, ...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${WORD[r.status]} ${r.name.padEnd(width)}  ${oneLine(r.detail)}`.trimEnd());
    if (r.hint && r.status !== 'ok') lines.push(`     hint: ${oneLine(r.hint)}`);
  }
  return redact(lines.join('\n') + '\n');
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ');
}

export function failed(results: readonly CheckResult[]): boolean {
  return results.some((r) => r.status === 'fail');
}
