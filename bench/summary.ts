/**
 * The targets (issue 14, "How it must be shown"): each figure with the agent's value,
 * its peer's value measured in the same run, the ratio agent / peer, the target and whether it
 * was met. Parts add rows as they finish; index.ts prints the table last.
 */
import { table } from './proc';

export interface TargetRow {
  figure: string;
  agent: string;
  peer: string;
  /** agent / peer, or an absolute figure's value against its bound. */
  ratio: string;
  target: string;
  /** undefined: shown for context, no target. */
  met: boolean | undefined;
}

const rows: TargetRow[] = [];

export function addTarget(row: TargetRow): void {
  rows.push(row);
}

/** A ratio target: `agent / peer <= max`. */
export function ratioTarget(figure: string, agent: number, peer: number, max: number, fmt: (n: number) => string): void {
  const r = agent / peer;
  addTarget({ figure, agent: fmt(agent), peer: fmt(peer), ratio: `${r.toFixed(2)}x`, target: `<= ${max.toFixed(1)}x`, met: Number.isFinite(r) ? r <= max : false });
}

export function formatSummary(): string {
  if (rows.length === 0) return '(no target measured in this run)';
  return table(
    ['figure', 'agent', 'peer', 'ratio', 'target', 'met?'],
    rows.map((r) => [r.figure, r.agent, r.peer, r.ratio, r.target, r.met === undefined ? '-' : r.met ? 'yes' : 'NO']),
  );
}
