/**
 * `npm run bench [-- --quick] [-- --only=<id>[,<id>]]`: runs every benchmark
 * on this machine, one after the other, and writes bench/results/latest.json
 * and bench/results/latest.md. Not part of `npm test`.
 *
 * Figures: cold-start, decision-cost, rule-scale, rule-snapshot, big-mail, rate-gate-pace,
 * dynamodb-cost, edit-to-effect (BENCHMARKS.md explains each).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { bigMail } from './big-mail';
import { coldStart } from './cold-start';
import { decisionCost } from './decision-cost';
import { dynamoDbCost } from './dynamodb-cost';
import { editToEffect } from './edit-to-effect';
import { benchEnvironment } from './lib/local-services';
import { renderMarkdown, type MachineInfo } from './lib/report';
import type { Benchmark, FigureResult } from './lib/result';
import { rateGatePace } from './rate-gate-pace';
import { ruleScale } from './rule-scale';
import { ruleSnapshot } from './rule-snapshot';

const BENCHMARKS: ReadonlyArray<readonly [string, Benchmark]> = [
  ['cold-start', coldStart],
  ['decision-cost', decisionCost],
  ['rule-scale', ruleScale],
  ['rule-snapshot', ruleSnapshot],
  ['big-mail', bigMail],
  ['rate-gate-pace', rateGatePace],
  ['dynamodb-cost', dynamoDbCost],
  ['edit-to-effect', editToEffect],
];

function machine(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1].trim();
  } catch {
    /* not Linux: keep os.cpus() */
  }
  return {
    cpus: cpus().length,
    cpuModel,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const unknown = only?.filter((id) => !BENCHMARKS.some(([name]) => name === id)) ?? [];
  if (unknown.length) throw new Error(`unknown benchmark ${JSON.stringify(unknown)}; known: ${BENCHMARKS.map(([n]) => n).join(', ')}`);
  Object.assign(process.env, benchEnvironment());

  const workDir = mkdtempSync(join(tmpdir(), 'ses-bouncer-bench-'));
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const startedAt = new Date();
  const figures: FigureResult[] = [];
  try {
    for (const [id, run] of BENCHMARKS) {
      if (only && !only.includes(id)) continue;
      log(`${id}: start`);
      const t0 = Date.now();
      const result = await run({ quick, workDir, log });
      figures.push({ ...result, durationMs: Date.now() - t0 });
      log(`${id}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }

  const info = { startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), quick, machine: machine() };
  const outDir = join(__dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(info, figures);
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify({ ...info, figures }, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.md'), markdown);
  process.stdout.write(`${markdown}\n`);
  const missed = figures.flatMap((f) => f.rows.filter((r) => r.met === false).map((r) => `${f.id}: ${r.measure}`));
  log(missed.length ? `targets missed: ${missed.join('; ')}` : 'every target met');
}

main().then(
  // SDK clients and servers are closed by each benchmark; exit anyway so a stray handle cannot hang the run.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
