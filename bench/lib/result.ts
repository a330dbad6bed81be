/**
 * What every benchmark module returns: rows for the markdown table (each
 * figure beside its same-run baseline and target) and its raw data for
 * latest.json.
 */

/** One line of a figure's table. */
export interface ResultRow {
  /** What was measured. */
  readonly measure: string;
  /** The figure, usually `median [p10–p90]`. */
  readonly value: string;
  /** The same-run baseline it is compared with, if any. */
  readonly baseline?: string;
  /** The target in words, if the issue sets one. */
  readonly target?: string;
  /** Whether the target is met; undefined for rows without a target. */
  readonly met?: boolean;
}

export interface FigureResult {
  /** Short id, also the CLI filter (`--only=cold-start`). */
  readonly id: string;
  readonly title: string;
  readonly rows: readonly ResultRow[];
  /** Conditions of the run a reader needs (sizes, repetitions, what was left out). */
  readonly notes: readonly string[];
  /** Raw measurements for latest.json. */
  readonly data: unknown;
  readonly durationMs: number;
}

/** Options every benchmark receives from bench/run.ts. */
export interface BenchOptions {
  /** `--quick`: smaller sizes and fewer repetitions, for a smoke run. */
  readonly quick: boolean;
  /** Scratch directory for bundles, messages and child scripts; removed after the run. */
  readonly workDir: string;
  /** Progress lines on stderr. */
  readonly log: (line: string) => void;
}

/** A benchmark module's entry. */
export type Benchmark = (options: BenchOptions) => Promise<Omit<FigureResult, 'durationMs'>>;
