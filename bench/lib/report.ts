/**
 * Renders the results: latest.json (everything, raw samples included) and
 * latest.md (the tables BENCHMARKS.md copies).
 */
import type { FigureResult } from './result';

export interface RunInfo {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly quick: boolean;
  readonly machine: MachineInfo;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

const cell = (text: string | undefined): string => (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown of one run: a header line and one table per figure, with its notes. */
export function renderMarkdown(run: RunInfo, figures: readonly FigureResult[]): string {
  const m = run.machine;
  const out: string[] = [
    `Run ${run.startedAt}${run.quick ? ' (--quick)' : ''}, ${(run.durationMs / 1000).toFixed(0)} s; ` +
      `${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}.`,
    '',
  ];
  for (const f of figures) {
    out.push(`### ${f.title}`, '', '| measure | result: median [p10–p90] | baseline, same run | target | met |', '|---|---|---|---|---|');
    for (const r of f.rows) {
      const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
      out.push(`| ${cell(r.measure)} | ${cell(r.value)} | ${cell(r.baseline)} | ${cell(r.target)} | ${met} |`);
    }
    out.push('');
    for (const n of f.notes) out.push(`- ${n}`);
    out.push(`- took ${(f.durationMs / 1000).toFixed(1)} s`, '');
  }
  return out.join('\n');
}
