// Terminal sizes: the one rule, applied by the page before it sends a size,
// by the server on every URL and `resize` frame, and by the agent before it
// touches a pty. Written once, so no hop accepts what the next one refuses
// (a 1-column resize used to pass the server and crash it at the agent).
//
// Plain TypeScript, no imports: the browser bundle, the server and the agent
// inside the machine (where a zod import costs more than Node's own start)
// all load this file as is.

/**
 * Bounds, inclusive. Two columns at least because xterm.js cannot draw fewer
 * (its buffer's minimum), so a page never has a reason to ask for one; at the
 * top, more than a 4K screen shows in a small font.
 */
export const TERMINAL_SIZE_LIMITS = { minCols: 2, maxCols: 500, minRows: 1, maxRows: 200 } as const;

export const DEFAULT_TERMINAL_SIZE = { cols: 80, rows: 24 } as const;

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** Why `cols`×`rows` cannot be a terminal's size, in one English sentence for logs and developers; undefined when it can. */
export function terminalSizeProblem(cols: unknown, rows: unknown): string | undefined {
  const { minCols, maxCols, minRows, maxRows } = TERMINAL_SIZE_LIMITS;
  if (!isIntegerIn(cols, minCols, maxCols)) return `cols must be an integer in ${minCols}..${maxCols}, got ${describe(cols)}`;
  if (!isIntegerIn(rows, minRows, maxRows)) return `rows must be an integer in ${minRows}..${maxRows}, got ${describe(rows)}`;
  return undefined;
}

export function isTerminalSize(value: unknown): value is TerminalSize {
  if (typeof value !== 'object' || value === null) return false;
  const { cols, rows } = value as { cols?: unknown; rows?: unknown };
  return terminalSizeProblem(cols, rows) === undefined;
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return typeof value;
}
