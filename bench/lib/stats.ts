/**
 * Summaries of repeated measurements. Every figure reports a median and a
 * spread (p10–p90 and min–max), never a single run: the machine is shared.
 */

/** A summary of samples, all in the same unit. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of sorted samples, linearly interpolated
 * between the two nearest ranks (the "R-7" definition spreadsheets use).
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no samples');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within 0..1 (got ${q})`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Summarises samples; throws on an empty list, which would mean a benchmark measured nothing. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  const s = Array.from(sorted);
  return {
    n: s.length,
    median: quantileSorted(s, 0.5),
    p10: quantileSorted(s, 0.1),
    p90: quantileSorted(s, 0.9),
    p99: quantileSorted(s, 0.99),
    min: s[0],
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** Number formatting for tables: a few significant digits, thousands separated. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs === 0) return '0';
  return Number(value.toPrecision(digits)).toString();
}

/** `median [p10–p90]` with a unit, the house style of every table cell. */
export function fmtSummary(s: Summary, unit: string, digits = 3): string {
  return `${fmt(s.median, digits)} ${unit} [${fmt(s.p10, digits)}–${fmt(s.p90, digits)}]`;
}

/** Bytes as KiB/MiB with one decimal. */
export function fmtBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
