/**
 * Plain-text tables for terminals: columns padded to their widest cell,
 * two spaces apart, no trailing spaces. Cells are single-line: untrusted text
 * (rule ids, addresses, attachment names) has its control characters escaped,
 * so a cell can never forge a line or send a terminal escape sequence.
 *
 * Widths are display columns (string-width: East Asian wide characters and
 * emoji take two, combining marks none), not UTF-16 code units, so a rule
 * described in Japanese does not push the columns after it out of line.
 */
import stringWidth from 'string-width';
import { printable } from '../../lambda/commons/printable';

/** Cuts text wider than `max` display columns, marking the cut with `…`. */
export function truncate(text: string, max: number): string {
  if (stringWidth(text) <= max) return text;
  let out = '';
  for (const char of text) {
    if (stringWidth(out + char) > max - 1) break;
    out += char;
  }
  return `${out}…`;
}

/** `text` padded with spaces to `width` display columns. */
function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stringWidth(text)));
}

/** Renders a header row and the rows; returns the lines without newlines. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const clean = (cell: string) => printable(cell);
  const all = [headers.map(clean), ...rows.map((r) => r.map(clean))];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => stringWidth(row[col] ?? ''))));
  return all.map((row) =>
    row
      .map((cell, col) => (col === row.length - 1 ? cell : padEnd(cell, widths[col])))
      .join('  ')
      .trimEnd(),
  );
}

/** `label  value` lines with the labels aligned. */
export function renderFields(fields: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...fields.map(([label]) => stringWidth(label)));
  return fields.map(([label, value]) => `${padEnd(label, width)}  ${printable(value)}`.trimEnd());
}
