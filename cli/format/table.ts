/**
 * Plain-text tables for terminals: columns padded to their widest cell,
 * two spaces apart, no trailing spaces. Cells are single-line: untrusted text
 * (rule ids, addresses, attachment names) has its control characters escaped,
 * so a cell can never forge a line or send a terminal escape sequence.
 */
import { printable } from '../../lambda/commons/printable';

/** Cuts text longer than `max` characters, marking the cut with `…`. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Renders a header row and the rows; returns the lines without newlines. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const clean = (cell: string) => printable(cell);
  const all = [headers.map(clean), ...rows.map((r) => r.map(clean))];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  return all.map((row) =>
    row
      .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col])))
      .join('  ')
      .trimEnd(),
  );
}

/** `label  value` lines with the labels aligned. */
export function renderFields(fields: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${printable(value)}`.trimEnd());
}
